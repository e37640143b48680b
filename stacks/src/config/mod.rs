//! The environment's configuration (the old tfvars): serde types with their JSON Schema.
//!
//! Deserializing only checks shapes; [`crate::validate`] checks every rule and reports every
//! problem with its path. Defaults are named values, so `cdkrs schema` shows them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// The whole configuration of one Databricks environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Prefix of every name (stack `<prefix>-databricks`, buckets, roles, Databricks objects):
    /// lowercase letters, digits and hyphens.
    pub prefix: String,
    /// The AWS region of the stack and the workspace (`eu-west-1`).
    pub region: String,
    /// The AWS account the environment belongs in (12 digits); deploy refuses another.
    /// Default: whatever account the credentials belong to.
    #[serde(default)]
    pub aws_account_id: Option<String>,
    /// Tags for every taggable resource (and the cluster's custom tags). Default: none.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The VPC layout. Default: 10.0.0.0/16 over 3 zones, subnets derived from it.
    #[serde(default)]
    pub network: NetworkConfig,
    /// Network sleep: no NAT gateway, no interface endpoints (clusters cannot start).
    /// Default: false.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub network_asleep: bool,
    /// SSE-KMS enforcement flags (the seed's "client-side encryption").
    #[serde(default)]
    pub encryption: EncryptionConfig,
    /// The Databricks account, workspace, groups and cluster.
    pub databricks: DatabricksConfig,
}

/// The VPC layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The VPC CIDR. Default: `10.0.0.0/16`.
    #[serde(default = "default_vpc_cidr")]
    pub vpc_cidr: String,
    /// Availability zones: a count (first zones of the region) or names. Default: 3.
    #[serde(default)]
    pub azs: Azs,
    /// One private (Databricks) subnet CIDR per zone, /17 to /26. Default: derived from the VPC
    /// CIDR (quarters of it).
    #[serde(default)]
    pub private_subnets: Option<Vec<String>>,
    /// The public subnet CIDR (NAT gateway). Default: derived from the VPC CIDR.
    #[serde(default)]
    pub public_subnet: Option<String>,
    /// Flow-log aggregation interval, 60 or 600 seconds. Default: 60 (as the seed).
    #[serde(default = "default_flow_log_interval")]
    pub flow_log_interval_secs: i64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            vpc_cidr: default_vpc_cidr(),
            azs: Azs::default(),
            private_subnets: None,
            public_subnet: None,
            flow_log_interval_secs: default_flow_log_interval(),
        }
    }
}

/// The default VPC CIDR.
pub const DEFAULT_VPC_CIDR: &str = "10.0.0.0/16";
/// The default number of availability zones.
pub const DEFAULT_AZ_COUNT: u8 = 3;

fn default_vpc_cidr() -> String {
    DEFAULT_VPC_CIDR.to_owned()
}

fn default_flow_log_interval() -> i64 {
    60
}

/// Availability zones, by count or by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Azs {
    /// The first N zones of the region.
    Count(u8),
    /// These zones, in this order.
    Names(Vec<String>),
}

impl Default for Azs {
    fn default() -> Self {
        Azs::Count(DEFAULT_AZ_COUNT)
    }
}

/// SSE-KMS enforcement: uploads without the storage key's SSE-KMS header are denied, and the
/// cluster sends the header (spark conf and the core-site init script).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// Enforce SSE-KMS on the root (DBFS) bucket. Alias: `dbfs_client_side_enc`. Default: true.
    #[serde(
        default = "yes",
        alias = "dbfs_client_side_enc",
        deserialize_with = "lenient_bool"
    )]
    pub enforce_sse_kms_root: bool,
    /// Enforce SSE-KMS on the raw, prepared and trusted buckets. Alias:
    /// `datalake_client_side_enc`. Default: true.
    #[serde(
        default = "yes",
        alias = "datalake_client_side_enc",
        deserialize_with = "lenient_bool"
    )]
    pub enforce_sse_kms_datalake: bool,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        EncryptionConfig {
            enforce_sse_kms_root: true,
            enforce_sse_kms_datalake: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// Accepts `true`/`false` and the strings `"true"`/`"false"` (the seed's tfvars used strings).
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Str(String),
    }
    match B::deserialize(d)? {
        B::Bool(b) => Ok(b),
        B::Str(s) => match s.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "`{other}` is not a boolean: use true or false"
            ))),
        },
    }
}

/// The Databricks side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabricksConfig {
    /// The Databricks account id (a UUID).
    pub account_id: String,
    /// The service principal the provider authenticates as (OAuth M2M).
    pub service_principal: ServicePrincipalConfig,
    /// The workspace.
    pub workspace: WorkspaceConfig,
    /// Workspace groups and the data role each may assume. Default: "Read only" (read) and
    /// "All access" (write).
    #[serde(default = "default_groups")]
    pub groups: Vec<GroupConfig>,
    /// The cluster.
    #[serde(default)]
    pub cluster: ClusterConfig,
    /// Billable-usage (CSV) and audit-log (JSON) delivery to the Databricks logging bucket.
    /// Default: true.
    #[serde(default = "yes", deserialize_with = "lenient_bool")]
    pub log_delivery: bool,
}

/// The service principal's identity and where its OAuth secret lives. The secret itself never
/// appears in the config, the template or the logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePrincipalConfig {
    /// The OAuth client id (the service principal's application id, a UUID).
    pub client_id: String,
    /// Where the OAuth secret is stored.
    pub secret: SecretRef,
}

/// A reference to a stored secret: a map with exactly one of its two keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum SecretRef {
    /// A Secrets Manager secret, by ARN.
    SecretsManager {
        /// The secret's ARN.
        secrets_manager_arn: String,
    },
    /// An SSM SecureString parameter, by name (`/databricks/sp-secret`).
    Ssm {
        /// The parameter's name.
        ssm_parameter: String,
    },
}

/// The workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// The workspace name (letters, digits, hyphens, underscores and spaces).
    pub name: String,
    /// The pricing tier. Default: ENTERPRISE (customer-managed keys need it).
    #[serde(default)]
    pub pricing_tier: PricingTier,
}

/// Databricks pricing tiers that can host this environment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PricingTier {
    /// Premium.
    Premium,
    /// Enterprise (needed for customer-managed keys).
    #[default]
    Enterprise,
}

impl PricingTier {
    /// The API value.
    pub fn as_str(self) -> &'static str {
        match self {
            PricingTier::Premium => "PREMIUM",
            PricingTier::Enterprise => "ENTERPRISE",
        }
    }
}

/// A workspace group and its data access.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// The group's display name.
    pub name: String,
    /// Which data role the group's members may assume.
    pub access: Access,
}

/// Data access of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// The read role (the three datalake buckets, read; Glue catalog, read).
    Read,
    /// The read-write role (the three datalake buckets; Glue catalog, full).
    Write,
}

fn default_groups() -> Vec<GroupConfig> {
    vec![
        GroupConfig {
            name: "Read only".into(),
            access: Access::Read,
        },
        GroupConfig {
            name: "All access".into(),
            access: Access::Write,
        },
    ]
}

/// The cluster (the seed's spec by default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// Cluster name. Default: `High-Concurrency`.
    pub name: String,
    /// Databricks runtime (`spark_version` key). Default: `14.3.x-scala2.12` (the last LTS
    /// with IAM credential passthrough).
    pub spark_version: String,
    /// Worker node type. Default: `r5.large` (2 vCPU, 16 GiB).
    pub node_type: String,
    /// Driver node type. Default: the worker type.
    pub driver_node_type: Option<String>,
    /// Autoscaling bounds. Default: 1 to 2 workers.
    pub autoscale: Autoscale,
    /// Minutes of inactivity before termination, 10 to 10000 (0 disables). Default: 30.
    pub autotermination_minutes: i64,
    /// Instance availability. Default: SPOT_WITH_FALLBACK.
    pub availability: Availability,
    /// Nodes (driver first) that are on-demand. Default: 1.
    pub first_on_demand: i64,
    /// Spot bid as a percentage of the on-demand price, 1 to 10000. Default: 60.
    pub spot_bid_price_percent: i64,
    /// EBS volumes per node. Default: one 32 GB general-purpose SSD.
    pub ebs_volumes: EbsVolumes,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            name: "High-Concurrency".into(),
            spark_version: "14.3.x-scala2.12".into(),
            node_type: "r5.large".into(),
            driver_node_type: None,
            autoscale: Autoscale::default(),
            autotermination_minutes: 30,
            availability: Availability::SpotWithFallback,
            first_on_demand: 1,
            spot_bid_price_percent: 60,
            ebs_volumes: EbsVolumes::default(),
        }
    }
}

/// Autoscaling bounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// Fewest workers. Default: 1.
    pub min_workers: i64,
    /// Most workers. Default: 2.
    pub max_workers: i64,
}

impl Default for Autoscale {
    fn default() -> Self {
        Autoscale {
            min_workers: 1,
            max_workers: 2,
        }
    }
}

/// Instance availability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Availability {
    /// Spot only.
    Spot,
    /// On-demand only.
    OnDemand,
    /// Spot, falling back to on-demand.
    SpotWithFallback,
}

impl Availability {
    /// The API value.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Spot => "SPOT",
            Availability::OnDemand => "ON_DEMAND",
            Availability::SpotWithFallback => "SPOT_WITH_FALLBACK",
        }
    }
}

/// EBS volumes per node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EbsVolumes {
    /// Volumes per node, 0 to 10. Default: 1.
    pub count: i64,
    /// Size of each, in GB (32 to 4096 for general purpose). Default: 32.
    pub size_gb: i64,
    /// Volume type. Default: GENERAL_PURPOSE_SSD.
    pub volume_type: EbsVolumeType,
}

impl Default for EbsVolumes {
    fn default() -> Self {
        EbsVolumes {
            count: 1,
            size_gb: 32,
            volume_type: EbsVolumeType::GeneralPurposeSsd,
        }
    }
}

/// EBS volume types Databricks offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EbsVolumeType {
    /// gp2/gp3.
    GeneralPurposeSsd,
    /// st1.
    ThroughputOptimizedHdd,
}

impl EbsVolumeType {
    /// The API value.
    pub fn as_str(self) -> &'static str {
        match self {
            EbsVolumeType::GeneralPurposeSsd => "GENERAL_PURPOSE_SSD",
            EbsVolumeType::ThroughputOptimizedHdd => "THROUGHPUT_OPTIMIZED_HDD",
        }
    }
}

impl Config {
    /// The stack name: `<prefix>-databricks`.
    pub fn stack_name(&self) -> String {
        format!("{}-databricks", self.prefix)
    }

    /// The JSON Schema of the config file.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).expect("a schema serializes")
    }
}

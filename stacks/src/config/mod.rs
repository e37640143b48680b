//! The environment's configuration (the old tfvars) as written: serde types with their JSON
//! Schema.
//!
//! Deserializing only checks shapes; [`crate::validate`] checks every rule, reports every
//! problem with its path and turns the config into the typed
//! [`Environment`](crate::model::Environment). Defaults are named values, so `cdkrs schema`
//! shows them; the Vpc construct's and the Databricks API's own types and defaults are used
//! directly ([`Azs`], [`PricingTier`], [`Availability`], [`EbsVolumeType`]), never mirrored.
//!
//! The JSON Schema ([`Config::json_schema`]) keeps two kinds of keywords apart: at the top of a
//! field, the shape serde reads (types, fields, the values of an enum, an integer's width); in
//! its `allOf`, the rules [`crate::validate`] checks that a JSON Schema can express (patterns,
//! ranges, the region's zones). The YAML walker of [`crate::load`] reads only the shapes, so a
//! broken rule is explained by validation, with the fix.

mod schema;

use std::collections::BTreeMap;

use cdkrs_constructs::vpc::{self, Azs};
use cdkrs_databricks::{ApiEnum, Availability, DataSecurityMode, EbsVolumeType, PricingTier};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Old field names still accepted: `(alias, field)`. A field accepts its alias wherever the
/// schema lists the field; the schema lists the alias too (deprecated), so editors accept it.
pub const ALIASES: &[(&str, &str)] = &[
    ("dbfs_client_side_enc", "enforce_sse_kms_root"),
    ("datalake_client_side_enc", "enforce_sse_kms_datalake"),
];

/// The whole configuration of one Databricks environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = schema::region_rules)]
pub struct Config {
    /// Prefix of every name (stack `<prefix>-databricks`, buckets, roles, Databricks objects):
    /// lowercase letters, digits and hyphens, starting with a letter; short enough for the
    /// longest bucket name (63 characters) in the region.
    #[schemars(schema_with = "schema::prefix")]
    pub prefix: String,
    /// The AWS region of the stack and the workspace (`eu-west-1`): one Databricks supports
    /// (GovCloud is not supported).
    #[schemars(schema_with = "schema::region")]
    pub region: String,
    /// The AWS account the environment belongs in (12 digits); deploy refuses another.
    /// Required by the AWS commands (bootstrap, deploy, diff, destroy, sleep, wake, status):
    /// they refuse credentials of another account. synth and validate work without it.
    #[serde(default)]
    #[schemars(schema_with = "schema::account_id")]
    pub aws_account_id: Option<String>,
    /// Tags for every taggable resource (and the cluster's custom tags). Default: none.
    #[serde(default, deserialize_with = "null_is_default")]
    #[schemars(schema_with = "schema::tags")]
    pub tags: BTreeMap<String, String>,
    /// The VPC layout. Default: 10.0.0.0/16 over 3 zones, subnets derived from it.
    #[serde(default, deserialize_with = "null_is_default")]
    #[schemars(schema_with = "schema::nullable::<NetworkConfig>")]
    pub network: NetworkConfig,
    /// Network sleep: no NAT gateway, no interface endpoints (clusters cannot start).
    /// Default: false.
    #[serde(default, deserialize_with = "lenient_bool")]
    #[schemars(schema_with = "schema::lenient_bool")]
    pub network_asleep: bool,
    /// SSE-KMS enforcement flags (the seed's "client-side encryption").
    #[serde(default, deserialize_with = "null_is_default")]
    #[schemars(schema_with = "schema::nullable::<EncryptionConfig>")]
    pub encryption: EncryptionConfig,
    /// The Databricks account, workspace, groups and cluster.
    pub databricks: DatabricksConfig,
}

/// The VPC layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The VPC CIDR, /16 to /28. Default: `10.0.0.0/16`.
    #[serde(default = "default_vpc_cidr")]
    #[schemars(schema_with = "schema::vpc_cidr")]
    pub vpc_cidr: String,
    /// Availability zones: a count (the first zones of the region) or names, at least 2 and at
    /// most as many as the region offers an account. Default: 3.
    #[serde(
        default,
        deserialize_with = "deserialize_azs",
        serialize_with = "serialize_azs"
    )]
    #[schemars(schema_with = "schema::azs")]
    pub azs: Azs,
    /// One private (Databricks) subnet CIDR per zone, /17 to /26. Default: derived from the VPC
    /// CIDR (quarters of it for up to 3 zones, eighths for more).
    #[serde(default)]
    #[schemars(schema_with = "schema::private_subnets")]
    pub private_subnets: Option<Vec<String>>,
    /// The public subnet CIDR (NAT gateway). Default: derived from the VPC CIDR.
    #[serde(default)]
    #[schemars(schema_with = "schema::public_subnet")]
    pub public_subnet: Option<String>,
    /// Flow-log aggregation interval, 60 or 600 seconds. Default: 60 (as the seed).
    #[serde(default = "default_flow_log_interval")]
    #[schemars(schema_with = "schema::flow_log_interval")]
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

/// The Vpc construct's default range.
fn default_vpc_cidr() -> String {
    vpc::DEFAULT_CIDR.to_string()
}

fn default_flow_log_interval() -> i64 {
    60
}

/// SSE-KMS enforcement: objects in these buckets are only ever encrypted with the storage key.
/// An upload that asks for no encryption gets the bucket default (the storage key); one that
/// asks for another algorithm, for SSE-KMS without a key id or for another key is denied
/// (`SseEnforcement::DenyOtherKeys`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = schema::aliases)]
pub struct EncryptionConfig {
    /// Enforce SSE-KMS on the root (DBFS) bucket. Alias: `dbfs_client_side_enc`. Default: true.
    #[serde(
        default = "yes",
        alias = "dbfs_client_side_enc",
        deserialize_with = "lenient_bool"
    )]
    #[schemars(schema_with = "schema::lenient_bool")]
    pub enforce_sse_kms_root: bool,
    /// Enforce SSE-KMS on the raw, prepared and trusted buckets. Alias:
    /// `datalake_client_side_enc`. Default: true.
    #[serde(
        default = "yes",
        alias = "datalake_client_side_enc",
        deserialize_with = "lenient_bool"
    )]
    #[schemars(schema_with = "schema::lenient_bool")]
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

/// A section or map left empty (`network:` or `network: ~`) takes its default, as an omitted
/// one does.
fn null_is_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A Databricks API enum by its API spelling (`SPOT_WITH_FALLBACK`).
fn api_enum<'de, D: Deserializer<'de>, T: ApiEnum>(d: D) -> Result<T, D::Error> {
    let s = String::deserialize(d)?;
    T::parse(&s).ok_or_else(|| {
        let all: Vec<&str> = T::ALL.iter().map(|v| v.as_str()).collect();
        serde::de::Error::custom(format!(
            "unknown value `{s}`; expected one of {}",
            all.join(", ")
        ))
    })
}

fn serialize_api_enum<S: Serializer, T: ApiEnum>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

/// Zones by count (`3`) or by name (`[eu-west-1a, eu-west-1b]`).
fn deserialize_azs<'de, D: Deserializer<'de>>(d: D) -> Result<Azs, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Count(u8),
        Names(Vec<String>),
    }
    Ok(match Repr::deserialize(d)? {
        Repr::Count(n) => Azs::Count(n),
        Repr::Names(names) => Azs::Names(names),
    })
}

fn serialize_azs<S: Serializer>(azs: &Azs, s: S) -> Result<S::Ok, S::Error> {
    match azs {
        Azs::Count(n) => s.serialize_u8(*n),
        Azs::Names(names) => names.serialize(s),
    }
}

/// The Databricks side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabricksConfig {
    /// The Databricks account id (a UUID).
    #[schemars(schema_with = "schema::uuid")]
    pub account_id: String,
    /// How the groups reach the datalake: `unity_catalog` (account groups granted on catalogs
    /// and external locations through a storage credential) or `legacy_passthrough` (IAM
    /// credential passthrough: a meta instance profile and two data roles, for accounts without
    /// Unity Catalog). Default: `unity_catalog`.
    #[serde(default)]
    pub governance: Governance,
    /// The service principal the provider authenticates as (OAuth M2M).
    pub service_principal: ServicePrincipalConfig,
    /// The workspace.
    pub workspace: WorkspaceConfig,
    /// The groups and their datalake access; at least one. With `unity_catalog` each is an
    /// account group assigned to the workspace and granted on the catalogs and external
    /// locations; with `legacy_passthrough` a workspace group mapped to a data role. Group
    /// names must differ, ignoring case: a JSON Schema can only refuse identical entries
    /// (`uniqueItems`), validation compares the names. Default: "Read only" (read) and "All access" (write).
    #[serde(default = "default_groups")]
    #[schemars(schema_with = "schema::groups")]
    pub groups: Vec<GroupConfig>,
    /// The cluster.
    #[serde(default, deserialize_with = "null_is_default")]
    #[schemars(schema_with = "schema::nullable::<ClusterConfig>")]
    pub cluster: ClusterConfig,
    /// Billable-usage (CSV) and audit-log (JSON) delivery to the Databricks logging bucket.
    /// Default: true.
    #[serde(default = "yes", deserialize_with = "lenient_bool")]
    #[schemars(schema_with = "schema::lenient_bool")]
    pub log_delivery: bool,
}

/// The service principal's identity and where its OAuth secret lives. The secret itself never
/// appears in the config, the template or the logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePrincipalConfig {
    /// The OAuth client id (the service principal's application id, a UUID).
    #[schemars(schema_with = "schema::uuid")]
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
        /// The secret's ARN: in the stack's region and account.
        #[schemars(schema_with = "schema::secret_arn")]
        secrets_manager_arn: String,
    },
    /// An SSM SecureString parameter, by name (`/databricks/sp-secret`).
    Ssm {
        /// The parameter's name (in the stack's region and account).
        #[schemars(schema_with = "schema::ssm_parameter")]
        ssm_parameter: String,
    },
}

/// The workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// The workspace name (1 to 64 letters, digits, hyphens, underscores and spaces).
    #[schemars(schema_with = "schema::workspace_name")]
    pub name: String,
    /// The pricing tier: one that allows the customer-managed key the stack encrypts workspace
    /// storage with (ENTERPRISE). Default: ENTERPRISE.
    #[serde(
        default = "default_pricing_tier",
        deserialize_with = "api_enum",
        serialize_with = "serialize_api_enum"
    )]
    #[schemars(schema_with = "schema::pricing_tier")]
    pub pricing_tier: PricingTier,
}

/// The tier the environment needs (its storage key is customer-managed).
fn default_pricing_tier() -> PricingTier {
    PricingTier::Enterprise
}

/// How the environment governs data access.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Governance {
    /// Unity Catalog: the workspace's metastore, a storage credential (an IAM role Unity
    /// Catalog assumes), an external location and a catalog per datalake bucket, account
    /// groups with grants, and a cluster in standard (`USER_ISOLATION`) access mode.
    #[default]
    UnityCatalog,
    /// IAM credential passthrough (deprecated by Databricks from Runtime 15.0, on which this
    /// environment refuses it):
    /// a meta instance profile, a data role per access level, workspace groups mapped to the
    /// roles, the Glue Data Catalog, and a `LEGACY_PASSTHROUGH` cluster.
    LegacyPassthrough,
}

impl Governance {
    /// The config spelling (`unity_catalog`).
    pub fn as_str(self) -> &'static str {
        match self {
            Governance::UnityCatalog => "unity_catalog",
            Governance::LegacyPassthrough => "legacy_passthrough",
        }
    }

    /// The runtime the cluster gets when the config names none: the newest LTS this mode
    /// runs on. Unity Catalog: 17.3 LTS (Spark 4.0, Scala 2.13; supported until October
    /// 2028, <https://docs.databricks.com/aws/en/release-notes/runtime/>). Passthrough: 14.3
    /// LTS, the last LTS before credential passthrough was deprecated (from 15.0, "and will be
    /// removed in future Databricks Runtime versions": "Credential passthrough (legacy)", a
    /// retired page, <https://docs.databricks.com/aws/en/archive/credential-passthrough/>).
    pub fn default_spark_version(self) -> &'static str {
        match self {
            Governance::UnityCatalog => "17.3.x-scala2.13",
            Governance::LegacyPassthrough => "14.3.x-scala2.12",
        }
    }

    /// The cluster's name when the config names none: `Shared` (a standard-access-mode cluster
    /// the groups share) or the seed's `High-Concurrency` (a high-concurrency passthrough
    /// cluster).
    pub fn default_cluster_name(self) -> &'static str {
        match self {
            Governance::UnityCatalog => "Shared",
            Governance::LegacyPassthrough => "High-Concurrency",
        }
    }

    /// The cluster's access mode: standard (`USER_ISOLATION`, the shared mode Unity Catalog
    /// supports for several users) or `LEGACY_PASSTHROUGH`.
    pub fn access_mode(self) -> DataSecurityMode {
        match self {
            Governance::UnityCatalog => DataSecurityMode::UserIsolation,
            Governance::LegacyPassthrough => DataSecurityMode::LegacyPassthrough,
        }
    }
}

/// A group and its data access.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// The group's display name (at most 100 characters; not `admins` or `users`).
    #[schemars(schema_with = "schema::group_name")]
    pub name: String,
    /// What the group's members may do with the raw, prepared and trusted data.
    pub access: Access,
}

/// Data access of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Read the three datalake layers. `unity_catalog`: read tables in the layer catalogs and
    /// files at the layer locations. `legacy_passthrough`: the read role (the three buckets,
    /// read; Glue catalog, read).
    Read,
    /// Read and write the three datalake layers. `unity_catalog`: read's grants plus writing
    /// tables and creating schemas and tables in the catalogs, and writing files and creating
    /// external tables at the locations. `legacy_passthrough`: the read-write role (the three
    /// buckets; Glue catalog, full).
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
    /// Cluster name (at most 100 characters). Default: `Shared` with `unity_catalog` (a
    /// standard-access-mode cluster the groups share), `High-Concurrency` (the seed's) with
    /// `legacy_passthrough`.
    #[schemars(schema_with = "schema::cluster_name")]
    pub name: Option<String>,
    /// Databricks runtime (`spark_version` key, `<major>.<minor>.x[-variant…]-scala<2.12|2.13>`;
    /// `databricks clusters spark-versions` lists a workspace's). `unity_catalog` needs 13.3
    /// or later, `legacy_passthrough` one before 15.0. Default: `17.3.x-scala2.13` (17.3 LTS)
    /// with `unity_catalog`, `14.3.x-scala2.12` (14.3 LTS, the last with credential
    /// passthrough) with `legacy_passthrough`.
    #[schemars(schema_with = "schema::spark_version")]
    pub spark_version: Option<String>,
    /// Worker node type. Default: `r5.large` (2 vCPU, 16 GiB).
    #[schemars(schema_with = "schema::node_type")]
    pub node_type: String,
    /// Driver node type. Default: the worker type.
    #[schemars(schema_with = "schema::driver_node_type")]
    pub driver_node_type: Option<String>,
    /// Autoscaling bounds. Default: 1 to 2 workers.
    #[serde(deserialize_with = "null_is_default")]
    #[schemars(schema_with = "schema::nullable::<Autoscale>")]
    pub autoscale: Autoscale,
    /// Minutes of inactivity before termination, 10 to 10000 (0 disables). Default: 30.
    #[schemars(schema_with = "schema::autotermination_minutes")]
    pub autotermination_minutes: i64,
    /// Instance availability. Default: SPOT_WITH_FALLBACK.
    #[serde(deserialize_with = "api_enum", serialize_with = "serialize_api_enum")]
    #[schemars(schema_with = "schema::api_enum::<Availability>")]
    pub availability: Availability,
    /// Nodes (driver first) that are on-demand, 0 or more. Default: 1.
    #[schemars(schema_with = "schema::first_on_demand")]
    pub first_on_demand: i64,
    /// Spot bid as a percentage of the on-demand price, 1 to 10000. Default: 60.
    #[schemars(schema_with = "schema::spot_bid_price_percent")]
    pub spot_bid_price_percent: i64,
    /// EBS volumes per node. Default: one 100 GB general-purpose SSD (the smallest the API
    /// accepts).
    #[serde(deserialize_with = "null_is_default")]
    #[schemars(schema_with = "schema::nullable::<EbsVolumes>")]
    pub ebs_volumes: EbsVolumes,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            name: None,
            spark_version: None,
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

/// Autoscaling bounds: min_workers below max_workers (a JSON Schema cannot compare two
/// fields; validation does).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// Fewest workers, 0 or more. Default: 1.
    #[schemars(schema_with = "schema::min_workers")]
    pub min_workers: i64,
    /// Most workers, at most 1000. Default: 2.
    #[schemars(schema_with = "schema::max_workers")]
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

/// EBS volumes per node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(transform = schema::ebs_volume_sizes)]
pub struct EbsVolumes {
    /// Volumes per node, 0 to 10. Default: 1.
    #[schemars(schema_with = "schema::ebs_volume_count")]
    pub count: i64,
    /// Size of each, in GB: 100 to 4096 for general purpose, 500 to 4096 for throughput
    /// optimized (the Clusters API's ranges). Default: 100.
    #[schemars(schema_with = "schema::int")]
    pub size_gb: i64,
    /// Volume type. Default: GENERAL_PURPOSE_SSD.
    #[serde(deserialize_with = "api_enum", serialize_with = "serialize_api_enum")]
    #[schemars(schema_with = "schema::api_enum::<EbsVolumeType>")]
    pub volume_type: EbsVolumeType,
}

impl Default for EbsVolumes {
    fn default() -> Self {
        EbsVolumes {
            count: 1,
            size_gb: 100,
            volume_type: EbsVolumeType::GeneralPurposeSsd,
        }
    }
}

impl Config {
    /// The JSON Schema of the config file (`cdkrs schema`).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).expect("a schema serializes")
    }
}

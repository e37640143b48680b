//! The validated environment: what [`validate`](crate::validate::validate) makes of a
//! [`Config`](crate::config::Config) and [`environment::build`](crate::environment::build)
//! builds from. Every value is parsed and checked once: CIDR blocks are [`Ipv4Net`]s, zones the
//! Vpc construct's [`Azs`], the region the table's [`Region`], and every name the stack gives
//! an AWS object is composed here ([`Names`]).
//!
//! Only validation makes an [`Environment`]; its parts are read through getters.

use std::collections::BTreeMap;

use cdkrs_constructs::vpc::{Azs, Nat, VpcProps};
use cdkrs_constructs::Tag;
use ipnet::Ipv4Net;

use crate::config::{DatabricksConfig, EncryptionConfig, Governance};
use crate::regions::Region;

/// One Databricks environment, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    pub(crate) names: Names,
    pub(crate) region: &'static Region,
    pub(crate) aws_account_id: Option<String>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) network: Network,
    pub(crate) network_asleep: bool,
    pub(crate) encryption: EncryptionConfig,
    pub(crate) databricks: DatabricksConfig,
}

impl Environment {
    /// The prefix of every name.
    pub fn prefix(&self) -> &str {
        self.names.prefix()
    }

    /// The names the stack gives its AWS and Databricks objects.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The stack name: `<prefix>-databricks`.
    pub fn stack_name(&self) -> String {
        self.names.stack()
    }

    /// The region of the stack and the workspace.
    pub fn region(&self) -> &'static Region {
        self.region
    }

    /// The AWS account the environment belongs in, when the config names one.
    pub fn aws_account_id(&self) -> Option<&str> {
        self.aws_account_id.as_deref()
    }

    /// Tags for every taggable resource (and the cluster's custom tags).
    pub fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    /// The VPC layout.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Whether the network starts asleep (no NAT gateway, no interface endpoints).
    pub fn network_asleep(&self) -> bool {
        self.network_asleep
    }

    /// The SSE-KMS enforcement flags.
    pub fn encryption(&self) -> &EncryptionConfig {
        &self.encryption
    }

    /// The Databricks account, service principal, workspace, groups and cluster.
    pub fn databricks(&self) -> &DatabricksConfig {
        &self.databricks
    }

    /// How the groups reach the datalake.
    pub fn governance(&self) -> Governance {
        self.databricks.governance
    }

    /// The cluster's name: the config's, or the governance's default.
    pub fn cluster_name(&self) -> &str {
        self.databricks
            .cluster
            .name
            .as_deref()
            .unwrap_or_else(|| self.governance().default_cluster_name())
    }

    /// The cluster's runtime: the config's, or the governance's default.
    pub fn spark_version(&self) -> &str {
        self.databricks
            .cluster
            .spark_version
            .as_deref()
            .unwrap_or_else(|| self.governance().default_spark_version())
    }

    /// The same environment without its groups (copied without them: however many there are).
    pub(crate) fn without_groups(&self) -> Environment {
        let d = &self.databricks;
        Environment {
            names: self.names.clone(),
            region: self.region,
            aws_account_id: self.aws_account_id.clone(),
            tags: self.tags.clone(),
            network: self.network.clone(),
            network_asleep: self.network_asleep,
            encryption: self.encryption.clone(),
            databricks: DatabricksConfig {
                account_id: d.account_id.clone(),
                governance: d.governance,
                service_principal: d.service_principal.clone(),
                workspace: d.workspace.clone(),
                groups: Vec::new(),
                cluster: d.cluster.clone(),
                log_delivery: d.log_delivery,
            },
        }
    }
}

/// The VPC layout, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The VPC range.
    pub vpc_cidr: Ipv4Net,
    /// The availability zones.
    pub azs: Azs,
    /// One private subnet per zone; derived by the Vpc construct when `None`.
    pub private_subnets: Option<Vec<Ipv4Net>>,
    /// The public subnet; derived by the Vpc construct when `None`.
    pub public_subnet: Option<Ipv4Net>,
    /// Flow-log aggregation interval, in seconds.
    pub flow_log_interval_secs: i64,
}

impl Network {
    /// The `VpcProps` this layout describes (validation plans the subnets with the same props
    /// the stack builds the VPC from).
    pub fn vpc_props(&self, nat: Nat, tags: Vec<Tag>) -> VpcProps {
        VpcProps {
            cidr: self.vpc_cidr,
            azs: self.azs.clone(),
            private_subnets: self.private_subnets.clone(),
            public_subnet: self.public_subnet,
            nat,
            tags,
        }
    }
}

/// The buckets of the environment. Each is named `<prefix>-<suffix>-<account id>-<region>`:
/// deterministic and unique per account and region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketName {
    /// S3 access logs and VPC flow logs.
    InfraLogs,
    /// Cluster logs, billable usage and audit logs.
    DatabricksLogs,
    /// The workspace root (DBFS).
    Root,
    /// Raw datalake data.
    Raw,
    /// Prepared datalake data.
    Prepared,
    /// Trusted datalake data.
    Trusted,
}

impl BucketName {
    /// Every bucket, in the order the stack creates them.
    pub const ALL: &'static [BucketName] = &[
        BucketName::InfraLogs,
        BucketName::DatabricksLogs,
        BucketName::Root,
        BucketName::Raw,
        BucketName::Prepared,
        BucketName::Trusted,
    ];

    /// The name's suffix after the prefix.
    pub fn suffix(self) -> &'static str {
        match self {
            BucketName::InfraLogs => "infra-logs",
            BucketName::DatabricksLogs => "databricks-logs",
            BucketName::Root => "root",
            BucketName::Raw => "raw",
            BucketName::Prepared => "prepared",
            BucketName::Trusted => "trusted",
        }
    }
}

/// The datalake layers: one bucket each, and with Unity Catalog one external location and one
/// catalog each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// Data as it arrives.
    Raw,
    /// Cleaned and conformed data.
    Prepared,
    /// Data ready for consumers.
    Trusted,
}

impl Layer {
    /// Every layer, in the order of the stack's datalake buckets.
    pub const ALL: &'static [Layer] = &[Layer::Raw, Layer::Prepared, Layer::Trusted];

    /// The layer's bucket.
    pub fn bucket(self) -> BucketName {
        match self {
            Layer::Raw => BucketName::Raw,
            Layer::Prepared => BucketName::Prepared,
            Layer::Trusted => BucketName::Trusted,
        }
    }

    /// Its name in names and logical ids (`raw`).
    pub fn suffix(self) -> &'static str {
        self.bucket().suffix()
    }

    /// Its name in logical ids (`Raw`).
    pub fn title(self) -> &'static str {
        match self {
            Layer::Raw => "Raw",
            Layer::Prepared => "Prepared",
            Layer::Trusted => "Trusted",
        }
    }
}

/// The IAM roles of the environment, each named `<prefix>-<suffix>` (the meta role's instance
/// profile shares its role's name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleName {
    /// The Databricks control plane's cross-account role.
    CrossAccount,
    /// Databricks' log delivery.
    LogDelivery,
    /// The cluster nodes' role.
    Meta,
    /// Reads the datalake.
    DataRead,
    /// Reads and writes the datalake.
    DataWrite,
    /// The Unity Catalog storage credential's role.
    UcStorage,
    /// The provider Lambda's role.
    Provider,
}

impl RoleName {
    /// Every role.
    pub const ALL: &'static [RoleName] = &[
        RoleName::CrossAccount,
        RoleName::LogDelivery,
        RoleName::Meta,
        RoleName::DataRead,
        RoleName::DataWrite,
        RoleName::UcStorage,
        RoleName::Provider,
    ];

    /// The name's suffix after the prefix.
    pub fn suffix(self) -> &'static str {
        match self {
            RoleName::CrossAccount => "cross-account",
            RoleName::LogDelivery => "log-delivery",
            RoleName::Meta => "meta",
            RoleName::DataRead => "data-read",
            RoleName::DataWrite => "data-write",
            RoleName::UcStorage => "uc-storage",
            RoleName::Provider => "provider",
        }
    }
}

/// Every name the environment composes from its prefix, in one place: validation checks their
/// lengths with the same functions the stack names its objects with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

impl Names {
    /// The names of prefix `prefix` (any text: validation measures names of bad prefixes too).
    pub fn new(prefix: &str) -> Names {
        Names {
            prefix: prefix.to_owned(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The stack name: `<prefix>-databricks`.
    pub fn stack(&self) -> String {
        self.of("databricks")
    }

    /// `<prefix>-<what>`: Databricks objects, key aliases, the provider function.
    pub fn of(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    /// The name of `bucket` in `account` and `region` (literal values, or the template's
    /// `${AWS::AccountId}` and `${AWS::Region}`).
    pub fn bucket(&self, bucket: BucketName, account: &str, region: &str) -> String {
        format!("{}-{}-{account}-{region}", self.prefix, bucket.suffix())
    }

    /// The name of `role`.
    pub fn role(&self, role: RoleName) -> String {
        self.of(role.suffix())
    }

    /// The metastore created when the account has none in the workspace's region.
    pub fn metastore(&self) -> String {
        self.of("metastore")
    }

    /// The storage credential (named after its role).
    pub fn storage_credential(&self) -> String {
        self.role(RoleName::UcStorage)
    }

    /// The external location of `layer`'s bucket: `<prefix>-<layer>`.
    pub fn external_location(&self, layer: Layer) -> String {
        self.of(layer.suffix())
    }

    /// The catalog of `layer`: `<prefix>_<layer>`, the prefix's hyphens as underscores (a
    /// catalog name is letters, digits and underscores, so it needs no quoting in SQL).
    pub fn catalog(&self, layer: Layer) -> String {
        format!("{}_{}", self.prefix.replace('-', "_"), layer.suffix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_composed_from_the_prefix() {
        let n = Names::new("acme");
        assert_eq!(n.stack(), "acme-databricks");
        assert_eq!(n.role(RoleName::DataRead), "acme-data-read");
        assert_eq!(
            n.bucket(BucketName::Raw, "${AWS::AccountId}", "${AWS::Region}"),
            "acme-raw-${AWS::AccountId}-${AWS::Region}"
        );
        assert_eq!(n.of("storage"), "acme-storage");
        let n = Names::new("acme-prod");
        assert_eq!(n.catalog(Layer::Prepared), "acme_prod_prepared");
        assert_eq!(n.external_location(Layer::Raw), "acme-prod-raw");
        assert_eq!(n.role(RoleName::UcStorage), "acme-prod-uc-storage");
    }
}

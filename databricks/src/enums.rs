//! The enumerated string values of the Databricks API, so the template side never types them.
//!
//! Each enum has `as_str()` (the API spelling), `ALL`, `parse`, `Display`, and converts into a
//! template [`Value<String>`]; `list` makes a template list. [`ApiEnum`] offers the same to code
//! that is generic over them (a config reading any of them by its API spelling). Nothing here
//! checks which values a given workspace or tier accepts.

use std::fmt;

use cdkrs_constructs::Value;

/// What every enum of Databricks API strings offers, for code generic over them.
pub trait ApiEnum: Copy + fmt::Debug + PartialEq + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];

    /// The API spelling.
    fn as_str(self) -> &'static str;

    /// The value with this exact API spelling, if any.
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }
}

/// Declares an enum of Databricks API strings.
macro_rules! api_enum {
    (
        $(#[$doc:meta])*
        $name:ident { $($(#[$vdoc:meta])* $variant:ident = $s:literal),+ $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The API spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s),+
                }
            }

            /// The value with this exact API spelling, if any.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// A template list of these values.
            pub fn list(values: impl IntoIterator<Item = Self>) -> Value<Vec<String>> {
                Value::from(
                    values
                        .into_iter()
                        .map(|v| v.as_str().to_owned())
                        .collect::<Vec<String>>(),
                )
            }
        }

        impl ApiEnum for $name {
            const ALL: &'static [Self] = $name::ALL;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for Value<String> {
            fn from(v: $name) -> Self {
                Value::from(v.as_str())
            }
        }
    };
}

api_enum! {
    /// A workspace's `pricing_tier` (customer-managed keys need `Enterprise`).
    PricingTier {
        /// `STANDARD`
        Standard = "STANDARD",
        /// `PREMIUM`
        Premium = "PREMIUM",
        /// `ENTERPRISE`
        Enterprise = "ENTERPRISE",
        /// `DEDICATED`
        Dedicated = "DEDICATED",
    }
}

api_enum! {
    /// What a customer-managed key configuration encrypts (`use_cases`).
    KeyUseCase {
        /// `STORAGE`: the root bucket and, optionally, cluster EBS volumes.
        Storage = "STORAGE",
        /// `MANAGED_SERVICES`: notebooks, secrets and queries in the control plane.
        ManagedServices = "MANAGED_SERVICES",
    }
}

api_enum! {
    /// A permission of a workspace assignment.
    WorkspacePermission {
        /// `ADMIN`
        Admin = "ADMIN",
        /// `USER`
        User = "USER",
    }
}

api_enum! {
    /// The logs a log-delivery configuration writes (`log_type`).
    LogType {
        /// `BILLABLE_USAGE`, delivered as CSV.
        BillableUsage = "BILLABLE_USAGE",
        /// `AUDIT_LOGS`, delivered as JSON.
        AuditLogs = "AUDIT_LOGS",
    }
}

impl LogType {
    /// The `output_format` the API requires for this log type.
    pub fn output_format(self) -> OutputFormat {
        match self {
            LogType::BillableUsage => OutputFormat::Csv,
            LogType::AuditLogs => OutputFormat::Json,
        }
    }
}

api_enum! {
    /// The file format of delivered logs (`output_format`).
    OutputFormat {
        /// `CSV` (billable usage).
        Csv = "CSV",
        /// `JSON` (audit logs).
        Json = "JSON",
    }
}

api_enum! {
    /// How cluster instances are bought (`aws_attributes.availability`).
    Availability {
        /// `SPOT`
        Spot = "SPOT",
        /// `ON_DEMAND`
        OnDemand = "ON_DEMAND",
        /// `SPOT_WITH_FALLBACK`: spot, falling back to on-demand.
        SpotWithFallback = "SPOT_WITH_FALLBACK",
    }
}

api_enum! {
    /// The EBS volume type of cluster instances (`aws_attributes.ebs_volume_type`).
    EbsVolumeType {
        /// `GENERAL_PURPOSE_SSD` (100 to 4096 GiB).
        GeneralPurposeSsd = "GENERAL_PURPOSE_SSD",
        /// `THROUGHPUT_OPTIMIZED_HDD` (500 to 4096 GiB).
        ThroughputOptimizedHdd = "THROUGHPUT_OPTIMIZED_HDD",
    }
}

api_enum! {
    /// Server-side encryption of cluster logs written to S3 (`encryption_type`).
    S3EncryptionType {
        /// `sse-s3`
        SseS3 = "sse-s3",
        /// `sse-kms` (with `kms_key`).
        SseKms = "sse-kms",
    }
}

api_enum! {
    /// A cluster's access mode (`data_security_mode`).
    DataSecurityMode {
        /// `NONE`: no isolation.
        None = "NONE",
        /// `SINGLE_USER`: one user or service principal.
        SingleUser = "SINGLE_USER",
        /// `USER_ISOLATION`: shared, with Unity Catalog isolation.
        UserIsolation = "USER_ISOLATION",
        /// `LEGACY_TABLE_ACL`
        LegacyTableAcl = "LEGACY_TABLE_ACL",
        /// `LEGACY_PASSTHROUGH`: IAM credential passthrough (deprecated from DBR 15.0).
        LegacyPassthrough = "LEGACY_PASSTHROUGH",
        /// `LEGACY_SINGLE_USER`
        LegacySingleUser = "LEGACY_SINGLE_USER",
        /// `LEGACY_SINGLE_USER_STANDARD`
        LegacySingleUserStandard = "LEGACY_SINGLE_USER_STANDARD",
        /// `DATA_SECURITY_MODE_AUTO`: Databricks chooses.
        Auto = "DATA_SECURITY_MODE_AUTO",
        /// `DATA_SECURITY_MODE_STANDARD`
        Standard = "DATA_SECURITY_MODE_STANDARD",
        /// `DATA_SECURITY_MODE_DEDICATED`
        Dedicated = "DATA_SECURITY_MODE_DEDICATED",
    }
}

api_enum! {
    /// A Unity Catalog securable's type (`securable_type` of the permissions API; databricks-sdk
    /// `catalog.SecurableType`). Only the types this crate grants on.
    SecurableType {
        /// `METASTORE`
        Metastore = "METASTORE",
        /// `CATALOG`
        Catalog = "CATALOG",
        /// `SCHEMA`
        Schema = "SCHEMA",
        /// `EXTERNAL_LOCATION`
        ExternalLocation = "EXTERNAL_LOCATION",
        /// `STORAGE_CREDENTIAL`
        StorageCredential = "STORAGE_CREDENTIAL",
    }
}

api_enum! {
    /// A Unity Catalog privilege (databricks-sdk `catalog.Privilege`): the ones a data reader
    /// or writer needs on catalogs and external locations.
    Privilege {
        /// `BROWSE`: see the securable's metadata.
        Browse = "BROWSE",
        /// `USE_CATALOG`: needed to reach anything in a catalog.
        UseCatalog = "USE_CATALOG",
        /// `USE_SCHEMA`: needed to reach anything in a schema.
        UseSchema = "USE_SCHEMA",
        /// `SELECT`: read tables and views.
        Select = "SELECT",
        /// `EXECUTE`: call functions.
        Execute = "EXECUTE",
        /// `READ_VOLUME`: read volume files.
        ReadVolume = "READ_VOLUME",
        /// `MODIFY`: add, update and delete table data.
        Modify = "MODIFY",
        /// `CREATE_SCHEMA`
        CreateSchema = "CREATE_SCHEMA",
        /// `CREATE_TABLE`
        CreateTable = "CREATE_TABLE",
        /// `CREATE_VOLUME`
        CreateVolume = "CREATE_VOLUME",
        /// `WRITE_VOLUME`: add, update and delete volume files.
        WriteVolume = "WRITE_VOLUME",
        /// `READ_FILES`: read files at an external location.
        ReadFiles = "READ_FILES",
        /// `WRITE_FILES`: write files at an external location.
        WriteFiles = "WRITE_FILES",
        /// `CREATE_EXTERNAL_TABLE`: create tables over an external location's files.
        CreateExternalTable = "CREATE_EXTERNAL_TABLE",
        /// `CREATE_EXTERNAL_VOLUME`
        CreateExternalVolume = "CREATE_EXTERNAL_VOLUME",
        /// `CREATE_MANAGED_STORAGE`: use an external location as managed storage.
        CreateManagedStorage = "CREATE_MANAGED_STORAGE",
        /// `MANAGE`: grant and revoke on the securable.
        Manage = "MANAGE",
        /// `ALL_PRIVILEGES`
        AllPrivileges = "ALL_PRIVILEGES",
    }
}

api_enum! {
    /// A cluster permission level (Permissions API `permission_level` on clusters).
    ClusterPermissionLevel {
        /// `CAN_ATTACH_TO`: attach notebooks.
        CanAttachTo = "CAN_ATTACH_TO",
        /// `CAN_RESTART`: attach, start, restart and terminate.
        CanRestart = "CAN_RESTART",
        /// `CAN_MANAGE`: everything, including permissions.
        CanManage = "CAN_MANAGE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enums_convert_to_template_values_and_lists() {
        assert_eq!(
            serde_json::to_value(Value::<String>::from(PricingTier::Enterprise)).unwrap(),
            json!("ENTERPRISE")
        );
        assert_eq!(
            serde_json::to_value(KeyUseCase::list([
                KeyUseCase::Storage,
                KeyUseCase::ManagedServices
            ]))
            .unwrap(),
            json!(["STORAGE", "MANAGED_SERVICES"])
        );
        assert_eq!(
            Availability::SpotWithFallback.to_string(),
            "SPOT_WITH_FALLBACK"
        );
    }

    #[test]
    fn parse_is_the_inverse_of_as_str() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for v in all {
                assert_eq!(parse(as_str(*v)), Some(*v));
            }
        }
        check(PricingTier::ALL, PricingTier::as_str, PricingTier::parse);
        check(KeyUseCase::ALL, KeyUseCase::as_str, KeyUseCase::parse);
        check(
            WorkspacePermission::ALL,
            WorkspacePermission::as_str,
            WorkspacePermission::parse,
        );
        check(LogType::ALL, LogType::as_str, LogType::parse);
        check(OutputFormat::ALL, OutputFormat::as_str, OutputFormat::parse);
        check(Availability::ALL, Availability::as_str, Availability::parse);
        check(
            EbsVolumeType::ALL,
            EbsVolumeType::as_str,
            EbsVolumeType::parse,
        );
        check(
            S3EncryptionType::ALL,
            S3EncryptionType::as_str,
            S3EncryptionType::parse,
        );
        check(
            DataSecurityMode::ALL,
            DataSecurityMode::as_str,
            DataSecurityMode::parse,
        );
        assert_eq!(PricingTier::parse("enterprise"), None);
    }

    #[test]
    fn log_types_pair_with_their_required_format() {
        assert_eq!(LogType::BillableUsage.output_format(), OutputFormat::Csv);
        assert_eq!(LogType::AuditLogs.output_format(), OutputFormat::Json);
    }
}

//! # cdkrs-databricks
//!
//! The contract between the template and the Databricks provider Lambda: one property struct per
//! Databricks custom resource, shared by both sides.
//!
//! Each struct is generic over a [`Repr`]:
//!
//! - [`Template`]: what the stack writes. Values may be intrinsics (`Ref`, `Fn::GetAtt`, …), and
//!   `X<Template>` implements [`CustomResourceProperties`](cdkrs_constructs::custom_resource::CustomResourceProperties),
//!   so it goes straight into a [`CustomResource`](cdkrs_constructs::custom_resource::CustomResource).
//! - [`Runtime`]: what the provider reads from the event's `ResourceProperties`. CloudFormation
//!   delivers every scalar as a string (`"30"`, `"true"`), so integers and booleans are
//!   [`Lenient`] and accept both forms.
//!
//! The field names are written once, so the template and the provider cannot disagree on one.
//! Credentials and secrets are never properties: the provider reads the service principal's OAuth
//! client id and secret from its environment and from Secrets Manager or SSM.
//!
//! ```
//! use cdkrs_databricks::{Credentials, CredentialsAttr, Runtime, Template};
//! use cdkrs_constructs::custom_resource::CustomAttribute;
//!
//! let props = Credentials::<Template> {
//!     account_id: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".into(),
//!     credentials_name: "acme-prod-cross-account".into(),
//!     role_arn: "arn:aws:iam::123456789012:role/acme-xacct".into(),
//! };
//! let json = serde_json::to_value(&props).unwrap();
//! assert_eq!(json["CredentialsName"], "acme-prod-cross-account");
//!
//! // The provider reads the same struct back from the event.
//! let event: Credentials<Runtime> = serde_json::from_value(json).unwrap();
//! assert_eq!(event.role_arn, "arn:aws:iam::123456789012:role/acme-xacct");
//! assert_eq!(CredentialsAttr::CredentialsId.name(), "CredentialsId");
//! ```

#![warn(missing_docs)]

/// Declares an attribute enum: variant names are the `Data` keys the provider returns.
macro_rules! attributes {
    (
        $(#[$doc:meta])*
        $name:ident { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every attribute, so the provider can check it returns each one.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
        }

        impl ::cdkrs_constructs::custom_resource::CustomAttribute for $name {
            fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant)),+
                }
            }
        }
    };
}

/// Declares a property struct shared by the template and the provider: generic over its
/// representation, PascalCase on the wire, serializable as a template and deserializable from
/// an event (the serde bounds name what each side needs).
macro_rules! property_struct {
    (
        $(#[$doc:meta])*
        pub struct $name:ident { $($body:tt)* }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(
            rename_all = "PascalCase",
            bound(
                serialize = "",
                deserialize = "R::Str: serde::Deserialize<'de>, R::Int: serde::Deserialize<'de>, R::Bool: serde::Deserialize<'de>, R::StrList: serde::Deserialize<'de>, R::StrMap: serde::Deserialize<'de>"
            )
        )]
        pub struct $name<R: Repr = Template> { $($body)* }
    };
}

/// Implements `CustomResourceProperties` for the template form of a property struct.
/// `create_only: [...]` lists the JSON pointers of the properties the provider cannot change in
/// place (see [`CustomResourceProperties::CREATE_ONLY`](cdkrs_constructs::custom_resource::CustomResourceProperties::CREATE_ONLY));
/// `replacement_warning: "…"` says what a replacement destroys (see
/// [`CustomResourceProperties::REPLACEMENT_WARNING`](cdkrs_constructs::custom_resource::CustomResourceProperties::REPLACEMENT_WARNING)).
macro_rules! template_properties {
    ($props:ident, $resource_type:expr, $attr:ident) => {
        template_properties!($props, $resource_type, $attr, create_only: []);
    };
    ($props:ident, $resource_type:expr, $attr:ident, replacement_warning: $warning:expr $(,)?) => {
        template_properties!($props, $resource_type, $attr, create_only: [], replacement_warning: $warning);
    };
    ($props:ident, $resource_type:expr, $attr:ident, create_only: [$($pointer:expr),* $(,)?] $(,)?) => {
        impl ::cdkrs_constructs::custom_resource::CustomResourceProperties
            for $props<$crate::Template>
        {
            const RESOURCE_TYPE: &'static str = $resource_type;
            type Attribute = $attr;
            const CREATE_ONLY: &'static [&'static str] = &[$($pointer),*];
        }
    };
    (
        $props:ident, $resource_type:expr, $attr:ident,
        create_only: [$($pointer:expr),* $(,)?],
        replacement_warning: $warning:expr $(,)?
    ) => {
        impl ::cdkrs_constructs::custom_resource::CustomResourceProperties
            for $props<$crate::Template>
        {
            const RESOURCE_TYPE: &'static str = $resource_type;
            type Attribute = $attr;
            const CREATE_ONLY: &'static [&'static str] = &[$($pointer),*];
            const REPLACEMENT_WARNING: Option<&'static str> = Some($warning);
        }
    };
}

mod account;
mod cluster;
mod enums;
mod repr;
mod unity_catalog;
mod workspace_level;

pub use account::{
    Credentials, CredentialsAttr, CustomerManagedKey, CustomerManagedKeyAttr, LogDelivery,
    LogDeliveryAttr, Network, NetworkAttr, StorageConfiguration, StorageConfigurationAttr,
    Workspace, WorkspaceAssignment, WorkspaceAssignmentAttr, WorkspaceAttr,
    WORKSPACE_REPLACEMENT_WARNING,
};
pub use cluster::{
    Autoscale, AwsAttributes, Cluster, ClusterAttr, ClusterLogConf, InitScript,
    WorkspaceDestination,
};
pub use enums::{
    ApiEnum, Availability, ClusterPermissionLevel, DataSecurityMode, EbsVolumeType, KeyUseCase,
    LogType, OutputFormat, PricingTier, Privilege, S3EncryptionType, SecurableType,
    WorkspacePermission,
};
pub use repr::{Lenient, Repr, Runtime, Template};
pub use unity_catalog::{
    AccountGroup, AccountGroupAttr, Catalog, CatalogAttr, ExternalLocation, ExternalLocationAttr,
    Grants, GrantsAttr, MetastoreAssignment, MetastoreAssignmentAttr, SecurableGrant,
    StorageCredential, StorageCredentialAttr, CATALOG_REPLACEMENT_WARNING,
    UNITY_CATALOG_MASTER_ROLE_ARN,
};
pub use workspace_level::{
    Group, GroupAttr, InstanceProfile, InstanceProfileAttr, WorkspaceFile, WorkspaceFileAttr,
};

/// Databricks' AWS account (commercial partition): the principal of the cross-account role's
/// trust policy and the owner of the log-delivery role.
pub const DATABRICKS_AWS_ACCOUNT_ID: &str = "414351767826";

/// The principal the cross-account role trusts (with `sts:ExternalId` = the Databricks account id).
pub const DATABRICKS_CROSS_ACCOUNT_PRINCIPAL_ARN: &str = "arn:aws:iam::414351767826:root";

/// The Databricks role that writes billable-usage and audit logs; the log-delivery role trusts it.
pub const DATABRICKS_LOG_DELIVERY_ROLE_ARN: &str =
    "arn:aws:iam::414351767826:role/SaasUsageDeliveryRole-prod-IAMRole-3PLHICCRR1TK";

/// The provider function's environment variables: the stack sets them, the provider reads them.
pub mod env {
    /// The Databricks account id.
    pub const ACCOUNT_ID: &str = "DATABRICKS_ACCOUNT_ID";
    /// The Account API host (`https://accounts.cloud.databricks.com`).
    pub const ACCOUNTS_HOST: &str = "DATABRICKS_ACCOUNTS_HOST";
    /// The service principal's OAuth client id.
    pub const CLIENT_ID: &str = "DATABRICKS_CLIENT_ID";
    /// The Secrets Manager secret (ARN) holding the OAuth secret.
    pub const CLIENT_SECRET_ARN: &str = "DATABRICKS_CLIENT_SECRET_ARN";
    /// The SSM SecureString parameter (name) holding the OAuth secret.
    pub const CLIENT_SECRET_SSM_PARAMETER: &str = "DATABRICKS_CLIENT_SECRET_SSM_PARAMETER";
}

/// The `Custom::` type names of the Databricks resources, for the provider's dispatch.
pub mod resource_type {
    /// [`Credentials`](super::Credentials).
    pub const CREDENTIALS: &str = "Custom::DatabricksCredentials";
    /// [`StorageConfiguration`](super::StorageConfiguration).
    pub const STORAGE_CONFIGURATION: &str = "Custom::DatabricksStorageConfiguration";
    /// [`Network`](super::Network).
    pub const NETWORK: &str = "Custom::DatabricksNetwork";
    /// [`CustomerManagedKey`](super::CustomerManagedKey).
    pub const CUSTOMER_MANAGED_KEY: &str = "Custom::DatabricksCustomerManagedKey";
    /// [`Workspace`](super::Workspace).
    pub const WORKSPACE: &str = "Custom::DatabricksWorkspace";
    /// [`WorkspaceAssignment`](super::WorkspaceAssignment).
    pub const WORKSPACE_ASSIGNMENT: &str = "Custom::DatabricksWorkspaceAssignment";
    /// [`LogDelivery`](super::LogDelivery).
    pub const LOG_DELIVERY: &str = "Custom::DatabricksLogDelivery";
    /// [`InstanceProfile`](super::InstanceProfile).
    pub const INSTANCE_PROFILE: &str = "Custom::DatabricksInstanceProfile";
    /// [`Group`](super::Group).
    pub const GROUP: &str = "Custom::DatabricksGroup";
    /// [`WorkspaceFile`](super::WorkspaceFile).
    pub const WORKSPACE_FILE: &str = "Custom::DatabricksWorkspaceFile";
    /// [`Cluster`](super::Cluster).
    pub const CLUSTER: &str = "Custom::DatabricksCluster";
    /// [`MetastoreAssignment`](super::MetastoreAssignment).
    pub const METASTORE_ASSIGNMENT: &str = "Custom::DatabricksMetastoreAssignment";
    /// [`AccountGroup`](super::AccountGroup).
    pub const ACCOUNT_GROUP: &str = "Custom::DatabricksAccountGroup";
    /// [`StorageCredential`](super::StorageCredential).
    pub const STORAGE_CREDENTIAL: &str = "Custom::DatabricksStorageCredential";
    /// [`ExternalLocation`](super::ExternalLocation).
    pub const EXTERNAL_LOCATION: &str = "Custom::DatabricksExternalLocation";
    /// [`Catalog`](super::Catalog).
    pub const CATALOG: &str = "Custom::DatabricksCatalog";
    /// [`Grants`](super::Grants).
    pub const GRANTS: &str = "Custom::DatabricksGrants";

    /// Every Databricks custom resource type.
    pub const ALL: &[&str] = &[
        CREDENTIALS,
        STORAGE_CONFIGURATION,
        NETWORK,
        CUSTOMER_MANAGED_KEY,
        WORKSPACE,
        WORKSPACE_ASSIGNMENT,
        LOG_DELIVERY,
        INSTANCE_PROFILE,
        GROUP,
        WORKSPACE_FILE,
        CLUSTER,
        METASTORE_ASSIGNMENT,
        ACCOUNT_GROUP,
        STORAGE_CREDENTIAL,
        EXTERNAL_LOCATION,
        CATALOG,
        GRANTS,
    ];
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the tests of the property structs.

    use serde::Serialize;
    use serde_json::{Map, Value as Json};

    use cdkrs_constructs::custom_resource::{
        CustomResource, CustomResourceProperties, CustomResourceProps,
    };
    use cdkrs_constructs::function::{Function, FunctionCode, FunctionProps};
    use cdkrs_constructs::role::{service_trust, Role, RoleProps};
    use cdkrs_constructs::Stack;

    /// A stack holding a provider function.
    pub(crate) fn stack_with_provider() -> (Stack, Function) {
        let mut stack = Stack::new("t");
        let role = Role::new(
            &mut stack,
            "ProviderRole",
            service_trust("lambda.amazonaws.com"),
            RoleProps::default(),
        )
        .unwrap();
        let f = Function::new(
            &mut stack,
            "Provider",
            FunctionCode {
                s3_bucket: "b".into(),
                s3_key: "k.zip".into(),
            },
            &role,
            FunctionProps::default(),
        )
        .unwrap();
        (stack, f)
    }

    /// Adds `props` as custom resource `id` to `stack`, synthesizes, and returns the resource's
    /// `Type` and `Properties`.
    pub(crate) fn synth_custom<P: CustomResourceProperties>(
        mut stack: Stack,
        provider: &Function,
        id: &str,
        props: P,
    ) -> (String, Json) {
        CustomResource::new(
            &mut stack,
            id,
            provider,
            props,
            CustomResourceProps::default(),
        )
        .unwrap();
        let t = stack.synth().unwrap();
        let r = t.resource(id).unwrap();
        (
            r["Type"].as_str().unwrap().to_owned(),
            r["Properties"].clone(),
        )
    }

    /// Synthesizes `props` alone (beside a provider) and returns its `Properties`.
    pub(crate) fn properties_of<P: CustomResourceProperties>(props: P) -> (String, Json) {
        let (stack, f) = stack_with_provider();
        synth_custom(stack, &f, "Res", props)
    }

    /// The JSON `props` serializes to.
    pub(crate) fn json_of<T: Serialize>(props: &T) -> Json {
        serde_json::to_value(props).unwrap()
    }

    /// What CloudFormation delivers for `v`: every number and boolean turned into a string.
    pub(crate) fn as_delivered(v: &Json) -> Json {
        match v {
            Json::Number(n) => Json::String(n.to_string()),
            Json::Bool(b) => Json::String(b.to_string()),
            Json::Array(items) => Json::Array(items.iter().map(as_delivered).collect()),
            Json::Object(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), as_delivered(v)))
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }

    /// The sorted keys of a JSON object.
    pub(crate) fn keys(v: &Json) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdkrs_constructs::custom_resource::{CustomAttribute, CustomResourceProperties};
    use std::collections::BTreeSet;

    #[test]
    fn resource_types_are_distinct_custom_types() {
        let set: BTreeSet<&str> = resource_type::ALL.iter().copied().collect();
        assert_eq!(set.len(), resource_type::ALL.len());
        for t in resource_type::ALL {
            let name = t.strip_prefix("Custom::Databricks").unwrap();
            assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn every_struct_uses_its_resource_type() {
        assert_eq!(
            <Credentials<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::CREDENTIALS
        );
        assert_eq!(
            <StorageConfiguration<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::STORAGE_CONFIGURATION
        );
        assert_eq!(
            <Network<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::NETWORK
        );
        assert_eq!(
            <CustomerManagedKey<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::CUSTOMER_MANAGED_KEY
        );
        assert_eq!(
            <Workspace<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::WORKSPACE
        );
        assert_eq!(
            <WorkspaceAssignment<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::WORKSPACE_ASSIGNMENT
        );
        assert_eq!(
            <LogDelivery<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::LOG_DELIVERY
        );
        assert_eq!(
            <InstanceProfile<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::INSTANCE_PROFILE
        );
        assert_eq!(
            <Group<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::GROUP
        );
        assert_eq!(
            <WorkspaceFile<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::WORKSPACE_FILE
        );
        assert_eq!(
            <Cluster<Template> as CustomResourceProperties>::RESOURCE_TYPE,
            resource_type::CLUSTER
        );
    }

    #[test]
    fn attribute_lists_are_complete_and_named_after_their_variants() {
        assert_eq!(
            CredentialsAttr::ALL
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>(),
            ["CredentialsId"]
        );
        assert_eq!(
            WorkspaceAttr::ALL
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>(),
            ["WorkspaceId", "WorkspaceUrl", "DeploymentName"]
        );
        let singles: Vec<&str> = [
            StorageConfigurationAttr::ALL
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>(),
            NetworkAttr::ALL.iter().map(|a| a.name()).collect(),
            CustomerManagedKeyAttr::ALL
                .iter()
                .map(|a| a.name())
                .collect(),
            WorkspaceAssignmentAttr::ALL
                .iter()
                .map(|a| a.name())
                .collect(),
            LogDeliveryAttr::ALL.iter().map(|a| a.name()).collect(),
            InstanceProfileAttr::ALL.iter().map(|a| a.name()).collect(),
            GroupAttr::ALL.iter().map(|a| a.name()).collect(),
            WorkspaceFileAttr::ALL.iter().map(|a| a.name()).collect(),
            ClusterAttr::ALL.iter().map(|a| a.name()).collect(),
        ]
        .concat();
        assert_eq!(
            singles,
            [
                "StorageConfigurationId",
                "NetworkId",
                "CustomerManagedKeyId",
                "PrincipalId",
                "ConfigId",
                "InstanceProfileArn",
                "GroupId",
                "Path",
                "ClusterId"
            ]
        );
    }

    #[test]
    fn databricks_principals_are_in_its_aws_account() {
        assert_eq!(
            DATABRICKS_CROSS_ACCOUNT_PRINCIPAL_ARN,
            format!("arn:aws:iam::{DATABRICKS_AWS_ACCOUNT_ID}:root")
        );
        assert!(DATABRICKS_LOG_DELIVERY_ROLE_ARN
            .starts_with(&format!("arn:aws:iam::{DATABRICKS_AWS_ACCOUNT_ID}:role/")));
    }
}

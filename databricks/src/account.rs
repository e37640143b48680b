//! Account-level resources (`https://accounts.cloud.databricks.com/api/2.0/accounts/{AccountId}/…`).
//! Each carries the Databricks `AccountId`.

use super::repr::{Repr, Template};
use super::resource_type;

property_struct! {
    /// A credential configuration: the cross-account IAM role Databricks assumes.
    pub struct Credentials {
        /// The Databricks account id (a UUID).
        pub account_id: R::Str,
        /// `credentials_name`, unique in the account.
        pub credentials_name: R::Str,
        /// The ARN of the cross-account role.
        pub role_arn: R::Str,
    }
}

attributes! {
    /// The attributes of [`Credentials`].
    CredentialsAttr {
        /// `credentials_id` (a UUID).
        CredentialsId,
    }
}

// The Account API has no update for the configuration objects (reference §2.0): every
// property change makes a new object, so every property is create-only (`AccountId` too: an
// object cannot move to another account).
template_properties!(
    Credentials,
    resource_type::CREDENTIALS,
    CredentialsAttr,
    create_only: [
        "/properties/AccountId",
        "/properties/CredentialsName",
        "/properties/RoleArn",
    ]
);

property_struct! {
    /// A storage configuration: the workspace's root S3 bucket.
    pub struct StorageConfiguration {
        /// The Databricks account id (a UUID).
        pub account_id: R::Str,
        /// `storage_configuration_name`.
        pub storage_configuration_name: R::Str,
        /// The root bucket's name (`root_bucket_info.bucket_name`).
        pub bucket_name: R::Str,
    }
}

attributes! {
    /// The attributes of [`StorageConfiguration`].
    StorageConfigurationAttr {
        /// `storage_configuration_id` (a UUID).
        StorageConfigurationId,
    }
}

template_properties!(
    StorageConfiguration,
    resource_type::STORAGE_CONFIGURATION,
    StorageConfigurationAttr,
    create_only: [
        "/properties/AccountId",
        "/properties/StorageConfigurationName",
        "/properties/BucketName",
    ]
);

property_struct! {
    /// A network configuration: the customer-managed VPC a workspace runs in.
    pub struct Network {
        /// The Databricks account id (a UUID).
        pub account_id: R::Str,
        /// `network_name`.
        pub network_name: R::Str,
        /// The VPC id (`vpc-…`).
        pub vpc_id: R::Str,
        /// Subnet ids, at least two, each in a different availability zone.
        pub subnet_ids: R::StrList,
        /// Security group ids, one to five.
        pub security_group_ids: R::StrList,
    }
}

attributes! {
    /// The attributes of [`Network`].
    NetworkAttr {
        /// `network_id` (a UUID).
        NetworkId,
    }
}

template_properties!(
    Network,
    resource_type::NETWORK,
    NetworkAttr,
    create_only: [
        "/properties/AccountId",
        "/properties/NetworkName",
        "/properties/VpcId",
        "/properties/SubnetIds",
        "/properties/SecurityGroupIds",
    ]
);

property_struct! {
    /// A customer-managed key configuration: a KMS key for workspace storage and/or managed services.
    pub struct CustomerManagedKey {
        /// The Databricks account id (a UUID).
        pub account_id: R::Str,
        /// The KMS key ARN (same region as the workspace).
        pub key_arn: R::Str,
        /// The key's alias (`alias/…`). Absent: not sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub key_alias: Option<R::Str>,
        /// `use_cases`: [`KeyUseCase`](super::KeyUseCase) values (`STORAGE`, `MANAGED_SERVICES`).
        pub use_cases: R::StrList,
        /// Whether a `STORAGE` key also encrypts cluster EBS volumes. Absent: Databricks' default (true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reuse_key_for_cluster_volumes: Option<R::Bool>,
    }
}

attributes! {
    /// The attributes of [`CustomerManagedKey`].
    CustomerManagedKeyAttr {
        /// `customer_managed_key_id` (a UUID).
        CustomerManagedKeyId,
    }
}

template_properties!(
    CustomerManagedKey,
    resource_type::CUSTOMER_MANAGED_KEY,
    CustomerManagedKeyAttr,
    create_only: [
        "/properties/AccountId",
        "/properties/KeyArn",
        "/properties/KeyAlias",
        "/properties/UseCases",
        "/properties/ReuseKeyForClusterVolumes",
    ]
);

property_struct! {
    /// A workspace on a customer-managed VPC.
    pub struct Workspace {
        /// The Databricks account id (a UUID).
        pub account_id: R::Str,
        /// `workspace_name` (the display name).
        pub workspace_name: R::Str,
        /// The AWS region (`eu-west-1`).
        pub aws_region: R::Str,
        /// The [`Credentials`] id.
        pub credentials_id: R::Str,
        /// The [`StorageConfiguration`] id.
        pub storage_configuration_id: R::Str,
        /// The [`Network`] id.
        pub network_id: R::Str,
        /// A [`CustomerManagedKey`] id with the `STORAGE` use case. Absent: Databricks-managed key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub storage_customer_managed_key_id: Option<R::Str>,
        /// A [`CustomerManagedKey`] id with the `MANAGED_SERVICES` use case. Absent: Databricks-managed key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub managed_services_customer_managed_key_id: Option<R::Str>,
        /// A [`PricingTier`](super::PricingTier) value. Absent: the account's default tier.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pricing_tier: Option<R::Str>,
        /// The subdomain (needs a deployment-name prefix on the account). Absent: `dbc-…` generated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub deployment_name: Option<R::Str>,
        /// Tags propagated to cluster resources. Absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub custom_tags: Option<R::StrMap>,
    }
}

attributes! {
    /// The attributes of [`Workspace`].
    WorkspaceAttr {
        /// `workspace_id` (a 16-digit number, as a string).
        WorkspaceId,
        /// `https://<deployment_name>.cloud.databricks.com`.
        WorkspaceUrl,
        /// `deployment_name`, as Databricks stored it.
        DeploymentName,
    }
}

// The account API changes only credentials, network, both key ids (the storage key only when
// none is set yet), private access settings, custom tags and the network connectivity config
// in place (update-workspace documentation,
// https://docs.databricks.com/api/workspaces/v1/update-workspace-public.md; Terraform's
// `workspaceRunningUpdatesAllowed` in mws/resource_mws_workspaces.go). Everything below needs
// a new workspace; the provider still PATCHes AwsRegion and StorageConfigurationId of a
// FAILED workspace, which the API allows.
template_properties!(
    Workspace,
    resource_type::WORKSPACE,
    WorkspaceAttr,
    create_only: [
        "/properties/WorkspaceName",
        "/properties/AwsRegion",
        "/properties/StorageConfigurationId",
        "/properties/PricingTier",
        "/properties/DeploymentName",
    ],
    replacement_warning: WORKSPACE_REPLACEMENT_WARNING
);

/// What replacing or removing a workspace destroys. Deleting a workspace deletes what lives in
/// it and cannot be undone; Databricks does not clean up the cloud resources attached to it
/// (<https://docs.databricks.com/administration-guide/workspace/delete-workspace.html>), so the
/// root bucket keeps its files, but a new workspace does not see them.
pub const WORKSPACE_REPLACEMENT_WARNING: &str = "the workspace and everything in it (clusters, \
     notebooks, jobs, workspace files) are deleted for good; the files of its DBFS root stay in \
     the root bucket but the new workspace does not see them";

property_struct! {
    /// A workspace permission assignment for an account principal (the provider's service principal).
    pub struct WorkspaceAssignment {
        /// The Databricks account id (a UUID).
        pub account_id: R::Str,
        /// The [`Workspace`] id.
        pub workspace_id: R::Str,
        /// The principal's numeric account-SCIM id, as a string (not its application id).
        pub principal_id: R::Str,
        /// [`WorkspacePermission`](super::WorkspacePermission) values (`ADMIN`, `USER`).
        pub permissions: R::StrList,
    }
}

attributes! {
    /// The attributes of [`WorkspaceAssignment`].
    WorkspaceAssignmentAttr {
        /// The assigned principal's id.
        PrincipalId,
    }
}

template_properties!(
    WorkspaceAssignment,
    resource_type::WORKSPACE_ASSIGNMENT,
    WorkspaceAssignmentAttr
);

property_struct! {
    /// A log-delivery configuration (billable usage or audit logs to S3).
    pub struct LogDelivery {
        /// The Databricks account id (a UUID).
        pub account_id: R::Str,
        /// `config_name`.
        pub config_name: R::Str,
        /// A [`LogType`](super::LogType) value (`BILLABLE_USAGE`, `AUDIT_LOGS`).
        pub log_type: R::Str,
        /// An [`OutputFormat`](super::OutputFormat) value (`CSV` for billable usage, `JSON` for audit logs).
        pub output_format: R::Str,
        /// The [`Credentials`] id of the log-delivery role.
        pub credentials_id: R::Str,
        /// The [`StorageConfiguration`] id of the log bucket.
        pub storage_configuration_id: R::Str,
        /// The key prefix in the bucket (no leading or trailing `/`). Absent: the bucket root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub delivery_path_prefix: Option<R::Str>,
        /// Workspace ids (as strings) to deliver for. Absent: the whole account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub workspace_ids_filter: Option<R::StrList>,
    }
}

attributes! {
    /// The attributes of [`LogDelivery`].
    LogDeliveryAttr {
        /// `config_id` (a UUID).
        ConfigId,
    }
}

// A log-delivery configuration can only be enabled or disabled (reference §2.8): every
// property is create-only.
template_properties!(
    LogDelivery,
    resource_type::LOG_DELIVERY,
    LogDeliveryAttr,
    create_only: [
        "/properties/AccountId",
        "/properties/ConfigName",
        "/properties/LogType",
        "/properties/OutputFormat",
        "/properties/CredentialsId",
        "/properties/StorageConfigurationId",
        "/properties/DeliveryPathPrefix",
        "/properties/WorkspaceIdsFilter",
    ]
);

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::test_support::{
        as_delivered, json_of, keys, properties_of, stack_with_provider, synth_custom,
    };
    use crate::{
        KeyUseCase, Lenient, LogType, OutputFormat, PricingTier, Runtime, WorkspacePermission,
    };
    use cdkrs_constructs::custom_resource::{
        CustomResource, CustomResourceProperties, CustomResourceProps,
    };
    use cdkrs_constructs::{Parameter, Value};

    const ACCOUNT: &str = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";

    /// The event's properties: the template's, delivered, with the provider's token and timeout.
    fn delivered(props: &serde_json::Value) -> serde_json::Value {
        let d = as_delivered(props);
        assert_eq!(d["ServiceTimeout"], "3600");
        d
    }

    /// The top-level property names of a template struct, as create-only pointers.
    fn every_property<P: CustomResourceProperties>(props: P) -> Vec<String> {
        let mut all: Vec<String> = json_of(&props)
            .as_object()
            .unwrap()
            .keys()
            .map(|k| format!("/properties/{k}"))
            .collect();
        all.sort();
        all
    }

    fn sorted(list: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn every_property_of_an_account_configuration_is_create_only() {
        let creds = Credentials::<Template> {
            account_id: ACCOUNT.into(),
            credentials_name: "c".into(),
            role_arn: "r".into(),
        };
        assert_eq!(
            sorted(Credentials::<Template>::CREATE_ONLY),
            every_property(creds)
        );
        let storage = StorageConfiguration::<Template> {
            account_id: ACCOUNT.into(),
            storage_configuration_name: "s".into(),
            bucket_name: "b".into(),
        };
        assert_eq!(
            sorted(StorageConfiguration::<Template>::CREATE_ONLY),
            every_property(storage)
        );
        let network = Network::<Template> {
            account_id: ACCOUNT.into(),
            network_name: "n".into(),
            vpc_id: "v".into(),
            subnet_ids: Value::from(vec!["a".to_owned()]),
            security_group_ids: Value::from(vec!["g".to_owned()]),
        };
        assert_eq!(
            sorted(Network::<Template>::CREATE_ONLY),
            every_property(network)
        );
        let key = CustomerManagedKey::<Template> {
            account_id: ACCOUNT.into(),
            key_arn: "k".into(),
            key_alias: Some("alias/k".into()),
            use_cases: KeyUseCase::list([KeyUseCase::Storage]),
            reuse_key_for_cluster_volumes: Some(true.into()),
        };
        assert_eq!(
            sorted(CustomerManagedKey::<Template>::CREATE_ONLY),
            every_property(key)
        );
        let logs = LogDelivery::<Template> {
            account_id: ACCOUNT.into(),
            config_name: "l".into(),
            log_type: LogType::AuditLogs.into(),
            output_format: LogType::AuditLogs.output_format().into(),
            credentials_id: "c".into(),
            storage_configuration_id: "s".into(),
            delivery_path_prefix: Some("p".into()),
            workspace_ids_filter: Some(Value::from(vec!["1".to_owned()])),
        };
        assert_eq!(
            sorted(LogDelivery::<Template>::CREATE_ONLY),
            every_property(logs)
        );
    }

    #[test]
    fn credentials_round_trip() {
        let (ty, props) = properties_of(Credentials::<Template> {
            account_id: ACCOUNT.into(),
            credentials_name: "acme-xacct".into(),
            role_arn: "arn:aws:iam::123456789012:role/acme-xacct".into(),
        });
        assert_eq!(ty, "Custom::DatabricksCredentials");
        assert_eq!(
            props,
            json!({
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": 3600,
                "AccountId": ACCOUNT,
                "CredentialsName": "acme-xacct",
                "RoleArn": "arn:aws:iam::123456789012:role/acme-xacct"
            })
        );
        let mut event = delivered(&props);
        event["ServiceToken"] = json!("arn:aws:lambda:eu-west-1:123456789012:function:p");
        let rt: Credentials<Runtime> = serde_json::from_value(event).unwrap();
        assert_eq!(
            rt,
            Credentials {
                account_id: ACCOUNT.into(),
                credentials_name: "acme-xacct".into(),
                role_arn: "arn:aws:iam::123456789012:role/acme-xacct".into(),
            }
        );
    }

    #[test]
    fn storage_configuration_takes_a_ref_from_the_stack() {
        let (mut stack, f) = stack_with_provider();
        let bucket = stack.add_parameter("RootBucketName", Parameter::string());
        let (ty, props) = synth_custom(
            stack,
            &f,
            "Storage",
            StorageConfiguration::<Template> {
                account_id: ACCOUNT.into(),
                storage_configuration_name: "acme-root".into(),
                bucket_name: bucket.value(),
            },
        );
        assert_eq!(ty, "Custom::DatabricksStorageConfiguration");
        assert_eq!(props["BucketName"], json!({"Ref": "RootBucketName"}));
        assert_eq!(
            keys(&props),
            [
                "AccountId",
                "BucketName",
                "ServiceTimeout",
                "ServiceToken",
                "StorageConfigurationName"
            ]
        );
        // CloudFormation resolves the Ref before the provider sees it.
        let mut event = delivered(&props);
        event["BucketName"] = json!("acme-root-bucket");
        let rt: StorageConfiguration<Runtime> = serde_json::from_value(event).unwrap();
        assert_eq!(rt.account_id, ACCOUNT);
        assert_eq!(rt.storage_configuration_name, "acme-root");
        assert_eq!(rt.bucket_name, "acme-root-bucket");
    }

    #[test]
    fn network_lists_serialize_as_lists_and_refs() {
        let (mut stack, f) = stack_with_provider();
        let subnets = stack.add_parameter(
            "Subnets",
            Parameter::<Vec<String>>::aws_list_type("List<AWS::EC2::Subnet::Id>"),
        );
        let (ty, props) = synth_custom(
            stack,
            &f,
            "Net",
            Network::<Template> {
                account_id: ACCOUNT.into(),
                network_name: "acme-net".into(),
                vpc_id: "vpc-0a1b2c3d4e5f60718".into(),
                subnet_ids: subnets.value(),
                security_group_ids: Value::from(vec!["sg-0123456789abcdef0".to_owned()]),
            },
        );
        assert_eq!(ty, "Custom::DatabricksNetwork");
        assert_eq!(props["SubnetIds"], json!({"Ref": "Subnets"}));
        assert_eq!(props["SecurityGroupIds"], json!(["sg-0123456789abcdef0"]));
        assert_eq!(props["VpcId"], "vpc-0a1b2c3d4e5f60718");
        assert_eq!(props["NetworkName"], "acme-net");
        let mut event = delivered(&props);
        event["SubnetIds"] = json!(["subnet-a", "subnet-b"]);
        let rt: Network<Runtime> = serde_json::from_value(event).unwrap();
        assert_eq!(rt.subnet_ids, ["subnet-a", "subnet-b"]);
        assert_eq!(rt.security_group_ids, ["sg-0123456789abcdef0"]);
        assert_eq!(rt.vpc_id, "vpc-0a1b2c3d4e5f60718");
    }

    #[test]
    fn customer_managed_key_round_trip_with_and_without_options() {
        let full = CustomerManagedKey::<Template> {
            account_id: ACCOUNT.into(),
            key_arn: "arn:aws:kms:eu-west-1:123456789012:key/k".into(),
            key_alias: Some("alias/acme".into()),
            use_cases: KeyUseCase::list([KeyUseCase::Storage, KeyUseCase::ManagedServices]),
            reuse_key_for_cluster_volumes: Some(true.into()),
        };
        let (ty, props) = properties_of(full.clone());
        assert_eq!(ty, "Custom::DatabricksCustomerManagedKey");
        assert_eq!(props["UseCases"], json!(["STORAGE", "MANAGED_SERVICES"]));
        assert_eq!(props["ReuseKeyForClusterVolumes"], json!(true));
        assert_eq!(props["KeyAlias"], "alias/acme");
        let event = delivered(&props);
        assert_eq!(event["ReuseKeyForClusterVolumes"], "true");
        let rt: CustomerManagedKey<Runtime> = serde_json::from_value(event).unwrap();
        assert_eq!(rt.key_arn, "arn:aws:kms:eu-west-1:123456789012:key/k");
        assert_eq!(rt.key_alias.as_deref(), Some("alias/acme"));
        assert_eq!(rt.use_cases, ["STORAGE", "MANAGED_SERVICES"]);
        assert_eq!(rt.reuse_key_for_cluster_volumes, Some(Lenient(true)));

        let bare = CustomerManagedKey::<Template> {
            key_alias: None,
            reuse_key_for_cluster_volumes: None,
            ..full
        };
        let j = json_of(&bare);
        assert_eq!(keys(&j), ["AccountId", "KeyArn", "UseCases"]);
        let rt: CustomerManagedKey<Runtime> = serde_json::from_value(as_delivered(&j)).unwrap();
        assert_eq!(rt.key_alias, None);
        assert_eq!(rt.reuse_key_for_cluster_volumes, None);
    }

    #[test]
    fn workspace_takes_ids_from_other_custom_resources() {
        let (mut stack, f) = stack_with_provider();
        let creds = CustomResource::new(
            &mut stack,
            "Credentials",
            &f,
            Credentials::<Template> {
                account_id: ACCOUNT.into(),
                credentials_name: "c".into(),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
            },
            CustomResourceProps::default(),
        )
        .unwrap();
        let (ty, props) = synth_custom(
            stack,
            &f,
            "Workspace",
            Workspace::<Template> {
                account_id: ACCOUNT.into(),
                workspace_name: "acme-prod".into(),
                aws_region: cdkrs_constructs::Pseudo::Region.value(),
                credentials_id: creds.attr(CredentialsAttr::CredentialsId),
                storage_configuration_id: "2c3d".into(),
                network_id: "9e8d".into(),
                storage_customer_managed_key_id: Some("4f5e".into()),
                managed_services_customer_managed_key_id: Some("4f5f".into()),
                pricing_tier: Some(PricingTier::Enterprise.into()),
                deployment_name: Some("prod".into()),
                custom_tags: Some(BTreeMap::from([("CostCenter".to_owned(), "42".into())])),
            },
        );
        assert_eq!(ty, "Custom::DatabricksWorkspace");
        assert_eq!(
            props,
            json!({
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": 3600,
                "AccountId": ACCOUNT,
                "WorkspaceName": "acme-prod",
                "AwsRegion": {"Ref": "AWS::Region"},
                "CredentialsId": {"Fn::GetAtt": ["Credentials", "CredentialsId"]},
                "StorageConfigurationId": "2c3d",
                "NetworkId": "9e8d",
                "StorageCustomerManagedKeyId": "4f5e",
                "ManagedServicesCustomerManagedKeyId": "4f5f",
                "PricingTier": "ENTERPRISE",
                "DeploymentName": "prod",
                "CustomTags": {"CostCenter": "42"}
            })
        );
        let mut event = delivered(&props);
        event["AwsRegion"] = json!("eu-west-1");
        event["CredentialsId"] = json!("7b0d");
        let rt: Workspace<Runtime> = serde_json::from_value(event).unwrap();
        assert_eq!(rt.aws_region, "eu-west-1");
        assert_eq!(rt.credentials_id, "7b0d");
        assert_eq!(rt.storage_configuration_id, "2c3d");
        assert_eq!(rt.network_id, "9e8d");
        assert_eq!(rt.storage_customer_managed_key_id.as_deref(), Some("4f5e"));
        assert_eq!(
            rt.managed_services_customer_managed_key_id.as_deref(),
            Some("4f5f")
        );
        assert_eq!(rt.pricing_tier.as_deref(), Some("ENTERPRISE"));
        assert_eq!(rt.deployment_name.as_deref(), Some("prod"));
        assert_eq!(
            rt.custom_tags,
            Some(BTreeMap::from([("CostCenter".into(), "42".into())]))
        );
    }

    #[test]
    fn workspace_optional_fields_absent_are_none() {
        let event = json!({
            "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:p",
            "ServiceTimeout": "3600",
            "AccountId": ACCOUNT,
            "WorkspaceName": "w",
            "AwsRegion": "eu-west-1",
            "CredentialsId": "c",
            "StorageConfigurationId": "s",
            "NetworkId": "n"
        });
        let rt: Workspace<Runtime> = serde_json::from_value(event).unwrap();
        assert_eq!(rt.workspace_name, "w");
        assert_eq!(rt.storage_customer_managed_key_id, None);
        assert_eq!(rt.managed_services_customer_managed_key_id, None);
        assert_eq!(rt.pricing_tier, None);
        assert_eq!(rt.deployment_name, None);
        assert_eq!(rt.custom_tags, None);
    }

    #[test]
    fn workspace_missing_required_field_names_it() {
        let e = serde_json::from_value::<Workspace<Runtime>>(json!({
            "AccountId": ACCOUNT, "WorkspaceName": "w", "AwsRegion": "eu-west-1",
            "CredentialsId": "c", "StorageConfigurationId": "s"
        }))
        .unwrap_err();
        assert_eq!(e.to_string(), "missing field `NetworkId`");
    }

    #[test]
    fn workspace_assignment_round_trip() {
        let (ty, props) = properties_of(WorkspaceAssignment::<Template> {
            account_id: ACCOUNT.into(),
            workspace_id: "1234567890123456".into(),
            principal_id: "7654321".into(),
            permissions: WorkspacePermission::list([WorkspacePermission::Admin]),
        });
        assert_eq!(ty, "Custom::DatabricksWorkspaceAssignment");
        assert_eq!(
            keys(&props),
            [
                "AccountId",
                "Permissions",
                "PrincipalId",
                "ServiceTimeout",
                "ServiceToken",
                "WorkspaceId"
            ]
        );
        assert_eq!(props["Permissions"], json!(["ADMIN"]));
        let rt: WorkspaceAssignment<Runtime> = serde_json::from_value(delivered(&props)).unwrap();
        assert_eq!(rt.workspace_id, "1234567890123456");
        assert_eq!(rt.principal_id, "7654321");
        assert_eq!(rt.permissions, ["ADMIN"]);
    }

    #[test]
    fn log_delivery_round_trip() {
        let (ty, props) = properties_of(LogDelivery::<Template> {
            account_id: ACCOUNT.into(),
            config_name: "acme-audit".into(),
            log_type: LogType::AuditLogs.into(),
            output_format: LogType::AuditLogs.output_format().into(),
            credentials_id: "c".into(),
            storage_configuration_id: "s".into(),
            delivery_path_prefix: Some("audit-logs".into()),
            workspace_ids_filter: Some(Value::from(vec!["1234567890123456".to_owned()])),
        });
        assert_eq!(ty, "Custom::DatabricksLogDelivery");
        assert_eq!(
            props,
            json!({
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": 3600,
                "AccountId": ACCOUNT,
                "ConfigName": "acme-audit",
                "LogType": "AUDIT_LOGS",
                "OutputFormat": "JSON",
                "CredentialsId": "c",
                "StorageConfigurationId": "s",
                "DeliveryPathPrefix": "audit-logs",
                "WorkspaceIdsFilter": ["1234567890123456"]
            })
        );
        let rt: LogDelivery<Runtime> = serde_json::from_value(delivered(&props)).unwrap();
        assert_eq!(LogType::parse(&rt.log_type), Some(LogType::AuditLogs));
        assert_eq!(
            OutputFormat::parse(&rt.output_format),
            Some(OutputFormat::Json)
        );
        assert_eq!(rt.delivery_path_prefix.as_deref(), Some("audit-logs"));
        assert_eq!(
            rt.workspace_ids_filter,
            Some(vec!["1234567890123456".to_owned()])
        );

        let rt: LogDelivery<Runtime> = serde_json::from_value(json!({
            "AccountId": ACCOUNT, "ConfigName": "u", "LogType": "BILLABLE_USAGE",
            "OutputFormat": "CSV", "CredentialsId": "c", "StorageConfigurationId": "s"
        }))
        .unwrap();
        assert_eq!(rt.delivery_path_prefix, None);
        assert_eq!(rt.workspace_ids_filter, None);
    }
}

//! IAM: the cross-account role, the log-delivery role, the meta role and its instance profile,
//! the data roles, and the storage key's Databricks statements.

use cdkrs_constructs::policy::{Condition, PolicyDocument, Principal, Statement};
use cdkrs_constructs::role::{
    service_trust, InstanceProfile, InstanceProfileProps, Role, RoleProps,
};
use cdkrs_constructs::{sub, ConstructError, Stack, Tag, Value};

use crate::environment::network::Network;
use crate::environment::storage::Storage;
use crate::environment::DATABRICKS_ACCOUNT;
use crate::model::{Environment, RoleName};

/// Databricks' role that delivers billable usage and audit logs.
pub const DATABRICKS_LOG_DELIVERY_ROLE: &str =
    "arn:aws:iam::414351767826:role/SaasUsageDeliveryRole-prod-IAMRole-3PLHICCRR1TK";

/// Glue Data Catalog actions that only read.
pub const GLUE_READ_ACTIONS: &[&str] = &[
    "glue:BatchGetPartition",
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetUserDefinedFunction",
    "glue:GetUserDefinedFunctions",
];

/// Every Glue Data Catalog action Databricks documents for a Glue metastore (22).
pub const GLUE_FULL_ACTIONS: &[&str] = &[
    "glue:BatchCreatePartition",
    "glue:BatchDeletePartition",
    "glue:BatchGetPartition",
    "glue:CreateDatabase",
    "glue:CreateTable",
    "glue:CreateUserDefinedFunction",
    "glue:DeleteDatabase",
    "glue:DeletePartition",
    "glue:DeleteTable",
    "glue:DeleteUserDefinedFunction",
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetUserDefinedFunction",
    "glue:GetUserDefinedFunctions",
    "glue:UpdateDatabase",
    "glue:UpdatePartition",
    "glue:UpdateTable",
    "glue:UpdateUserDefinedFunction",
];

/// Read-only EC2 and spot actions the cross-account role needs on any resource.
const CROSS_ACCOUNT_DESCRIBE_ACTIONS: &[&str] = &[
    "ec2:CancelSpotInstanceRequests",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeFleetHistory",
    "ec2:DescribeFleetInstances",
    "ec2:DescribeFleets",
    "ec2:DescribeIamInstanceProfileAssociations",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribePrefixLists",
    "ec2:DescribeReservedInstancesOfferings",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotInstanceRequests",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
    "ec2:DescribeVolumes",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcs",
    "ec2:GetSpotPlacementScores",
];

/// The roles.
pub struct Iam {
    /// Assumed by the Databricks control plane to run clusters in the VPC.
    pub cross_account: Role,
    /// Assumed by Databricks' log delivery to write usage and audit logs.
    pub log_delivery: Role,
    /// The cluster nodes' role; may assume the data roles (credential passthrough).
    pub meta: Role,
    /// The meta role's instance profile.
    pub meta_profile: InstanceProfile,
    /// Reads the three datalake buckets and the Glue catalog.
    pub data_read: Role,
    /// Reads and writes the three datalake buckets and the Glue catalog.
    pub data_write: Role,
}

fn arn(resource: &str) -> Value<String> {
    sub(format!(
        "arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"
    ))
    .build()
}

fn glue_resources() -> Vec<Value<String>> {
    [
        "catalog",
        "database/*",
        "table/*/*",
        "userDefinedFunction/*/*",
    ]
    .iter()
    .map(|r| {
        sub(format!(
            "arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:{r}"
        ))
        .build()
    })
    .collect()
}

fn role_name(config: &Environment, role: RoleName) -> Option<Value<String>> {
    Some(config.names().role(role).into())
}

/// Adds the roles and their permissions, and the storage key's Databricks statements.
pub fn add(
    stack: &mut Stack,
    config: &Environment,
    tags: &[Tag],
    network: &Network,
    storage: &Storage,
) -> Result<Iam, ConstructError> {
    let account_id = config.databricks().account_id.as_str();
    let props = |role: RoleName, description: &str| RoleProps {
        role_name: role_name(config, role),
        description: Some(description.to_owned()),
        tags: tags.to_vec(),
        ..Default::default()
    };

    // Meta role first: the cross-account role passes it, the data roles trust it.
    let meta = Role::new(
        stack,
        "MetaRole",
        service_trust("ec2.amazonaws.com"),
        props(
            RoleName::Meta,
            "Databricks cluster nodes: assumes the data roles, writes cluster logs",
        ),
    )?;
    let meta_profile = InstanceProfile::new(
        stack,
        "MetaInstanceProfile",
        &meta,
        InstanceProfileProps {
            instance_profile_name: role_name(config, RoleName::Meta),
            ..Default::default()
        },
    );

    let cross_account = Role::new(
        stack,
        "CrossAccountRole",
        PolicyDocument::of([Statement::allow()
            .principal(Principal::account(DATABRICKS_ACCOUNT))
            .actions(["sts:AssumeRole"])
            .condition(Condition::external_id(account_id))]),
        props(
            RoleName::CrossAccount,
            "Databricks control plane: runs clusters in the customer-managed VPC",
        ),
    )?;
    // Databricks validates these permissions when the credentials are registered, so they are
    // inline: they exist as soon as the role does.
    let vpc_arn = sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${Vpc}")
        .var("Vpc", network.vpc.id())
        .build();
    cross_account.add_inline_policy(
        stack,
        "databricks-customer-managed-vpc",
        PolicyDocument::of([
            Statement::allow()
                .sid("NonResourceBasedPermissions")
                .actions(CROSS_ACCOUNT_DESCRIBE_ACTIONS.iter().copied())
                .actions([
                    "ec2:CreateTags",
                    "ec2:DeleteTags",
                    "ec2:RequestSpotInstances",
                    "ec2:CreateFleet",
                    "ec2:CreateLaunchTemplate",
                    "ec2:CreateLaunchTemplateVersion",
                    "ec2:DeleteFleets",
                    "ec2:DeleteLaunchTemplate",
                    "ec2:DeleteLaunchTemplateVersions",
                    "ec2:GetLaunchTemplateData",
                    "ec2:ModifyFleet",
                    "ec2:ModifyLaunchTemplate",
                ])
                .any_resource(),
            Statement::allow()
                .sid("InstancePoolsSupport")
                .actions([
                    "ec2:AssociateIamInstanceProfile",
                    "ec2:DisassociateIamInstanceProfile",
                    "ec2:ReplaceIamInstanceProfileAssociation",
                ])
                .resource(arn("instance/*")),
            Statement::allow()
                .sid("AllowEc2RunInstancePerTag")
                .actions(["ec2:RunInstances"])
                .resources([arn("volume/*"), arn("instance/*")]),
            Statement::allow()
                .sid("AllowEc2RunInstanceImagePerTag")
                .actions(["ec2:RunInstances"])
                .resource(arn("image/*")),
            Statement::allow()
                .sid("AllowEc2RunInstancePerVPC")
                .actions(["ec2:RunInstances"])
                .resources([
                    arn("network-interface/*"),
                    arn("subnet/*"),
                    arn("security-group/*"),
                ])
                .condition(Condition::new("StringEquals", "ec2:vpc", [vpc_arn])),
            Statement::allow()
                .sid("AllowEc2RunInstanceLaunchTemplates")
                .actions(["ec2:RunInstances"])
                .resources([arn("launch-template/*"), arn("spot-instances-request/*")]),
            Statement::allow()
                .sid("EC2TerminateAndVolumes")
                .actions([
                    "ec2:AttachVolume",
                    "ec2:CreateVolume",
                    "ec2:DeleteVolume",
                    "ec2:DetachVolume",
                    "ec2:TerminateInstances",
                ])
                .resources([arn("instance/*"), arn("volume/*")]),
            Statement::allow()
                .sid("SecurityGroupRulesOfTheWorkspaceGroup")
                .actions([
                    "ec2:AuthorizeSecurityGroupEgress",
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupEgress",
                    "ec2:RevokeSecurityGroupIngress",
                ])
                .resource(
                    sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/${Sg}")
                        .var("Sg", network.security_group.group_id())
                        .build(),
                ),
            Statement::allow()
                .sid("SpotServiceLinkedRole")
                .actions(["iam:CreateServiceLinkedRole", "iam:PutRolePolicy"])
                .resource(
                    sub("arn:${AWS::Partition}:iam::*:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot")
                        .build(),
                )
                .condition(Condition::new(
                    "StringLike",
                    "iam:AWSServiceName",
                    ["spot.amazonaws.com".into()],
                )),
            Statement::allow()
                .sid("PassMetaRole")
                .actions(["iam:PassRole"])
                .resource(meta.arn()),
        ]),
    );

    crate::environment::suppress(
        stack,
        cross_account.handle(),
        &[(
            "CKV_AWS_111",
            "Databricks' documented customer-managed-VPC policy: its describe, tag, spot and fleet actions take no resource constraint; RunInstances on network interfaces, subnets and security groups is pinned to this VPC",
        )],
    );

    let log_delivery = Role::new(
        stack,
        "LogDeliveryRole",
        PolicyDocument::of([Statement::allow()
            .principal(Principal::Aws(DATABRICKS_LOG_DELIVERY_ROLE.into()))
            .actions(["sts:AssumeRole"])
            .condition(Condition::external_id(account_id))]),
        props(
            RoleName::LogDelivery,
            "Databricks billable-usage and audit-log delivery",
        ),
    )?;
    let _ = storage.databricks_logs.grant_read(stack, &log_delivery)?;
    let _ = storage.databricks_logs.grant_put(stack, &log_delivery)?;

    // The data roles trust only the meta role: users reach them through credential passthrough.
    let data_trust = || {
        PolicyDocument::of([Statement::allow()
            .sid("MetaRoleAssumes")
            .principal(Principal::Aws(meta.arn()))
            .actions(["sts:AssumeRole"])])
    };
    let data_read = Role::new(
        stack,
        "DataReadRole",
        data_trust(),
        props(
            RoleName::DataRead,
            "Reads the raw, prepared and trusted buckets and the Glue catalog",
        ),
    )?;
    let data_write = Role::new(
        stack,
        "DataWriteRole",
        data_trust(),
        props(
            RoleName::DataWrite,
            "Reads and writes the raw, prepared and trusted buckets and the Glue catalog",
        ),
    )?;
    for bucket in &storage.datalake {
        let _ = bucket.grant_read(stack, &data_read)?;
        let _ = bucket.grant_read_write(stack, &data_write)?;
    }
    data_read.add_to_policy(
        stack,
        Statement::allow()
            .sid("GlueCatalogRead")
            .actions(GLUE_READ_ACTIONS.iter().copied())
            .resources(glue_resources()),
    )?;
    data_write.add_to_policy(
        stack,
        Statement::allow()
            .sid("GlueCatalogFull")
            .actions(GLUE_FULL_ACTIONS.iter().copied())
            .resources(glue_resources()),
    )?;

    meta.add_to_policy(
        stack,
        Statement::allow()
            .sid("AssumeDataRoles")
            .actions(["sts:AssumeRole"])
            .resources([data_read.arn(), data_write.arn()]),
    )?;
    // Cluster logs, encrypted with the logging key.
    let _ = storage.databricks_logs.grant_put(stack, &meta)?;

    // The storage key serves the root bucket (the control plane writes DBFS), the workspace
    // storage CMK and cluster EBS volumes (through the cross-account role, via EC2 only).
    let databricks = || Principal::account(DATABRICKS_ACCOUNT);
    let key = &storage.storage_key;
    key.add_to_policy(
        stack,
        Statement::allow()
            .sid("DatabricksUsesKeyForStorage")
            .principal(databricks())
            .actions([
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
            ])
            .any_resource()
            .condition(Condition::principal_tag("DatabricksAccountId", account_id)),
    )?;
    key.add_to_policy(
        stack,
        Statement::allow()
            .sid("DatabricksGrantsForAwsResources")
            .principal(databricks())
            .actions(["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"])
            .any_resource()
            .condition(Condition::grant_is_for_aws_resource()),
    )?;
    key.add_to_policy(
        stack,
        Statement::allow()
            .sid("CrossAccountRoleEncryptsEbsViaEc2")
            .principal(Principal::Aws(cross_account.arn()))
            .actions([
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:GenerateDataKey*",
            ])
            .any_resource()
            .condition(Condition::kms_via_service(["ec2"])),
    )?;

    Ok(Iam {
        cross_account,
        log_delivery,
        meta,
        meta_profile,
        data_read,
        data_write,
    })
}

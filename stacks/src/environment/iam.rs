//! IAM: the cross-account role, the log-delivery role, the storage key's Databricks statements,
//! and per governance the roles through which the groups reach the datalake: with Unity
//! Catalog the storage credential's role; with credential passthrough the meta role, its
//! instance profile and the data roles.

use cdkrs_constructs::policy::{Condition, PolicyDocument, Principal, Statement};
use cdkrs_constructs::role::{
    service_trust, InstanceProfile, InstanceProfileProps, Role, RoleProps,
};
use cdkrs_constructs::{sub, ConstructError, Stack, Tag, Value};

use crate::config::Governance;
use crate::environment::databricks;
use crate::environment::network::Network;
use crate::environment::storage::Storage;
use crate::model::{Environment, RoleName};
use crate::regions::DATABRICKS_AWS_ACCOUNT;

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

// The cross-account role's permissions are Databricks' restricted customer-managed-VPC policy:
// the `databricks_aws_crossaccount_policy` data source of databricks/terraform-provider-databricks
// with `policy_type = "restricted"` (`aws/data_aws_crossaccount_policy.go` at commit
// 684f4424982431d3433e5c23353c6b208b263e75), filled with this stack's partition, region, account,
// VPC and workspace security group. The lists below are that file's, in its order;
// `stacks/tests/environment.rs` compares the synthesized policy with the JSON the data source
// produces (`stacks/tests/fixtures/databricks_crossaccount_restricted.json`), statement by
// statement. The one addition is listed there and in the README ("The cross-account role").

/// The restricted policy's first statement: actions on `*` (describe calls, tags, spot
/// requests, fleets and launch templates, which Databricks creates per cluster).
pub const CROSS_ACCOUNT_ACTIONS_ON_ANY_RESOURCE: &[&str] = &[
    "ec2:AssignPrivateIpAddresses",
    "ec2:CancelSpotInstanceRequests",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeIamInstanceProfileAssociations",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstances",
    "ec2:DescribeInternetGateways",
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
    "ec2:CreateTags",
    "ec2:DeleteTags",
    "ec2:GetSpotPlacementScores",
    "ec2:RequestSpotInstances",
    "ec2:DescribeFleetHistory",
    "ec2:ModifyFleet",
    "ec2:DeleteFleets",
    "ec2:DescribeFleetInstances",
    "ec2:DescribeFleets",
    "ec2:CreateFleet",
    "ec2:DeleteLaunchTemplate",
    "ec2:GetLaunchTemplateData",
    "ec2:CreateLaunchTemplate",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:ModifyLaunchTemplate",
    "ec2:DeleteLaunchTemplateVersions",
    "ec2:CreateLaunchTemplateVersion",
];

/// The EC2 Spot service-linked role, created on the first spot request.
pub const SPOT_SERVICE_LINKED_ROLE_ACTIONS: &[&str] =
    &["iam:CreateServiceLinkedRole", "iam:PutRolePolicy"];

/// Instance-profile (re)association on Databricks' instances (instance pools).
pub const INSTANCE_PROFILE_ASSOCIATION_ACTIONS: &[&str] = &[
    "ec2:AssociateIamInstanceProfile",
    "ec2:DisassociateIamInstanceProfile",
    "ec2:ReplaceIamInstanceProfileAssociation",
];

/// Volume attachment on Databricks' instances and volumes.
pub const VOLUME_ATTACHMENT_ACTIONS: &[&str] = &["ec2:AttachVolume", "ec2:DetachVolume"];

/// Rule changes on the workspace security group.
pub const SECURITY_GROUP_RULE_ACTIONS: &[&str] = &[
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
];

/// The tag Databricks puts on every instance and volume it launches (`Vendor=Databricks`).
const VENDOR_TAG: &str = "Vendor";
/// Its value.
const VENDOR: &str = "Databricks";

/// The roles.
pub struct Iam {
    /// Assumed by the Databricks control plane to run clusters in the VPC.
    pub cross_account: Role,
    /// Assumed by Databricks' log delivery to write usage and audit logs.
    pub log_delivery: Role,
    /// How the groups reach the datalake.
    pub data_access: DataAccess,
}

/// The roles through which the groups reach the datalake, per governance.
pub enum DataAccess {
    /// Credential passthrough (`legacy_passthrough`).
    Passthrough(PassthroughRoles),
    /// Unity Catalog (`unity_catalog`): the storage credential's role.
    UnityCatalog {
        /// Assumed by Unity Catalog (and by itself) to reach the datalake buckets.
        storage: Role,
    },
}

/// The credential-passthrough roles.
pub struct PassthroughRoles {
    /// The cluster nodes' role; may assume the data roles (credential passthrough).
    pub meta: Role,
    /// The meta role's instance profile.
    pub meta_profile: InstanceProfile,
    /// Reads the three datalake buckets and the Glue catalog.
    pub data_read: Role,
    /// Reads and writes the three datalake buckets and the Glue catalog.
    pub data_write: Role,
}

/// What the storage-credential role may do in each datalake bucket: the S3 actions of
/// Databricks' `databricks_aws_unity_catalog_policy` data source
/// (terraform-provider-databricks `aws/data_aws_unity_catalog_policy.go` at commit
/// 684f4424982431d3433e5c23353c6b208b263e75), in its order; Databricks documents the same list
/// ("Create a storage credential for connecting to AWS S3", step 1).
pub const UNITY_CATALOG_S3_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
];

/// What the storage-credential role may do with the storage key (the same data source's KMS
/// statement).
pub const UNITY_CATALOG_KMS_ACTIONS: &[&str] =
    &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"];

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

/// `Condition` `<operator> <key>: Databricks` on the `Vendor` tag (`ec2:ResourceTag/…`,
/// `aws:RequestTag/…`, `aws:ResourceTag/…`).
fn vendor(operator_key: &str) -> Condition {
    Condition::new(
        "StringEquals",
        &format!("{operator_key}/{VENDOR_TAG}"),
        [VENDOR.into()],
    )
}

/// Databricks' restricted customer-managed-VPC policy for this stack (see the comment on
/// [`CROSS_ACCOUNT_ACTIONS_ON_ANY_RESOURCE`]), statement by statement in the reference's order,
/// plus, with credential passthrough, `iam:PassRole` of the meta role (what the data source's
/// `pass_roles` adds). With Unity Catalog no instance profile is passed, so no PassRole.
pub fn restricted_cross_account_policy(network: &Network, meta: Option<&Role>) -> PolicyDocument {
    let vpc_arn = || {
        sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${Vpc}")
            .var("Vpc", network.vpc.id())
            .build()
    };
    let in_vpc = || Condition::new("StringEquals", "ec2:vpc", [vpc_arn()]);
    // RunInstances authorizes every resource the launch touches. The reference pins the
    // instance and volume (tagged at launch), the image (tagged Vendor=Databricks), the network
    // interface, subnet and security group (in this VPC), and lets the catch-all below cover
    // the rest (key pairs, launch templates, spot requests, placement groups…). Without the
    // catch-all (as before issue 9) every launch was denied.
    //
    // Deviation, the image ARN: the reference writes `…:<region>:<account>:image/*`, but an AMI's
    // ARN has an empty account field (`arn:aws:ec2:<region>::image/ami-…`, AWS's Service
    // Authorization Reference for EC2: `arn:${Partition}:ec2:${Region}::image/${ImageId}`), so
    // the reference's image statement matches no AMI and its NotResource entry excludes no AMI:
    // as AWS evaluates the reference, the catch-all is what allows the image. We keep exactly
    // that effect in a form that names real ARNs: the tagged image statement uses the
    // empty-account form, and the catch-all's NotResource leaves images out (listing them there
    // in the real form would deny untagged Databricks AMIs, which the reference allows).
    let pinned_to_run_instances = [
        "network-interface/*",
        "subnet/*",
        "security-group/*",
        "volume/*",
        "instance/*",
    ];
    let image_arn = || sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*").build();
    let pass_meta_role = meta.map(|meta| {
        // Deviation (the data source adds it only when `pass_roles` is given): Databricks
        // passes the meta role when it launches instances with the meta instance profile.
        Statement::allow()
            .sid("PassMetaRole")
            .actions(["iam:PassRole"])
            .resource(meta.arn())
    });
    let statements = [
        Statement::allow()
            .actions(CROSS_ACCOUNT_ACTIONS_ON_ANY_RESOURCE.iter().copied())
            .any_resource(),
        Statement::allow()
            .actions(SPOT_SERVICE_LINKED_ROLE_ACTIONS.iter().copied())
            .resource(
                sub("arn:${AWS::Partition}:iam::*:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot")
                    .build(),
            )
            .condition(Condition::new(
                "StringLike",
                "iam:AWSServiceName",
                ["spot.amazonaws.com".into()],
            )),
    ]
    .into_iter()
    .chain(pass_meta_role)
    .chain([
        Statement::allow()
            .sid("InstancePoolsSupport")
            .actions(INSTANCE_PROFILE_ASSOCIATION_ACTIONS.iter().copied())
            .resource(arn("instance/*"))
            .condition(vendor("ec2:ResourceTag")),
        Statement::allow()
            .sid("AllowEc2RunInstancePerTag")
            .actions(["ec2:RunInstances"])
            .resources([arn("volume/*"), arn("instance/*")])
            .condition(vendor("aws:RequestTag")),
        Statement::allow()
            .sid("AllowEc2RunInstanceImagePerTag")
            .actions(["ec2:RunInstances"])
            .resource(image_arn())
            .condition(vendor("aws:ResourceTag")),
        Statement::allow()
            .sid("AllowEc2RunInstancePerVPCid")
            .actions(["ec2:RunInstances"])
            .resources([
                arn("network-interface/*"),
                arn("subnet/*"),
                arn("security-group/*"),
            ])
            .condition(in_vpc()),
        Statement::allow()
            .sid("AllowEc2RunInstanceOtherResources")
            .actions(["ec2:RunInstances"])
            .not_resources(pinned_to_run_instances.iter().map(|r| arn(r))),
        Statement::allow()
            .sid("EC2TerminateInstancesTag")
            .actions(["ec2:TerminateInstances"])
            .resource(arn("instance/*"))
            .condition(vendor("ec2:ResourceTag")),
        Statement::allow()
            .sid("EC2AttachDetachVolumeTag")
            .actions(VOLUME_ATTACHMENT_ACTIONS.iter().copied())
            .resources([arn("instance/*"), arn("volume/*")])
            .condition(vendor("ec2:ResourceTag")),
        Statement::allow()
            .sid("EC2CreateVolumeByTag")
            .actions(["ec2:CreateVolume"])
            .resource(arn("volume/*"))
            .condition(vendor("aws:RequestTag")),
        Statement::allow()
            .sid("EC2DeleteVolumeByTag")
            .actions(["ec2:DeleteVolume"])
            .resource(arn("volume/*"))
            .condition(vendor("ec2:ResourceTag")),
        Statement::allow()
            .sid("VpcNonresourceSpecificActions")
            .actions(SECURITY_GROUP_RULE_ACTIONS.iter().copied())
            .resource(
                sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/${Sg}")
                    .var("Sg", network.security_group.group_id())
                    .build(),
            )
            .condition(in_vpc()),
    ]);
    PolicyDocument::of(statements)
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
    let props = |role: RoleName, description: &str| role_props(config, tags, role, description);

    // Passthrough: the meta role first (the cross-account role passes it, the data roles
    // trust it).
    let meta = match config.governance() {
        Governance::LegacyPassthrough => Some(add_meta_role(stack, config, tags)?),
        Governance::UnityCatalog => None,
    };
    let cross_account = Role::new(
        stack,
        "CrossAccountRole",
        PolicyDocument::of([Statement::allow()
            .principal(Principal::account(DATABRICKS_AWS_ACCOUNT))
            .actions(["sts:AssumeRole"])
            .condition(Condition::external_id(account_id))]),
        props(
            RoleName::CrossAccount,
            "Databricks control plane: runs clusters in the customer-managed VPC",
        ),
    )?;
    // Databricks validates these permissions when the credentials are registered, so they are
    // inline: they exist as soon as the role does.
    cross_account.add_inline_policy(
        stack,
        "databricks-customer-managed-vpc",
        restricted_cross_account_policy(network, meta.as_ref().map(|(role, _)| role)),
    );
    crate::environment::suppress(
        stack,
        cross_account.handle(),
        &[(
            "CKV_AWS_111",
            "Databricks' restricted customer-managed-VPC policy (terraform-provider-databricks databricks_aws_crossaccount_policy, policy_type restricted), as Databricks requires it: tag, spot, fleet and launch-template writes on any resource, and a catch-all allowing RunInstances on the launch's other resources (Databricks' AMIs, launch templates, spot requests); instances, volumes, network interfaces and security-group rules are pinned to Vendor=Databricks tags, this VPC and the workspace security group (README: The cross-account role)",
        )],
    );

    let log_delivery = Role::new(
        stack,
        "LogDeliveryRole",
        PolicyDocument::of([Statement::allow()
            .principal(Principal::Aws(
                cdkrs_databricks::DATABRICKS_LOG_DELIVERY_ROLE_ARN.into(),
            ))
            .actions(["sts:AssumeRole"])
            .condition(Condition::external_id(account_id))]),
        props(
            RoleName::LogDelivery,
            "Databricks billable-usage and audit-log delivery",
        ),
    )?;
    // What Databricks documents for the log-delivery role ("Configure audit log delivery",
    // step 2 "Configure credentials"; the billable-usage page uses the same policy): the bucket's
    // location, a listing of the delivery prefix, and put, get, delete, ACL and multipart calls
    // under it. Only the delivery prefixes: the role reaches nothing else in the bucket (not the
    // cluster logs).
    let _ = storage.databricks_logs.grant_prefix_delivery(
        stack,
        &log_delivery,
        &[
            databricks::BILLABLE_USAGE_PREFIX,
            databricks::AUDIT_LOGS_PREFIX,
        ],
    )?;

    let data_access = match meta {
        Some((meta, meta_profile)) => DataAccess::Passthrough(add_data_roles(
            stack,
            config,
            tags,
            storage,
            meta,
            meta_profile,
        )?),
        None => DataAccess::UnityCatalog {
            storage: add_unity_catalog_role(stack, config, tags, storage)?,
        },
    };

    // The storage key serves the root bucket (the control plane writes DBFS), the workspace
    // storage CMK and cluster EBS volumes (through the cross-account role, via EC2 only).
    let databricks = || Principal::account(DATABRICKS_AWS_ACCOUNT);
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
        data_access,
    })
}

fn role_props(config: &Environment, tags: &[Tag], role: RoleName, description: &str) -> RoleProps {
    RoleProps {
        role_name: role_name(config, role),
        description: Some(description.to_owned()),
        tags: tags.to_vec(),
        ..Default::default()
    }
}

/// The meta role (the cluster nodes' role) and its instance profile (credential passthrough).
fn add_meta_role(
    stack: &mut Stack,
    config: &Environment,
    tags: &[Tag],
) -> Result<(Role, InstanceProfile), ConstructError> {
    let meta = Role::new(
        stack,
        "MetaRole",
        service_trust("ec2.amazonaws.com"),
        role_props(
            config,
            tags,
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
    Ok((meta, meta_profile))
}

/// The data roles the meta role assumes for the users (credential passthrough), and the meta
/// role's grants.
fn add_data_roles(
    stack: &mut Stack,
    config: &Environment,
    tags: &[Tag],
    storage: &Storage,
    meta: Role,
    meta_profile: InstanceProfile,
) -> Result<PassthroughRoles, ConstructError> {
    let props = |role: RoleName, description: &str| role_props(config, tags, role, description);
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
    // Cluster log delivery writes with the instance profile's role ("make sure the cluster IAM
    // role in instance_profile_arn has permission to write data to the S3 destination", Clusters
    // API `cluster_log_conf.s3`): it lists, puts (with the bucket-owner ACL), replaces and
    // removes its files under the prefix, encrypted with the logging key; Databricks' instance
    // profile tutorial grants the same list, put, get, delete and ACL set.
    let _ = storage.databricks_logs.grant_prefix_delivery(
        stack,
        &meta,
        &[databricks::CLUSTER_LOGS_PREFIX],
    )?;

    Ok(PassthroughRoles {
        meta,
        meta_profile,
        data_read,
        data_write,
    })
}

/// The storage credential's role, as Databricks documents it ("Create a storage credential for
/// connecting to AWS S3", <https://docs.databricks.com/aws/en/connect/unity-catalog/cloud-storage/storage-credentials>)
/// and as terraform-provider-databricks generates it (commit
/// 684f4424982431d3433e5c23353c6b208b263e75):
///
/// - trust (`aws/data_aws_unity_catalog_assume_role_policy.go`): Unity Catalog's master role
///   with `sts:ExternalId` = the Databricks account id, and the role itself, with the same
///   external id. IAM refuses a trust policy whose principal is a role that does not exist yet,
///   and this role does not exist while its own trust policy is written, so the self-assume
///   statement names the account (`arn:…:iam::<account>:root`) as principal and pins the caller
///   with `ArnLike aws:PrincipalArn` = the role's ARN built from its fixed name: exactly the data
///   source's `ExplicitSelfRoleAssumption`, and no reference to the role (no cycle).
/// - permissions (`aws/data_aws_unity_catalog_policy.go`): its S3 statement on the three
///   datalake buckets only, its KMS statement on the storage key only, and `sts:AssumeRole` on
///   itself. Not its `ManagedFileEvents*` statements: file events are not enabled on the
///   external locations (nothing here creates the SNS topics and SQS queues they manage). No
///   Glue: Unity Catalog replaces the Glue metastore.
///
/// The storage key's policy needs no statement for it: its `AccountRootAdministers` statement
/// (`kms:*` to the account) lets IAM policies of the account grant the key, and this role's
/// policy does. `stacks/tests/environment.rs` compares the documents with the data sources'
/// output (`stacks/tests/fixtures/databricks_unity_catalog_role.json`).
fn add_unity_catalog_role(
    stack: &mut Stack,
    config: &Environment,
    tags: &[Tag],
    storage: &Storage,
) -> Result<Role, ConstructError> {
    let account_id = config.databricks().account_id.as_str();
    let own_arn = || {
        sub(format!(
            "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{}",
            config.names().role(RoleName::UcStorage)
        ))
        .build()
    };
    let trust = PolicyDocument::of([
        Statement::allow()
            .sid("UnityCatalogAssumeRole")
            .principal(Principal::Aws(
                cdkrs_databricks::UNITY_CATALOG_MASTER_ROLE_ARN.into(),
            ))
            .actions(["sts:AssumeRole"])
            .condition(Condition::external_id(account_id)),
        Statement::allow()
            .sid("ExplicitSelfRoleAssumption")
            .principal(Principal::account_root())
            .actions(["sts:AssumeRole"])
            .condition(Condition::new("ArnLike", "aws:PrincipalArn", [own_arn()]))
            .condition(Condition::external_id(account_id)),
    ]);
    let role = Role::new(
        stack,
        "UnityCatalogStorageRole",
        trust,
        role_props(
            config,
            tags,
            RoleName::UcStorage,
            "Unity Catalog storage credential: reads and writes the raw, prepared and trusted buckets",
        ),
    )?;
    role.add_to_policy(
        stack,
        Statement::allow()
            .sid("DatalakeBuckets")
            .actions(UNITY_CATALOG_S3_ACTIONS.iter().copied())
            .resources(
                storage
                    .datalake
                    .iter()
                    .flat_map(|b| [b.arn_for_objects("*"), b.arn()]),
            ),
    )?;
    role.add_to_policy(
        stack,
        Statement::allow()
            .sid("AssumeItself")
            .actions(["sts:AssumeRole"])
            .resource(own_arn()),
    )?;
    role.add_to_policy(
        stack,
        Statement::allow()
            .sid("StorageKey")
            .actions(UNITY_CATALOG_KMS_ACTIONS.iter().copied())
            .resource(storage.storage_key.arn()),
    )?;
    Ok(role)
}

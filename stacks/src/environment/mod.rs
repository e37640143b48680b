//! The Databricks environment stack (`<prefix>-databricks`), built from a validated config.
//!
//! Order: parameters and the network-sleep condition, keys and buckets, the network, IAM, the
//! provider Lambda, the Databricks custom resources, the outputs.

pub mod databricks;
pub mod deployment;
pub mod iam;
pub mod network;
pub mod provider;
pub mod storage;

use cdkrs_constructs::{
    equals, join_list, ConstructError, Output, Parameter, Pseudo, Stack, Tag, Value,
};

use crate::model::Environment;

/// The stack parameters that `cdkrs deploy`, `sleep` and `wake` fill in (how: [`deployment`]).
pub mod parameters {
    /// `"true"` removes the NAT gateway, its EIP, the private default route and the interface
    /// endpoints.
    pub const NETWORK_ASLEEP: &str = "NetworkAsleep";
    /// The bucket holding the provider zip (the bootstrap stack's assets bucket).
    pub const PROVIDER_CODE_BUCKET: &str = "ProviderCodeBucket";
    /// The provider zip's key (content-hashed).
    pub const PROVIDER_CODE_KEY: &str = "ProviderCodeKey";
}

/// The condition that holds while the network is awake.
pub const NETWORK_AWAKE: &str = "NetworkAwake";

/// Why the environment could not be built (config validation should have caught it).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A construct refused its props.
    #[error(transparent)]
    Construct(#[from] ConstructError),
}

pub use cdkrs_constructs::metadata::skip_checkov as suppress;
pub use deployment::deployment;

/// Builds the environment stack from the validated environment
/// ([`validate`](crate::validate::validate) or [`load`](crate::load::load) make one).
pub fn build(config: &Environment) -> Result<Stack, BuildError> {
    let mut stack = Stack::new(&config.stack_name());
    stack.set_description(&format!(
        "cdkrs: secure Databricks-on-AWS environment `{}` (workspace {})",
        config.prefix(),
        config.databricks().workspace.name
    ));
    let tags: Vec<Tag> = config
        .tags()
        .iter()
        .map(|(k, v)| Tag::new(k.as_str(), v.as_str()))
        .collect();

    let asleep = stack.add_parameter(
        parameters::NETWORK_ASLEEP,
        Parameter::string()
            .allowed_values(["true", "false"])
            .default_value(deployment::asleep_value(config.network_asleep()))
            .description(
                "true removes the NAT gateway, its Elastic IP, the private default route and the interface endpoints (cdkrs sleep / wake)",
            ),
    );
    let code_bucket = stack.add_parameter(
        parameters::PROVIDER_CODE_BUCKET,
        Parameter::string()
            .min_length(3)
            .description("Bucket holding the provider zip (filled in by cdkrs deploy)"),
    );
    let code_key = stack.add_parameter(
        parameters::PROVIDER_CODE_KEY,
        Parameter::string()
            .min_length(1)
            .description("Content-hashed key of the provider zip (filled in by cdkrs deploy)"),
    );
    let awake = stack.add_condition(NETWORK_AWAKE, equals(asleep.value(), "false"));

    let storage = storage::add(&mut stack, config, &tags)?;
    let network = network::add(
        &mut stack,
        config,
        &awake,
        &tags,
        &storage.infra_logs,
        &storage.root,
    )?;
    let iam = iam::add(&mut stack, config, &tags, &network, &storage)?;
    let provider = provider::add(&mut stack, config, &tags, &storage, &code_bucket, &code_key)?;
    let workspace = databricks::add(&mut stack, config, &network, &storage, &iam, &provider)?;

    let out = |stack: &mut Stack, id: &str, v: Value<String>, d: &str| {
        stack.add_output(id, Output::new(v).description(d));
    };
    out(
        &mut stack,
        "AccountId",
        Pseudo::AccountId.value(),
        "AWS account",
    );
    out(&mut stack, "Region", Pseudo::Region.value(), "AWS region");
    stack.add_output(
        "VpcId",
        Output::new(network.vpc.id())
            .description("The customer-managed VPC")
            .export(cdkrs_constructs::sub("${AWS::StackName}-VpcId").build()),
    );
    out(
        &mut stack,
        "PrivateSubnetIds",
        join_list(",", Value::list(network.vpc.private_subnet_ids())),
        "The Databricks (private) subnets, comma-separated",
    );
    out(
        &mut stack,
        "SecurityGroupId",
        network.security_group.group_id(),
        "The workspace security group",
    );
    for (id, bucket, d) in [
        (
            "RootBucketName",
            &storage.root,
            "Workspace root (DBFS) bucket",
        ),
        ("RawBucketName", &storage.datalake[0], "Raw datalake bucket"),
        (
            "PreparedBucketName",
            &storage.datalake[1],
            "Prepared datalake bucket",
        ),
        (
            "TrustedBucketName",
            &storage.datalake[2],
            "Trusted datalake bucket",
        ),
        (
            "DatabricksLogsBucketName",
            &storage.databricks_logs,
            "Cluster, usage and audit logs",
        ),
        (
            "InfraLogsBucketName",
            &storage.infra_logs,
            "S3 access logs and VPC flow logs",
        ),
    ] {
        out(&mut stack, id, bucket.name(), d);
    }
    out(
        &mut stack,
        "StorageKeyArn",
        storage.storage_key.arn(),
        "Storage KMS key",
    );
    out(
        &mut stack,
        "LoggingKeyArn",
        storage.logging_key.arn(),
        "Logging KMS key",
    );
    out(
        &mut stack,
        "CrossAccountRoleArn",
        iam.cross_account.arn(),
        "Databricks cross-account role",
    );
    out(
        &mut stack,
        "LogDeliveryRoleArn",
        iam.log_delivery.arn(),
        "Databricks log-delivery role",
    );
    match &iam.data_access {
        iam::DataAccess::Passthrough(roles) => {
            out(
                &mut stack,
                "MetaRoleArn",
                roles.meta.arn(),
                "Cluster (meta) role",
            );
            out(
                &mut stack,
                "MetaInstanceProfileArn",
                roles.meta_profile.arn(),
                "Cluster (meta) instance profile",
            );
            out(
                &mut stack,
                "DataReadRoleArn",
                roles.data_read.arn(),
                "Datalake read role",
            );
            out(
                &mut stack,
                "DataWriteRoleArn",
                roles.data_write.arn(),
                "Datalake read-write role",
            );
        }
        iam::DataAccess::UnityCatalog { storage: role } => {
            out(
                &mut stack,
                "StorageCredentialRoleArn",
                role.arn(),
                "Unity Catalog storage credential role",
            );
        }
    }
    if let Some(uc) = &workspace.unity_catalog {
        out(
            &mut stack,
            "MetastoreId",
            uc.metastore_id.clone(),
            "The workspace's Unity Catalog metastore",
        );
        for (layer, name) in &uc.catalogs {
            out(
                &mut stack,
                &format!("{}CatalogName", layer.title()),
                name.clone(),
                &format!("Unity Catalog catalog of the {} layer", layer.suffix()),
            );
        }
    }
    out(
        &mut stack,
        "WorkspaceId",
        workspace.id,
        "Databricks workspace id",
    );
    out(
        &mut stack,
        "WorkspaceUrl",
        workspace.url,
        "Databricks workspace URL",
    );
    out(
        &mut stack,
        "EnforceSseKmsRoot",
        config.encryption().enforce_sse_kms_root.to_string().into(),
        "SSE-KMS enforced on the root bucket (was dbfs_client_side_enc)",
    );
    out(
        &mut stack,
        "EnforceSseKmsDatalake",
        config
            .encryption()
            .enforce_sse_kms_datalake
            .to_string()
            .into(),
        "SSE-KMS enforced on the datalake buckets (was datalake_client_side_enc)",
    );
    Ok(stack)
}

/// How many resources the stack of `config` declares: the stack without its groups, built,
/// plus [`databricks::resources_per_group`] for each group.
pub fn resource_count(config: &Environment) -> Result<usize, BuildError> {
    Ok(resources_without_groups(config)?
        + config.databricks().groups.len() * databricks::resources_per_group(config.governance()))
}

/// The resources of the stack of `config` without its groups (validation checks
/// CloudFormation's limit with it, however many groups the config lists).
pub(crate) fn resources_without_groups(config: &Environment) -> Result<usize, BuildError> {
    Ok(build(&config.without_groups())?.resource_count())
}

//! The Databricks side, as custom resources served by the provider Lambda: account objects
//! (credentials, storage, network, key, workspace, log delivery), then workspace objects
//! (instance profile, groups, init script, cluster).

use std::collections::BTreeMap;

use cdkrs_constructs::custom_resource::{CustomResource, CustomResourceProps};
use cdkrs_constructs::databricks as db;
use cdkrs_constructs::function::Function;
use cdkrs_constructs::{if_, join, ConstructError, Pseudo, ResourceOptions, Stack, Value};

use crate::config::Access;
use crate::environment::iam::Iam;
use crate::environment::network::Network;
use crate::environment::storage::Storage;
use crate::environment::BuildError;
use crate::model::Environment;

/// Seconds CloudFormation waits for the workspace (provisioning takes 5 to 20 minutes; the
/// provider re-invokes itself and answers within this).
pub const WORKSPACE_TIMEOUT_SECS: i64 = 3600;
/// Seconds CloudFormation waits for the other Databricks resources.
pub const DEFAULT_TIMEOUT_SECS: i64 = 1800;

/// Where billable-usage logs go in the Databricks logs bucket (the delivery's path prefix and
/// the log-delivery role's grant).
pub const BILLABLE_USAGE_PREFIX: &str = "billable-usage";
/// Where audit logs go in the Databricks logs bucket.
pub const AUDIT_LOGS_PREFIX: &str = "audit-logs";
/// Where the cluster's driver and worker logs go in the Databricks logs bucket (the cluster's
/// `cluster_log_conf` and the meta role's grant).
pub const CLUSTER_LOGS_PREFIX: &str = "cluster-logs";

/// The workspace's identity, for the outputs.
pub struct WorkspaceRef {
    /// `WorkspaceId`.
    pub id: Value<String>,
    /// `WorkspaceUrl` (https://…).
    pub url: Value<String>,
}

/// The cluster's Spark settings: high concurrency with IAM credential passthrough, the Glue
/// Data Catalog as metastore with the seed's client caches.
pub const BASE_SPARK_CONF: &[(&str, &str)] = &[
    ("spark.databricks.cluster.profile", "serverless"),
    (
        "spark.databricks.hive.metastore.glueCatalog.enabled",
        "true",
    ),
    ("spark.databricks.passthrough.enabled", "true"),
    ("spark.databricks.pyspark.enableProcessIsolation", "true"),
    ("spark.databricks.repl.allowedLanguages", "python,sql"),
    ("spark.hadoop.aws.glue.cache.db.enable", "true"),
    ("spark.hadoop.aws.glue.cache.db.size", "1000"),
    ("spark.hadoop.aws.glue.cache.db.ttl-mins", "30"),
    ("spark.hadoop.aws.glue.cache.table.enable", "true"),
    ("spark.hadoop.aws.glue.cache.table.size", "1000"),
    ("spark.hadoop.aws.glue.cache.table.ttl-mins", "30"),
];

fn props(timeout: i64, options: ResourceOptions) -> CustomResourceProps {
    CustomResourceProps {
        service_timeout_secs: timeout,
        options,
    }
}

fn name(config: &Environment, what: &str) -> Value<String> {
    config.names().of(what).into()
}

/// The resources each group adds (its `Custom::DatabricksGroup`): validation counts the stack
/// with it, and a test holds it to what the builder adds.
pub const RESOURCES_PER_GROUP: usize = 1;

/// Adds the Databricks custom resources.
pub fn add(
    stack: &mut Stack,
    config: &Environment,
    network: &Network,
    storage: &Storage,
    iam: &Iam,
    provider: &Function,
) -> Result<WorkspaceRef, BuildError> {
    let account: Value<String> = config.databricks().account_id.as_str().into();
    let plain = || props(DEFAULT_TIMEOUT_SECS, ResourceOptions::default());

    let credentials = CustomResource::new(
        stack,
        "DatabricksCredentials",
        provider,
        db::Credentials {
            account_id: account.clone(),
            credentials_name: name(config, "credentials"),
            role_arn: iam.cross_account.arn(),
        },
        plain(),
    )?;
    // Databricks checks it can use the root bucket: its policy must be in place first.
    let storage_config = CustomResource::new(
        stack,
        "DatabricksStorageConfiguration",
        provider,
        db::StorageConfiguration {
            account_id: account.clone(),
            storage_configuration_name: name(config, "storage"),
            bucket_name: storage.root.name(),
        },
        props(
            DEFAULT_TIMEOUT_SECS,
            ResourceOptions {
                depends_on: vec![storage.root.policy_handle().erase()],
                ..Default::default()
            },
        ),
    )?;
    let network_config = CustomResource::new(
        stack,
        "DatabricksNetwork",
        provider,
        db::Network {
            account_id: account.clone(),
            network_name: name(config, "network"),
            vpc_id: network.vpc.id(),
            subnet_ids: Value::list(network.vpc.private_subnet_ids()),
            security_group_ids: Value::list([network.security_group.group_id()]),
        },
        plain(),
    )?;
    let storage_key = CustomResource::new(
        stack,
        "DatabricksStorageKey",
        provider,
        db::CustomerManagedKey {
            account_id: account.clone(),
            key_arn: storage.storage_key.arn(),
            key_alias: Some(format!("alias/{}", config.names().of("storage")).into()),
            use_cases: db::KeyUseCase::list([db::KeyUseCase::Storage]),
            reuse_key_for_cluster_volumes: Some(true.into()),
        },
        plain(),
    )?;
    let custom_tags: BTreeMap<String, Value<String>> = config
        .tags()
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let workspace = CustomResource::new(
        stack,
        "DatabricksWorkspace",
        provider,
        db::Workspace {
            account_id: account.clone(),
            workspace_name: config.databricks().workspace.name.as_str().into(),
            // The stack's own region: the workspace cannot end up elsewhere than its VPC.
            aws_region: Pseudo::Region.value(),
            credentials_id: credentials.attr(db::CredentialsAttr::CredentialsId),
            storage_configuration_id: storage_config
                .attr(db::StorageConfigurationAttr::StorageConfigurationId),
            network_id: network_config.attr(db::NetworkAttr::NetworkId),
            storage_customer_managed_key_id: Some(
                storage_key.attr(db::CustomerManagedKeyAttr::CustomerManagedKeyId),
            ),
            managed_services_customer_managed_key_id: None,
            pricing_tier: Some(config.databricks().workspace.pricing_tier.into()),
            deployment_name: None,
            custom_tags: (!custom_tags.is_empty()).then(|| custom_tags.clone()),
        },
        props(WORKSPACE_TIMEOUT_SECS, ResourceOptions::default()),
    )?;
    let workspace_url = workspace.attr(db::WorkspaceAttr::WorkspaceUrl);

    if config.databricks().log_delivery {
        add_log_delivery(stack, config, storage, iam, provider, &account)?;
    }

    // The meta instance profile, registered as such (credential passthrough).
    let profile = CustomResource::new(
        stack,
        "DatabricksMetaInstanceProfile",
        provider,
        db::InstanceProfile {
            workspace_url: workspace_url.clone(),
            instance_profile_arn: iam.meta_profile.arn(),
            iam_role_arn: Some(iam.meta.arn()),
            is_meta_instance_profile: true.into(),
            skip_validation: None,
        },
        plain(),
    )?;
    for (i, group) in config.databricks().groups.iter().enumerate() {
        let role = match group.access {
            Access::Read => &iam.data_read,
            Access::Write => &iam.data_write,
        };
        CustomResource::new(
            stack,
            &format!("DatabricksGroup{}", i + 1),
            provider,
            db::Group {
                workspace_url: workspace_url.clone(),
                display_name: group.name.as_str().into(),
                roles: Value::list([role.arn()]),
                instance_profile_arns: None,
                allow_cluster_create: false.into(),
                allow_instance_pool_create: false.into(),
            },
            plain(),
        )?;
    }

    // No SSE-KMS init script and no `fs.s3a.server-side-encryption*` spark conf: the SSE-KMS
    // flags deny only uploads that ask for another algorithm or key (SseEnforcement::
    // DenyOtherKeys), and an upload that asks for nothing gets the bucket default, the storage
    // key with a bucket key. Sending the header from this one cluster protected nothing (every
    // other cluster, job and warehouse writes without it), and the spark conf would also force
    // the storage key onto writes to buckets encrypted with other keys.
    let c = &config.databricks().cluster;
    let spark_conf: BTreeMap<String, Value<String>> = BASE_SPARK_CONF
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    let mut cluster_tags = custom_tags;
    // High-concurrency clusters must carry this tag.
    cluster_tags.insert("ResourceClass".into(), "Serverless".into());
    let cluster = CustomResource::new(
        stack,
        "DatabricksCluster",
        provider,
        db::Cluster {
            workspace_url,
            cluster_name: c.name.as_str().into(),
            spark_version: c.spark_version.as_str().into(),
            node_type_id: c.node_type.as_str().into(),
            driver_node_type_id: c.driver_node_type.as_deref().map(Value::from),
            autoscale: db::Autoscale {
                min_workers: c.autoscale.min_workers.into(),
                max_workers: c.autoscale.max_workers.into(),
            },
            autotermination_minutes: c.autotermination_minutes.into(),
            aws_attributes: db::AwsAttributes {
                availability: c.availability.into(),
                first_on_demand: c.first_on_demand.into(),
                spot_bid_price_percent: c.spot_bid_price_percent.into(),
                instance_profile_arn: Some(
                    profile.attr(db::InstanceProfileAttr::InstanceProfileArn),
                ),
                zone_id: Some("auto".into()),
                ebs_volume_type: Some(c.ebs_volumes.volume_type.into()),
                ebs_volume_count: Some(c.ebs_volumes.count.into()),
                ebs_volume_size: Some(c.ebs_volumes.size_gb.into()),
            },
            spark_conf: Some(spark_conf),
            custom_tags: Some(cluster_tags),
            cluster_log_conf: Some(db::ClusterLogConf {
                destination: join(
                    "",
                    [
                        "s3://".into(),
                        storage.databricks_logs.name(),
                        format!("/{CLUSTER_LOGS_PREFIX}").into(),
                    ],
                ),
                region: Pseudo::Region.value(),
                enable_encryption: true.into(),
                encryption_type: Some(db::S3EncryptionType::SseKms.into()),
                kms_key: Some(storage.logging_key.arn()),
            }),
            init_scripts: None,
            data_security_mode: Some(db::DataSecurityMode::LegacyPassthrough.into()),
            single_user_name: None,
            // Created while asleep (a new stack, a replacement), the cluster is terminated at
            // once instead of starting into a network without egress. Not part of the spec:
            // sleep and wake flip it and the provider's Update calls nothing.
            start_on_create: Some(if_(&network.awake, true, false)),
            user_groups: None,
        },
        props(DEFAULT_TIMEOUT_SECS, cluster_options(stack, network, iam)),
    )?;
    let _ = cluster;
    Ok(WorkspaceRef {
        id: workspace.attr(db::WorkspaceAttr::WorkspaceId),
        url: workspace.attr(db::WorkspaceAttr::WorkspaceUrl),
    })
}

/// When the cluster may be created: after the meta role's grants (it writes its logs with them)
/// and after the network its nodes need. The private default route (through the NAT gateway)
/// and the STS and Kinesis endpoints exist only while the network is awake, so they are
/// conditional dependencies ([`ResourceOptions::depends_on_if`]); the S3 gateway endpoint is
/// always there.
///
/// Asleep, the cluster is not started by sleep, wake or an edit, and one created asleep is
/// terminated right away (its `StartOnCreate`, set in [`add`]; README, "Network sleep").
fn cluster_options(stack: &Stack, network: &Network, iam: &Iam) -> ResourceOptions {
    let mut depends_on: Vec<_> = iam
        .meta
        .default_policy(stack)
        .map(|h| h.erase())
        .into_iter()
        .collect();
    depends_on.push(network.s3_endpoint.handle().erase());
    ResourceOptions {
        depends_on,
        depends_on_if: vec![(network.awake.clone(), network.awake_egress())],
        ..Default::default()
    }
}

/// Billable usage (CSV) and audit logs (JSON) into the Databricks logging bucket, through the
/// log-delivery role.
fn add_log_delivery(
    stack: &mut Stack,
    config: &Environment,
    storage: &Storage,
    iam: &Iam,
    provider: &Function,
    account: &Value<String>,
) -> Result<(), ConstructError> {
    // Databricks validates the role's access when the delivery is created.
    let after_grants = ResourceOptions {
        depends_on: iam
            .log_delivery
            .default_policy(stack)
            .map(|h| vec![h.erase()])
            .unwrap_or_default(),
        ..Default::default()
    };
    let credentials = CustomResource::new(
        stack,
        "DatabricksLogDeliveryCredentials",
        provider,
        db::Credentials {
            account_id: account.clone(),
            credentials_name: name(config, "log-delivery"),
            role_arn: iam.log_delivery.arn(),
        },
        props(DEFAULT_TIMEOUT_SECS, after_grants.clone()),
    )?;
    let storage_config = CustomResource::new(
        stack,
        "DatabricksLogDeliveryStorage",
        provider,
        db::StorageConfiguration {
            account_id: account.clone(),
            storage_configuration_name: name(config, "log-delivery"),
            bucket_name: storage.databricks_logs.name(),
        },
        props(DEFAULT_TIMEOUT_SECS, after_grants),
    )?;
    for (id, log_type, prefix) in [
        (
            "DatabricksBillableUsageDelivery",
            db::LogType::BillableUsage,
            BILLABLE_USAGE_PREFIX,
        ),
        (
            "DatabricksAuditLogDelivery",
            db::LogType::AuditLogs,
            AUDIT_LOGS_PREFIX,
        ),
    ] {
        CustomResource::new(
            stack,
            id,
            provider,
            db::LogDelivery {
                account_id: account.clone(),
                config_name: name(config, prefix),
                log_type: log_type.into(),
                output_format: log_type.output_format().into(),
                credentials_id: credentials.attr(db::CredentialsAttr::CredentialsId),
                storage_configuration_id: storage_config
                    .attr(db::StorageConfigurationAttr::StorageConfigurationId),
                delivery_path_prefix: Some(prefix.into()),
                workspace_ids_filter: None,
            },
            props(DEFAULT_TIMEOUT_SECS, ResourceOptions::default()),
        )?;
    }
    Ok(())
}

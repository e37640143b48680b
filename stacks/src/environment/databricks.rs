//! The Databricks side, as custom resources served by the provider Lambda: account objects
//! (credentials, storage, network, key, workspace, log delivery), then the data governance and
//! the cluster:
//!
//! - `unity_catalog`: the workspace's metastore assignment; per group an account group, its
//!   workspace assignment and its grants; the storage credential; per datalake layer an
//!   external location and a catalog; a cluster in standard access mode (`USER_ISOLATION`)
//!   whose users are the groups.
//! - `legacy_passthrough`: the meta instance profile's registration, a workspace group per
//!   group mapped to its data role, and a `LEGACY_PASSTHROUGH` high-concurrency cluster.
//!
//! **Catalog layout (unity_catalog): one catalog per layer** (`<prefix>_raw`,
//! `<prefix>_prepared`, `<prefix>_trusted`), not one catalog with three schemas. Each layer's
//! data lives in its own bucket, and a catalog's managed storage is one place: with a catalog
//! per layer, managed tables of the raw catalog land in the raw bucket (under
//! [`CATALOG_STORAGE_PREFIX`]), so a layer's tables and files stay in the bucket, under the key
//! and behind the bucket policy the stack built for that layer. Access is granted per catalog
//! and per location, so a later per-layer policy (writers of trusted only, say) is a change of
//! one grant list, not of schema-level grants in a shared catalog.

use std::collections::BTreeMap;

use cdkrs_constructs::custom_resource::{CustomResource, CustomResourceProps};
use cdkrs_constructs::function::Function;
use cdkrs_constructs::metadata::add_removal_note;
use cdkrs_constructs::{
    if_, join, AnyHandle, ConstructError, Pseudo, ResourceOptions, Stack, Value,
};
use cdkrs_databricks as db;

use crate::config::Access;
use crate::environment::iam::{DataAccess, Iam, PassthroughRoles};
use crate::environment::network::Network;
use crate::environment::storage::Storage;
use crate::environment::BuildError;
use crate::model::{Environment, Layer};

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

/// Where each catalog's managed tables go in its layer's bucket (`s3://<bucket>/<this>`).
pub const CATALOG_STORAGE_PREFIX: &str = "unity-catalog";

/// What a group of each access level may do in each layer catalog: reach it and its schemas
/// and read tables (`Access::Read`); writers also change table data and create schemas and
/// tables.
pub const CATALOG_READ_PRIVILEGES: &[db::Privilege] = &[
    db::Privilege::UseCatalog,
    db::Privilege::UseSchema,
    db::Privilege::Select,
];
/// What writers get in a layer catalog on top of [`CATALOG_READ_PRIVILEGES`].
pub const CATALOG_WRITE_PRIVILEGES: &[db::Privilege] = &[
    db::Privilege::Modify,
    db::Privilege::CreateSchema,
    db::Privilege::CreateTable,
];
/// What a reader may do at a layer's external location: read its files.
pub const LOCATION_READ_PRIVILEGES: &[db::Privilege] = &[db::Privilege::ReadFiles];
/// What writers get at a layer's external location on top of [`LOCATION_READ_PRIVILEGES`]:
/// write files and create external tables over them.
pub const LOCATION_WRITE_PRIVILEGES: &[db::Privilege] = &[
    db::Privilege::WriteFiles,
    db::Privilege::CreateExternalTable,
];

/// The privileges of `access` on a securable whose read and write lists are given.
fn privileges(
    access: Access,
    read: &[db::Privilege],
    write: &[db::Privilege],
) -> Value<Vec<String>> {
    let extra: &[db::Privilege] = match access {
        Access::Read => &[],
        Access::Write => write,
    };
    db::Privilege::list(read.iter().chain(extra).copied())
}

/// The workspace's identity, for the outputs.
pub struct WorkspaceRef {
    /// `WorkspaceId`.
    pub id: Value<String>,
    /// `WorkspaceUrl` (https://…).
    pub url: Value<String>,
    /// The Unity Catalog objects (`unity_catalog` only).
    pub unity_catalog: Option<UnityCatalogRef>,
}

/// The Unity Catalog objects, for the outputs.
pub struct UnityCatalogRef {
    /// The assigned metastore's id.
    pub metastore_id: Value<String>,
    /// Each layer's catalog name.
    pub catalogs: Vec<(Layer, Value<String>)>,
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

/// The resources each group adds: with `unity_catalog` its account group, workspace assignment
/// and grants; with `legacy_passthrough` its `Custom::DatabricksGroup`. Validation counts the
/// stack with it, and a test holds it to what the builder adds.
pub fn resources_per_group(governance: crate::config::Governance) -> usize {
    match governance {
        crate::config::Governance::UnityCatalog => 3,
        crate::config::Governance::LegacyPassthrough => 1,
    }
}

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

    let c = &config.databricks().cluster;
    let base_cluster = |workspace_url: Value<String>| db::Cluster {
        workspace_url,
        cluster_name: config.cluster_name().into(),
        spark_version: config.spark_version().into(),
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
            instance_profile_arn: None,
            zone_id: Some("auto".into()),
            ebs_volume_type: Some(c.ebs_volumes.volume_type.into()),
            ebs_volume_count: Some(c.ebs_volumes.count.into()),
            ebs_volume_size: Some(c.ebs_volumes.size_gb.into()),
        },
        spark_conf: None,
        custom_tags: None,
        cluster_log_conf: None,
        // No SSE-KMS init script and no `fs.s3a.server-side-encryption*` spark conf: the
        // SSE-KMS flags deny only uploads that ask for another algorithm or key
        // (SseEnforcement::DenyOtherKeys), and an upload that asks for nothing gets the bucket
        // default, the storage key with a bucket key. Sending the header from this one cluster
        // protected nothing (every other cluster, job and warehouse writes without it), and the
        // spark conf would also force the storage key onto writes to buckets encrypted with
        // other keys.
        init_scripts: None,
        data_security_mode: Some(config.governance().access_mode().into()),
        single_user_name: None,
        // Created while asleep (a new stack, a replacement), the cluster is terminated at once
        // instead of starting into a network without egress. Not part of the spec: sleep and
        // wake flip it and the provider's Update calls nothing.
        start_on_create: Some(if_(&network.awake, true, false)),
        user_groups: None,
    };

    let unity_catalog = match &iam.data_access {
        DataAccess::Passthrough(roles) => {
            let profile_arn = add_passthrough(stack, config, roles, provider, &workspace_url)?;
            let spark_conf: BTreeMap<String, Value<String>> = BASE_SPARK_CONF
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect();
            let mut cluster_tags = custom_tags;
            // High-concurrency clusters must carry this tag.
            cluster_tags.insert("ResourceClass".into(), "Serverless".into());
            let mut cluster = base_cluster(workspace_url.clone());
            cluster.aws_attributes.instance_profile_arn = Some(profile_arn);
            cluster.spark_conf = Some(spark_conf);
            cluster.custom_tags = Some(cluster_tags);
            cluster.cluster_log_conf = Some(db::ClusterLogConf {
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
            });
            // After the meta role's grants: the cluster writes its logs with them.
            let after = roles.meta.default_policy(stack).map(|h| h.erase());
            CustomResource::new(
                stack,
                "DatabricksCluster",
                provider,
                cluster,
                props(DEFAULT_TIMEOUT_SECS, cluster_options(network, after)),
            )?;
            None
        }
        DataAccess::UnityCatalog { storage: role } => {
            let uc = add_unity_catalog(
                stack,
                config,
                storage,
                role,
                provider,
                &account,
                &workspace,
                &workspace_url,
            )?;
            // Standard access mode: no passthrough, Glue or high-concurrency spark conf, no
            // `ResourceClass` tag, no instance profile. No cluster log delivery either: S3
            // delivery writes with the cluster's instance profile (Clusters API
            // `cluster_log_conf.s3`), and this mode has none; the logs stay readable in the
            // cluster's UI (README: "Unity Catalog", cluster logs).
            let mut options = cluster_options(network, Some(uc.metastore.clone()));
            options.depends_on.extend(uc.assignments.iter().cloned());
            CustomResource::new(
                stack,
                "DatabricksCluster",
                provider,
                db::Cluster {
                    custom_tags: (!custom_tags.is_empty()).then_some(custom_tags),
                    user_groups: Some(Value::list(uc.group_names.clone())),
                    ..base_cluster(workspace_url.clone())
                },
                props(DEFAULT_TIMEOUT_SECS, options),
            )?;
            add_removal_notes(stack, config);
            Some(uc.outputs)
        }
    };
    Ok(WorkspaceRef {
        id: workspace.attr(db::WorkspaceAttr::WorkspaceId),
        url: workspace.attr(db::WorkspaceAttr::WorkspaceUrl),
        unity_catalog,
    })
}

/// When the cluster may be created: after `first` (with passthrough the meta role's grants,
/// with which it writes its logs; with Unity Catalog the metastore assignment) and after the
/// network its nodes need. The private default route (through the NAT gateway) and the STS and
/// Kinesis endpoints exist only while the network is awake, so they are conditional
/// dependencies ([`ResourceOptions::depends_on_if`]); the S3 gateway endpoint is always there.
///
/// Asleep, the cluster is not started by sleep, wake or an edit, and one created asleep is
/// terminated right away (its `StartOnCreate`, set in [`add`]; README, "Network sleep").
fn cluster_options(network: &Network, first: Option<AnyHandle>) -> ResourceOptions {
    let mut depends_on: Vec<_> = first.into_iter().collect();
    depends_on.push(network.s3_endpoint.handle().erase());
    ResourceOptions {
        depends_on,
        depends_on_if: vec![(network.awake.clone(), network.awake_egress())],
        ..Default::default()
    }
}

/// Credential passthrough: the meta instance profile, registered as such, and a workspace
/// group per configured group mapped to its data role. Returns the registered profile's ARN
/// (the cluster's instance profile).
fn add_passthrough(
    stack: &mut Stack,
    config: &Environment,
    roles: &PassthroughRoles,
    provider: &Function,
    workspace_url: &Value<String>,
) -> Result<Value<String>, ConstructError> {
    let profile = CustomResource::new(
        stack,
        "DatabricksMetaInstanceProfile",
        provider,
        db::InstanceProfile {
            workspace_url: workspace_url.clone(),
            instance_profile_arn: roles.meta_profile.arn(),
            iam_role_arn: Some(roles.meta.arn()),
            is_meta_instance_profile: true.into(),
            skip_validation: None,
        },
        props(DEFAULT_TIMEOUT_SECS, ResourceOptions::default()),
    )?;
    for (i, group) in config.databricks().groups.iter().enumerate() {
        let role = match group.access {
            Access::Read => &roles.data_read,
            Access::Write => &roles.data_write,
        };
        CustomResource::new(
            stack,
            &passthrough_group_id(i),
            provider,
            db::Group {
                workspace_url: workspace_url.clone(),
                display_name: group.name.as_str().into(),
                roles: Value::list([role.arn()]),
                instance_profile_arns: None,
                allow_cluster_create: false.into(),
                allow_instance_pool_create: false.into(),
            },
            props(DEFAULT_TIMEOUT_SECS, ResourceOptions::default()),
        )?;
    }
    Ok(profile.attr(db::InstanceProfileAttr::InstanceProfileArn))
}

/// The logical id of the `i`-th (0-based) group's workspace group (passthrough).
fn passthrough_group_id(i: usize) -> String {
    format!("DatabricksGroup{}", i + 1)
}

/// What [`add_unity_catalog`] made, for the cluster and the outputs.
struct UnityCatalog {
    /// The metastore assignment (everything Databricks-side below it waits for it).
    metastore: AnyHandle,
    /// The groups' workspace assignments (the cluster's permissions name the groups).
    assignments: Vec<AnyHandle>,
    /// The groups' display names, from their account groups.
    group_names: Vec<Value<String>>,
    /// The outputs.
    outputs: UnityCatalogRef,
}

/// Unity Catalog: the metastore assignment, the storage credential, an external location and a
/// catalog per layer, and per group an account group, its workspace assignment and its grants.
#[allow(clippy::too_many_arguments)]
fn add_unity_catalog(
    stack: &mut Stack,
    config: &Environment,
    storage: &Storage,
    role: &cdkrs_constructs::role::Role,
    provider: &Function,
    account: &Value<String>,
    workspace: &CustomResource<db::Workspace>,
    workspace_url: &Value<String>,
) -> Result<UnityCatalog, ConstructError> {
    let names = config.names();
    let workspace_id = workspace.attr(db::WorkspaceAttr::WorkspaceId);
    let metastore = CustomResource::new(
        stack,
        "DatabricksMetastoreAssignment",
        provider,
        db::MetastoreAssignment {
            account_id: account.clone(),
            workspace_id: workspace_id.clone(),
            region: Pseudo::Region.value(),
            metastore_name: names.metastore().into(),
        },
        props(DEFAULT_TIMEOUT_SECS, ResourceOptions::default()),
    )?;
    let assigned = metastore.handle().erase();
    let after = |more: Vec<AnyHandle>| {
        props(
            DEFAULT_TIMEOUT_SECS,
            ResourceOptions {
                depends_on: std::iter::once(assigned.clone()).chain(more).collect(),
                ..Default::default()
            },
        )
    };

    // Databricks validates the credential by assuming the role and using its permissions:
    // the role's policy must be in place first.
    let credential = CustomResource::new(
        stack,
        "DatabricksStorageCredential",
        provider,
        db::StorageCredential {
            workspace_url: workspace_url.clone(),
            name: names.storage_credential().into(),
            role_arn: role.arn(),
            comment: Some("The raw, prepared and trusted buckets (cdkrs)".into()),
        },
        after(
            role.default_policy(stack)
                .map(|h| h.erase())
                .into_iter()
                .collect(),
        ),
    )?;
    let credential_name = credential.attr(db::StorageCredentialAttr::Name);
    let s3_url = |bucket: &cdkrs_constructs::bucket::Bucket, path: &str| {
        join(
            "",
            ["s3://".into(), bucket.name(), format!("/{path}").into()],
        )
    };
    let mut locations = Vec::new();
    let mut catalogs = Vec::new();
    for (layer, bucket) in Layer::ALL.iter().zip(&storage.datalake) {
        let location = CustomResource::new(
            stack,
            &format!("Databricks{}Location", layer.title()),
            provider,
            db::ExternalLocation {
                workspace_url: workspace_url.clone(),
                name: names.external_location(*layer).into(),
                url: s3_url(bucket, ""),
                credential_name: credential_name.clone(),
                comment: Some(format!("The {} bucket (cdkrs)", layer.suffix()).into()),
            },
            after(Vec::new()),
        )?;
        // The catalog's managed storage lies inside the location: Unity Catalog checks it
        // can reach it through the location when the catalog is created.
        let catalog = CustomResource::new(
            stack,
            &format!("Databricks{}Catalog", layer.title()),
            provider,
            db::Catalog {
                workspace_url: workspace_url.clone(),
                name: names.catalog(*layer).into(),
                storage_root: s3_url(bucket, CATALOG_STORAGE_PREFIX),
                comment: Some(format!("The {} layer (cdkrs)", layer.suffix()).into()),
            },
            after(vec![location.handle().erase()]),
        )?;
        locations.push(location.attr(db::ExternalLocationAttr::Name));
        catalogs.push((*layer, catalog.attr(db::CatalogAttr::Name)));
    }

    let mut assignments = Vec::new();
    let mut group_names = Vec::new();
    for (i, group) in config.databricks().groups.iter().enumerate() {
        let n = i + 1;
        let account_group = CustomResource::new(
            stack,
            &format!("DatabricksAccountGroup{n}"),
            provider,
            db::AccountGroup {
                account_id: account.clone(),
                display_name: group.name.as_str().into(),
            },
            after(Vec::new()),
        )?;
        let assignment = CustomResource::new(
            stack,
            &format!("DatabricksGroupAssignment{n}"),
            provider,
            db::WorkspaceAssignment {
                account_id: account.clone(),
                workspace_id: workspace_id.clone(),
                principal_id: account_group.attr(db::AccountGroupAttr::GroupId),
                permissions: db::WorkspacePermission::list([db::WorkspacePermission::User]),
            },
            after(Vec::new()),
        )?;
        let display_name = account_group.attr(db::AccountGroupAttr::DisplayName);
        let grants = catalogs
            .iter()
            .map(|(_, name)| db::SecurableGrant {
                securable_type: db::SecurableType::Catalog.into(),
                full_name: name.clone(),
                privileges: privileges(
                    group.access,
                    CATALOG_READ_PRIVILEGES,
                    CATALOG_WRITE_PRIVILEGES,
                ),
            })
            .chain(locations.iter().map(|name| db::SecurableGrant {
                securable_type: db::SecurableType::ExternalLocation.into(),
                full_name: name.clone(),
                privileges: privileges(
                    group.access,
                    LOCATION_READ_PRIVILEGES,
                    LOCATION_WRITE_PRIVILEGES,
                ),
            }))
            .collect();
        CustomResource::new(
            stack,
            &format!("DatabricksGrants{n}"),
            provider,
            db::Grants {
                workspace_url: workspace_url.clone(),
                principal: display_name.clone(),
                grants,
            },
            after(Vec::new()),
        )?;
        assignments.push(assignment.handle().erase());
        group_names.push(display_name);
    }
    Ok(UnityCatalog {
        metastore: assigned,
        assignments,
        group_names,
        outputs: UnityCatalogRef {
            metastore_id: metastore.attr(db::MetastoreAssignmentAttr::MetastoreId),
            catalogs,
        },
    })
}

/// What users must change when a `legacy_passthrough` environment becomes `unity_catalog`: one
/// note per resource only the passthrough mode has (`cdkrs diff` shows each as `removed: …`).
fn add_removal_notes(stack: &mut Stack, config: &Environment) {
    const READ_THROUGH_CATALOGS: &str = "notebooks and jobs that read or write s3:// paths of \
the raw, prepared and trusted buckets through the instance profile or credential passthrough \
must read and write through the Unity Catalog catalogs (tables) or external locations (paths) \
instead; the buckets and their data stay (README: Migrating from credential passthrough to \
Unity Catalog)";
    let roles = format!(
        "the meta role and the data roles go: {READ_THROUGH_CATALOGS}; Glue Data Catalog \
         tables are no longer reachable from the cluster (register them in the catalogs)"
    );
    let profile = format!(
        "clusters, jobs and pools may no longer use the meta instance profile: remove it from \
         their configuration; {READ_THROUGH_CATALOGS}"
    );
    let groups = "the workspace group goes and an account group of the same name takes its \
place (Unity Catalog grants only account groups): re-add its members in the account console or \
your identity provider, and re-grant anything granted to the old group outside this stack";
    for id in [
        "MetaRole",
        "MetaRoleDefaultPolicy",
        "DataReadRole",
        "DataReadRoleDefaultPolicy",
        "DataWriteRole",
        "DataWriteRoleDefaultPolicy",
    ] {
        add_removal_note(stack, id, &roles);
    }
    for id in ["MetaInstanceProfile", "DatabricksMetaInstanceProfile"] {
        add_removal_note(stack, id, &profile);
    }
    for i in 0..config.databricks().groups.len() {
        add_removal_note(stack, &passthrough_group_id(i), groups);
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

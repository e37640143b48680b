//! KMS keys and S3 buckets.

use cdkrs_constructs::bucket::{
    Bucket, BucketEncryption, BucketProps, LifecycleRule, SseEnforcement, Versioning,
};
use cdkrs_constructs::key::{Key, KeyProps};
use cdkrs_constructs::policy::{Condition, Principal, Statement};
use cdkrs_constructs::s3::bucket::StorageClass;
use cdkrs_constructs::{sub, ConstructError, Stack, Tag, Value};

use crate::model::{BucketName, Environment};
use crate::regions::DATABRICKS_AWS_ACCOUNT;

/// What Databricks' control plane does in the workspace root bucket (Databricks' root-bucket
/// policy, `databricks_aws_bucket_policy`); the S3 endpoint admits the same for Databricks'
/// principals.
pub const DATABRICKS_ROOT_BUCKET_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
];

/// Days a noncurrent object version of a versioned datalake bucket is kept: Databricks'
/// ceiling for buckets holding Delta tables ("Delta Lake limitations on S3": if you keep bucket
/// versioning, retain versions for 7 days or less).
pub const DATALAKE_NONCURRENT_DAYS: i64 = 7;

/// Days after which an unfinished multipart upload is aborted (its parts cost storage).
const ABORT_MULTIPART_DAYS: i64 = 7;

/// The name of `bucket`, as a template value (in the deploying account and region).
pub fn bucket_name(config: &Environment, bucket: BucketName) -> Value<String> {
    sub(config
        .names()
        .bucket(bucket, "${AWS::AccountId}", "${AWS::Region}"))
    .build()
}

/// The keys and buckets.
pub struct Storage {
    /// Root bucket, datalake buckets, workspace storage CMK (DBFS root and EBS).
    pub storage_key: Key,
    /// Logging buckets, cluster logs, the provider's log group.
    pub logging_key: Key,
    /// Receives S3 server-access logs and VPC flow logs (SSE-S3: S3 cannot deliver access logs
    /// into an SSE-KMS bucket).
    pub infra_logs: Bucket,
    /// Cluster logs, billable usage and audit logs.
    pub databricks_logs: Bucket,
    /// The workspace root (DBFS) bucket.
    pub root: Bucket,
    /// The raw, prepared and trusted datalake buckets, in that order.
    pub datalake: [Bucket; 3],
}

/// The lifecycle the seed meant for its logging buckets: Glacier after 30 days, gone after 180.
fn logging_lifecycle(id: &str) -> Vec<LifecycleRule> {
    vec![LifecycleRule {
        id: id.to_owned(),
        transitions: vec![(30, StorageClass::Glacier)],
        expiration_days: Some(180),
        noncurrent_expiration_days: Some(30),
        abort_incomplete_multipart_days: Some(7),
        ..Default::default()
    }]
}

/// Adds the two keys (without their Databricks statements, which need the cross-account role)
/// and the six buckets.
pub fn add(
    stack: &mut Stack,
    config: &Environment,
    tags: &[Tag],
) -> Result<Storage, ConstructError> {
    let key_tags = |name: &str| {
        let mut t = tags.to_vec();
        t.push(Tag::new("resource_name", name));
        t
    };
    let storage_key = Key::new(
        stack,
        "StorageKey",
        KeyProps {
            description: Some(
                "Databricks storage: root (DBFS) and datalake buckets, workspace storage and EBS"
                    .into(),
            ),
            alias: Some(format!("alias/{}", config.names().of("storage")).into()),
            tags: key_tags("storage"),
            ..Default::default()
        },
    )?;
    let logging_key = Key::new(
        stack,
        "LoggingKey",
        KeyProps {
            description: Some(
                "Databricks logging: log buckets, cluster logs, provider logs".into(),
            ),
            alias: Some(format!("alias/{}", config.names().of("logging")).into()),
            tags: key_tags("logging"),
            ..Default::default()
        },
    )?;

    let bucket_tags = |bucket: BucketName| {
        let mut t = tags.to_vec();
        t.push(Tag::new("resource_name", bucket_name(config, bucket)));
        t
    };
    let infra_logs = Bucket::new(
        stack,
        "InfraLogsBucket",
        BucketEncryption::S3Managed,
        BucketProps {
            bucket_name: Some(bucket_name(config, BucketName::InfraLogs)),
            lifecycle_rules: logging_lifecycle("archive-then-expire"),
            tags: bucket_tags(BucketName::InfraLogs),
            ..Default::default()
        },
    )?;
    let databricks_logs = Bucket::new(
        stack,
        "DatabricksLogsBucket",
        BucketEncryption::Kms(&logging_key),
        BucketProps {
            bucket_name: Some(bucket_name(config, BucketName::DatabricksLogs)),
            lifecycle_rules: logging_lifecycle("archive-then-expire"),
            tags: bucket_tags(BucketName::DatabricksLogs),
            ..Default::default()
        },
    )?;
    databricks_logs.log_access_to(stack, &infra_logs, "s3-access/databricks-logs/")?;

    // The SSE-KMS flags: "objects in these buckets are only ever encrypted with the storage
    // key". Uploads that ask for nothing get the bucket default (that key); uploads that ask for
    // anything else are denied.
    let enforce = |on: bool| {
        if on {
            SseEnforcement::DenyOtherKeys
        } else {
            SseEnforcement::Off
        }
    };
    let abort_multipart = |id: &str| LifecycleRule {
        id: id.to_owned(),
        abort_incomplete_multipart_days: Some(ABORT_MULTIPART_DAYS),
        ..Default::default()
    };
    // Versioning off, as the SRA's `root_s3_bucket.tf` and the seed had it: DBFS root is
    // Databricks-managed storage with heavy churn (cluster and job output, ephemeral files, the
    // Delta tables of the workspace's Hive warehouse); Databricks recommends against bucket
    // versioning under Delta ("Delta Lake limitations on S3"), and the data that matters lives
    // in the datalake buckets.
    let root = Bucket::new(
        stack,
        "RootBucket",
        BucketEncryption::Kms(&storage_key),
        BucketProps {
            bucket_name: Some(bucket_name(config, BucketName::Root)),
            versioning: Versioning::Disabled,
            lifecycle_rules: vec![abort_multipart("abort-incomplete-uploads")],
            sse_enforcement: enforce(config.encryption().enforce_sse_kms_root),
            tags: bucket_tags(BucketName::Root),
            ..Default::default()
        },
    )?;
    crate::environment::suppress(
        stack,
        root.handle(),
        &[(
            "CKV_AWS_21",
            "versioning is off on purpose: DBFS root holds Databricks-managed, high-churn files and Delta tables, which Databricks recommends not to version (Delta Lake limitations on S3); the SRA's root bucket is unversioned too",
        )],
    );
    root.log_access_to(stack, &infra_logs, "s3-access/root/")?;
    // Databricks' documented root-bucket statement, scoped to this Databricks account.
    root.add_to_resource_policy(
        stack,
        Statement::allow()
            .sid("AllowDatabricksControlPlane")
            .principal(Principal::account(DATABRICKS_AWS_ACCOUNT))
            .actions(DATABRICKS_ROOT_BUCKET_ACTIONS.iter().copied())
            .resources([root.arn(), root.arn_for_objects("*")])
            .condition(Condition::principal_tag(
                "DatabricksAccountId",
                config.databricks().account_id.as_str(),
            )),
    )?;

    // Versioning per zone. Raw holds what landed from the sources, often not reproducible and
    // often not Delta (files as delivered): versioned, so an overwrite or a delete can be
    // undone, with noncurrent versions expiring after 7 days, Databricks' ceiling for versioned
    // buckets under Delta tables. Prepared and trusted hold Delta tables derived from raw:
    // Delta keeps its own versions (time travel) and VACUUM's deletes must really delete, so
    // they follow Databricks' recommendation (no bucket versioning).
    let mut datalake = Vec::with_capacity(3);
    for (id, bucket, versioning) in [
        ("RawBucket", BucketName::Raw, Versioning::Enabled),
        ("PreparedBucket", BucketName::Prepared, Versioning::Disabled),
        ("TrustedBucket", BucketName::Trusted, Versioning::Disabled),
    ] {
        let lifecycle = match versioning {
            Versioning::Enabled => LifecycleRule {
                noncurrent_expiration_days: Some(DATALAKE_NONCURRENT_DAYS),
                ..abort_multipart("expire-noncurrent-versions")
            },
            Versioning::Disabled => abort_multipart("abort-incomplete-uploads"),
        };
        let b = Bucket::new(
            stack,
            id,
            BucketEncryption::Kms(&storage_key),
            BucketProps {
                bucket_name: Some(bucket_name(config, bucket)),
                versioning,
                lifecycle_rules: vec![lifecycle],
                sse_enforcement: enforce(config.encryption().enforce_sse_kms_datalake),
                tags: bucket_tags(bucket),
                ..Default::default()
            },
        )?;
        if versioning == Versioning::Disabled {
            crate::environment::suppress(
                stack,
                b.handle(),
                &[(
                    "CKV_AWS_21",
                    "versioning is off on purpose: this zone holds Delta tables, which keep their own versions; Databricks recommends against bucket versioning under Delta (Delta Lake limitations on S3)",
                )],
            );
        }
        b.log_access_to(
            stack,
            &infra_logs,
            &format!("s3-access/{}/", bucket.suffix()),
        )?;
        datalake.push(b);
    }
    let datalake: [Bucket; 3] = datalake
        .try_into()
        .unwrap_or_else(|_| unreachable!("three datalake buckets were made"));
    Ok(Storage {
        storage_key,
        logging_key,
        infra_logs,
        databricks_logs,
        root,
        datalake,
    })
}

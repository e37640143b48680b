//! `Bucket`: an S3 bucket that is encrypted, versioned, private, owner-enforced, TLS-only and
//! retained unless its props say otherwise, with grants and server-access logging.

use crate::error::ConstructError;
use crate::key::{foreign, Key, Removal, KEY_READ_ACTIONS, KEY_READ_WRITE_ACTIONS};
use crate::policy::{append_statement, Condition, Grant, PolicyDocument, Principal, Statement};
use crate::role::Role;
use crate::s3::{bucket as p, CfnBucket, CfnBucketPolicy};
use crate::{sub, Handle, Stack, Tag, Value};

/// Actions to read objects and list the bucket.
pub const BUCKET_READ_ACTIONS: &[&str] = &["s3:GetBucketLocation", "s3:GetObject*", "s3:List*"];
/// Actions to write and delete objects.
pub const BUCKET_WRITE_ACTIONS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:DeleteObject*",
    "s3:PutObject",
    "s3:PutObjectLegalHold",
    "s3:PutObjectRetention",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
];
/// Actions to put objects only (log writers).
pub const BUCKET_PUT_ACTIONS: &[&str] = &["s3:AbortMultipartUpload", "s3:PutObject"];
/// Actions on the objects under one prefix for a service that delivers files there and manages
/// them (Databricks' audit and billable-usage log delivery, cluster log delivery): write (with
/// the `bucket-owner-full-control` ACL such services send), read back, overwrite, delete, and
/// list or abort the parts of its multipart uploads.
pub const PREFIX_DELIVERY_OBJECT_ACTIONS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
    "s3:PutObjectAcl",
];
/// Bucket actions of the same delivery, `s3:ListBucket` limited to the prefix by `s3:prefix`.
pub const PREFIX_DELIVERY_LIST_ACTIONS: &[&str] = &["s3:ListBucket"];
/// Bucket actions of the same delivery that take no prefix.
pub const PREFIX_DELIVERY_BUCKET_ACTIONS: &[&str] = &["s3:GetBucketLocation"];

/// How a bucket's objects are encrypted at rest. The key has no safe default, so this is an
/// argument of [`Bucket::new`].
#[derive(Clone, Copy, Debug)]
pub enum BucketEncryption<'a> {
    /// SSE-KMS with this customer-managed key and an S3 bucket key.
    Kms(&'a Key),
    /// SSE-S3 (AES256). Needed for buckets that receive S3 server-access logs, which S3 cannot
    /// deliver into an SSE-KMS bucket.
    S3Managed,
}

/// Object versioning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Versioning {
    /// Keep every version (protects against overwrite and delete).
    #[default]
    Enabled,
    /// No versioning (an explicit opt-out).
    Disabled,
}

/// Bucket-policy denials that keep every object of an SSE-KMS bucket encrypted with the
/// bucket's own key (what the seed's "client-side encryption" flags meant).
///
/// | a `PutObject` (also copy, multipart create) that sends … | [`Off`](Self::Off) | [`DenyOtherKeys`](Self::DenyOtherKeys) |
/// | --- | --- | --- |
/// | no encryption header | bucket default: this key | bucket default: this key |
/// | `aws:kms` with this key's ARN or id | this key | this key |
/// | `aws:kms` without a key id (S3 then uses `aws/s3`) | `aws/s3` | denied |
/// | `aws:kms` with another key (or an alias) | that key | denied |
/// | `AES256`, `aws:kms:dsse` | that algorithm | denied |
///
/// Writers never have to send a header, so every client that relies on default encryption keeps
/// working (Databricks' own writes to the root bucket, jobs, SQL warehouses, the AWS CLI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SseEnforcement {
    /// No denial: a writer may ask for another algorithm or key.
    #[default]
    Off,
    /// Deny uploads that ask for another algorithm, for SSE-KMS without a key id (S3 would use
    /// the AWS managed key `aws/s3`) or for another key. Needs [`BucketEncryption::Kms`].
    DenyOtherKeys,
}

/// The request header naming the server-side encryption algorithm.
const SSE_HEADER: &str = "s3:x-amz-server-side-encryption";
/// The request header naming the KMS key (ARN, key id or alias).
const SSE_KEY_HEADER: &str = "s3:x-amz-server-side-encryption-aws-kms-key-id";

/// The three `Deny` statements of [`SseEnforcement::DenyOtherKeys`] for `key`.
///
/// IAM's missing-key rule drives the shape: a negated operator (`StringNotEquals`) on a key the
/// request does not carry evaluates to *true*, and so does every `…IfExists` operator. A bare
/// `StringNotEquals` on the header would therefore deny every upload without the header (the
/// old enforcement did: only clients that sent the header could write, and `UploadPart`, which
/// never carries it, was denied too). Each statement pairs its test with `Null: false` on the
/// same key, so it only ever judges a header that is present; a request without headers gets the
/// bucket's default encryption.
fn deny_other_keys(objects: &Value<String>, key: &Key) -> [Statement; 3] {
    let deny = |sid: &str| {
        Statement::deny()
            .sid(sid)
            .principal(Principal::Everyone)
            .actions(["s3:PutObject"])
            .resource(objects.clone())
    };
    let present = |header: &str| Condition::new("Null", header, ["false".into()]);
    [
        // AES256, aws:kms:dsse or anything else that is not SSE-KMS.
        deny("DenyOtherEncryptionAlgorithms")
            .condition(Condition::new(
                "StringNotEquals",
                SSE_HEADER,
                ["aws:kms".into()],
            ))
            .condition(present(SSE_HEADER)),
        // `aws:kms` alone: S3 encrypts with the AWS managed key `aws/s3`, not the bucket's.
        deny("DenySseKmsWithoutKeyId")
            .condition(present(SSE_HEADER))
            .condition(Condition::new("Null", SSE_KEY_HEADER, ["true".into()])),
        // Another key. The header may carry this key's ARN or its id; both are this key.
        deny("DenyOtherKmsKeys")
            .condition(Condition::new(
                "StringNotEquals",
                SSE_KEY_HEADER,
                [key.arn(), key.key_id()],
            ))
            .condition(present(SSE_KEY_HEADER)),
    ]
}

/// A lifecycle rule.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LifecycleRule {
    /// Rule id.
    pub id: String,
    /// Object key prefix the rule applies to. Default: the whole bucket.
    pub prefix: Option<String>,
    /// Transitions: `(days after creation, storage class)`. Default: none.
    pub transitions: Vec<(i64, p::StorageClass)>,
    /// Expire current versions after this many days. Default: never.
    pub expiration_days: Option<i64>,
    /// Expire noncurrent versions after this many days. Default: never.
    pub noncurrent_expiration_days: Option<i64>,
    /// Abort incomplete multipart uploads after this many days. Default: never.
    pub abort_incomplete_multipart_days: Option<i64>,
}

/// Props of a [`Bucket`].
#[derive(Clone, Debug, Default)]
pub struct BucketProps {
    /// `BucketName`. Default: generated by CloudFormation.
    pub bucket_name: Option<Value<String>>,
    /// Versioning. Default: enabled.
    pub versioning: Versioning,
    /// Lifecycle rules. Default: none.
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// Denials of uploads that ask for another algorithm or key. Default: off (default
    /// encryption still applies to uploads that ask for nothing).
    pub sse_enforcement: SseEnforcement,
    /// Removal. Default: retained.
    pub removal: Removal,
    /// Tags. Default: none.
    pub tags: Vec<Tag>,
}

/// An S3 bucket with its bucket policy.
#[derive(Clone, Debug)]
pub struct Bucket {
    id: String,
    handle: Handle<CfnBucket>,
    policy: Handle<CfnBucketPolicy>,
    key: Option<Key>,
}

impl Bucket {
    /// Adds a bucket and its policy (`<id>Policy`) denying plain-HTTP access.
    pub fn new(
        stack: &mut Stack,
        id: &str,
        encryption: BucketEncryption<'_>,
        props: BucketProps,
    ) -> Result<Bucket, ConstructError> {
        let err = |field: &str, msg: String| ConstructError::new("Bucket", id, field, msg);
        if let Some(name) = props.bucket_name.as_ref().and_then(Value::as_literal_json) {
            let name = name.as_str().unwrap_or_default();
            if let Some(rule) = bucket_name_problem(name) {
                return Err(err("bucket_name", format!("`{name}` {rule}")));
            }
        }
        let key = match encryption {
            BucketEncryption::Kms(k) => Some(k.clone()),
            BucketEncryption::S3Managed => None,
        };
        if props.sse_enforcement != SseEnforcement::Off && key.is_none() {
            return Err(err(
                "sse_enforcement",
                "SSE-KMS enforcement needs a KMS-encrypted bucket (BucketEncryption::Kms)".into(),
            ));
        }
        let mut rules = Vec::new();
        for (i, r) in props.lifecycle_rules.iter().enumerate() {
            rules.push(lifecycle_rule(r).map_err(|m| err(&format!("lifecycle_rules[{i}]"), m))?);
        }

        let by_default = match &key {
            Some(k) => p::ServerSideEncryptionByDefault {
                kms_master_key_id: Some(k.arn()),
                ..p::ServerSideEncryptionByDefault::new(p::SseAlgorithm::AwsKms)
            },
            None => p::ServerSideEncryptionByDefault::new(p::SseAlgorithm::Aes256),
        };
        let l1 = CfnBucket {
            bucket_name: props.bucket_name,
            bucket_encryption: Some(p::BucketEncryption::new(vec![
                p::ServerSideEncryptionRule {
                    bucket_key_enabled: key.as_ref().map(|_| true.into()),
                    server_side_encryption_by_default: Some(by_default),
                    ..Default::default()
                },
            ])),
            versioning_configuration: (props.versioning == Versioning::Enabled).then(|| {
                p::VersioningConfiguration::new(p::VersioningConfigurationStatus::Enabled)
            }),
            public_access_block_configuration: Some(p::PublicAccessBlockConfiguration {
                block_public_acls: Some(true.into()),
                block_public_policy: Some(true.into()),
                ignore_public_acls: Some(true.into()),
                restrict_public_buckets: Some(true.into()),
            }),
            ownership_controls: Some(p::OwnershipControls::new(vec![p::OwnershipControlsRule {
                object_ownership: Some(p::ObjectOwnership::BucketOwnerEnforced.into()),
            }])),
            lifecycle_configuration: (!rules.is_empty())
                .then(|| p::LifecycleConfiguration::new(rules)),
            tags: (!props.tags.is_empty()).then_some(props.tags),
            ..Default::default()
        };
        let handle = stack.add_with(id, l1, props.removal.options());
        let arn = handle.attr_arn();
        let objects = sub("${Arn}/*").var("Arn", arn.clone()).build();
        let mut doc = PolicyDocument::of([Statement::deny()
            .sid("DenyInsecureTransport")
            .principal(Principal::Everyone)
            .actions(["s3:*"])
            .resources([arn, objects.clone()])
            .condition(Condition::secure_transport(false))]);
        if let (SseEnforcement::DenyOtherKeys, Some(k)) = (props.sse_enforcement, &key) {
            for statement in deny_other_keys(&objects, k) {
                doc.add(statement);
            }
        }
        let policy = stack.add(
            &format!("{id}Policy"),
            CfnBucketPolicy::new(handle.reference(), doc.to_value()),
        );
        Ok(Bucket {
            id: id.to_owned(),
            handle,
            policy,
            key,
        })
    }

    /// `Ref` (the bucket name).
    pub fn name(&self) -> Value<String> {
        self.handle.reference()
    }

    /// `Fn::GetAtt Bucket.Arn`.
    pub fn arn(&self) -> Value<String> {
        self.handle.attr_arn()
    }

    /// `<arn>/<pattern>`: object ARNs (`"*"` for all objects).
    pub fn arn_for_objects(&self, pattern: &str) -> Value<String> {
        sub(format!("${{Arn}}/{pattern}"))
            .var("Arn", self.arn())
            .build()
    }

    /// The L1 handle.
    pub fn handle(&self) -> &Handle<CfnBucket> {
        &self.handle
    }

    /// The bucket policy's handle.
    pub fn policy_handle(&self) -> &Handle<CfnBucketPolicy> {
        &self.policy
    }

    /// The encryption key, for SSE-KMS buckets.
    pub fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// Adds a statement to the bucket policy.
    pub fn add_to_resource_policy(
        &self,
        stack: &mut Stack,
        statement: Statement,
    ) -> Result<(), ConstructError> {
        if statement.allows_everyone() {
            return Err(ConstructError::new(
                "Bucket",
                &self.id,
                "policy",
                "a bucket policy statement may not allow `*` principals: the bucket stays private",
            ));
        }
        let stack_name = stack.name().to_owned();
        let policy = stack
            .resource_mut(&self.policy)
            .ok_or_else(|| foreign("Bucket", &self.id, &stack_name))?;
        append_statement(&mut policy.policy_document, &statement, "Bucket", &self.id)?;
        Ok(())
    }

    /// Sends this bucket's S3 server-access logs to `target` under `prefix`, and lets the S3
    /// logging service write there (scoped to this bucket and account). The target must use
    /// SSE-S3.
    pub fn log_access_to(
        &self,
        stack: &mut Stack,
        target: &Bucket,
        prefix: &str,
    ) -> Result<(), ConstructError> {
        if target.key.is_some() {
            return Err(ConstructError::new(
                "Bucket",
                &self.id,
                "server_access_logs",
                format!(
                    "target `{}` is SSE-KMS encrypted; S3 delivers server-access logs only into SSE-S3 buckets (BucketEncryption::S3Managed)",
                    target.id
                ),
            ));
        }
        if target.id == self.id {
            return Err(ConstructError::new(
                "Bucket",
                &self.id,
                "server_access_logs",
                "a bucket cannot log its own access (each log write would log again)",
            ));
        }
        let stack_name = stack.name().to_owned();
        let l1 = stack
            .resource_mut(&self.handle)
            .ok_or_else(|| foreign("Bucket", &self.id, &stack_name))?;
        l1.logging_configuration = Some(p::LoggingConfiguration {
            destination_bucket_name: Some(target.name()),
            log_file_prefix: Some(prefix.into()),
            ..Default::default()
        });
        crate::metadata::skip_checkov(
            stack,
            target.handle(),
            &[(
                "CKV_AWS_18",
                "this bucket receives the S3 server-access logs; logging its own access would log every log write again",
            )],
        );
        target.add_to_resource_policy(
            stack,
            Statement::allow()
                .sid(&format!("S3ServerAccessLogsFrom{}", self.id))
                .principal(Principal::service("logging.s3.amazonaws.com"))
                .actions(["s3:PutObject"])
                .resource(target.arn_for_objects(&format!("{prefix}*")))
                .condition(Condition::source_arn(self.arn()))
                .condition(Condition::source_account_self()),
        )
    }

    /// Lets `role` read objects (and decrypt them).
    pub fn grant_read(&self, stack: &mut Stack, role: &Role) -> Result<Grant, ConstructError> {
        self.grant(stack, role, BUCKET_READ_ACTIONS, KEY_READ_ACTIONS, true)
    }

    /// Lets `role` read, write and delete objects (and use the key both ways).
    pub fn grant_read_write(
        &self,
        stack: &mut Stack,
        role: &Role,
    ) -> Result<Grant, ConstructError> {
        let actions: Vec<&str> = BUCKET_READ_ACTIONS
            .iter()
            .chain(BUCKET_WRITE_ACTIONS)
            .copied()
            .collect();
        self.grant(stack, role, &actions, KEY_READ_WRITE_ACTIONS, true)
    }

    /// Lets `role` put objects only (log writers). Every put action applies to objects only, so
    /// the grant names the objects, not the bucket (an object action on a bucket ARN grants
    /// nothing: AWS's Service Authorization Reference, `s3:PutObject` takes `object` only).
    pub fn grant_put(&self, stack: &mut Stack, role: &Role) -> Result<Grant, ConstructError> {
        self.grant(
            stack,
            role,
            BUCKET_PUT_ACTIONS,
            KEY_READ_WRITE_ACTIONS,
            false,
        )
    }

    /// Lets `role` deliver files under each of `prefixes` and manage them there, and nothing
    /// elsewhere in the bucket: the bucket's location, a listing limited to the prefixes, the
    /// [`PREFIX_DELIVERY_OBJECT_ACTIONS`] on `<prefix>/*`, and the key both ways. A prefix has
    /// no leading or trailing `/` and no wildcard.
    pub fn grant_prefix_delivery(
        &self,
        stack: &mut Stack,
        role: &Role,
        prefixes: &[&str],
    ) -> Result<Grant, ConstructError> {
        let bad = prefixes.iter().find(|p| {
            p.is_empty() || p.starts_with('/') || p.ends_with('/') || p.contains(['*', '?'])
        });
        if prefixes.is_empty() || bad.is_some() {
            return Err(ConstructError::new(
                "Bucket",
                &self.id,
                "grant_prefix_delivery",
                format!(
                    "prefix `{}` must be non-empty, without a leading or trailing `/` and without `*` or `?`",
                    bad.copied().unwrap_or_default()
                ),
            ));
        }
        let statements = vec![
            Statement::allow()
                .actions(PREFIX_DELIVERY_BUCKET_ACTIONS.iter().copied())
                .resource(self.arn()),
            Statement::allow()
                .actions(PREFIX_DELIVERY_LIST_ACTIONS.iter().copied())
                .resource(self.arn())
                .condition(Condition::new(
                    "StringLike",
                    "s3:prefix",
                    prefixes
                        .iter()
                        .flat_map(|p| [(*p).into(), format!("{p}/*").into()]),
                )),
            Statement::allow()
                .actions(PREFIX_DELIVERY_OBJECT_ACTIONS.iter().copied())
                .resources(
                    prefixes
                        .iter()
                        .map(|p| self.arn_for_objects(&format!("{p}/*"))),
                ),
        ];
        self.attach(stack, role, statements, KEY_READ_WRITE_ACTIONS)
    }

    fn grant(
        &self,
        stack: &mut Stack,
        role: &Role,
        actions: &[&str],
        key_actions: &[&str],
        bucket_level: bool,
    ) -> Result<Grant, ConstructError> {
        let resources = if bucket_level {
            vec![self.arn(), self.arn_for_objects("*")]
        } else {
            vec![self.arn_for_objects("*")]
        };
        let statements = vec![Statement::allow()
            .actions(actions.iter().copied())
            .resources(resources)];
        self.attach(stack, role, statements, key_actions)
    }

    /// Adds `statements` to `role`'s policy, and `key_actions` on the bucket's key when it has
    /// one: a grant on an encrypted bucket also grants on its key.
    fn attach(
        &self,
        stack: &mut Stack,
        role: &Role,
        mut statements: Vec<Statement>,
        key_actions: &[&str],
    ) -> Result<Grant, ConstructError> {
        if let Some(k) = &self.key {
            statements.push(
                Statement::allow()
                    .actions(key_actions.iter().copied())
                    .resource(k.arn()),
            );
        }
        for s in &statements {
            role.add_to_policy(stack, s.clone())?;
        }
        Ok(Grant { statements })
    }
}

fn lifecycle_rule(r: &LifecycleRule) -> Result<p::Rule, String> {
    if r.id.is_empty() || r.id.len() > 255 {
        return Err("the rule id must have 1 to 255 characters".into());
    }
    let days = [
        ("expiration_days", r.expiration_days),
        ("noncurrent_expiration_days", r.noncurrent_expiration_days),
        (
            "abort_incomplete_multipart_days",
            r.abort_incomplete_multipart_days,
        ),
    ];
    for (what, d) in days {
        if let Some(d) = d {
            if d < 1 {
                return Err(format!("{what} is {d}; it must be at least 1"));
            }
        }
    }
    for (days, _) in &r.transitions {
        if let Some(exp) = r.expiration_days {
            if *days >= exp {
                return Err(format!(
                    "a transition after {days} days comes at or after the expiration ({exp} days)"
                ));
            }
        }
    }
    let transitions: Vec<p::Transition> = r
        .transitions
        .iter()
        .map(|(days, class)| p::Transition {
            transition_in_days: Some((*days).into()),
            ..p::Transition::new(*class)
        })
        .collect();
    Ok(p::Rule {
        id: Some(r.id.as_str().into()),
        prefix: r.prefix.as_deref().map(Value::from),
        expiration_in_days: r.expiration_days.map(Value::from),
        noncurrent_version_expiration: r
            .noncurrent_expiration_days
            .map(p::NoncurrentVersionExpiration::new),
        abort_incomplete_multipart_upload: r
            .abort_incomplete_multipart_days
            .map(p::AbortIncompleteMultipartUpload::new),
        transitions: (!transitions.is_empty()).then_some(transitions),
        ..p::Rule::new(p::RuleStatus::Enabled)
    })
}

/// Why `name` is not a valid S3 bucket name (general-purpose buckets), if it is not.
pub fn bucket_name_problem(name: &str) -> Option<&'static str> {
    if !(3..=63).contains(&name.len()) {
        return Some("must have 3 to 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Some("may hold only lowercase letters, digits, dots and hyphens");
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Some("must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return Some("may not hold two adjacent dots");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some("may not look like an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") || name.starts_with("amzn-s3-demo-")
    {
        return Some("may not start with a reserved prefix (xn--, sthree-, amzn-s3-demo-)");
    }
    if name.ends_with("-s3alias") || name.ends_with("--ol-s3") || name.ends_with(".mrap") {
        return Some("may not end with a reserved suffix (-s3alias, --ol-s3, .mrap)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyProps;
    use crate::role::{service_trust, RoleProps};
    use serde_json::json;

    fn kms_bucket(stack: &mut Stack, props: BucketProps) -> (Key, Bucket) {
        let key = Key::new(stack, "Key", KeyProps::default()).unwrap();
        let b = Bucket::new(stack, "Data", BucketEncryption::Kms(&key), props).unwrap();
        (key, b)
    }

    #[test]
    fn bucket_defaults_are_secure() {
        let mut stack = Stack::new("t");
        kms_bucket(&mut stack, BucketProps::default());
        let t = stack.synth().unwrap();
        let b = t.resource("Data").unwrap();
        assert_eq!(b["DeletionPolicy"], "Retain");
        assert_eq!(b["UpdateReplacePolicy"], "Retain");
        let p = &b["Properties"];
        assert_eq!(
            p["BucketEncryption"],
            json!({"ServerSideEncryptionConfiguration": [{
                "BucketKeyEnabled": true,
                "ServerSideEncryptionByDefault": {
                    "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]},
                    "SSEAlgorithm": "aws:kms"
                }
            }]})
        );
        assert_eq!(p["VersioningConfiguration"], json!({"Status": "Enabled"}));
        assert_eq!(
            p["PublicAccessBlockConfiguration"],
            json!({"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true})
        );
        assert_eq!(
            p["OwnershipControls"],
            json!({"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        );
        let policy = t.resource("DataPolicy").unwrap();
        assert_eq!(policy["Properties"]["Bucket"], json!({"Ref": "Data"}));
        assert_eq!(
            policy["Properties"]["PolicyDocument"]["Statement"][0],
            json!({
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [
                    {"Fn::GetAtt": ["Data", "Arn"]},
                    {"Fn::Sub": ["${Arn}/*", {"Arn": {"Fn::GetAtt": ["Data", "Arn"]}}]}
                ],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            })
        );
    }

    #[test]
    fn s3_managed_bucket_uses_aes256_without_bucket_key() {
        let mut stack = Stack::new("t");
        Bucket::new(
            &mut stack,
            "Logs",
            BucketEncryption::S3Managed,
            BucketProps::default(),
        )
        .unwrap();
        let t = stack.synth().unwrap();
        assert_eq!(
            t.resource("Logs").unwrap()["Properties"]["BucketEncryption"],
            json!({"ServerSideEncryptionConfiguration": [{
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}
            }]})
        );
    }

    #[test]
    fn sse_enforcement_denies_other_keys_and_judges_only_headers_that_are_present() {
        let mut stack = Stack::new("t");
        kms_bucket(
            &mut stack,
            BucketProps {
                sse_enforcement: SseEnforcement::DenyOtherKeys,
                ..Default::default()
            },
        );
        let t = stack.synth().unwrap();
        let st = &t.resource("DataPolicy").unwrap()["Properties"]["PolicyDocument"]["Statement"];
        let objects = json!({"Fn::Sub": ["${Arn}/*", {"Arn": {"Fn::GetAtt": ["Data", "Arn"]}}]});
        assert_eq!(
            st[1],
            json!({
                "Sid": "DenyOtherEncryptionAlgorithms",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "Null": {"s3:x-amz-server-side-encryption": "false"},
                    "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}
                }
            })
        );
        assert_eq!(st[2]["Sid"], "DenySseKmsWithoutKeyId");
        assert_eq!(
            st[2]["Condition"],
            json!({"Null": {
                "s3:x-amz-server-side-encryption": "false",
                "s3:x-amz-server-side-encryption-aws-kms-key-id": "true"
            }})
        );
        assert_eq!(st[3]["Sid"], "DenyOtherKmsKeys");
        assert_eq!(
            st[3]["Condition"],
            json!({
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": [
                    {"Fn::GetAtt": ["Key", "Arn"]},
                    {"Ref": "Key"}
                ]}
            })
        );
        // No statement tests a header with a negated or `IfExists` operator alone: a request
        // without the headers (default encryption) matches no Deny.
        for s in st.as_array().unwrap().iter().skip(1) {
            let c = s["Condition"].as_object().unwrap();
            assert!(c.contains_key("Null"), "{s}");
            assert!(c.keys().all(|op| !op.ends_with("IfExists")), "{s}");
        }
        let e = Bucket::new(
            &mut stack,
            "Plain",
            BucketEncryption::S3Managed,
            BucketProps {
                sse_enforcement: SseEnforcement::DenyOtherKeys,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Bucket `Plain`: sse_enforcement: SSE-KMS enforcement needs a KMS-encrypted bucket (BucketEncryption::Kms)"
        );
    }

    #[test]
    fn sse_enforcement_off_adds_no_denial() {
        let mut stack = Stack::new("t");
        kms_bucket(&mut stack, BucketProps::default());
        let t = stack.synth().unwrap();
        let st = &t.resource("DataPolicy").unwrap()["Properties"]["PolicyDocument"]["Statement"];
        assert_eq!(st.as_array().unwrap().len(), 1);
    }

    #[test]
    fn prefix_delivery_grant_stays_under_its_prefix() {
        let mut stack = Stack::new("t");
        let (_key, data) = kms_bucket(&mut stack, BucketProps::default());
        let role = Role::new(
            &mut stack,
            "Writer",
            service_trust("ec2.amazonaws.com"),
            RoleProps::default(),
        )
        .unwrap();
        let g = data
            .grant_prefix_delivery(&mut stack, &role, &["audit-logs", "usage"])
            .unwrap();
        assert_eq!(g.statements.len(), 4);
        for a in [
            "s3:DeleteObject",
            "s3:PutObjectAcl",
            "s3:GetBucketLocation",
            "kms:GenerateDataKey*",
        ] {
            assert!(g.actions().contains(&a), "{a}");
        }
        let t = stack.synth().unwrap();
        let st = &t.resource("WriterDefaultPolicy").unwrap()["Properties"]["PolicyDocument"]
            ["Statement"];
        assert_eq!(st[0]["Resource"], json!({"Fn::GetAtt": ["Data", "Arn"]}));
        assert_eq!(
            st[1]["Condition"],
            json!({"StringLike": {"s3:prefix": ["audit-logs", "audit-logs/*", "usage", "usage/*"]}})
        );
        assert_eq!(
            st[2]["Resource"],
            json!([
                {"Fn::Sub": ["${Arn}/audit-logs/*", {"Arn": {"Fn::GetAtt": ["Data", "Arn"]}}]},
                {"Fn::Sub": ["${Arn}/usage/*", {"Arn": {"Fn::GetAtt": ["Data", "Arn"]}}]}
            ])
        );
        for bad in ["", "/x", "x/", "a*"] {
            let e = data
                .grant_prefix_delivery(&mut stack, &role, &["ok", bad])
                .unwrap_err();
            assert!(e.to_string().contains("must be non-empty"), "{bad}: {e}");
        }
    }

    #[test]
    fn access_logs_go_to_an_sse_s3_bucket_only() {
        let mut stack = Stack::new("t");
        let (_key, data) = kms_bucket(&mut stack, BucketProps::default());
        let logs = Bucket::new(
            &mut stack,
            "Logs",
            BucketEncryption::S3Managed,
            BucketProps::default(),
        )
        .unwrap();
        data.log_access_to(&mut stack, &logs, "s3/data/").unwrap();
        let t = stack.synth().unwrap();
        assert_eq!(
            t.resource("Data").unwrap()["Properties"]["LoggingConfiguration"],
            json!({"DestinationBucketName": {"Ref": "Logs"}, "LogFilePrefix": "s3/data/"})
        );
        let st = &t.resource("LogsPolicy").unwrap()["Properties"]["PolicyDocument"]["Statement"][1];
        assert_eq!(
            st["Principal"],
            json!({"Service": "logging.s3.amazonaws.com"})
        );
        assert_eq!(
            st["Condition"]["ArnLike"],
            json!({"aws:SourceArn": {"Fn::GetAtt": ["Data", "Arn"]}})
        );
        let e = logs.log_access_to(&mut stack, &data, "x/").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Bucket `Logs`: server_access_logs: target `Data` is SSE-KMS encrypted; S3 delivers server-access logs only into SSE-S3 buckets (BucketEncryption::S3Managed)"
        );
    }

    #[test]
    fn grants_cover_bucket_objects_and_key() {
        let mut stack = Stack::new("t");
        let (_key, data) = kms_bucket(&mut stack, BucketProps::default());
        let role = Role::new(
            &mut stack,
            "Reader",
            service_trust("ec2.amazonaws.com"),
            RoleProps::default(),
        )
        .unwrap();
        let g = data.grant_read(&mut stack, &role).unwrap();
        assert_eq!(g.statements.len(), 2);
        assert!(g.actions().contains(&"s3:GetObject*"));
        assert!(g.actions().contains(&"kms:Decrypt"));
        assert!(!g.actions().contains(&"s3:PutObject"));
        let g = data.grant_read_write(&mut stack, &role).unwrap();
        assert!(g.actions().contains(&"s3:PutObject"));
        assert!(g.actions().contains(&"kms:GenerateDataKey*"));
        let t = stack.synth().unwrap();
        let st = &t.resource("ReaderDefaultPolicy").unwrap()["Properties"]["PolicyDocument"]
            ["Statement"][0];
        assert_eq!(
            st["Resource"],
            json!([
                {"Fn::GetAtt": ["Data", "Arn"]},
                {"Fn::Sub": ["${Arn}/*", {"Arn": {"Fn::GetAtt": ["Data", "Arn"]}}]}
            ])
        );
    }

    #[test]
    fn a_put_grant_names_the_objects_only() {
        let mut stack = Stack::new("t");
        let (_key, data) = kms_bucket(&mut stack, BucketProps::default());
        let role = Role::new(
            &mut stack,
            "Writer",
            service_trust("ec2.amazonaws.com"),
            RoleProps::default(),
        )
        .unwrap();
        let g = data.grant_put(&mut stack, &role).unwrap();
        assert!(g.actions().contains(&"s3:PutObject"));
        let t = stack.synth().unwrap();
        let st = &t.resource("WriterDefaultPolicy").unwrap()["Properties"]["PolicyDocument"]
            ["Statement"][0];
        assert_eq!(
            st["Resource"],
            json!({"Fn::Sub": ["${Arn}/*", {"Arn": {"Fn::GetAtt": ["Data", "Arn"]}}]})
        );
    }

    #[test]
    fn lifecycle_rules_render_and_are_checked() {
        let mut stack = Stack::new("t");
        Bucket::new(
            &mut stack,
            "Logs",
            BucketEncryption::S3Managed,
            BucketProps {
                lifecycle_rules: vec![LifecycleRule {
                    id: "archive".into(),
                    transitions: vec![(30, p::StorageClass::Glacier)],
                    expiration_days: Some(180),
                    noncurrent_expiration_days: Some(30),
                    abort_incomplete_multipart_days: Some(7),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .unwrap();
        let t = stack.synth().unwrap();
        assert_eq!(
            t.resource("Logs").unwrap()["Properties"]["LifecycleConfiguration"],
            json!({"Rules": [{
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                "ExpirationInDays": 180,
                "Id": "archive",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "Status": "Enabled",
                "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 30}]
            }]})
        );
        let e = Bucket::new(
            &mut stack,
            "Bad",
            BucketEncryption::S3Managed,
            BucketProps {
                lifecycle_rules: vec![LifecycleRule {
                    id: "x".into(),
                    transitions: vec![(200, p::StorageClass::Glacier)],
                    expiration_days: Some(180),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Bucket `Bad`: lifecycle_rules[0]: a transition after 200 days comes at or after the expiration (180 days)"
        );
    }

    #[test]
    fn bucket_names_are_validated() {
        let mut stack = Stack::new("t");
        let e = Bucket::new(
            &mut stack,
            "B",
            BucketEncryption::S3Managed,
            BucketProps {
                bucket_name: Some("My_Bucket".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Bucket `B`: bucket_name: `My_Bucket` may hold only lowercase letters, digits, dots and hyphens"
        );
        assert_eq!(
            bucket_name_problem("ab"),
            Some("must have 3 to 63 characters")
        );
        assert_eq!(
            bucket_name_problem(&"a".repeat(64)),
            Some("must have 3 to 63 characters")
        );
        assert_eq!(
            bucket_name_problem("-abc"),
            Some("must begin and end with a letter or digit")
        );
        assert_eq!(
            bucket_name_problem("a..b"),
            Some("may not hold two adjacent dots")
        );
        assert_eq!(
            bucket_name_problem("10.0.0.1"),
            Some("may not look like an IP address")
        );
        assert!(bucket_name_problem("xn--abc").is_some());
        assert!(bucket_name_problem("abc-s3alias").is_some());
        assert_eq!(bucket_name_problem("my-data-bucket-123"), None);
    }

    #[test]
    fn a_policy_replaced_through_the_l1_is_not_silently_overwritten() {
        let mut stack = Stack::new("t");
        let (_k, b) = kms_bucket(&mut stack, BucketProps::default());
        stack
            .resource_mut(b.policy_handle())
            .unwrap()
            .policy_document = Value::from(json!("{\"Version\": \"2012-10-17\"}"));
        let e = b
            .add_to_resource_policy(
                &mut stack,
                Statement::allow()
                    .principal(Principal::account_root())
                    .actions(["s3:GetObject"])
                    .resource(b.arn_for_objects("*")),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Bucket `Data`: policy: its policy document was replaced through the L1 resource; add the statement there"
        );
    }

    #[test]
    fn bucket_policy_refuses_public_allow() {
        let mut stack = Stack::new("t");
        let (_k, b) = kms_bucket(&mut stack, BucketProps::default());
        let e = b
            .add_to_resource_policy(
                &mut stack,
                Statement::allow()
                    .principal(Principal::Everyone)
                    .actions(["s3:GetObject"])
                    .resource(b.arn_for_objects("*")),
            )
            .unwrap_err();
        assert!(e.to_string().contains("may not allow `*` principals"));
    }
}

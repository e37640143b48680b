//! The `cdkrs-bootstrap` stack: the KMS key and the assets bucket `cdkrs deploy` publishes the
//! provider zip (and templates over the inline limit) to, as `cdk bootstrap` does for CDK.

use cdkrs_constructs::bucket::{Bucket, BucketEncryption, BucketProps, LifecycleRule};
use cdkrs_constructs::deployment::{BootstrapContract, Deployment};
use cdkrs_constructs::key::{Key, KeyProps};
use cdkrs_constructs::metadata::skip_checkov;
use cdkrs_constructs::{sub, ConstructError, Output, Stack, Tag};

/// The bootstrap stack's name (one per account and region).
pub const STACK_NAME: &str = "cdkrs-bootstrap";
/// The output naming the assets bucket.
pub const BUCKET_OUTPUT: &str = "AssetsBucketName";
/// The assets bucket's logical id (deploy falls back to its physical id when outputs are missing).
pub const BUCKET_ID: &str = "AssetsBucket";
/// The output holding the key's ARN.
pub const KEY_OUTPUT: &str = "AssetsKeyArn";
/// Days a replaced or deleted asset version is kept before it expires.
pub const NONCURRENT_DAYS: i64 = 30;

/// What a stack that publishes assets relies on from this one: its name, the output naming the
/// assets bucket and the bucket's logical id.
pub fn contract() -> BootstrapContract {
    BootstrapContract {
        stack_name: STACK_NAME.to_owned(),
        bucket_output: BUCKET_OUTPUT.to_owned(),
        bucket_id: BUCKET_ID.to_owned(),
    }
}

/// The bootstrap stack's deployment: no parameters, no assets, no bootstrap of its own;
/// termination protection on (every environment of the account and region publishes through
/// its bucket, and no cdkrs command deletes it).
pub fn deployment() -> Deployment {
    Deployment {
        termination_protection: true,
        ..Deployment::new(STACK_NAME)
    }
}

/// Builds the bootstrap stack. The bucket is named `cdkrs-assets-<account>-<region>`: unique
/// per account and region, and readable in the console.
pub fn build() -> Result<Stack, ConstructError> {
    let mut stack = Stack::new(STACK_NAME);
    stack.set_description(
        "cdkrs bootstrap: the assets bucket and its key (Lambda zips, large templates)",
    );
    let tags = vec![Tag::new("managed_by", "cdkrs")];
    let key = Key::new(
        &mut stack,
        "AssetsKey",
        KeyProps {
            description: Some("cdkrs assets bucket encryption".into()),
            alias: Some("alias/cdkrs-assets".into()),
            tags: tags.clone(),
            ..Default::default()
        },
    )?;
    let bucket = Bucket::new(
        &mut stack,
        BUCKET_ID,
        BucketEncryption::Kms(&key),
        BucketProps {
            bucket_name: Some(sub("cdkrs-assets-${AWS::AccountId}-${AWS::Region}").build()),
            lifecycle_rules: vec![LifecycleRule {
                id: "expire-old-versions".into(),
                noncurrent_expiration_days: Some(NONCURRENT_DAYS),
                abort_incomplete_multipart_days: Some(1),
                ..Default::default()
            }],
            tags,
            ..Default::default()
        },
    )?;
    skip_checkov(
        &mut stack,
        bucket.handle(),
        &[(
            "CKV_AWS_18",
            "accepted without access logs: the bucket holds only content-addressed build artifacts (provider zips, large templates) that cdkrs deploy writes and CloudFormation and Lambda read; logging them would need a second, SSE-S3 bucket in this stack, and nothing here records object-level access (turn on CloudTrail S3 data events for the account if it must be audited)",
        )],
    );
    stack.add_output(
        BUCKET_OUTPUT,
        Output::new(bucket.name()).description("Where cdkrs deploy publishes assets"),
    );
    stack.add_output(
        KEY_OUTPUT,
        Output::new(key.arn()).description("The key that encrypts the assets bucket"),
    );
    Ok(stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_bucket_is_versioned_encrypted_tls_only_and_retained() {
        let template = build().unwrap().synth().unwrap();
        let t = template.as_json();
        let bucket = &t["Resources"][BUCKET_ID];
        assert_eq!(bucket["DeletionPolicy"], "Retain");
        assert_eq!(
            bucket["Properties"]["VersioningConfiguration"]["Status"],
            "Enabled"
        );
        let enc = &bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
        assert_eq!(
            enc["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
            "aws:kms"
        );
        let block = &bucket["Properties"]["PublicAccessBlockConfiguration"];
        for k in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(block[k], true, "{k}");
        }
        let rule = &bucket["Properties"]["LifecycleConfiguration"]["Rules"][0];
        assert_eq!(
            rule["NoncurrentVersionExpiration"]["NoncurrentDays"],
            NONCURRENT_DAYS
        );
        let policy = t["Resources"][format!("{BUCKET_ID}Policy")].to_string();
        assert!(policy.contains("aws:SecureTransport"), "{policy}");
        assert_eq!(
            t["Resources"]["AssetsKey"]["Properties"]["EnableKeyRotation"],
            true
        );
        assert!(t["Outputs"][BUCKET_OUTPUT].is_object());
    }

    #[test]
    fn the_contract_names_this_stack_its_bucket_output_and_bucket() {
        let template = build().unwrap().synth().unwrap();
        let t = template.as_json();
        let c = contract();
        assert_eq!(c.stack_name, build().unwrap().name());
        assert_eq!(t["Outputs"][&c.bucket_output]["Value"]["Ref"], c.bucket_id);
        assert_eq!(t["Resources"][&c.bucket_id]["Type"], "AWS::S3::Bucket");
        deployment().validate(t).unwrap();
    }
}

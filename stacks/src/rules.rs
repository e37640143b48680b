//! The rules of a config as data, one place per fact: [`validate`](crate::validate) checks them
//! and explains each problem, and the JSON Schema (`cdkrs schema`) carries every one a JSON
//! Schema can express (the `*_PATTERN` regexes sit beside the checks they mirror; the schema
//! test runs a real JSON Schema validator over the fixtures to keep them in step).

use std::ops::RangeInclusive;

use cdkrs_constructs::vpc;
use cdkrs_databricks::{EbsVolumeType, PricingTier};

use crate::model::{BucketName, Names, RoleName};
use crate::regions;

/// The longest S3 bucket name.
pub const MAX_BUCKET_NAME: usize = 63;
/// The longest IAM role name.
pub const MAX_ROLE_NAME: usize = 64;
/// Characters of a Unity Catalog object name (a catalog's): "Names", Databricks SQL language
/// reference (<https://docs.databricks.com/aws/en/sql/language-manual/sql-ref-names>): at most
/// 255 characters.
pub const MAX_UNITY_CATALOG_NAME: usize = 255;
/// The most tags a config may give: CloudFormation allows 50 per resource, and the constructs
/// add a few of their own (`Name`, `resource_name`).
pub const MAX_TAGS: usize = 45;
/// Tag keys the stack sets itself.
pub const RESERVED_TAG_KEYS: &[&str] = &["Name", "resource_name"];
/// The longest tag key, in characters.
pub const MAX_TAG_KEY: usize = 128;
/// The longest tag value, in characters.
pub const MAX_TAG_VALUE: usize = 256;
/// The fewest availability zones (the private subnets must survive the loss of one).
pub const MIN_AZS: usize = vpc::MIN_AZS;
/// The most availability zones (no region of the table offers an account more).
pub const MAX_AZS: usize = regions::MAX_USABLE_ZONES as usize;
/// The largest Databricks subnet (smallest prefix length).
pub const DATABRICKS_SUBNET_MIN_PREFIX: u8 = 17;
/// The smallest Databricks subnet (largest prefix length).
pub const DATABRICKS_SUBNET_MAX_PREFIX: u8 = 26;
/// The flow-log aggregation intervals AWS offers, in seconds.
pub const FLOW_LOG_INTERVALS: &[i64] = &[60, 600];
/// The most workers the config allows a cluster to scale to.
pub const MAX_WORKERS: i64 = 1000;
/// The longest SSM parameter name.
pub const MAX_SSM_NAME: usize = 2048;
/// The longest workspace name, in characters.
pub const MAX_WORKSPACE_NAME: usize = 64;
/// The longest group or cluster name, in characters.
pub const MAX_NAME: usize = 100;
/// Groups every workspace already has (compared ignoring case).
pub const RESERVED_GROUP_NAMES: &[&str] = &["admins", "users"];
/// Minutes of inactivity before a cluster terminates (0 disables termination).
pub const AUTOTERMINATION_MINUTES: RangeInclusive<i64> = 10..=10_000;
/// The spot bid, as a percentage of the on-demand price.
pub const SPOT_BID_PERCENT: RangeInclusive<i64> = 1..=10_000;
/// EBS volumes per node.
pub const EBS_VOLUME_COUNT: RangeInclusive<i64> = 0..=10;
/// A stand-in account id for length checks when the config names none (every id has 12
/// digits).
pub const SAMPLE_ACCOUNT: &str = "123456789012";

/// The pricing tiers that can use a customer-managed key, which the environment always sets for
/// workspace storage (the StorageKey): "This feature requires the Enterprise pricing tier"
/// (Databricks, "Customer-managed keys for encryption",
/// <https://docs.databricks.com/security/keys/customer-managed-keys.html>).
pub const CMK_PRICING_TIERS: &[PricingTier] = &[PricingTier::Enterprise];

/// The sizes (GB) of one EBS volume of `volume_type`: "For general purpose SSD, this value must
/// be within the range 100 - 4096. For throughput optimized HDD, this value must be within the
/// range 500 - 4096" (Clusters API reference, `aws_attributes.ebs_volume_size`; the same text
/// in databricks-sdk-py 0.167 `AwsAttributes` and the Terraform provider's
/// `docs/resources/cluster.md`). The API refuses other sizes.
pub fn ebs_volume_size_gb(volume_type: EbsVolumeType) -> RangeInclusive<i64> {
    match volume_type {
        EbsVolumeType::GeneralPurposeSsd => 100..=4096,
        EbsVolumeType::ThroughputOptimizedHdd => 500..=4096,
    }
}

/// The longest prefix whose bucket names (in `region`, with a 12-digit account id) and role
/// names stay within S3's and IAM's limits.
pub fn max_prefix_len(region: &str) -> usize {
    let none = Names::new("");
    let bucket = BucketName::ALL
        .iter()
        .map(|b| none.bucket(*b, SAMPLE_ACCOUNT, region).len())
        .max()
        .unwrap_or_default();
    let role = RoleName::ALL
        .iter()
        .map(|r| none.role(*r).len())
        .max()
        .unwrap_or_default();
    MAX_BUCKET_NAME
        .saturating_sub(bucket)
        .min(MAX_ROLE_NAME.saturating_sub(role))
}

/// Prefix: lowercase letters, digits and hyphens, starting with a letter, not ending with a
/// hyphen (see `validate::check_prefix`).
pub const PREFIX_PATTERN: &str = "^[a-z]([a-z0-9-]*[a-z0-9])?$";
/// Bucket name prefixes S3 reserves (`cdkrs_constructs::bucket::bucket_name_problem`).
pub const RESERVED_BUCKET_PREFIX_PATTERN: &str = "^(xn--|sthree-|amzn-s3-demo-)";

/// 12 digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}
/// [`is_account_id`] as a JSON Schema pattern.
pub const ACCOUNT_ID_PATTERN: &str = "^[0-9]{12}$";

/// 8-4-4-4-12 hexadecimal digits.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}
/// [`is_uuid`] as a JSON Schema pattern.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// `^\d+\.\d+\.x-(cpu-|gpu-|ml-|photon-|aarch64-)*scala2\.1[23]$`.
pub fn is_spark_version(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    let Some((version, mut rest)) = s.split_once(".x-") else {
        return false;
    };
    let Some((major, minor)) = version.split_once('.') else {
        return false;
    };
    if !digits(major) || !digits(minor) {
        return false;
    }
    while let Some(next) = ["cpu-", "gpu-", "ml-", "photon-", "aarch64-"]
        .iter()
        .find_map(|tag| rest.strip_prefix(tag))
    {
        rest = next;
    }
    rest == "scala2.12" || rest == "scala2.13"
}
/// The `(major, minor)` of a runtime key of [`is_spark_version`]'s form (`17.3.x-scala2.13`
/// is `(17, 3)`).
pub fn spark_version_number(s: &str) -> Option<(u32, u32)> {
    if !is_spark_version(s) {
        return None;
    }
    let (version, _) = s.split_once(".x-")?;
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The oldest runtime `unity_catalog` accepts: 13.3 LTS. Unity Catalog itself runs from 11.3
/// LTS, but standard (shared) access mode, the mode this cluster uses, gained Scala, volumes
/// (the catalogs' file storage) and allow-listed init scripts and libraries only in 13.3 LTS
/// ("Compute access mode limitations for Unity Catalog",
/// <https://docs.databricks.com/aws/en/compute/access-mode-limitations>; "What are Unity Catalog
/// volumes?", <https://docs.databricks.com/aws/en/volumes/>: volumes need 13.3 LTS or above).
pub const UNITY_CATALOG_MIN_RUNTIME: (u32, u32) = (13, 3);

/// The first runtime `legacy_passthrough` refuses: 15.0, from which Databricks deprecated
/// credential passthrough ("Credential passthrough (legacy)", a retired page,
/// <https://docs.databricks.com/aws/en/archive/credential-passthrough/>).
pub const PASSTHROUGH_END_RUNTIME: (u32, u32) = (15, 0);

/// [`is_spark_version`] as a JSON Schema pattern.
pub const SPARK_VERSION_PATTERN: &str =
    "^[0-9]+\\.[0-9]+\\.x-(cpu-|gpu-|ml-|photon-|aarch64-)*scala2\\.1[23]$";

/// An EC2 instance type: `<family>.<size>` (`r5.large`, `m5d.2xlarge`, `m7i-flex.large`).
pub fn is_instance_type(s: &str) -> bool {
    let Some((family, size)) = s.split_once('.') else {
        return false;
    };
    let word = |p: &str| {
        p.starts_with(|c: char| c.is_ascii_alphanumeric())
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    family.starts_with(|c: char| c.is_ascii_lowercase())
        && family.chars().any(|c| c.is_ascii_digit())
        && word(family)
        && word(size)
}
/// [`is_instance_type`] as a JSON Schema pattern.
pub const INSTANCE_TYPE_PATTERN: &str = "^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9][a-z0-9-]*$";

/// The parts of a Secrets Manager secret ARN that validation compares with the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretArn<'a> {
    /// `aws`, `aws-us-gov`, …
    pub partition: &'a str,
    /// The secret's region.
    pub region: &'a str,
    /// The account that owns the secret.
    pub account: &'a str,
}

/// `arn:aws[a-z-]*:secretsmanager:<region>:<12 digits>:secret:<name>`, in parts.
pub fn secret_arn(s: &str) -> Option<SecretArn<'_>> {
    let parts: Vec<&str> = s.splitn(7, ':').collect();
    let [arn, partition, service, region, account, kind, name] = parts.as_slice() else {
        return None;
    };
    let region_like = {
        let p: Vec<&str> = region.split('-').collect();
        p.len() >= 3
            && p.iter().all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    };
    let ok = *arn == "arn"
        && partition
            .strip_prefix("aws")
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        && *service == "secretsmanager"
        && region_like
        && is_account_id(account)
        && *kind == "secret"
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    ok.then_some(SecretArn {
        partition,
        region,
        account,
    })
}

/// The JSON Schema pattern of a secret ARN in `region` (a region of the table, so the
/// partition is `aws`).
pub fn secret_arn_pattern(region: &str) -> String {
    format!("^arn:aws:secretsmanager:{region}:[0-9]{{12}}:secret:[A-Za-z0-9/_+=.@-]+$")
}

/// `/path/name` or `name`: letters, digits, `_ . - /`, at most [`MAX_SSM_NAME`] characters.
pub fn is_ssm_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SSM_NAME
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        && (s.starts_with('/') || !s.contains('/'))
}
/// [`is_ssm_name`] as a JSON Schema pattern (the length is `maxLength`).
pub const SSM_NAME_PATTERN: &str = "^(/[A-Za-z0-9_./-]*|[A-Za-z0-9_.-]+)$";

/// A workspace name: 1 to [`MAX_WORKSPACE_NAME`] letters, digits, hyphens, underscores and
/// spaces.
pub fn is_workspace_name(s: &str) -> bool {
    (1..=MAX_WORKSPACE_NAME).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ' ')
}
/// [`is_workspace_name`] as a JSON Schema pattern.
pub const WORKSPACE_NAME_PATTERN: &str = "^[A-Za-z0-9 _-]{1,64}$";

/// Tag keys and values: letters, digits, spaces and `_ . : / = + - @` (AWS's tag alphabet).
pub fn is_tag_text(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}
/// Tag keys starting with `aws:` (any case) and the keys the stack sets, as a JSON Schema
/// pattern.
pub fn reserved_tag_key_pattern() -> String {
    format!("^([aA][wW][sS]:|({})$)", RESERVED_TAG_KEYS.join("|"))
}

/// A name that is not only spaces, as a JSON Schema pattern.
pub const NOT_BLANK_PATTERN: &str = "\\S";

/// The reserved group names as a JSON Schema pattern (any case, surrounding spaces ignored as
/// validation trims them).
pub fn reserved_group_name_pattern() -> String {
    let any_case = |name: &str| -> String {
        name.chars()
            .map(|c| format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()))
            .collect()
    };
    let names: Vec<String> = RESERVED_GROUP_NAMES.iter().map(|n| any_case(n)).collect();
    format!("^\\s*({})\\s*$", names.join("|"))
}

/// An IPv4 CIDR block with a prefix length in `prefixes`, as a JSON Schema pattern (surrounding
/// spaces allowed: validation trims them). Host bits are validation's business.
pub fn cidr_pattern(prefixes: RangeInclusive<u8>) -> String {
    let octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    let lengths: Vec<String> = prefixes.map(|p| p.to_string()).collect();
    format!("^\\s*({octet}\\.){{3}}{octet}/({})\\s*$", lengths.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_versions() {
        for ok in [
            "14.3.x-scala2.12",
            "15.4.x-photon-scala2.12",
            "14.3.x-gpu-ml-scala2.12",
            "16.4.x-scala2.13",
        ] {
            assert!(is_spark_version(ok), "{ok}");
        }
        for bad in [
            "14.3-scala2.12",
            "14.3.x-scala2.11",
            "x.3.x-scala2.12",
            "14.3.x-",
        ] {
            assert!(!is_spark_version(bad), "{bad}");
        }
    }

    #[test]
    fn spark_version_numbers() {
        assert_eq!(spark_version_number("17.3.x-scala2.13"), Some((17, 3)));
        assert_eq!(
            spark_version_number("14.3.x-photon-scala2.12"),
            Some((14, 3))
        );
        assert_eq!(
            spark_version_number("13.10.x-cpu-ml-scala2.12"),
            Some((13, 10))
        );
        assert_eq!(spark_version_number("14.3-scala2.12"), None);
        assert!((13, 10) > UNITY_CATALOG_MIN_RUNTIME && (14, 3) < PASSTHROUGH_END_RUNTIME);
    }

    #[test]
    fn instance_types() {
        for ok in [
            "r5.large",
            "m5d.2xlarge",
            "i3en.24xlarge",
            "m7i-flex.large",
            "u-6tb1.metal",
        ] {
            assert!(is_instance_type(ok), "{ok}");
        }
        for bad in [
            "",
            "large",
            "r5.",
            ".large",
            "R5.large",
            "r.large",
            "r5.large.x",
        ] {
            assert!(!is_instance_type(bad), "{bad}");
        }
    }

    #[test]
    fn secrets() {
        assert_eq!(
            secret_arn("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/sp-AbCdEf"),
            Some(SecretArn {
                partition: "aws",
                region: "eu-west-1",
                account: "123456789012"
            })
        );
        assert!(
            secret_arn("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x")
                .is_some()
        );
        assert!(secret_arn("arn:aws:ssm:eu-west-1:123456789012:secret:x").is_none());
        assert!(secret_arn("arn:aws:secretsmanager:eu-west-1:1234:secret:x").is_none());
        assert!(secret_arn("arn:aws:secretsmanager:Europe:123456789012:secret:x").is_none());
        assert!(is_ssm_name("/databricks/sp-secret"));
        assert!(is_ssm_name("sp-secret"));
        assert!(!is_ssm_name("databricks/sp"));
        assert!(!is_ssm_name("/a b"));
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("00000000-0000-4000-8000-000000000000"));
        assert!(is_uuid("ABCDEF00-0000-4000-8000-000000000000"));
        assert!(!is_uuid("00000000-0000-4000-8000-00000000000"));
        assert!(!is_uuid("00000000000040008000000000000000"));
        assert!(!is_uuid("g0000000-0000-4000-8000-000000000000"));
    }

    #[test]
    fn prefixes_leave_room_for_the_longest_bucket_name() {
        // `<prefix>-databricks-logs-123456789012-eu-west-1` has 63 characters.
        assert_eq!(max_prefix_len("eu-west-1"), 24);
        assert_eq!(max_prefix_len("ap-southeast-2"), 19);
    }

    #[test]
    fn patterns_are_built_from_the_facts() {
        assert_eq!(
            reserved_group_name_pattern(),
            "^\\s*([aA][dD][mM][iI][nN][sS]|[uU][sS][eE][rR][sS])\\s*$"
        );
        assert_eq!(
            reserved_tag_key_pattern(),
            "^([aA][wW][sS]:|(Name|resource_name)$)"
        );
        assert!(cidr_pattern(17..=18).ends_with("/(17|18)\\s*$"));
    }
}

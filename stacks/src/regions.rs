//! The AWS regions this environment can be deployed to: the regions Databricks supports on AWS
//! (commercial partition), each with its availability-zone names and the Databricks-owned buckets
//! its clusters reach through the S3 gateway endpoint.
//!
//! This is the one table of region facts: validation (region and zone names, zone counts) and the
//! endpoint policies both read it.
//!
//! Sources:
//! - Regions and Databricks buckets: the Databricks Security Reference Architecture,
//!   databricks/terraform-databricks-sra `aws/tf/variables.tf` at commit
//!   72a96ea00e6a3f2695d20f226f2c30e1f7cee306 (variables `region`, `artifact_storage_bucket`,
//!   `log_storage_bucket_config`, `system_table_bucket_config`, `shared_datasets_bucket`) and
//!   `aws/tf/privatelink.tf` (which endpoint statement uses which bucket).
//! - Zone names: AWS's "Regions and Availability Zones" documentation. Zone *names* are mapped to
//!   physical zones per account; the names below are the ones any account may see, and
//!   `usable_zones` is how many of them one account gets (us-west-1 shows two of its three
//!   names to each account; ap-northeast-1 shows three of four).
//!
//! GovCloud (`us-gov-west-1`) is deliberately absent: Databricks there uses other AWS accounts
//! (044793339203 civilian, 282567162347 artifacts) and the `aws-us-gov` partition, which this
//! environment's policies do not model. Validation refuses it by name ([`GOVCLOUD_REGIONS`]).

/// Databricks' AWS account in the commercial partition: the control plane, the log-delivery
/// role, the artifact and system-table buckets (SRA `databricks_aws_account_id` and
/// `databricks_artifact_and_sample_data_account_id`, both 414351767826 outside GovCloud).
pub const DATABRICKS_AWS_ACCOUNT: &str = cdkrs_databricks::DATABRICKS_AWS_ACCOUNT_ID;

/// One region Databricks supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// The region code (`eu-west-1`).
    pub name: &'static str,
    /// The ARN partition (`aws`).
    pub partition: &'static str,
    /// Every availability-zone name an account may see, in order.
    pub zones: &'static [&'static str],
    /// How many of [`zones`](Self::zones) one account can use.
    pub usable_zones: u8,
    /// The Databricks-owned buckets of the region.
    pub databricks: DatabricksBuckets,
}

/// The Databricks-owned S3 buckets a workspace's clusters read or write in one region (SRA
/// `privatelink.tf`, S3 gateway endpoint policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatabricksBuckets {
    /// Runtime artifacts (read): `databricks-prod-artifacts-<region>` (us-west-1 reads us-west-2's).
    pub artifacts: &'static [&'static str],
    /// Cluster logs and usage that Databricks collects (write).
    pub logs: &'static str,
    /// Unity Catalog system tables (read).
    pub system_tables: &'static str,
    /// The shared sample datasets (`/databricks-datasets`, read).
    pub datasets: &'static str,
}

/// GovCloud regions: refused with their own message (see the module docs).
pub const GOVCLOUD_REGIONS: &[&str] = &["us-gov-west-1", "us-gov-east-1"];

/// Regions of the commercial partition (`aws`) that Databricks does not support: they exist, so
/// a config naming one is told so instead of "did you mean". Source: the `aws` partition of
/// botocore 1.35.99's `botocore/data/endpoints.json` (pinned through moto in
/// `requirements-dev.txt`) minus [`REGIONS`]; regions AWS opened after that release read as
/// unknown names.
pub const AWS_REGIONS_WITHOUT_DATABRICKS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-northeast-3",
    "ap-south-2",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// Regions of the other partitions (same source), with their partition: China and the isolated
/// regions. GovCloud has [`GOVCLOUD_REGIONS`].
pub const OTHER_PARTITION_REGIONS: &[(&str, &str)] = &[
    ("cn-north-1", "aws-cn"),
    ("cn-northwest-1", "aws-cn"),
    ("eu-isoe-west-1", "aws-iso-e"),
    ("us-iso-east-1", "aws-iso"),
    ("us-iso-west-1", "aws-iso"),
    ("us-isob-east-1", "aws-iso-b"),
];

macro_rules! region {
    ($name:literal, [$($zone:literal),+], $usable:literal, [$($art:literal),+], $logs:literal, $datasets:literal) => {
        Region {
            name: $name,
            partition: "aws",
            zones: &[$($zone),+],
            usable_zones: $usable,
            databricks: DatabricksBuckets {
                artifacts: &[$($art),+],
                logs: $logs,
                system_tables: concat!("system-tables-prod-", $name, "-uc-metastore-bucket"),
                datasets: $datasets,
            },
        }
    };
}

/// The regions, sorted by name.
pub const REGIONS: &[Region] = &[
    region!(
        "ap-northeast-1",
        [
            "ap-northeast-1a",
            "ap-northeast-1b",
            "ap-northeast-1c",
            "ap-northeast-1d"
        ],
        3,
        ["databricks-prod-artifacts-ap-northeast-1"],
        "databricks-prod-storage-tokyo",
        "databricks-datasets-tokyo"
    ),
    region!(
        "ap-northeast-2",
        [
            "ap-northeast-2a",
            "ap-northeast-2b",
            "ap-northeast-2c",
            "ap-northeast-2d"
        ],
        4,
        ["databricks-prod-artifacts-ap-northeast-2"],
        "databricks-prod-storage-seoul",
        "databricks-datasets-seoul"
    ),
    region!(
        "ap-south-1",
        ["ap-south-1a", "ap-south-1b", "ap-south-1c"],
        3,
        ["databricks-prod-artifacts-ap-south-1"],
        "databricks-prod-storage-mumbai",
        "databricks-datasets-mumbai"
    ),
    region!(
        "ap-southeast-1",
        ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"],
        3,
        ["databricks-prod-artifacts-ap-southeast-1"],
        "databricks-prod-storage-singapore",
        "databricks-datasets-singapore"
    ),
    region!(
        "ap-southeast-2",
        ["ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"],
        3,
        ["databricks-prod-artifacts-ap-southeast-2"],
        "databricks-prod-storage-sydney",
        "databricks-datasets-sydney"
    ),
    region!(
        "ap-southeast-3",
        ["ap-southeast-3a", "ap-southeast-3b", "ap-southeast-3c"],
        3,
        ["databricks-prod-artifacts-ap-southeast-3"],
        "databricks-prod-storage-jakarta",
        "databricks-datasets-oregon"
    ),
    region!(
        "ca-central-1",
        ["ca-central-1a", "ca-central-1b", "ca-central-1d"],
        3,
        ["databricks-prod-artifacts-ca-central-1"],
        "databricks-prod-storage-montreal",
        "databricks-datasets-montreal"
    ),
    region!(
        "eu-central-1",
        ["eu-central-1a", "eu-central-1b", "eu-central-1c"],
        3,
        ["databricks-prod-artifacts-eu-central-1"],
        "databricks-prod-storage-frankfurt",
        "databricks-datasets-frankfurt"
    ),
    region!(
        "eu-west-1",
        ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
        3,
        ["databricks-prod-artifacts-eu-west-1"],
        "databricks-prod-storage-ireland",
        "databricks-datasets-ireland"
    ),
    region!(
        "eu-west-2",
        ["eu-west-2a", "eu-west-2b", "eu-west-2c"],
        3,
        ["databricks-prod-artifacts-eu-west-2"],
        "databricks-prod-storage-london",
        "databricks-datasets-london"
    ),
    region!(
        "eu-west-3",
        ["eu-west-3a", "eu-west-3b", "eu-west-3c"],
        3,
        ["databricks-prod-artifacts-eu-west-3"],
        "databricks-prod-storage-paris",
        "databricks-datasets-paris"
    ),
    region!(
        "sa-east-1",
        ["sa-east-1a", "sa-east-1b", "sa-east-1c"],
        3,
        ["databricks-prod-artifacts-sa-east-1"],
        "databricks-prod-storage-saopaulo",
        "databricks-datasets-saopaulo"
    ),
    region!(
        "us-east-1",
        [
            "us-east-1a",
            "us-east-1b",
            "us-east-1c",
            "us-east-1d",
            "us-east-1e",
            "us-east-1f"
        ],
        6,
        ["databricks-prod-artifacts-us-east-1"],
        "databricks-prod-storage-virginia",
        "databricks-datasets-virginia"
    ),
    region!(
        "us-east-2",
        ["us-east-2a", "us-east-2b", "us-east-2c"],
        3,
        ["databricks-prod-artifacts-us-east-2"],
        "databricks-prod-storage-ohio",
        "databricks-datasets-ohio"
    ),
    region!(
        "us-west-1",
        ["us-west-1a", "us-west-1b", "us-west-1c"],
        2,
        ["databricks-prod-artifacts-us-west-2"],
        "databricks-prod-storage-oregon",
        "databricks-datasets-oregon"
    ),
    region!(
        "us-west-2",
        ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"],
        4,
        [
            "databricks-prod-artifacts-us-west-2",
            "databricks-update-oregon"
        ],
        "databricks-prod-storage-oregon",
        "databricks-datasets-oregon"
    ),
];

/// The region named `name`, if Databricks supports it.
pub fn region(name: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.name == name)
}

/// The most zones one account can use in any region of the table.
pub const MAX_USABLE_ZONES: u8 = {
    let mut most = 0;
    let mut i = 0;
    while i < REGIONS.len() {
        if REGIONS[i].usable_zones > most {
            most = REGIONS[i].usable_zones;
        }
        i += 1;
    }
    most
};

/// The region of the table that has the zone `zone`.
pub fn region_of_zone(zone: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.zones.contains(&zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_unique_and_consistent() {
        for pair in REGIONS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for r in REGIONS {
            assert!(
                usize::from(r.usable_zones) <= r.zones.len() && r.usable_zones >= 2,
                "{}: {} usable of {:?}",
                r.name,
                r.usable_zones,
                r.zones
            );
            for z in r.zones {
                let letter = z.strip_prefix(r.name).unwrap_or_default();
                assert!(
                    letter.len() == 1 && letter.chars().all(|c| c.is_ascii_lowercase()),
                    "{z} is not a zone of {}",
                    r.name
                );
            }
            assert!(
                r.databricks.system_tables.contains(r.name),
                "{}",
                r.databricks.system_tables
            );
            assert_eq!(r.partition, "aws");
        }
    }

    #[test]
    fn the_lists_of_other_regions_do_not_overlap_the_table() {
        for name in AWS_REGIONS_WITHOUT_DATABRICKS
            .iter()
            .chain(GOVCLOUD_REGIONS)
            .chain(OTHER_PARTITION_REGIONS.iter().map(|(n, _)| n))
        {
            assert!(region(name).is_none(), "{name}");
        }
        assert_eq!(MAX_USABLE_ZONES, 6);
        assert_eq!(
            region_of_zone("us-east-1f").map(|r| r.name),
            Some("us-east-1")
        );
        assert_eq!(region_of_zone("eu-west-1d"), None);
    }

    #[test]
    fn govcloud_is_not_in_the_table() {
        for g in GOVCLOUD_REGIONS {
            assert!(region(g).is_none(), "{g}");
        }
        assert_eq!(region("eu-west-1").map(|r| r.usable_zones), Some(3));
    }
}

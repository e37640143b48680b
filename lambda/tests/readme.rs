//! README documents the provider's resources, properties and attributes: every resource type
//! and every attribute the provider returns is named there, so the table cannot fall behind.

use cdkrs_constructs::custom_resource::CustomAttribute;
use cdkrs_databricks as db;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md at the workspace root")
}

fn names<A: CustomAttribute>(all: &[A]) -> Vec<&'static str> {
    all.iter().map(|a| a.name()).collect()
}

#[test]
fn readme_names_every_resource_type_and_attribute() {
    let text = readme();
    for t in db::resource_type::ALL {
        assert!(text.contains(&format!("`{t}`")), "README lacks {t}");
    }
    let attributes = [
        names(db::CredentialsAttr::ALL),
        names(db::StorageConfigurationAttr::ALL),
        names(db::NetworkAttr::ALL),
        names(db::CustomerManagedKeyAttr::ALL),
        names(db::WorkspaceAttr::ALL),
        names(db::WorkspaceAssignmentAttr::ALL),
        names(db::LogDeliveryAttr::ALL),
        names(db::InstanceProfileAttr::ALL),
        names(db::GroupAttr::ALL),
        names(db::WorkspaceFileAttr::ALL),
        names(db::ClusterAttr::ALL),
        names(db::MetastoreAssignmentAttr::ALL),
        names(db::AccountGroupAttr::ALL),
        names(db::StorageCredentialAttr::ALL),
        names(db::ExternalLocationAttr::ALL),
        names(db::CatalogAttr::ALL),
        names(db::GrantsAttr::ALL),
    ];
    for a in attributes.iter().flatten() {
        assert!(
            text.contains(&format!("`{a}`")),
            "README lacks attribute {a}"
        );
    }
}

/// The README row of a resource type.
fn row(text: &str, resource_type: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(&format!("| `{resource_type}`")))
        .unwrap_or_else(|| panic!("README has no table row for {resource_type}"))
        .to_owned()
}

#[test]
fn readme_names_every_cluster_property() {
    // A literal with every field set: a new property does not compile here until it is added,
    // and then the README row must name it (`Name` or `Name?`).
    use db::{Autoscale, AwsAttributes, Cluster, ClusterLogConf, InitScript, Lenient, Runtime};
    let full: Cluster<Runtime> = Cluster {
        workspace_url: "https://w".into(),
        cluster_name: "c".into(),
        spark_version: "15.4.x-scala2.12".into(),
        node_type_id: "r5.xlarge".into(),
        driver_node_type_id: Some("r5.xlarge".into()),
        autoscale: Autoscale {
            min_workers: Lenient(1),
            max_workers: Lenient(2),
        },
        autotermination_minutes: Lenient(30),
        aws_attributes: AwsAttributes {
            availability: "SPOT".into(),
            first_on_demand: Lenient(1),
            spot_bid_price_percent: Lenient(100),
            instance_profile_arn: Some("arn".into()),
            zone_id: Some("auto".into()),
            ebs_volume_type: Some("GENERAL_PURPOSE_SSD".into()),
            ebs_volume_count: Some(Lenient(1)),
            ebs_volume_size: Some(Lenient(100)),
        },
        spark_conf: Some(Default::default()),
        custom_tags: Some(Default::default()),
        cluster_log_conf: Some(ClusterLogConf {
            destination: "s3://b/p".into(),
            region: "eu-west-1".into(),
            enable_encryption: Lenient(true),
            encryption_type: Some("sse-kms".into()),
            kms_key: Some("arn".into()),
        }),
        init_scripts: Some(Vec::<InitScript<Runtime>>::new()),
        data_security_mode: Some("SINGLE_USER".into()),
        single_user_name: Some("etl@acme.example".into()),
        start_on_create: Some(Lenient(false)),
        user_groups: Some(vec!["g".into()]),
    };
    let text = readme();
    let row = row(&text, db::resource_type::CLUSTER);
    let json = serde_json::to_value(&full).expect("serializes");
    for key in json.as_object().expect("an object").keys() {
        assert!(
            row.contains(&format!("`{key}`")) || row.contains(&format!("`{key}?`")),
            "README's cluster row lacks property {key}: {row}"
        );
    }
}

//! README documents the provider's resources, properties and attributes: every resource type
//! and every attribute the provider returns is named there, so the table cannot fall behind.

use cdkrs_constructs::custom_resource::CustomAttribute;
use cdkrs_constructs::databricks as db;

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
    ];
    for a in attributes.iter().flatten() {
        assert!(
            text.contains(&format!("`{a}`")),
            "README lacks attribute {a}"
        );
    }
}

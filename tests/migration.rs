//! Switching an environment from credential passthrough to Unity Catalog, as `cdkrs diff`
//! shows it: the template diff of the same config in both governance modes keeps every bucket
//! and key (same names, not replaced, not removed, nothing of them destroyed), removes the
//! passthrough roles, instance profile, its registration and the workspace groups, each with
//! the note that says what users must change, and edits the cluster in place. In Unity Catalog
//! mode, a group's access change touches its grants only.

use cdkrs::diff::{diff_templates, Action, Replacement, ResourceChange, TemplateDiff};
use cdkrs_stacks::config::{Access, Config, Governance};
use cdkrs_stacks::{environment, load, validate};
use serde_json::Value;

const LEGACY: &str = include_str!("../examples/legacy-passthrough.yaml");

/// The buckets and keys: the data that must survive the switch.
const DATA: &[&str] = &[
    "InfraLogsBucket",
    "DatabricksLogsBucket",
    "RootBucket",
    "RawBucket",
    "PreparedBucket",
    "TrustedBucket",
    "StorageKey",
    "LoggingKey",
];

/// What only credential passthrough has.
const PASSTHROUGH_ONLY: &[&str] = &[
    "MetaRole",
    "MetaRoleDefaultPolicy",
    "MetaInstanceProfile",
    "DataReadRole",
    "DataReadRoleDefaultPolicy",
    "DataWriteRole",
    "DataWriteRoleDefaultPolicy",
    "DatabricksMetaInstanceProfile",
    "DatabricksGroup1",
    "DatabricksGroup2",
];

fn legacy() -> Config {
    load::parse(LEGACY).unwrap_or_else(|e| panic!("{e}"))
}

/// The same config switched to Unity Catalog: governance, and the runtime left to its default
/// (passthrough's 14.3 is below nothing Unity Catalog refuses, but the switch is the moment to
/// take the current LTS).
fn switched(mut c: Config) -> Config {
    c.databricks.governance = Governance::UnityCatalog;
    c.databricks.cluster.spark_version = None;
    c
}

fn synth(config: &Config) -> Value {
    let env = validate::validate(config).unwrap_or_else(|e| panic!("{e}"));
    environment::build(&env)
        .unwrap_or_else(|e| panic!("build: {e}"))
        .synth()
        .unwrap_or_else(|e| panic!("{e}"))
        .as_json()
        .clone()
}

fn change<'a>(diff: &'a TemplateDiff, id: &str) -> Option<&'a ResourceChange> {
    diff.resource_changes().iter().find(|c| c.logical_id == id)
}

fn migration() -> (Value, Value, TemplateDiff) {
    let old = synth(&legacy());
    let new = synth(&switched(legacy()));
    let diff = diff_templates(Some(&old), &new);
    (old, new, diff)
}

#[test]
fn switching_to_unity_catalog_keeps_every_bucket_and_key_with_its_name() {
    let (old, new, diff) = migration();
    for id in DATA {
        let (o, n) = (&old["Resources"][id], &new["Resources"][id]);
        assert!(n.is_object(), "{id} is removed");
        // Same name, same type, still retained: the same bucket or key, and its data.
        for name in ["BucketName", "Description"] {
            assert_eq!(
                o["Properties"].get(name),
                n["Properties"].get(name),
                "{id}.{name}"
            );
        }
        assert_eq!(o["Type"], n["Type"], "{id}");
        assert_eq!(n["DeletionPolicy"], "Retain", "{id}");
        assert_eq!(n["UpdateReplacePolicy"], "Retain", "{id}");
        if let Some(c) = change(&diff, id) {
            assert_eq!(
                (c.action, c.replacement),
                (Action::Modify, Replacement::Never),
                "{id}: {c:#?}"
            );
            assert!(c.destroys.is_none(), "{id}: {c:#?}");
        }
    }
    let destroyed: Vec<&str> = diff
        .destructive_changes()
        .map(|c| c.logical_id.as_str())
        .collect();
    for id in DATA {
        assert!(!destroyed.contains(id), "{id} is destroyed: {destroyed:?}");
    }
    // Nothing at all is destroyed or replaced: the removed roles and groups hold no data.
    assert!(destroyed.is_empty(), "{destroyed:?}");
    assert_eq!(diff.summary().replace + diff.summary().may_replace, 0);
    // The bucket policies too: the buckets keep their protections.
    for policy in [
        "RawBucketPolicy",
        "PreparedBucketPolicy",
        "TrustedBucketPolicy",
    ] {
        assert!(change(&diff, policy).is_none(), "{policy} changes");
    }
}

#[test]
fn switching_to_unity_catalog_removes_the_passthrough_resources_saying_what_users_change() {
    let (_, new, diff) = migration();
    let notes = &new["Metadata"]["cdkrs"]["RemovalNotes"];
    for id in PASSTHROUGH_ONLY {
        let c = change(&diff, id).unwrap_or_else(|| panic!("{id} is not removed"));
        assert_eq!(c.action, Action::Remove, "{id}");
        let note = notes[id]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has no note"));
        assert!(
            c.warnings.contains(&format!("removed: {note}")),
            "{id}: {:?}",
            c.warnings
        );
    }
    // What users must change is named: notebooks through the instance profile, the groups.
    assert!(notes["MetaInstanceProfile"]
        .as_str()
        .unwrap()
        .contains("must read and write through the Unity Catalog catalogs"));
    assert!(notes["DatabricksGroup1"]
        .as_str()
        .unwrap()
        .contains("account group of the same name"));
    // Nothing else goes.
    let removed: Vec<&str> = diff
        .resource_changes()
        .iter()
        .filter(|c| c.action == Action::Remove)
        .map(|c| c.logical_id.as_str())
        .collect();
    let mut expected = PASSTHROUGH_ONLY.to_vec();
    expected.sort_unstable();
    assert_eq!(removed, expected);
    // And the Unity Catalog objects come.
    for id in [
        "UnityCatalogStorageRole",
        "DatabricksMetastoreAssignment",
        "DatabricksStorageCredential",
        "DatabricksRawLocation",
        "DatabricksTrustedCatalog",
        "DatabricksAccountGroup1",
        "DatabricksGroupAssignment2",
        "DatabricksGrants1",
    ] {
        assert_eq!(
            change(&diff, id).map(|c| c.action),
            Some(Action::Add),
            "{id}"
        );
    }
}

#[test]
fn switching_to_unity_catalog_edits_the_cluster_in_place() {
    // The provider edits a cluster unless its workspace or first_on_demand changes (the
    // Cluster's create-only list); the switch changes neither.
    let (_, _, diff) = migration();
    let cluster = change(&diff, "DatabricksCluster").expect("the cluster changes");
    assert_eq!(
        (cluster.action, cluster.replacement),
        (Action::Modify, Replacement::Never),
        "{cluster:#?}"
    );
    let paths: Vec<&str> = cluster
        .property_changes
        .iter()
        .map(|p| p.path.as_str())
        .collect();
    for p in [
        "Properties.DataSecurityMode",
        "Properties.SparkVersion",
        "Properties.SparkConf",
        "Properties.ClusterLogConf",
        "Properties.UserGroups",
    ] {
        assert!(paths.contains(&p), "{p} not in {paths:?}");
    }
    assert!(cluster.destroys.is_none());
}

#[test]
fn in_unity_catalog_a_groups_read_to_write_change_changes_only_its_grants() {
    let before = switched(legacy());
    assert_eq!(before.databricks.groups[0].access, Access::Read);
    let mut after = before.clone();
    after.databricks.groups[0].access = Access::Write;
    let diff = diff_templates(Some(&synth(&before)), &synth(&after));
    let changed: Vec<(&str, Action, Replacement)> = diff
        .resource_changes()
        .iter()
        .map(|c| (c.logical_id.as_str(), c.action, c.replacement))
        .collect();
    assert_eq!(
        changed,
        [("DatabricksGrants1", Action::Modify, Replacement::Never)]
    );
    let grants = change(&diff, "DatabricksGrants1").unwrap();
    assert_eq!(
        grants
            .property_changes
            .iter()
            .map(|p| p.path.as_str())
            .collect::<Vec<_>>(),
        ["Properties.Grants"]
    );
    assert!(!diff.destroys());
}

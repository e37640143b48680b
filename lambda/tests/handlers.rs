//! The Databricks handlers against the fake Databricks server (`testkit::databricks`), driven
//! with real event JSON through `dispatch::respond`, the entry point the runtime uses, with a
//! local ResponseURL receiver. Each case checks that exactly one answer was sent, its status
//! and data, the fake's final state, and (where a secret could leak) the answers and log lines.
//! The harness is in `common/mod.rs` (shared with `fault_matrix.rs`).

mod common;
#[path = "handlers/real_error_bodies.rs"]
mod real_error_bodies;
#[path = "handlers/unity_catalog.rs"]
mod unity_catalog;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use databricks_provider::dispatch::{
    respond, Continuation, Handled, Invocation, ANSWER_MARGIN, PROGRESS_KEY,
};
use databricks_provider::handlers;
use serde_json::{json, Value};
use testkit::databricks::FakeConfig;

// ---------------------------------------------------------------------------------------------
// Happy paths: Create / Update / Delete for every resource type

#[tokio::test]
async fn credentials_create_replace_on_update_and_delete() {
    let h = Harness::start().await;
    let props = credentials(&h, "t-creds");
    let (id, data) = ok(&h.create(CREDENTIALS, &props).await);
    assert_eq!(data, json!({"CredentialsId": id}));
    let stored = h.fake.state();
    // The configured name carries the resource's ownership mark.
    let c = &stored.credentials[0];
    let name = c["credentials_name"].as_str().expect("a name");
    assert!(name.starts_with("t-creds-cdkrs-"), "{name}");
    assert_eq!(name.len(), "t-creds-".len() + 18);
    assert_eq!(c["aws_credentials"]["sts_role"]["role_arn"], ROLE);

    // No update API: a new role is a new configuration; the unique name gets a suffix.
    let mut new = props.clone();
    new["RoleArn"] = json!("arn:aws:iam::123456789012:role/t-xacct-2");
    let (new_id, data) = ok(&h.update(CREDENTIALS, &id, &new, &props).await);
    assert_ne!(new_id, id);
    assert_eq!(data, json!({"CredentialsId": new_id}));
    let stored = h.fake.state();
    assert_eq!(stored.credentials.len(), 2);
    assert!(stored
        .credentials
        .iter()
        .any(|c| c["credentials_id"] == new_id.as_str()
            && c["credentials_name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("{name}-")))));

    // An update that changes nothing keeps the id.
    let (same, _) = ok(&h.update(CREDENTIALS, &new_id, &new, &new).await);
    assert_eq!(same, new_id);

    // CloudFormation deletes the old one; deleting it again (already gone) succeeds.
    ok(&h.delete(CREDENTIALS, &id, &props).await);
    ok(&h.delete(CREDENTIALS, &id, &props).await);
    ok(&h.delete(CREDENTIALS, &new_id, &new).await);
    assert!(h.fake.state().credentials.is_empty());
    h.assert_no_secret_in_logs();
}

#[tokio::test]
async fn storage_configuration_create_replace_and_delete() {
    let h = Harness::start().await;
    let props = storage(&h, "t-root", "t-root-bucket");
    let (id, data) = ok(&h.create(STORAGE, &props).await);
    assert_eq!(data, json!({"StorageConfigurationId": id}));
    assert_eq!(
        h.fake.state().storage_configurations[0]["root_bucket_info"]["bucket_name"],
        "t-root-bucket"
    );
    let new = storage(&h, "t-root", "t-root-bucket-2");
    let (new_id, _) = ok(&h.update(STORAGE, &id, &new, &props).await);
    assert_ne!(new_id, id);
    ok(&h.delete(STORAGE, &id, &props).await);
    let state = h.fake.state();
    assert_eq!(state.storage_configurations.len(), 1);
    assert_eq!(
        state.storage_configurations[0]["root_bucket_info"]["bucket_name"],
        "t-root-bucket-2"
    );
    ok(&h.delete(STORAGE, &new_id, &new).await);
    assert!(h.fake.state().storage_configurations.is_empty());
}

#[tokio::test]
async fn network_create_replace_and_delete() {
    let h = Harness::start().await;
    let props = network(&h, "t-net", 1);
    let (id, data) = ok(&h.create(NETWORK, &props).await);
    assert_eq!(data, json!({"NetworkId": id}));
    let new = network(&h, "t-net", 2);
    let (new_id, _) = ok(&h.update(NETWORK, &id, &new, &props).await);
    assert_ne!(new_id, id);
    ok(&h.delete(NETWORK, &id, &props).await);
    let state = h.fake.state();
    assert_eq!(state.networks.len(), 1);
    assert_eq!(
        state.networks[0]["subnet_ids"],
        json!(["subnet-2a", "subnet-2b"])
    );
    ok(&h.delete(NETWORK, &new_id, &new).await);
    assert!(h.fake.state().networks.is_empty());
}

#[tokio::test]
async fn customer_managed_key_create_replace_and_delete() {
    let h = Harness::start().await;
    let props = json!({
        "AccountId": h.account(), "KeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k1",
        "KeyAlias": "alias/t", "UseCases": ["STORAGE", "MANAGED_SERVICES"],
        "ReuseKeyForClusterVolumes": true
    });
    let (id, data) = ok(&h.create(KEY, &props).await);
    assert_eq!(data, json!({"CustomerManagedKeyId": id}));
    let state = h.fake.state();
    let key = &state.customer_managed_keys[0];
    assert_eq!(key["aws_key_info"]["reuse_key_for_cluster_volumes"], true);
    assert_eq!(key["use_cases"], json!(["STORAGE", "MANAGED_SERVICES"]));

    // The same key ARN: a retried Create adopts it.
    let (again, _) = ok(&h.create(KEY, &props).await);
    assert_eq!(again, id);

    let mut new = props.clone();
    new["UseCases"] = json!(["MANAGED_SERVICES"]);
    let (new_id, _) = ok(&h.update(KEY, &id, &new, &props).await);
    assert_ne!(new_id, id);
    ok(&h.delete(KEY, &id, &props).await);
    ok(&h.delete(KEY, &new_id, &new).await);
    assert!(h.fake.state().customer_managed_keys.is_empty());
}

#[tokio::test]
async fn workspace_create_waits_for_running_patches_in_place_replaces_and_deletes() {
    let h = Harness::start().await;
    let ids = prerequisites(&h, 1).await;
    let props = workspace(&h, "t-ws", &ids);
    let (id, data) = ok(&h.create(WORKSPACE, &props).await);
    assert_eq!(
        keys(&data),
        ["DeploymentName", "WorkspaceId", "WorkspaceUrl"]
    );
    assert_eq!(data["WorkspaceId"], id.as_str());
    // The account's deployment-name prefix (the fake's default has one) is part of the name.
    assert_eq!(data["DeploymentName"], "acme-t-ws");
    // The fake serves every workspace at its own address.
    assert_eq!(data["WorkspaceUrl"], h.url());
    let workspace_id: i64 = id.parse().expect("numeric");
    let state = h.fake.state();
    let ws = state.workspace(workspace_id).expect("stored");
    assert_eq!(ws["workspace_status"], "RUNNING");
    assert_eq!(ws["custom_tags"]["CostCenter"], "42");
    assert_eq!(ws["pricing_tier"], "ENTERPRISE");

    // Credentials and tags change in place (PATCH with an update mask).
    let (creds2, _) = ok(&h.create(CREDENTIALS, &credentials(&h, "t-creds-1b")).await);
    let mut patched = props.clone();
    patched["CredentialsId"] = json!(creds2);
    patched["CustomTags"] = json!({"CostCenter": "43"});
    let (same, data) = ok(&h.update(WORKSPACE, &id, &patched, &props).await);
    assert_eq!(same, id);
    assert_eq!(data["WorkspaceId"], id.as_str());
    let state = h.fake.state();
    let ws = state.workspace(workspace_id).expect("stored");
    assert_eq!(ws["credentials_id"], creds2.as_str());
    assert_eq!(ws["custom_tags"]["CostCenter"], "43");
    let patch = h
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .expect("a PATCH");
    assert_eq!(
        patch.query.as_deref(),
        Some("update_mask=credentials_id%2Ccustom_tags")
    );

    // Removing every tag of the config keeps the ownership mark: the API never sees an empty
    // map (which it would ignore).
    let mut untagged = patched.clone();
    untagged
        .as_object_mut()
        .expect("object")
        .remove("CustomTags");
    ok(&h.update(WORKSPACE, &id, &untagged, &patched).await);
    let state = h.fake.state();
    let tags = &state.workspace(workspace_id).expect("stored")["custom_tags"];
    assert_eq!(keys(tags), ["cdkrs-owner"], "{tags}");

    // A new name cannot be PATCHed: a new workspace (on its own network) replaces it.
    let ids2 = prerequisites(&h, 2).await;
    let renamed = workspace(&h, "t-ws-2", &ids2);
    let (new_id, data) = ok(&h.update(WORKSPACE, &id, &renamed, &patched).await);
    assert_ne!(new_id, id);
    assert_eq!(data["DeploymentName"], "acme-t-ws-2");
    assert_eq!(h.fake.state().workspaces.len(), 2);

    // Delete waits until the workspace is gone; a second delete succeeds too.
    ok(&h.delete(WORKSPACE, &id, &patched).await);
    assert!(h.fake.state().workspace(workspace_id).is_none());
    ok(&h.delete(WORKSPACE, &id, &patched).await);
    ok(&h.delete(WORKSPACE, &new_id, &renamed).await);
    assert!(h.fake.state().workspaces.is_empty());
    // Its configurations can go now.
    ok(&h.delete(NETWORK, &ids.2, &network(&h, "t-net-1", 1)).await);
    assert_eq!(h.fake.state().networks.len(), 1);
    h.assert_no_secret_in_logs();
}

#[tokio::test]
async fn workspace_assignment_puts_updates_and_removes() {
    let h = Harness::start().await;
    let ids = prerequisites(&h, 1).await;
    let (ws, _) = ok(&h.create(WORKSPACE, &workspace(&h, "t-ws", &ids)).await);
    let props = json!({"AccountId": h.account(), "WorkspaceId": ws, "PrincipalId": "7654321", "Permissions": ["USER"]});
    let (id, data) = ok(&h.create(ASSIGNMENT, &props).await);
    assert_eq!(id, format!("{ws}/7654321"));
    assert_eq!(data, json!({"PrincipalId": "7654321"}));
    let mut admin = props.clone();
    admin["Permissions"] = json!(["ADMIN"]);
    let (same, _) = ok(&h.update(ASSIGNMENT, &id, &admin, &props).await);
    assert_eq!(same, id);
    let state = h.fake.state();
    assert_eq!(state.permission_assignments.len(), 1);
    assert_eq!(state.permission_assignments[0].permissions, ["ADMIN"]);
    ok(&h.delete(ASSIGNMENT, &id, &admin).await);
    ok(&h.delete(ASSIGNMENT, &id, &admin).await);
    assert!(h.fake.state().permission_assignments.is_empty());
}

#[tokio::test]
async fn log_delivery_create_replace_and_delete_disables() {
    let h = Harness::start().await;
    let (c, _) = ok(&h.create(CREDENTIALS, &credentials(&h, "t-logs")).await);
    let (s, _) = ok(&h
        .create(STORAGE, &storage(&h, "t-logs", "t-logs-bucket"))
        .await);
    let props = json!({
        "AccountId": h.account(), "ConfigName": "t-audit", "LogType": "AUDIT_LOGS",
        "OutputFormat": "JSON", "CredentialsId": c, "StorageConfigurationId": s,
        "DeliveryPathPrefix": "audit", "WorkspaceIdsFilter": ["1234567890123456"]
    });
    let (id, data) = ok(&h.create(LOG_DELIVERY, &props).await);
    assert_eq!(data, json!({"ConfigId": id}));
    let state = h.fake.state();
    assert_eq!(state.log_delivery[0]["status"], "ENABLED");
    assert_eq!(
        state.log_delivery[0]["workspace_ids_filter"],
        json!([1234567890123456_i64])
    );

    // A retried Create adopts the configuration instead of burning an enabled slot.
    let (again, _) = ok(&h.create(LOG_DELIVERY, &props).await);
    assert_eq!(again, id);
    assert_eq!(h.fake.state().log_delivery.len(), 1);

    let mut new = props.clone();
    new["DeliveryPathPrefix"] = json!("audit-2");
    let (new_id, _) = ok(&h.update(LOG_DELIVERY, &id, &new, &props).await);
    assert_ne!(new_id, id);
    // Delete = disable (it cannot be deleted).
    ok(&h.delete(LOG_DELIVERY, &id, &props).await);
    let state = h.fake.state();
    let status = |config: &str| {
        state
            .log_delivery
            .iter()
            .find(|c| c["config_id"] == config)
            .map(|c| c["status"].clone())
    };
    assert_eq!(status(&id), Some(json!("DISABLED")));
    assert_eq!(status(&new_id), Some(json!("ENABLED")));
}

#[tokio::test]
async fn instance_profile_add_edit_and_remove() {
    let h = Harness::start().await;
    let props = json!({
        "WorkspaceUrl": h.url(), "InstanceProfileArn": PROFILE, "IamRoleArn": DATA_ROLE,
        "IsMetaInstanceProfile": true
    });
    let (id, data) = ok(&h.create(INSTANCE_PROFILE, &props).await);
    assert_eq!(id, PROFILE);
    assert_eq!(data, json!({"InstanceProfileArn": PROFILE}));
    let state = h.fake.state();
    let p = state.instance_profile(PROFILE).expect("registered");
    assert_eq!(p["is_meta_instance_profile"], true);
    assert_eq!(p["iam_role_arn"], DATA_ROLE);

    let mut new = props.clone();
    new["IamRoleArn"] = json!("arn:aws:iam::123456789012:role/t-data-2");
    new["IsMetaInstanceProfile"] = json!(false);
    let (same, _) = ok(&h.update(INSTANCE_PROFILE, &id, &new, &props).await);
    assert_eq!(same, id);
    let state = h.fake.state();
    let p = state.instance_profile(PROFILE).expect("registered");
    assert_eq!(p["iam_role_arn"], "arn:aws:iam::123456789012:role/t-data-2");
    assert_eq!(p["is_meta_instance_profile"], false);

    ok(&h.delete(INSTANCE_PROFILE, &id, &new).await);
    ok(&h.delete(INSTANCE_PROFILE, &id, &new).await);
    assert!(h.fake.state().instance_profiles.is_empty());
}

#[tokio::test]
async fn group_create_patch_roles_rename_and_delete() {
    let h = Harness::start().await;
    let props = json!({
        "WorkspaceUrl": h.url(), "DisplayName": "t-eng", "Roles": [DATA_ROLE],
        "InstanceProfileArns": [PROFILE], "AllowClusterCreate": true, "AllowInstancePoolCreate": false
    });
    let (id, data) = ok(&h.create(GROUP, &props).await);
    assert_eq!(data, json!({"GroupId": id}));
    let state = h.fake.state();
    let mut roles = state.group_roles("t-eng");
    roles.sort();
    assert_eq!(roles, [PROFILE, DATA_ROLE]);
    assert_eq!(
        state.group("t-eng").expect("group")["entitlements"],
        json!([{"value": "allow-cluster-create"}])
    );

    let mut new = props.clone();
    new["Roles"] = json!([]);
    new["AllowClusterCreate"] = json!(false);
    new["AllowInstancePoolCreate"] = json!(true);
    let (same, _) = ok(&h.update(GROUP, &id, &new, &props).await);
    assert_eq!(same, id);
    let state = h.fake.state();
    assert_eq!(state.group_roles("t-eng"), [PROFILE]);
    assert_eq!(
        state.group("t-eng").expect("group")["entitlements"],
        json!([{"value": "allow-instance-pool-create"}])
    );

    let mut renamed = new.clone();
    renamed["DisplayName"] = json!("t-eng-2");
    let (new_id, _) = ok(&h.update(GROUP, &id, &renamed, &new).await);
    assert_ne!(new_id, id);
    assert_eq!(h.fake.state().group_roles("t-eng-2"), [PROFILE]);

    ok(&h.delete(GROUP, &id, &new).await);
    ok(&h.delete(GROUP, &id, &new).await);
    ok(&h.delete(GROUP, &new_id, &renamed).await);
    let state = h.fake.state();
    assert!(state.group("t-eng").is_none() && state.group("t-eng-2").is_none());
    assert!(state.group("users").is_some());
}

#[tokio::test]
async fn workspace_file_import_overwrite_move_and_delete() {
    let h = Harness::start().await;
    let props = json!({
        "WorkspaceUrl": h.url(), "Path": "/cdkrs/init/sse.sh",
        "ContentBase64": SCRIPT_ONE, "Overwrite": false
    });
    let (id, data) = ok(&h.create(FILE, &props).await);
    assert_eq!(id, "/cdkrs/init/sse.sh");
    assert_eq!(data, json!({"Path": id}));
    let state = h.fake.state();
    let file = state.workspace_object(&id).expect("imported");
    assert_eq!(file.object_type, "FILE");
    assert_eq!(file.content, b"#!/bin/bash\necho one\n");

    // A retried Create finds its own file (same content) even without overwrite.
    let (again, _) = ok(&h.create(FILE, &props).await);
    assert_eq!(again, id);
    // Another content at the path without overwrite is refused.
    let mut other = props.clone();
    other["ContentBase64"] = json!(SCRIPT_TWO);
    let reason = failed(&h.create(FILE, &other).await);
    assert!(reason.contains("Overwrite is false"), "{reason}");

    // Update writes in place.
    let (same, _) = ok(&h.update(FILE, &id, &other, &props).await);
    assert_eq!(same, id);
    assert_eq!(
        h.fake.state().workspace_object(&id).expect("file").content,
        b"#!/bin/bash\necho two\n"
    );
    // A new path is a new file.
    let mut moved = other.clone();
    moved["Path"] = json!("/cdkrs/init/sse-2.sh");
    let (new_id, _) = ok(&h.update(FILE, &id, &moved, &other).await);
    assert_eq!(new_id, "/cdkrs/init/sse-2.sh");

    ok(&h.delete(FILE, &id, &other).await);
    ok(&h.delete(FILE, &id, &other).await);
    ok(&h.delete(FILE, &new_id, &moved).await);
    let state = h.fake.state();
    assert!(state.workspace_object(&id).is_none());
    assert!(state.workspace_object(&new_id).is_none());
}

#[tokio::test]
async fn cluster_create_waits_edit_restarts_and_permanent_delete() {
    let h = Harness::start().await;
    let props = cluster(&h, 4);
    let (id, data) = ok(&h.create(CLUSTER, &props).await);
    assert_eq!(data, json!({"ClusterId": id}));
    let state = h.fake.state();
    let c = state.cluster(&id).expect("stored");
    assert_eq!(c["state"], "RUNNING");
    assert_eq!(c["autoscale"], json!({"min_workers": 1, "max_workers": 4}));
    assert_eq!(c["custom_tags"]["Owner"], "platform");
    assert!(
        c["custom_tags"]["cdkrs-owner"]
            .as_str()
            .is_some_and(|m| m.starts_with("cdkrs-")),
        "{c}"
    );
    assert!(c["custom_tags"].get("cdkrs-resource").is_none());
    assert_eq!(c["cluster_log_conf"]["s3"]["encryption_type"], "sse-kms");
    assert_eq!(c["cluster_log_conf"]["s3"]["enable_encryption"], true);
    assert_eq!(
        c["init_scripts"],
        json!([{"workspace": {"destination": "/cdkrs/init/sse.sh"}}])
    );
    assert_eq!(
        c["spark_conf"]["spark.databricks.hive.metastore.glueCatalog.enabled"],
        "true"
    );

    // A retried Create adopts the tagged cluster.
    let (again, _) = ok(&h.create(CLUSTER, &props).await);
    assert_eq!(again, id);
    assert_eq!(h.fake.state().clusters.len(), 1);

    let new = cluster(&h, 8);
    let (same, _) = ok(&h.update(CLUSTER, &id, &new, &props).await);
    assert_eq!(same, id);
    let state = h.fake.state();
    let c = state.cluster(&id).expect("stored");
    assert_eq!(c["state"], "RUNNING");
    assert_eq!(c["autoscale"]["max_workers"], 8);
    assert_eq!(h.answered("POST", "/api/2.1/clusters/edit", 200), 1);

    ok(&h.delete(CLUSTER, &id, &new).await);
    ok(&h.delete(CLUSTER, &id, &new).await);
    assert!(h.fake.state().clusters.is_empty());
}

// ---------------------------------------------------------------------------------------------
// The cluster while the network is asleep (`StartOnCreate` false)

/// The cluster calls an operation made, as `METHOD op` (`POST delete`, `GET get`, …).
fn cluster_calls(h: &Harness) -> Vec<String> {
    h.fake
        .requests()
        .iter()
        .filter_map(|r| {
            r.path
                .strip_prefix("/api/2.1/clusters/")
                .map(|op| format!("{} {op}", r.method))
        })
        .collect()
}

/// Asserts no call could have started or restarted a cluster.
fn assert_nothing_started(calls: &[String]) {
    for call in calls {
        assert!(
            ![
                "POST edit",
                "POST start",
                "POST restart",
                "POST resize",
                "POST create"
            ]
            .contains(&call.as_str()),
            "{call} in {calls:?}"
        );
    }
}

#[tokio::test]
async fn a_cluster_created_asleep_is_terminated_not_left_starting() {
    let h = Harness::start().await;
    let props = cluster_asleep(&h, 4);
    let (id, data) = ok(&h.create(CLUSTER, &props).await);
    assert_eq!(data, json!({"ClusterId": id}));
    let state = h.fake.state();
    let c = state.cluster(&id).expect("stored");
    assert_eq!(c["state"], "TERMINATED", "{c}");
    assert_eq!(c["termination_reason"]["code"], "USER_REQUEST");
    assert!(c.get("last_restarted_time").is_none(), "it never ran: {c}");
    assert_eq!(c["autoscale"]["max_workers"], 4);
    assert!(
        c.get("start_on_create").is_none() && !c.to_string().contains("StartOnCreate"),
        "the property is not part of the spec sent: {c}"
    );
    let calls = cluster_calls(&h);
    assert_eq!(
        calls.iter().filter(|c| *c == "POST create").count(),
        1,
        "{calls:?}"
    );
    let create = calls.iter().position(|c| c == "POST create").unwrap();
    let terminate = calls.iter().position(|c| c == "POST delete").unwrap();
    assert!(terminate > create, "{calls:?}");
    assert!(
        !calls
            .iter()
            .any(|c| c == "POST start" || c == "POST restart"),
        "{calls:?}"
    );
    ok(&h.delete(CLUSTER, &id, &props).await);
    assert!(h.fake.state().clusters.is_empty());
}

#[tokio::test]
async fn a_cluster_adopted_asleep_is_terminated_too() {
    let h = Harness::start().await;
    let asleep = cluster_asleep(&h, 2);
    // The create is processed but its answer cut: the handler finds the cluster by its tag
    // (still PENDING) and terminates it like one it made.
    h.fake
        .faults()
        .on("/api/2.1/clusters/create")
        .malformed_next(1);
    let (id, _) = ok(&h.create(CLUSTER, &asleep).await);
    let state = h.fake.state();
    assert_eq!(state.clusters.len(), 1, "no duplicate");
    assert_eq!(state.cluster(&id).expect("stored")["state"], "TERMINATED");

    // A retried Create finds it terminated: the terminate is a no-op, nothing starts.
    h.fake.clear_requests();
    let (again, _) = ok(&h.create(CLUSTER, &asleep).await);
    assert_eq!(again, id);
    assert_eq!(h.fake.state().clusters.len(), 1);
    assert_eq!(h.fake.state().cluster(&id).unwrap()["state"], "TERMINATED");
    assert_nothing_started(&cluster_calls(&h));

    // A cluster made awake (RUNNING) and adopted by a Create retried asleep is terminated.
    ok(&h.delete(CLUSTER, &id, &asleep).await);
    let (running, _) = ok(&h.create(CLUSTER, &cluster(&h, 2)).await);
    assert_eq!(
        h.fake.state().cluster(&running).unwrap()["state"],
        "RUNNING"
    );
    h.fake.clear_requests();
    let (adopted, _) = ok(&h.create(CLUSTER, &asleep).await);
    assert_eq!(adopted, running);
    assert_eq!(h.fake.state().clusters.len(), 1);
    assert_eq!(
        h.fake.state().cluster(&running).unwrap()["state"],
        "TERMINATED"
    );
    assert_nothing_started(&cluster_calls(&h));
}

#[tokio::test]
async fn sleep_and_wake_update_the_cluster_without_a_call() {
    let h = Harness::start().await;
    let awake = cluster(&h, 4);
    let asleep = cluster_asleep(&h, 4);
    // Created awake (no StartOnCreate, then `true`): running.
    let (id, _) = ok(&h.create(CLUSTER, &awake).await);
    let mut awake_explicit = awake.clone();
    awake_explicit["StartOnCreate"] = json!(true);
    for (new, old) in [
        (&awake_explicit, &awake),
        (&asleep, &awake_explicit),
        (&awake_explicit, &asleep),
    ] {
        h.fake.clear_requests();
        let (same, data) = ok(&h.update(CLUSTER, &id, new, old).await);
        assert_eq!(same, id);
        assert_eq!(data, json!({"ClusterId": id}));
        assert_eq!(cluster_calls(&h), Vec::<String>::new(), "no call at all");
        assert_eq!(h.fake.state().cluster(&id).unwrap()["state"], "RUNNING");
    }

    // Created asleep: terminated, and a wake does not start it; a sleep again leaves it.
    let h = Harness::start().await;
    let awake = cluster(&h, 4);
    let asleep = cluster_asleep(&h, 4);
    let (id, _) = ok(&h.create(CLUSTER, &asleep).await);
    for (new, old) in [(&awake, &asleep), (&asleep, &awake)] {
        h.fake.clear_requests();
        ok(&h.update(CLUSTER, &id, new, old).await);
        assert_eq!(cluster_calls(&h), Vec::<String>::new(), "no call at all");
        assert_eq!(h.fake.state().cluster(&id).unwrap()["state"], "TERMINATED");
    }
}

#[tokio::test]
async fn an_edit_while_asleep_keeps_a_terminated_cluster_terminated() {
    let h = Harness::start().await;
    let (id, _) = ok(&h.create(CLUSTER, &cluster_asleep(&h, 4)).await);
    h.fake.clear_requests();
    let (same, _) = ok(&h
        .update(CLUSTER, &id, &cluster_asleep(&h, 8), &cluster_asleep(&h, 4))
        .await);
    assert_eq!(same, id);
    let state = h.fake.state();
    let c = state.cluster(&id).expect("stored");
    assert_eq!(c["state"], "TERMINATED", "{c}");
    assert_eq!(c["autoscale"]["max_workers"], 8);
    let calls = cluster_calls(&h);
    assert_eq!(calls.iter().filter(|c| *c == "POST edit").count(), 1);
    assert!(
        !calls
            .iter()
            .any(|c| ["POST delete", "POST start", "POST restart"].contains(&c.as_str())),
        "already terminated: only a read and the edit: {calls:?}"
    );
    assert_eq!(h.answered("POST", "/api/2.1/clusters/edit", 200), 1);
}

#[tokio::test]
async fn an_edit_while_asleep_terminates_a_running_cluster_before_editing_it() {
    // Not expected in practice (asleep, the cluster has no egress and has normally
    // auto-terminated), but defined: the edit of a RUNNING cluster would restart it, so the
    // provider terminates it, waits for TERMINATED and edits it then; it stays terminated.
    let h = Harness::start().await;
    let (id, _) = ok(&h.create(CLUSTER, &cluster(&h, 4)).await);
    assert_eq!(h.fake.state().cluster(&id).unwrap()["state"], "RUNNING");
    h.fake.clear_requests();
    let (same, _) = ok(&h
        .update(CLUSTER, &id, &cluster_asleep(&h, 8), &cluster(&h, 4))
        .await);
    assert_eq!(same, id);
    let state = h.fake.state();
    let c = state.cluster(&id).expect("stored");
    assert_eq!(c["state"], "TERMINATED", "{c}");
    assert_eq!(c["autoscale"]["max_workers"], 8);
    let calls = cluster_calls(&h);
    let terminate = calls.iter().position(|c| c == "POST delete");
    let edit = calls.iter().position(|c| c == "POST edit");
    assert!(
        matches!((terminate, edit), (Some(t), Some(e)) if t < e),
        "terminated, then edited: {calls:?}"
    );
    assert_eq!(calls.iter().filter(|c| *c == "POST edit").count(), 1);
    assert!(
        !calls
            .iter()
            .any(|c| c == "POST start" || c == "POST restart"),
        "{calls:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Faults

#[tokio::test]
async fn a_burst_of_5xx_is_retried_until_success() {
    let h = Harness::start().await;
    h.fake
        .faults()
        .on("/api/2.0/accounts")
        .fail_next(3, 503, "");
    let (id, _) = ok(&h.create(CREDENTIALS, &credentials(&h, "t-creds")).await);
    assert_eq!(h.answered("GET", "/api/2.0/accounts", 503), 3);
    assert_eq!(h.fake.state().credentials.len(), 1);
    assert_eq!(h.fake.state().credentials[0]["credentials_id"], id.as_str());
    assert_eq!(h.fake.faults().pending(), 0);
}

#[tokio::test]
async fn a_5xx_after_a_create_looks_before_creating_again() {
    let h = Harness::start().await;
    // The create itself is refused with a 500 (its outcome unknown to the client).
    h.fake.faults().on("/api/2.1/clusters/create").fail_next(
        1,
        500,
        r#"{"error_code":"INTERNAL_ERROR","message":"boom"}"#,
    );
    let (id, _) = ok(&h.create(CLUSTER, &cluster(&h, 2)).await);
    assert_eq!(h.fake.state().clusters.len(), 1);
    assert_eq!(h.fake.state().clusters[0]["cluster_id"], id.as_str());
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let h = Harness::start().await;
    h.fake
        .faults()
        .on("/api/2.0/accounts")
        .rate_limit_next(1, 1);
    let started = Instant::now();
    ok(&h.create(STORAGE, &storage(&h, "t-root", "b")).await);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(h.answered("GET", "/api/2.0/accounts", 429), 1);
    assert_eq!(h.fake.state().storage_configurations.len(), 1);
}

#[tokio::test]
async fn a_malformed_answer_to_a_create_adopts_what_it_made() {
    let h = Harness::start().await;
    // The cluster is created, then the answer is cut: the handler finds it by name and tag.
    h.fake
        .faults()
        .on("/api/2.1/clusters/create")
        .malformed_next(1);
    let (id, _) = ok(&h.create(CLUSTER, &cluster(&h, 2)).await);
    let state = h.fake.state();
    assert_eq!(state.clusters.len(), 1, "no duplicate");
    assert_eq!(state.clusters[0]["cluster_id"], id.as_str());
    // The same for an instance profile registration.
    h.fake
        .faults()
        .on("/api/2.0/instance-profiles/add")
        .malformed_next(1);
    let props = json!({"WorkspaceUrl": h.url(), "InstanceProfileArn": PROFILE, "IsMetaInstanceProfile": false});
    ok(&h.create(INSTANCE_PROFILE, &props).await);
    assert_eq!(h.fake.state().instance_profiles.len(), 1);
    assert_eq!(h.answered("POST", "/api/2.0/instance-profiles/add", 200), 1);
}

#[tokio::test]
async fn a_malformed_list_is_read_again() {
    let h = Harness::start().await;
    h.fake.faults().on("/api/2.0/accounts").malformed_next(2);
    ok(&h.create(NETWORK, &network(&h, "t-net", 1)).await);
    assert_eq!(h.fake.state().networks.len(), 1);
}

#[tokio::test]
async fn an_html_page_with_status_200_is_a_transient_failure() {
    let h = Harness::start().await;
    h.fake.faults().on("/oidc/").html_200_next(1);
    h.fake.faults().on("/api/2.0/preview/scim").html_200_next(2);
    let props = json!({
        "WorkspaceUrl": h.url(), "DisplayName": "t-eng", "Roles": [],
        "AllowClusterCreate": false, "AllowInstancePoolCreate": false
    });
    let (id, _) = ok(&h.create(GROUP, &props).await);
    let state = h.fake.state();
    assert_eq!(state.group("t-eng").expect("group")["id"], id.as_str());
    assert_eq!(
        state.groups.len(),
        3,
        "users, admins and the new group: no duplicate"
    );
    assert_eq!(h.fake.faults().pending(), 0);
}

#[tokio::test]
async fn a_workspace_that_ends_failed_is_reported_and_cleaned_up() {
    let h = Harness::start().await;
    let ids = prerequisites(&h, 1).await;
    h.fake.faults().workspace_fails(true);
    let reason = failed(&h.create(WORKSPACE, &workspace(&h, "t-ws", &ids)).await);
    assert!(
        reason.contains("did not start: FAILED: Workspace failed to launch"),
        "{reason}"
    );
    assert!(
        reason.contains("subnet validation failed"),
        "the network's error is named: {reason}"
    );
    assert!(
        reason.contains("the failed workspace was deleted"),
        "{reason}"
    );
    // CloudFormation will not delete it: the provider did.
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(h.fake.state().workspaces.is_empty());
}

#[tokio::test]
async fn credentials_validation_failing_first_is_retried() {
    // Only the injected failures: the fake's own propagation race is off here.
    let h = Harness::with(
        FakeConfig {
            credentials_propagation: testkit::databricks::Propagation::NONE,
            ..FakeConfig::default()
        },
        SECRET,
    )
    .await;
    let ids = prerequisites(&h, 1).await;
    h.fake.faults().credentials_validation_fails_first(3);
    let (id, _) = ok(&h.create(WORKSPACE, &workspace(&h, "t-ws", &ids)).await);
    assert_eq!(h.answered("POST", "/api/2.0/accounts", 400), 3);
    let state = h.fake.state();
    assert_eq!(state.workspaces.len(), 1);
    assert_eq!(state.workspaces[0]["workspace_id"].to_string(), id);
}

#[tokio::test]
async fn instance_profile_validation_failing_first_is_retried() {
    let h = Harness::start().await;
    h.fake.faults().instance_profile_validation_fails_first(2);
    let props = json!({"WorkspaceUrl": h.url(), "InstanceProfileArn": PROFILE, "IsMetaInstanceProfile": false});
    ok(&h.create(INSTANCE_PROFILE, &props).await);
    assert_eq!(h.answered("POST", "/api/2.0/instance-profiles/add", 400), 2);
    assert!(h.fake.state().instance_profile(PROFILE).is_some());
}

#[tokio::test]
async fn a_retried_create_adopts_the_existing_object() {
    let h = Harness::start().await;
    let creds = credentials(&h, "t-creds");
    let first = h.event("Create", CREDENTIALS, &creds, None, None);
    let (id, _) = ok(&h.send(&first).await);
    // CloudFormation retries the same event (same RequestId).
    let (again, _) = ok(&h.send(&first).await);
    assert_eq!(again, id);
    assert_eq!(h.fake.state().credentials.len(), 1);

    let ids = prerequisites(&h, 1).await;
    let ws = workspace(&h, "t-ws", &ids);
    let (w1, _) = ok(&h.create(WORKSPACE, &ws).await);
    let (w2, _) = ok(&h.create(WORKSPACE, &ws).await);
    assert_eq!(w1, w2);
    assert_eq!(h.fake.state().workspaces.len(), 1);

    let group = json!({"WorkspaceUrl": h.url(), "DisplayName": "t-eng", "Roles": [DATA_ROLE], "AllowClusterCreate": true, "AllowInstancePoolCreate": false});
    let (g1, _) = ok(&h.create(GROUP, &group).await);
    let (g2, _) = ok(&h.create(GROUP, &group).await);
    assert_eq!(g1, g2);
    assert_eq!(h.fake.state().group_roles("t-eng"), [DATA_ROLE]);
}

#[tokio::test]
async fn a_wrong_secret_fails_clearly_without_the_secret() {
    let h = Harness::with(FakeConfig::default(), "wrong-secret-value-0123").await;
    let answer = h.create(CREDENTIALS, &credentials(&h, "t-creds")).await;
    let reason = failed(&answer);
    assert!(reason.contains("invalid_client"), "{reason}");
    assert!(
        reason.contains("refused client id fake-client-id"),
        "{reason}"
    );
    let text = answer.to_string();
    assert!(!text.contains("wrong-secret-value-0123"), "{text}");
    let lines = h.logs.lines();
    assert!(
        lines.iter().any(|l| l.contains("invalid_client")),
        "the failure is logged"
    );
    for line in lines {
        assert!(!line.contains("wrong-secret-value-0123"), "{line}");
    }
    // A 401 from the token endpoint is not retried.
    assert_eq!(h.answered("POST", "/oidc/", 401), 1);
    assert!(h.fake.state().credentials.is_empty());
}

#[tokio::test]
async fn a_numeric_error_code_is_classified_and_not_retried() {
    let h = Harness::start().await;
    h.fake
        .faults()
        .on("/api/2.0/accounts")
        .numeric_error_code_next(1);
    let reason = failed(&h.create(CREDENTIALS, &credentials(&h, "t-creds")).await);
    assert!(reason.contains("403: Invalid access token."), "{reason}");
    assert_eq!(h.answered("GET", "/api/2.0/accounts", 403), 1);
}

#[tokio::test]
async fn tokens_are_cached_and_renewed_after_a_401() {
    let h = Harness::start().await;
    ok(&h.create(CREDENTIALS, &credentials(&h, "a")).await);
    ok(&h.create(STORAGE, &storage(&h, "b", "b")).await);
    assert_eq!(
        h.fake.state().tokens_issued,
        1,
        "one account token for every call"
    );
    h.fake.revoke_tokens();
    ok(&h.create(NETWORK, &network(&h, "t-net", 1)).await);
    assert_eq!(
        h.fake.state().tokens_issued,
        2,
        "a revoked token is replaced once"
    );
    h.assert_no_secret_in_logs();
}

#[tokio::test]
async fn another_account_is_refused() {
    let h = Harness::start().await;
    let props = json!({"AccountId": "11111111-2222-4333-8444-555555555555", "CredentialsName": "x", "RoleArn": ROLE});
    let reason = failed(&h.create(CREDENTIALS, &props).await);
    assert!(
        reason.contains("is not the provider's Databricks account"),
        "{reason}"
    );
    assert!(h.fake.requests().is_empty(), "no call was made");
}

#[tokio::test]
async fn a_workspace_url_of_another_host_is_refused_before_any_call() {
    let h = Harness::start().await;
    let props = json!({
        "WorkspaceUrl": "https://evil.example.com", "DisplayName": "t", "Roles": [],
        "AllowClusterCreate": false, "AllowInstancePoolCreate": false
    });
    let reason = failed(&h.create(GROUP, &props).await);
    assert!(reason.contains("workspace URL"), "{reason}");
    assert!(h.fake.requests().is_empty());
}

/// Records the hand-overs; the test runs each as the next invocation.
#[derive(Default)]
struct Handovers(Mutex<Vec<Value>>);

impl Continuation for Handovers {
    async fn continue_with(&self, payload: Value) -> Result<(), String> {
        self.0.lock().expect("log").push(payload);
        Ok(())
    }
}

/// Runs `payload` as a Lambda would, each invocation with time for a few polls only, handing
/// over until the answer; returns it, the number of invocations and the hand-overs' progress.
async fn across_invocations(
    h: &Harness,
    mut payload: Value,
) -> (databricks_provider::response::Response, usize, Vec<Value>) {
    let answers_before = h.rx.received().len();
    let handovers = Handovers::default();
    let mut invocations = 0;
    let mut progress = Vec::new();
    let answer = loop {
        invocations += 1;
        assert!(invocations < 50, "the operation never finished");
        let invocation = Invocation::from_payload(&payload).expect("an invocation");
        let ctx = h.ctx.clone();
        // Each invocation has time for a few polls, not for the whole operation.
        let handled = respond(
            &h.http,
            invocation,
            ANSWER_MARGIN + Duration::from_millis(2600),
            &h.ctx.redactor(),
            &handovers,
            move |r, p| handlers::handle(ctx.clone(), r, p),
        )
        .await
        .expect("delivered or handed over");
        match handled {
            Handled::Answered(r) => break r,
            Handled::Continued => {
                assert_eq!(
                    h.rx.received().len(),
                    answers_before,
                    "no answer while the operation goes on"
                );
                payload = handovers.0.lock().expect("log").pop().expect("a hand-over");
                progress.push(payload[PROGRESS_KEY].clone());
            }
        }
    };
    assert_eq!(
        h.rx.received().len(),
        answers_before + 1,
        "exactly one answer"
    );
    (answer, invocations, progress)
}

#[tokio::test]
async fn a_workspace_slower_than_one_invocation_completes_across_several() {
    let h = Harness::with(
        FakeConfig {
            workspace_provisioning_delay: Duration::from_millis(8000),
            ..FakeConfig::default()
        },
        SECRET,
    )
    .await;
    let ids = prerequisites(&h, 71).await;
    let payload = h.event(
        "Create",
        WORKSPACE,
        &workspace(&h, "t-slow", &ids),
        None,
        None,
    );
    let (answer, invocations, _) = across_invocations(&h, payload).await;
    assert_eq!(answer.status, "SUCCESS", "{}", answer.reason);
    assert!(invocations >= 3, "took {invocations} invocations");
    let id: i64 = answer.data["WorkspaceId"]
        .parse()
        .expect("a numeric workspace id");
    let state = h.fake.state();
    let ws = state.workspace(id).expect("the workspace exists");
    assert_eq!(ws["workspace_status"], "RUNNING");
}

#[tokio::test]
async fn a_cluster_terminating_slower_than_one_invocation_hands_over_its_phase() {
    let h = Harness::with(
        FakeConfig {
            deletion_delay: Duration::from_millis(6000),
            ..FakeConfig::default()
        },
        SECRET,
    )
    .await;
    let payload = h.event("Create", CLUSTER, &cluster_asleep(&h, 2), None, None);
    let (answer, invocations, progress) = across_invocations(&h, payload).await;
    assert_eq!(answer.status, "SUCCESS", "{}", answer.reason);
    assert!(invocations >= 2, "took {invocations} invocations");
    let id = answer.data["ClusterId"].clone();
    for p in &progress {
        assert_eq!(p, &json!({"phase": "terminate", "cluster_id": id}), "{p}");
    }
    let state = h.fake.state();
    assert_eq!(state.clusters.len(), 1, "created once");
    assert_eq!(state.cluster(&id).expect("stored")["state"], "TERMINATED");
    assert_nothing_started(
        &cluster_calls(&h)
            .into_iter()
            .filter(|c| c != "POST create")
            .collect::<Vec<_>>(),
    );
}

// ---------------------------------------------------------------------------------------------
// Never adopt what is not ours: the account and the workspace already hold same-named objects
// that somebody else made (seeded through the fake's API before the provider runs).

/// Makes an account object as somebody else would: through the API, without the mark.
async fn seed_account(h: &Harness, path: &str, body: Value) -> Value {
    h.ctx
        .client
        .account_create(path, &body)
        .await
        .expect("the foreign object is made")
}

/// The requests that changed something (anything but GET) on paths starting with `prefix`.
fn changes_on(h: &Harness, prefix: &str) -> Vec<String> {
    h.fake
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.starts_with(prefix))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn same_named_foreign_configurations_fail_the_create_and_stay_untouched() {
    let h = Harness::start().await;
    let account = format!("/api/2.0/accounts/{}", h.account());
    // Somebody else's objects, with exactly the configured names and even the same settings.
    let creds = seed_account(
        &h,
        "/credentials",
        json!({"credentials_name": "t-creds", "aws_credentials": {"sts_role": {"role_arn": ROLE}}}),
    )
    .await;
    let root = seed_account(
        &h,
        "/storage-configurations",
        json!({"storage_configuration_name": "t-root", "root_bucket_info": {"bucket_name": "t-root-bucket"}}),
    )
    .await;
    let net = seed_account(
        &h,
        "/networks",
        json!({"network_name": "t-net", "vpc_id": "vpc-0a1b", "subnet_ids": ["subnet-9a", "subnet-9b"], "security_group_ids": ["sg-9"]}),
    )
    .await;
    let before = h.fake.state();
    h.fake.clear_requests();

    let reason = failed(&h.create(CREDENTIALS, &credentials(&h, "t-creds")).await);
    assert_eq!(
        reason,
        format!(
            "credential configuration \"t-creds\" already exists ({}) and was not created by this stack resource; \
             cdkrs does not adopt or change objects it did not create: choose another name in the config, \
             or delete that object if it is unused",
            creds["credentials_id"].as_str().expect("an id")
        )
    );
    let reason = failed(
        &h.create(STORAGE, &storage(&h, "t-root", "t-root-bucket"))
            .await,
    );
    assert!(
        reason.starts_with(&format!(
            "storage configuration \"t-root\" already exists ({})",
            root["storage_configuration_id"].as_str().expect("an id")
        )),
        "{reason}"
    );
    let reason = failed(&h.create(NETWORK, &network(&h, "t-net", 1)).await);
    assert!(
        reason.starts_with(&format!(
            "network configuration \"t-net\" already exists ({})",
            net["network_id"].as_str().expect("an id")
        )),
        "{reason}"
    );

    // Nothing was created, changed or deleted.
    assert_eq!(changes_on(&h, &account), Vec::<String>::new());
    let after = h.fake.state();
    assert_eq!(after.credentials, before.credentials);
    assert_eq!(after.storage_configurations, before.storage_configurations);
    assert_eq!(after.networks, before.networks);
}

#[tokio::test]
async fn another_stack_s_marked_object_is_neither_adopted_nor_in_the_way() {
    let h = Harness::start().await;
    // Another cdkrs stack's credentials for the same configured name (its own mark).
    let theirs = seed_account(
        &h,
        "/credentials",
        json!({"credentials_name": "t-creds-cdkrs-0123456789ab", "aws_credentials": {"sts_role": {"role_arn": ROLE}}}),
    )
    .await;
    let (id, _) = ok(&h.create(CREDENTIALS, &credentials(&h, "t-creds")).await);
    assert_ne!(id, theirs["credentials_id"].as_str().expect("an id"));
    let state = h.fake.state();
    assert_eq!(state.credentials.len(), 2);
    let kept = &state.credentials[0];
    assert_eq!(kept["credentials_id"], theirs["credentials_id"]);
    assert_eq!(kept["credentials_name"], "t-creds-cdkrs-0123456789ab");
    // Deleting ours leaves theirs.
    ok(&h
        .delete(CREDENTIALS, &id, &credentials(&h, "t-creds"))
        .await);
    let state = h.fake.state();
    assert_eq!(state.credentials.len(), 1);
    assert_eq!(
        state.credentials[0]["credentials_id"],
        theirs["credentials_id"]
    );
}

#[tokio::test]
async fn log_delivery_refuses_an_enabled_foreign_namesake_and_ignores_a_disabled_one() {
    let h = Harness::start().await;
    let (c, _) = ok(&h.create(CREDENTIALS, &credentials(&h, "t-logs")).await);
    let (s, _) = ok(&h
        .create(STORAGE, &storage(&h, "t-logs", "t-logs-bucket"))
        .await);
    let props = json!({
        "AccountId": h.account(), "ConfigName": "t-audit", "LogType": "AUDIT_LOGS",
        "OutputFormat": "JSON", "CredentialsId": c, "StorageConfigurationId": s,
    });
    let config = json!({
        "config_name": "t-audit", "log_type": "AUDIT_LOGS", "output_format": "JSON",
        "credentials_id": c, "storage_configuration_id": s, "status": "ENABLED",
    });
    let foreign = seed_account(
        &h,
        "/log-delivery",
        json!({ "log_delivery_configuration": config }),
    )
    .await["log_delivery_configuration"]
        .clone();
    let foreign_id = foreign["config_id"].as_str().expect("an id").to_owned();
    h.fake.clear_requests();
    let reason = failed(&h.create(LOG_DELIVERY, &props).await);
    assert!(
        reason.starts_with(&format!(
            "log delivery configuration \"t-audit\" already exists ({foreign_id}) and was not created by this stack resource"
        )) && reason.ends_with("(log delivery configurations cannot be deleted)"),
        "{reason}"
    );
    assert_eq!(changes_on(&h, "/api/2.0/accounts"), Vec::<String>::new());

    // Disabled by its owner: inert (and undeletable), so it is not in the way, and it is not
    // re-enabled or adopted either.
    h.ctx
        .client
        .account(
            databricks_provider::client::Method::PATCH,
            &format!("/log-delivery/{foreign_id}"),
            Some(&json!({"status": "DISABLED"})),
        )
        .await
        .expect("disabled");
    let (id, _) = ok(&h.create(LOG_DELIVERY, &props).await);
    assert_ne!(id, foreign_id);
    let state = h.fake.state();
    let theirs = state
        .log_delivery
        .iter()
        .find(|l| l["config_id"] == foreign_id.as_str())
        .expect("still there");
    assert_eq!(theirs["status"], "DISABLED");
    assert_eq!(theirs["config_name"], "t-audit");
    let ours = state
        .log_delivery
        .iter()
        .find(|l| l["config_id"] == id.as_str())
        .expect("ours");
    assert!(ours["config_name"]
        .as_str()
        .is_some_and(|n| n.starts_with("t-audit-cdkrs-")));
}

#[tokio::test]
async fn a_key_configuration_is_adopted_only_for_the_stack_s_own_key_and_use_cases() {
    let h = Harness::start().await;
    let own_key = "arn:aws:kms:eu-west-1:123456789012:key/k1";
    // Somebody else configured the stack's key for another use case.
    let foreign = seed_account(
        &h,
        "/customer-managed-keys",
        json!({"use_cases": ["MANAGED_SERVICES"], "aws_key_info": {"key_arn": own_key}}),
    )
    .await;
    // And a key of another AWS account, with the use cases the config asks for.
    let other_key = "arn:aws:kms:eu-west-1:210987654321:key/k2";
    let other = seed_account(
        &h,
        "/customer-managed-keys",
        json!({"use_cases": ["STORAGE"], "aws_key_info": {"key_arn": other_key}}),
    )
    .await;
    let before = h.fake.state().customer_managed_keys;
    let props =
        |arn: &str| json!({"AccountId": h.account(), "KeyArn": arn, "UseCases": ["STORAGE"]});

    let reason = failed(&h.create(KEY, &props(own_key)).await);
    assert!(
        reason.starts_with(&format!(
            "key configuration \"{own_key}\" already exists ({})",
            foreign["customer_managed_key_id"].as_str().expect("an id")
        )),
        "{reason}"
    );
    let reason = failed(&h.create(KEY, &props(other_key)).await);
    assert!(
        reason.contains(other["customer_managed_key_id"].as_str().expect("an id"))
            && reason.contains("not in the stack's AWS account and region"),
        "{reason}"
    );
    assert_eq!(h.fake.state().customer_managed_keys, before);

    // The stack's own key with its use cases, made by an earlier attempt, is adopted.
    let own = props("arn:aws:kms:eu-west-1:123456789012:key/k3");
    let (id, _) = ok(&h.create(KEY, &own).await);
    let (again, _) = ok(&h.create(KEY, &own).await);
    assert_eq!(again, id);
    assert_eq!(h.fake.state().customer_managed_keys.len(), 3);
}

#[tokio::test]
async fn a_group_named_like_ours_but_made_by_someone_else_is_not_adopted_nor_changed() {
    let h = Harness::start().await;
    let theirs = h
        .ctx
        .client
        .workspace_create(
            &h.url(),
            "/api/2.0/preview/scim/v2/Groups",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "t-eng",
                "roles": [{"value": PROFILE}],
                "entitlements": [{"value": "allow-instance-pool-create"}]
            }),
        )
        .await
        .expect("their group");
    let before = h.fake.state().group("t-eng").cloned();
    h.fake.clear_requests();
    let props = json!({
        "WorkspaceUrl": h.url(), "DisplayName": "t-eng", "Roles": [DATA_ROLE],
        "AllowClusterCreate": true, "AllowInstancePoolCreate": false
    });
    let reason = failed(&h.create(GROUP, &props).await);
    assert!(
        reason.starts_with(&format!(
            "group \"t-eng\" already exists ({}) and was not created by this stack resource",
            theirs["id"].as_str().expect("an id")
        )),
        "{reason}"
    );
    // Roles, entitlements and the group itself are as their owner left them.
    assert_eq!(h.fake.state().group("t-eng").cloned(), before);
    assert_eq!(
        changes_on(&h, "/api/2.0/preview/scim"),
        Vec::<String>::new()
    );
    // The lookup asked by name, as Terraform does.
    assert!(h
        .fake
        .requests()
        .iter()
        .any(|r| r.path == "/api/2.0/preview/scim/v2/Groups"
            && r.query
                .as_deref()
                .is_some_and(|q| q.contains("filter=displayName"))));
}

#[tokio::test]
async fn a_group_carries_its_mark_in_external_id_and_a_retry_adopts_it() {
    let h = Harness::start().await;
    let props = json!({
        "WorkspaceUrl": h.url(), "DisplayName": "t-eng", "Roles": [DATA_ROLE],
        "AllowClusterCreate": true, "AllowInstancePoolCreate": false
    });
    let (id, _) = ok(&h.create(GROUP, &props).await);
    let state = h.fake.state();
    let group = state.group("t-eng").expect("made");
    let mark = group["externalId"].as_str().expect("an externalId");
    assert!(mark.starts_with("cdkrs-") && mark.len() == 18, "{mark}");
    let (again, _) = ok(&h.create(GROUP, &props).await);
    assert_eq!(again, id);
    // Another resource (another logical id) with the same display name is not this one.
    let mut other = h.event("Create", GROUP, &props, None, None);
    other["LogicalResourceId"] = json!("OtherGroup");
    let reason = failed(&h.send(&other).await);
    assert!(
        reason.contains("was not created by this stack resource"),
        "{reason}"
    );
}

#[tokio::test]
async fn the_group_lookup_asks_by_name_with_a_page_size_among_more_groups_than_a_page() {
    // More groups than the fake's default page (users, admins and five others).
    let h = Harness::start().await;
    for n in 0..5 {
        h.ctx
            .client
            .workspace_create(
                &h.url(),
                "/api/2.0/preview/scim/v2/Groups",
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("t-filler-{n}")}),
            )
            .await
            .expect("a filler group");
    }
    let props = json!({
        "WorkspaceUrl": h.url(), "DisplayName": "t-eng", "Roles": [],
        "AllowClusterCreate": false, "AllowInstancePoolCreate": false
    });
    let (id, _) = ok(&h.create(GROUP, &props).await);
    let (again, _) = ok(&h.create(GROUP, &props).await);
    assert_eq!(again, id);
    let lists: Vec<String> = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/api/2.0/preview/scim/v2/Groups")
        .filter_map(|r| r.query)
        .collect();
    assert!(!lists.is_empty());
    for q in &lists {
        assert!(
            q.contains("filter=displayName%20eq%20%22t-eng%22")
                && q.contains("startIndex=1")
                && q.contains("count=100"),
            "{q}"
        );
    }
}

#[tokio::test]
async fn an_update_that_changes_no_create_only_property_keeps_the_configuration() {
    let h = Harness::start().await;
    let props = storage(&h, "t-root", "t-root-bucket");
    let (id, _) = ok(&h.create(STORAGE, &props).await);
    h.fake.clear_requests();
    // Only the provider's timeout changes: not a property of the configuration.
    let mut event = h.event("Update", STORAGE, &props, Some(&id), Some(&props));
    event["ResourceProperties"]["ServiceTimeout"] = json!("1800");
    event["OldResourceProperties"]["ServiceTimeout"] = json!("3600");
    let (same, _) = ok(&h.send(&event).await);
    assert_eq!(same, id);
    assert_eq!(changes_on(&h, "/api/2.0/accounts"), Vec::<String>::new());
    // The bucket is create-only: a new configuration, named with the event's token.
    let new = storage(&h, "t-root", "t-root-bucket-2");
    let (new_id, _) = ok(&h.update(STORAGE, &id, &new, &props).await);
    assert_ne!(new_id, id);
}

#[tokio::test]
async fn a_rename_onto_a_foreign_name_fails_and_keeps_both_objects() {
    let h = Harness::start().await;
    let props = storage(&h, "t-root", "t-root-bucket");
    let (id, _) = ok(&h.create(STORAGE, &props).await);
    let theirs = seed_account(
        &h,
        "/storage-configurations",
        json!({"storage_configuration_name": "t-root-2", "root_bucket_info": {"bucket_name": "t-root-bucket"}}),
    )
    .await;
    let before = h.fake.state().storage_configurations;
    h.fake.clear_requests();
    let renamed = storage(&h, "t-root-2", "t-root-bucket");
    let reason = failed(&h.update(STORAGE, &id, &renamed, &props).await);
    assert!(
        reason.starts_with(&format!(
            "storage configuration \"t-root-2\" already exists ({})",
            theirs["storage_configuration_id"].as_str().expect("an id")
        )),
        "{reason}"
    );
    assert_eq!(changes_on(&h, "/api/2.0/accounts"), Vec::<String>::new());
    assert_eq!(h.fake.state().storage_configurations, before);
}

// ---------------------------------------------------------------------------------------------
// Clusters as the real API treats them (issue 10 items 4, 7, 8 and 9)

/// Creates a cluster in the fake as somebody else would (no ownership mark), named like the
/// stack's.
async fn foreign_cluster(h: &Harness, name: &str, tags: Value) -> String {
    let body = json!({
        "cluster_name": name, "spark_version": "15.4.x-scala2.12", "node_type_id": "r5.xlarge",
        "num_workers": 1, "autotermination_minutes": 60, "custom_tags": tags
    });
    let answer = h
        .ctx
        .client
        .workspace_create(&h.url(), "/api/2.1/clusters/create", &body)
        .await
        .expect("a foreign cluster");
    answer["cluster_id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn a_first_on_demand_change_replaces_the_cluster_and_is_never_edited() {
    let h = Harness::start().await;
    let old = cluster(&h, 4);
    let (id, _) = ok(&h.create(CLUSTER, &old).await);
    let mut new = old.clone();
    new["AwsAttributes"]["FirstOnDemand"] = json!(2);
    h.fake.clear_requests();
    let (new_id, data) = ok(&h.update(CLUSTER, &id, &new, &old).await);
    assert_ne!(
        new_id, id,
        "a new cluster: CloudFormation deletes the old one"
    );
    assert_eq!(data, json!({"ClusterId": new_id}));
    assert_eq!(h.answered("POST", "/api/2.1/clusters/edit", 200), 0);
    assert_eq!(h.answered("POST", "/api/2.1/clusters/edit", 400), 0);
    let state = h.fake.state();
    assert_eq!(
        state.cluster(&new_id).expect("made")["aws_attributes"]["first_on_demand"],
        2
    );
    assert_eq!(
        state
            .cluster(&id)
            .expect("kept until CloudFormation deletes it")["aws_attributes"]["first_on_demand"],
        1
    );
    // CloudFormation's cleanup Delete of the old id removes only the old cluster.
    ok(&h.delete(CLUSTER, &id, &old).await);
    let state = h.fake.state();
    assert!(state.cluster(&id).is_none());
    assert!(state.cluster(&new_id).is_some());
}

#[tokio::test]
async fn a_dedicated_cluster_echoed_as_single_user_is_not_edited_again() {
    let h = Harness::start().await;
    let dedicated = |max: u32| {
        let mut p = cluster(&h, max);
        p["DataSecurityMode"] = json!("DATA_SECURITY_MODE_DEDICATED");
        p
    };
    let (id, _) = ok(&h.create(CLUSTER, &dedicated(4)).await);
    assert_eq!(
        h.fake.state().cluster(&id).unwrap()["data_security_mode"],
        "SINGLE_USER",
        "the server echoes the legacy alias"
    );
    let update = h.event(
        "Update",
        CLUSTER,
        &dedicated(8),
        Some(&id),
        Some(&dedicated(4)),
    );
    ok(&h.send(&update).await);
    assert_eq!(h.answered("POST", "/api/2.1/clusters/edit", 200), 1);
    // CloudFormation retries the same Update (the first answer was lost): the cluster already
    // has the spec, alias aside, so there is no second edit (and no second restart).
    ok(&h.send(&update).await);
    assert_eq!(h.answered("POST", "/api/2.1/clusters/edit", 200), 1);
    // A template that only renames the mode to its alias makes no call at all.
    h.fake.clear_requests();
    let mut alias = dedicated(8);
    alias["DataSecurityMode"] = json!("SINGLE_USER");
    ok(&h.update(CLUSTER, &id, &alias, &dedicated(8)).await);
    assert!(h.fake.requests().is_empty(), "{:?}", h.fake.requests());
}

#[tokio::test]
async fn a_dedicated_cluster_without_single_user_name_is_refused_before_any_call() {
    let h = Harness::start().await;
    for mode in ["SINGLE_USER", "DATA_SECURITY_MODE_DEDICATED"] {
        let mut p = cluster(&h, 2);
        p["DataSecurityMode"] = json!(mode);
        p.as_object_mut().unwrap().remove("SingleUserName");
        let reason = failed(&h.create(CLUSTER, &p).await);
        assert!(reason.contains("SingleUserName"), "{reason}");
        assert!(reason.contains(mode), "{reason}");
    }
    assert_eq!(h.answered("POST", "/api/2.1/clusters/create", 200), 0);
    assert!(h.fake.state().clusters.is_empty());
}

#[tokio::test]
async fn a_cluster_spec_the_api_refuses_fails_with_the_apis_words() {
    let h = Harness::start().await;
    let mut p = cluster(&h, 2);
    p["SparkVersion"] = json!("13.0.x-scala2.11");
    let reason = failed(&h.create(CLUSTER, &p).await);
    assert!(
        reason.contains("Invalid spark version 13.0.x-scala2.11."),
        "{reason}"
    );
    let mut p = cluster(&h, 2);
    p["AwsAttributes"]["EbsVolumeType"] = json!("GENERAL_PURPOSE_SSD");
    p["AwsAttributes"]["EbsVolumeCount"] = json!(1);
    p["AwsAttributes"]["EbsVolumeSize"] = json!(32);
    let reason = failed(&h.create(CLUSTER, &p).await);
    assert!(reason.contains("100 - 4096"), "{reason}");
    assert!(h.fake.state().clusters.is_empty());
}

#[tokio::test]
async fn a_same_named_foreign_cluster_is_never_adopted_edited_or_deleted() {
    let h = Harness::start().await;
    // More same-named foreign clusters than one page of clusters/list holds.
    // One carries what the handler's old tag looked like for this stack and logical id
    // (`cdkrs-resource: <stack name>/<logical id>`, which a same-named stack in another
    // region or account also wrote), one another resource's mark.
    let mut foreign = Vec::new();
    for tags in [
        json!({"Owner": "another-team"}),
        json!({"cdkrs-resource": "t-databricks/Cluster"}),
        json!({"cdkrs-owner": "cdkrs-000000000000"}),
    ] {
        foreign.push(foreign_cluster(&h, "t-shared", tags).await);
    }
    let before = h.fake.state();
    let props = cluster(&h, 4);
    // The create is processed but its answer is cut: the retry looks for the cluster and must
    // find its own (on the last page), not one of the foreign ones.
    h.fake
        .faults()
        .on("/api/2.1/clusters/create")
        .malformed_next(1);
    let (id, _) = ok(&h.create(CLUSTER, &props).await);
    assert!(!foreign.contains(&id), "a foreign cluster was adopted");
    let state = h.fake.state();
    assert_eq!(state.clusters.len(), 4, "exactly one cluster made");
    assert!(
        h.fake
            .requests()
            .iter()
            .any(|r| r.path == "/api/2.1/clusters/list"
                && r.query
                    .as_deref()
                    .is_some_and(|q| q.contains("page_token="))),
        "the provider followed next_page_token"
    );
    // A plain retried Create adopts its own cluster, still not a foreign one.
    let (again, _) = ok(&h.create(CLUSTER, &props).await);
    assert_eq!(again, id);
    // Update and Delete touch only the stack's cluster.
    ok(&h.update(CLUSTER, &id, &cluster(&h, 8), &props).await);
    ok(&h.delete(CLUSTER, &id, &cluster(&h, 8)).await);
    let after = h.fake.state();
    // The same spec as made (only the clock moved it from PENDING to RUNNING).
    let spec = |c: Option<&Value>| {
        let mut c = c.expect("still there").clone();
        for clock in ["state", "state_message", "last_restarted_time"] {
            c.as_object_mut().unwrap().remove(clock);
        }
        c
    };
    for f in &foreign {
        assert_eq!(
            spec(after.cluster(f)),
            spec(before.cluster(f)),
            "foreign cluster {f} changed"
        );
        assert_eq!(
            after.cluster(f).unwrap()["state"],
            "RUNNING",
            "never terminated"
        );
    }
    assert_eq!(after.clusters.len(), 3);
}

#[tokio::test]
async fn a_does_not_exist_400_outside_clusters_get_is_not_taken_for_a_deleted_cluster() {
    let h = Harness::start().await;
    let props = cluster(&h, 2);
    let (id, _) = ok(&h.create(CLUSTER, &props).await);
    // permanent-delete answers a 400 "does not exist" although the cluster is there: that is a
    // bad parameter, and clusters/get says the cluster exists, so the Delete fails.
    let body = json!({"error_code": "INVALID_PARAMETER_VALUE", "message": format!("Cluster {id} does not exist")});
    h.fake
        .faults()
        .on("/api/2.1/clusters/permanent-delete")
        .fail_next(1, 400, body.to_string());
    let reason = failed(&h.delete(CLUSTER, &id, &props).await);
    assert!(reason.contains("deleting cluster"), "{reason}");
    assert!(h.fake.state().cluster(&id).is_some());
    // Really gone (clusters/get confirms): the Delete succeeds.
    ok(&h.delete(CLUSTER, &id, &props).await);
    ok(&h.delete(CLUSTER, &id, &props).await);
    // An Update of a cluster deleted behind the stack's back makes a new one.
    let (gone_id, _) = ok(&h.create(CLUSTER, &props).await);
    h.ctx
        .client
        .workspace(
            &h.url(),
            reqwest::Method::POST,
            "/api/2.1/clusters/permanent-delete",
            Some(&json!({"cluster_id": gone_id})),
        )
        .await
        .expect("deleted behind the stack's back");
    let (new_id, _) = ok(&h.update(CLUSTER, &gone_id, &cluster(&h, 4), &props).await);
    assert_ne!(new_id, gone_id);
    assert!(h.fake.state().cluster(&new_id).is_some());
}

// ---------------------------------------------------------------------------------------------
// The init script only admins can write (issue 10 item 11)

/// The fake with a non-admin service principal `dev-sp` in group `data-engineers`, and a
/// client acting as it.
async fn with_non_admin() -> (Harness, databricks_provider::client::DatabricksClient) {
    use databricks_provider::client::{Auth, DatabricksClient};
    let h = Harness::with(
        FakeConfig {
            non_admin_principals: vec![testkit::databricks::FakePrincipal {
                client_id: "dev-sp".into(),
                client_secret: "dev-secret".into(),
                groups: vec!["data-engineers".into()],
            }],
            ..FakeConfig::default()
        },
        SECRET,
    )
    .await;
    h.ctx
        .client
        .workspace_create(
            &h.url(),
            "/api/2.0/preview/scim/v2/Groups",
            &json!({"displayName": "data-engineers"}),
        )
        .await
        .expect("group");
    let mut auth = Auth::new(&h.account(), "dev-sp", "dev-secret");
    auth.accounts_host = h.url();
    let dev = DatabricksClient::new(auth, fast_retries()).expect("client");
    (h, dev)
}

fn script_file(h: &Harness, path: &str) -> Value {
    json!({"WorkspaceUrl": h.url(), "Path": path, "ContentBase64": SCRIPT_ONE, "Overwrite": true})
}

#[tokio::test]
async fn the_init_script_is_writable_only_by_admins_and_a_non_admin_group_cannot_change_it() {
    use databricks_provider::client::{ErrorKind, Method};
    let (h, dev) = with_non_admin().await;
    let path = "/cdkrs/init/sse.sh";
    let (id, _) = ok(&h.create(FILE, &script_file(&h, path)).await);
    assert_eq!(id, path);
    assert_eq!(h.answered("PUT", "/api/2.0/permissions/files/", 200), 1);
    assert_eq!(
        h.answered("GET", "/api/2.0/permissions/files/", 200),
        1,
        "read back"
    );

    // The member of a non-admin group may read the script (clusters of any owner run it) but
    // not overwrite, delete or re-permission it.
    let url = h.url();
    let export = format!("/api/2.0/workspace/export?path={path}&format=RAW");
    assert!(dev
        .workspace(&url, Method::GET, &export, None)
        .await
        .is_ok());
    let overwrite =
        json!({"path": path, "format": "RAW", "content": SCRIPT_TWO, "overwrite": true});
    let e = dev
        .workspace(
            &url,
            Method::POST,
            "/api/2.0/workspace/import",
            Some(&overwrite),
        )
        .await
        .expect_err("a non-admin cannot overwrite the script");
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    let e = dev
        .workspace(
            &url,
            Method::POST,
            "/api/2.0/workspace/delete",
            Some(&json!({"path": path})),
        )
        .await
        .expect_err("a non-admin cannot delete the script");
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    let id_of = h
        .ctx
        .client
        .workspace(
            &url,
            Method::GET,
            &format!("/api/2.0/workspace/get-status?path={path}"),
            None,
        )
        .await
        .expect("status")["object_id"]
        .clone();
    let grant_self = json!({"access_control_list": [{"service_principal_name": "dev-sp", "permission_level": "CAN_MANAGE"}]});
    let e = dev
        .workspace(
            &url,
            Method::PATCH,
            &format!("/api/2.0/permissions/files/{id_of}"),
            Some(&grant_self),
        )
        .await
        .expect_err("a non-admin cannot grant itself the script");
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    let state = h.fake.state();
    assert_eq!(
        state.workspace_object(path).expect("still there").content,
        b"#!/bin/bash\necho one\n"
    );
    // The admin-side Update and Delete still work.
    let mut two = script_file(&h, path);
    two["ContentBase64"] = json!(SCRIPT_TWO);
    ok(&h.update(FILE, &id, &two, &script_file(&h, path)).await);
    assert_eq!(
        h.answered("PUT", "/api/2.0/permissions/files/", 200),
        2,
        "set again after the write"
    );
    ok(&h.delete(FILE, &id, &two).await);
    assert!(h.fake.state().workspace_object(path).is_none());
}

#[tokio::test]
async fn an_init_script_under_shared_or_a_home_is_refused_before_any_call() {
    let h = Harness::start().await;
    for path in [
        "/Shared/cdkrs/init/sse.sh",
        "/Users/someone@example.com/sse.sh",
    ] {
        let reason = failed(&h.create(FILE, &script_file(&h, path)).await);
        assert!(reason.contains("only admins can write"), "{reason}");
        assert!(reason.contains("/cdkrs/init/sse.sh"), "{reason}");
    }
    assert!(h
        .fake
        .requests()
        .iter()
        .all(|r| !r.path.starts_with("/api/2.0/workspace/")));
}

#[tokio::test]
async fn an_init_script_whose_folder_lets_a_group_write_fails_and_is_removed() {
    use databricks_provider::client::Method;
    let (h, _dev) = with_non_admin().await;
    let url = h.url();
    let c = &h.ctx.client;
    c.workspace(
        &url,
        Method::POST,
        "/api/2.0/workspace/mkdirs",
        Some(&json!({"path": "/cdkrs/init"})),
    )
    .await
    .expect("folder");
    let dir = c
        .workspace(
            &url,
            Method::GET,
            "/api/2.0/workspace/get-status?path=/cdkrs/init",
            None,
        )
        .await
        .expect("status")["object_id"]
        .clone();
    c.workspace(
        &url,
        Method::PATCH,
        &format!("/api/2.0/permissions/directories/{dir}"),
        Some(&json!({"access_control_list": [{"group_name": "data-engineers", "permission_level": "CAN_EDIT"}]})),
    )
    .await
    .expect("grant");
    let reason = failed(&h.create(FILE, &script_file(&h, "/cdkrs/init/sse.sh")).await);
    assert!(
        reason.contains(&format!(
            "data-engineers has CAN_EDIT (inherited from /directories/{dir})"
        )),
        "{reason}"
    );
    assert!(reason.contains("the file was deleted"), "{reason}");
    assert!(h
        .fake
        .state()
        .workspace_object("/cdkrs/init/sse.sh")
        .is_none());
}

// ---------------------------------------------------------------------------------------------
// The real server's account-side behaviours (issue 10), with the fake's behaviours on

/// Requests of `method` whose path ends with `suffix`.
fn calls(h: &Harness, method: &str, suffix: &str) -> Vec<u16> {
    h.fake
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path.ends_with(suffix))
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn a_first_deploy_retries_the_iam_propagation_races_with_the_real_bodies() {
    let h = Harness::start().await;
    // POST /credentials right after the role is new: text/plain, singular "credential".
    let (c, _) = ok(&h.create(CREDENTIALS, &credentials(&h, "t-creds")).await);
    let posts = calls(&h, "POST", "/credentials");
    assert!(posts.len() >= 2 && posts[0] == 400, "{posts:?}");
    assert_eq!(posts.last(), Some(&200));
    // POST /workspaces validates the role again: plural message, text/plain.
    let (s, _) = ok(&h
        .create(STORAGE, &storage(&h, "t-root", "t-root-bucket"))
        .await);
    let (n, _) = ok(&h.create(NETWORK, &network(&h, "t-net", 1)).await);
    ok(&h
        .create(
            WORKSPACE,
            &workspace(&h, "t-ws", &(c.clone(), s.clone(), n)),
        )
        .await);
    let posts = calls(&h, "POST", "/workspaces");
    assert_eq!(posts.first(), Some(&400), "{posts:?}");
    assert_eq!(posts.last(), Some(&200), "{posts:?}");
    assert_eq!(h.fake.state().workspaces.len(), 1);
    // POST /log-delivery: "Failed to perform putObject operations …" while the role and the
    // bucket policy propagate.
    let props = json!({
        "AccountId": h.account(), "ConfigName": "t-audit", "LogType": "AUDIT_LOGS",
        "OutputFormat": "JSON", "CredentialsId": c, "StorageConfigurationId": s
    });
    ok(&h.create(LOG_DELIVERY, &props).await);
    let posts = calls(&h, "POST", "/log-delivery");
    assert_eq!(posts.first(), Some(&400), "{posts:?}");
    assert_eq!(posts.last(), Some(&200), "{posts:?}");
    assert_eq!(h.fake.state().log_delivery.len(), 1);
}

#[tokio::test]
async fn a_propagation_race_that_never_ends_fails_within_the_budget_with_the_real_message() {
    let h = Harness::with(
        FakeConfig {
            credentials_propagation: testkit::databricks::Propagation {
                failures: 1000,
                window: Duration::from_secs(600),
            },
            ..FakeConfig::default()
        },
        SECRET,
    )
    .await;
    let started = Instant::now();
    let reason = failed(&h.create(CREDENTIALS, &credentials(&h, "t-creds")).await);
    assert!(
        reason.contains("Failed credential validation checks"),
        "{reason}"
    );
    // fast_retries: 5 s of eventual-consistency budget.
    assert!(started.elapsed() < Duration::from_secs(10), "bounded");
    assert!(h.fake.state().credentials.is_empty());
}

#[tokio::test]
async fn a_workspace_update_is_refused_while_a_cluster_runs_naming_it_and_the_fix() {
    let h = Harness::start().await;
    let ids = prerequisites(&h, 1).await;
    let props = workspace(&h, "t-ws", &ids);
    let (id, _) = ok(&h.create(WORKSPACE, &props).await);
    let (cluster_id, _) = ok(&h.create(CLUSTER, &cluster(&h, 2)).await);
    let mut tagged = props.clone();
    tagged["CustomTags"] = json!({"CostCenter": "43"});
    let reason = failed(&h.update(WORKSPACE, &id, &tagged, &props).await);
    assert!(reason.contains(&cluster_id), "{reason}");
    assert!(reason.contains("\"t-shared\" (RUNNING)"), "{reason}");
    assert!(reason.contains("Terminate these clusters"), "{reason}");
    assert!(calls(&h, "PATCH", &format!("/workspaces/{id}")).is_empty());
    let workspace_id: i64 = id.parse().expect("numeric");
    assert_eq!(
        h.fake.state().workspace(workspace_id).expect("kept")["custom_tags"]["CostCenter"],
        "42"
    );
    // The fix: terminate the cluster, deploy again.
    h.ctx
        .client
        .workspace(
            &h.url(),
            databricks_provider::client::Method::POST,
            "/api/2.1/clusters/delete",
            Some(&json!({"cluster_id": cluster_id})),
        )
        .await
        .expect("terminate");
    tokio::time::sleep(Duration::from_millis(120)).await;
    let (same, _) = ok(&h.update(WORKSPACE, &id, &tagged, &props).await);
    assert_eq!(same, id);
    assert_eq!(calls(&h, "PATCH", &format!("/workspaces/{id}")), [200]);
    assert_eq!(
        h.fake.state().workspace(workspace_id).expect("kept")["custom_tags"]["CostCenter"],
        "43"
    );
    // The cluster is still the stack's, stopped: the provider never stopped or started it.
    assert_eq!(
        h.fake.state().cluster(&cluster_id).expect("kept")["state"],
        "TERMINATED"
    );
}

#[tokio::test]
async fn a_cluster_created_right_after_a_workspace_update_waits_until_compute_is_allowed() {
    // Classic compute is refused for a while after a workspace update (the fake models the
    // 20 minutes of the SDK's docs with a short window): the create is tried again at the next
    // poll instead of failing the resource.
    let h = Harness::with(
        FakeConfig {
            compute_blocked_after_update: Duration::from_millis(600),
            ..FakeConfig::default()
        },
        SECRET,
    )
    .await;
    let ids = prerequisites(&h, 1).await;
    let props = workspace(&h, "t-ws", &ids);
    let (id, _) = ok(&h.create(WORKSPACE, &props).await);
    let mut tagged = props.clone();
    tagged["CustomTags"] = json!({"CostCenter": "43"});
    ok(&h.update(WORKSPACE, &id, &tagged, &props).await);
    let (cluster_id, _) = ok(&h.create(CLUSTER, &cluster(&h, 2)).await);
    let creates = calls(&h, "POST", "/clusters/create");
    assert_eq!(creates.first(), Some(&400), "{creates:?}");
    assert_eq!(creates.last(), Some(&200), "{creates:?}");
    assert_eq!(
        h.fake.state().cluster(&cluster_id).expect("made")["state"],
        "RUNNING"
    );
}

#[tokio::test]
async fn a_silently_reverted_storage_key_fails_naming_the_field_wanted_and_actual() {
    let h = Harness::with(
        FakeConfig {
            storage_key_change_reverts: true,
            ..FakeConfig::default()
        },
        SECRET,
    )
    .await;
    let ids = prerequisites(&h, 1).await;
    let props = workspace(&h, "t-ws", &ids);
    let (id, _) = ok(&h.create(WORKSPACE, &props).await);
    let key = json!({"AccountId": h.account(), "KeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k1", "UseCases": ["STORAGE"]});
    let (key_id, _) = ok(&h.create(KEY, &key).await);
    let mut keyed = props.clone();
    keyed["StorageCustomerManagedKeyId"] = json!(key_id);
    let reason = failed(&h.update(WORKSPACE, &id, &keyed, &props).await);
    assert!(
        reason.contains(&format!(
            "storage_customer_managed_key_id is null instead of \"{key_id}\""
        )),
        "{reason}"
    );
}

#[tokio::test]
async fn a_workspace_token_refused_to_a_non_member_names_the_principal_and_the_fix() {
    let h = Harness::with(
        FakeConfig {
            workspace_membership_required: true,
            ..FakeConfig::default()
        },
        SECRET,
    )
    .await;
    let group = json!({"WorkspaceUrl": h.url(), "DisplayName": "t-eng", "Roles": [DATA_ROLE], "AllowClusterCreate": true, "AllowInstancePoolCreate": false});
    let reason = failed(&h.create(GROUP, &group).await);
    assert!(reason.contains("fake-client-id"), "{reason}");
    assert!(
        reason.contains("not a member of this workspace"),
        "{reason}"
    );
    assert!(
        reason.contains("Custom::DatabricksWorkspaceAssignment"),
        "{reason}"
    );
    assert!(reason.contains("invalid_client"), "{reason}");
    // The principal that creates a workspace is a member of it.
    let ids = prerequisites(&h, 1).await;
    ok(&h.create(WORKSPACE, &workspace(&h, "t-ws", &ids)).await);
    ok(&h.create(GROUP, &group).await);
    h.assert_no_secret_in_logs();
}

#[tokio::test]
async fn an_unsupported_permission_value_is_refused_before_any_call() {
    let h = Harness::start().await;
    let ids = prerequisites(&h, 1).await;
    let (ws, _) = ok(&h.create(WORKSPACE, &workspace(&h, "t-ws", &ids)).await);
    let props = json!({"AccountId": h.account(), "WorkspaceId": ws, "PrincipalId": "7654321", "Permissions": ["ADMIN"]});
    let (id, _) = ok(&h.create(ASSIGNMENT, &props).await);
    let mut lower = props.clone();
    lower["Permissions"] = json!(["admin"]);
    h.fake.clear_requests();
    let reason = failed(&h.update(ASSIGNMENT, &id, &lower, &props).await);
    assert!(reason.contains("\"admin\""), "{reason}");
    assert!(reason.contains("ADMIN, USER"), "{reason}");
    assert!(calls(&h, "PUT", "/principals/7654321").is_empty());
    // The principal keeps its permissions (the API would have silently dropped them).
    assert_eq!(
        h.fake.state().permission_assignments[0].permissions,
        ["ADMIN"]
    );
}

#[tokio::test]
async fn a_create_adopts_only_its_own_workspace_and_leaves_a_foreign_one_alone() {
    let h = Harness::start().await;
    let ids = prerequisites(&h, 1).await;
    // Someone else's workspace of the same name, one untagged and one of another stack.
    let foreign = |deployment: &str, tags: Value| {
        json!({"workspace_name": "t-ws", "aws_region": "eu-west-1", "deployment_name": deployment,
               "credentials_id": ids.0, "storage_configuration_id": ids.1, "custom_tags": tags})
    };
    for body in [
        foreign("other", json!({"team": "x"})),
        foreign("other-2", json!({"cdkrs-owner": "cdkrs-000000000000"})),
    ] {
        h.ctx
            .client
            .account_create("/workspaces", &body)
            .await
            .expect("a foreign workspace");
    }
    let before = h.fake.state().workspaces;
    h.fake.clear_requests();
    let mut props = workspace(&h, "t-ws", &ids);
    props["DeploymentName"] = json!("mine");
    let reason = failed(&h.create(WORKSPACE, &props).await);
    assert!(
        reason.contains("workspace \"t-ws\" already exists")
            && reason.contains("was not created by this stack resource"),
        "{reason}"
    );
    assert_eq!(h.fake.state().workspaces, before, "nothing foreign changed");
    assert!(h
        .fake
        .requests()
        .iter()
        .all(|r| r.method == "GET" || r.path.contains("/oidc/")));
    // Under another name the resource makes its own, marked workspace; a retried Create adopts
    // exactly that one.
    props["WorkspaceName"] = json!("t-ws-mine");
    let (id, _) = ok(&h.create(WORKSPACE, &props).await);
    let (again, _) = ok(&h.create(WORKSPACE, &props).await);
    assert_eq!(again, id);
    let state = h.fake.state();
    assert_eq!(state.workspaces.len(), 3);
    let mine = state.workspace(id.parse().expect("numeric")).expect("mine");
    assert!(mine["custom_tags"]["cdkrs-owner"]
        .as_str()
        .is_some_and(|m| m.starts_with("cdkrs-") && m != "cdkrs-000000000000"));
}

#[tokio::test]
async fn a_replacement_that_keeps_the_deployment_name_fails_before_creating_anything() {
    let h = Harness::start().await;
    let ids = prerequisites(&h, 1).await;
    let props = workspace(&h, "t-ws", &ids);
    let (id, _) = ok(&h.create(WORKSPACE, &props).await);
    let mut renamed = props.clone();
    renamed["WorkspaceName"] = json!("t-ws-renamed");
    h.fake.clear_requests();
    let reason = failed(&h.update(WORKSPACE, &id, &renamed, &props).await);
    assert!(
        reason.contains("changing WorkspaceName needs a new workspace")
            && reason.contains("DeploymentName \"t-ws\" stays the same"),
        "{reason}"
    );
    assert!(calls(&h, "POST", "/workspaces").is_empty());
    assert_eq!(h.fake.state().workspaces.len(), 1);
    // With a new deployment name too (and a network of its own), the replacement is made
    // (CloudFormation then deletes the old workspace, as `cdkrs diff` announces from the same
    // create-only data).
    let ids2 = prerequisites(&h, 2).await;
    renamed = workspace(&h, "t-ws-renamed", &ids2);
    let (new_id, data) = ok(&h.update(WORKSPACE, &id, &renamed, &props).await);
    assert_ne!(new_id, id);
    assert_eq!(data["DeploymentName"], "acme-t-ws-renamed");
}

#[tokio::test]
async fn a_tag_or_credentials_change_patches_in_place_and_keeps_the_workspace() {
    let h = Harness::start().await;
    let ids = prerequisites(&h, 1).await;
    let props = workspace(&h, "t-ws", &ids);
    let (id, _) = ok(&h.create(WORKSPACE, &props).await);
    let (creds2, _) = ok(&h.create(CREDENTIALS, &credentials(&h, "t-creds-2")).await);
    let mut changed = props.clone();
    changed["CredentialsId"] = json!(creds2);
    changed["CustomTags"] = json!({"CostCenter": "44"});
    h.fake.clear_requests();
    let (same, _) = ok(&h.update(WORKSPACE, &id, &changed, &props).await);
    assert_eq!(
        same, id,
        "no new workspace, so CloudFormation deletes nothing"
    );
    assert!(calls(&h, "POST", "/workspaces").is_empty());
    assert_eq!(calls(&h, "PATCH", &format!("/workspaces/{id}")), [200]);
    let state = h.fake.state();
    assert_eq!(state.workspaces.len(), 1);
    assert_eq!(state.workspaces[0]["credentials_id"], creds2.as_str());
}

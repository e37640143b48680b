//! The fake's stored objects, their time-driven transitions, and the snapshot tests read.
//!
//! Objects are kept in their wire form (`serde_json::Value`, as GET returns them) so a snapshot
//! can be asserted on with the field names of the reference. Transitions (workspace
//! PROVISIONING -> RUNNING, cluster PENDING -> RUNNING, deletions) are applied lazily: every
//! access first advances the store to the current time, so no background task is needed and the
//! timing is exact.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::wire::{hex_from, now_millis, uuid_from};

/// One answered request, for assertions and for the request log that
/// `testkit/python/check_requests.py` checks against the Databricks SDK. Nothing secret: no
/// headers (only the client's product token), and no body for the OAuth token endpoints, whose
/// form carries the client secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// HTTP method (`GET`, `POST`, …).
    pub method: String,
    /// Path, without the query string.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Status code of the answer.
    pub status: u16,
    /// Name of the injected fault that shaped the answer, if any (see
    /// [`FaultKind::name`](super::FaultKind::name)).
    pub fault: Option<&'static str>,
    /// The JSON request body; `None` when there was none, when it was not JSON, and always for
    /// the `/oidc/…` endpoints.
    pub body: Option<Value>,
    /// Who sent it: the first product token of `User-Agent` (`cdkrs-databricks-provider/0.1.0`,
    /// `databricks-sdk-py/0.167.0`), `None` without one.
    pub client: Option<String>,
    /// The answer, when it was an error (status 400 or more).
    pub error: Option<ErrorAnswer>,
}

/// An error answer exactly as sent: what a client's error parser reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorAnswer {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header (empty when absent).
    pub content_type: String,
    /// The body (lossy UTF-8).
    pub body: String,
}

/// A workspace-file-system object (`/api/2.0/workspace/*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspaceObject {
    /// Absolute path.
    pub path: String,
    /// `FILE`, `NOTEBOOK` or `DIRECTORY`.
    pub object_type: String,
    /// Notebook language (`PYTHON`, `SCALA`, `SQL`, `R`), notebooks only.
    pub language: Option<String>,
    /// The decoded content (empty for directories).
    pub content: Vec<u8>,
    /// Numeric object id.
    pub object_id: i64,
    /// Creation time, epoch milliseconds.
    pub created_at: i64,
    /// Last modification time, epoch milliseconds.
    pub modified_at: i64,
}

/// One workspace permission assignment (`…/workspaces/{id}/permissionassignments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionAssignment {
    /// The workspace.
    pub workspace_id: i64,
    /// The principal (numeric account-SCIM id).
    pub principal_id: i64,
    /// `USER` and/or `ADMIN`.
    pub permissions: Vec<String>,
}

/// A snapshot of everything the fake stores, as of the moment it was taken. Objects are in
/// their wire form and creation order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// Credential configurations.
    pub credentials: Vec<Value>,
    /// Storage configurations.
    pub storage_configurations: Vec<Value>,
    /// Network configurations.
    pub networks: Vec<Value>,
    /// Customer-managed key configurations.
    pub customer_managed_keys: Vec<Value>,
    /// VPC endpoint registrations.
    pub vpc_endpoints: Vec<Value>,
    /// Private access settings.
    pub private_access_settings: Vec<Value>,
    /// Workspaces that still exist (including `CANCELLING` ones), as GET returns them.
    pub workspaces: Vec<Value>,
    /// Log delivery configurations (unwrapped).
    pub log_delivery: Vec<Value>,
    /// Workspace permission assignments.
    pub permission_assignments: Vec<PermissionAssignment>,
    /// SCIM groups, including the built-in `users` and `admins`.
    pub groups: Vec<Value>,
    /// Registered instance profiles.
    pub instance_profiles: Vec<Value>,
    /// Clusters not permanently deleted, as `clusters/get` returns them.
    pub clusters: Vec<Value>,
    /// Workspace-file-system objects by path (directories included).
    pub workspace_objects: BTreeMap<String, WorkspaceObject>,
    /// How many OAuth tokens were issued.
    pub tokens_issued: usize,
    /// Unity Catalog metastores of the account (`MetastoreInfo`).
    pub metastores: Vec<Value>,
    /// Metastore assignments (`MetastoreAssignment`: `workspace_id`, `metastore_id`,
    /// `default_catalog_name`).
    pub metastore_assignments: Vec<Value>,
    /// Account SCIM groups (`/api/2.0/accounts/{account_id}/scim/v2/Groups`).
    pub account_groups: Vec<Value>,
    /// Unity Catalog storage credentials (`StorageCredentialInfo`).
    pub storage_credentials: Vec<Value>,
    /// Unity Catalog external locations (`ExternalLocationInfo`).
    pub external_locations: Vec<Value>,
    /// Unity Catalog catalogs (`CatalogInfo`).
    pub catalogs: Vec<Value>,
    /// Unity Catalog schemas (`SchemaInfo`), the automatic `default` and
    /// `information_schema` of each catalog included.
    pub schemas: Vec<Value>,
    /// Unity Catalog privilege assignments, by securable.
    pub grants: Vec<UcGrant>,
    /// Direct cluster permissions, by cluster id (`access_control_list` entries as PUT takes
    /// them: one principal key and `permission_level`).
    pub cluster_acls: BTreeMap<String, Vec<Value>>,
}

/// The privileges one principal holds on one Unity Catalog securable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UcGrant {
    /// The securable type, upper-case (`CATALOG`, `EXTERNAL_LOCATION`, …).
    pub securable_type: String,
    /// The securable's full name.
    pub full_name: String,
    /// The principal (an account group's display name, or a service principal's application
    /// id).
    pub principal: String,
    /// The privileges, in the order granted.
    pub privileges: Vec<String>,
}

fn find<'a>(items: &'a [Value], key: &str, wanted: &Value) -> Option<&'a Value> {
    items.iter().find(|v| v.get(key) == Some(wanted))
}

impl Snapshot {
    /// The credential configuration named `name`.
    pub fn credential_by_name(&self, name: &str) -> Option<&Value> {
        find(&self.credentials, "credentials_name", &json!(name))
    }

    /// The workspace with this numeric id.
    pub fn workspace(&self, workspace_id: i64) -> Option<&Value> {
        find(&self.workspaces, "workspace_id", &json!(workspace_id))
    }

    /// The SCIM group with this `displayName`.
    pub fn group(&self, display_name: &str) -> Option<&Value> {
        find(&self.groups, "displayName", &json!(display_name))
    }

    /// The `roles[].value` entries of a group (empty when the group or its roles are absent).
    pub fn group_roles(&self, display_name: &str) -> Vec<String> {
        self.group(display_name)
            .and_then(|g| g.get("roles"))
            .and_then(Value::as_array)
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r.get("value").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The registered instance profile with this ARN.
    pub fn instance_profile(&self, arn: &str) -> Option<&Value> {
        find(&self.instance_profiles, "instance_profile_arn", &json!(arn))
    }

    /// The cluster with this id.
    pub fn cluster(&self, cluster_id: &str) -> Option<&Value> {
        find(&self.clusters, "cluster_id", &json!(cluster_id))
    }

    /// The workspace-file-system object at `path`.
    pub fn workspace_object(&self, path: &str) -> Option<&WorkspaceObject> {
        self.workspace_objects.get(path)
    }

    /// The metastore with this name.
    pub fn metastore(&self, name: &str) -> Option<&Value> {
        find(&self.metastores, "name", &json!(name))
    }

    /// The metastore assigned to this workspace.
    pub fn metastore_assignment(&self, workspace_id: i64) -> Option<&Value> {
        find(
            &self.metastore_assignments,
            "workspace_id",
            &json!(workspace_id),
        )
    }

    /// The account group with this `displayName`.
    pub fn account_group(&self, display_name: &str) -> Option<&Value> {
        find(&self.account_groups, "displayName", &json!(display_name))
    }

    /// The storage credential with this name.
    pub fn storage_credential(&self, name: &str) -> Option<&Value> {
        find(&self.storage_credentials, "name", &json!(name))
    }

    /// The external location with this name.
    pub fn external_location(&self, name: &str) -> Option<&Value> {
        find(&self.external_locations, "name", &json!(name))
    }

    /// The catalog with this name.
    pub fn catalog(&self, name: &str) -> Option<&Value> {
        find(&self.catalogs, "name", &json!(name))
    }

    /// The privileges `principal` holds on a securable (empty when none); `securable_type`
    /// in any case.
    pub fn privileges(
        &self,
        securable_type: &str,
        full_name: &str,
        principal: &str,
    ) -> Vec<String> {
        self.grants
            .iter()
            .find(|g| {
                g.securable_type.eq_ignore_ascii_case(securable_type)
                    && g.full_name == full_name
                    && g.principal == principal
            })
            .map(|g| g.privileges.clone())
            .unwrap_or_default()
    }
}

/// What happens to a workspace when its deadline passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WorkspaceNext {
    /// PROVISIONING -> RUNNING.
    Running,
    /// PROVISIONING -> FAILED with this message.
    Failed(String),
    /// CANCELLING -> gone (GET answers 404).
    Gone,
}

/// A stored workspace.
#[derive(Debug, Clone)]
pub(crate) struct WorkspaceRec {
    /// The wire form, status fields included.
    pub(crate) body: Value,
    /// When the pending transition happens.
    pub(crate) deadline: Option<Instant>,
    /// The pending transition.
    pub(crate) next: Option<WorkspaceNext>,
    /// Whether it was ever RUNNING (the storage CMK can then no longer be changed).
    pub(crate) ever_running: bool,
    /// The OAuth client id that created it: the creator is a member of the workspace.
    pub(crate) created_by: String,
    /// When it was last PATCHed (classic compute is blocked for a while after).
    pub(crate) updated_at: Option<Instant>,
}

impl WorkspaceRec {
    /// The numeric id.
    pub(crate) fn id(&self) -> i64 {
        self.body["workspace_id"].as_i64().unwrap_or_default()
    }

    /// `workspace_status`.
    pub(crate) fn status(&self) -> &str {
        self.body["workspace_status"].as_str().unwrap_or_default()
    }

    /// Sets `workspace_status` and `workspace_status_message`.
    pub(crate) fn set_status(&mut self, status: &str, message: &str) {
        self.body["workspace_status"] = json!(status);
        self.body["workspace_status_message"] = json!(message);
    }
}

/// A stored cluster.
#[derive(Debug, Clone)]
pub(crate) struct ClusterRec {
    /// The wire form (`clusters/get`).
    pub(crate) body: Value,
    /// When the pending transition happens.
    pub(crate) deadline: Option<Instant>,
    /// The state entered at the deadline.
    pub(crate) next_state: Option<&'static str>,
    /// Pinned clusters cannot be permanently deleted.
    pub(crate) pinned: bool,
}

impl ClusterRec {
    /// The cluster id.
    pub(crate) fn id(&self) -> &str {
        self.body["cluster_id"].as_str().unwrap_or_default()
    }

    /// The current state.
    pub(crate) fn state(&self) -> &str {
        self.body["state"].as_str().unwrap_or_default()
    }

    /// Sets `state` and `state_message`.
    pub(crate) fn set_state(&mut self, state: &str, message: &str) {
        self.body["state"] = json!(state);
        self.body["state_message"] = json!(message);
    }
}

/// Which token endpoint issued a token: tokens are audience-specific (reference §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// `/oidc/accounts/{account_id}/v1/token`: valid for `/api/2.0/accounts/…`.
    Account,
    /// `/oidc/v1/token`: valid for the workspace APIs.
    Workspace,
}

/// An issued OAuth token.
#[derive(Debug, Clone)]
pub(crate) struct TokenRec {
    pub(crate) audience: Audience,
    pub(crate) expires: Instant,
    /// The OAuth client id the token was issued to.
    pub(crate) principal: String,
}

/// Slots of the simple account configuration objects in [`Store::configs`].
pub(crate) const CONFIG_SLOTS: usize = 6;

/// Everything the fake stores.
#[derive(Debug)]
pub(crate) struct Store {
    counter: u64,
    pub(crate) tokens: HashMap<String, TokenRec>,
    pub(crate) tokens_issued: usize,
    /// Credentials, storage configurations, networks, CMKs, VPC endpoints, PAS (see
    /// `account::KINDS`).
    pub(crate) configs: [Vec<Value>; CONFIG_SLOTS],
    pub(crate) workspaces: Vec<WorkspaceRec>,
    pub(crate) log_delivery: Vec<Value>,
    pub(crate) permission_assignments: Vec<PermissionAssignment>,
    pub(crate) groups: Vec<Value>,
    pub(crate) instance_profiles: Vec<Value>,
    pub(crate) clusters: Vec<ClusterRec>,
    pub(crate) objects: BTreeMap<String, WorkspaceObject>,
    /// The direct permissions of workspace objects, by path (see [`super::permissions`]).
    pub(crate) acls: BTreeMap<String, Vec<super::permissions::Grant>>,
    /// Eventual-consistency races by key: when the key was first seen and how many attempts
    /// failed (see `account::race`).
    pub(crate) races: HashMap<String, (Instant, u32)>,
    /// Unity Catalog metastores (see [`super::metastores`]).
    pub(crate) metastores: Vec<Value>,
    /// Metastore assignments.
    pub(crate) metastore_assignments: Vec<Value>,
    /// Automatic assignments not made yet: workspace, metastore, when.
    pub(crate) pending_assignments: Vec<(i64, String, Instant)>,
    /// Account SCIM groups.
    pub(crate) account_groups: Vec<Value>,
    /// Storage credentials (see [`super::unity_catalog`]).
    pub(crate) storage_credentials: Vec<Value>,
    /// External locations.
    pub(crate) external_locations: Vec<Value>,
    /// Catalogs.
    pub(crate) catalogs: Vec<Value>,
    /// Schemas.
    pub(crate) schemas: Vec<Value>,
    /// Unity Catalog grants.
    pub(crate) uc_grants: Vec<UcGrant>,
    /// Direct cluster permissions by cluster id (see [`super::permissions`]).
    pub(crate) cluster_acls: BTreeMap<String, Vec<super::permissions::Grant>>,
}

impl Store {
    /// An empty account with a workspace file system holding `/`, `/Shared` and `/Users`, and
    /// the built-in `users` and `admins` groups.
    pub(crate) fn new() -> Store {
        let mut store = Store {
            counter: 0,
            tokens: HashMap::new(),
            tokens_issued: 0,
            configs: Default::default(),
            workspaces: Vec::new(),
            log_delivery: Vec::new(),
            permission_assignments: Vec::new(),
            groups: Vec::new(),
            instance_profiles: Vec::new(),
            clusters: Vec::new(),
            objects: BTreeMap::new(),
            acls: super::permissions::default_acls(),
            races: HashMap::new(),
            metastores: Vec::new(),
            metastore_assignments: Vec::new(),
            pending_assignments: Vec::new(),
            account_groups: Vec::new(),
            storage_credentials: Vec::new(),
            external_locations: Vec::new(),
            catalogs: Vec::new(),
            schemas: Vec::new(),
            uc_grants: Vec::new(),
            cluster_acls: BTreeMap::new(),
        };
        for path in ["/", "/Shared", "/Users"] {
            store.insert_dir(path);
        }
        for name in ["users", "admins"] {
            let id = store.numeric_id(15).to_string();
            store.groups.push(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "id": id,
                "displayName": name,
                "meta": {"resourceType": "WorkspaceGroup"},
            }));
        }
        store
    }

    /// The next counter value.
    pub(crate) fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A fresh UUID-shaped id.
    pub(crate) fn uuid(&mut self) -> String {
        let n = self.next();
        uuid_from(n)
    }

    /// A fresh number with exactly `digits` decimal digits (at most 18).
    pub(crate) fn numeric_id(&mut self, digits: u32) -> i64 {
        let n = self.next();
        let digits = digits.clamp(2, 18);
        let low = 10i64.pow(digits - 1);
        let span = 9 * low;
        let spread =
            i64::try_from(u64::from_str_radix(&hex_from(n, 15), 16).unwrap_or(n) % (span as u64))
                .unwrap_or_default();
        low + spread
    }

    /// A fresh lower-case hex string.
    pub(crate) fn hex(&mut self, len: usize) -> String {
        let n = self.next();
        hex_from(n, len)
    }

    /// Adds a directory object at `path`.
    pub(crate) fn insert_dir(&mut self, path: &str) {
        let object_id = self.numeric_id(15);
        let now = now_millis();
        self.objects.insert(
            path.to_owned(),
            WorkspaceObject {
                path: path.to_owned(),
                object_type: "DIRECTORY".to_owned(),
                language: None,
                content: Vec::new(),
                object_id,
                created_at: now,
                modified_at: now,
            },
        );
    }

    /// Applies every transition whose deadline is at or before `now`.
    pub(crate) fn advance(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for ws in &mut self.workspaces {
            let due = ws.deadline.is_some_and(|d| d <= now);
            if !due {
                continue;
            }
            ws.deadline = None;
            match ws.next.take() {
                Some(WorkspaceNext::Running) => {
                    ws.set_status("RUNNING", "Workspace is running.");
                    ws.ever_running = true;
                }
                Some(WorkspaceNext::Failed(message)) => ws.set_status("FAILED", &message),
                Some(WorkspaceNext::Gone) => gone.push(ws.id()),
                None => {}
            }
        }
        // Networks follow their workspace: VALID when it runs, BROKEN when it failed.
        for ws in &self.workspaces {
            let Some(network_id) = ws.body.get("network_id").and_then(Value::as_str) else {
                continue;
            };
            let status = ws.status();
            for net in &mut self.configs[NETWORK_SLOT] {
                if net["network_id"].as_str() != Some(network_id) {
                    continue;
                }
                match status {
                    "RUNNING" if net["vpc_status"] != json!("VALID") => {
                        net["vpc_status"] = json!("VALID");
                        if let Some(obj) = net.as_object_mut() {
                            obj.remove("error_messages");
                        }
                    }
                    "FAILED" if net["vpc_status"] != json!("BROKEN") => {
                        net["vpc_status"] = json!("BROKEN");
                        net["error_messages"] = json!([{
                            "error_type": "subnet",
                            "error_message": "subnet validation failed: the subnets do not allow outbound traffic to the Databricks control plane",
                        }]);
                    }
                    _ => {}
                }
            }
        }
        if !gone.is_empty() {
            self.workspaces.retain(|w| !gone.contains(&w.id()));
            for net in &mut self.configs[NETWORK_SLOT] {
                if net
                    .get("workspace_id")
                    .and_then(Value::as_i64)
                    .is_some_and(|id| gone.contains(&id))
                {
                    if let Some(obj) = net.as_object_mut() {
                        obj.remove("workspace_id");
                        obj.remove("error_messages");
                    }
                    net["vpc_status"] = json!("UNATTACHED");
                }
            }
            self.permission_assignments
                .retain(|p| !gone.contains(&p.workspace_id));
            // A deleted workspace leaves its metastore (the metastore stays in the account).
            self.metastore_assignments.retain(|a| {
                !a["workspace_id"]
                    .as_i64()
                    .is_some_and(|id| gone.contains(&id))
            });
            self.pending_assignments
                .retain(|(ws, _, _)| !gone.contains(ws));
        }
        super::metastores::advance(self, now);
        for cluster in &mut self.clusters {
            if cluster.deadline.is_some_and(|d| d <= now) {
                cluster.deadline = None;
                match cluster.next_state.take() {
                    Some("RUNNING") => {
                        cluster.set_state("RUNNING", "");
                        cluster.body["last_restarted_time"] = json!(now_millis());
                    }
                    Some("TERMINATED") => {
                        cluster.set_state("TERMINATED", "Termination requested by user.");
                        cluster.body["terminated_time"] = json!(now_millis());
                    }
                    Some(other) => cluster.set_state(other, ""),
                    None => {}
                }
            }
        }
    }

    /// The id of a workspace PATCHed less than `window` ago, if any: classic compute cannot be
    /// created or started then ("After the workspace has been updated, you cannot use or create
    /// clusters for another 20 minutes": the Update comment of WorkspacesService in
    /// databricks-sdk-go's service/provisioning/interface.go, commit
    /// 09c6382686567da37b34f1fe2b9f7bbf7d683ed5). All workspaces of the fake share one compute
    /// store, so any recent update counts.
    pub(crate) fn compute_blocked_by_update(&self, window: std::time::Duration) -> Option<i64> {
        let now = Instant::now();
        self.workspaces
            .iter()
            .find(|w| w.updated_at.is_some_and(|at| now < at + window))
            .map(WorkspaceRec::id)
    }

    /// The snapshot tests read.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            credentials: self.configs[0].clone(),
            storage_configurations: self.configs[1].clone(),
            networks: self.configs[2].clone(),
            customer_managed_keys: self.configs[3].clone(),
            vpc_endpoints: self.configs[4].clone(),
            private_access_settings: self.configs[5].clone(),
            workspaces: self.workspaces.iter().map(|w| w.body.clone()).collect(),
            log_delivery: self.log_delivery.clone(),
            permission_assignments: self.permission_assignments.clone(),
            groups: self.groups.clone(),
            instance_profiles: self.instance_profiles.clone(),
            clusters: self.clusters.iter().map(|c| c.body.clone()).collect(),
            workspace_objects: self.objects.clone(),
            tokens_issued: self.tokens_issued,
            metastores: self.metastores.clone(),
            metastore_assignments: self.metastore_assignments.clone(),
            account_groups: self.account_groups.clone(),
            storage_credentials: self.storage_credentials.clone(),
            external_locations: self.external_locations.clone(),
            catalogs: self.catalogs.clone(),
            schemas: self.schemas.clone(),
            grants: self.uc_grants.clone(),
            cluster_acls: self
                .cluster_acls
                .iter()
                .map(|(id, grants)| {
                    let entries = grants
                        .iter()
                        .map(|g| json!({g.kind: g.name, "permission_level": g.level}))
                        .collect();
                    (id.clone(), entries)
                })
                .collect(),
        }
    }
}

/// Slot of network configurations in [`Store::configs`].
pub(crate) const NETWORK_SLOT: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_have_the_asked_width() {
        let mut store = Store::new();
        for _ in 0..50 {
            assert_eq!(store.numeric_id(16).to_string().len(), 16);
            assert_eq!(store.numeric_id(15).to_string().len(), 15);
        }
    }

    #[test]
    fn a_new_store_has_the_builtin_groups_and_folders() {
        let snap = Store::new().snapshot();
        assert!(snap.group("users").is_some());
        assert!(snap.group("admins").is_some());
        assert_eq!(
            snap.workspace_object("/Shared")
                .map(|o| o.object_type.as_str()),
            Some("DIRECTORY")
        );
    }
}

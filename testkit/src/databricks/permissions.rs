//! Workspace-object permissions (folders, files, notebooks): who may read, change or delete
//! what in the workspace tree, and the Permissions API that sets it; and cluster permissions
//! (`/api/2.0/permissions/clusters/{cluster_id}`, see [`CLUSTER_LEVELS`] and
//! `set_cluster_acl`). A group named in an ACL must be known to the workspace: a
//! workspace-local group or an account group assigned to the workspace.
//!
//! The model follows Databricks' "Access control lists" page
//! (<https://docs.databricks.com/aws/en/security/auth/access-control>) and "Folder
//! permissions" (<https://docs.databricks.com/aws/en/security/auth/access-control/workspace-acl>):
//!
//! - Levels `CAN_READ` < `CAN_RUN` < `CAN_EDIT` < `CAN_MANAGE` (databricks-sdk-py 0.167
//!   `service/workspace.py`, `WorkspaceObjectPermissionLevel`; the UI's CAN VIEW is `CAN_READ`).
//! - "Workspace admins have the CAN MANAGE permission on all objects in their workspace": the
//!   fake's main client ([`FakeConfig::client_id`](super::FakeConfig::client_id)) is an admin.
//! - "Users automatically have the CAN MANAGE permission for objects that they create": a new
//!   folder or file gets a direct `CAN_MANAGE` grant for its creator.
//! - "Objects in a folder inherit all permissions settings of that folder": a principal's level
//!   on an object is the highest of its own and its groups' grants on the object and every
//!   folder above it (`users` holds every principal).
//! - Special folders: "Only workspace admins can create objects in the Workspace root folder"
//!   (the root grants nobody anything); "All users have Can Manage permission for objects in
//!   Workspace > Shared" (`/Shared` grants `users` `CAN_MANAGE`); "Users have Can Manage
//!   permission on their home folder. All other users have No Permissions" (`/Users/<name>`).
//! - What each level allows (the pages' folder and file tables): reading and exporting need
//!   `CAN_READ`; editing a file (an `import` that overwrites it) needs `CAN_EDIT`; creating,
//!   importing and deleting items in a folder, moving them and changing permissions need
//!   `CAN_MANAGE`. A refusal answers 403 `PERMISSION_DENIED` (wording **\[unverified\]**).
//! - The Permissions API (databricks-sdk-py 0.167 `WorkspaceAPI.get_permissions`,
//!   `set_permissions`, `update_permissions`, `get_permission_levels`):
//!   `GET|PUT|PATCH /api/2.0/permissions/{directories|files|notebooks}/{object_id}` (the
//!   `object_id` of `workspace/get-status`) and `…/{object_id}/permissionLevels`. `PUT` replaces
//!   the object's direct grants, `PATCH` adds to them; inherited grants stay. Each entry names
//!   exactly one of `user_name`, `group_name`, `service_principal_name` and a level
//!   (case-sensitive). The answer is `WorkspaceObjectPermissions`: `object_id`
//!   (`/directories/<id>`), `object_type`, and per principal `all_permissions` with
//!   `inherited` and `inherited_from_object`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::account::respond;
use super::state::Store;
use super::wire::{parse_body, ApiError};
use super::{Inner, Shared};

/// The levels, lowest first.
pub const LEVELS: [&str; 4] = ["CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE"];

/// The principal fields of an access-control entry.
const PRINCIPAL_KEYS: [&str; 3] = ["user_name", "group_name", "service_principal_name"];

/// One direct grant on a workspace object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// `user_name`, `group_name` or `service_principal_name`.
    pub(crate) kind: &'static str,
    /// The user, group or application id.
    pub(crate) name: String,
    /// One of [`LEVELS`].
    pub(crate) level: &'static str,
}

/// The direct grants of a new workspace: `/Shared` lets every user manage its content.
pub(crate) fn default_acls() -> std::collections::BTreeMap<String, Vec<Grant>> {
    std::collections::BTreeMap::from([(
        "/Shared".to_owned(),
        vec![Grant {
            kind: "group_name",
            name: "users".to_owned(),
            level: "CAN_MANAGE",
        }],
    )])
}

/// Who is calling.
#[derive(Debug, Clone)]
pub(crate) struct Who {
    /// The OAuth client id (service principal application id).
    pub(crate) id: String,
    /// Whether it is a workspace admin.
    pub(crate) admin: bool,
    /// Its groups (always `users`).
    pub(crate) groups: Vec<String>,
}

/// The caller of a request (its bearer token's principal).
pub(crate) fn who(inner: &Inner, headers: &HeaderMap) -> Who {
    let id = super::auth::principal(inner, headers).unwrap_or_default();
    let admin = id == inner.config.client_id;
    let mut groups = vec!["users".to_owned()];
    if admin {
        groups.push("admins".to_owned());
    }
    if let Some(p) = inner
        .config
        .non_admin_principals
        .iter()
        .find(|p| p.client_id == id)
    {
        groups.extend(p.groups.iter().cloned());
    }
    Who { id, admin, groups }
}

fn rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| *l == level)
}

/// `/`, `/a`, `/a/b` for `/a/b`.
fn ancestors_and_self(path: &str) -> Vec<String> {
    let mut out = vec!["/".to_owned()];
    let mut current = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        current.push('/');
        current.push_str(part);
        out.push(current.clone());
    }
    out
}

fn matches(grant: &Grant, who: &Who) -> bool {
    match grant.kind {
        "group_name" => who.groups.contains(&grant.name),
        _ => grant.name == who.id,
    }
}

/// The home folder of `name`, which it manages.
fn home_of(name: &str) -> String {
    format!("/Users/{name}")
}

/// The level `who` holds on `path` (direct, inherited, admin or home), if any.
pub(crate) fn level(store: &Store, who: &Who, path: &str) -> Option<usize> {
    if who.admin {
        return rank("CAN_MANAGE");
    }
    let home = home_of(&who.id);
    let mut best: Option<usize> = None;
    for p in ancestors_and_self(path) {
        if p == home {
            best = best.max(rank("CAN_MANAGE"));
        }
        for g in store.acls.get(&p).into_iter().flatten() {
            if matches(g, who) {
                best = best.max(rank(g.level));
            }
        }
    }
    best
}

/// 403 unless `who` holds at least `needed` on `path`.
pub(crate) fn require(store: &Store, who: &Who, path: &str, needed: &str) -> Result<(), ApiError> {
    let has = level(store, who, path);
    if has.is_some() && has >= rank(needed) {
        return Ok(());
    }
    // Wording [unverified]; status and code as the SDK maps PERMISSION_DENIED (reference §4.2).
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        format!(
            "{} does not have {} permissions on {path}. Please contact the owner or an administrator for access.",
            who.id,
            needed.trim_start_matches("CAN_").to_ascii_lowercase()
        ),
    ))
}

/// The closest existing folder at or above `path`.
pub(crate) fn nearest_existing(store: &Store, path: &str) -> String {
    ancestors_and_self(path)
        .into_iter()
        .rev()
        .find(|p| store.objects.contains_key(p))
        .unwrap_or_else(|| "/".to_owned())
}

/// A new object: its creator manages it.
pub(crate) fn created(store: &mut Store, who: &Who, path: &str) {
    let kind = if who.admin || !who.id.contains('@') {
        "service_principal_name"
    } else {
        "user_name"
    };
    store.acls.insert(
        path.to_owned(),
        vec![Grant {
            kind,
            name: who.id.clone(),
            level: "CAN_MANAGE",
        }],
    );
}

/// A deleted object (and its content): its grants go with it.
pub(crate) fn deleted(store: &mut Store, path: &str) {
    let prefix = format!("{path}/");
    store
        .acls
        .retain(|p, _| p != path && !p.starts_with(&prefix));
}

/// The Permissions API routes for workspace objects and clusters.
pub(crate) fn routes() -> Router<Shared> {
    let mut router = Router::new()
        .route(
            "/api/2.0/permissions/clusters/{id}",
            get(get_cluster_acl)
                .put(
                    |s: State<Shared>, h: HeaderMap, p: Path<String>, b: Bytes| {
                        set_cluster_acl(s, h, p, b, true)
                    },
                )
                .patch(
                    |s: State<Shared>, h: HeaderMap, p: Path<String>, b: Bytes| {
                        set_cluster_acl(s, h, p, b, false)
                    },
                ),
        )
        .route(
            "/api/2.0/permissions/clusters/{id}/permissionLevels",
            get(cluster_levels),
        );
    for kind in ["directories", "files", "notebooks"] {
        let base = format!("/api/2.0/permissions/{kind}/{{id}}");
        router = router
            .route(
                &base,
                get(move |s: State<Shared>, h: HeaderMap, p: Path<String>| get_acl(s, h, p, kind))
                    .put(
                        move |s: State<Shared>, h: HeaderMap, p: Path<String>, b: Bytes| {
                            set_acl(s, h, p, b, kind, true)
                        },
                    )
                    .patch(
                        move |s: State<Shared>, h: HeaderMap, p: Path<String>, b: Bytes| {
                            set_acl(s, h, p, b, kind, false)
                        },
                    ),
            )
            .route(
                &format!("{base}/permissionLevels"),
                get(move |s: State<Shared>, h: HeaderMap, p: Path<String>| levels(s, h, p, kind)),
            );
    }
    router
}

/// The object type of a permissions path segment.
fn object_type(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "directories" => ("DIRECTORY", "directory"),
        "notebooks" => ("NOTEBOOK", "notebook"),
        _ => ("FILE", "file"),
    }
}

/// The path of the object `id` of `kind`.
fn object_path(store: &Store, kind: &str, id: &str) -> Result<String, ApiError> {
    let (wanted, singular) = object_type(kind);
    store
        .objects
        .values()
        .find(|o| o.object_id.to_string() == id && o.object_type == wanted)
        .map(|o| o.path.clone())
        // Wording [unverified].
        .ok_or_else(|| ApiError::not_found(format!("{singular} {id} does not exist.")))
}

/// `/directories/<id>` of a folder path.
fn object_ref(store: &Store, path: &str) -> String {
    let (kind, id) = store
        .objects
        .get(path)
        .map(|o| {
            let kind = match o.object_type.as_str() {
                "DIRECTORY" => "directories",
                "NOTEBOOK" => "notebooks",
                _ => "files",
            };
            (kind, o.object_id.to_string())
        })
        .unwrap_or(("directories", String::new()));
    format!("/{kind}/{id}")
}

/// The `WorkspaceObjectPermissions` answer for `path`.
fn describe(store: &Store, kind: &str, path: &str) -> Value {
    let (_, singular) = object_type(kind);
    // principal (kind, name) -> permissions, in first-seen order.
    let mut entries: Vec<((&'static str, String), Vec<Value>)> = Vec::new();
    let mut add = |key: (&'static str, String), perm: Value| match entries
        .iter_mut()
        .find(|(k, _)| *k == key)
    {
        Some((_, perms)) => perms.push(perm),
        None => entries.push((key, vec![perm])),
    };
    add(
        ("group_name", "admins".to_owned()),
        json!({"permission_level": "CAN_MANAGE", "inherited": true,
               "inherited_from_object": [object_ref(store, "/")]}),
    );
    for p in ancestors_and_self(path) {
        let inherited = p != path;
        if let Some(name) = p.strip_prefix("/Users/").filter(|n| !n.contains('/')) {
            let kind = if name.contains('@') {
                "user_name"
            } else {
                "service_principal_name"
            };
            add(
                (kind, name.to_owned()),
                json!({"permission_level": "CAN_MANAGE", "inherited": true,
                       "inherited_from_object": [object_ref(store, &p)]}),
            );
        }
        for g in store.acls.get(&p).into_iter().flatten() {
            let mut perm = json!({"permission_level": g.level, "inherited": inherited});
            if inherited {
                perm["inherited_from_object"] = json!([object_ref(store, &p)]);
            }
            add((g.kind, g.name.clone()), perm);
        }
    }
    let acl: Vec<Value> = entries
        .into_iter()
        .map(|((k, name), perms)| {
            let mut e = json!({"all_permissions": perms});
            e[k] = json!(name);
            if k != "group_name" {
                e["display_name"] = json!(name);
            }
            e
        })
        .collect();
    json!({
        "object_id": object_ref(store, path),
        "object_type": singular,
        "access_control_list": acl,
    })
}

async fn get_acl(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    kind: &'static str,
) -> Response {
    let who = who(&inner, &headers);
    let store = inner.store();
    respond(object_path(&store, kind, &id).and_then(|path| {
        require(&store, &who, &path, "CAN_READ")?;
        Ok(describe(&store, kind, &path))
    }))
}

async fn levels(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    kind: &'static str,
) -> Response {
    let who = who(&inner, &headers);
    let store = inner.store();
    respond(object_path(&store, kind, &id).and_then(|path| {
        require(&store, &who, &path, "CAN_READ")?;
        let levels: Vec<Value> = LEVELS
            .iter()
            .map(|l| json!({"permission_level": l, "description": format!("Can {}", l.trim_start_matches("CAN_").to_ascii_lowercase())}))
            .collect();
        Ok(json!({"permission_levels": levels}))
    }))
}

/// Reads an access-control list of a PUT or PATCH body of a workspace object.
fn parse_acl(store: &Store, body: &Value) -> Result<Vec<Grant>, ApiError> {
    parse_acl_with(body, &LEVELS, "workspace objects", |name| {
        workspace_knows_group(store, name)
    })
}

/// Reads an access-control list with these levels; `group_exists` says whether a group name
/// is one the workspace knows.
fn parse_acl_with(
    body: &Value,
    levels: &[&'static str],
    what: &str,
    group_exists: impl Fn(&str) -> bool,
) -> Result<Vec<Grant>, ApiError> {
    let list = body
        .get("access_control_list")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid("Missing required field: access_control_list"))?;
    let mut grants = Vec::new();
    for entry in list {
        let named: Vec<(&'static str, &str)> = PRINCIPAL_KEYS
            .iter()
            .filter_map(|k| entry.get(*k).and_then(Value::as_str).map(|v| (*k, v)))
            .collect();
        let [(kind, name)] = named.as_slice() else {
            // Wording [unverified].
            return Err(ApiError::invalid(format!(
                "Each access control entry names exactly one of user_name, group_name and service_principal_name: {entry}"
            )));
        };
        let requested = entry
            .get("permission_level")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(level) = levels.iter().copied().find(|l| *l == requested) else {
            // Values are case-sensitive (the SDK's enum); wording [unverified].
            return Err(ApiError::invalid(format!(
                "Permission level {requested:?} is not supported for {what}: use one of {}",
                levels.join(", ")
            )));
        };
        if *kind == "group_name" && !group_exists(name) {
            // Wording [unverified].
            return Err(ApiError::invalid(format!(
                "Principal: GroupName({name}) does not exist"
            )));
        }
        grants.retain(|g: &Grant| !(g.kind == *kind && g.name == *name));
        grants.push(Grant {
            kind,
            name: (*name).to_owned(),
            level,
        });
    }
    Ok(grants)
}

async fn set_acl(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
    kind: &'static str,
    replace: bool,
) -> Response {
    let who = who(&inner, &headers);
    respond((|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        let path = object_path(&store, kind, &id)?;
        require(&store, &who, &path, "CAN_MANAGE")?;
        let grants = parse_acl(&store, &body)?;
        let slot = store.acls.entry(path.clone()).or_default();
        if replace {
            *slot = grants;
        } else {
            for g in grants {
                slot.retain(|old| !(old.kind == g.kind && old.name == g.name));
                slot.push(g);
            }
        }
        Ok(describe(&store, kind, &path))
    })())
}

// ---------------------------------------------------------------------------------------------
// Cluster permissions

/// Cluster permission levels, lowest first (databricks-sdk-py 0.167 `ClusterPermissionLevel`;
/// terraform-provider-databricks `permissions/permission_definitions.go`, `cluster_id`).
pub const CLUSTER_LEVELS: [&str; 3] = ["CAN_ATTACH_TO", "CAN_RESTART", "CAN_MANAGE"];

/// A new cluster: its creator manages it ("the user who creates a cluster … has CAN MANAGE";
/// docs "Compute permissions",
/// https://docs.databricks.com/aws/en/compute/clusters-manage#compute-permissions).
pub(crate) fn cluster_created(store: &mut Store, creator: &str, cluster_id: &str) {
    store.cluster_acls.insert(
        cluster_id.to_owned(),
        vec![Grant {
            kind: "service_principal_name",
            name: creator.to_owned(),
            level: "CAN_MANAGE",
        }],
    );
}

/// Whether a group name is visible in the workspace: a workspace-local group, or an account
/// group assigned to a workspace (identity federation, see
/// [`GroupScope::visible`](super::workspace::GroupScope::visible)).
pub(crate) fn workspace_knows_group(store: &Store, name: &str) -> bool {
    super::workspace::GroupScope::Workspace
        .visible(store)
        .iter()
        .any(|g| g["displayName"].as_str() == Some(name))
}

fn cluster_missing(id: &str) -> ApiError {
    // Wording [unverified].
    ApiError::not_found(format!("Cluster {id} does not exist."))
}

/// The cluster's `ClusterPermissions`: workspace admins manage every cluster, shown as
/// inherited from `/clusters/` (as workspace objects inherit from the root), then the direct
/// grants.
fn describe_cluster(store: &Store, id: &str) -> Value {
    let mut acl = vec![json!({
        "group_name": "admins",
        "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": true,
                             "inherited_from_object": ["/clusters/"]}],
    })];
    for g in store.cluster_acls.get(id).into_iter().flatten() {
        let mut e = json!({"all_permissions": [{"permission_level": g.level, "inherited": false}]});
        e[g.kind] = json!(g.name);
        if g.kind != "group_name" {
            e["display_name"] = json!(g.name);
        }
        acl.push(e);
    }
    json!({
        "object_id": format!("/clusters/{id}"),
        "object_type": "cluster",
        "access_control_list": acl,
    })
}

/// 403 unless `who` is an admin or holds CAN_MANAGE on the cluster.
fn require_cluster_manage(store: &Store, who: &Who, id: &str) -> Result<(), ApiError> {
    let manages = who.admin
        || store
            .cluster_acls
            .get(id)
            .into_iter()
            .flatten()
            .any(|g| g.level == "CAN_MANAGE" && matches(g, who));
    if manages {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            format!(
                "{} does not have Manage permissions on cluster {id}.",
                who.id
            ),
        ))
    }
}

async fn get_cluster_acl(State(inner): State<Shared>, Path(id): Path<String>) -> Response {
    let store = inner.store();
    respond(if store.clusters.iter().any(|c| c.id() == id) {
        Ok(describe_cluster(&store, &id))
    } else {
        Err(cluster_missing(&id))
    })
}

async fn cluster_levels(State(inner): State<Shared>, Path(id): Path<String>) -> Response {
    let store = inner.store();
    respond(if store.clusters.iter().any(|c| c.id() == id) {
        let levels: Vec<Value> = CLUSTER_LEVELS
            .iter()
            .map(|l| json!({"permission_level": l, "description": format!("Can {}", l.trim_start_matches("CAN_").to_ascii_lowercase().replace('_', " "))}))
            .collect();
        Ok(json!({"permission_levels": levels}))
    } else {
        Err(cluster_missing(&id))
    })
}

/// `PUT` replaces the cluster's direct grants (the creator's `CAN_MANAGE` too: Terraform adds
/// the calling user back on every cluster PUT, "to avoid accidentally revoking the calling
/// user's ability to manage the current object", `permissions/update/customizers.go`
/// `AddCurrentUserAsManage`, issue 1504); `PATCH` adds to them. Admins keep `CAN_MANAGE`
/// (inherited, not a direct grant). A group must be known to the workspace
/// ([`workspace_knows_group`]).
async fn set_cluster_acl(
    State(inner): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
    replace: bool,
) -> Response {
    let who = who(&inner, &headers);
    respond((|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        if !store.clusters.iter().any(|c| c.id() == id) {
            return Err(cluster_missing(&id));
        }
        require_cluster_manage(&store, &who, &id)?;
        let grants = parse_acl_with(&body, &CLUSTER_LEVELS, "clusters", |name| {
            workspace_knows_group(&store, name)
        })?;
        let slot = store.cluster_acls.entry(id.clone()).or_default();
        if replace {
            *slot = grants;
        } else {
            for g in grants {
                slot.retain(|old| !(old.kind == g.kind && old.name == g.name));
                slot.push(g);
            }
        }
        Ok(describe_cluster(&store, &id))
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_inherit_and_admins_and_homes_manage() {
        let mut store = Store::new();
        store.insert_dir("/Users/alice@example.com");
        let user = Who {
            id: "alice@example.com".into(),
            admin: false,
            groups: vec!["users".into(), "eng".into()],
        };
        let admin = Who {
            id: "sp".into(),
            admin: true,
            groups: vec!["users".into(), "admins".into()],
        };
        assert_eq!(level(&store, &user, "/Shared/x/y.sh"), rank("CAN_MANAGE"));
        assert_eq!(level(&store, &user, "/cdkrs/init/a.sh"), None);
        assert_eq!(
            level(&store, &user, "/Users/alice@example.com/a"),
            rank("CAN_MANAGE")
        );
        assert_eq!(level(&store, &user, "/Users/bob@example.com/a"), None);
        assert_eq!(level(&store, &admin, "/cdkrs"), rank("CAN_MANAGE"));
        store.acls.insert(
            "/cdkrs".into(),
            vec![Grant {
                kind: "group_name",
                name: "eng".into(),
                level: "CAN_READ",
            }],
        );
        assert_eq!(level(&store, &user, "/cdkrs/init/a.sh"), rank("CAN_READ"));
        assert!(require(&store, &user, "/cdkrs/init/a.sh", "CAN_EDIT").is_err());
        assert!(require(&store, &user, "/cdkrs/init/a.sh", "CAN_READ").is_ok());
        deleted(&mut store, "/cdkrs");
        assert_eq!(level(&store, &user, "/cdkrs/init/a.sh"), None);
    }
}

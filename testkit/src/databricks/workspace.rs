//! The Workspace API (reference §3), served for every workspace on the same base URL:
//!
//! - SCIM groups (§3.1) under `/api/2.0/preview/scim/v2/Groups`: create (201), get (with
//!   `attributes`), list (`filter` with `eq`/`ne`/`co`/`sw` joined by `and`/`or`, 1-based
//!   `startIndex`, `count`; `Resources` with a capital R, absent when empty), PATCH (`PatchOp`
//!   with `Operations`; `add`/`remove`/`replace`, paths like `roles[value eq "…"]`; answers 204),
//!   PUT (replace), DELETE (204), and `/Me`. Answers are `application/scim+json`; errors use the
//!   SCIM error body (`detail`, string `status`). Empty arrays are omitted. The built-in `users`
//!   and `admins` groups exist from the start; duplicate names answer 409. The same handlers
//!   serve the account's groups (`GroupScope::Account`, routed in [`super::metastores`]);
//!   an account group assigned to a workspace is listed by the workspace API too, read-only
//!   (`GroupScope::visible`).
//! - Instance profiles (§3.2): `add` (ARN checked, `is_meta_instance_profile`,
//!   `skip_validation`), `edit`, `list` (key absent when empty), `remove`.
//! - Clusters (§3.3): see [`super::clusters`].
//! - Workspace files (§3.6): `import` (formats `AUTO|SOURCE|HTML|JUPYTER|DBC|R_MARKDOWN|RAW`,
//!   `overwrite`, 10 MB limit, the parent folder must exist), `get-status`, `delete`
//!   (`recursive`), `mkdirs`, `export`; each checks the caller's workspace-object permissions
//!   and the Permissions API sets them (see [`super::permissions`]).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use super::account::respond;
use super::state::{Store, WorkspaceObject};
use super::wire::{
    base64_decode, base64_encode, now_millis, opt_str, parse_body, query_param, raw, required_str,
    scim, scim_error, ApiError, SCIM_JSON,
};
use super::{permissions, Inner, Shared};

/// The workspace-level routes.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/api/2.0/preview/scim/v2/Groups",
            get(|State(s): State<Shared>, RawQuery(q): RawQuery| async move {
                list_groups(&s, GroupScope::Workspace, q.as_deref())
            })
            .post(|State(s): State<Shared>, body: Bytes| async move {
                create_group(&s, GroupScope::Workspace, &body)
            }),
        )
        .route(
            "/api/2.0/preview/scim/v2/Groups/{id}",
            get(
                |State(s): State<Shared>, Path(id): Path<String>, RawQuery(q): RawQuery| async move {
                    get_group(&s, GroupScope::Workspace, &id, q.as_deref())
                },
            )
            .patch(
                |State(s): State<Shared>, Path(id): Path<String>, body: Bytes| async move {
                    patch_group(&s, GroupScope::Workspace, &id, &body)
                },
            )
            .put(
                |State(s): State<Shared>, Path(id): Path<String>, body: Bytes| async move {
                    replace_group(&s, GroupScope::Workspace, &id, &body)
                },
            )
            .delete(|State(s): State<Shared>, Path(id): Path<String>| async move {
                delete_group(&s, GroupScope::Workspace, &id)
            }),
        )
        .route("/api/2.0/preview/scim/v2/Me", get(me))
        .route("/api/2.0/instance-profiles/add", post(add_instance_profile))
        .route(
            "/api/2.0/instance-profiles/edit",
            post(edit_instance_profile),
        )
        .route(
            "/api/2.0/instance-profiles/list",
            get(list_instance_profiles),
        )
        .route(
            "/api/2.0/instance-profiles/remove",
            post(remove_instance_profile),
        )
        .route("/api/2.0/workspace/import", post(import))
        .route("/api/2.0/workspace/get-status", get(get_status))
        .route("/api/2.0/workspace/delete", post(delete_object))
        .route("/api/2.0/workspace/mkdirs", post(mkdirs))
        .route("/api/2.0/workspace/export", get(export))
        .merge(super::clusters::routes())
        .merge(super::permissions::routes())
}

/// Runs a handler body and turns its result into a 200 JSON response.
fn run(f: impl FnOnce() -> Result<Value, ApiError>) -> Response {
    respond(f())
}

// ---------------------------------------------------------------------------------------------
// SCIM groups

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Multi-valued group attributes (each a list of `{"value": …}`).
const MULTI: [&str; 4] = ["entitlements", "roles", "members", "groups"];

/// Which SCIM group store a request reads: the workspace's own groups
/// (`/api/2.0/preview/scim/v2/Groups`) or the account's (`/api/2.0/accounts/{account_id}/scim/v2/Groups`).
/// Both speak the same SCIM dialect (databricks-sdk-py 0.167 `iam.GroupsAPI` and
/// `iam.AccountGroupsAPI` take and answer the same `Group`, `ListGroupsResponse` and `Patch`
/// types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupScope {
    /// Workspace-local groups.
    Workspace,
    /// Account groups.
    Account,
}

impl GroupScope {
    fn groups(self, store: &Store) -> &Vec<Value> {
        match self {
            GroupScope::Workspace => &store.groups,
            GroupScope::Account => &store.account_groups,
        }
    }

    fn groups_mut(self, store: &mut Store) -> &mut Vec<Value> {
        match self {
            GroupScope::Workspace => &mut store.groups,
            GroupScope::Account => &mut store.account_groups,
        }
    }

    /// The groups a read of this scope sees. A workspace also sees the account groups assigned
    /// to it: "account groups … assigned to an identity-federated workspace" are listed by the
    /// workspace's SCIM API and usable there (docs "Manage groups",
    /// https://docs.databricks.com/aws/en/admin/users-groups/groups; their `meta.resourceType`
    /// is `Group`, the workspace-local ones `WorkspaceGroup`). All workspaces of the fake share
    /// one store, so an assignment to any workspace counts.
    pub(crate) fn visible(self, store: &Store) -> Vec<Value> {
        let mut groups = self.groups(store).clone();
        if self == GroupScope::Workspace {
            groups.extend(
                store
                    .account_groups
                    .iter()
                    .filter(|g| account_group_assigned(store, g))
                    .cloned(),
            );
        }
        groups
    }

    /// `meta.resourceType`: workspace groups are `WorkspaceGroup` (reference §3.1); account
    /// groups `Group` (**\[unverified\]**: the SDK's `ResourceMeta` only says it is free text).
    fn resource_type(self) -> &'static str {
        match self {
            GroupScope::Workspace => "WorkspaceGroup",
            GroupScope::Account => "Group",
        }
    }
}

/// Whether an account group is assigned to a workspace (a permission assignment names its id).
pub(crate) fn account_group_assigned(store: &Store, group: &Value) -> bool {
    store
        .permission_assignments
        .iter()
        .any(|p| group["id"] == json!(p.principal_id.to_string()))
}

/// A change through the workspace SCIM API of an account group it only sees through its
/// assignment: account groups are managed at the account (docs "Manage groups", which has
/// account admins create and manage them in the account console or through the account API;
/// the refusal's wording and status are **\[unverified\]**).
fn account_group_in_workspace(store: &Store, scope: GroupScope, id: &str) -> Option<Response> {
    (scope == GroupScope::Workspace
        && store
            .account_groups
            .iter()
            .any(|g| g["id"] == json!(id) && account_group_assigned(store, g)))
    .then(|| {
        scim_error(
            StatusCode::BAD_REQUEST,
            "This group is an account group: change it through the account SCIM API.",
            Some("mutability"),
        )
    })
}

fn group_not_found() -> Response {
    scim_error(StatusCode::NOT_FOUND, "Group not found.", None)
}

fn duplicate(name: &str) -> Response {
    scim_error(
        StatusCode::CONFLICT,
        &format!("Group with name {name} already exists."),
        Some("uniqueness"),
    )
}

/// Parses a SCIM request body; the error is the SCIM 400 answer's `detail`.
fn scim_body(body: &[u8]) -> Result<Value, String> {
    parse_body(body).map_err(|e| e.message)
}

/// The page size of a SCIM list that does not ask for one (`count`): small, so paging is
/// exercised.
pub(crate) const DEFAULT_SCIM_PAGE: usize = 2;

/// The SCIM answer to an unparsable body.
fn bad_syntax(detail: &str) -> Response {
    scim_error(StatusCode::BAD_REQUEST, detail, Some("invalidSyntax"))
}

/// Drops empty multi-valued attributes (the API omits them).
fn tidy(group: &mut Value) {
    if let Some(obj) = group.as_object_mut() {
        for key in MULTI {
            if obj
                .get(key)
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                obj.remove(key);
            }
        }
    }
}

/// Sets a group's attributes from a create/replace body.
fn fill_group(group: &mut Value, body: &Value) {
    group["displayName"] = body["displayName"].clone();
    for key in MULTI {
        group[key] = body.get(key).cloned().unwrap_or_else(|| json!([]));
    }
    if let Some(external) = body.get("externalId") {
        group["externalId"] = external.clone();
    }
    tidy(group);
}

pub(crate) fn create_group(inner: &Inner, scope: GroupScope, body: &[u8]) -> Response {
    let body = match scim_body(body) {
        Ok(b) => b,
        Err(detail) => return bad_syntax(&detail),
    };
    let Some(name) = opt_str(&body, "displayName").filter(|n| !n.is_empty()) else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            "displayName is required.",
            Some("invalidValue"),
        );
    };
    let mut store = inner.store();
    if scope
        .groups(&store)
        .iter()
        .any(|g| g["displayName"] == json!(name))
    {
        return duplicate(name);
    }
    let id = store.numeric_id(15).to_string();
    let mut group = json!({
        "schemas": [GROUP_SCHEMA],
        "id": id,
        "meta": {"resourceType": scope.resource_type()},
    });
    fill_group(&mut group, &body);
    scope.groups_mut(&mut store).push(group.clone());
    scim(StatusCode::CREATED, &group)
}

/// Keeps `id`, `schemas` and the listed attributes.
fn project(group: &Value, attributes: Option<&str>) -> Value {
    let Some(attributes) = attributes else {
        return group.clone();
    };
    let wanted: Vec<&str> = attributes.split(',').map(str::trim).collect();
    let mut out = Map::new();
    if let Some(obj) = group.as_object() {
        for (k, v) in obj {
            if k == "id" || k == "schemas" || wanted.iter().any(|w| w.eq_ignore_ascii_case(k)) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

pub(crate) fn get_group(
    inner: &Inner,
    scope: GroupScope,
    id: &str,
    query: Option<&str>,
) -> Response {
    let attributes = query_param(query, "attributes");
    let store = inner.store();
    match scope.visible(&store).iter().find(|g| g["id"] == json!(id)) {
        Some(group) => scim(StatusCode::OK, &project(group, attributes.as_deref())),
        None => group_not_found(),
    }
}

/// One `attr op "value"` clause.
#[derive(Debug)]
struct Clause {
    attr: String,
    op: String,
    value: String,
}

/// A filter: clauses joined by `and`, groups of those joined by `or`.
fn parse_filter(filter: &str) -> Option<Vec<Vec<Clause>>> {
    split_keyword(filter, "or")
        .into_iter()
        .map(|alt| {
            split_keyword(&alt, "and")
                .into_iter()
                .map(|clause| {
                    let clause = clause.trim();
                    let (attr, rest) = clause.split_once(char::is_whitespace)?;
                    let (op, value) = rest.trim_start().split_once(char::is_whitespace)?;
                    let value = value.trim();
                    let value = value
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(value);
                    let op = op.to_ascii_lowercase();
                    ["eq", "ne", "co", "sw", "ew"]
                        .contains(&op.as_str())
                        .then(|| Clause {
                            attr: attr.to_owned(),
                            op,
                            value: value.to_owned(),
                        })
                })
                .collect()
        })
        .collect()
}

/// Splits on ` keyword ` (case-insensitive) outside double quotes.
fn split_keyword(text: &str, keyword: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let words: Vec<&str> = text.split(' ').collect();
    for word in words {
        if !quoted && word.eq_ignore_ascii_case(keyword) {
            parts.push(std::mem::take(&mut current));
            continue;
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        quoted ^= word.matches('"').count() % 2 == 1;
    }
    parts.push(current);
    parts
}

fn matches(group: &Value, filter: &[Vec<Clause>]) -> bool {
    filter.iter().any(|alt| {
        alt.iter().all(|c| {
            let actual = group
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(&c.attr)))
                .and_then(|(_, v)| v.as_str())
                .unwrap_or_default();
            match c.op.as_str() {
                "eq" => actual == c.value,
                "ne" => actual != c.value,
                "co" => actual.contains(&c.value),
                "sw" => actual.starts_with(&c.value),
                "ew" => actual.ends_with(&c.value),
                _ => false,
            }
        })
    })
}

pub(crate) fn list_groups(inner: &Inner, scope: GroupScope, query: Option<&str>) -> Response {
    let filter = match query_param(query, "filter") {
        Some(text) => match parse_filter(&text) {
            Some(f) => Some(f),
            None => {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    &format!("Invalid filter: {text}"),
                    Some("invalidFilter"),
                )
            }
        },
        None => None,
    };
    let attributes = query_param(query, "attributes");
    let start = query_param(query, "startIndex")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    // Paging (RFC 7644 §3.4.2.4: `startIndex` is 1-based, `count` is the page size the client
    // asks for, and the answer's `totalResults`/`itemsPerPage` describe the page; a server may
    // return fewer than `count`). The workspace SCIM API pages the same way (databricks-sdk
    // 0.167 `iam.GroupsAPI.list` sends `startIndex`/`count` and advances `startIndex` by the
    // number of `Resources` until a page has none). The real default page size is not
    // documented: the fake's is small ([`DEFAULT_SCIM_PAGE`]) so that clients must page.
    let count = query_param(query, "count")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(DEFAULT_SCIM_PAGE);
    let store = inner.store();
    let visible = scope.visible(&store);
    let all: Vec<&Value> = visible
        .iter()
        .filter(|g| filter.as_ref().is_none_or(|f| matches(g, f)))
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(start - 1)
        .take(count)
        .map(|g| project(g, attributes.as_deref()))
        .collect();
    let mut body = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": all.len(),
        "startIndex": start,
        "itemsPerPage": page.len(),
    });
    if !page.is_empty() {
        body["Resources"] = Value::Array(page);
    }
    scim(StatusCode::OK, &body)
}

/// `roles[value eq "x"]` -> `("roles", Some("x"))`; `roles` -> `("roles", None)`.
fn parse_path(path: &str) -> Option<(String, Option<String>)> {
    match path.split_once('[') {
        None => Some((path.trim().to_owned(), None)),
        Some((attr, rest)) => {
            let inner = rest.strip_suffix(']')?;
            let filter = parse_filter(inner)?;
            let clause = filter.first()?.first()?;
            (clause.attr.eq_ignore_ascii_case("value") && clause.op == "eq")
                .then(|| (attr.trim().to_owned(), Some(clause.value.clone())))
        }
    }
}

/// The `value` strings of a list of `{"value": …}`.
fn values_of(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Applies one PatchOp operation; `Err` is a SCIM error detail.
fn apply_op(group: &mut Value, op: &Value, store_groups: &[Value]) -> Result<(), String> {
    let kind = op
        .get("op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .ok_or("Operation is missing op")?;
    let value = op.get("value").cloned().unwrap_or(Value::Null);
    let Some(path) = op.get("path").and_then(Value::as_str) else {
        // No path: the value is an object of attributes.
        let Value::Object(attrs) = value else {
            return Err("An operation without path needs an object value".to_owned());
        };
        for (k, v) in attrs {
            let sub = json!({"op": kind, "path": k, "value": v});
            apply_op(group, &sub, store_groups)?;
        }
        return Ok(());
    };
    let (attr, selector) = parse_path(path).ok_or_else(|| format!("Invalid path: {path}"))?;
    if attr == "displayName" {
        let name = value.as_str().ok_or("displayName must be a string")?;
        if kind == "remove" {
            return Err("displayName cannot be removed".to_owned());
        }
        if store_groups
            .iter()
            .any(|g| g["displayName"] == json!(name) && g["id"] != group["id"])
        {
            return Err(format!("Group with name {name} already exists."));
        }
        group["displayName"] = json!(name);
        return Ok(());
    }
    let Some(attr) = MULTI.iter().find(|m| m.eq_ignore_ascii_case(&attr)) else {
        return Err(format!("Unsupported path: {path}"));
    };
    let mut current = group
        .get(*attr)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let same = |a: &Value, b: &Value| a.get("value") == b.get("value");
    match kind.as_str() {
        "add" => {
            for item in values_of(&value) {
                if !current.iter().any(|c| same(c, &item)) {
                    current.push(item);
                }
            }
        }
        "remove" => match selector {
            Some(v) => current.retain(|c| c.get("value") != Some(&json!(v))),
            None if value.is_null() => current.clear(),
            None => {
                let gone = values_of(&value);
                current.retain(|c| !gone.iter().any(|g| same(c, g)));
            }
        },
        "replace" => current = values_of(&value),
        other => return Err(format!("Unsupported op: {other}")),
    }
    group[*attr] = Value::Array(current);
    Ok(())
}

pub(crate) fn patch_group(inner: &Inner, scope: GroupScope, id: &str, body: &[u8]) -> Response {
    let body = match scim_body(body) {
        Ok(b) => b,
        Err(detail) => return bad_syntax(&detail),
    };
    let Some(ops) = body.get("Operations").and_then(Value::as_array) else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            &format!("Missing Operations (schema {PATCH_SCHEMA})."),
            Some("invalidSyntax"),
        );
    };
    let mut store = inner.store();
    if let Some(refusal) = account_group_in_workspace(&store, scope, id) {
        return refusal;
    }
    let Some(idx) = scope
        .groups(&store)
        .iter()
        .position(|g| g["id"] == json!(id))
    else {
        return group_not_found();
    };
    let mut group = scope.groups(&store)[idx].clone();
    for op in ops {
        if let Err(detail) = apply_op(&mut group, op, scope.groups(&store)) {
            let status = if detail.ends_with("already exists.") {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            return scim_error(status, &detail, Some("invalidValue"));
        }
    }
    tidy(&mut group);
    scope.groups_mut(&mut store)[idx] = group;
    // [unverified] 204 vs 200 with the group (reference §3.1): the fake answers 204.
    raw(StatusCode::NO_CONTENT, SCIM_JSON, "")
}

pub(crate) fn replace_group(inner: &Inner, scope: GroupScope, id: &str, body: &[u8]) -> Response {
    let body = match scim_body(body) {
        Ok(b) => b,
        Err(detail) => return bad_syntax(&detail),
    };
    let Some(name) = opt_str(&body, "displayName").filter(|n| !n.is_empty()) else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            "displayName is required.",
            Some("invalidValue"),
        );
    };
    let mut store = inner.store();
    if let Some(refusal) = account_group_in_workspace(&store, scope, id) {
        return refusal;
    }
    let groups = scope.groups(&store);
    let Some(idx) = groups.iter().position(|g| g["id"] == json!(id)) else {
        return group_not_found();
    };
    if groups
        .iter()
        .any(|g| g["displayName"] == json!(name) && g["id"] != json!(id))
    {
        return duplicate(name);
    }
    let mut group = groups[idx].clone();
    fill_group(&mut group, &body);
    scope.groups_mut(&mut store)[idx] = group.clone();
    scim(StatusCode::OK, &group)
}

pub(crate) fn delete_group(inner: &Inner, scope: GroupScope, id: &str) -> Response {
    let mut store = inner.store();
    if let Some(refusal) = account_group_in_workspace(&store, scope, id) {
        return refusal;
    }
    let groups = scope.groups_mut(&mut store);
    let Some(idx) = groups.iter().position(|g| g["id"] == json!(id)) else {
        return group_not_found();
    };
    let gone = groups.remove(idx);
    if scope == GroupScope::Account {
        super::metastores::account_group_deleted(
            &mut store,
            id,
            gone["displayName"].as_str().unwrap_or_default(),
        );
    }
    raw(StatusCode::NO_CONTENT, SCIM_JSON, "")
}

async fn me(State(inner): State<Shared>) -> Response {
    let store = inner.store();
    let admins = store
        .groups
        .iter()
        .find(|g| g["displayName"] == json!("admins"))
        .map(|g| g["id"].clone())
        .unwrap_or(Value::Null);
    scim(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "1000000000000001",
            "userName": inner.config.client_id,
            "displayName": "fake service principal",
            "active": true,
            "groups": [{"display": "admins", "value": admins}],
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Instance profiles

/// `arn:aws:iam::<12 digits>:instance-profile/<name>`.
fn valid_instance_profile_arn(arn: &str) -> bool {
    let Some(rest) = arn
        .strip_prefix("arn:aws:iam::")
        .or_else(|| arn.strip_prefix("arn:aws-us-gov:iam::"))
    else {
        return false;
    };
    let Some((account, name)) = rest.split_once(":instance-profile/") else {
        return false;
    };
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
}

async fn add_instance_profile(State(inner): State<Shared>, body: Bytes) -> Response {
    run(|| {
        let body = parse_body(&body)?;
        let arn = required_str(&body, "instance_profile_arn")?.to_owned();
        if !valid_instance_profile_arn(&arn) {
            return Err(ApiError::invalid(format!(
                "Invalid instance profile ARN: {arn}"
            )));
        }
        let mut store = inner.store();
        if store
            .instance_profiles
            .iter()
            .any(|p| p["instance_profile_arn"] == json!(arn))
        {
            // [unverified] duplicate-add behaviour (reference §3.2).
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "RESOURCE_ALREADY_EXISTS",
                format!("Instance profile {arn} already exists."),
            ));
        }
        let skip = body
            .get("skip_validation")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !skip && inner.faults.take_instance_profile_failure() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "DRY_RUN_FAILED",
                "Verification of the instance profile failed. AWS error: Value for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN",
            ));
        }
        let mut profile = json!({
            "instance_profile_arn": arn,
            "is_meta_instance_profile": body.get("is_meta_instance_profile").and_then(Value::as_bool).unwrap_or(false),
        });
        if let Some(role) = opt_str(&body, "iam_role_arn") {
            profile["iam_role_arn"] = json!(role);
        }
        store.instance_profiles.push(profile);
        Ok(json!({}))
    })
}

async fn edit_instance_profile(State(inner): State<Shared>, body: Bytes) -> Response {
    run(|| {
        let body = parse_body(&body)?;
        let arn = required_str(&body, "instance_profile_arn")?;
        let mut store = inner.store();
        let profile = store
            .instance_profiles
            .iter_mut()
            .find(|p| p["instance_profile_arn"] == json!(arn))
            .ok_or_else(|| {
                ApiError::not_found(format!("Instance profile {arn} does not exist."))
            })?;
        match opt_str(&body, "iam_role_arn") {
            Some(role) => profile["iam_role_arn"] = json!(role),
            None => {
                if let Some(obj) = profile.as_object_mut() {
                    obj.remove("iam_role_arn");
                }
            }
        }
        Ok(json!({}))
    })
}

async fn list_instance_profiles(State(inner): State<Shared>) -> Response {
    let store = inner.store();
    respond(Ok(if store.instance_profiles.is_empty() {
        json!({})
    } else {
        json!({"instance_profiles": store.instance_profiles})
    }))
}

async fn remove_instance_profile(State(inner): State<Shared>, body: Bytes) -> Response {
    run(|| {
        let body = parse_body(&body)?;
        let arn = required_str(&body, "instance_profile_arn")?;
        let mut store = inner.store();
        let before = store.instance_profiles.len();
        store
            .instance_profiles
            .retain(|p| p["instance_profile_arn"] != json!(arn));
        if store.instance_profiles.len() == before {
            // [unverified] whether removing an unknown profile is an error.
            return Err(ApiError::not_found(format!(
                "Instance profile {arn} does not exist."
            )));
        }
        Ok(json!({}))
    })
}

// ---------------------------------------------------------------------------------------------
// Workspace files

/// Maximum import size (reference §3.6).
const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;

/// A normalized absolute path (no trailing slash except `/`).
fn normalize(path: &str) -> Result<String, ApiError> {
    if !path.starts_with('/') {
        return Err(ApiError::invalid(format!(
            "Path ({path}) is not an absolute path."
        )));
    }
    let trimmed = path.trim_end_matches('/');
    Ok(if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    })
}

fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn path_missing(path: &str) -> ApiError {
    ApiError::not_found(format!("Path ({path}) doesn't exist."))
}

fn is_dir(store: &Store, path: &str) -> bool {
    store
        .objects
        .get(path)
        .is_some_and(|o| o.object_type == "DIRECTORY")
}

/// Object type and language of an import.
fn classify(
    path: &str,
    format: &str,
    language: Option<&str>,
    content: &[u8],
) -> Result<(String, &'static str, Option<String>), ApiError> {
    const NOTEBOOK_HEADERS: [(&str, &str, &str); 4] = [
        (".py", "# Databricks notebook source", "PYTHON"),
        (".scala", "// Databricks notebook source", "SCALA"),
        (".sql", "-- Databricks notebook source", "SQL"),
        (".r", "# Databricks notebook source", "R"),
    ];
    match format {
        "RAW" => Ok((path.to_owned(), "FILE", None)),
        "AUTO" => {
            if let Some(stem) = path.strip_suffix(".ipynb") {
                return Ok((stem.to_owned(), "NOTEBOOK", Some("PYTHON".to_owned())));
            }
            for (ext, header, lang) in NOTEBOOK_HEADERS {
                if let Some(stem) = path.strip_suffix(ext) {
                    if content.starts_with(header.as_bytes()) {
                        return Ok((stem.to_owned(), "NOTEBOOK", Some(lang.to_owned())));
                    }
                }
            }
            Ok((path.to_owned(), "FILE", None))
        }
        "SOURCE" => match language {
            Some(l @ ("PYTHON" | "SCALA" | "SQL" | "R")) => {
                Ok((path.to_owned(), "NOTEBOOK", Some(l.to_owned())))
            }
            _ => Err(ApiError::invalid(
                "language is required for format SOURCE (PYTHON, SCALA, SQL or R)",
            )),
        },
        "JUPYTER" => Ok((path.to_owned(), "NOTEBOOK", Some("PYTHON".to_owned()))),
        "HTML" | "DBC" | "R_MARKDOWN" => {
            Ok((path.to_owned(), "NOTEBOOK", language.map(str::to_owned)))
        }
        other => Err(ApiError::invalid(format!("Invalid format: {other}"))),
    }
}

async fn import(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let who = permissions::who(&inner, &headers);
    run(|| {
        let body = parse_body(&body)?;
        let path = normalize(required_str(&body, "path")?)?;
        let format = opt_str(&body, "format").unwrap_or("SOURCE");
        let overwrite = body
            .get("overwrite")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let content = match opt_str(&body, "content") {
            Some(text) => base64_decode(text)
                .ok_or_else(|| ApiError::invalid("content is not valid base64"))?,
            None => Vec::new(),
        };
        if content.len() > MAX_IMPORT_BYTES {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "MAX_NOTEBOOK_SIZE_EXCEEDED",
                format!(
                    "File size imported is ({} bytes), exceeded max size ({MAX_IMPORT_BYTES} bytes)",
                    content.len()
                ),
            ));
        }
        let (path, object_type, language) =
            classify(&path, format, opt_str(&body, "language"), &content)?;
        let mut store = inner.store();
        let parent = parent_of(&path).to_owned();
        if path == "/" || !is_dir(&store, &parent) {
            return Err(ApiError::not_found(format!(
                "The parent folder ({parent}) does not exist."
            )));
        }
        let now = now_millis();
        // Overwriting a file edits it (CAN_EDIT on it); a new one is created in its folder
        // (CAN_MANAGE there). See `permissions`.
        let (object_id, created_at) = match store.objects.get(&path) {
            Some(existing) if existing.object_type == "DIRECTORY" || !overwrite => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "RESOURCE_ALREADY_EXISTS",
                    format!("Path ({path}) already exists."),
                ));
            }
            Some(existing) => {
                permissions::require(&store, &who, &path, "CAN_EDIT")?;
                (existing.object_id, existing.created_at)
            }
            None => {
                permissions::require(&store, &who, &parent, "CAN_MANAGE")?;
                permissions::created(&mut store, &who, &path);
                (store.numeric_id(15), now)
            }
        };
        store.objects.insert(
            path.clone(),
            WorkspaceObject {
                path,
                object_type: object_type.to_owned(),
                language,
                content,
                object_id,
                created_at,
                modified_at: now,
            },
        );
        Ok(json!({}))
    })
}

async fn get_status(
    State(inner): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let who = permissions::who(&inner, &headers);
    run(|| {
        let path = query_param(query.as_deref(), "path")
            .ok_or_else(|| ApiError::invalid("Missing required field: path"))?;
        let path = normalize(&path)?;
        let store = inner.store();
        let object = store
            .objects
            .get(&path)
            .ok_or_else(|| path_missing(&path))?;
        permissions::require(&store, &who, &path, "CAN_READ")?;
        let mut out = json!({
            "object_type": object.object_type,
            "path": object.path,
            "object_id": object.object_id,
            "resource_id": object.object_id.to_string(),
            "created_at": object.created_at,
            "modified_at": object.modified_at,
        });
        if object.object_type != "DIRECTORY" {
            out["size"] = json!(object.content.len());
        }
        if let Some(language) = &object.language {
            out["language"] = json!(language);
        }
        Ok(out)
    })
}

async fn delete_object(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let who = permissions::who(&inner, &headers);
    run(|| {
        let body = parse_body(&body)?;
        let path = normalize(required_str(&body, "path")?)?;
        let recursive = body
            .get("recursive")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if path == "/" {
            return Err(ApiError::invalid("The root folder cannot be deleted."));
        }
        let mut store = inner.store();
        if !store.objects.contains_key(&path) {
            return Err(path_missing(&path));
        }
        permissions::require(&store, &who, &path, "CAN_MANAGE")?;
        let prefix = format!("{path}/");
        let children: Vec<String> = store
            .objects
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        if !children.is_empty() && !recursive {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "DIRECTORY_NOT_EMPTY",
                format!("Folder ({path}) is not empty."),
            ));
        }
        for child in children {
            store.objects.remove(&child);
        }
        store.objects.remove(&path);
        permissions::deleted(&mut store, &path);
        Ok(json!({}))
    })
}

async fn mkdirs(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let who = permissions::who(&inner, &headers);
    run(|| {
        let body = parse_body(&body)?;
        let path = normalize(required_str(&body, "path")?)?;
        let mut store = inner.store();
        if !store.objects.contains_key(&path) {
            let above = permissions::nearest_existing(&store, &path);
            permissions::require(&store, &who, &above, "CAN_MANAGE")?;
        }
        let mut current = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            current.push('/');
            current.push_str(part);
            match store.objects.get(&current) {
                Some(o) if o.object_type == "DIRECTORY" => {}
                Some(_) => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "RESOURCE_ALREADY_EXISTS",
                        format!("Path ({current}) already exists and it is not a folder"),
                    ))
                }
                None => {
                    store.insert_dir(&current);
                    permissions::created(&mut store, &who, &current);
                }
            }
        }
        Ok(json!({}))
    })
}

async fn export(
    State(inner): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let who = permissions::who(&inner, &headers);
    run(|| {
        let path = query_param(query.as_deref(), "path")
            .ok_or_else(|| ApiError::invalid("Missing required field: path"))?;
        let path = normalize(&path)?;
        let store = inner.store();
        let object = store
            .objects
            .get(&path)
            .ok_or_else(|| path_missing(&path))?;
        permissions::require(&store, &who, &path, "CAN_READ")?;
        if object.object_type == "DIRECTORY" {
            return Err(ApiError::invalid(format!(
                "Path ({path}) is a folder: export it with format DBC"
            )));
        }
        Ok(json!({"content": base64_encode(&object.content)}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_match() {
        let f = parse_filter("displayName eq \"data eng\" or displayName sw \"adm\"").unwrap();
        assert!(matches(&json!({"displayName": "data eng"}), &f));
        assert!(matches(&json!({"displayName": "admins"}), &f));
        assert!(!matches(&json!({"displayName": "users"}), &f));
        assert!(parse_filter("displayName gt \"x\"").is_none());
    }

    #[test]
    fn remove_paths_parse() {
        assert_eq!(
            parse_path("roles[value eq \"arn:aws:iam::1:instance-profile/x\"]"),
            Some((
                "roles".to_owned(),
                Some("arn:aws:iam::1:instance-profile/x".to_owned())
            ))
        );
        assert_eq!(parse_path("members"), Some(("members".to_owned(), None)));
    }

    #[test]
    fn instance_profile_arns_are_checked() {
        assert!(valid_instance_profile_arn(
            "arn:aws:iam::123456789012:instance-profile/acme-data"
        ));
        assert!(!valid_instance_profile_arn(
            "arn:aws:iam::123456789012:role/acme-data"
        ));
        assert!(!valid_instance_profile_arn(
            "arn:aws:iam::1234:instance-profile/x"
        ));
    }
}

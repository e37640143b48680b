//! Unity Catalog on the account host: metastores, their assignment to workspaces, account SCIM
//! groups, and the automatic enablement of Unity Catalog.
//!
//! Paths and shapes are those of databricks-sdk-py 0.167 (`service/catalog.py`:
//! `AccountMetastoresAPI`, `AccountMetastoreAssignmentsAPI`, `MetastoreInfo`,
//! `MetastoreAssignment`; `service/iam.py`: `AccountGroupsAPI`):
//!
//! - `GET|POST /api/2.0/accounts/{account_id}/metastores` (`{"metastores": […]}`;
//!   `{"metastore_info": {name, region, storage_root?}}` → `{"metastore_info": MetastoreInfo}`),
//!   `GET|PUT|DELETE …/metastores/{metastore_id}` (`?force=`), `GET …/metastores/{id}/workspaces`.
//! - `GET /api/2.0/accounts/{account_id}/workspaces/{workspace_id}/metastore` →
//!   `{"metastore_assignment": {workspace_id, metastore_id, default_catalog_name?}}`, 404 when
//!   none is assigned (the SDK's docstring of `AccountMetastoreAssignmentsAPI.get`: "If no
//!   metastore is assigned to the workspace, the assignment will not be found and a 404
//!   returned"); `POST|PUT|DELETE …/workspaces/{workspace_id}/metastores/{metastore_id}` with
//!   `{"metastore_assignment": {…}}`, each answering `{}`.
//! - Account groups under `/api/2.0/accounts/{account_id}/scim/v2/Groups`: the SCIM dialect of
//!   the workspace groups ([`super::workspace`]), in a store of their own.
//!
//! Behaviours, each with its source:
//! - **One metastore per region**: "you cannot have more than one metastore per region"
//!   (terraform-provider-databricks issue 2482; issue 1665: more than one per region "is not
//!   supported anymore"). A second create in a region answers the real message "This account
//!   with id `<account>` has reached the limit for metastores in region `<region>`" (quoted in
//!   Azure-Samples/modern-data-warehouse-dataops PR 911, `Infra/README.md`, and in public
//!   Terraform logs as "cannot create metastore: This account with id … has reached the limit
//!   for metastores in region eastus2"). The status and `error_code` are not shown in those
//!   logs (the Go SDK prints only the message): 400 `INVALID_STATE` is **\[unverified\]**.
//! - **Region**: a metastore can only be assigned to a workspace of its region ("the metastore
//!   <> region matching constraint", databricks/databricks-cli PR 547). Wording
//!   **\[unverified\]**, 400 `INVALID_PARAMETER_VALUE`.
//! - A metastore's `storage_root` is stored with `/<metastore_id>` appended (the create answer
//!   quoted in databricks/databricks-cli PR 547).
//! - **Automatic enablement** ([`FakeConfig::automatic_metastore`]): on accounts enabled for it
//!   (new accounts since late 2023), new workspaces are enabled for Unity Catalog
//!   automatically: each is assigned the metastore of its region, which Databricks creates when
//!   the region has none (docs "Get started with Unity Catalog", section "Automatic enablement
//!   of Unity Catalog",
//!   <https://docs.databricks.com/aws/en/data-governance/unity-catalog/get-started#automatic-enablement-of-unity-catalog>;
//!   paraphrased). A metastore owned by nobody in particular belongs to the "System User"
//!   (the SDK docs of `createMetastore`, databricks/sdk-js `MetastoresClient`).
//!   The auto-created metastore has no root storage (a public note of an auto-provisioned
//!   `metastore_aws_us_east_2` with `storage_root: None`, whose catalogs need a managed
//!   location). The assignment is made a little after the workspace is created
//!   ([`AutomaticMetastore::assignment_delay`]); the exact delay is not documented.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::account::respond;
use super::state::Store;
use super::wire::{now_millis, opt_str, parse_body, query_param, required_str, ApiError};
use super::workspace::{self, GroupScope};
use super::{FakeConfig, Inner, Shared};

/// The AWS account of Databricks' Unity Catalog master role.
pub const UNITY_CATALOG_MASTER_ROLE: &str =
    "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL";

/// A metastore made by Databricks for an account with automatic enablement of Unity Catalog,
/// and assigned to every workspace created in its region ([`FakeConfig::automatic_metastore`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomaticMetastore {
    /// The AWS region of the metastore (`eu-west-1`).
    pub region: String,
    /// How long after a workspace is created in that region the assignment appears.
    pub assignment_delay: std::time::Duration,
}

/// The name Databricks gives an automatically created metastore: `metastore_aws_<region>` with
/// `_` for `-` (the public note above shows `metastore_aws_us_east_2`).
pub fn automatic_metastore_name(region: &str) -> String {
    format!("metastore_aws_{}", region.replace('-', "_"))
}

/// Creates the automatic metastore of the configuration, if any (at start).
pub(crate) fn seed(store: &mut Store, config: &FakeConfig) {
    if let Some(auto) = &config.automatic_metastore {
        let metastore = new_metastore(
            store,
            &automatic_metastore_name(&auto.region),
            &auto.region,
            None,
            "System User",
        );
        store.metastores.push(metastore);
    }
}

/// A workspace was created in `region`: with automatic enablement, the region's metastore will
/// be assigned to it after the configured delay.
pub(crate) fn workspace_created(
    store: &mut Store,
    config: &FakeConfig,
    workspace_id: i64,
    region: &str,
) {
    let Some(auto) = &config.automatic_metastore else {
        return;
    };
    if auto.region != region {
        return;
    }
    if let Some(id) = metastore_in_region(store, region) {
        store
            .pending_assignments
            .push((workspace_id, id, Instant::now() + auto.assignment_delay));
    }
}

/// Makes the automatic assignments whose time has come.
pub(crate) fn advance(store: &mut Store, now: Instant) {
    let due: Vec<(i64, String)> = store
        .pending_assignments
        .iter()
        .filter(|(_, _, at)| *at <= now)
        .map(|(ws, ms, _)| (*ws, ms.clone()))
        .collect();
    store.pending_assignments.retain(|(_, _, at)| *at > now);
    for (workspace_id, metastore_id) in due {
        let exists = store.workspaces.iter().any(|w| w.id() == workspace_id);
        if exists && assignment_of(store, workspace_id).is_none() {
            store.metastore_assignments.push(json!({
                "workspace_id": workspace_id,
                "metastore_id": metastore_id,
            }));
        }
    }
}

/// The metastore of `region`, if the account has one.
fn metastore_in_region(store: &Store, region: &str) -> Option<String> {
    store
        .metastores
        .iter()
        .find(|m| m["region"] == json!(region))
        .and_then(|m| opt_str(m, "metastore_id"))
        .map(str::to_owned)
}

/// The assignment of a workspace.
pub(crate) fn assignment_of(store: &Store, workspace_id: i64) -> Option<&Value> {
    store
        .metastore_assignments
        .iter()
        .find(|a| a["workspace_id"].as_i64() == Some(workspace_id))
}

/// The metastore the workspace host serves: every workspace of the fake shares one address,
/// so it is the metastore of the first assignment (None: no workspace has one).
pub(crate) fn current_assignment(store: &Store) -> Option<&Value> {
    store.metastore_assignments.first()
}

/// An account group was deleted: its workspace assignments and Unity Catalog grants go too.
pub(crate) fn account_group_deleted(store: &mut Store, id: &str, name: &str) {
    store
        .permission_assignments
        .retain(|p| p.principal_id.to_string() != id);
    store.uc_grants.retain(|g| g.principal != name);
}

fn new_metastore(
    store: &mut Store,
    name: &str,
    region: &str,
    storage_root: Option<&str>,
    creator: &str,
) -> Value {
    let id = store.uuid();
    let now = now_millis();
    let mut m = json!({
        "metastore_id": id,
        "name": name,
        "region": region,
        "cloud": "aws",
        "global_metastore_id": format!("aws:{region}:{id}"),
        "owner": creator,
        "created_at": now,
        "created_by": creator,
        "updated_at": now,
        "updated_by": creator,
        "delta_sharing_scope": "INTERNAL",
        "privilege_model_version": "1.0",
        "external_access_enabled": false,
    });
    if let Some(root) = storage_root {
        m["storage_root"] = json!(format!("{}/{id}", root.trim_end_matches('/')));
    }
    m
}

/// The account-host routes of Unity Catalog and account groups.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/api/2.0/accounts/{account_id}/metastores",
            get(list_metastores).post(create_metastore),
        )
        .route(
            "/api/2.0/accounts/{account_id}/metastores/{metastore_id}",
            get(get_metastore)
                .put(update_metastore)
                .delete(delete_metastore),
        )
        .route(
            "/api/2.0/accounts/{account_id}/metastores/{metastore_id}/workspaces",
            get(metastore_workspaces),
        )
        .route(
            "/api/2.0/accounts/{account_id}/workspaces/{workspace_id}/metastore",
            get(get_assignment),
        )
        .route(
            "/api/2.0/accounts/{account_id}/workspaces/{workspace_id}/metastores/{metastore_id}",
            post(|s: State<Shared>, p: Path<(String, String, String)>, b: Bytes| {
                set_assignment(s, p, b, true)
            })
            .put(|s: State<Shared>, p: Path<(String, String, String)>, b: Bytes| {
                set_assignment(s, p, b, false)
            })
            .delete(delete_assignment),
        )
        .route(
            "/api/2.0/accounts/{account_id}/scim/v2/Groups",
            get(
                |State(s): State<Shared>, Path(account): Path<String>, RawQuery(q): RawQuery| async move {
                    scoped(&s, &account, || {
                        workspace::list_groups(&s, GroupScope::Account, q.as_deref())
                    })
                },
            )
            .post(
                |State(s): State<Shared>, Path(account): Path<String>, body: Bytes| async move {
                    scoped(&s, &account, || {
                        workspace::create_group(&s, GroupScope::Account, &body)
                    })
                },
            ),
        )
        .route(
            "/api/2.0/accounts/{account_id}/scim/v2/Groups/{id}",
            get(
                |State(s): State<Shared>,
                 Path((account, id)): Path<(String, String)>,
                 RawQuery(q): RawQuery| async move {
                    scoped(&s, &account, || {
                        workspace::get_group(&s, GroupScope::Account, &id, q.as_deref())
                    })
                },
            )
            .patch(
                |State(s): State<Shared>,
                 Path((account, id)): Path<(String, String)>,
                 body: Bytes| async move {
                    scoped(&s, &account, || {
                        workspace::patch_group(&s, GroupScope::Account, &id, &body)
                    })
                },
            )
            .put(
                |State(s): State<Shared>,
                 Path((account, id)): Path<(String, String)>,
                 body: Bytes| async move {
                    scoped(&s, &account, || {
                        workspace::replace_group(&s, GroupScope::Account, &id, &body)
                    })
                },
            )
            .delete(
                |State(s): State<Shared>, Path((account, id)): Path<(String, String)>| async move {
                    scoped(&s, &account, || {
                        workspace::delete_group(&s, GroupScope::Account, &id)
                    })
                },
            ),
        )
}

/// Runs an account-scoped handler once the account id is checked.
fn scoped(inner: &Inner, account: &str, f: impl FnOnce() -> Response) -> Response {
    match inner.check_account(account) {
        Ok(()) => f(),
        Err(e) => e.into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Metastores

/// 404 `METASTORE_DOES_NOT_EXIST` (the code is in the API's error catalog, databricks-sdk-py
/// 0.167 `service/ml.py` `ErrorCode`; wording **\[unverified\]**).
fn metastore_missing(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "METASTORE_DOES_NOT_EXIST",
        format!("Metastore '{id}' does not exist."),
    )
}

fn find_metastore(store: &Store, id: &str) -> Result<usize, ApiError> {
    store
        .metastores
        .iter()
        .position(|m| m["metastore_id"] == json!(id))
        .ok_or_else(|| metastore_missing(id))
}

async fn list_metastores(State(inner): State<Shared>, Path(account): Path<String>) -> Response {
    respond((|| {
        inner.check_account(&account)?;
        Ok(json!({"metastores": inner.store().metastores}))
    })())
}

async fn create_metastore(
    State(inner): State<Shared>,
    Path(account): Path<String>,
    body: Bytes,
) -> Response {
    respond((|| {
        inner.check_account(&account)?;
        let body = parse_body(&body)?;
        let info = body.get("metastore_info").unwrap_or(&Value::Null);
        let name = required_str(info, "name")
            .map_err(|_| ApiError::invalid("Missing required field: metastore_info.name"))?;
        // The account API needs the region (terraform-provider-databricks issue 2849: "For
        // account level api this field is required").
        let region = required_str(info, "region")
            .map_err(|_| ApiError::invalid("Missing required field: metastore_info.region"))?;
        if let Some(root) = opt_str(info, "storage_root") {
            if !root.starts_with("s3://") {
                return Err(ApiError::invalid(format!(
                    "Invalid storage root {root}: expected an s3:// URL"
                )));
            }
        }
        let mut store = inner.store();
        if metastore_in_region(&store, region).is_some() {
            return Err(ApiError::invalid_state(format!(
                "This account with id {} has reached the limit for metastores in region {region}",
                inner.config.account_id
            )));
        }
        let metastore = new_metastore(
            &mut store,
            name,
            region,
            opt_str(info, "storage_root"),
            &inner.config.client_id,
        );
        store.metastores.push(metastore.clone());
        Ok(json!({"metastore_info": metastore}))
    })())
}

async fn get_metastore(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
) -> Response {
    respond((|| {
        inner.check_account(&account)?;
        let store = inner.store();
        let idx = find_metastore(&store, &id)?;
        Ok(json!({"metastore_info": store.metastores[idx]}))
    })())
}

/// Fields `UpdateAccountsMetastore` may change (databricks-sdk-py 0.167).
const METASTORE_UPDATABLE: [&str; 7] = [
    "delta_sharing_organization_name",
    "delta_sharing_recipient_token_lifetime_in_seconds",
    "delta_sharing_scope",
    "external_access_enabled",
    "owner",
    "privilege_model_version",
    "storage_root_credential_id",
];

async fn update_metastore(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    respond((|| {
        inner.check_account(&account)?;
        let body = parse_body(&body)?;
        let info = body.get("metastore_info").cloned().unwrap_or(json!({}));
        let mut store = inner.store();
        let idx = find_metastore(&store, &id)?;
        let m = &mut store.metastores[idx];
        for field in METASTORE_UPDATABLE {
            if let Some(v) = info.get(field) {
                m[field] = v.clone();
            }
        }
        m["updated_at"] = json!(now_millis());
        m["updated_by"] = json!(inner.config.client_id);
        Ok(json!({"metastore_info": m}))
    })())
}

async fn delete_metastore(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    respond((|| {
        inner.check_account(&account)?;
        let force = query_param(query.as_deref(), "force").as_deref() == Some("true");
        let mut store = inner.store();
        let idx = find_metastore(&store, &id)?;
        let in_use = store
            .metastore_assignments
            .iter()
            .any(|a| a["metastore_id"] == json!(id))
            || !store.catalogs.is_empty()
            || !store.storage_credentials.is_empty();
        if in_use && !force {
            // `force`: "Force deletion even if the metastore is not empty" (the SDK's
            // docstring); the code is the catalog's METASTORE_NOT_EMPTY, wording
            // [unverified].
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "METASTORE_NOT_EMPTY",
                format!("Metastore '{id}' is not empty: it has workspaces or objects. Use force to delete it anyway."),
            ));
        }
        store.metastores.remove(idx);
        store
            .metastore_assignments
            .retain(|a| a["metastore_id"] != json!(id));
        store.pending_assignments.retain(|(_, ms, _)| *ms != id);
        if force {
            super::unity_catalog::forget_all(&mut store);
        }
        Ok(json!({}))
    })())
}

async fn metastore_workspaces(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
) -> Response {
    respond((|| {
        inner.check_account(&account)?;
        let store = inner.store();
        find_metastore(&store, &id)?;
        let ids: Vec<Value> = store
            .metastore_assignments
            .iter()
            .filter(|a| a["metastore_id"] == json!(id))
            .map(|a| a["workspace_id"].clone())
            .collect();
        Ok(json!({"workspace_ids": ids}))
    })())
}

// ---------------------------------------------------------------------------------------------
// Assignments

/// The workspace `id` (numeric), which must exist.
fn existing_workspace(store: &Store, id: &str) -> Result<i64, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid(format!("Invalid workspace id: {id}")))?;
    if store.workspaces.iter().any(|w| w.id() == id) {
        Ok(id)
    } else {
        Err(ApiError::not_found(format!(
            "Workspace {id} does not exist."
        )))
    }
}

async fn get_assignment(
    State(inner): State<Shared>,
    Path((account, workspace_id)): Path<(String, String)>,
) -> Response {
    respond((|| {
        inner.check_account(&account)?;
        let store = inner.store();
        let id = existing_workspace(&store, &workspace_id)?;
        assignment_of(&store, id)
            .map(|a| json!({"metastore_assignment": a}))
            // 404 (the SDK's docstring); code as the workspace host's, wording [unverified].
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "METASTORE_DOES_NOT_EXIST",
                    format!("No metastore assigned for workspace {id}."),
                )
            })
    })())
}

async fn set_assignment(
    State(inner): State<Shared>,
    Path((account, workspace_id, metastore_id)): Path<(String, String, String)>,
    body: Bytes,
    create: bool,
) -> Response {
    respond((|| {
        inner.check_account(&account)?;
        let body = parse_body(&body)?;
        let wanted = body
            .get("metastore_assignment")
            .cloned()
            .unwrap_or(json!({}));
        let mut store = inner.store();
        let ws = existing_workspace(&store, &workspace_id)?;
        let idx = find_metastore(&store, &metastore_id)?;
        let region = store.metastores[idx]["region"].clone();
        let ws_region = store
            .workspaces
            .iter()
            .find(|w| w.id() == ws)
            .map(|w| w.body["aws_region"].clone())
            .unwrap_or(Value::Null);
        if region != ws_region {
            // Wording [unverified] (the rule: databricks/databricks-cli PR 547).
            return Err(ApiError::invalid(format!(
                "Metastore {metastore_id} is in region {} and cannot be assigned to workspace {ws} in region {}",
                region.as_str().unwrap_or_default(),
                ws_region.as_str().unwrap_or_default()
            )));
        }
        // A create over an existing assignment overwrites it ("If an assignment for the same
        // workspace_id exists, it will be overwritten by the new metastore_id and
        // default_catalog_name", API reference of the workspace-level create,
        // https://docs.databricks.com/api/uc-metastores/v1/create-metastore-assignment); with
        // one metastore per region and the region check above, that can only be the same
        // metastore again, so a create is an upsert.
        let current = assignment_of(&store, ws).cloned();
        match (create, current) {
            (false, None) => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "METASTORE_DOES_NOT_EXIST",
                    format!("No metastore assigned for workspace {ws}."),
                ))
            }
            (false, Some(a)) if a["metastore_id"] != json!(metastore_id) => {
                return Err(ApiError::invalid(format!(
                    "Workspace {ws} is assigned metastore {}, not {metastore_id}",
                    a["metastore_id"].as_str().unwrap_or_default()
                )))
            }
            _ => {}
        }
        store.pending_assignments.retain(|(w, _, _)| *w != ws);
        let mut assignment = assignment_of(&store, ws)
            .cloned()
            .unwrap_or_else(|| json!({"workspace_id": ws, "metastore_id": metastore_id}));
        if let Some(catalog) = opt_str(&wanted, "default_catalog_name") {
            assignment["default_catalog_name"] = json!(catalog);
        }
        store
            .metastore_assignments
            .retain(|a| a["workspace_id"].as_i64() != Some(ws));
        store.metastore_assignments.push(assignment);
        Ok(json!({}))
    })())
}

async fn delete_assignment(
    State(inner): State<Shared>,
    Path((account, workspace_id, metastore_id)): Path<(String, String, String)>,
) -> Response {
    respond((|| {
        inner.check_account(&account)?;
        let mut store = inner.store();
        let ws = existing_workspace(&store, &workspace_id)?;
        find_metastore(&store, &metastore_id)?;
        let before = store.metastore_assignments.len();
        store.metastore_assignments.retain(|a| {
            !(a["workspace_id"].as_i64() == Some(ws) && a["metastore_id"] == json!(metastore_id))
        });
        if store.metastore_assignments.len() == before {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "METASTORE_DOES_NOT_EXIST",
                format!("Metastore {metastore_id} is not assigned to workspace {ws}."),
            ));
        }
        Ok(json!({}))
    })())
}

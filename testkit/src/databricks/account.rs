//! The Account API (reference §2): `/api/2.0/accounts/{account_id}/…`.
//!
//! - Configuration objects (§2.1–2.6): `credentials`, `storage-configurations`, `networks`,
//!   `customer-managed-keys`, `vpc-endpoints`, `private-access-settings`: create (POST), list
//!   (GET, a **bare JSON array**), get, delete (answers the deleted object); private access
//!   settings also have a full-replace PUT. Credentials names are unique per account; at most 50
//!   storage configurations; subnet and security-group ids cannot be reused across networks;
//!   an object used by a workspace cannot be deleted (400 `INVALID_STATE`).
//! - Workspaces (§2.7): create answers `PROVISIONING` and becomes `RUNNING` (or `FAILED`, see
//!   [`Faults::workspace_fails`](super::Faults::workspace_fails)) after the provisioning delay;
//!   PATCH with or without `update_mask`, with the state-dependent allowed fields; DELETE makes
//!   it `CANCELLING` until the deletion delay has passed, then GET answers 404.
//! - Log delivery (§2.8): wrapped bodies, no delete, PATCH of `status` only, at most two enabled
//!   configurations per log type and scope.
//! - Workspace permission assignments (§1.2).
//!
//! The real server's account-side behaviours, each on by default or behind a [`FakeConfig`]
//! switch (sources next to each):
//! - **IAM propagation races** ([`FakeConfig::credentials_propagation`],
//!   [`FakeConfig::log_delivery_propagation`]): a new role makes `POST /credentials` answer
//!   the real "Failed credential validation checks" body, `POST /workspaces` the real "Failed
//!   credentials validation checks: …" body for a new credentials id, and `POST /log-delivery`
//!   the real "Failed to perform putObject operations …" body, for the first attempts and a
//!   short window (see [`race`]).
//! - **Workspace PATCH** refuses while any classic compute runs; after a PATCH, compute is
//!   blocked for [`FakeConfig::compute_blocked_after_update`]
//!   (`Store::compute_blocked_by_update`); a storage-key change can revert silently
//!   ([`FakeConfig::storage_key_change_reverts`]). All workspaces of the fake share one
//!   cluster store, so any non-terminated cluster blocks a PATCH of any workspace.
//! - **Deployment-name prefix**: the default config has one, so `deployment_name` `x` is stored
//!   as `acme-x`.
//! - **Permission assignments** with a value other than `USER`/`ADMIN` (case-sensitive) are
//!   silently ignored, which leaves the principal without those permissions.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::real_errors;
use super::state::{PermissionAssignment, Store, WorkspaceNext, WorkspaceRec, NETWORK_SLOT};
use super::wire::{now_millis, ok, opt_str, parse_body, query_param, required_str, ApiError};
use super::{FakeConfig, Inner, Propagation, Shared};

/// A simple account configuration object kind.
#[derive(Debug)]
pub(crate) struct Kind {
    /// Index in `Store::configs`.
    slot: usize,
    /// Path segment after `/accounts/{account_id}/`.
    segment: &'static str,
    /// Name of the id field.
    id_field: &'static str,
    /// Name of the name field.
    name_field: &'static str,
    /// Label in messages.
    label: &'static str,
    /// Workspace fields that reference objects of this kind.
    workspace_refs: &'static [&'static str],
}

/// Every simple configuration kind, by slot.
pub(crate) static KINDS: [Kind; 6] = [
    Kind {
        slot: 0,
        segment: "credentials",
        id_field: "credentials_id",
        name_field: "credentials_name",
        label: "Credential configuration",
        workspace_refs: &["credentials_id"],
    },
    Kind {
        slot: 1,
        segment: "storage-configurations",
        id_field: "storage_configuration_id",
        name_field: "storage_configuration_name",
        label: "Storage configuration",
        workspace_refs: &["storage_configuration_id"],
    },
    Kind {
        slot: NETWORK_SLOT,
        segment: "networks",
        id_field: "network_id",
        name_field: "network_name",
        label: "Network",
        workspace_refs: &["network_id"],
    },
    Kind {
        slot: 3,
        segment: "customer-managed-keys",
        id_field: "customer_managed_key_id",
        name_field: "",
        label: "Customer managed key configuration",
        workspace_refs: &[
            "managed_services_customer_managed_key_id",
            "storage_customer_managed_key_id",
        ],
    },
    Kind {
        slot: 4,
        segment: "vpc-endpoints",
        id_field: "vpc_endpoint_id",
        name_field: "vpc_endpoint_name",
        label: "VPC endpoint",
        workspace_refs: &[],
    },
    Kind {
        slot: 5,
        segment: "private-access-settings",
        id_field: "private_access_settings_id",
        name_field: "private_access_settings_name",
        label: "Private access settings",
        workspace_refs: &["private_access_settings_id"],
    },
];

/// Maximum storage configurations per account (observed, reference §2.2).
const STORAGE_CONFIGURATION_LIMIT: usize = 50;

/// The message of the credentials-validation fault (reference §2.7, §4.2).
const CREDENTIALS_VALIDATION_MESSAGE: &str = "Failed credentials validation checks: Spot Cancellation, Create Placement Group, Delete Tags, Describe Availability Zones, Describe instances, Describe Instance Status, Describe Placement Group, Describe Route Tables, Describe Security Groups, Describe Spot Instances, Describe Spot Price History, Describe Subnets, Describe Volumes, Describe Vpcs, Request Spot Instances";

/// The answer of a handler that may send a recorded real failure body.
type Answer = Result<Value, Box<Response>>;

impl From<ApiError> for Box<Response> {
    fn from(e: ApiError) -> Box<Response> {
        Box::new(e.into_response())
    }
}

/// An API error as an [`Answer`].
fn fail<T>(e: ApiError) -> Result<T, Box<Response>> {
    Err(e.into())
}

/// An [`Answer`] as a response.
fn answer(result: Answer) -> Response {
    match result {
        Ok(body) => ok(body),
        Err(resp) => *resp,
    }
}

/// Whether this attempt of an eventually consistent operation fails: the first
/// `p.failures` attempts for a new `key` do, and every attempt until `p.window` has passed
/// since the key was first seen.
pub(crate) fn race(store: &mut Store, key: String, p: Propagation) -> bool {
    if p == Propagation::NONE {
        return false;
    }
    let now = Instant::now();
    let (first_seen, failed) = store.races.entry(key).or_insert((now, 0));
    let fails = *failed < p.failures || now < *first_seen + p.window;
    if fails {
        *failed += 1;
    }
    fails
}

/// Whether the fake's service principal is a member of a workspace: it created one that still
/// exists, or holds a permission assignment to one. A real workspace token is issued only to
/// a member of that workspace; the fake serves every workspace at one address and cannot tell
/// which workspace a token request is for, so it asks "a member of at least one workspace of
/// the account". The creator of a workspace is a member: Terraform's
/// `mws/resource_mws_workspaces.go` (`EnsureTokenExistsIfNeeded`: a workspace token fails
/// "if the provider is authenticated with a different principal than was used to create the
/// workspace"; issue https://github.com/databricks/terraform-provider-databricks/issues/2863).
pub(crate) fn is_member(store: &Store, config: &FakeConfig) -> bool {
    store
        .workspaces
        .iter()
        .any(|w| w.created_by == config.client_id && w.next != Some(WorkspaceNext::Gone))
        || store
            .permission_assignments
            .iter()
            .any(|p| p.principal_id == config.principal_id && !p.permissions.is_empty())
}

/// The Account API routes.
pub(crate) fn routes() -> Router<Shared> {
    let mut router = Router::new();
    for kind in &KINDS {
        let collection = format!("/api/2.0/accounts/{{account_id}}/{}", kind.segment);
        let item = format!("{collection}/{{id}}");
        router = router
            .route(
                &collection,
                get(
                    move |State(s): State<Shared>, Path(account): Path<String>| async move {
                        respond(list_configs(&s, &account, kind))
                    },
                )
                .post(
                    move |State(s): State<Shared>, Path(account): Path<String>, body: Bytes| async move {
                        answer(create_config(&s, &account, kind, &body))
                    },
                ),
            )
            .route(
                &item,
                get(
                    move |State(s): State<Shared>, Path((account, id)): Path<(String, String)>| async move {
                        respond(get_config(&s, &account, kind, &id))
                    },
                )
                .delete(
                    move |State(s): State<Shared>, Path((account, id)): Path<(String, String)>| async move {
                        respond(delete_config(&s, &account, kind, &id))
                    },
                )
                .put(
                    move |State(s): State<Shared>,
                          Path((account, id)): Path<(String, String)>,
                          body: Bytes| async move {
                        respond(replace_config(&s, &account, kind, &id, &body))
                    },
                ),
            );
    }
    router
        .route(
            "/api/2.0/accounts/{account_id}/workspaces",
            get(list_workspaces).post(create_workspace),
        )
        .route(
            "/api/2.0/accounts/{account_id}/workspaces/{workspace_id}",
            get(get_workspace)
                .patch(patch_workspace)
                .delete(delete_workspace),
        )
        .route(
            "/api/2.0/accounts/{account_id}/workspaces/{workspace_id}/permissionassignments",
            get(list_assignments),
        )
        .route(
            "/api/2.0/accounts/{account_id}/workspaces/{workspace_id}/permissionassignments/principals/{principal_id}",
            put(put_assignment).delete(delete_assignment),
        )
        .route(
            "/api/2.0/accounts/{account_id}/log-delivery",
            get(list_log_delivery).post(create_log_delivery),
        )
        .route(
            "/api/2.0/accounts/{account_id}/log-delivery/{config_id}",
            get(get_log_delivery).patch(patch_log_delivery),
        )
}

/// Runs a handler body and turns its result into a response.
fn run(f: impl FnOnce() -> Result<Value, ApiError>) -> Response {
    respond(f())
}

/// A handler result as a response.
pub(crate) fn respond(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(body) => ok(body),
        Err(e) => e.into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration objects

fn list_configs(inner: &Inner, account: &str, kind: &Kind) -> Result<Value, ApiError> {
    inner.check_account(account)?;
    Ok(Value::Array(inner.store().configs[kind.slot].clone()))
}

fn not_found(kind: &Kind, id: &str) -> ApiError {
    ApiError::not_found(format!("{} {id} does not exist.", kind.label))
}

fn get_config(inner: &Inner, account: &str, kind: &Kind, id: &str) -> Result<Value, ApiError> {
    inner.check_account(account)?;
    inner.store().configs[kind.slot]
        .iter()
        .find(|v| v[kind.id_field] == json!(id))
        .cloned()
        .ok_or_else(|| not_found(kind, id))
}

fn create_config(inner: &Inner, account: &str, kind: &Kind, body: &[u8]) -> Answer {
    inner.check_account(account)?;
    let body = parse_body(body)?;
    let mut store = inner.store();
    let mut object = validate_config(&store, kind, &body, None)?;
    if kind.segment == "credentials" {
        // Right after the cross-account role is created, Databricks cannot assume it yet:
        // 400 text/plain, singular "credential" (terraform-provider-databricks issues 1424 and
        // 1363; the fixture `credentials_validation_race`).
        let role = required_str(&body, "aws_credentials.sts_role.role_arn")?.to_owned();
        if race(
            &mut store,
            format!("credentials:{role}"),
            inner.config.credentials_propagation,
        ) {
            return Err(real_errors::get("credentials_validation_race")
                .response()
                .into());
        }
    }
    object[kind.id_field] = json!(store.uuid());
    object["account_id"] = json!(inner.config.account_id);
    object["creation_time"] = json!(now_millis());
    store.configs[kind.slot].push(object.clone());
    Ok(object)
}

/// Private access settings: `PUT` fully replaces the object.
fn replace_config(
    inner: &Inner,
    account: &str,
    kind: &Kind,
    id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    inner.check_account(account)?;
    if kind.segment != "private-access-settings" {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "ENDPOINT_NOT_FOUND",
            format!(
                "No API found for 'PUT /api/2.0/accounts/{account}/{}/{id}'",
                kind.segment
            ),
        ));
    }
    let body = parse_body(body)?;
    let mut store = inner.store();
    let idx = store.configs[kind.slot]
        .iter()
        .position(|v| v[kind.id_field] == json!(id))
        .ok_or_else(|| not_found(kind, id))?;
    let mut object = validate_config(&store, kind, &body, Some(id))?;
    let old = &store.configs[kind.slot][idx];
    object[kind.id_field] = json!(id);
    object["account_id"] = old["account_id"].clone();
    object["creation_time"] = old["creation_time"].clone();
    store.configs[kind.slot][idx] = object.clone();
    Ok(object)
}

fn delete_config(inner: &Inner, account: &str, kind: &Kind, id: &str) -> Result<Value, ApiError> {
    inner.check_account(account)?;
    let mut store = inner.store();
    let idx = store.configs[kind.slot]
        .iter()
        .position(|v| v[kind.id_field] == json!(id))
        .ok_or_else(|| not_found(kind, id))?;
    if let Some(ws) = store.workspaces.iter().find(|w| {
        kind.workspace_refs
            .iter()
            .any(|field| w.body.get(*field) == Some(&json!(id)))
    }) {
        return Err(ApiError::invalid_state(format!(
            "Unable to delete, {} is being used by active workspace {}",
            kind.label,
            ws.id()
        )));
    }
    Ok(store.configs[kind.slot].remove(idx))
}

/// Checks a create/replace body of a configuration object and returns the stored form (without
/// the server-assigned id, account id and creation time). `replacing` is the id being replaced.
fn validate_config(
    store: &Store,
    kind: &Kind,
    body: &Value,
    replacing: Option<&str>,
) -> Result<Value, ApiError> {
    let mut object = body.clone();
    let others = || {
        store.configs[kind.slot]
            .iter()
            .filter(move |v| replacing.is_none_or(|id| v[kind.id_field] != json!(id)))
    };
    if !kind.name_field.is_empty() {
        required_str(body, kind.name_field)?;
    }
    match kind.segment {
        "credentials" => {
            let name = required_str(body, "credentials_name")?;
            let role = required_str(body, "aws_credentials.sts_role.role_arn")?;
            if !(role.starts_with("arn:aws") && role.contains(":role/")) {
                return Err(ApiError::invalid(format!(
                    "Invalid role ARN {role}: expected arn:aws:iam::<account>:role/<name>"
                )));
            }
            if others().any(|v| v["credentials_name"] == json!(name)) {
                // [unverified] status and code; the message is observed (reference §2.1).
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "RESOURCE_ALREADY_EXISTS",
                    format!("Credential configuration name {name} already exists in this account. Try again with a unique name."),
                ));
            }
        }
        "storage-configurations" => {
            required_str(body, "root_bucket_info.bucket_name")?;
            if replacing.is_none() && others().count() >= STORAGE_CONFIGURATION_LIMIT {
                return Err(ApiError::invalid_state(format!(
                    "Storage configuration limit exceeded, only {STORAGE_CONFIGURATION_LIMIT} storage configurations are allowed"
                )));
            }
        }
        "networks" => {
            let name = required_str(body, "network_name")?;
            if !(4..=256).contains(&name.chars().count()) {
                return Err(ApiError::invalid(
                    "network_name must be between 4 and 256 characters long",
                ));
            }
            required_str(body, "vpc_id")?;
            let subnets = string_list(body, "subnet_ids");
            let groups = string_list(body, "security_group_ids");
            if subnets.len() < 2 {
                return Err(ApiError::invalid(
                    "subnet_ids must contain at least 2 subnets in different availability zones",
                ));
            }
            if groups.is_empty() || groups.len() > 5 {
                return Err(ApiError::invalid(
                    "security_group_ids must contain between 1 and 5 security groups",
                ));
            }
            // [unverified] wording; the rule is from the model comments (reference §2.3).
            for other in others() {
                let used: Vec<String> = string_list(other, "subnet_ids")
                    .into_iter()
                    .chain(string_list(other, "security_group_ids"))
                    .collect();
                if let Some(dup) = subnets.iter().chain(&groups).find(|id| used.contains(id)) {
                    return Err(ApiError::invalid(format!(
                        "{dup} is already used by network configuration {}",
                        other["network_id"].as_str().unwrap_or_default()
                    )));
                }
            }
            object["vpc_status"] = json!("UNATTACHED");
        }
        "customer-managed-keys" => {
            let arn = required_str(body, "aws_key_info.key_arn")?.to_owned();
            let use_cases = string_list(body, "use_cases");
            if use_cases.is_empty()
                || use_cases
                    .iter()
                    .any(|u| u != "MANAGED_SERVICES" && u != "STORAGE")
            {
                return Err(ApiError::invalid(
                    "use_cases must be a non-empty list of MANAGED_SERVICES and STORAGE",
                ));
            }
            if object["aws_key_info"].get("key_region").is_none() {
                let region = arn.split(':').nth(3).unwrap_or_default();
                object["aws_key_info"]["key_region"] = json!(region);
            }
        }
        "vpc-endpoints" => {
            object["state"] = json!("available");
            object["use_case"] = json!("GENERAL_ACCESS");
            object["aws_endpoint_service_id"] = json!("com.amazonaws.vpce.fake");
            object["aws_account_id"] = json!("123456789012");
        }
        "private-access-settings" => {
            required_str(body, "region")?;
            if object.get("private_access_level").is_none() {
                object["private_access_level"] = json!("ACCOUNT");
            }
            if object.get("public_access_enabled").is_none() {
                object["public_access_enabled"] = json!(false);
            }
        }
        _ => {}
    }
    Ok(object)
}

/// A list of strings at `key` (empty when absent).
fn string_list(body: &Value, key: &str) -> Vec<String> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Workspaces

/// Fields a workspace create body may carry (GCP-only fields are accepted and stored too).
const WORKSPACE_REF_CHECKS: [(&str, usize, Option<&str>); 6] = [
    ("credentials_id", 0, None),
    ("storage_configuration_id", 1, None),
    ("network_id", NETWORK_SLOT, None),
    (
        "managed_services_customer_managed_key_id",
        3,
        Some("MANAGED_SERVICES"),
    ),
    ("storage_customer_managed_key_id", 3, Some("STORAGE")),
    ("private_access_settings_id", 5, None),
];

/// Checks that every configuration a workspace body references exists (and that key
/// configurations carry the right use case).
fn check_workspace_refs(store: &Store, body: &Value) -> Result<(), ApiError> {
    for (field, slot, use_case) in WORKSPACE_REF_CHECKS {
        let Some(id) = opt_str(body, field) else {
            continue;
        };
        let kind = &KINDS[slot];
        let object = store.configs[slot]
            .iter()
            .find(|v| v[kind.id_field] == json!(id))
            .ok_or_else(|| {
                ApiError::invalid(format!("{} {id} does not exist ({field}).", kind.label))
            })?;
        if let Some(use_case) = use_case {
            if !string_list(object, "use_cases")
                .iter()
                .any(|u| u == use_case)
            {
                return Err(ApiError::invalid(format!(
                    "Customer managed key configuration {id} does not have use case {use_case} ({field})."
                )));
            }
        }
    }
    Ok(())
}

fn parse_workspace_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .map_err(|_| ApiError::invalid(format!("Invalid workspace id: {text}")))
}

fn workspace_not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("Workspace {id} does not exist."))
}

/// Schedules the end of provisioning, deciding now whether it fails.
fn schedule_provisioning(inner: &Inner, ws: &mut WorkspaceRec) {
    ws.set_status("PROVISIONING", "Workspace resources are being set up.");
    ws.deadline = Some(Instant::now() + inner.config.workspace_provisioning_delay);
    ws.next = Some(if inner.faults.workspace_should_fail() {
        let mut message =
            "Workspace failed to launch: the workspace could not be set up in the given network."
                .to_owned();
        if ws.body.get("network_id").is_some() {
            message.push_str(" See the network configuration's error_messages.");
        }
        WorkspaceNext::Failed(message)
    } else {
        WorkspaceNext::Running
    });
}

async fn list_workspaces(State(inner): State<Shared>, Path(account): Path<String>) -> Response {
    respond(inner.check_account(&account).map(|()| {
        Value::Array(
            inner
                .store()
                .workspaces
                .iter()
                .map(|w| w.body.clone())
                .collect(),
        )
    }))
}

async fn create_workspace(
    State(inner): State<Shared>,
    Path(account): Path<String>,
    body: Bytes,
) -> Response {
    answer(create_workspace_inner(&inner, &account, &body))
}

fn create_workspace_inner(inner: &Inner, account: &str, body: &[u8]) -> Answer {
    inner.check_account(account)?;
    let body = parse_body(body)?;
    required_str(&body, "workspace_name")?;
    required_str(&body, "aws_region")?;
    let serverless = opt_str(&body, "compute_mode") == Some("SERVERLESS");
    for field in ["credentials_id", "storage_configuration_id"] {
        match (serverless, opt_str(&body, field)) {
            (false, None) => {
                return fail(ApiError::invalid(format!(
                    "Missing required field: {field}"
                )))
            }
            (true, Some(_)) => {
                return fail(ApiError::invalid(format!(
                    "{field} must be omitted for compute_mode SERVERLESS"
                )))
            }
            _ => {}
        }
    }
    let mut store = inner.store();
    check_workspace_refs(&store, &body)?;
    if let Some(network_id) = opt_str(&body, "network_id") {
        if let Some(ws) = store
            .workspaces
            .iter()
            .find(|w| opt_str(&w.body, "network_id") == Some(network_id))
        {
            // [unverified] wording (reference §2.3: each workspace needs its own subnets).
            return fail(ApiError::invalid(format!(
                "Network {network_id} is already used by workspace {}",
                ws.id()
            )));
        }
    }
    let deployment_name = match (
        opt_str(&body, "deployment_name"),
        &inner.config.deployment_name_prefix,
    ) {
        (None, _) => format!("dbc-{}-{}", store.hex(8), store.hex(4)),
        (Some("EMPTY"), Some(prefix)) => prefix.clone(),
        (Some(name), Some(prefix)) => format!("{prefix}-{name}"),
        (Some(name), None) => name.to_owned(),
    };
    if store
        .workspaces
        .iter()
        .any(|w| opt_str(&w.body, "deployment_name") == Some(&deployment_name))
    {
        // [unverified] code and wording (reference §2.7: must be unique).
        return fail(ApiError::invalid(format!(
            "Deployment name {deployment_name} is already in use"
        )));
    }
    if inner.faults.take_credentials_failure() {
        return fail(ApiError::malformed(CREDENTIALS_VALIDATION_MESSAGE));
    }
    if let Some(credentials_id) = opt_str(&body, "credentials_id") {
        // Workspace creation validates the role again, with the plural message and the list of
        // checks, as text/plain (terraform-provider-databricks issue 951; databricks-sdk-go
        // issue 1040 shows the body is not JSON). The fixture
        // `workspace_credentials_validation_race`.
        if race(
            &mut store,
            format!("workspace-credentials:{credentials_id}"),
            inner.config.credentials_propagation,
        ) {
            return Err(real_errors::get("workspace_credentials_validation_race")
                .response()
                .into());
        }
    }
    let workspace_id = store.numeric_id(16);
    let mut object = body.clone();
    object["workspace_id"] = json!(workspace_id);
    object["account_id"] = json!(inner.config.account_id);
    object["deployment_name"] = json!(deployment_name);
    object["creation_time"] = json!(now_millis());
    if object.get("pricing_tier").is_none() {
        object["pricing_tier"] = json!("PREMIUM");
    }
    object["storage_mode"] = json!(if serverless {
        "DEFAULT_STORAGE"
    } else {
        "CUSTOMER_HOSTED"
    });
    let mut ws = WorkspaceRec {
        body: object,
        deadline: None,
        next: None,
        ever_running: false,
        created_by: inner.config.client_id.clone(),
        updated_at: None,
    };
    schedule_provisioning(inner, &mut ws);
    if let Some(network_id) = opt_str(&body, "network_id") {
        attach_network(&mut store, network_id, workspace_id);
    }
    let out = ws.body.clone();
    store.workspaces.push(ws);
    if let Some(region) = opt_str(&body, "aws_region") {
        super::metastores::workspace_created(&mut store, &inner.config, workspace_id, region);
    }
    Ok(out)
}

fn attach_network(store: &mut Store, network_id: &str, workspace_id: i64) {
    for net in &mut store.configs[NETWORK_SLOT] {
        if net["network_id"] == json!(network_id) {
            net["workspace_id"] = json!(workspace_id);
        }
    }
}

fn detach_network(store: &mut Store, network_id: &str) {
    for net in &mut store.configs[NETWORK_SLOT] {
        if net["network_id"] == json!(network_id) {
            if let Some(obj) = net.as_object_mut() {
                obj.remove("workspace_id");
                obj.remove("error_messages");
            }
            net["vpc_status"] = json!("UNATTACHED");
        }
    }
}

async fn get_workspace(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
) -> Response {
    run(|| {
        inner.check_account(&account)?;
        let id = parse_workspace_id(&id)?;
        inner
            .store()
            .workspaces
            .iter()
            .find(|w| w.id() == id)
            .map(|w| w.body.clone())
            .ok_or_else(|| workspace_not_found(id))
    })
}

async fn patch_workspace(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    answer(patch_workspace_inner(
        &inner,
        &account,
        &id,
        query.as_deref(),
        &body,
    ))
}

/// PATCH semantics of reference §2.7: the fields that may change depend on the state.
fn patch_workspace_inner(
    inner: &Inner,
    account: &str,
    id: &str,
    query: Option<&str>,
    body: &[u8],
) -> Answer {
    inner.check_account(account)?;
    let id = parse_workspace_id(id)?;
    let body = parse_body(body)?;
    let mut store = inner.store();
    let idx = store
        .workspaces
        .iter()
        .position(|w| w.id() == id)
        .ok_or_else(|| workspace_not_found(id))?;
    let ws = &store.workspaces[idx];
    let status = ws.status().to_owned();
    if status != "RUNNING" && status != "FAILED" {
        // [unverified] code and wording.
        return fail(ApiError::invalid_state(format!(
            "Workspace {id} is in state {status} and cannot be updated"
        )));
    }
    let fields: Vec<String> = match query_param(query, "update_mask") {
        Some(mask) if mask != "*" => mask
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => body
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default(),
    };
    let had_network = ws.body.get("network_id").is_some();
    let mut changes = Map::new();
    for field in &fields {
        let Some(value) = body.get(field) else {
            continue;
        };
        let current = ws.body.get(field);
        if current == Some(value) {
            continue;
        }
        let running = status == "RUNNING";
        let allowed = match field.as_str() {
            "credentials_id" | "managed_services_customer_managed_key_id" => true,
            "custom_tags" => {
                if value.as_object().is_some_and(Map::is_empty) {
                    continue; // an empty map is ignored
                }
                true
            }
            "network_id" => !running || had_network,
            "storage_customer_managed_key_id" => {
                if running {
                    current.is_none()
                } else {
                    !ws.ever_running
                }
            }
            "private_access_settings_id" | "network_connectivity_config_id" => !value.is_null(),
            "aws_region" | "storage_configuration_id" => !running,
            _ => false,
        };
        if !allowed {
            // [unverified] code (reference §7 item 4).
            return fail(ApiError::invalid(format!(
                "Field {field} cannot be updated on a {status} workspace"
            )));
        }
        changes.insert(field.clone(), value.clone());
    }
    let patch = Value::Object(changes.clone());
    check_workspace_refs(&store, &patch)?;
    if changes.is_empty() {
        return Ok(store.workspaces[idx].body.clone());
    }
    if status == "RUNNING" && store.clusters.iter().any(|c| c.state() != "TERMINATED") {
        // "To update a running workspace, you must first stop all running compute resources in
        // the workspace's VPC in the classic data plane" (the account API's update-workspace
        // documentation, https://docs.databricks.com/api/workspaces/v1/update-workspace-public.md);
        // the real refusal is the fixture `workspace_update_compute_running`: a plain-text
        // "INVALID_STATE: …" body, like the account API's other refusals (terraform-provider-
        // databricks issue 4491; the fixture's source says how the shape and status are known).
        return Err(real_errors::get("workspace_update_compute_running")
            .response()
            .into());
    }
    // "A change to the storage customer-managed key configuration ID might take a few minutes to
    // update … If the update fails, the workspace might revert silently to its original
    // configuration" (the Update comment of WorkspacesService in databricks-sdk-go's
    // service/provisioning/interface.go, commit 09c6382686567da37b34f1fe2b9f7bbf7d683ed5): the
    // answer shows the new key, the stored workspace keeps the old one.
    let reverted = (inner.config.storage_key_change_reverts
        && changes.contains_key("storage_customer_managed_key_id"))
    .then(|| {
        store.workspaces[idx]
            .body
            .get("storage_customer_managed_key_id")
            .cloned()
    });
    let old_network = opt_str(&store.workspaces[idx].body, "network_id").map(str::to_owned);
    if let Some(new_network) = opt_str(&patch, "network_id") {
        if let Some(old) = &old_network {
            detach_network(&mut store, old);
        }
        attach_network(&mut store, new_network, id);
    }
    let ws = &mut store.workspaces[idx];
    for (field, value) in changes {
        ws.body[field.as_str()] = value;
    }
    ws.updated_at = Some(Instant::now());
    // A failed workspace is re-provisioned; a running one on a Databricks-managed VPC too.
    if status == "FAILED" || !had_network {
        schedule_provisioning(inner, ws);
    }
    let answer = ws.body.clone();
    if let Some(old_key) = reverted {
        match (old_key, ws.body.as_object_mut()) {
            (Some(key), _) => ws.body["storage_customer_managed_key_id"] = key,
            (None, Some(obj)) => {
                obj.remove("storage_customer_managed_key_id");
            }
            (None, None) => {}
        }
    }
    Ok(answer)
}

async fn delete_workspace(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
) -> Response {
    run(|| {
        inner.check_account(&account)?;
        let id = parse_workspace_id(&id)?;
        let mut store = inner.store();
        let ws = store
            .workspaces
            .iter_mut()
            .find(|w| w.id() == id)
            .ok_or_else(|| workspace_not_found(id))?;
        if ws.next != Some(WorkspaceNext::Gone) {
            ws.set_status("CANCELLING", "Workspace is being deleted.");
            ws.deadline = Some(Instant::now() + inner.config.deletion_delay);
            ws.next = Some(WorkspaceNext::Gone);
        }
        Ok(ws.body.clone())
    })
}

// ---------------------------------------------------------------------------------------------
// Permission assignments (reference §1.2)

fn assignment_json(p: &PermissionAssignment) -> Value {
    json!({"principal": {"principal_id": p.principal_id}, "permissions": p.permissions})
}

fn find_workspace_id(store: &Store, id: &str) -> Result<i64, ApiError> {
    let id = parse_workspace_id(id)?;
    if store.workspaces.iter().any(|w| w.id() == id) {
        Ok(id)
    } else {
        Err(workspace_not_found(id))
    }
}

async fn list_assignments(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
) -> Response {
    run(|| {
        inner.check_account(&account)?;
        let store = inner.store();
        let id = find_workspace_id(&store, &id)?;
        let items: Vec<Value> = store
            .permission_assignments
            .iter()
            .filter(|p| p.workspace_id == id)
            .map(assignment_json)
            .collect();
        Ok(json!({"permission_assignments": items}))
    })
}

async fn put_assignment(
    State(inner): State<Shared>,
    Path((account, id, principal)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    run(|| {
        inner.check_account(&account)?;
        let body = parse_body(&body)?;
        let mut store = inner.store();
        let workspace_id = find_workspace_id(&store, &id)?;
        let principal_id: i64 = principal
            .parse()
            .map_err(|_| ApiError::invalid(format!("Invalid principal id: {principal}")))?;
        if inner.config.identity_federation_checks {
            check_federated_assignment(&inner, &store, workspace_id, principal_id)?;
        }
        // The values are case-sensitive `USER` / `ADMIN` (Terraform's
        // docs/resources/mws_permission_assignment.md); another value is silently ignored
        // (databricks-sdk-py issue 436: values that "worked before" stopped working without an
        // error), and since the call replaces the principal's set, the principal ends up
        // without those permissions: nothing left means no assignment at all.
        let permissions: Vec<String> = string_list(&body, "permissions")
            .into_iter()
            .filter(|p| p == "USER" || p == "ADMIN")
            .collect();
        store
            .permission_assignments
            .retain(|p| !(p.workspace_id == workspace_id && p.principal_id == principal_id));
        let assignment = PermissionAssignment {
            workspace_id,
            principal_id,
            permissions,
        };
        let out = assignment_json(&assignment);
        if !assignment.permissions.is_empty() {
            store.permission_assignments.push(assignment);
        }
        Ok(out)
    })
}

/// An identity-federated account's rules for a permission assignment:
/// - the workspace must be enabled for identity federation, which a metastore assignment does
///   ("Identity federation is enabled on the workspace level … when a workspace is assigned a
///   Unity Catalog metastore", docs "Manage users, service principals, and groups",
///   https://docs.databricks.com/aws/en/admin/users-groups/#identity-federation). Otherwise
///   the real answer is "Permission assignment APIs are not available for this workspace."
///   (terraform-provider-databricks issue 5282: "cannot create mws permission assignment:
///   Permission assignment APIs are not available for this workspace."; a public connector
///   matches that message on a 400 answer). The `error_code` is not shown there:
///   `INVALID_PARAMETER_VALUE` is **\[unverified\]**;
/// - the principal must be an account principal: an account group (its SCIM id) or the
///   service principal ([`FakeConfig::principal_id`]); 404 otherwise (code and wording
///   **\[unverified\]**).
fn check_federated_assignment(
    inner: &Inner,
    store: &Store,
    workspace_id: i64,
    principal_id: i64,
) -> Result<(), ApiError> {
    if super::metastores::assignment_of(store, workspace_id).is_none() {
        return Err(ApiError::invalid(
            "Permission assignment APIs are not available for this workspace.",
        ));
    }
    let known = principal_id == inner.config.principal_id
        || store
            .account_groups
            .iter()
            .any(|g| g["id"] == json!(principal_id.to_string()));
    if !known {
        return Err(ApiError::not_found(format!(
            "Principal {principal_id} does not exist in account {}.",
            inner.config.account_id
        )));
    }
    Ok(())
}

async fn delete_assignment(
    State(inner): State<Shared>,
    Path((account, id, principal)): Path<(String, String, String)>,
) -> Response {
    run(|| {
        inner.check_account(&account)?;
        let mut store = inner.store();
        let workspace_id = find_workspace_id(&store, &id)?;
        let before = store.permission_assignments.len();
        store.permission_assignments.retain(|p| {
            !(p.workspace_id == workspace_id && p.principal_id.to_string() == principal)
        });
        if store.permission_assignments.len() == before {
            // [unverified] whether absence is an error.
            return Err(ApiError::not_found(format!(
                "Principal {principal} has no permission assignment in workspace {workspace_id}"
            )));
        }
        Ok(json!({}))
    })
}

// ---------------------------------------------------------------------------------------------
// Log delivery (reference §2.8)

/// At most this many enabled configurations per log type and scope.
const LOG_DELIVERY_ENABLED_LIMIT: usize = 2;

fn log_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Log delivery configuration {id} does not exist."))
}

/// Fails when enabling `config` would exceed the per-type, per-scope limit.
fn check_log_limit(store: &Store, config: &Value) -> Result<(), ApiError> {
    let log_type = &config["log_type"];
    let filter = |v: &Value| -> Vec<i64> {
        v.get("workspace_ids_filter")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    };
    let mine = filter(config);
    let enabled: Vec<&Value> = store
        .log_delivery
        .iter()
        .filter(|v| v["config_id"] != config["config_id"])
        .filter(|v| &v["log_type"] == log_type && v["status"] == json!("ENABLED"))
        .collect();
    let over = if mine.is_empty() {
        enabled.iter().filter(|v| filter(v).is_empty()).count() >= LOG_DELIVERY_ENABLED_LIMIT
    } else {
        mine.iter().any(|id| {
            enabled.iter().filter(|v| filter(v).contains(id)).count() >= LOG_DELIVERY_ENABLED_LIMIT
        })
    };
    if over {
        // [unverified] code and wording.
        return Err(ApiError::invalid(format!(
            "Exceeded the limit of {LOG_DELIVERY_ENABLED_LIMIT} enabled log delivery configurations of type {} for this scope",
            log_type.as_str().unwrap_or_default()
        )));
    }
    Ok(())
}

/// The recorded putObject failure with this bucket, prefix and role in place of the ones of
/// the public example.
fn put_object_race(bucket: &str, prefix: &str, role: &str) -> Response {
    let recorded = real_errors::get("log_delivery_put_object_race");
    let mut real = recorded.clone();
    real.body = recorded
        .body
        .replace(
            "s3Bucket:dbx-dev-logging-audit",
            &format!("s3Bucket:{bucket}"),
        )
        .replace(
            "deliveryPathPrefix:dbx-dev-logging-audit",
            &format!("deliveryPathPrefix:{prefix}"),
        )
        .replace(
            "arn:aws:iam::577638361399:role/dbx-dev-logging-audit-delivery-role",
            role,
        );
    real.response()
}

async fn create_log_delivery(
    State(inner): State<Shared>,
    Path(account): Path<String>,
    body: Bytes,
) -> Response {
    answer((|| -> Answer {
        inner.check_account(&account)?;
        let body = parse_body(&body)?;
        let config = body
            .get("log_delivery_configuration")
            .filter(|v| v.is_object())
            .ok_or_else(|| {
                ApiError::invalid("Missing required field: log_delivery_configuration")
            })?;
        let log_type = required_str(config, "log_type")?;
        let format = required_str(config, "output_format")?;
        match (log_type, format) {
            ("BILLABLE_USAGE", "CSV") | ("AUDIT_LOGS", "JSON") => {}
            ("BILLABLE_USAGE" | "AUDIT_LOGS", _) => {
                return fail(ApiError::invalid(format!(
                    "output_format {format} is not supported for log_type {log_type}"
                )))
            }
            _ => return fail(ApiError::invalid(format!("Invalid log_type {log_type}"))),
        }
        let mut store = inner.store();
        for (field, slot) in [("credentials_id", 0), ("storage_configuration_id", 1)] {
            let id = required_str(config, field)?;
            let kind = &KINDS[slot];
            if !store.configs[slot]
                .iter()
                .any(|v| v[kind.id_field] == json!(id))
            {
                return fail(ApiError::invalid(format!(
                    "{} {id} does not exist ({field}).",
                    kind.label
                )));
            }
        }
        // Log delivery checks that Databricks can write to the bucket through the role: while
        // a new role or bucket policy propagates it answers "Failed to perform putObject
        // operations on s3Bucket:… with deliveryPathPrefix:… with the IAM Role:… provided"
        // (terraform-provider-databricks PR 4258; the fixture `log_delivery_put_object_race`).
        let credentials_id = required_str(config, "credentials_id")?;
        let storage_id = required_str(config, "storage_configuration_id")?;
        if race(
            &mut store,
            format!("log-delivery:{credentials_id}:{storage_id}"),
            inner.config.log_delivery_propagation,
        ) {
            let role = store.configs[0]
                .iter()
                .find(|v| v["credentials_id"] == json!(credentials_id))
                .and_then(|v| opt_str(&v["aws_credentials"]["sts_role"], "role_arn"))
                .unwrap_or_default()
                .to_owned();
            let bucket = store.configs[1]
                .iter()
                .find(|v| v["storage_configuration_id"] == json!(storage_id))
                .and_then(|v| opt_str(&v["root_bucket_info"], "bucket_name"))
                .unwrap_or_default()
                .to_owned();
            let prefix = opt_str(config, "delivery_path_prefix").unwrap_or_default();
            return Err(Box::new(put_object_race(&bucket, prefix, &role)));
        }
        let mut object = config.clone();
        if object.get("status").is_none() {
            object["status"] = json!("ENABLED");
        }
        match object["status"].as_str() {
            Some("ENABLED") => check_log_limit(&store, &object)?,
            Some("DISABLED") => {}
            _ => return fail(ApiError::invalid("status must be ENABLED or DISABLED")),
        }
        let now = now_millis();
        object["config_id"] = json!(store.uuid());
        object["account_id"] = json!(inner.config.account_id);
        object["creation_time"] = json!(now);
        object["update_time"] = json!(now);
        object["log_delivery_status"] = json!({
            "status": "CREATED",
            "message": "Log delivery configuration is created. Logs will be delivered shortly.",
        });
        store.log_delivery.push(object.clone());
        Ok(json!({"log_delivery_configuration": object}))
    })())
}

async fn list_log_delivery(
    State(inner): State<Shared>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    run(|| {
        inner.check_account(&account)?;
        let store = inner.store();
        let filters: Vec<(&str, String)> = ["credentials_id", "storage_configuration_id", "status"]
            .into_iter()
            .filter_map(|k| query_param(query.as_deref(), k).map(|v| (k, v)))
            .collect();
        let items: Vec<Value> = store
            .log_delivery
            .iter()
            .filter(|v| filters.iter().all(|(k, want)| v[*k] == json!(want)))
            .cloned()
            .collect();
        // Empty collections are omitted, as the real API does.
        Ok(if items.is_empty() {
            json!({})
        } else {
            json!({"log_delivery_configurations": items})
        })
    })
}

async fn get_log_delivery(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
) -> Response {
    run(|| {
        inner.check_account(&account)?;
        inner
            .store()
            .log_delivery
            .iter()
            .find(|v| v["config_id"] == json!(id))
            .map(|v| json!({"log_delivery_configuration": v}))
            .ok_or_else(|| log_not_found(&id))
    })
}

async fn patch_log_delivery(
    State(inner): State<Shared>,
    Path((account, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    run(|| {
        inner.check_account(&account)?;
        let body = parse_body(&body)?;
        let status = required_str(&body, "status")?.to_owned();
        if status != "ENABLED" && status != "DISABLED" {
            return Err(ApiError::invalid("status must be ENABLED or DISABLED"));
        }
        let mut store = inner.store();
        let idx = store
            .log_delivery
            .iter()
            .position(|v| v["config_id"] == json!(id))
            .ok_or_else(|| log_not_found(&id))?;
        if status == "ENABLED" {
            let mut candidate = store.log_delivery[idx].clone();
            candidate["status"] = json!("ENABLED");
            check_log_limit(&store, &candidate)?;
        }
        let config = &mut store.log_delivery[idx];
        config["status"] = json!(status);
        config["update_time"] = json!(now_millis());
        Ok(json!({}))
    })
}

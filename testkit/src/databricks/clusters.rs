//! Clusters (reference §3.3), under both `/api/2.1/clusters/*` and `/api/2.0/clusters/*`.
//!
//! - `create` answers `{"cluster_id"}` with the cluster `PENDING`; it is `RUNNING` after
//!   [`FakeConfig::cluster_start_delay`](super::FakeConfig::cluster_start_delay). The spec needs
//!   `spark_version` and `node_type_id` (or `instance_pool_id`); an `instance_profile_arn` must
//!   be registered; a `dbfs` init script answers 400 `FEATURE_DISABLED` unless
//!   [`FakeConfig::dbfs_init_scripts_allowed`](super::FakeConfig::dbfs_init_scripts_allowed).
//! - `edit` replaces the spec, only in `RUNNING` (the cluster restarts: `RESTARTING`, then
//!   `RUNNING`) or `TERMINATED` (it stays `TERMINATED`: the new spec applies at the next
//!   `start`); other states answer 400 `INVALID_STATE`. Source: databricks-sdk-go
//!   `service/compute/interface.go`, `ClustersService.Edit` ("If a cluster is updated while in a
//!   `TERMINATED` state, it will remain `TERMINATED`").
//! - `get` of an unknown id answers 400 `INVALID_PARAMETER_VALUE` "Cluster X does not exist".
//! - `list` answers `{"clusters": […]}` (key absent when empty).
//! - `delete` terminates (the cluster and its spec are kept): from `PENDING`, `RUNNING`,
//!   `RESTARTING` or `RESIZING` it goes `TERMINATING`, then `TERMINATED` after the deletion
//!   delay, with `termination_reason` `USER_REQUEST`; on a cluster already `TERMINATING` or
//!   `TERMINATED` it answers 200 and changes nothing. Sources: databricks-sdk-go
//!   `ClustersService.Delete` ("If the cluster is already in a `TERMINATING` or `TERMINATED`
//!   state, nothing will happen"); the Terraform provider's cluster state machine
//!   (`clusters/clusters_api.go`: `PENDING`, `RUNNING`, `RESTARTING`, `RESIZING` each reach
//!   `TERMINATING`, which reaches only `TERMINATED`).
//! - `permanent-delete` removes it (a pinned cluster answers "… unpin the cluster first").
//! - `start`, `pin`, `unpin`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::account::respond;
use super::state::{ClusterRec, Store};
use super::wire::{now_millis, opt_str, parse_body, query_param, required_str, ApiError};
use super::{Inner, Shared};

/// Server-set fields kept across `edit`.
const SERVER_FIELDS: [&str; 9] = [
    "cluster_id",
    "creator_user_name",
    "state",
    "state_message",
    "start_time",
    "cluster_source",
    "last_restarted_time",
    "terminated_time",
    "termination_reason",
];

/// Cluster routes, for API 2.0 and 2.1.
pub(crate) fn routes() -> Router<Shared> {
    let mut router = Router::new();
    for version in ["2.0", "2.1"] {
        let p = |op: &str| format!("/api/{version}/clusters/{op}");
        router = router
            .route(&p("create"), post(create))
            .route(&p("edit"), post(edit))
            .route(&p("get"), get(get_cluster))
            .route(&p("list"), get(list))
            .route(&p("delete"), post(terminate))
            .route(&p("permanent-delete"), post(permanent_delete))
            .route(&p("start"), post(start))
            .route(&p("pin"), post(pin))
            .route(&p("unpin"), post(unpin));
    }
    router
}

fn run(f: impl FnOnce() -> Result<Value, ApiError>) -> Response {
    respond(f())
}

fn missing(id: &str) -> ApiError {
    ApiError::invalid(format!("Cluster {id} does not exist"))
}

/// `Pending` for `PENDING`, as the real messages spell states.
fn title(state: &str) -> String {
    let lower = state.to_ascii_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Checks a cluster spec (create and edit).
fn validate_spec(inner: &Inner, store: &Store, spec: &Value) -> Result<(), ApiError> {
    required_str(spec, "spark_version")?;
    if opt_str(spec, "node_type_id").is_none() && opt_str(spec, "instance_pool_id").is_none() {
        return Err(ApiError::invalid(
            "Missing required field: node_type_id (or instance_pool_id)",
        ));
    }
    if let Some(minutes) = spec.get("autotermination_minutes").and_then(Value::as_i64) {
        if minutes != 0 && !(10..=10000).contains(&minutes) {
            return Err(ApiError::invalid(
                "autotermination_minutes must be 0 or between 10 and 10000",
            ));
        }
    }
    if spec
        .get("custom_tags")
        .and_then(Value::as_object)
        .is_some_and(|tags| tags.len() > 45)
    {
        return Err(ApiError::invalid("custom_tags may hold at most 45 tags"));
    }
    let scripts = spec
        .get("init_scripts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if scripts.len() > 10 {
        return Err(ApiError::invalid("at most 10 init scripts are allowed"));
    }
    if !inner.config.dbfs_init_scripts_allowed && scripts.iter().any(|s| s.get("dbfs").is_some()) {
        let mut err = ApiError::new(
            StatusCode::BAD_REQUEST,
            "FEATURE_DISABLED",
            "Init scripts cannot be loaded from DBFS. Review the init script documentation for more details on configuring init scripts.",
        );
        err.details = Some(json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "CM_API_ERROR_SOURCE_CALLER_ERROR",
            "domain": "",
        }]));
        return Err(err);
    }
    if let Some(arn) = spec
        .get("aws_attributes")
        .and_then(|a| opt_str(a, "instance_profile_arn"))
    {
        if !store
            .instance_profiles
            .iter()
            .any(|p| p["instance_profile_arn"] == json!(arn))
        {
            // [unverified] wording.
            return Err(ApiError::invalid(format!(
                "Instance profile {arn} is not registered in this workspace"
            )));
        }
    }
    Ok(())
}

fn default_tags(inner: &Inner, spec: &Value, id: &str) -> Value {
    json!({
        "Vendor": "Databricks",
        "Creator": inner.config.client_id,
        "ClusterName": spec.get("cluster_name").cloned().unwrap_or(json!("")),
        "ClusterId": id,
    })
}

async fn create(State(inner): State<Shared>, body: Bytes) -> Response {
    run(|| {
        let spec = parse_body(&body)?;
        let mut store = inner.store();
        validate_spec(&inner, &store, &spec)?;
        let digits = store.numeric_id(6);
        let id = format!("0619-{digits:06}-{}", store.hex(8));
        let mut body = spec.clone();
        body["cluster_id"] = json!(id);
        body["creator_user_name"] = json!(inner.config.client_id);
        body["start_time"] = json!(now_millis());
        body["cluster_source"] = json!("API");
        body["default_tags"] = default_tags(&inner, &spec, &id);
        let mut rec = ClusterRec {
            body,
            deadline: Some(Instant::now() + inner.config.cluster_start_delay),
            next_state: Some("RUNNING"),
            pinned: false,
        };
        rec.set_state(
            "PENDING",
            "Finding instances for new nodes, acquiring more instances if necessary",
        );
        store.clusters.push(rec);
        Ok(json!({"cluster_id": id}))
    })
}

/// The index of the cluster named by `cluster_id` in a body.
fn find(store: &Store, body: &Value) -> Result<usize, ApiError> {
    let id = required_str(body, "cluster_id")?;
    store
        .clusters
        .iter()
        .position(|c| c.id() == id)
        .ok_or_else(|| missing(id))
}

async fn edit(State(inner): State<Shared>, body: Bytes) -> Response {
    run(|| {
        let spec = parse_body(&body)?;
        let mut store = inner.store();
        let idx = find(&store, &spec)?;
        let state = store.clusters[idx].state().to_owned();
        let id = store.clusters[idx].id().to_owned();
        if state != "RUNNING" && state != "TERMINATED" {
            return Err(ApiError::invalid_state(format!(
                "Cluster {id} is in unexpected state {}.",
                title(&state)
            )));
        }
        validate_spec(&inner, &store, &spec)?;
        let old = store.clusters[idx].body.clone();
        let mut body = spec.clone();
        for field in SERVER_FIELDS {
            if let Some(v) = old.get(field) {
                body[field] = v.clone();
            }
        }
        body["default_tags"] = default_tags(&inner, &spec, &id);
        let rec = &mut store.clusters[idx];
        rec.body = body;
        // A TERMINATED cluster keeps its state (and termination reason): only RUNNING restarts.
        if state == "RUNNING" {
            rec.set_state(
                "RESTARTING",
                "Restarting cluster to apply the new configuration",
            );
            rec.deadline = Some(Instant::now() + inner.config.cluster_start_delay);
            rec.next_state = Some("RUNNING");
        }
        Ok(json!({}))
    })
}

async fn get_cluster(State(inner): State<Shared>, RawQuery(query): RawQuery) -> Response {
    run(|| {
        let id = query_param(query.as_deref(), "cluster_id")
            .ok_or_else(|| ApiError::invalid("Missing required field: cluster_id"))?;
        inner
            .store()
            .clusters
            .iter()
            .find(|c| c.id() == id)
            .map(|c| c.body.clone())
            .ok_or_else(|| missing(&id))
    })
}

async fn list(State(inner): State<Shared>) -> Response {
    let store = inner.store();
    let clusters: Vec<Value> = store.clusters.iter().map(|c| c.body.clone()).collect();
    respond(Ok(if clusters.is_empty() {
        json!({})
    } else {
        json!({"clusters": clusters})
    }))
}

/// `clusters/delete` (see the module docs): terminate, a no-op when already stopping or stopped.
async fn terminate(State(inner): State<Shared>, body: Bytes) -> Response {
    run(|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        let idx = find(&store, &body)?;
        let rec = &mut store.clusters[idx];
        if rec.state() != "TERMINATING" && rec.state() != "TERMINATED" {
            rec.set_state("TERMINATING", "Terminating cluster");
            rec.body["termination_reason"] = json!({
                "code": "USER_REQUEST",
                "type": "SUCCESS",
                "parameters": {"username": inner.config.client_id},
            });
            rec.deadline = Some(Instant::now() + inner.config.deletion_delay);
            rec.next_state = Some("TERMINATED");
        }
        Ok(json!({}))
    })
}

async fn permanent_delete(State(inner): State<Shared>, body: Bytes) -> Response {
    run(|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        let idx = find(&store, &body)?;
        if store.clusters[idx].pinned {
            return Err(ApiError::invalid_state(format!(
                "Cluster {} is pinned. Please unpin the cluster first.",
                store.clusters[idx].id()
            )));
        }
        store.clusters.remove(idx);
        Ok(json!({}))
    })
}

async fn start(State(inner): State<Shared>, body: Bytes) -> Response {
    run(|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        let idx = find(&store, &body)?;
        let rec = &mut store.clusters[idx];
        if rec.state() != "TERMINATED" {
            return Err(ApiError::invalid_state(format!(
                "Cluster {} is in unexpected state {}.",
                rec.id(),
                title(rec.state())
            )));
        }
        rec.set_state("PENDING", "Starting cluster");
        if let Some(obj) = rec.body.as_object_mut() {
            obj.remove("termination_reason");
            obj.remove("terminated_time");
        }
        rec.deadline = Some(Instant::now() + inner.config.cluster_start_delay);
        rec.next_state = Some("RUNNING");
        Ok(json!({}))
    })
}

async fn pin(State(inner): State<Shared>, body: Bytes) -> Response {
    set_pinned(&inner, &body, true)
}

async fn unpin(State(inner): State<Shared>, body: Bytes) -> Response {
    set_pinned(&inner, &body, false)
}

fn set_pinned(inner: &Inner, body: &[u8], pinned: bool) -> Response {
    run(|| {
        let body = parse_body(body)?;
        let mut store = inner.store();
        let idx = find(&store, &body)?;
        store.clusters[idx].pinned = pinned;
        Ok(json!({}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_titled_like_the_real_messages() {
        assert_eq!(title("PENDING"), "Pending");
        assert_eq!(title(""), "");
    }
}

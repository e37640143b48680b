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
//! - `spark-versions` and `list-node-types` answer the workspace's runtimes ([`SPARK_VERSIONS`])
//!   and AWS node types ([`NODE_TYPES`]); `create` and `edit` refuse a spec the API refuses
//!   (see [`check_spec`], each rule with its source): an unknown runtime or node type, an EBS
//!   volume size outside its type's range, an unknown enum value, a spot bid above 10000, a
//!   dedicated access mode without `single_user_name`; `edit` also refuses a change of
//!   `aws_attributes.first_on_demand`.
//! - The access mode is stored and echoed under its legacy alias (`DATA_SECURITY_MODE_DEDICATED`
//!   as `SINGLE_USER`, `DATA_SECURITY_MODE_STANDARD` as `USER_ISOLATION`), and
//!   `DATA_SECURITY_MODE_AUTO` as the mode chosen (`SINGLE_USER` when a `single_user_name` is
//!   given, else `USER_ISOLATION`: the choice rule is **\[unverified\]**), as the real server
//!   does: the Terraform provider suppresses exactly these diffs between what it sent and what
//!   it reads back (`DataSecurityModeDiffSuppressFunc`, `clusters/resource_cluster.go`); the
//!   names are aliases per databricks-sdk-py 0.167 `service/compute.py`, `DataSecurityMode`.
//! - For [`FakeConfig::compute_blocked_after_update`](super::FakeConfig::compute_blocked_after_update)
//!   after a workspace PATCH, `create`, `start` and an `edit` of a running cluster (which
//!   restarts it) answer 400 `INVALID_STATE` ([`compute_blocked`]): "After the workspace has
//!   been updated, you cannot use or create clusters for another 20 minutes" (the Update comment
//!   of WorkspacesService, databricks-sdk-go `service/provisioning/interface.go`, commit
//!   09c6382686567da37b34f1fe2b9f7bbf7d683ed5). The code and wording of the refusal are
//!   **\[unverified\]**: no public copy of the body was found.
//! - `list` (API 2.1) pages: `page_size` (default
//!   [`FakeConfig::cluster_list_page_size`](super::FakeConfig::cluster_list_page_size)),
//!   `page_token` from the previous page's `next_page_token` (absent on the last page),
//!   `prev_page_token` from the second page on (databricks-sdk-py 0.167 `ListClustersResponse`,
//!   `ClustersAPI.list`). API 2.0's `list` has no paging and answers every cluster.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::time::Instant;

use axum::response::IntoResponse;

use super::account::respond;
use super::real_errors;
use super::state::{ClusterRec, Store};
use super::wire::{now_millis, ok, opt_str, parse_body, query_param, raw, required_str, ApiError};
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
            .route(&p("unpin"), post(unpin))
            .route(&p("spark-versions"), get(spark_versions))
            .route(&p("list-node-types"), get(list_node_types));
    }
    router
}

/// The runtimes `spark-versions` lists (key, name): the LTS lines of the Databricks Runtime
/// release notes (<https://docs.databricks.com/aws/en/release-notes/runtime/>), in the
/// answer's shape (`{"versions": [{"key", "name"}]}`, reference §3.3; databricks-sdk-py 0.167
/// `GetSparkVersionsResponse`).
pub const SPARK_VERSIONS: &[(&str, &str)] = &[
    // 17.3 LTS (October 2025, Spark 4.0): Scala 2.13 only ("Starting with Databricks Runtime
    // 17 (Spark 4), only Scala 2.13 will be supported", 16.4 LTS release notes).
    (
        "17.3.x-scala2.13",
        "17.3 LTS (includes Apache Spark 4.0.0, Scala 2.13)",
    ),
    (
        "17.3.x-photon-scala2.13",
        "17.3 LTS Photon (includes Apache Spark 4.0.0, Scala 2.13)",
    ),
    (
        "16.4.x-scala2.13",
        "16.4 LTS (includes Apache Spark 3.5.2, Scala 2.13)",
    ),
    (
        "16.4.x-scala2.12",
        "16.4 LTS (includes Apache Spark 3.5.2, Scala 2.12)",
    ),
    (
        "16.4.x-photon-scala2.12",
        "16.4 LTS Photon (includes Apache Spark 3.5.2, Scala 2.12)",
    ),
    (
        "15.4.x-scala2.12",
        "15.4 LTS (includes Apache Spark 3.5.0, Scala 2.12)",
    ),
    (
        "15.4.x-photon-scala2.12",
        "15.4 LTS Photon (includes Apache Spark 3.5.0, Scala 2.12)",
    ),
    (
        "15.4.x-cpu-ml-scala2.12",
        "15.4 LTS ML (includes Apache Spark 3.5.0, Scala 2.12)",
    ),
    (
        "14.3.x-scala2.12",
        "14.3 LTS (includes Apache Spark 3.5.0, Scala 2.12)",
    ),
    (
        "14.3.x-photon-scala2.12",
        "14.3 LTS Photon (includes Apache Spark 3.5.0, Scala 2.12)",
    ),
    (
        "14.3.x-gpu-ml-scala2.12",
        "14.3 LTS ML (includes Apache Spark 3.5.0, GPU, Scala 2.12)",
    ),
    (
        "13.3.x-scala2.12",
        "13.3 LTS (includes Apache Spark 3.4.1, Scala 2.12)",
    ),
];

/// The AWS node types `list-node-types` lists: (id, vCPUs, memory MiB, local NVMe/SSD disks,
/// GiB each, category). Sizes from the EC2 instance type specifications
/// (<https://aws.amazon.com/ec2/instance-types/>); the answer's shape is databricks-sdk-py
/// 0.167 `NodeType` (reference §3.3).
pub const NODE_TYPES: &[(&str, u32, u32, u32, u32, &str)] = &[
    ("m5.large", 2, 8192, 0, 0, "General Purpose"),
    ("m5.xlarge", 4, 16384, 0, 0, "General Purpose"),
    ("m5.2xlarge", 8, 32768, 0, 0, "General Purpose"),
    ("m5d.large", 2, 8192, 1, 75, "General Purpose (HDD)"),
    ("m5d.2xlarge", 8, 32768, 1, 300, "General Purpose (HDD)"),
    ("r5.large", 2, 16384, 0, 0, "Memory Optimized"),
    ("r5.xlarge", 4, 32768, 0, 0, "Memory Optimized"),
    ("r5.2xlarge", 8, 65536, 0, 0, "Memory Optimized"),
    (
        "r5d.xlarge",
        4,
        32768,
        1,
        150,
        "Memory Optimized (Remote HDD)",
    ),
    ("c5.xlarge", 4, 8192, 0, 0, "Compute Optimized"),
    ("i3.xlarge", 4, 31232, 1, 950, "Storage Optimized"),
];

async fn spark_versions() -> Response {
    let versions: Vec<Value> = SPARK_VERSIONS
        .iter()
        .map(|(key, name)| json!({"key": key, "name": name}))
        .collect();
    ok(json!({"versions": versions}))
}

async fn list_node_types() -> Response {
    let node_types: Vec<Value> = NODE_TYPES
        .iter()
        .map(|(id, cores, memory, disks, disk_gb, category)| {
            let mut instance = json!({"instance_type_id": id});
            if *disks > 0 {
                instance["local_disks"] = json!(disks);
                instance["local_disk_size_gb"] = json!(disk_gb);
                instance["local_nvme_disks"] = json!(disks);
                instance["local_nvme_disk_size_gb"] = json!(disk_gb);
            }
            json!({
                "node_type_id": id,
                "instance_type_id": id,
                "memory_mb": memory,
                "num_cores": f64::from(*cores),
                "num_gpus": 0,
                "description": id,
                "category": category,
                "is_deprecated": false,
                "is_hidden": false,
                "is_graviton": false,
                "is_io_cache_enabled": *disks > 0,
                "support_ebs_volumes": true,
                "support_port_forwarding": true,
                "photon_worker_capable": true,
                "photon_driver_capable": true,
                "node_instance_type": instance,
            })
        })
        .collect();
    ok(json!({"node_types": node_types}))
}

/// A recorded failure (`testkit/fixtures/databricks_errors.json`) with its `$NAME`
/// placeholders filled (JSON-escaped).
fn real(name: &str, values: &[(&str, &str)]) -> Response {
    let e = real_errors::get(name);
    let mut body = e.body.clone();
    for (key, value) in values {
        let quoted = serde_json::to_string(value).unwrap_or_default();
        let escaped = quoted.trim_matches('"');
        body = body.replace(&format!("${key}"), escaped);
    }
    raw(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        &e.content_type,
        body,
    )
}

/// A refusal: a recorded failure body or one of ours.
fn refuse(e: ApiError) -> Response {
    e.into_response()
}

/// [`refuse`], boxed (a spec check's error).
fn refused(e: ApiError) -> Box<Response> {
    Box::new(refuse(e))
}

/// [`real`], boxed (a spec check's error).
fn recorded(name: &str, values: &[(&str, &str)]) -> Box<Response> {
    Box::new(real(name, values))
}

/// The legacy alias the server echoes for an access mode (module docs).
fn echoed_mode(mode: &str) -> &str {
    match mode {
        "DATA_SECURITY_MODE_DEDICATED" => "SINGLE_USER",
        "DATA_SECURITY_MODE_STANDARD" => "USER_ISOLATION",
        other => other,
    }
}

/// The enum fields of a cluster spec and their values (databricks-sdk-py 0.167
/// `service/compute.py`: `AwsAvailability`, `EbsVolumeType`, `DataSecurityMode`,
/// `RuntimeEngine`).
const ENUMS: &[(&str, &[&str])] = &[
    (
        "/aws_attributes/availability",
        &["SPOT", "ON_DEMAND", "SPOT_WITH_FALLBACK"],
    ),
    (
        "/aws_attributes/ebs_volume_type",
        &["GENERAL_PURPOSE_SSD", "THROUGHPUT_OPTIMIZED_HDD"],
    ),
    (
        "/data_security_mode",
        &[
            "DATA_SECURITY_MODE_AUTO",
            "DATA_SECURITY_MODE_DEDICATED",
            "DATA_SECURITY_MODE_STANDARD",
            "LEGACY_PASSTHROUGH",
            "LEGACY_SINGLE_USER",
            "LEGACY_SINGLE_USER_STANDARD",
            "LEGACY_TABLE_ACL",
            "NONE",
            "SINGLE_USER",
            "USER_ISOLATION",
        ],
    ),
    ("/runtime_engine", &["NULL", "STANDARD", "PHOTON"]),
];

/// The spec rules of `create` and `edit` beyond the basic ones of [`validate_spec`].
fn check_spec(spec: &Value) -> Result<(), Box<Response>> {
    // An unknown enum value. The rule: the values of the SDK's enums (ENUMS); the wording is
    // [unverified] (the server's JSON parser rejects the value).
    for (pointer, values) in ENUMS {
        if let Some(v) = spec.pointer(pointer) {
            let ok = v.as_str().is_some_and(|v| values.contains(&v));
            if !ok {
                let field = pointer.trim_start_matches('/').replace('/', ".");
                return Err(refused(ApiError::invalid(format!(
                    "Invalid value {v} for {field}: expected one of {}",
                    values.join(", ")
                ))));
            }
        }
    }
    // spark_version and node types must exist in the workspace (spark-versions,
    // list-node-types). Bodies: recorded (fixtures).
    if let Some(v) = opt_str(spec, "spark_version") {
        if !SPARK_VERSIONS.iter().any(|(key, _)| *key == v) {
            return Err(recorded(
                "cluster_invalid_spark_version",
                &[("SPARK_VERSION", v)],
            ));
        }
    }
    let supported: Vec<&str> = NODE_TYPES.iter().map(|n| n.0).collect();
    for field in ["node_type_id", "driver_node_type_id"] {
        if let Some(v) = opt_str(spec, field) {
            if !supported.contains(&v) {
                return Err(recorded(
                    "cluster_unsupported_node_type",
                    &[("NODE_TYPE", v), ("SUPPORTED", &supported.join(", "))],
                ));
            }
        }
    }
    let aws = spec.get("aws_attributes");
    let int = |key: &str| aws.and_then(|a| a.get(key)).and_then(Value::as_i64);
    // EBS: "Users can choose up to 10 volumes"; size "For general purpose SSD, this value must be
    // within the range 100 - 4096. For throughput optimized HDD, this value must be within the
    // range 500 - 4096" (databricks-sdk-py 0.167 `AwsAttributes.ebs_volume_count` and
    // `.ebs_volume_size`; the Clusters API reference; Terraform provider
    // `docs/resources/cluster.md`). Wording [unverified].
    if let Some(count) = int("ebs_volume_count") {
        if !(0..=10).contains(&count) {
            return Err(refused(ApiError::invalid(format!(
                "ebs_volume_count must be between 0 and 10, got {count}"
            ))));
        }
    }
    if let Some(size) = int("ebs_volume_size") {
        let kind = aws
            .and_then(|a| opt_str(a, "ebs_volume_type"))
            .unwrap_or("GENERAL_PURPOSE_SSD");
        let range = if kind == "THROUGHPUT_OPTIMIZED_HDD" {
            500..=4096
        } else {
            100..=4096
        };
        if !range.contains(&size) {
            return Err(refused(ApiError::invalid(format!(
                "EBS volume size {size} GiB is out of range for {kind}: it must be within {} - {}",
                range.start(),
                range.end()
            ))));
        }
    }
    // "for safety, we enforce this field to be no more than 10000" (databricks-sdk-py 0.167
    // `AwsAttributes.spot_bid_price_percent`; Terraform provider `docs/resources/cluster.md`).
    // Wording [unverified].
    if let Some(bid) = int("spot_bid_price_percent") {
        if !(1..=10000).contains(&bid) {
            return Err(refused(ApiError::invalid(format!(
                "spot_bid_price_percent must be between 1 and 10000, got {bid}"
            ))));
        }
    }
    // A dedicated cluster names its user: "Single user name if data_security_mode is
    // SINGLE_USER" (databricks-sdk-py 0.167 `ClusterSpec.single_user_name`; DEDICATED is the
    // same mode, `DataSecurityMode`); "This field is required when using data_security_mode
    // set to SINGLE_USER" (Terraform provider `docs/resources/cluster.md`). Wording
    // [unverified].
    if let Some(mode) = opt_str(spec, "data_security_mode") {
        if echoed_mode(mode) == "SINGLE_USER"
            && opt_str(spec, "single_user_name").is_none_or(str::is_empty)
        {
            return Err(refused(ApiError::invalid(format!(
                "single_user_name is required when data_security_mode is {mode}"
            ))));
        }
    }
    Ok(())
}

/// `GET /api/2.1/clusters/list`: one page (module docs).
fn page(inner: &Inner, all: Vec<Value>, query: Option<&str>) -> Result<Value, ApiError> {
    let size = match query_param(query, "page_size") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::invalid(format!("Invalid page_size: {v}")))?,
        None => inner.config.cluster_list_page_size.max(1),
    };
    let start = match query_param(query, "page_token") {
        Some(t) if !t.is_empty() => t
            .strip_prefix("cl-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= all.len())
            .ok_or_else(|| ApiError::invalid(format!("Invalid page_token: {t}")))?,
        _ => 0,
    };
    let end = (start + size).min(all.len());
    let mut out = json!({});
    if start < end {
        out["clusters"] = json!(all[start..end]);
    }
    if end < all.len() {
        out["next_page_token"] = json!(format!("cl-{end}"));
    }
    if start > 0 {
        out["prev_page_token"] = json!(format!("cl-{}", start.saturating_sub(size)));
    }
    Ok(out)
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

/// The spec of a `create` or `edit` body, or the API's refusal of it (a body that does not
/// parse, no node type, a spec [`check_spec`] refuses).
fn checked_spec(body: &[u8]) -> Result<Value, Box<Response>> {
    let spec = parse_body(body).map_err(|e| Box::new(refuse(e)))?;
    if opt_str(&spec, "node_type_id").is_none() && opt_str(&spec, "instance_pool_id").is_none() {
        return Err(Box::new(
            real_errors::get("cluster_missing_node_type_id").response(),
        ));
    }
    check_spec(&spec)?;
    Ok(spec)
}

async fn create(State(inner): State<Shared>, body: Bytes) -> Response {
    let spec = match checked_spec(&body) {
        Ok(s) => s,
        Err(refusal) => return *refusal,
    };
    run(|| {
        let mut store = inner.store();
        validate_spec(&inner, &store, &spec)?;
        compute_blocked(&inner, &store)?;
        let digits = store.numeric_id(6);
        let id = format!("0619-{digits:06}-{}", store.hex(8));
        let mut body = stored(&spec);
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
        super::permissions::cluster_created(&mut store, &inner.config.client_id, &id);
        Ok(json!({"cluster_id": id}))
    })
}

/// The refusal of classic compute while a workspace update settles (module docs; wording
/// **\[unverified\]**).
fn compute_blocked(inner: &Inner, store: &Store) -> Result<(), ApiError> {
    match store.compute_blocked_by_update(inner.config.compute_blocked_after_update) {
        Some(workspace_id) => Err(ApiError::invalid_state(format!(
            "Workspace {workspace_id} was updated recently: clusters cannot be created or started until the update has settled"
        ))),
        None => Ok(()),
    }
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

/// A spec as the server keeps (and echoes) it: the access mode under its legacy alias, `AUTO`
/// resolved (module docs).
fn stored(spec: &Value) -> Value {
    let mut body = spec.clone();
    if let Some(mode) = opt_str(spec, "data_security_mode") {
        let echoed = match mode {
            "DATA_SECURITY_MODE_AUTO" if opt_str(spec, "single_user_name").is_some() => {
                "SINGLE_USER"
            }
            "DATA_SECURITY_MODE_AUTO" => "USER_ISOLATION",
            other => echoed_mode(other),
        }
        .to_owned();
        body["data_security_mode"] = json!(echoed);
    }
    body
}

async fn edit(State(inner): State<Shared>, body: Bytes) -> Response {
    let spec = match checked_spec(&body) {
        Ok(s) => s,
        Err(refusal) => return *refusal,
    };
    run(|| {
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
        if state == "RUNNING" {
            // The edit restarts it: compute again.
            compute_blocked(&inner, &store)?;
        }
        let old = store.clusters[idx].body.clone();
        // first_on_demand "cannot currently be mutated over the lifetime of a cluster"
        // (databricks-sdk-py 0.167 `AwsAttributes.first_on_demand`; the Clusters API
        // reference; Terraform provider `docs/resources/cluster.md`: "cannot be mutated over
        // the lifetime of a cluster"). An edit that leaves it out keeps it; one that changes
        // it is refused.
        // Wording [unverified].
        let first = |c: &Value| c.pointer("/aws_attributes/first_on_demand").cloned();
        let (was, wanted) = (first(&old), first(&spec));
        if wanted.is_some() && wanted != was {
            return Err(ApiError::invalid(format!(
                "aws_attributes.first_on_demand cannot be changed on an existing cluster ({} to {}): create a new cluster",
                was.unwrap_or(json!(1)),
                wanted.unwrap_or_default()
            )));
        }
        let mut body = stored(&spec);
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

async fn list(
    State(inner): State<Shared>,
    uri: axum::http::Uri,
    RawQuery(query): RawQuery,
) -> Response {
    let clusters: Vec<Value> = inner
        .store()
        .clusters
        .iter()
        .map(|c| c.body.clone())
        .collect();
    if uri.path().starts_with("/api/2.0/") {
        return respond(Ok(if clusters.is_empty() {
            json!({})
        } else {
            json!({"clusters": clusters})
        }));
    }
    respond(page(&inner, clusters, query.as_deref()))
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
        let gone = store.clusters.remove(idx);
        store.cluster_acls.remove(gone.id());
        Ok(json!({}))
    })
}

async fn start(State(inner): State<Shared>, body: Bytes) -> Response {
    run(|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        let idx = find(&store, &body)?;
        compute_blocked(&inner, &store)?;
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

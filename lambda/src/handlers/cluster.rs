//! `Custom::DatabricksCluster` (reference §3.3): create with the declared spec, then wait until
//! it is `RUNNING` (or terminated after it had started: an auto-termination is no failure);
//! update with `edit` (the full spec; a running cluster restarts, so wait again); delete with
//! `permanent-delete` (unpinning first when needed), tolerant of absence.
//!
//! Cluster names are not unique, so the provider tags each cluster with the ownership mark
//! ([`mark::TAG_KEY`] = [`mark::mark`], one mechanism for every handler) and a retried Create
//! adopts only a cluster with that name and mark. A same-named cluster without the mark is
//! somebody else's: it is never adopted, edited or deleted (the Create makes a new cluster, as
//! names need not be unique). A cluster that fails to start during a Create is deleted before
//! the FAILED answer.
//!
//! Create-only fields (`Cluster`'s `create_only` list, read through
//! [`create_only_changes`]): `aws_attributes.first_on_demand` "cannot currently be mutated over
//! the lifetime of a cluster" (databricks-sdk-py 0.167 `service/compute.py`, `AwsAttributes`;
//! the Clusters API reference says the same), and the workspace. An Update that changes one
//! makes a new cluster (new id; CloudFormation deletes the old one); it is never sent in an
//! edit.
//!
//! Access modes: the server echoes the legacy names of the access modes
//! (`DATA_SECURITY_MODE_DEDICATED` as `SINGLE_USER`, `DATA_SECURITY_MODE_STANDARD` as
//! `USER_ISOLATION`: "legacy alias", databricks-sdk-py 0.167 `DataSecurityMode`; the Terraform
//! provider suppresses exactly these diffs, and `DATA_SECURITY_MODE_AUTO` coming back as
//! `SINGLE_USER` or `USER_ISOLATION`, in `DataSecurityModeDiffSuppressFunc`,
//! `clusters/resource_cluster.go`), so the "already applied" checks compare modes by
//! [`canonical_mode`] and take a concrete mode for `AUTO`. A dedicated (single-user)
//! cluster needs `single_user_name` ("Single user name if data_security_mode is
//! `SINGLE_USER`", same file, `ClusterSpec.single_user_name`): the provider refuses one without
//! it before calling.
//!
//! `StartOnCreate` false (the environment while its network is asleep): `clusters/create`
//! always starts the cluster, so the provider terminates it at once (`clusters/delete`, which
//! only stops it) and waits for `TERMINATED`, for a new and an adopted cluster alike; a spec
//! change terminates a cluster that is not `TERMINATED` before the `edit`, which then leaves
//! it terminated. The property is not part of the spec: an Update that changes only it (a sleep
//! or a wake) makes no call. The Terraform provider treats its own non-spec cluster attributes
//! the same way (`no_wait`, `is_pinned` are in `clusterConfigFieldsToIgnore`,
//! `clusters/resource_cluster.go`), and terminates a cluster it had to start for a library
//! change once done ("was in TERMINATED state, so terminating it again", same file).
//!
//! `UserGroups` (when present): the cluster's permissions are converged for them
//! (`handlers::cluster_permissions`) once the cluster's id is known on a Create, and before the
//! edit on an Update (also when only the groups changed, which needs no edit). Absent: the
//! permissions are not touched.

use cdkrs_databricks::{self as db, ClusterAttr, Lenient, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::cluster_permissions;
use super::{
    create_only_changes, data, deleted, done, find_or_create, mark, read_progress, required, text,
    Context, Ctx, HandlerError, Resource, Step, StepResult,
};
use crate::client::{with_query, ApiError, ErrorKind, Method};
use crate::event::Request;

/// The handler.
pub(crate) struct Cluster;

type Props = db::Cluster<Runtime>;

/// Pages of `clusters/list` read when looking for a cluster, at most (a guard against a server
/// that never stops paging).
const MAX_PAGES: usize = 1000;

/// What a long cluster operation is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    /// A new cluster starting.
    Create,
    /// A new (or adopted) cluster terminating right after the create (`StartOnCreate` false).
    Terminate,
    /// A cluster terminating before an edit that must not restart it (`StartOnCreate` false).
    TerminateForEdit,
    /// An `edit` refused while the cluster was busy: try it again.
    Edit,
    /// An edited cluster restarting.
    Restart,
    /// A `create` refused with `INVALID_STATE` (classic compute is refused for a while after a
    /// workspace update: "After the workspace has been updated, you cannot use or create
    /// clusters for another 20 minutes", databricks-sdk-go `service/provisioning/interface.go`,
    /// WorkspacesService.Update): try the create again at the next poll, within the resource's
    /// `ServiceTimeout`. `cluster_id` is the cluster being replaced, or empty.
    CreateLater,
}

/// The progress of a long operation.
#[derive(Debug, Serialize, Deserialize)]
struct Progress {
    phase: Phase,
    cluster_id: String,
}

fn wait(phase: Phase, cluster_id: &str) -> StepResult {
    Ok(Step::Wait(json!(Progress {
        phase,
        cluster_id: cluster_id.to_owned()
    })))
}

fn finished(cluster_id: &str) -> StepResult {
    done(
        cluster_id,
        data([(ClusterAttr::ClusterId, cluster_id.to_owned())]),
    )
}

/// Whether a cluster may be left starting: `StartOnCreate`, true when absent.
fn starts(p: &Props) -> bool {
    !matches!(p.start_on_create, Some(Lenient(false)))
}

/// The current name of an access mode: the legacy aliases the server echoes
/// (`SINGLE_USER`, `USER_ISOLATION`) and the names they alias
/// (`DATA_SECURITY_MODE_DEDICATED`, `DATA_SECURITY_MODE_STANDARD`) are one mode each
/// (databricks-sdk-py 0.167 `service/compute.py`, `DataSecurityMode`: "The following modes are
/// legacy aliases for the above modes").
pub(crate) fn canonical_mode(mode: &str) -> &str {
    match mode {
        "SINGLE_USER" => "DATA_SECURITY_MODE_DEDICATED",
        "USER_ISOLATION" => "DATA_SECURITY_MODE_STANDARD",
        other => other,
    }
}

/// Whether an access mode is dedicated to one principal (`single_user_name` required).
fn is_dedicated(mode: &str) -> bool {
    canonical_mode(mode) == "DATA_SECURITY_MODE_DEDICATED"
}

/// Refuses properties Databricks would refuse, before any call: a dedicated cluster without
/// `SingleUserName`.
fn check(p: &Props) -> Result<(), HandlerError> {
    if let Some(mode) = p.data_security_mode.as_deref().filter(|m| is_dedicated(m)) {
        if p.single_user_name
            .as_deref()
            .is_none_or(|n| n.trim().is_empty())
        {
            return Err(HandlerError::Invalid(format!(
                "DataSecurityMode {mode} is a dedicated (single-user) access mode and needs \
                 SingleUserName: set it to the user or service principal the cluster is for, or \
                 choose another DataSecurityMode"
            )));
        }
    }
    Ok(())
}

/// `spec` with its access mode under its current name (for comparisons only).
fn canonical(spec: &Value) -> Value {
    let mut s = spec.clone();
    if let Some(mode) = s.get("data_security_mode").and_then(Value::as_str) {
        let mode = canonical_mode(mode).to_owned();
        s["data_security_mode"] = json!(mode);
    }
    s
}

/// The API's cluster spec for `p` (the nested shapes of the create/edit body).
fn spec(p: &Props, tag: &str) -> Value {
    let a = &p.aws_attributes;
    let mut aws = json!({
        "availability": a.availability,
        "first_on_demand": *a.first_on_demand,
        "spot_bid_price_percent": *a.spot_bid_price_percent,
    });
    for (key, value) in [
        ("instance_profile_arn", &a.instance_profile_arn),
        ("zone_id", &a.zone_id),
        ("ebs_volume_type", &a.ebs_volume_type),
    ] {
        if let Some(v) = value {
            aws[key] = json!(v);
        }
    }
    for (key, value) in [
        ("ebs_volume_count", a.ebs_volume_count),
        ("ebs_volume_size", a.ebs_volume_size),
    ] {
        if let Some(v) = value {
            aws[key] = json!(*v);
        }
    }
    let tags = mark::tagged(p.custom_tags.as_ref(), tag);
    let mut body = json!({
        "cluster_name": p.cluster_name,
        "spark_version": p.spark_version,
        "node_type_id": p.node_type_id,
        "autoscale": {
            "min_workers": *p.autoscale.min_workers,
            "max_workers": *p.autoscale.max_workers,
        },
        "autotermination_minutes": *p.autotermination_minutes,
        "aws_attributes": aws,
        "custom_tags": tags,
    });
    if let Some(driver) = &p.driver_node_type_id {
        body["driver_node_type_id"] = json!(driver);
    }
    if let Some(conf) = p.spark_conf.as_ref().filter(|c| !c.is_empty()) {
        body["spark_conf"] = json!(conf);
    }
    if let Some(log) = &p.cluster_log_conf {
        let mut s3 = json!({
            "destination": log.destination,
            "region": log.region,
            "enable_encryption": *log.enable_encryption,
        });
        if let Some(t) = &log.encryption_type {
            s3["encryption_type"] = json!(t);
        }
        if let Some(k) = &log.kms_key {
            s3["kms_key"] = json!(k);
        }
        body["cluster_log_conf"] = json!({"s3": s3});
    }
    if let Some(scripts) = p.init_scripts.as_ref().filter(|s| !s.is_empty()) {
        body["init_scripts"] = Value::Array(
            scripts
                .iter()
                .map(|s| json!({"workspace": {"destination": s.workspace.destination}}))
                .collect(),
        );
    }
    if let Some(mode) = &p.data_security_mode {
        body["data_security_mode"] = json!(mode);
    }
    if let Some(user) = &p.single_user_name {
        body["single_user_name"] = json!(user);
    }
    body
}

/// A cluster of this name carrying this resource's mark (not `exclude`). `clusters/list` (API
/// 2.1) pages: `page_token` asks for the page a `next_page_token` named, and a page without one
/// is the last (databricks-sdk-py 0.167 `ClustersAPI.list`, which loops the same way).
async fn lookup(
    ctx: &Ctx,
    p: &Props,
    tag: &str,
    exclude: Option<&str>,
) -> Result<Option<Value>, HandlerError> {
    let url = p.workspace_url.as_str();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let path = match &token {
            Some(t) => with_query("/api/2.1/clusters/list", &[("page_token", t)]),
            None => "/api/2.1/clusters/list".to_owned(),
        };
        let page = ctx
            .client
            .workspace(url, Method::GET, &path, None)
            .await
            .context(|| format!("listing the clusters of {url}"))?;
        let found = page
            .get("clusters")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|c| {
                        text(c, "cluster_name").as_deref() == Some(p.cluster_name.as_str())
                            && c.pointer(&format!("/custom_tags/{}", mark::TAG_KEY))
                                .and_then(Value::as_str)
                                == Some(tag)
                            && text(c, "cluster_id").as_deref() != exclude
                    })
                    .cloned()
            });
        if found.is_some() {
            return Ok(found);
        }
        let next = text(&page, "next_page_token").filter(|t| !t.is_empty());
        if next.is_none() || next == token {
            break;
        }
        token = next;
    }
    Ok(None)
}

/// Creates (or adopts) the cluster of `p` and starts waiting for it.
async fn start_create(
    ctx: &Ctx,
    request: &Request,
    p: &Props,
    exclude: Option<&str>,
) -> StepResult {
    check(p)?;
    let tag = mark::mark(request);
    let body = spec(p, &tag);
    let url = p.workspace_url.as_str();
    let created = find_or_create(
        ctx,
        || lookup(ctx, p, &tag, exclude),
        || async {
            ctx.client
                .workspace_create(url, "/api/2.1/clusters/create", &body)
                .await
                .context(|| format!("creating cluster {}", p.cluster_name))
        },
    )
    .await;
    let (cluster, adopted) = match created {
        Ok(found) => found,
        Err(HandlerError::Api { source, .. }) if source.kind == ErrorKind::InvalidState => {
            tracing::warn!(error = %source, "cluster creation refused for now; trying again at the next poll");
            return wait(Phase::CreateLater, exclude.unwrap_or_default());
        }
        Err(e) => return Err(e),
    };
    let id = required(&cluster, "cluster_id", "creating a cluster")?;
    if let Err(e) =
        cluster_permissions::converge(ctx, url, &id, p.user_groups.as_deref(), None).await
    {
        if adopted {
            return Err(e);
        }
        // Nobody else will delete it: CloudFormation skips a failed Create's Delete.
        let note = match permanent_delete(ctx, url, &id).await {
            Ok(()) => "; the cluster was deleted".to_owned(),
            Err(d) => format!("; deleting it failed too: {d}"),
        };
        return Err(HandlerError::Invalid(format!("{e}{note}")));
    }
    if starts(p) {
        tracing::info!(cluster_id = %id, adopted, "cluster starting");
        return wait(Phase::Create, &id);
    }
    // Not to be left starting (the network is asleep): stop it now, whatever state an adopted
    // cluster is in (a no-op when it is already terminating or terminated).
    if let Err(e) = terminate(ctx, url, &id).await {
        // Nobody else will delete it: CloudFormation skips a failed Create's Delete.
        let note = match permanent_delete(ctx, url, &id).await {
            Ok(()) => "; the cluster was deleted".to_owned(),
            Err(d) => format!("; deleting it failed too: {d}"),
        };
        return Err(HandlerError::Invalid(format!("{e}{note}")));
    }
    tracing::info!(cluster_id = %id, adopted, "cluster created; terminating it (StartOnCreate false)");
    wait(Phase::Terminate, &id)
}

/// Terminates a cluster (`clusters/delete`). Databricks stops it asynchronously (`TERMINATING`,
/// then `TERMINATED`), keeps its id and spec, and does nothing to a cluster that is already
/// `TERMINATING` or `TERMINATED` (databricks-sdk-go `service/compute/interface.go`,
/// `ClustersService.Delete`; reference §3.3), so sending it again is safe.
async fn terminate(ctx: &Ctx, url: &str, id: &str) -> Result<(), HandlerError> {
    ctx.client
        .workspace(
            url,
            Method::POST,
            "/api/2.1/clusters/delete",
            Some(&json!({"cluster_id": id})),
        )
        .await
        .context(|| format!("terminating cluster {id}"))?;
    Ok(())
}

/// `clusters/get`: the one endpoint whose 400 "Cluster … does not exist" is classified as
/// not-found (see `client::error::classify`).
async fn get(ctx: &Ctx, url: &str, id: &str) -> Result<Value, ApiError> {
    let path = with_query("/api/2.1/clusters/get", &[("cluster_id", id)]);
    ctx.client.workspace(url, Method::GET, &path, None).await
}

/// Whether a call on cluster `id` failed because the cluster is gone. Only `clusters/get`
/// reports absence as such; another endpoint's 400 `INVALID_PARAMETER_VALUE` "… does not exist"
/// is a bad parameter unless `clusters/get` confirms the cluster is gone.
async fn gone(ctx: &Ctx, url: &str, id: &str, error: &ApiError) -> bool {
    if error.is_not_found() {
        return true;
    }
    if error.kind != ErrorKind::InvalidParameter || !error.message.contains("does not exist") {
        return false;
    }
    matches!(get(ctx, url, id).await, Err(e) if e.is_not_found())
}

/// Sends the full spec with `edit`: a busy cluster is tried again later, a missing one made anew.
///
/// With `StartOnCreate` false the edit must not restart the cluster. Databricks restarts a
/// cluster edited while `RUNNING` and leaves one edited while `TERMINATED` terminated ("If a
/// cluster is updated while in a `TERMINATED` state, it will remain `TERMINATED`",
/// databricks-sdk-go `service/compute/interface.go`, `ClustersService.Edit`; the same text in
/// the Clusters API reference), so a cluster in any other state is terminated first
/// ([`Phase::TerminateForEdit`]) and edited once it is `TERMINATED`.
async fn edit(ctx: &Ctx, request: &Request, p: &Props, id: &str) -> StepResult {
    check(p)?;
    let mut body = spec(p, &mark::mark(request));
    if !starts(p) {
        match get(ctx, &p.workspace_url, id).await {
            Ok(c) if text(&c, "state").as_deref() == Some("TERMINATED") => {
                if applied(&c, &body) {
                    tracing::info!(cluster_id = %id, "the cluster already has the spec; no edit");
                    return finished(id);
                }
            }
            Ok(c) => {
                let state = text(&c, "state").unwrap_or_default();
                tracing::info!(cluster_id = %id, state = %state, "terminating the cluster before editing it (StartOnCreate false)");
                terminate(ctx, &p.workspace_url, id).await?;
                return wait(Phase::TerminateForEdit, id);
            }
            Err(e) if e.is_not_found() => return start_create(ctx, request, p, Some(id)).await,
            Err(e) => return Err(e).context(|| format!("reading cluster {id}")),
        }
    } else {
        // Already applied (a retried Update whose edit went through): no second edit, which
        // would restart the cluster again.
        match get(ctx, &p.workspace_url, id).await {
            Ok(c) if applied(&c, &body) => {
                tracing::info!(cluster_id = %id, "the cluster already has the spec; no edit");
                return match text(&c, "state").as_deref() {
                    Some("RUNNING" | "TERMINATED") => finished(id),
                    _ => wait(Phase::Restart, id),
                };
            }
            Ok(_) => {}
            Err(e) if e.is_not_found() => return start_create(ctx, request, p, Some(id)).await,
            Err(e) => return Err(e).context(|| format!("reading cluster {id}")),
        }
    }
    body["cluster_id"] = json!(id);
    match ctx
        .client
        .workspace(
            &p.workspace_url,
            Method::POST,
            "/api/2.1/clusters/edit",
            Some(&body),
        )
        .await
    {
        Ok(_) => wait(Phase::Restart, id),
        Err(e) if e.kind == ErrorKind::InvalidState => {
            tracing::info!(cluster_id = %id, error = %e, "cluster busy; editing later");
            wait(Phase::Edit, id)
        }
        Err(e) if gone(ctx, &p.workspace_url, id, &e).await => {
            start_create(ctx, request, p, Some(id)).await
        }
        Err(e) => Err(e).context(|| format!("editing cluster {id}")),
    }
}

/// Whether the cluster `actual` (a `clusters/get` answer) already has the spec `wanted`, access
/// mode aliases aside (and `DATA_SECURITY_MODE_AUTO` satisfied by the mode the server chose).
fn applied(actual: &Value, wanted: &Value) -> bool {
    let actual = canonical(actual);
    let mut wanted = canonical(wanted);
    let chosen = actual.get("data_security_mode").and_then(Value::as_str);
    if wanted.get("data_security_mode").and_then(Value::as_str) == Some("DATA_SECURITY_MODE_AUTO")
        && matches!(
            chosen,
            Some("DATA_SECURITY_MODE_DEDICATED" | "DATA_SECURITY_MODE_STANDARD")
        )
    {
        wanted["data_security_mode"] = json!(chosen);
    }
    contains(&actual, &wanted)
}

/// Whether `actual` holds every member of `wanted` (objects recursively; other values equal):
/// the cluster already has the spec, whatever else the API reports about it.
fn contains(actual: &Value, wanted: &Value) -> bool {
    match (actual, wanted) {
        (Value::Object(a), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| a.get(k).is_some_and(|av| contains(av, wv))),
        (a, w) => a == w,
    }
}

/// Permanently deletes a cluster, unpinning it first when needed; absence is success.
async fn permanent_delete(ctx: &Ctx, url: &str, id: &str) -> Result<(), HandlerError> {
    let body = json!({"cluster_id": id});
    let path = "/api/2.1/clusters/permanent-delete";
    match ctx
        .client
        .workspace(url, Method::POST, path, Some(&body))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if gone(ctx, url, id, &e).await => Ok(()),
        Err(e) if e.kind == ErrorKind::InvalidState && e.message.contains("unpin") => {
            ctx.client
                .workspace(url, Method::POST, "/api/2.1/clusters/unpin", Some(&body))
                .await
                .context(|| format!("unpinning cluster {id}"))?;
            match ctx
                .client
                .workspace(url, Method::POST, path, Some(&body))
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if gone(ctx, url, id, &e).await => Ok(()),
                Err(e) => Err(e).context(|| format!("deleting cluster {id}")),
            }
        }
        Err(e) => Err(e).context(|| format!("deleting cluster {id}")),
    }
}

/// Why a cluster terminated, from `termination_reason` and `state_message`.
fn termination(c: &Value) -> String {
    let reason = c.get("termination_reason");
    let code = reason.and_then(|r| text(r, "code")).unwrap_or_default();
    let kind = reason.and_then(|r| text(r, "type")).unwrap_or_default();
    let message = text(c, "state_message").unwrap_or_default();
    let parameters = reason
        .and_then(|r| r.get("parameters"))
        .map(Value::to_string)
        .unwrap_or_default();
    format!("{code} {kind} {message} {parameters}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a terminated cluster had been running (a normal stop, not a failed start).
fn had_started(c: &Value) -> bool {
    c.get("last_restarted_time").is_some()
        || c.pointer("/termination_reason/type")
            .and_then(Value::as_str)
            == Some("SUCCESS")
}

/// One poll of a long operation.
async fn poll(ctx: &Ctx, request: &Request, p: &Props, progress: Value) -> StepResult {
    let Progress { phase, cluster_id } = read_progress(progress)?;
    if phase == Phase::CreateLater {
        let replacing = Some(cluster_id.as_str()).filter(|id| !id.is_empty());
        return start_create(ctx, request, p, replacing).await;
    }
    if phase == Phase::Edit {
        // An edit refused as busy may have been applied already (its first answer was lost and
        // the retry found the cluster restarting): re-sending it would restart the cluster again.
        if let Ok(current) = get(ctx, &p.workspace_url, &cluster_id).await {
            if applied(&current, &spec(p, &mark::mark(request))) {
                tracing::info!(cluster_id = %cluster_id, "edit already applied; waiting for the restart");
                return wait(Phase::Restart, &cluster_id);
            }
        }
        return edit(ctx, request, p, &cluster_id).await;
    }
    let url = p.workspace_url.as_str();
    let cluster = match get(ctx, url, &cluster_id).await {
        Ok(c) => c,
        Err(e) if e.is_not_found() => {
            let doing = match phase {
                Phase::Terminate | Phase::TerminateForEdit => "terminating",
                _ => "starting",
            };
            return Err(HandlerError::Invalid(format!(
                "cluster {cluster_id} disappeared while it was {doing}"
            )));
        }
        Err(e) => return Err(e).context(|| format!("reading cluster {cluster_id}")),
    };
    let state = text(&cluster, "state");
    if matches!(phase, Phase::Terminate | Phase::TerminateForEdit) {
        return match state.as_deref() {
            Some("TERMINATED") if phase == Phase::Terminate => finished(&cluster_id),
            Some("TERMINATED") => edit(ctx, request, p, &cluster_id).await,
            Some("TERMINATING") => wait(phase, &cluster_id),
            // Still PENDING, or started again meanwhile: terminate (again; a no-op if the
            // first request is being applied).
            _ => {
                terminate(ctx, url, &cluster_id).await?;
                wait(phase, &cluster_id)
            }
        };
    }
    match state.as_deref() {
        Some("RUNNING") => finished(&cluster_id),
        Some("TERMINATED" | "TERMINATING" | "ERROR") => {
            if phase == Phase::Restart || had_started(&cluster) {
                return finished(&cluster_id);
            }
            let why = termination(&cluster);
            // Nobody else will delete it: CloudFormation skips a failed Create's Delete.
            let note = match permanent_delete(ctx, url, &cluster_id).await {
                Ok(()) => "; the cluster was deleted".to_owned(),
                Err(e) => format!("; deleting it failed too: {e}"),
            };
            Err(HandlerError::Invalid(format!(
                "cluster {cluster_id} did not start: {why}{note}"
            )))
        }
        // PENDING, RESTARTING, RESIZING, UNKNOWN or a state this provider does not know.
        _ => wait(phase, &cluster_id),
    }
}

impl Resource for Cluster {
    type Props = Props;
    type Attr = ClusterAttr;
    const ATTRS: &'static [ClusterAttr] = ClusterAttr::ALL;

    async fn create(
        ctx: &Ctx,
        request: &Request,
        p: &Props,
        progress: Option<Value>,
    ) -> StepResult {
        match progress {
            Some(progress) => poll(ctx, request, p, progress).await,
            None => start_create(ctx, request, p, None).await,
        }
    }

    async fn update(
        ctx: &Ctx,
        request: &Request,
        id: &str,
        p: &Props,
        old: &Props,
        progress: Option<Value>,
    ) -> StepResult {
        if let Some(progress) = progress {
            return poll(ctx, request, p, progress).await;
        }
        let replaced = create_only_changes::<db::Cluster<db::Template>>(request);
        if !replaced.is_empty() {
            // A create-only field changed (another workspace, `first_on_demand`): a new
            // cluster with a new id; CloudFormation deletes the old one. Never an edit.
            tracing::info!(cluster_id = %id, fields = ?replaced, "create-only fields changed; replacing the cluster");
            return start_create(ctx, request, p, Some(id)).await;
        }
        match cluster_permissions::converge(
            ctx,
            &p.workspace_url,
            id,
            p.user_groups.as_deref(),
            old.user_groups.as_deref(),
        )
        .await
        {
            Ok(()) => {}
            // Gone behind the stack's back: the edit below makes it again (and converges the
            // new cluster's permissions).
            Err(HandlerError::Api { source, .. }) if source.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let tag = mark::mark(request);
        if canonical(&spec(p, &tag)) == canonical(&spec(old, &tag)) {
            // The spec Databricks holds is the same; at most `StartOnCreate` changed (a sleep or
            // a wake), which concerns creation only. No call: a sleep or a wake never starts,
            // stops or restarts the cluster.
            return finished(id);
        }
        edit(ctx, request, p, id).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, p: &Props, _: Option<Value>) -> StepResult {
        permanent_delete(ctx, &p.workspace_url, id).await?;
        deleted(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_uses_the_api_shapes() {
        let p: Props = serde_json::from_value(json!({
            "WorkspaceUrl": "https://w.cloud.databricks.com",
            "ClusterName": "shared", "SparkVersion": "15.4.x-scala2.12", "NodeTypeId": "r5.xlarge",
            "Autoscale": {"MinWorkers": "1", "MaxWorkers": "4"},
            "AutoterminationMinutes": "30",
            "AwsAttributes": {"Availability": "SPOT_WITH_FALLBACK", "FirstOnDemand": "1", "SpotBidPricePercent": "100", "EbsVolumeCount": "1"},
            "CustomTags": {"Owner": "platform"},
            "ClusterLogConf": {"Destination": "s3://logs/c", "Region": "eu-west-1", "EnableEncryption": "true", "EncryptionType": "sse-kms", "KmsKey": "arn:k"},
            "InitScripts": [{"Workspace": {"Destination": "/cdkrs/init/sse.sh"}}]
        }))
        .expect("props");
        let s = spec(&p, "stack/Cluster");
        assert_eq!(s["autoscale"], json!({"min_workers": 1, "max_workers": 4}));
        assert_eq!(s["autotermination_minutes"], 30);
        assert_eq!(s["aws_attributes"]["ebs_volume_count"], 1);
        assert_eq!(
            s["custom_tags"],
            json!({"Owner": "platform", "cdkrs-owner": "stack/Cluster"})
        );
        assert_eq!(
            s["cluster_log_conf"],
            json!({"s3": {"destination": "s3://logs/c", "region": "eu-west-1", "enable_encryption": true, "encryption_type": "sse-kms", "kms_key": "arn:k"}})
        );
        assert_eq!(
            s["init_scripts"],
            json!([{"workspace": {"destination": "/cdkrs/init/sse.sh"}}])
        );
        assert!(s.get("spark_conf").is_none());
    }

    #[test]
    fn start_on_create_is_no_part_of_the_spec() {
        let base = json!({
            "WorkspaceUrl": "https://w.cloud.databricks.com",
            "ClusterName": "shared", "SparkVersion": "15.4.x-scala2.12", "NodeTypeId": "r5.xlarge",
            "Autoscale": {"MinWorkers": "1", "MaxWorkers": "4"},
            "AutoterminationMinutes": "30",
            "AwsAttributes": {"Availability": "SPOT_WITH_FALLBACK", "FirstOnDemand": "1", "SpotBidPricePercent": "100"}
        });
        let with = |v: Option<&str>| -> Props {
            let mut j = base.clone();
            if let Some(v) = v {
                j["StartOnCreate"] = json!(v);
            }
            serde_json::from_value(j).expect("props")
        };
        let (absent, awake, asleep) = (with(None), with(Some("true")), with(Some("false")));
        assert!(starts(&absent), "absent: Databricks' behaviour, started");
        assert!(starts(&awake));
        assert!(!starts(&asleep));
        let s = spec(&asleep, "stack/Cluster");
        assert_eq!(s, spec(&awake, "stack/Cluster"));
        assert_eq!(s, spec(&absent, "stack/Cluster"));
        assert!(!s.to_string().to_lowercase().contains("start"), "{s}");
    }

    #[test]
    fn echoed_access_mode_aliases_count_as_applied() {
        let actual = json!({"data_security_mode": "SINGLE_USER", "autoscale": {"max_workers": 4}});
        for mode in [
            "SINGLE_USER",
            "DATA_SECURITY_MODE_DEDICATED",
            "DATA_SECURITY_MODE_AUTO",
        ] {
            assert!(
                applied(&actual, &json!({"data_security_mode": mode})),
                "{mode}"
            );
        }
        assert!(!applied(
            &actual,
            &json!({"data_security_mode": "DATA_SECURITY_MODE_STANDARD"})
        ));
        assert!(!applied(
            &actual,
            &json!({"data_security_mode": "USER_ISOLATION"})
        ));
        assert!(applied(
            &json!({"data_security_mode": "USER_ISOLATION"}),
            &json!({"data_security_mode": "DATA_SECURITY_MODE_STANDARD"})
        ));
        assert!(!applied(
            &json!({"data_security_mode": "NONE"}),
            &json!({"data_security_mode": "DATA_SECURITY_MODE_AUTO"})
        ));
    }

    #[test]
    fn phases_keep_their_wire_names() {
        // Progress written by an earlier version of the provider still reads.
        for (phase, name) in [
            (Phase::Create, "create"),
            (Phase::Terminate, "terminate"),
            (Phase::TerminateForEdit, "terminate_for_edit"),
            (Phase::Edit, "edit"),
            (Phase::Restart, "restart"),
            (Phase::CreateLater, "create_later"),
        ] {
            assert_eq!(serde_json::to_value(phase).unwrap(), json!(name));
            assert_eq!(serde_json::from_value::<Phase>(json!(name)).unwrap(), phase);
        }
    }

    #[test]
    fn a_stopped_cluster_that_ran_is_no_failure() {
        assert!(had_started(&json!({"last_restarted_time": 1})));
        assert!(had_started(
            &json!({"termination_reason": {"type": "SUCCESS", "code": "INACTIVITY"}})
        ));
        assert!(!had_started(
            &json!({"termination_reason": {"type": "CLOUD_FAILURE", "code": "AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE"}})
        ));
        assert_eq!(
            termination(
                &json!({"state_message": "no capacity", "termination_reason": {"type": "CLOUD_FAILURE", "code": "X"}})
            ),
            "X CLOUD_FAILURE no capacity"
        );
    }
}

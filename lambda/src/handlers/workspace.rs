//! `Custom::DatabricksWorkspace` (reference §2.7): create, then wait (across polls and, when
//! needed, invocations) until it is `RUNNING` and its hostname answers; update with a PATCH of
//! the fields the account API changes in place, or a new workspace (replacement) when a
//! create-only property changed; delete, then wait until GET answers 404.
//!
//! - **Ownership.** Every workspace the provider creates carries the custom tag
//!   [`mark::TAG_KEY`] with this resource's mark (`custom_tags` is accepted on AWS workspaces
//!   of every tier: Terraform's `docs/resources/mws_workspaces.md`, "(Optional / AWS only)").
//!   A retried Create adopts only a workspace with that mark; a workspace of the same name
//!   without it fails the Create ([`mark::foreign`]) and is never changed or deleted. A PATCH of
//!   `custom_tags` keeps the mark (the API replaces the whole map).
//! - **What changes in place.** The create-only properties are the data of
//!   `Workspace::<Template>::CREATE_ONLY` (what `cdkrs diff` reads): WorkspaceName, AwsRegion,
//!   StorageConfigurationId, PricingTier, DeploymentName. A change of one of them replaces the
//!   workspace, and CloudFormation then deletes the old one with everything in it; AwsRegion and
//!   StorageConfigurationId of a FAILED workspace are PATCHed instead, as the API allows. A
//!   replacement that keeps DeploymentName fails before creating anything (deployment names are
//!   unique among live workspaces). A change the API cannot make and that no replacement
//!   should make silently (changing or removing a storage key once set, removing the
//!   managed-services key) fails with the reason.
//! - **No update while classic compute runs.** The account API refuses to update a running
//!   workspace while any classic compute runs in it (update-workspace documentation). Before
//!   the PATCH the provider lists the workspace's clusters and, when any is not `TERMINATED`,
//!   fails naming each one and the fix (terminate them, deploy again). It never stops a cluster
//!   itself, not even the stack's own: that would kill whatever runs on it, and clusters may
//!   not start again for about 20 minutes after the update. (Pools and classic SQL warehouses
//!   are not listed; the API's own refusal of the PATCH reports them.)
//! - **The update is checked.** After the workspace is `RUNNING` again, the provider reads it
//!   back and fails, naming the field, the wanted and the actual value, when a patched field
//!   did not take (a storage-key change can revert silently).
//! - **Deployment names.** On an account with a deployment-name prefix the stored name is
//!   `<prefix>-<name>`; the `DeploymentName` and `WorkspaceUrl` attributes use the returned name.
//!
//! A workspace that ends `FAILED` during a Create is deleted before the FAILED answer:
//! CloudFormation never deletes a resource whose Create failed.

use cdkrs_constructs::custom_resource::CustomAttribute;
use cdkrs_databricks::{self as db, Runtime, WorkspaceAttr};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    check_account, create_only_changes, data, deleted, done, find_or_create, items, mark,
    read_progress, required, text, Context, Ctx, Data, HandlerError, Resource, Step, StepResult,
};
use crate::client::{with_query, Method};
use crate::event::Request;

/// The handler.
pub(crate) struct Workspace;

type Props = db::Workspace<Runtime>;

/// What a long workspace operation is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    /// A new workspace provisioning (a Create, or a replacement during an Update).
    Create,
    /// A PATCH being applied.
    Update,
    /// A deletion finishing.
    Delete,
}

/// The progress of a long operation.
#[derive(Debug, Serialize, Deserialize)]
struct Progress {
    phase: Phase,
    workspace_id: i64,
    /// The fields a PATCH sent, checked once the workspace is `RUNNING` again.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    patched: Map<String, Value>,
}

fn wait(phase: Phase, workspace_id: i64) -> StepResult {
    wait_checking(phase, workspace_id, Map::new())
}

fn wait_checking(phase: Phase, workspace_id: i64, patched: Map<String, Value>) -> StepResult {
    Ok(Step::Wait(json!(Progress {
        phase,
        workspace_id,
        patched,
    })))
}

fn parse_id(id: &str) -> Result<i64, HandlerError> {
    id.parse()
        .map_err(|_| HandlerError::Invalid(format!("{id:?} is not a workspace id")))
}

/// The attributes of a workspace as GET returns it.
fn attributes(ctx: &Ctx, ws: &Value) -> Result<Data, HandlerError> {
    let id = required(ws, "workspace_id", "reading the workspace")?;
    let deployment = required(ws, "deployment_name", "reading the workspace")?;
    Ok(data([
        (WorkspaceAttr::WorkspaceId, id),
        (
            WorkspaceAttr::WorkspaceUrl,
            ctx.client.workspace_url(&deployment),
        ),
        (WorkspaceAttr::DeploymentName, deployment),
    ]))
}

/// The custom tags of `p` with the ownership mark.
fn tags_with_mark(p: &Props, mark: &str) -> Value {
    json!(mark::tagged(p.custom_tags.as_ref(), mark))
}

/// The create body for `p`, marked with `mark`.
fn create_body(p: &Props, mark: &str) -> Value {
    let mut body = json!({
        "workspace_name": p.workspace_name,
        "aws_region": p.aws_region,
        "credentials_id": p.credentials_id,
        "storage_configuration_id": p.storage_configuration_id,
        "network_id": p.network_id,
    });
    let optional = [
        (
            "storage_customer_managed_key_id",
            &p.storage_customer_managed_key_id,
        ),
        (
            "managed_services_customer_managed_key_id",
            &p.managed_services_customer_managed_key_id,
        ),
        ("pricing_tier", &p.pricing_tier),
        ("deployment_name", &p.deployment_name),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            body[key] = json!(v);
        }
    }
    body["custom_tags"] = tags_with_mark(p, mark);
    body
}

/// Whether a workspace is being deleted (it neither counts as ours nor as someone else's).
fn leaving(w: &Value) -> bool {
    matches!(
        text(w, "workspace_status").as_deref(),
        Some("CANCELLING" | "CANCELLED")
    )
}

/// Finds the workspace an earlier attempt of this resource made: the one carrying `mark`
/// (other than `exclude`, the workspace being replaced). A workspace of the same name and
/// region without the mark belongs to someone else: the Create fails and leaves it alone.
async fn lookup(
    ctx: &Ctx,
    p: &Props,
    mark: &str,
    exclude: Option<i64>,
) -> Result<Option<Value>, HandlerError> {
    let all = ctx
        .client
        .account(Method::GET, "/workspaces", None)
        .await
        .context(|| "listing workspaces".to_owned())?;
    let candidates: Vec<Value> = items(all, "workspaces")
        .into_iter()
        .filter(|w| !leaving(w) && w.get("workspace_id").and_then(Value::as_i64) != exclude)
        .collect();
    let ours = |w: &&Value| {
        w.get("custom_tags")
            .and_then(|t| t.get(mark::TAG_KEY))
            .and_then(Value::as_str)
            == Some(mark)
    };
    if let Some(found) = candidates.iter().find(ours) {
        return Ok(Some(found.clone()));
    }
    if let Some(other) = candidates.iter().find(|w| {
        text(w, "workspace_name").as_deref() == Some(p.workspace_name.as_str())
            && text(w, "aws_region").as_deref() == Some(p.aws_region.as_str())
    }) {
        return Err(mark::foreign(
            "workspace",
            &p.workspace_name,
            &format!(
                "workspace_id {}",
                text(other, "workspace_id").unwrap_or_default()
            ),
        ));
    }
    Ok(None)
}

/// Creates (or adopts) the workspace for `p` and starts waiting for it.
async fn start_create(ctx: &Ctx, request: &Request, p: &Props, exclude: Option<i64>) -> StepResult {
    let mark = mark::mark(request);
    let body = create_body(p, &mark);
    let (ws, adopted) = find_or_create(
        ctx,
        || lookup(ctx, p, &mark, exclude),
        || async {
            ctx.client
                .account_create("/workspaces", &body)
                .await
                .context(|| format!("creating workspace {}", p.workspace_name))
        },
    )
    .await?;
    let id = ws
        .get("workspace_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            HandlerError::Invalid("the workspace create answer has no workspace_id".into())
        })?;
    tracing::info!(workspace_id = id, adopted, "workspace provisioning");
    wait(Phase::Create, id)
}

/// Why a workspace is not running: its status message and its network's errors.
async fn explain(ctx: &Ctx, ws: &Value) -> String {
    let status = text(ws, "workspace_status").unwrap_or_default();
    let mut reason = match text(ws, "workspace_status_message").filter(|m| !m.is_empty()) {
        Some(message) => format!("{status}: {message}"),
        None => status,
    };
    if let Some(network_id) = text(ws, "network_id") {
        if let Ok(net) = ctx
            .client
            .account(Method::GET, &format!("/networks/{network_id}"), None)
            .await
        {
            let errors: Vec<String> = net
                .get("error_messages")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                text(e, "error_type").unwrap_or_default(),
                                text(e, "error_message").unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !errors.is_empty() {
                reason.push_str(&format!(
                    "; network {network_id} reports: {}",
                    errors.join("; ")
                ));
            }
        }
    }
    reason
}

/// One poll of a long operation.
async fn poll(ctx: &Ctx, progress: Value) -> StepResult {
    let Progress {
        phase,
        workspace_id: id,
        patched,
    } = read_progress(progress)?;
    let got = ctx
        .client
        .account(Method::GET, &format!("/workspaces/{id}"), None)
        .await;
    let ws = match (phase, got) {
        (Phase::Delete, Err(e)) if e.is_not_found() => return deleted(&id.to_string()),
        (_, Err(e)) => return Err(e).context(|| format!("reading workspace {id}")),
        (Phase::Delete, Ok(_)) => return wait(Phase::Delete, id),
        (_, Ok(ws)) => ws,
    };
    match text(&ws, "workspace_status").as_deref() {
        Some("RUNNING") => {
            let attrs = attributes(ctx, &ws)?;
            let url = attrs
                .get(WorkspaceAttr::WorkspaceUrl.name())
                .cloned()
                .unwrap_or_default();
            if phase == Phase::Create && !ctx.client.is_reachable(&url).await {
                tracing::info!(workspace_id = id, url = %url, "running, not reachable yet");
                return wait(phase, id);
            }
            check_took(id, &patched, &ws)?;
            done(id.to_string(), attrs)
        }
        Some("NOT_PROVISIONED" | "PROVISIONING") | None => wait_checking(phase, id, patched),
        Some("FAILED" | "BANNED" | "CANCELLING" | "CANCELLED") => {
            let reason = explain(ctx, &ws).await;
            if phase == Phase::Create {
                // Nobody else will delete it: CloudFormation skips a failed Create's Delete.
                let cleanup = ctx
                    .client
                    .account(Method::DELETE, &format!("/workspaces/{id}"), None)
                    .await;
                let note = match cleanup {
                    Ok(_) => "; the failed workspace was deleted".to_owned(),
                    Err(e) if e.is_not_found() => String::new(),
                    Err(e) => format!("; deleting the failed workspace failed too: {e}"),
                };
                return Err(HandlerError::Invalid(format!(
                    "workspace {id} did not start: {reason}{note}"
                )));
            }
            Err(HandlerError::Invalid(format!(
                "the update left workspace {id} {reason}"
            )))
        }
        // A status this provider does not know: keep waiting (bounded by ServiceTimeout).
        Some(_) => wait_checking(phase, id, patched),
    }
}

/// Fails when a field a PATCH sent did not take: Databricks can undo a storage-key change
/// silently (update-workspace documentation). For `custom_tags`, every sent tag must be there.
fn check_took(id: i64, patched: &Map<String, Value>, ws: &Value) -> Result<(), HandlerError> {
    for (field, wanted) in patched {
        let actual = ws.get(field).unwrap_or(&Value::Null);
        let took = match (wanted, actual) {
            (Value::Object(want), Value::Object(got)) => {
                want.iter().all(|(k, v)| got.get(k) == Some(v))
            }
            _ => wanted == actual,
        };
        if !took {
            return Err(HandlerError::Invalid(format!(
                "the update of workspace {id} did not take: {field} is {actual} instead of {wanted}; Databricks undoes a storage-key change silently when it cannot use the key: check that the key policy lets the workspace use it, then deploy again"
            )));
        }
    }
    Ok(())
}

/// The property names of create-only pointers (`/properties/X` → `X`).
fn names(pointers: &[&'static str]) -> Vec<&'static str> {
    pointers
        .iter()
        .map(|p| p.strip_prefix("/properties/").unwrap_or(p))
        .collect()
}

/// The PATCH body for an update that needs no new workspace: the changed fields the API
/// changes in place, or an error for a change it cannot make. `mark` stays in the tags.
fn plan_patch(
    p: &Props,
    old: &Props,
    failed: bool,
    mark: &str,
) -> Result<Map<String, Value>, HandlerError> {
    let mut patch = Map::new();
    let refuse = |prop: &str, why: &str| {
        Err(HandlerError::Invalid(format!(
            "{prop} cannot change from {:?} to {:?}: {why}",
            match prop {
                "StorageCustomerManagedKeyId" => old.storage_customer_managed_key_id.as_deref(),
                _ => old.managed_services_customer_managed_key_id.as_deref(),
            },
            match prop {
                "StorageCustomerManagedKeyId" => p.storage_customer_managed_key_id.as_deref(),
                _ => p.managed_services_customer_managed_key_id.as_deref(),
            }
        )))
    };
    for (key, new, before) in [
        ("credentials_id", &p.credentials_id, &old.credentials_id),
        ("network_id", &p.network_id, &old.network_id),
    ] {
        if new != before {
            patch.insert(key.to_owned(), json!(new));
        }
    }
    if failed {
        // A FAILED workspace also takes a new region and storage configuration.
        for (key, new, before) in [
            ("aws_region", &p.aws_region, &old.aws_region),
            (
                "storage_configuration_id",
                &p.storage_configuration_id,
                &old.storage_configuration_id,
            ),
        ] {
            if new != before {
                patch.insert(key.to_owned(), json!(new));
            }
        }
    }
    match (
        &old.managed_services_customer_managed_key_id,
        &p.managed_services_customer_managed_key_id,
    ) {
        (a, b) if a == b => {}
        (_, Some(new)) => {
            patch.insert(
                "managed_services_customer_managed_key_id".to_owned(),
                json!(new),
            );
        }
        (Some(_), None) => {
            return refuse(
                "ManagedServicesCustomerManagedKeyId",
                "the account API can add or rotate the managed-services key but not remove it",
            )
        }
        (None, None) => {}
    }
    match (
        &old.storage_customer_managed_key_id,
        &p.storage_customer_managed_key_id,
    ) {
        (a, b) if a == b => {}
        (None, Some(new)) => {
            patch.insert("storage_customer_managed_key_id".to_owned(), json!(new));
        }
        (Some(_), Some(new)) if failed => {
            patch.insert("storage_customer_managed_key_id".to_owned(), json!(new));
        }
        _ => {
            return refuse(
                "StorageCustomerManagedKeyId",
                "the account API sets a workspace's storage key once and never replaces or removes it; keep the key (rotate its material in KMS instead)",
            )
        }
    }
    let tags = tags_with_mark(p, mark);
    if tags != tags_with_mark(old, mark) {
        patch.insert("custom_tags".to_owned(), tags);
    }
    Ok(patch)
}

/// Fails, naming each one and the fix, when a cluster of the workspace is not `TERMINATED`:
/// the account API refuses to update a running workspace while classic compute runs in it.
async fn check_no_classic_compute(
    ctx: &Ctx,
    workspace_id: i64,
    ws: &Value,
    fields: &str,
) -> Result<(), HandlerError> {
    let deployment = required(ws, "deployment_name", "reading the workspace")?;
    let url = ctx.client.workspace_url(&deployment);
    let mut running = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..50 {
        let mut query = vec![("page_size", "100")];
        if let Some(t) = &token {
            query.push(("page_token", t.as_str()));
        }
        let page = ctx
            .client
            .workspace(
                &url,
                Method::GET,
                &with_query("/api/2.1/clusters/list", &query),
                None,
            )
            .await
            .context(|| {
                format!("listing the clusters of workspace {workspace_id} before updating it")
            })?;
        token = text(&page, "next_page_token").filter(|t| !t.is_empty());
        for c in items(page, "clusters") {
            let state = text(&c, "state").unwrap_or_default();
            if state != "TERMINATED" {
                running.push(format!(
                    "{} {:?} ({state})",
                    text(&c, "cluster_id").unwrap_or_default(),
                    text(&c, "cluster_name").unwrap_or_default()
                ));
            }
        }
        if token.is_none() {
            break;
        }
    }
    if running.is_empty() {
        return Ok(());
    }
    Err(HandlerError::Invalid(format!(
        "workspace {workspace_id} cannot be updated ({fields}) while classic compute runs in it: cluster {}. The account API refuses to update a running workspace until all its classic compute is stopped. Terminate these clusters (the Compute page, or clusters/delete, which only stops them), deploy again, and start them again about 20 minutes after the update; cdkrs does not stop them for you, since that would end whatever runs on them",
        running.join(", cluster ")
    )))
}

impl Resource for Workspace {
    type Props = Props;
    type Attr = WorkspaceAttr;
    const ATTRS: &'static [WorkspaceAttr] = WorkspaceAttr::ALL;

    async fn create(
        ctx: &Ctx,
        request: &Request,
        p: &Props,
        progress: Option<Value>,
    ) -> StepResult {
        if let Some(progress) = progress {
            return poll(ctx, progress).await;
        }
        check_account(ctx, &p.account_id)?;
        start_create(ctx, request, p, None).await
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
            return poll(ctx, progress).await;
        }
        check_account(ctx, &p.account_id)?;
        let workspace_id = parse_id(id)?;
        let current = ctx
            .client
            .account(Method::GET, &format!("/workspaces/{workspace_id}"), None)
            .await
            .context(|| format!("reading workspace {workspace_id}"))?;
        let status = text(&current, "workspace_status").unwrap_or_default();
        let failed = status == "FAILED";
        let replace: Vec<&'static str> =
            names(&create_only_changes::<db::Workspace<db::Template>>(request))
                .into_iter()
                .filter(|n| !(failed && matches!(*n, "AwsRegion" | "StorageConfigurationId")))
                .collect();
        if !replace.is_empty() {
            if let Some(name) = p
                .deployment_name
                .as_ref()
                .filter(|n| Some(*n) == old.deployment_name.as_ref())
            {
                return Err(HandlerError::Invalid(format!(
                    "changing {} needs a new workspace, but DeploymentName {name:?} stays the same and deployment names are unique among live workspaces: the new workspace cannot be created while workspace {workspace_id} lives. Change DeploymentName too (CloudFormation then deletes workspace {workspace_id} and everything in it), or undo the change",
                    replace.join(", ")
                )));
            }
            tracing::info!(workspace_id, fields = %replace.join(","), "replacing workspace");
            return start_create(ctx, request, p, Some(workspace_id)).await;
        }
        let patch = plan_patch(p, old, failed, &mark::mark(request))?;
        if patch.is_empty() {
            return done(id, attributes(ctx, &current)?);
        }
        let mask: Vec<&str> = patch.keys().map(String::as_str).collect();
        let fields = mask.join(",");
        if status == "RUNNING" {
            check_no_classic_compute(ctx, workspace_id, &current, &fields).await?;
        }
        let path = with_query(
            &format!("/workspaces/{workspace_id}"),
            &[("update_mask", &fields)],
        );
        tracing::info!(workspace_id, fields = %fields, "patching workspace");
        ctx.client
            .account(Method::PATCH, &path, Some(&Value::Object(patch.clone())))
            .await
            .context(|| format!("updating {} of workspace {workspace_id}", mask.join(", ")))?;
        wait_checking(Phase::Update, workspace_id, patch)
    }

    async fn delete(
        ctx: &Ctx,
        _: &Request,
        id: &str,
        _: &Props,
        progress: Option<Value>,
    ) -> StepResult {
        if let Some(progress) = progress {
            return poll(ctx, progress).await;
        }
        let workspace_id = parse_id(id)?;
        match ctx
            .client
            .account(Method::DELETE, &format!("/workspaces/{workspace_id}"), None)
            .await
        {
            Ok(_) => wait(Phase::Delete, workspace_id),
            Err(e) if e.is_not_found() => deleted(id),
            Err(e) => Err(e).context(|| format!("deleting workspace {workspace_id}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Auth, DatabricksClient, RetryPolicy};

    fn props() -> Props {
        serde_json::from_value(json!({
            "AccountId": "a", "WorkspaceName": "w", "AwsRegion": "eu-west-1",
            "CredentialsId": "c1", "StorageConfigurationId": "s1", "NetworkId": "n1",
            "CustomTags": {"k": "v"}
        }))
        .expect("props")
    }

    const MARK: &str = "cdkrs-0123456789ab";

    #[test]
    fn running_workspaces_patch_credentials_network_keys_and_tags_keeping_the_mark() {
        let old = props();
        let mut new = props();
        new.credentials_id = "c2".into();
        new.network_id = "n2".into();
        new.storage_customer_managed_key_id = Some("k1".into());
        new.custom_tags = Some([("k".to_owned(), "w".to_owned())].into());
        let patch = plan_patch(&new, &old, false, MARK).expect("a patch");
        assert_eq!(
            Value::Object(patch),
            json!({"credentials_id": "c2", "network_id": "n2", "storage_customer_managed_key_id": "k1", "custom_tags": {"k": "w", "cdkrs-owner": MARK}})
        );
        // Removing every user tag leaves the mark: a change the API makes.
        let mut untagged = props();
        untagged.custom_tags = None;
        let patch = plan_patch(&untagged, &old, false, MARK).expect("a patch");
        assert_eq!(
            Value::Object(patch),
            json!({"custom_tags": {"cdkrs-owner": MARK}})
        );
    }

    #[test]
    fn a_storage_key_once_set_is_neither_replaced_nor_removed() {
        let mut keyed = props();
        keyed.storage_customer_managed_key_id = Some("k1".into());
        let mut rekeyed = props();
        rekeyed.storage_customer_managed_key_id = Some("k2".into());
        let e = plan_patch(&rekeyed, &keyed, false, MARK)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "StorageCustomerManagedKeyId cannot change from Some(\"k1\") to Some(\"k2\")"
            ),
            "{e}"
        );
        assert!(plan_patch(&props(), &keyed, false, MARK).is_err());
        // A failed workspace that never ran may take another one (the API decides).
        assert!(plan_patch(&rekeyed, &keyed, true, MARK).is_ok());
    }

    #[test]
    fn a_failed_workspace_patches_region_and_storage() {
        let old = props();
        let mut new = props();
        new.storage_configuration_id = "s2".into();
        let patch = plan_patch(&new, &old, true, MARK).expect("a patch");
        assert_eq!(patch.get("storage_configuration_id"), Some(&json!("s2")));
    }

    #[test]
    fn a_change_that_did_not_take_names_field_wanted_and_actual() {
        let patched = json!({"storage_customer_managed_key_id": "k2", "custom_tags": {"a": "1"}});
        let Value::Object(patched) = patched else {
            unreachable!()
        };
        let e = check_took(
            7,
            &patched,
            &json!({"storage_customer_managed_key_id": "k1", "custom_tags": {"a": "1", "b": "2"}}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("storage_customer_managed_key_id is \"k1\" instead of \"k2\""),
            "{e}"
        );
        assert!(check_took(
            7,
            &patched,
            &json!({"storage_customer_managed_key_id": "k2", "custom_tags": {"a": "1"}})
        )
        .is_ok());
    }

    #[test]
    fn attributes_use_the_deployment_name_databricks_returned() {
        let client = DatabricksClient::new(Auth::new("a", "c", "secret"), RetryPolicy::default())
            .expect("client");
        let ctx = Ctx::with_client(client);
        let data = attributes(
            &ctx,
            &json!({"workspace_id": 1234567890123456_i64, "deployment_name": "acme-prod"}),
        )
        .expect("attributes");
        assert_eq!(data["DeploymentName"], "acme-prod");
        assert_eq!(
            data["WorkspaceUrl"],
            "https://acme-prod.cloud.databricks.com"
        );
    }

    #[test]
    fn the_create_only_properties_are_the_ones_the_api_cannot_patch() {
        use cdkrs_constructs::custom_resource::CustomResourceProperties;
        assert_eq!(
            names(db::Workspace::<db::Template>::CREATE_ONLY),
            [
                "WorkspaceName",
                "AwsRegion",
                "StorageConfigurationId",
                "PricingTier",
                "DeploymentName"
            ]
        );
    }
}

//! `Custom::DatabricksWorkspace` (reference §2.7): create, then wait (across polls and, when
//! needed, invocations) until it is `RUNNING` and its hostname answers; update with a PATCH of
//! the fields that may change in its current state, or a new workspace (replacement) when
//! another field changed; delete, then wait until GET answers 404.
//!
//! A workspace that ends `FAILED` during a Create is deleted before the FAILED answer:
//! CloudFormation never deletes a resource whose Create failed.

use cdkrs_constructs::custom_resource::CustomAttribute;
use cdkrs_constructs::databricks::{self as db, Runtime, WorkspaceAttr};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    check_account, data, deleted, done, find_or_create, items, read_progress, required, text,
    Context, Ctx, Data, HandlerError, Resource, Step, StepResult,
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
}

fn wait(phase: Phase, workspace_id: i64) -> StepResult {
    Ok(Step::Wait(json!(Progress {
        phase,
        workspace_id
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

/// The create body for `p`.
fn create_body(p: &Props) -> Value {
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
    if let Some(tags) = p.custom_tags.as_ref().filter(|t| !t.is_empty()) {
        body["custom_tags"] = json!(tags);
    }
    body
}

/// Finds a workspace an earlier attempt made: same name and region, not being deleted.
async fn lookup(ctx: &Ctx, p: &Props, exclude: Option<i64>) -> Result<Option<Value>, HandlerError> {
    let all = ctx
        .client
        .account(Method::GET, "/workspaces", None)
        .await
        .context(|| "listing workspaces".to_owned())?;
    Ok(items(all, "workspaces").into_iter().find(|w| {
        text(w, "workspace_name").as_deref() == Some(p.workspace_name.as_str())
            && text(w, "aws_region").as_deref() == Some(p.aws_region.as_str())
            && !matches!(
                text(w, "workspace_status").as_deref(),
                Some("CANCELLING" | "CANCELLED")
            )
            && w.get("workspace_id").and_then(Value::as_i64) != exclude
    }))
}

/// Creates (or adopts) the workspace for `p` and starts waiting for it.
async fn start_create(ctx: &Ctx, p: &Props, exclude: Option<i64>) -> StepResult {
    let body = create_body(p);
    let (ws, adopted) = find_or_create(
        ctx,
        || lookup(ctx, p, exclude),
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
            done(id.to_string(), attrs)
        }
        Some("NOT_PROVISIONED" | "PROVISIONING") | None => wait(phase, id),
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
        Some(_) => wait(phase, id),
    }
}

/// The fields that changed and may be PATCHed in `status`, or the names of the properties
/// whose change needs a new workspace.
fn plan_update(
    p: &Props,
    old: &Props,
    status: &str,
) -> Result<Map<String, Value>, Vec<&'static str>> {
    let failed = status == "FAILED";
    let mut patch = Map::new();
    let mut replace = Vec::new();
    let mut field = |key: &str,
                     prop: &'static str,
                     new: Option<&String>,
                     before: Option<&String>,
                     allowed: bool| {
        if new == before {
            return;
        }
        match new {
            Some(v) if allowed => {
                patch.insert(key.to_owned(), json!(v));
            }
            _ => replace.push(prop),
        }
    };
    field(
        "workspace_name",
        "WorkspaceName",
        Some(&p.workspace_name),
        Some(&old.workspace_name),
        false,
    );
    field(
        "aws_region",
        "AwsRegion",
        Some(&p.aws_region),
        Some(&old.aws_region),
        failed,
    );
    field(
        "credentials_id",
        "CredentialsId",
        Some(&p.credentials_id),
        Some(&old.credentials_id),
        true,
    );
    field(
        "storage_configuration_id",
        "StorageConfigurationId",
        Some(&p.storage_configuration_id),
        Some(&old.storage_configuration_id),
        failed,
    );
    field(
        "network_id",
        "NetworkId",
        Some(&p.network_id),
        Some(&old.network_id),
        true,
    );
    field(
        "managed_services_customer_managed_key_id",
        "ManagedServicesCustomerManagedKeyId",
        p.managed_services_customer_managed_key_id.as_ref(),
        old.managed_services_customer_managed_key_id.as_ref(),
        true,
    );
    field(
        "storage_customer_managed_key_id",
        "StorageCustomerManagedKeyId",
        p.storage_customer_managed_key_id.as_ref(),
        old.storage_customer_managed_key_id.as_ref(),
        // Running: only adding one; failed: any change (the API refuses it if it ever ran).
        failed || old.storage_customer_managed_key_id.is_none(),
    );
    field(
        "pricing_tier",
        "PricingTier",
        p.pricing_tier.as_ref(),
        old.pricing_tier.as_ref(),
        false,
    );
    field(
        "deployment_name",
        "DeploymentName",
        p.deployment_name.as_ref(),
        old.deployment_name.as_ref(),
        false,
    );
    if replace.is_empty() {
        let tags = p.custom_tags.clone().unwrap_or_default();
        let old_tags = old.custom_tags.clone().unwrap_or_default();
        if tags != old_tags && !tags.is_empty() {
            patch.insert("custom_tags".to_owned(), json!(tags));
        }
        Ok(patch)
    } else {
        Err(replace)
    }
}

impl Resource for Workspace {
    type Props = Props;
    type Attr = WorkspaceAttr;
    const ATTRS: &'static [WorkspaceAttr] = WorkspaceAttr::ALL;

    async fn create(ctx: &Ctx, _: &Request, p: &Props, progress: Option<Value>) -> StepResult {
        if let Some(progress) = progress {
            return poll(ctx, progress).await;
        }
        check_account(ctx, &p.account_id)?;
        start_create(ctx, p, None).await
    }

    async fn update(
        ctx: &Ctx,
        _: &Request,
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
        if old.custom_tags.as_ref().is_some_and(|t| !t.is_empty())
            && p.custom_tags.as_ref().is_none_or(|t| t.is_empty())
        {
            return Err(HandlerError::Invalid(
                "a workspace's custom tags can be changed but not all removed: keep at least one tag".into(),
            ));
        }
        match plan_update(p, old, &status) {
            Ok(patch) if patch.is_empty() => done(id, attributes(ctx, &current)?),
            Ok(patch) => {
                let mask: Vec<&str> = patch.keys().map(String::as_str).collect();
                let path = with_query(
                    &format!("/workspaces/{workspace_id}"),
                    &[("update_mask", &mask.join(","))],
                );
                tracing::info!(workspace_id, fields = %mask.join(","), "patching workspace");
                ctx.client
                    .account(Method::PATCH, &path, Some(&Value::Object(patch.clone())))
                    .await
                    .context(|| {
                        format!("updating {} of workspace {workspace_id}", mask.join(", "))
                    })?;
                wait(Phase::Update, workspace_id)
            }
            Err(fields) => {
                tracing::info!(workspace_id, fields = %fields.join(","), "replacing workspace");
                start_create(ctx, p, Some(workspace_id)).await
            }
        }
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

    fn props() -> Props {
        serde_json::from_value(json!({
            "AccountId": "a", "WorkspaceName": "w", "AwsRegion": "eu-west-1",
            "CredentialsId": "c1", "StorageConfigurationId": "s1", "NetworkId": "n1",
            "CustomTags": {"k": "v"}
        }))
        .expect("props")
    }

    #[test]
    fn running_workspaces_patch_credentials_network_keys_and_tags() {
        let old = props();
        let mut new = props();
        new.credentials_id = "c2".into();
        new.network_id = "n2".into();
        new.storage_customer_managed_key_id = Some("k1".into());
        new.custom_tags = Some([("k".to_owned(), "w".to_owned())].into());
        let patch = plan_update(&new, &old, "RUNNING").expect("a patch");
        assert_eq!(
            Value::Object(patch),
            json!({"credentials_id": "c2", "network_id": "n2", "storage_customer_managed_key_id": "k1", "custom_tags": {"k": "w"}})
        );
    }

    #[test]
    fn other_changes_replace_unless_the_workspace_failed() {
        let old = props();
        let mut new = props();
        new.storage_configuration_id = "s2".into();
        assert_eq!(
            plan_update(&new, &old, "RUNNING"),
            Err(vec!["StorageConfigurationId"])
        );
        assert!(plan_update(&new, &old, "FAILED").is_ok());
        let mut renamed = props();
        renamed.workspace_name = "w2".into();
        renamed.pricing_tier = Some("ENTERPRISE".into());
        assert_eq!(
            plan_update(&renamed, &old, "FAILED"),
            Err(vec!["WorkspaceName", "PricingTier"])
        );
        let mut keyed = props();
        keyed.storage_customer_managed_key_id = Some("k1".into());
        let mut rekeyed = props();
        rekeyed.storage_customer_managed_key_id = Some("k2".into());
        assert_eq!(
            plan_update(&rekeyed, &keyed, "RUNNING"),
            Err(vec!["StorageCustomerManagedKeyId"])
        );
    }
}

//! `Custom::DatabricksWorkspaceAssignment` (reference §1.2): an account principal's permissions
//! in a workspace, set with an idempotent PUT. The physical id is `<workspace_id>/<principal_id>`;
//! another workspace or principal is a new assignment (replacement). Delete tolerates absence.
//!
//! The permission values are case-sensitive (`ADMIN`, `USER`: [`WorkspacePermission`]), and
//! the API silently ignores any other value; since the PUT replaces the principal's set, an
//! unsupported value would remove its permissions. The provider refuses such a value before
//! calling.

use cdkrs_databricks::{self as db, Runtime, WorkspaceAssignmentAttr, WorkspacePermission};
use serde_json::{json, Value};

use super::{check_account, data, deleted, done, Context, Ctx, HandlerError, Resource, StepResult};
use crate::client::Method;
use crate::event::Request;

/// The handler.
pub(crate) struct Assignment;

type Props = db::WorkspaceAssignment<Runtime>;

fn path(workspace_id: &str, principal_id: &str) -> String {
    format!("/workspaces/{workspace_id}/permissionassignments/principals/{principal_id}")
}

/// The allowed values, for messages: `ADMIN, USER`.
fn allowed() -> String {
    WorkspacePermission::ALL
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses an empty list or a value the API does not support (it would silently drop it and
/// leave the principal without permissions).
fn check_permissions(permissions: &[String]) -> Result<(), HandlerError> {
    if permissions.is_empty() {
        return Err(HandlerError::Invalid(format!(
            "Permissions is empty: an assignment needs one of {}",
            allowed()
        )));
    }
    if let Some(bad) = permissions
        .iter()
        .find(|v| WorkspacePermission::parse(v).is_none())
    {
        return Err(HandlerError::Invalid(format!(
            "Permissions value {bad:?} is not supported: the allowed values are {} (case-sensitive); Databricks would silently ignore it and leave the principal without these permissions",
            allowed()
        )));
    }
    Ok(())
}

/// Sets the permissions of `p`.
async fn put(ctx: &Ctx, p: &Props) -> StepResult {
    check_account(ctx, &p.account_id)?;
    check_permissions(&p.permissions)?;
    ctx.client
        .account(
            Method::PUT,
            &path(&p.workspace_id, &p.principal_id),
            Some(&json!({"permissions": p.permissions})),
        )
        .await
        .context(|| {
            format!(
                "assigning principal {} to workspace {}",
                p.principal_id, p.workspace_id
            )
        })?;
    done(
        format!("{}/{}", p.workspace_id, p.principal_id),
        data([(WorkspaceAssignmentAttr::PrincipalId, p.principal_id.clone())]),
    )
}

impl Resource for Assignment {
    type Props = Props;
    type Attr = WorkspaceAssignmentAttr;
    const ATTRS: &'static [WorkspaceAssignmentAttr] = WorkspaceAssignmentAttr::ALL;

    async fn create(ctx: &Ctx, _: &Request, p: &Props, _: Option<Value>) -> StepResult {
        put(ctx, p).await
    }

    async fn update(
        ctx: &Ctx,
        _: &Request,
        _: &str,
        p: &Props,
        _: &Props,
        _: Option<Value>,
    ) -> StepResult {
        put(ctx, p).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, p: &Props, _: Option<Value>) -> StepResult {
        let (workspace_id, principal_id) = id
            .split_once('/')
            .unwrap_or((p.workspace_id.as_str(), p.principal_id.as_str()));
        match ctx
            .client
            .account(Method::DELETE, &path(workspace_id, principal_id), None)
            .await
        {
            Ok(_) => deleted(id),
            Err(e) if e.is_not_found() => deleted(id),
            Err(e) => Err(e).context(|| format!("removing assignment {id}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_api_values_pass() {
        assert!(check_permissions(&["ADMIN".into(), "USER".into()]).is_ok());
        let e = check_permissions(&["admin".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"admin\"") && e.contains("ADMIN, USER"), "{e}");
        assert!(check_permissions(&[]).is_err());
    }
}

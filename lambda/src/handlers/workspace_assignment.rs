//! `Custom::DatabricksWorkspaceAssignment` (reference §1.2): an account principal's permissions
//! in a workspace, set with an idempotent PUT. The physical id is `<workspace_id>/<principal_id>`;
//! another workspace or principal is a new assignment (replacement). Delete tolerates absence.

use cdkrs_constructs::databricks::{self as db, Runtime, WorkspaceAssignmentAttr};
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

/// Sets the permissions of `p`.
async fn put(ctx: &Ctx, p: &Props) -> StepResult {
    check_account(ctx, &p.account_id)?;
    if p.permissions.is_empty() {
        return Err(HandlerError::Invalid(
            "Permissions is empty: an assignment needs USER or ADMIN".into(),
        ));
    }
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

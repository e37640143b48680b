//! `Custom::DatabricksMetastoreAssignment`: the workspace's Unity Catalog metastore, through the
//! Account API (databricks-sdk 0.167 `catalog.AccountMetastoreAssignmentsAPI` and
//! `AccountMetastoresAPI`, paths below `/api/2.0/accounts/{account_id}`):
//!
//! - **Create** reads the workspace's assignment (`GET /workspaces/{ws}/metastore`: "If no
//!   metastore is assigned to the workspace, the assignment will not be found and a 404
//!   returned"). An assigned metastore is used as it is: the account assigned it (automatic
//!   assignment, for accounts with a regional metastore) or somebody did, and this resource
//!   does not own that assignment. Otherwise it uses the account's metastore in `Region`
//!   (`GET /metastores`, `metastores[].region`; preferring one named `MetastoreName`), or creates
//!   one (`POST /metastores` with `metastore_info: {name, region}`: no storage root, since
//!   every catalog here has its own managed storage), and assigns it (`POST
//!   /workspaces/{ws}/metastores/{metastore_id}` with `metastore_assignment: {workspace_id,
//!   metastore_id}`; `default_catalog_name` is deprecated and left out).
//! - The physical id says whether this resource made the assignment: `<ws>/<metastore_id>`
//!   when it did, `<ws>/<metastore_id>/automatic` when it found one.
//! - **Delete** removes the assignment (`DELETE /workspaces/{ws}/metastores/{metastore_id}`)
//!   only when this resource made it; absence is success. **A metastore is never deleted**: it
//!   is account-wide and shared by every workspace of its region (and holds their catalogs).
//! - **Update**: another account, workspace or region is a new assignment (create-only, a
//!   replacement); otherwise the assignment is kept (and made again when it disappeared).
//!
//! A retried Create whose first attempt assigned a metastore and lost the answer finds it
//! assigned and takes it as found (`…/automatic`): the assignment then outlives the stack,
//! which is harmless (the workspace keeps its metastore) and never removes somebody else's.

use cdkrs_databricks::{self as db, MetastoreAssignmentAttr, Runtime};
use serde_json::{json, Value};

use super::{
    check_account, create_only_changes, data, deleted, done, find_or_create, items, required, text,
    Context, Ctx, HandlerError, Resource, StepResult,
};
use crate::client::Method;
use crate::event::Request;

/// The handler.
pub(crate) struct MetastoreAssignment;

type Props = db::MetastoreAssignment<Runtime>;

/// The suffix of the physical id of an assignment this resource found (and does not own).
const FOUND: &str = "automatic";

/// The workspace id as the API's integer.
fn workspace_id(p: &Props) -> Result<i64, HandlerError> {
    p.workspace_id.trim().parse().map_err(|_| {
        HandlerError::Invalid(format!(
            "WorkspaceId {:?} is not a workspace id (a number: the workspace's WorkspaceId attribute)",
            p.workspace_id
        ))
    })
}

/// The physical id and the answer for `metastore_id`, `owned` when this resource assigned it.
fn finished(ws: i64, metastore_id: &str, owned: bool) -> StepResult {
    let id = if owned {
        format!("{ws}/{metastore_id}")
    } else {
        format!("{ws}/{metastore_id}/{FOUND}")
    };
    done(
        id,
        data([(
            MetastoreAssignmentAttr::MetastoreId,
            metastore_id.to_owned(),
        )]),
    )
}

/// The metastore assigned to workspace `ws`, if any.
async fn assigned(ctx: &Ctx, ws: i64) -> Result<Option<String>, HandlerError> {
    match ctx
        .client
        .account(Method::GET, &format!("/workspaces/{ws}/metastore"), None)
        .await
    {
        Ok(answer) => Ok(answer
            .get("metastore_assignment")
            .and_then(|a| text(a, "metastore_id"))
            .filter(|id| !id.is_empty())),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e).context(|| format!("reading the metastore assignment of workspace {ws}")),
    }
}

/// The account's metastore in the region of `p`, if any (one named `MetastoreName` first).
async fn regional(ctx: &Ctx, p: &Props) -> Result<Option<Value>, HandlerError> {
    let all = ctx
        .client
        .account(Method::GET, "/metastores", None)
        .await
        .context(|| "listing the account's metastores".to_owned())?;
    let mut in_region: Vec<Value> = items(all, "metastores")
        .into_iter()
        .filter(|m| text(m, "region").as_deref() == Some(p.region.as_str()))
        .collect();
    in_region.sort_by_key(|m| text(m, "name").as_deref() != Some(p.metastore_name.as_str()));
    Ok(in_region.into_iter().next())
}

/// Assigns a metastore of the region (found or created) to the workspace.
async fn assign(ctx: &Ctx, p: &Props, ws: i64) -> StepResult {
    let body = json!({"metastore_info": {"name": p.metastore_name, "region": p.region}});
    let (metastore, found) = find_or_create(
        ctx,
        || regional(ctx, p),
        || async {
            ctx.client
                .account_create("/metastores", &body)
                .await
                .map(|answer| answer.get("metastore_info").cloned().unwrap_or(answer))
                .context(|| format!("creating metastore {} in {}", p.metastore_name, p.region))
        },
    )
    .await?;
    let metastore_id = required(&metastore, "metastore_id", "creating a metastore")?;
    tracing::info!(metastore_id = %metastore_id, found, workspace_id = ws, "assigning the metastore");
    let path = format!("/workspaces/{ws}/metastores/{metastore_id}");
    let assignment =
        json!({"metastore_assignment": {"workspace_id": ws, "metastore_id": metastore_id}});
    match ctx
        .client
        .account(Method::POST, &path, Some(&assignment))
        .await
    {
        Ok(_) => finished(ws, &metastore_id, true),
        // Assigned meanwhile (automatic assignment caught up, or an earlier attempt of this
        // event): use what is assigned now.
        Err(e) if e.is_already_exists() || e.kind == crate::client::ErrorKind::InvalidState => {
            match assigned(ctx, ws).await? {
                Some(now) if now == metastore_id => finished(ws, &now, true),
                Some(now) => finished(ws, &now, false),
                None => Err(e)
                    .context(|| format!("assigning metastore {metastore_id} to workspace {ws}")),
            }
        }
        Err(e) => {
            Err(e).context(|| format!("assigning metastore {metastore_id} to workspace {ws}"))
        }
    }
}

/// A Create: use an assigned metastore, else assign one of the region (found or created).
///
/// It does not wait for automatic assignment: when the account has a metastore in the region,
/// assigning it is what automatic assignment would do (an account has at most one metastore
/// per region, so an automatic assignment landing at the same time names the same metastore;
/// a refused POST is read back and used as found, see [`assign`]); when the account has none,
/// no automatic assignment can come. Waiting would cost every workspace of an account without
/// automatic assignment minutes for nothing.
async fn create(ctx: &Ctx, p: &Props) -> StepResult {
    check_account(ctx, &p.account_id)?;
    let ws = workspace_id(p)?;
    if let Some(metastore_id) = assigned(ctx, ws).await? {
        return finished(ws, &metastore_id, false);
    }
    assign(ctx, p, ws).await
}

/// The workspace and metastore of a physical id, and whether this resource made the assignment.
fn parse_id(id: &str) -> Option<(&str, &str, bool)> {
    let mut parts = id.split('/');
    let ws = parts.next().filter(|s| !s.is_empty())?;
    let metastore = parts.next().filter(|s| !s.is_empty())?;
    match (parts.next(), parts.next()) {
        (None, _) => Some((ws, metastore, true)),
        (Some(FOUND), None) => Some((ws, metastore, false)),
        _ => None,
    }
}

impl Resource for MetastoreAssignment {
    type Props = Props;
    type Attr = MetastoreAssignmentAttr;
    const ATTRS: &'static [MetastoreAssignmentAttr] = MetastoreAssignmentAttr::ALL;

    async fn create(ctx: &Ctx, _: &Request, p: &Props, _: Option<Value>) -> StepResult {
        create(ctx, p).await
    }

    async fn update(
        ctx: &Ctx,
        request: &Request,
        id: &str,
        p: &Props,
        _: &Props,
        _: Option<Value>,
    ) -> StepResult {
        check_account(ctx, &p.account_id)?;
        if create_only_changes::<db::MetastoreAssignment<db::Template>>(request).is_empty() {
            if let Some((ws, metastore_id, owned)) = parse_id(id) {
                let ws: i64 = ws.parse().unwrap_or_default();
                if assigned(ctx, ws).await?.as_deref() == Some(metastore_id) {
                    return finished(ws, metastore_id, owned);
                }
            }
        }
        create(ctx, p).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, _: &Props, _: Option<Value>) -> StepResult {
        let Some((ws, metastore_id, owned)) = parse_id(id) else {
            // Not an id this provider gives (a Create that failed before it had one).
            return deleted(id);
        };
        if !owned {
            tracing::info!(workspace_id = %ws, metastore_id = %metastore_id, "the assignment was found, not made: left as it is");
            return deleted(id);
        }
        match ctx
            .client
            .account(
                Method::DELETE,
                &format!("/workspaces/{ws}/metastores/{metastore_id}"),
                None,
            )
            .await
        {
            Ok(_) => deleted(id),
            Err(e) if e.is_not_found() => deleted(id),
            Err(e) => Err(e).context(|| format!("removing the metastore assignment {id}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_physical_id_says_whether_the_assignment_is_owned() {
        assert_eq!(parse_id("123/m-1"), Some(("123", "m-1", true)));
        assert_eq!(parse_id("123/m-1/automatic"), Some(("123", "m-1", false)));
        assert_eq!(parse_id("123"), None);
        assert_eq!(parse_id("123/m-1/other"), None);
        assert_eq!(parse_id("123/m-1/automatic/x"), None);
        assert_eq!(parse_id(""), None);
    }
}

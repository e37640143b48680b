//! `Custom::DatabricksAccountGroup`: an account-level SCIM group
//! (`/api/2.0/accounts/{account_id}/scim/v2/Groups`, databricks-sdk 0.167
//! `iam.AccountGroupsV2API`), the kind of principal Unity Catalog grants to. Members are not
//! managed here.
//!
//! Like the workspace groups (`handlers::group`, the same SCIM code: `handlers::scim`): the
//! group carries the resource's ownership mark in `externalId`, its display name stays as
//! configured (unique in the account). A retried Create adopts the group of that name only when
//! it carries this resource's mark; a group of that name without it is somebody else's and the
//! Create fails naming it and the fix (another `DisplayName` in the config): it is never
//! adopted, changed or deleted. Every property is create-only (a rename is a new group, as SCIM
//! renames are unreliable), so an Update without a change keeps the group, and makes it again
//! when it was deleted behind the stack's back. Delete tolerates absence.

use cdkrs_databricks::{self as db, AccountGroupAttr, Runtime};
use serde_json::Value;

use super::scim::{self, Base};
use super::{
    check_account, create_only_changes, data, deleted, done, mark, Context, Ctx, Resource,
    StepResult,
};
use crate::client::Method;
use crate::event::Request;

/// The handler.
pub(crate) struct AccountGroup;

type Props = db::AccountGroup<Runtime>;

/// The success answer for the group `id`.
fn finished(id: &str, p: &Props) -> StepResult {
    done(
        id,
        data([
            (AccountGroupAttr::GroupId, id.to_owned()),
            (AccountGroupAttr::DisplayName, p.display_name.clone()),
        ]),
    )
}

/// Creates the group of `p` (or adopts this resource's group of that name).
async fn ensure(ctx: &Ctx, request: &Request, p: &Props) -> StepResult {
    check_account(ctx, &p.account_id)?;
    let (id, _) = scim::ensure(
        ctx,
        Base::Account,
        &p.display_name,
        &mark::mark(request),
        serde_json::Map::new(),
    )
    .await?;
    finished(&id, p)
}

impl Resource for AccountGroup {
    type Props = Props;
    type Attr = AccountGroupAttr;
    const ATTRS: &'static [AccountGroupAttr] = AccountGroupAttr::ALL;

    async fn create(ctx: &Ctx, request: &Request, p: &Props, _: Option<Value>) -> StepResult {
        ensure(ctx, request, p).await
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
        if create_only_changes::<db::AccountGroup<db::Template>>(request).is_empty() {
            match Base::Account
                .call(ctx, Method::GET, &Base::Account.group(id), None)
                .await
            {
                Ok(_) => return finished(id, p),
                // Deleted behind the stack's back: make it again (a new id).
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e).context(|| format!("reading account group {id}")),
            }
        }
        ensure(ctx, request, p).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, _: &Props, _: Option<Value>) -> StepResult {
        scim::delete(ctx, Base::Account, id).await?;
        deleted(id)
    }
}

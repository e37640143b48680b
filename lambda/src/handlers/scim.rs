//! One SCIM group implementation for two bases: a workspace's groups
//! (`/api/2.0/preview/scim/v2/Groups`, databricks-sdk 0.167 `iam.GroupsAPI`) and the account's
//! (`/api/2.0/accounts/{account_id}/scim/v2/Groups`, `iam.AccountGroupsV2API`). Both take the
//! same bodies (RFC 7643 `Group` with `displayName`, `externalId`; RFC 7644 `PatchOp`) and page
//! the same way.
//!
//! The lookup asks for `filter=displayName eq "…"` as Terraform does (`scim/groups.go`,
//! `Filter`) and follows the SCIM pages (`startIndex`, `count`, `totalResults`,
//! `itemsPerPage`: RFC 7644 §3.4.2.4) as the SDK's `GroupsAPI.list` and
//! `AccountGroupsV2API.list` do (they advance `startIndex` by the number of `Resources` until a
//! page has none).
//!
//! Ownership: the group carries the resource's mark in `externalId` (see `handlers::mark`); a
//! group of the wanted name without it is somebody else's ([`lookup_ours`] fails naming it).

use std::collections::BTreeSet;
use std::future::Future;

use serde_json::{json, Value};

use super::{find_or_create, items, mark, required, text, Context, Ctx, HandlerError};
use crate::client::{with_query, ApiError, Method};

/// The core group schema (RFC 7643 §4.2).
pub(crate) const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The patch message schema (RFC 7644 §3.5.2).
pub(crate) const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Where the groups live.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Base<'a> {
    /// A workspace, by URL.
    Workspace(&'a str),
    /// The account of the provider's service principal.
    Account,
}

impl Base<'_> {
    /// The groups path of this base (the account client prefixes `/api/2.0/accounts/{id}`).
    fn groups(self) -> &'static str {
        match self {
            Base::Workspace(_) => "/api/2.0/preview/scim/v2/Groups",
            Base::Account => "/scim/v2/Groups",
        }
    }

    /// What the groups are called in messages.
    pub(crate) fn what(self) -> &'static str {
        match self {
            Base::Workspace(_) => "group",
            Base::Account => "account group",
        }
    }

    /// A call that may be repeated.
    pub(crate) async fn call(
        self,
        ctx: &Ctx,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        match self {
            Base::Workspace(url) => ctx.client.workspace(url, method, path, body).await,
            Base::Account => ctx.client.account(method, path, body).await,
        }
    }

    /// A create, repeated only when it surely did not happen.
    async fn create(self, ctx: &Ctx, body: &Value) -> Result<Value, ApiError> {
        match self {
            Base::Workspace(url) => ctx.client.workspace_create(url, self.groups(), body).await,
            Base::Account => ctx.client.account_create(self.groups(), body).await,
        }
    }

    /// The path of the group `id`.
    pub(crate) fn group(self, id: &str) -> String {
        format!("{}/{id}", self.groups())
    }
}

/// The `value`s of a multi-valued SCIM attribute.
pub(crate) fn values(group: &Value, key: &str) -> BTreeSet<String> {
    group
        .get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|v| v.get("value").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `[{"value": …}, …]`.
pub(crate) fn value_list(set: &BTreeSet<String>) -> Value {
    Value::Array(set.iter().map(|v| json!({"value": v})).collect())
}

/// A SCIM filter string literal.
pub(crate) fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The page size the lookup asks for.
const PAGE: usize = 100;
/// Pages read at most (a filter by name matches one group; this bounds a server that ignores it).
const MAX_PAGES: usize = 100;

/// The group named `name` in `base`, if any, following the SCIM pages.
async fn lookup(ctx: &Ctx, base: Base<'_>, name: &str) -> Result<Option<Value>, HandlerError> {
    let filter = format!("displayName eq {}", quoted(name));
    find_in_pages(name, |start| {
        let path = with_query(
            base.groups(),
            &[
                ("filter", &filter),
                ("startIndex", &start.to_string()),
                ("count", &PAGE.to_string()),
            ],
        );
        async move {
            base.call(ctx, Method::GET, &path, None)
                .await
                .context(|| format!("looking up {} {name}", base.what()))
        }
    })
    .await
}

/// The group named `name` in the SCIM list answers `fetch(startIndex)` gives: from index 1,
/// advancing by the number of `Resources` of each page, until a page has none or
/// `totalResults` are read.
pub(crate) async fn find_in_pages<F, Fut>(
    name: &str,
    mut fetch: F,
) -> Result<Option<Value>, HandlerError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<Value, HandlerError>>,
{
    let mut start = 1usize;
    for _ in 0..MAX_PAGES {
        let page = fetch(start).await?;
        let total = page.get("totalResults").and_then(Value::as_u64);
        let resources = items(page, "Resources");
        if resources.is_empty() {
            return Ok(None);
        }
        start += resources.len();
        if let Some(g) = resources
            .into_iter()
            .find(|g| g.get("displayName").and_then(Value::as_str) == Some(name))
        {
            return Ok(Some(g));
        }
        if total.is_some_and(|t| (start as u64) > t) {
            return Ok(None);
        }
    }
    Err(HandlerError::Invalid(format!(
        "looking up group {name}: more than {MAX_PAGES} pages of groups answered the filter"
    )))
}

/// The group named `name` if it is this resource's (its `externalId` is `mark`); somebody
/// else's group of that name is an error naming it.
async fn lookup_ours(
    ctx: &Ctx,
    base: Base<'_>,
    name: &str,
    mark: &str,
) -> Result<Option<Value>, HandlerError> {
    match lookup(ctx, base, name).await? {
        Some(g) if text(&g, "externalId").as_deref() == Some(mark) => Ok(Some(g)),
        Some(g) => Err(mark::foreign(
            base.what(),
            name,
            &text(&g, "id").unwrap_or_default(),
        )),
        None => Ok(None),
    }
}

/// Creates the group `name` in `base` with the mark in `externalId` and the extra attributes
/// of `extra` (roles, entitlements), or adopts this resource's group of that name. Returns its
/// id and whether it was adopted.
pub(crate) async fn ensure(
    ctx: &Ctx,
    base: Base<'_>,
    name: &str,
    mark: &str,
    extra: serde_json::Map<String, Value>,
) -> Result<(String, bool), HandlerError> {
    let mut body = json!({"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": mark});
    for (k, v) in extra {
        body[k] = v;
    }
    let (group, adopted) = find_or_create(
        ctx,
        || lookup_ours(ctx, base, name, mark),
        || async {
            base.create(ctx, &body)
                .await
                .context(|| format!("creating {} {name}", base.what()))
        },
    )
    .await?;
    let id = required(&group, "id", &format!("creating {} {name}", base.what()))?;
    Ok((id, adopted))
}

/// Deletes the group `id`; absence is success.
pub(crate) async fn delete(ctx: &Ctx, base: Base<'_>, id: &str) -> Result<(), HandlerError> {
    match base.call(ctx, Method::DELETE, &base.group(id), None).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e).context(|| format!("deleting {} {id}", base.what())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SCIM list of `names`, answered `size` at a time.
    fn paged(names: &[&str], size: usize, start: usize) -> Value {
        let page: Vec<Value> = names
            .iter()
            .skip(start - 1)
            .take(size)
            .map(|n| json!({"id": n, "displayName": n}))
            .collect();
        let mut body =
            json!({"totalResults": names.len(), "startIndex": start, "itemsPerPage": page.len()});
        if !page.is_empty() {
            body["Resources"] = Value::Array(page);
        }
        body
    }

    #[tokio::test]
    async fn the_lookup_follows_pages_until_found_or_all_read() {
        let names = ["users", "admins", "a", "b", "t-eng"];
        let mut asked = Vec::new();
        let found = find_in_pages("t-eng", |start| {
            asked.push(start);
            let page = paged(&names, 2, start);
            async move { Ok(page) }
        })
        .await
        .expect("a lookup");
        assert_eq!(found.map(|g| g["id"].clone()), Some(json!("t-eng")));
        assert_eq!(asked, [1, 3, 5]);

        let mut asked = Vec::new();
        let none = find_in_pages("nobody", |start| {
            asked.push(start);
            let page = paged(&names, 2, start);
            async move { Ok(page) }
        })
        .await
        .expect("a lookup");
        assert!(none.is_none());
        assert_eq!(asked, [1, 3, 5], "stops once totalResults are read");
    }

    #[test]
    fn both_bases_use_the_sdk_paths() {
        // databricks-sdk 0.167 iam.py: GroupsAPI `/api/2.0/preview/scim/v2/Groups`,
        // AccountGroupsV2API `/api/2.0/accounts/{account_id}/scim/v2/Groups` (the account
        // client adds the prefix).
        assert_eq!(
            Base::Workspace("https://w").group("7"),
            "/api/2.0/preview/scim/v2/Groups/7"
        );
        assert_eq!(Base::Account.group("7"), "/scim/v2/Groups/7");
    }
}

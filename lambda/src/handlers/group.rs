//! `Custom::DatabricksGroup` (reference §3.1): a workspace SCIM group with its roles (data-role
//! and instance-profile ARNs) and two entitlements. Update PATCHes roles and entitlements to
//! the declared set; a rename or another workspace is a new group (replacement: SCIM renames
//! are unreliable); delete tolerates absence.
//!
//! The group carries the resource's ownership mark in its SCIM `externalId` (databricks-sdk
//! 0.167 `iam.Group.external_id`; terraform-provider-databricks `docs/resources/group.md`:
//! "`external_id` - (Optional) ID of the group in an external identity provider"). Its display
//! name stays as configured: names are unique in a workspace (409 on a duplicate). A retried
//! Create adopts the group of that name only when it carries this resource's mark; a group of
//! that name without it is somebody else's, and the Create fails naming it without changing its
//! members, roles or entitlements.
//!
//! The lookup asks for `filter=displayName eq "…"` as Terraform does (`scim/groups.go`,
//! `Filter`) and follows the SCIM pages (`startIndex`, `count`, `totalResults`,
//! `itemsPerPage`: RFC 7644 §3.4.2.4) as the SDK's `GroupsAPI.list` does (it advances
//! `startIndex` by the number of `Resources` until a page has none).

use std::collections::BTreeSet;
use std::future::Future;

use cdkrs_constructs::databricks::{self as db, GroupAttr, Runtime};
use serde_json::{json, Value};

use super::{
    create_only_changes, data, deleted, done, find_or_create, items, mark, required, text, Context,
    Ctx, HandlerError, Resource, StepResult,
};
use crate::client::{with_query, Method};
use crate::event::Request;

/// The handler.
pub(crate) struct Group;

type Props = db::Group<Runtime>;

const GROUPS: &str = "/api/2.0/preview/scim/v2/Groups";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The entitlements this resource manages (others are left alone).
const MANAGED_ENTITLEMENTS: [&str; 2] = ["allow-cluster-create", "allow-instance-pool-create"];

/// The declared roles: data roles and instance profiles.
fn roles(p: &Props) -> BTreeSet<String> {
    p.roles
        .iter()
        .chain(p.instance_profile_arns.iter().flatten())
        .cloned()
        .collect()
}

/// The declared entitlements among the managed ones.
fn entitlements(p: &Props) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    if *p.allow_cluster_create {
        set.insert(MANAGED_ENTITLEMENTS[0].to_owned());
    }
    if *p.allow_instance_pool_create {
        set.insert(MANAGED_ENTITLEMENTS[1].to_owned());
    }
    set
}

/// The `value`s of a multi-valued SCIM attribute.
fn values(group: &Value, key: &str) -> BTreeSet<String> {
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
fn value_list(set: &BTreeSet<String>) -> Value {
    Value::Array(set.iter().map(|v| json!({"value": v})).collect())
}

/// A SCIM filter string literal.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The page size the lookup asks for.
const PAGE: usize = 100;
/// Pages read at most (a filter by name matches one group; this bounds a server that ignores it).
const MAX_PAGES: usize = 100;

/// The group named `name`, if any, following the SCIM pages.
async fn lookup(ctx: &Ctx, url: &str, name: &str) -> Result<Option<Value>, HandlerError> {
    let filter = format!("displayName eq {}", quoted(name));
    find_in_pages(name, |start| {
        let path = with_query(
            GROUPS,
            &[
                ("filter", &filter),
                ("startIndex", &start.to_string()),
                ("count", &PAGE.to_string()),
            ],
        );
        async move {
            ctx.client
                .workspace(url, Method::GET, &path, None)
                .await
                .context(|| format!("looking up group {name}"))
        }
    })
    .await
}

/// The group named `name` in the SCIM list answers `fetch(startIndex)` gives: from index 1,
/// advancing by the number of `Resources` of each page, until a page has none or
/// `totalResults` are read.
async fn find_in_pages<F, Fut>(name: &str, mut fetch: F) -> Result<Option<Value>, HandlerError>
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
    url: &str,
    name: &str,
    mark: &str,
) -> Result<Option<Value>, HandlerError> {
    match lookup(ctx, url, name).await? {
        Some(g) if text(&g, "externalId").as_deref() == Some(mark) => Ok(Some(g)),
        Some(g) => Err(mark::foreign(
            "group",
            name,
            &text(&g, "id").unwrap_or_default(),
        )),
        None => Ok(None),
    }
}

/// PATCHes the group's roles and managed entitlements to the declared sets.
async fn reconcile(ctx: &Ctx, p: &Props, id: &str) -> Result<(), HandlerError> {
    let url = p.workspace_url.as_str();
    let current = ctx
        .client
        .workspace(url, Method::GET, &format!("{GROUPS}/{id}"), None)
        .await
        .context(|| format!("reading group {id}"))?;
    let want_roles = roles(p);
    let have_roles = values(&current, "roles");
    let want_ent = entitlements(p);
    let have_ent: BTreeSet<String> = values(&current, "entitlements")
        .into_iter()
        .filter(|e| MANAGED_ENTITLEMENTS.contains(&e.as_str()))
        .collect();
    let mut ops = Vec::new();
    for (key, want, have) in [
        ("roles", &want_roles, &have_roles),
        ("entitlements", &want_ent, &have_ent),
    ] {
        let add: BTreeSet<String> = want.difference(have).cloned().collect();
        if !add.is_empty() {
            ops.push(json!({"op": "add", "path": key, "value": value_list(&add)}));
        }
        for gone in have.difference(want) {
            ops.push(json!({"op": "remove", "path": format!("{key}[value eq {}]", quoted(gone))}));
        }
    }
    if ops.is_empty() {
        return Ok(());
    }
    ctx.client
        .workspace(
            url,
            Method::PATCH,
            &format!("{GROUPS}/{id}"),
            Some(&json!({"schemas": [PATCH_SCHEMA], "Operations": ops})),
        )
        .await
        .context(|| {
            format!(
                "updating the roles and entitlements of group {}",
                p.display_name
            )
        })?;
    Ok(())
}

/// Creates the group of `p` (or adopts this resource's group of that name) with the declared
/// attributes.
async fn ensure(ctx: &Ctx, request: &Request, p: &Props) -> StepResult {
    let url = p.workspace_url.as_str();
    let name = p.display_name.as_str();
    if name == "users" || name == "admins" {
        return Err(HandlerError::Invalid(format!(
            "{name} is a built-in group of every workspace and cannot be created"
        )));
    }
    let mark = mark::mark(request);
    let mut body = json!({"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": mark});
    let (want_roles, want_ent) = (roles(p), entitlements(p));
    if !want_roles.is_empty() {
        body["roles"] = value_list(&want_roles);
    }
    if !want_ent.is_empty() {
        body["entitlements"] = value_list(&want_ent);
    }
    let (group, adopted) = find_or_create(
        ctx,
        || lookup_ours(ctx, url, name, &mark),
        || async {
            ctx.client
                .workspace_create(url, GROUPS, &body)
                .await
                .context(|| format!("creating group {name}"))
        },
    )
    .await?;
    let id = required(&group, "id", "creating a group")?;
    if adopted {
        reconcile(ctx, p, &id).await?;
    }
    done(id.clone(), data([(GroupAttr::GroupId, id)]))
}

impl Resource for Group {
    type Props = Props;
    type Attr = GroupAttr;
    const ATTRS: &'static [GroupAttr] = GroupAttr::ALL;

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
        if !create_only_changes::<db::Group<db::Template>>(request).is_empty() {
            return ensure(ctx, request, p).await;
        }
        match reconcile(ctx, p, id).await {
            Ok(()) => done(id, data([(GroupAttr::GroupId, id.to_owned())])),
            // Deleted behind the stack's back: make it again (a new id).
            Err(HandlerError::Api { source, .. }) if source.is_not_found() => {
                ensure(ctx, request, p).await
            }
            Err(e) => Err(e),
        }
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, p: &Props, _: Option<Value>) -> StepResult {
        match ctx
            .client
            .workspace(
                &p.workspace_url,
                Method::DELETE,
                &format!("{GROUPS}/{id}"),
                None,
            )
            .await
        {
            Ok(_) => deleted(id),
            Err(e) if e.is_not_found() => deleted(id),
            Err(e) => Err(e).context(|| format!("deleting group {id}")),
        }
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
}

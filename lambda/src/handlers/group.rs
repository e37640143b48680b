//! `Custom::DatabricksGroup` (reference §3.1): a workspace SCIM group with its roles (data-role
//! and instance-profile ARNs) and two entitlements. Create adopts a group of the same name;
//! update PATCHes roles and entitlements to the declared set; a rename is a new group
//! (replacement: SCIM renames are unreliable); delete tolerates absence.

use std::collections::BTreeSet;

use cdkrs_constructs::databricks::{self as db, GroupAttr, Runtime};
use serde_json::{json, Value};

use super::{
    data, deleted, done, find_or_create, items, required, Context, Ctx, HandlerError, Resource,
    StepResult,
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

/// The group named `name`, if any.
async fn lookup(ctx: &Ctx, url: &str, name: &str) -> Result<Option<Value>, HandlerError> {
    let path = with_query(
        GROUPS,
        &[("filter", &format!("displayName eq {}", quoted(name)))],
    );
    let list = ctx
        .client
        .workspace(url, Method::GET, &path, None)
        .await
        .context(|| format!("looking up group {name}"))?;
    Ok(items(list, "Resources")
        .into_iter()
        .find(|g| g.get("displayName").and_then(Value::as_str) == Some(name)))
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

/// Creates the group of `p` (or adopts the one of that name) with the declared attributes.
async fn ensure(ctx: &Ctx, p: &Props) -> StepResult {
    let url = p.workspace_url.as_str();
    let name = p.display_name.as_str();
    if name == "users" || name == "admins" {
        return Err(HandlerError::Invalid(format!(
            "{name} is a built-in group of every workspace and cannot be created"
        )));
    }
    let mut body = json!({"schemas": [GROUP_SCHEMA], "displayName": name});
    let (want_roles, want_ent) = (roles(p), entitlements(p));
    if !want_roles.is_empty() {
        body["roles"] = value_list(&want_roles);
    }
    if !want_ent.is_empty() {
        body["entitlements"] = value_list(&want_ent);
    }
    let (group, adopted) = find_or_create(
        ctx,
        || lookup(ctx, url, name),
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

    async fn create(ctx: &Ctx, _: &Request, p: &Props, _: Option<Value>) -> StepResult {
        ensure(ctx, p).await
    }

    async fn update(
        ctx: &Ctx,
        _: &Request,
        id: &str,
        p: &Props,
        old: &Props,
        _: Option<Value>,
    ) -> StepResult {
        if p.display_name != old.display_name || p.workspace_url != old.workspace_url {
            return ensure(ctx, p).await;
        }
        match reconcile(ctx, p, id).await {
            Ok(()) => done(id, data([(GroupAttr::GroupId, id.to_owned())])),
            // Deleted behind the stack's back: make it again (a new id).
            Err(HandlerError::Api { source, .. }) if source.is_not_found() => ensure(ctx, p).await,
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

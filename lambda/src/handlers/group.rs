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
//! The SCIM calls (lookup by name through the pages, create, delete) are `handlers::scim`'s,
//! shared with the account groups.

use std::collections::BTreeSet;

use cdkrs_databricks::{self as db, GroupAttr, Runtime};
use serde_json::{json, Value};

use super::scim::{self, quoted, value_list, values, Base, PATCH_SCHEMA};
use super::{
    create_only_changes, data, deleted, done, mark, Context, Ctx, HandlerError, Resource,
    StepResult,
};
use crate::client::Method;
use crate::event::Request;

/// The handler.
pub(crate) struct Group;

type Props = db::Group<Runtime>;

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

/// PATCHes the group's roles and managed entitlements to the declared sets.
async fn reconcile(ctx: &Ctx, p: &Props, id: &str) -> Result<(), HandlerError> {
    let base = Base::Workspace(&p.workspace_url);
    let current = base
        .call(ctx, Method::GET, &base.group(id), None)
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
    base.call(
        ctx,
        Method::PATCH,
        &base.group(id),
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
    let name = p.display_name.as_str();
    if name == "users" || name == "admins" {
        return Err(HandlerError::Invalid(format!(
            "{name} is a built-in group of every workspace and cannot be created"
        )));
    }
    let mut extra = serde_json::Map::new();
    let (want_roles, want_ent) = (roles(p), entitlements(p));
    if !want_roles.is_empty() {
        extra.insert("roles".into(), value_list(&want_roles));
    }
    if !want_ent.is_empty() {
        extra.insert("entitlements".into(), value_list(&want_ent));
    }
    let base = Base::Workspace(&p.workspace_url);
    let (id, adopted) = scim::ensure(ctx, base, name, &mark::mark(request), extra).await?;
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
        scim::delete(ctx, Base::Workspace(&p.workspace_url), id).await?;
        deleted(id)
    }
}

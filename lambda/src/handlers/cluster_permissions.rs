//! The cluster's permissions for its `UserGroups` (Permissions API, databricks-sdk 0.167
//! `compute.ClustersAPI`: `get_permissions` = `GET /api/2.0/permissions/clusters/{id}`,
//! `update_permissions` = `PATCH` (adds or changes the entries it names), `set_permissions` =
//! `PUT` ("Sets permissions on an object, replacing existing permissions if they exist. Deletes
//! all direct permissions if none are specified. Objects can inherit permissions from their
//! root object.")).
//!
//! Each listed group gets [`ClusterPermissionLevel::CanRestart`]; a group removed from the list
//! (in the old properties, not in the new) loses its direct entry; everybody else's entries
//! are left alone. Adding is a `PATCH` naming only the groups that lack the level. The API has
//! no call that removes one entry, so a removal `PUT`s the current *direct* entries (the
//! `all_permissions` that are not `inherited`: inherited ones, such as the `admins` group's,
//! come from the root object and are not settable here) minus the removed groups', plus the
//! additions. Absent `UserGroups`: nothing is called.

use std::collections::BTreeSet;

use cdkrs_databricks::ClusterPermissionLevel;
use serde_json::{json, Value};

use super::{Context, Ctx, HandlerError};
use crate::client::{ApiError, Method};

/// The principal fields of an access-control entry.
const PRINCIPAL_KEYS: [&str; 3] = ["user_name", "group_name", "service_principal_name"];

/// The levels that already let a group do what [`ClusterPermissionLevel::CanRestart`] allows.
fn enough(level: &str) -> bool {
    level == ClusterPermissionLevel::CanRestart.as_str()
        || level == ClusterPermissionLevel::CanManage.as_str()
}

/// The direct entries of a permissions answer: `(principal key, principal, level)`.
fn direct_entries(permissions: &Value) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let Some(list) = permissions
        .get("access_control_list")
        .and_then(Value::as_array)
    else {
        return out;
    };
    for entry in list {
        let Some((key, who)) = PRINCIPAL_KEYS
            .iter()
            .find_map(|k| entry.get(*k).and_then(Value::as_str).map(|v| (*k, v)))
        else {
            continue;
        };
        for p in entry
            .get("all_permissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if p.get("inherited").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(level) = p.get("permission_level").and_then(Value::as_str) {
                out.push((key, who.to_owned(), level.to_owned()));
            }
        }
    }
    out
}

/// The call that converges `current` for `want` (the listed groups) and `removed` (groups
/// listed before and no longer): `None` when nothing changes, else the method and the
/// `access_control_list`.
fn plan(
    current: &Value,
    want: &BTreeSet<String>,
    removed: &BTreeSet<String>,
) -> Option<(Method, Value)> {
    let entries = direct_entries(current);
    let has = |group: &str| {
        entries
            .iter()
            .any(|(k, who, level)| *k == "group_name" && who == group && enough(level))
    };
    let level = ClusterPermissionLevel::CanRestart.as_str();
    let add: Vec<Value> = want
        .iter()
        .filter(|g| !has(g))
        .map(|g| json!({"group_name": g, "permission_level": level}))
        .collect();
    let removing = entries
        .iter()
        .any(|(k, who, _)| *k == "group_name" && removed.contains(who) && !want.contains(who));
    if removing {
        let mut list: Vec<Value> = entries
            .iter()
            .filter(|(k, who, _)| {
                !(*k == "group_name" && removed.contains(who) && !want.contains(who))
            })
            .map(|(k, who, level)| json!({*k: who, "permission_level": level}))
            .collect();
        list.extend(add);
        return Some((Method::PUT, Value::Array(list)));
    }
    (!add.is_empty()).then_some((Method::PATCH, Value::Array(add)))
}

/// Converges the permissions of cluster `id` for `new` (the new `UserGroups`) and `old` (the
/// old ones, on an Update). `new` absent: nothing is called.
pub(crate) async fn converge(
    ctx: &Ctx,
    url: &str,
    id: &str,
    new: Option<&[String]>,
    old: Option<&[String]>,
) -> Result<(), HandlerError> {
    let Some(new) = new else {
        return Ok(());
    };
    let want: BTreeSet<String> = new.iter().cloned().collect();
    let removed: BTreeSet<String> = old
        .into_iter()
        .flatten()
        .filter(|g| !want.contains(*g))
        .cloned()
        .collect();
    let path = format!("/api/2.0/permissions/clusters/{id}");
    let current = read(ctx, url, &path)
        .await
        .context(|| format!("reading the permissions of cluster {id}"))?;
    let Some((method, list)) = plan(&current, &want, &removed) else {
        return Ok(());
    };
    tracing::info!(cluster_id = %id, method = %method, "converging the cluster's permissions for its user groups");
    ctx.client
        .workspace(
            url,
            method,
            &path,
            Some(&json!({"access_control_list": list})),
        )
        .await
        .context(|| format!("setting the permissions of cluster {id} for groups {want:?}"))?;
    Ok(())
}

async fn read(ctx: &Ctx, url: &str, path: &str) -> Result<Value, ApiError> {
    ctx.client.workspace(url, Method::GET, path, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn current() -> Value {
        json!({"access_control_list": [
            {"user_name": "creator@acme.example", "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": false}]},
            {"group_name": "admins", "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": true, "inherited_from_object": ["/clusters/"]}]},
            {"group_name": "t-readers", "all_permissions": [{"permission_level": "CAN_RESTART", "inherited": false}]},
            {"group_name": "someone-elses", "all_permissions": [{"permission_level": "CAN_ATTACH_TO", "inherited": false}]}
        ]})
    }

    #[test]
    fn adding_patches_only_the_groups_that_lack_the_level() {
        assert_eq!(plan(&current(), &set(&["t-readers"]), &set(&[])), None);
        assert_eq!(
            plan(&current(), &set(&["t-readers", "t-writers"]), &set(&[])),
            Some((
                Method::PATCH,
                json!([{"group_name": "t-writers", "permission_level": "CAN_RESTART"}])
            ))
        );
    }

    #[test]
    fn a_removal_puts_everybody_else_s_direct_entries_back() {
        let (method, list) =
            plan(&current(), &set(&["t-writers"]), &set(&["t-readers"])).expect("a change");
        assert_eq!(method, Method::PUT);
        assert_eq!(
            list,
            json!([
                {"user_name": "creator@acme.example", "permission_level": "CAN_MANAGE"},
                {"group_name": "someone-elses", "permission_level": "CAN_ATTACH_TO"},
                {"group_name": "t-writers", "permission_level": "CAN_RESTART"}
            ])
        );
        // A group removed from the list that has no entry any more: nothing to remove.
        assert_eq!(
            plan(&current(), &set(&["t-readers"]), &set(&["gone"])),
            None
        );
    }
}

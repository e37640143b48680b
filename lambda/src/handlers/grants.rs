//! `Custom::DatabricksGrants`: the Unity Catalog privileges one principal holds on some
//! securables, as this stack grants them (databricks-sdk 0.167 `catalog.GrantsAPI.update`:
//! `PATCH /api/2.1/unity-catalog/permissions/{securable_type}/{full_name}` with `changes:
//! [{principal, add, remove}]`, `PermissionsChange`). Every call changes this resource's
//! principal only, and only the privileges this resource declares or declared:
//!
//! - **Create** adds the declared privileges on each securable.
//! - **Update** (same principal and workspace) adds, per securable, what the new properties
//!   declare (adding a privilege the principal holds is a no-op, so drift is repaired) and
//!   removes what the old ones declared and the new ones do not; a securable dropped from the
//!   list loses all of the old privileges. Privileges the principal holds that this resource
//!   never declared are never removed. Another principal or workspace is a replacement: the
//!   new set is granted (a new physical id), and CloudFormation's Delete of the old one
//!   revokes the old set.
//! - **Delete** removes exactly the declared privileges; a securable or a principal that is
//!   already gone is success.
//!
//! Securable types go in the path in lower case, as the Terraform provider sends them
//! (`catalog/permissions/permissions.go`, `Mappings`: `catalog`, `external_location`, …).
//! Privileges and securable types are checked against [`Privilege`] and [`SecurableType`]
//! before any call; an unknown one is refused naming it.
//!
//! A grant to a principal created moments ago (an account group) can fail while the principal
//! is not yet visible to Unity Catalog; such a refusal is retried within the
//! eventual-consistency budget.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use cdkrs_databricks::{self as db, GrantsAttr, Privilege, Runtime, SecurableType};
use serde_json::{json, Value};

use super::uc_object::path_segment;
use super::{
    create_only_changes, data, deleted, done, Context, Ctx, HandlerError, Resource, StepResult,
};
use crate::client::{ApiError, Method};
use crate::event::Request;

/// The handler.
pub(crate) struct Grants;

type Props = db::Grants<Runtime>;

/// A securable: its type (as declared, upper case) and full name.
type Securable = (String, String);

/// The declared privileges per securable (privileges of a securable listed twice are merged).
fn declared(p: &Props) -> BTreeMap<Securable, BTreeSet<String>> {
    let mut map: BTreeMap<Securable, BTreeSet<String>> = BTreeMap::new();
    for g in &p.grants {
        map.entry((g.securable_type.clone(), g.full_name.clone()))
            .or_default()
            .extend(g.privileges.iter().cloned());
    }
    map
}

/// Refuses a securable type or privilege the provider does not know, naming it and the
/// allowed values, before any call.
fn check(p: &Props) -> Result<(), HandlerError> {
    let list = |values: Vec<&str>| values.join(", ");
    if p.principal.trim().is_empty() {
        return Err(HandlerError::Invalid(
            "Principal is empty: name the account group to grant to".into(),
        ));
    }
    for g in &p.grants {
        if SecurableType::parse(&g.securable_type).is_none() {
            return Err(HandlerError::Invalid(format!(
                "SecurableType {:?} of {} is not supported: the allowed values are {}",
                g.securable_type,
                g.full_name,
                list(SecurableType::ALL.iter().map(|t| t.as_str()).collect())
            )));
        }
        let unknown: Vec<&str> = g
            .privileges
            .iter()
            .filter(|v| Privilege::parse(v).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(HandlerError::Invalid(format!(
                "Privileges {unknown:?} on {} {} are not Unity Catalog privileges this provider \
                 grants: the allowed values are {} (case-sensitive)",
                g.securable_type,
                g.full_name,
                list(Privilege::ALL.iter().map(|v| v.as_str()).collect())
            )));
        }
    }
    Ok(())
}

/// One securable's change for this resource's principal, or `None` when it changes nothing.
fn change(principal: &str, add: &BTreeSet<String>, remove: &BTreeSet<String>) -> Option<Value> {
    if add.is_empty() && remove.is_empty() {
        return None;
    }
    let mut c = json!({"principal": principal});
    if !add.is_empty() {
        c["add"] = json!(add);
    }
    if !remove.is_empty() {
        c["remove"] = json!(remove);
    }
    Some(c)
}

/// The changes an Update sends: per securable of `new`, add all of its privileges and remove
/// those `old` declared and `new` does not; per securable only `old` lists, remove all of
/// `old`'s.
fn update_changes(
    old: &BTreeMap<Securable, BTreeSet<String>>,
    new: &BTreeMap<Securable, BTreeSet<String>>,
) -> Vec<(Securable, BTreeSet<String>, BTreeSet<String>)> {
    let empty = BTreeSet::new();
    let keys: BTreeSet<&Securable> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .map(|k| {
            let was = old.get(k).unwrap_or(&empty);
            let now = new.get(k).unwrap_or(&empty);
            (
                k.clone(),
                now.clone(),
                was.difference(now).cloned().collect::<BTreeSet<String>>(),
            )
        })
        .filter(|(_, add, remove)| !add.is_empty() || !remove.is_empty())
        .collect()
}

/// Whether Unity Catalog refused because the principal is unknown to it (not yet visible,
/// right after an account group was created, or gone).
fn is_unknown_principal(e: &ApiError) -> bool {
    let m = e.message.to_ascii_lowercase();
    e.error_code.as_deref() == Some("PRINCIPAL_DOES_NOT_EXIST")
        || (m.contains("principal")
            && (m.contains("does not exist")
                || m.contains("not found")
                || m.contains("could not find")))
}

/// Sends one securable's change for the principal. A principal not yet visible is retried
/// within the eventual-consistency budget when `wait_for_principal`.
async fn patch(
    ctx: &Ctx,
    p: &Props,
    securable: &Securable,
    change: &Value,
    wait_for_principal: bool,
) -> Result<(), ApiError> {
    let (ty, name) = securable;
    let path = format!(
        "/api/2.1/unity-catalog/permissions/{}/{}",
        ty.to_ascii_lowercase(),
        path_segment(name)
    );
    let body = json!({"changes": [change]});
    let policy = ctx.client.retry_policy();
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match ctx
            .client
            .workspace(&p.workspace_url, Method::PATCH, &path, Some(&body))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e)
                if wait_for_principal
                    && is_unknown_principal(&e)
                    && started.elapsed() + policy.backoff(attempt)
                        < policy.eventual_consistency =>
            {
                tracing::warn!(attempt, principal = %p.principal, error = %e, "principal not visible yet; retrying the grant");
                tokio::time::sleep(policy.backoff(attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sends the changes, naming the securable of a failure.
async fn apply(
    ctx: &Ctx,
    p: &Props,
    changes: Vec<(Securable, BTreeSet<String>, BTreeSet<String>)>,
) -> Result<(), HandlerError> {
    for (securable, add, remove) in changes {
        let Some(c) = change(&p.principal, &add, &remove) else {
            continue;
        };
        patch(ctx, p, &securable, &c, true).await.context(|| {
            format!(
                "changing the privileges of {} on {} {}",
                p.principal, securable.0, securable.1
            )
        })?;
    }
    Ok(())
}

fn finished(p: &Props) -> StepResult {
    done(
        format!("grants/{}", p.principal),
        data([(GrantsAttr::Principal, p.principal.clone())]),
    )
}

/// Grants everything `p` declares.
async fn grant_all(ctx: &Ctx, p: &Props) -> StepResult {
    check(p)?;
    let changes = declared(p)
        .into_iter()
        .map(|(k, add)| (k, add, BTreeSet::new()))
        .collect();
    apply(ctx, p, changes).await?;
    finished(p)
}

impl Resource for Grants {
    type Props = Props;
    type Attr = GrantsAttr;
    const ATTRS: &'static [GrantsAttr] = GrantsAttr::ALL;

    async fn create(ctx: &Ctx, _: &Request, p: &Props, _: Option<Value>) -> StepResult {
        grant_all(ctx, p).await
    }

    async fn update(
        ctx: &Ctx,
        request: &Request,
        _: &str,
        p: &Props,
        old: &Props,
        _: Option<Value>,
    ) -> StepResult {
        if !create_only_changes::<db::Grants<db::Template>>(request).is_empty() {
            // Another principal or workspace: the old set is revoked by CloudFormation's Delete
            // of the old physical id.
            return grant_all(ctx, p).await;
        }
        check(p)?;
        apply(ctx, p, update_changes(&declared(old), &declared(p))).await?;
        finished(p)
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, p: &Props, _: Option<Value>) -> StepResult {
        for (securable, privileges) in declared(p) {
            let Some(c) = change(&p.principal, &BTreeSet::new(), &privileges) else {
                continue;
            };
            match patch(ctx, p, &securable, &c, false).await {
                Ok(()) => {}
                // The securable or the principal is gone: nothing left to revoke.
                Err(e) if e.is_not_found() || is_unknown_principal(&e) => {}
                Err(e) => {
                    return Err(e).context(|| {
                        format!(
                            "revoking the privileges of {} on {} {}",
                            p.principal, securable.0, securable.1
                        )
                    })
                }
            }
        }
        deleted(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(grants: Value) -> Props {
        serde_json::from_value(json!({
            "WorkspaceUrl": "https://w", "Principal": "t-readers", "Grants": grants
        }))
        .expect("props")
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_update_adds_the_new_and_removes_only_what_the_old_declared() {
        let old = props(json!([
            {"SecurableType": "CATALOG", "FullName": "raw", "Privileges": ["USE_CATALOG", "SELECT"]},
            {"SecurableType": "EXTERNAL_LOCATION", "FullName": "raw-loc", "Privileges": ["READ_FILES"]}
        ]));
        let new = props(json!([
            {"SecurableType": "CATALOG", "FullName": "raw", "Privileges": ["USE_CATALOG", "SELECT", "MODIFY"]}
        ]));
        let changes = update_changes(&declared(&old), &declared(&new));
        assert_eq!(
            changes,
            vec![
                (
                    ("CATALOG".into(), "raw".into()),
                    set(&["MODIFY", "SELECT", "USE_CATALOG"]),
                    set(&[])
                ),
                (
                    ("EXTERNAL_LOCATION".into(), "raw-loc".into()),
                    set(&[]),
                    set(&["READ_FILES"])
                ),
            ]
        );
        let back = update_changes(&declared(&new), &declared(&old));
        assert!(back.contains(&(
            ("CATALOG".into(), "raw".into()),
            set(&["SELECT", "USE_CATALOG"]),
            set(&["MODIFY"])
        )));
    }

    #[test]
    fn unknown_privileges_and_types_are_refused_naming_them() {
        let bad = props(json!([
            {"SecurableType": "CATALOG", "FullName": "raw", "Privileges": ["SELECT", "select", "READ_EVERYTHING"]}
        ]));
        let e = check(&bad).unwrap_err().to_string();
        assert!(
            e.contains("\"select\"") && e.contains("\"READ_EVERYTHING\""),
            "{e}"
        );
        assert!(e.contains("USE_CATALOG"), "{e}");
        let bad = props(json!([
            {"SecurableType": "TABLE", "FullName": "raw.s.t", "Privileges": ["SELECT"]}
        ]));
        let e = check(&bad).unwrap_err().to_string();
        assert!(
            e.contains("\"TABLE\"") && e.contains("EXTERNAL_LOCATION"),
            "{e}"
        );
    }

    #[test]
    fn a_change_names_only_this_principal() {
        assert_eq!(change("g", &set(&[]), &set(&[])), None);
        assert_eq!(
            change("g", &set(&["SELECT"]), &set(&["MODIFY"])),
            Some(json!({"principal": "g", "add": ["SELECT"], "remove": ["MODIFY"]}))
        );
    }
}

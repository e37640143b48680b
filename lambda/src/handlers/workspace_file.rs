//! `Custom::DatabricksWorkspaceFile` (reference §3.6): a file imported `RAW` into the workspace
//! tree (its path is the physical id; its parent folders are made first). An update writes the
//! file again in place (overwrite); a new path is a new file (replacement). Delete tolerates
//! absence. With `Overwrite` false, a file already at the path is adopted only when its content
//! is the declared content.
//!
//! **Only admins can change the file.** A workspace file is typically an init script, which
//! runs as root on every node of the clusters that name it: whoever can write it owns those
//! clusters. By default every user can manage everything in `/Shared` ("All users have Can
//! Manage permission for objects in Workspace > Shared") and a user manages their home folder
//! (Databricks, "Folder permissions",
//! <https://docs.databricks.com/aws/en/security/auth/access-control/workspace-acl>), and an
//! object inherits its folders' permissions, which no grant on the object can take away. So:
//!
//! - a path under `/Shared` or `/Users` is refused before any call; use a folder at the root
//!   (such as `/cdkrs/init`), where "only workspace admins can create objects";
//! - after each write the provider sets the file's permissions with the Permissions API
//!   (`PUT /api/2.0/permissions/files/{object_id}`, the `object_id` of
//!   `workspace/get-status`; databricks-sdk-py 0.167 `WorkspaceAPI.set_permissions`), replacing
//!   its direct grants with [`GRANTS`]: `admins` `CAN_MANAGE`, `users` `CAN_READ` (clusters of
//!   any owner can read the script; nobody but admins can change it);
//! - it reads them back (`GET`, inherited grants included) and fails, naming the principal,
//!   its level and where it comes from, if anybody but the `admins` group and the provider's own
//!   service principal can edit or manage the file. A file this Create made is deleted first
//!   (CloudFormation sends no Delete after a failed Create).

use cdkrs_databricks::{self as db, Runtime, WorkspaceFileAttr};
use serde_json::{json, Value};

use super::{
    data, deleted, done, find_or_create, text, Context, Ctx, HandlerError, Resource, StepResult,
};
use crate::client::{with_query, Method};
use crate::event::Request;

/// The handler.
pub(crate) struct WorkspaceFile;

type Props = db::WorkspaceFile<Runtime>;

const IMPORT: &str = "/api/2.0/workspace/import";

/// The file's direct grants (`access_control_list` of the Permissions API): admins manage it,
/// every user may read it, nobody else writes it.
pub(crate) const GRANTS: [(&str, &str); 2] = [("admins", "CAN_MANAGE"), ("users", "CAN_READ")];

/// Levels that let a principal change a file ("Edit file" needs CAN EDIT; CAN MANAGE also
/// deletes it and changes its permissions: Databricks "Access control lists", file ACLs).
const WRITE_LEVELS: [&str; 2] = ["CAN_EDIT", "CAN_MANAGE"];

/// Folders where users other than admins can write by default (module docs).
const USER_WRITABLE: [&str; 2] = ["/Shared", "/Users"];

/// Refuses a path in a folder that non-admins can write, before any call.
fn check_path(p: &Props) -> Result<(), HandlerError> {
    for folder in USER_WRITABLE {
        if p.path == folder || p.path.starts_with(&format!("{folder}/")) {
            return Err(HandlerError::Invalid(format!(
                "workspace file {} is under {folder}, where users other than admins can write by \
                 default (and a file inherits that); an init script runs as root on the \
                 clusters, so put it in a folder only admins can write, such as /cdkrs/init/{}",
                p.path,
                p.path.rsplit('/').next().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// The Permissions API path of the object at `p.path` (`/api/2.0/permissions/files/{id}`).
async fn permissions_path(ctx: &Ctx, p: &Props) -> Result<String, HandlerError> {
    let path = with_query(
        "/api/2.0/workspace/get-status",
        &[("path", p.path.as_str())],
    );
    let status = ctx
        .client
        .workspace(&p.workspace_url, Method::GET, &path, None)
        .await
        .context(|| format!("reading the status of {}", p.path))?;
    let id = status
        .get("object_id")
        .and_then(|v| {
            v.as_i64()
                .map(|n| n.to_string())
                .or_else(|| v.as_str().map(str::to_owned))
        })
        .ok_or_else(|| {
            HandlerError::Invalid(format!(
                "workspace/get-status of {} gave no object_id",
                p.path
            ))
        })?;
    let kind = match text(&status, "object_type").as_deref() {
        Some("NOTEBOOK") => "notebooks",
        _ => "files",
    };
    Ok(format!("/api/2.0/permissions/{kind}/{id}"))
}

/// Who may change the file according to a permissions answer, besides `admins` and `me`:
/// `(principal, level, where from)`.
pub(crate) fn writers_besides_admins(acl: &Value, me: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for entry in acl
        .get("access_control_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let group = text(entry, "group_name");
        let name = group
            .clone()
            .or_else(|| text(entry, "service_principal_name"))
            .or_else(|| text(entry, "user_name"))
            .unwrap_or_default();
        let allowed = group.as_deref() == Some("admins")
            || (group.is_none() && text(entry, "service_principal_name").as_deref() == Some(me));
        if allowed {
            continue;
        }
        for perm in entry
            .get("all_permissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let level = text(perm, "permission_level").unwrap_or_default();
            if WRITE_LEVELS.contains(&level.as_str()) {
                let from = perm
                    .get("inherited_from_object")
                    .and_then(Value::as_array)
                    .map(|o| {
                        let objs: Vec<String> = o
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect();
                        format!("inherited from {}", objs.join(", "))
                    })
                    .unwrap_or_else(|| "granted on the file".to_owned());
                out.push((name.clone(), level, from));
            }
        }
    }
    out
}

/// Sets the file's permissions to [`GRANTS`] and checks, reading them back, that nobody but
/// admins (and this provider) can change it.
async fn secure(ctx: &Ctx, p: &Props) -> Result<(), HandlerError> {
    let path = permissions_path(ctx, p).await?;
    let acl: Vec<Value> = GRANTS
        .iter()
        .map(|(group, level)| json!({"group_name": group, "permission_level": level}))
        .collect();
    ctx.client
        .workspace(
            &p.workspace_url,
            Method::PUT,
            &path,
            Some(&json!({"access_control_list": acl})),
        )
        .await
        .context(|| format!("setting the permissions of {}", p.path))?;
    let read = ctx
        .client
        .workspace(&p.workspace_url, Method::GET, &path, None)
        .await
        .context(|| format!("reading the permissions of {}", p.path))?;
    let me = ctx.client.auth().client_id.as_str();
    let writers = writers_besides_admins(&read, me);
    if !writers.is_empty() {
        let list: Vec<String> = writers
            .iter()
            .map(|(who, level, from)| format!("{who} has {level} ({from})"))
            .collect();
        return Err(HandlerError::Invalid(format!(
            "workspace file {} can be changed by others than admins: {}; an init script runs as \
             root on the clusters, so put it in a folder only admins can write (such as \
             /cdkrs/init) or remove those grants from its folders",
            p.path,
            list.join("; ")
        )));
    }
    for (group, level) in GRANTS {
        let granted = read
            .get("access_control_list")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|e| {
                text(e, "group_name").as_deref() == Some(group)
                    && e.get("all_permissions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|perm| text(perm, "permission_level").as_deref() == Some(level))
            });
        if !granted {
            return Err(HandlerError::Invalid(format!(
                "the permissions of workspace file {} did not take: {group} lacks {level} after they were set",
                p.path
            )));
        }
    }
    Ok(())
}

/// The folder holding `path` (`/` for a top-level file).
fn parent_of(path: &str) -> &str {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Base64 without whitespace, for comparing encodings.
fn compact(b64: &str) -> String {
    b64.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The import body.
fn import_body(p: &Props, overwrite: bool) -> Value {
    json!({
        "path": p.path,
        "format": "RAW",
        "content": compact(&p.content_base64),
        "overwrite": overwrite,
    })
}

/// Makes the parent folders of the file.
async fn mkdirs(ctx: &Ctx, p: &Props) -> Result<(), HandlerError> {
    let parent = parent_of(&p.path);
    if parent == "/" {
        return Ok(());
    }
    ctx.client
        .workspace(
            &p.workspace_url,
            Method::POST,
            "/api/2.0/workspace/mkdirs",
            Some(&json!({"path": parent})),
        )
        .await
        .context(|| format!("making folder {parent}"))?;
    Ok(())
}

/// With overwrite off: the file at the path, when it holds the declared content; an error when
/// it holds another.
async fn existing(ctx: &Ctx, p: &Props) -> Result<Option<Value>, HandlerError> {
    let path = with_query(
        "/api/2.0/workspace/export",
        &[("path", p.path.as_str()), ("format", "RAW")],
    );
    match ctx
        .client
        .workspace(&p.workspace_url, Method::GET, &path, None)
        .await
    {
        Ok(v) if text(&v, "content").map(|c| compact(&c)) == Some(compact(&p.content_base64)) => {
            Ok(Some(v))
        }
        Ok(_) => Err(HandlerError::Invalid(format!(
            "a different file already exists at {} and Overwrite is false",
            p.path
        ))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e).context(|| format!("reading {}", p.path)),
    }
}

/// Writes the file of `p`, then sets and checks its permissions. `created`: a failed check
/// deletes the file (a Create's own file, which CloudFormation will not delete).
async fn write(ctx: &Ctx, p: &Props, overwrite: bool, created: bool) -> StepResult {
    check_path(p)?;
    mkdirs(ctx, p).await?;
    if overwrite {
        // Idempotent: repeating an overwrite import is harmless.
        ctx.client
            .workspace(
                &p.workspace_url,
                Method::POST,
                IMPORT,
                Some(&import_body(p, true)),
            )
            .await
            .context(|| format!("importing {}", p.path))?;
    } else {
        let body = import_body(p, false);
        find_or_create(
            ctx,
            || existing(ctx, p),
            || async {
                ctx.client
                    .workspace_create(&p.workspace_url, IMPORT, &body)
                    .await
                    .context(|| format!("importing {}", p.path))
            },
        )
        .await?;
    }
    if let Err(e) = secure(ctx, p).await {
        if created {
            let note = match remove(ctx, p, &p.path).await {
                Ok(()) => "; the file was deleted".to_owned(),
                Err(d) => format!("; deleting it failed too: {d}"),
            };
            return Err(HandlerError::Invalid(format!("{e}{note}")));
        }
        return Err(e);
    }
    done(
        p.path.clone(),
        data([(WorkspaceFileAttr::Path, p.path.clone())]),
    )
}

/// Deletes the file at `path`; absence is success.
async fn remove(ctx: &Ctx, p: &Props, path: &str) -> Result<(), HandlerError> {
    match ctx
        .client
        .workspace(
            &p.workspace_url,
            Method::POST,
            "/api/2.0/workspace/delete",
            Some(&json!({"path": path, "recursive": false})),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e).context(|| format!("deleting {path}")),
    }
}

impl Resource for WorkspaceFile {
    type Props = Props;
    type Attr = WorkspaceFileAttr;
    const ATTRS: &'static [WorkspaceFileAttr] = WorkspaceFileAttr::ALL;

    async fn create(ctx: &Ctx, _: &Request, p: &Props, _: Option<Value>) -> StepResult {
        write(ctx, p, *p.overwrite, true).await
    }

    async fn update(
        ctx: &Ctx,
        _: &Request,
        _: &str,
        p: &Props,
        old: &Props,
        _: Option<Value>,
    ) -> StepResult {
        // The file at the same path in the same workspace is ours: write it in place.
        let ours = p.path == old.path && p.workspace_url == old.workspace_url;
        write(ctx, p, ours || *p.overwrite, !ours).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, p: &Props, _: Option<Value>) -> StepResult {
        remove(ctx, p, id).await?;
        deleted(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_of_paths() {
        assert_eq!(parent_of("/Shared/cdkrs/init/a.sh"), "/Shared/cdkrs/init");
        assert_eq!(parent_of("/a.sh"), "/");
        assert_eq!(compact("YW Jj\nZA=="), "YWJjZA==");
    }

    #[test]
    fn only_admins_and_the_provider_may_write() {
        let acl = json!({"access_control_list": [
            {"group_name": "admins", "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": true, "inherited_from_object": ["/directories/1"]}]},
            {"service_principal_name": "me", "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": false}]},
            {"group_name": "users", "all_permissions": [{"permission_level": "CAN_READ", "inherited": false}, {"permission_level": "CAN_MANAGE", "inherited": true, "inherited_from_object": ["/directories/7"]}]},
            {"user_name": "eve@example.com", "all_permissions": [{"permission_level": "CAN_EDIT", "inherited": false}]},
            {"service_principal_name": "other", "all_permissions": [{"permission_level": "CAN_RUN", "inherited": false}]}
        ]});
        assert_eq!(
            writers_besides_admins(&acl, "me"),
            [
                (
                    "users".to_owned(),
                    "CAN_MANAGE".to_owned(),
                    "inherited from /directories/7".to_owned()
                ),
                (
                    "eve@example.com".to_owned(),
                    "CAN_EDIT".to_owned(),
                    "granted on the file".to_owned()
                ),
            ]
        );
        // A user named like the admins group is no admin.
        let spoof = json!({"access_control_list": [{"user_name": "admins", "all_permissions": [{"permission_level": "CAN_EDIT"}]}]});
        assert_eq!(writers_besides_admins(&spoof, "me").len(), 1);
    }
}

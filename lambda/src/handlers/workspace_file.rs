//! `Custom::DatabricksWorkspaceFile` (reference §3.6): a file imported `RAW` into the workspace
//! tree (its path is the physical id; its parent folders are made first). An update writes the
//! file again in place (overwrite); a new path is a new file (replacement). Delete tolerates
//! absence. With `Overwrite` false, a file already at the path is adopted only when its content
//! is the declared content.

use cdkrs_constructs::databricks::{self as db, Runtime, WorkspaceFileAttr};
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

/// Writes the file of `p`.
async fn write(ctx: &Ctx, p: &Props, overwrite: bool) -> StepResult {
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
    done(
        p.path.clone(),
        data([(WorkspaceFileAttr::Path, p.path.clone())]),
    )
}

impl Resource for WorkspaceFile {
    type Props = Props;
    type Attr = WorkspaceFileAttr;
    const ATTRS: &'static [WorkspaceFileAttr] = WorkspaceFileAttr::ALL;

    async fn create(ctx: &Ctx, _: &Request, p: &Props, _: Option<Value>) -> StepResult {
        write(ctx, p, *p.overwrite).await
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
        write(ctx, p, ours || *p.overwrite).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, p: &Props, _: Option<Value>) -> StepResult {
        match ctx
            .client
            .workspace(
                &p.workspace_url,
                Method::POST,
                "/api/2.0/workspace/delete",
                Some(&json!({"path": id, "recursive": false})),
            )
            .await
        {
            Ok(_) => deleted(id),
            Err(e) if e.is_not_found() => deleted(id),
            Err(e) => Err(e).context(|| format!("deleting {id}")),
        }
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
}

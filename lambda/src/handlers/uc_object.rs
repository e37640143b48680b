//! One mechanism for the Unity Catalog objects that hold or reach data, reached through a
//! workspace (`/api/2.1/unity-catalog/…`): storage credentials, external locations and
//! catalogs. Each is addressed by its name, unique in the metastore (databricks-sdk 0.167
//! `catalog.py`: `StorageCredentialsAPI`, `ExternalLocationsAPI`, `CatalogsAPI`, each with
//! `create` = `POST <path>`, `get`/`update`/`delete` = `GET`/`PATCH`/`DELETE <path>/{name}`),
//! so the physical id is the name.
//!
//! - **Ownership**: these objects have no tags. Each carries the resource's *stable* mark
//!   (`handlers::mark::stable`: the stack ARN without its GUID and the logical id), so that a
//!   later stack of the same name adopts what an earlier one kept (see Delete). Where it is
//!   carried is the kind's ([`UcObject::mark_of`]): a catalog's `properties`, a credential's or
//!   location's `comment`.
//! - **Create** looks the name up (`GET <path>/{name}`): this resource's object is adopted and
//!   brought to the declared settings (`PATCH`); a same-named object without the mark fails the
//!   Create naming it ([`mark::foreign`]) and is left as it is; otherwise it is created (again
//!   after a create whose outcome is unknown: [`find_or_create`]).
//! - **Update** makes the object again when a create-only property changed (a new name is a
//!   new object, and CloudFormation deletes the old one), else `PATCH`es what differs.
//! - **Delete never loses data**: `DELETE` without `force` (the SDK's `force` "Force deletion
//!   even if …": left unset). When Databricks refuses because the object is in use or not empty
//!   ([`ApiError::is_in_use`]), the provider keeps it, answers SUCCESS and logs which object it
//!   kept and why; the next deploy of a stack of the same name adopts it. An object that is
//!   gone, or no longer carries this resource's mark, is success too (nothing is deleted that
//!   this stack did not create).

use std::future::Future;
use std::marker::PhantomData;

use cdkrs_constructs::custom_resource::CustomAttribute;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    create_only_changes, deleted, done, find_or_create, mark, Context, Ctx, Data, HandlerError,
    Properties, Resource, StepResult,
};
use crate::client::{ApiError, Method};
use crate::event::Request;

/// One kind of Unity Catalog object.
pub(crate) trait UcObject: Send + Sync + 'static {
    /// The properties (`db::X<Runtime>`).
    type Props: DeserializeOwned + Properties + Send + Sync;
    /// The attribute enum.
    type Attr: CustomAttribute + Send + Sync + 'static;
    /// Every attribute a success carries.
    const ATTRS: &'static [Self::Attr];
    /// What the object is called in messages (`storage credential`).
    const WHAT: &'static str;
    /// The collection path (`/api/2.1/unity-catalog/storage-credentials`).
    const PATH: &'static str;

    /// The `WorkspaceUrl` property.
    fn workspace_url(p: &Self::Props) -> &str;

    /// The `Name` property.
    fn name(p: &Self::Props) -> &str;

    /// The create body for `p`, carrying `mark`.
    fn create_body(p: &Self::Props, mark: &str) -> Value;

    /// The `PATCH` body that brings `current` to the settings of `p` (carrying `mark`), or
    /// `None` when it has them. Errors when it cannot be brought there in place.
    fn update_body(
        p: &Self::Props,
        mark: &str,
        current: &Value,
    ) -> Result<Option<Value>, HandlerError>;

    /// The mark `object` carries, if any.
    fn mark_of(object: &Value) -> Option<String>;

    /// The attributes of a success.
    fn data(p: &Self::Props, object: &Value) -> Data;

    /// What to do after Databricks refused to delete the object `name` with `error` because
    /// it is in use or not empty. Default: keep it, in Databricks' words.
    fn on_refusal(
        _ctx: &Ctx,
        _p: &Self::Props,
        _name: &str,
        error: &ApiError,
    ) -> impl Future<Output = Refusal> + Send {
        let said = error.message.clone();
        async move { Refusal::Keep(said) }
    }
}

/// What a refused delete leads to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// What was in the way is gone (it held no data): delete again.
    Retry,
    /// Keep the object, for this reason (for the log).
    Keep(String),
}

/// The path of the object `name`.
pub(crate) fn object_path<T: UcObject>(name: &str) -> String {
    format!("{}/{}", T::PATH, path_segment(name))
}

/// `text` percent-encoded for one path segment (names may hold spaces or other characters).
pub(crate) fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The object `name`, if it exists.
async fn get<T: UcObject>(
    ctx: &Ctx,
    p: &T::Props,
    name: &str,
) -> Result<Option<Value>, HandlerError> {
    match ctx
        .client
        .workspace(
            T::workspace_url(p),
            Method::GET,
            &object_path::<T>(name),
            None,
        )
        .await
    {
        Ok(object) => Ok(Some(object)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e).context(|| format!("reading {} {name}", T::WHAT)),
    }
}

/// The object named as `p` says if it is this resource's; somebody else's is an error naming it.
async fn lookup_ours<T: UcObject>(
    ctx: &Ctx,
    p: &T::Props,
    mark: &str,
) -> Result<Option<Value>, HandlerError> {
    let name = T::name(p);
    match get::<T>(ctx, p, name).await? {
        Some(object) if T::mark_of(&object).as_deref() == Some(mark) => Ok(Some(object)),
        Some(object) => Err(mark::foreign(
            T::WHAT,
            name,
            &super::text(&object, "id").unwrap_or_else(|| name.to_owned()),
        )),
        None => Ok(None),
    }
}

/// `PATCH`es `current` to the settings of `p` when they differ; the object as it now is.
async fn reconcile<T: UcObject>(
    ctx: &Ctx,
    p: &T::Props,
    mark: &str,
    current: Value,
) -> Result<Value, HandlerError> {
    let Some(body) = T::update_body(p, mark, &current)? else {
        return Ok(current);
    };
    let name = T::name(p);
    ctx.client
        .workspace(
            T::workspace_url(p),
            Method::PATCH,
            &object_path::<T>(name),
            Some(&body),
        )
        .await
        .context(|| format!("updating {} {name}", T::WHAT))
}

/// The object of `p`, adopted (and brought to the declared settings) or created.
async fn ensure<T: UcObject>(ctx: &Ctx, request: &Request, p: &T::Props) -> StepResult {
    let mark = mark::stable(request);
    let name = T::name(p);
    let body = T::create_body(p, &mark);
    let (object, adopted) = find_or_create(
        ctx,
        || lookup_ours::<T>(ctx, p, &mark),
        || async {
            ctx.client
                .workspace_create(T::workspace_url(p), T::PATH, &body)
                .await
                .context(|| format!("creating {} {name}", T::WHAT))
        },
    )
    .await?;
    let object = if adopted {
        tracing::info!(name = %name, what = T::WHAT, "adopting this resource's object");
        reconcile::<T>(ctx, p, &mark, object).await?
    } else {
        object
    };
    done(name, T::data(p, &object))
}

/// The handler of a [`UcObject`] kind (a wrapper: the account objects' blanket impl holds the
/// plain types).
pub(crate) struct Uc<T>(PhantomData<T>);

impl<T: UcObject> Resource for Uc<T> {
    type Props = T::Props;
    type Attr = T::Attr;
    const ATTRS: &'static [T::Attr] = T::ATTRS;

    async fn create(ctx: &Ctx, request: &Request, p: &T::Props, _: Option<Value>) -> StepResult {
        ensure::<T>(ctx, request, p).await
    }

    async fn update(
        ctx: &Ctx,
        request: &Request,
        _: &str,
        p: &T::Props,
        _: &T::Props,
        _: Option<Value>,
    ) -> StepResult {
        let changed = create_only_changes::<<T::Props as Properties>::Template>(request);
        if !changed.is_empty() {
            tracing::info!(changed = ?changed, "create-only properties changed: a new {}", T::WHAT);
        }
        // Whether in place or anew, the object named as configured is this resource's (it is
        // adopted and brought to the declared settings) or is made.
        ensure::<T>(ctx, request, p).await
    }

    async fn delete(
        ctx: &Ctx,
        request: &Request,
        id: &str,
        p: &T::Props,
        _: Option<Value>,
    ) -> StepResult {
        let url = T::workspace_url(p);
        let mark = mark::stable(request);
        match get::<T>(ctx, p, id).await? {
            None => return deleted(id),
            Some(object) if T::mark_of(&object).as_deref() != Some(mark.as_str()) => {
                tracing::warn!(name = %id, what = T::WHAT, "left alone: it no longer carries this resource's mark");
                return deleted(id);
            }
            Some(_) => {}
        }
        let mut tried_clearing = false;
        loop {
            match ctx
                .client
                .workspace(url, Method::DELETE, &object_path::<T>(id), None)
                .await
            {
                Ok(_) => return deleted(id),
                Err(e) if e.is_not_found() => return deleted(id),
                Err(e) if e.is_in_use() => match T::on_refusal(ctx, p, id, &e).await {
                    Refusal::Retry if !tried_clearing => tried_clearing = true,
                    Refusal::Retry => {
                        return Err(e).context(|| format!("deleting {} {id}", T::WHAT))
                    }
                    Refusal::Keep(why) => {
                        tracing::warn!(
                            name = %id,
                            what = T::WHAT,
                            "kept {} {id}: {why}; the next deploy of this stack adopts it",
                            T::WHAT
                        );
                        return deleted(id);
                    }
                },
                Err(e) => return Err(e).context(|| format!("deleting {} {id}", T::WHAT)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_path_segment() {
        assert_eq!(path_segment("acme_raw"), "acme_raw");
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
    }
}

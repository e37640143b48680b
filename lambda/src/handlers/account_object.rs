//! One mechanism for the account configuration objects (credentials, storage, network, key and
//! log-delivery configurations): the Account API has no update for them, so every one follows
//! the same life:
//!
//! - **Create** lists the objects of its kind and adopts one that is this resource's (it carries
//!   the resource's ownership mark, see [`mark`]) and has the declared settings (a retried
//!   Create); a same-named object that is not this resource's fails the Create naming it
//!   ([`mark::foreign`]) and is left as it is; otherwise it creates the object (again after a
//!   create whose outcome is unknown, see [`find_or_create`]).
//! - **Update** keeps the object when no create-only property changed
//!   ([`create_only_changes`], every property of these types is create-only) and it still
//!   exists; otherwise it makes a new object (a replacement: CloudFormation deletes the old one).
//! - **Delete** deletes it, tolerating absence and retrying while a workspace still uses it.
//!
//! A kind is a short [`AccountObject`] impl: its path, list key and id field, its create body,
//! whether an object has the declared settings, and (where the default does not fit) how
//! ownership is read, how the list pages and what Delete does. The blanket
//! `impl<T: AccountObject> Resource for T` is the one skeleton.

use std::future::Future;

use cdkrs_constructs::custom_resource::CustomAttribute;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    check_account, create_only_changes, data, delete_tolerant, deleted, done, find_or_create,
    items, mark, request_token, required, text, Context, Ctx, HandlerError, Properties, Resource,
    StepResult,
};
use crate::client::Method;
use crate::event::Request;

/// Whose an object found in the list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// This resource's (it carries the resource's mark): adopted when its settings match.
    Ours,
    /// Somebody else's, with the name this resource asks for: a Create fails naming it.
    Foreign,
    /// Anything else: ignored.
    Unrelated,
}

/// One kind of account configuration object.
pub(crate) trait AccountObject: Send + Sync + 'static {
    /// The properties (`db::X<Runtime>`).
    type Props: DeserializeOwned + Properties + Send + Sync;
    /// The attribute enum (one attribute: the id).
    type Attr: CustomAttribute + Send + Sync + 'static;
    /// The id attribute.
    const ID_ATTR: Self::Attr;
    /// Every attribute a success carries.
    const ATTRS: &'static [Self::Attr];
    /// What the object is called in messages (`credential configuration`).
    const WHAT: &'static str;
    /// The path below `/accounts/{account_id}` (`/credentials`).
    const PATH: &'static str;
    /// The key of the list in a wrapped list answer (account lists are bare arrays).
    const LIST_KEY: &'static str;
    /// The id field of an object (`credentials_id`).
    const ID_FIELD: &'static str;
    /// The name field of an object (`credentials_name`), when the kind has one.
    const NAME_FIELD: Option<&'static str>;

    /// The `AccountId` property.
    fn account_id(p: &Self::Props) -> &str;

    /// The configured name (without the mark), when the kind has one.
    fn name(p: &Self::Props) -> Option<&str>;

    /// The create body for `p`, with `name` (marked) as the object's name.
    fn body(p: &Self::Props, name: Option<&str>) -> Result<Value, HandlerError>;

    /// Whether `object` has the declared settings of `p` (its name aside).
    fn matches(object: &Value, p: &Self::Props) -> bool;

    /// Whose `object` is. Default: this resource's when its name is the configured name with
    /// the resource's mark ([`mark::is_named`]), somebody else's when it is named exactly as
    /// configured, else unrelated (another resource's, or this one's under a former name).
    fn owner(request: &Request, p: &Self::Props, object: &Value) -> Owner {
        let (Some(field), Some(base)) = (Self::NAME_FIELD, Self::name(p)) else {
            return Owner::Unrelated;
        };
        let name = text(object, field).unwrap_or_default();
        if mark::is_named(&name, base, &mark::mark(request)) {
            Owner::Ours
        } else if name == base {
            Owner::Foreign
        } else {
            Owner::Unrelated
        }
    }

    /// The error for a foreign object found at Create. Default: [`mark::foreign`].
    fn foreign(object: &Value) -> HandlerError {
        let name = Self::NAME_FIELD
            .and_then(|f| text(object, f))
            .unwrap_or_default();
        let id = text(object, Self::ID_FIELD).unwrap_or_default();
        mark::foreign(Self::WHAT, &name, &id)
    }

    /// Every object of the kind. Default: `GET PATH` (a bare array, or wrapped under
    /// [`Self::LIST_KEY`]).
    fn list(ctx: &Ctx) -> impl Future<Output = Result<Vec<Value>, HandlerError>> + Send {
        async move {
            let all = ctx
                .client
                .account(Method::GET, Self::PATH, None)
                .await
                .context(|| format!("listing {}s", Self::WHAT))?;
            Ok(items(all, Self::LIST_KEY))
        }
    }

    /// The object in a create answer. Default: the answer itself.
    fn created(answer: Value) -> Value {
        answer
    }

    /// Makes an adopted object usable again (log delivery: re-enable). Default: nothing.
    fn adopted(
        _ctx: &Ctx,
        _object: &Value,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async { Ok(()) }
    }

    /// Whether the object `id` still exists. Default: `GET PATH/id` answers.
    fn exists(ctx: &Ctx, id: &str) -> impl Future<Output = Result<bool, HandlerError>> + Send {
        async move {
            match ctx
                .client
                .account(Method::GET, &format!("{}/{id}", Self::PATH), None)
                .await
            {
                Ok(_) => Ok(true),
                // Gone behind the stack's back: make it again.
                Err(e) if e.is_not_found() => Ok(false),
                Err(e) => Err(e).context(|| format!("reading {} {id}", Self::WHAT)),
            }
        }
    }

    /// Removes the object `id`. Default: `DELETE PATH/id`, absence is success, retried while
    /// a workspace still uses it.
    fn remove(ctx: &Ctx, id: &str) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async move {
            delete_tolerant(ctx, || async {
                ctx.client
                    .account(Method::DELETE, &format!("{}/{id}", Self::PATH), None)
                    .await
                    .context(|| format!("deleting {} {id}", Self::WHAT))
            })
            .await
        }
    }
}

/// The object of this resource with the settings of `p` (not `exclude`), if any; an error if
/// the only candidates are somebody else's.
async fn lookup<T: AccountObject>(
    ctx: &Ctx,
    request: &Request,
    p: &T::Props,
    exclude: Option<&str>,
) -> Result<Option<Value>, HandlerError> {
    let mut foreign = None;
    for object in T::list(ctx).await? {
        if exclude.is_some() && text(&object, T::ID_FIELD).as_deref() == exclude {
            continue;
        }
        match T::owner(request, p, &object) {
            Owner::Ours if T::matches(&object, p) => {
                T::adopted(ctx, &object).await?;
                return Ok(Some(object));
            }
            Owner::Foreign => foreign = foreign.or(Some(object)),
            Owner::Ours | Owner::Unrelated => {}
        }
    }
    match foreign {
        Some(object) => Err(T::foreign(&object)),
        None => Ok(None),
    }
}

/// The object for `p`, adopted or created; `exclude` is the object an Update replaces.
async fn ensure<T: AccountObject>(
    ctx: &Ctx,
    request: &Request,
    p: &T::Props,
    exclude: Option<&str>,
) -> StepResult {
    let mark = mark::mark(request);
    // An Update's new object gets the event's token too: the old one keeps its name until
    // CloudFormation deletes it, and credentials names are unique in the account.
    let token = exclude.map(|_| request_token(request));
    let name = T::name(p).map(|base| mark::named(base, &mark, token.as_deref()));
    let body = T::body(p, name.as_deref())?;
    let label = name.clone().unwrap_or_else(|| T::WHAT.to_owned());
    let (object, _) = find_or_create(
        ctx,
        || lookup::<T>(ctx, request, p, exclude),
        || async {
            ctx.client
                .account_create(T::PATH, &body)
                .await
                .map(T::created)
                .context(|| format!("creating {} {label}", T::WHAT))
        },
    )
    .await?;
    let id = required(&object, T::ID_FIELD, &format!("creating a {}", T::WHAT))?;
    done(id.clone(), data([(T::ID_ATTR, id)]))
}

impl<T: AccountObject> Resource for T {
    type Props = T::Props;
    type Attr = T::Attr;
    const ATTRS: &'static [T::Attr] = T::ATTRS;

    async fn create(ctx: &Ctx, request: &Request, p: &T::Props, _: Option<Value>) -> StepResult {
        check_account(ctx, T::account_id(p))?;
        ensure::<T>(ctx, request, p, None).await
    }

    async fn update(
        ctx: &Ctx,
        request: &Request,
        id: &str,
        p: &T::Props,
        _: &T::Props,
        _: Option<Value>,
    ) -> StepResult {
        check_account(ctx, T::account_id(p))?;
        let changed = create_only_changes::<<T::Props as Properties>::Template>(request);
        if changed.is_empty() && T::exists(ctx, id).await? {
            return done(id, data([(T::ID_ATTR, id.to_owned())]));
        }
        if !changed.is_empty() {
            tracing::info!(changed = ?changed, "create-only properties changed: a new {}", T::WHAT);
        }
        ensure::<T>(ctx, request, p, Some(id)).await
    }

    async fn delete(
        ctx: &Ctx,
        _: &Request,
        id: &str,
        _: &T::Props,
        _: Option<Value>,
    ) -> StepResult {
        T::remove(ctx, id).await?;
        deleted(id)
    }
}

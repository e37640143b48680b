//! One handler per Databricks custom-resource type, behind one trait ([`Resource`]): create,
//! update and delete, each able to answer "not done yet" with the progress to resume from.
//!
//! Rules every handler follows:
//! - **Update** changes the object in place where the API allows it and otherwise creates a new
//!   one and returns its id: CloudFormation then deletes the old one (replacement).
//! - **Create is idempotent**: it first looks for what an earlier attempt of the same event made
//!   and adopts it only when it is this resource's: it carries the resource's ownership mark
//!   (see `handlers::mark`: a name part, a SCIM `externalId` or a tag; key configurations: the stack's
//!   own key). A same-named object without the mark fails the Create, naming it and the fix,
//!   and is neither changed nor deleted. A create whose outcome is unknown (a 5xx, a cut
//!   answer) is followed by another look before trying again.
//! - The account configuration objects share one implementation (`handlers::account_object`);
//!   so do the Unity Catalog objects that hold data (`handlers::uc_object`: storage credentials,
//!   external locations, catalogs, which carry a *stable* mark and are kept, not deleted, while
//!   in use or not empty) and the SCIM groups of a workspace and of the account
//!   (`handlers::scim`).
//! - Routing: [`handle`] picks the handler whose property type's `RESOURCE_TYPE` is the
//!   request's, from one list of handler types ([`HANDLED`]).
//! - **Delete** of an object that is already gone succeeds.
//! - Success carries exactly the attributes of the type's `…Attr::ALL` as `Data`.

mod account_group;
mod account_object;
mod catalog;
mod cluster;
mod cluster_permissions;
mod credentials;
mod external_location;
mod grants;
mod group;
mod instance_profile;
mod key;
mod log_delivery;
mod mark;
mod metastore;
mod network;
mod scim;
mod storage;
mod storage_credential;
mod uc_object;
mod workspace;
mod workspace_assignment;
mod workspace_file;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdkrs_constructs::custom_resource::{CustomAttribute, CustomResourceProperties};
use cdkrs_databricks as db;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{
    ApiError, Auth, DatabricksClient, ErrorKind, RetryPolicy, DEFAULT_ACCOUNTS_HOST,
};
use crate::event::{EventError, Request};
use crate::response::{Outcome, Redactor};

/// Environment variable holding the Databricks account id.
pub const ACCOUNT_ID_ENV: &str = cdkrs_databricks::env::ACCOUNT_ID;
/// Environment variable holding the Account API host (optional).
pub const ACCOUNTS_HOST_ENV: &str = cdkrs_databricks::env::ACCOUNTS_HOST;
/// Environment variable holding the service principal's OAuth client id.
pub const CLIENT_ID_ENV: &str = cdkrs_databricks::env::CLIENT_ID;

/// The wait between two polls of a long operation (a workspace provisioning, a cluster starting).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// Why a [`Ctx`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CtxError {
    /// A required environment variable is missing or empty.
    #[error("environment variable {0} is not set: the stack sets it on the provider function")]
    MissingEnv(&'static str),
    /// The HTTP client could not be built.
    #[error("{0}")]
    Client(ApiError),
}

/// What every handler shares: the Databricks client and the polling pace.
#[derive(Debug)]
pub struct Ctx {
    /// The Databricks client of the provider's service principal.
    pub client: DatabricksClient,
    /// The wait between two polls of a long operation. Default: [`DEFAULT_POLL_INTERVAL`].
    pub poll_interval: Duration,
}

impl Ctx {
    /// From the function's environment ([`ACCOUNT_ID_ENV`], [`CLIENT_ID_ENV`], optionally
    /// [`ACCOUNTS_HOST_ENV`]) and the secret read at run time.
    pub fn new(client_secret: String) -> Result<Ctx, CtxError> {
        Ctx::from_env(|k| std::env::var(k).ok(), client_secret)
    }

    /// As [`Ctx::new`], with the environment read through `get`.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        client_secret: String,
    ) -> Result<Ctx, CtxError> {
        let required = |name: &'static str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(CtxError::MissingEnv(name))
        };
        let auth = Auth {
            accounts_host: get(ACCOUNTS_HOST_ENV)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_ACCOUNTS_HOST.to_owned()),
            account_id: required(ACCOUNT_ID_ENV)?,
            client_id: required(CLIENT_ID_ENV)?,
            client_secret,
        };
        let client =
            DatabricksClient::new(auth, RetryPolicy::default()).map_err(CtxError::Client)?;
        Ok(Ctx::with_client(client))
    }

    /// Around an existing client, polling every [`DEFAULT_POLL_INTERVAL`].
    pub fn with_client(client: DatabricksClient) -> Ctx {
        Ctx {
            client,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// A redactor that knows the client secret (for the answers and logs of `respond`).
    pub fn redactor(&self) -> Redactor {
        let mut r = Redactor::default();
        r.add(&self.client.auth().client_secret);
        r
    }
}

/// The property types a handler reads: each names its template form, whose
/// `CustomResourceProperties` carry the resource type and the create-only list.
pub(crate) trait Properties {
    /// `X<Template>` for `X<Runtime>`.
    type Template: CustomResourceProperties;
}

/// Implements [`Properties`] for the runtime form of Databricks property structs.
macro_rules! properties {
    ($($name:ident),+ $(,)?) => {
        $(impl Properties for db::$name<db::Runtime> {
            type Template = db::$name<db::Template>;
        })+
    };
}

properties!(
    Credentials,
    StorageConfiguration,
    Network,
    CustomerManagedKey,
    Workspace,
    WorkspaceAssignment,
    LogDelivery,
    InstanceProfile,
    Group,
    WorkspaceFile,
    Cluster,
    MetastoreAssignment,
    AccountGroup,
    StorageCredential,
    ExternalLocation,
    Catalog,
    Grants,
);

/// The one list of handlers: [`handle`] routes a request to the handler whose property type's
/// `RESOURCE_TYPE` is the request's resource type, and [`HANDLED`] lists those types.
macro_rules! handlers {
    ($($handler:ty),+ $(,)?) => {
        /// The resource type of every handler, in the order of the list.
        pub const HANDLED: &[&str] = &[$(<$handler as Resource>::RESOURCE_TYPE),+];

        /// Routes a request to the handler of its resource type.
        pub async fn handle(ctx: Arc<Ctx>, request: Request, progress: Option<Value>) -> Outcome {
            let ty = request.common().resource_type.as_str();
            $(
                if ty == <$handler as Resource>::RESOURCE_TYPE {
                    return run::<$handler>(ctx.as_ref(), &request, progress).await;
                }
            )+
            Outcome::Failed {
                reason: format!("{ty} is not a resource type of this provider"),
            }
        }
    };
}

handlers!(
    credentials::Credentials,
    storage::Storage,
    network::Network,
    key::Key,
    workspace::Workspace,
    workspace_assignment::Assignment,
    log_delivery::LogDelivery,
    instance_profile::InstanceProfile,
    group::Group,
    workspace_file::WorkspaceFile,
    cluster::Cluster,
    metastore::MetastoreAssignment,
    account_group::AccountGroup,
    uc_object::Uc<storage_credential::StorageCredential>,
    uc_object::Uc<external_location::ExternalLocation>,
    uc_object::Uc<catalog::Catalog>,
    grants::Grants,
);

/// The `Fn::GetAtt` attributes of an answer.
pub(crate) type Data = BTreeMap<String, String>;

/// What one handler step achieved.
#[derive(Debug)]
pub(crate) enum Step {
    /// Finished: the physical id and the attributes (none for a delete).
    Done {
        /// The physical id.
        id: String,
        /// The attributes.
        data: Data,
    },
    /// Not finished: ask again with this progress after the poll interval.
    Wait(Value),
}

/// Why a handler failed (the text becomes the FAILED answer's reason).
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandlerError {
    /// A Databricks call failed.
    #[error("{context}: {source}")]
    Api {
        /// What the handler was doing.
        context: String,
        /// The classified API error.
        source: ApiError,
    },
    /// The properties do not fit the resource type.
    #[error("{0}")]
    Properties(#[from] EventError),
    /// Anything else, in plain words.
    #[error("{0}")]
    Invalid(String),
}

/// Adds what the handler was doing to an API error.
pub(crate) trait Context<T> {
    /// The error with `context`.
    fn context(self, context: impl FnOnce() -> String) -> Result<T, HandlerError>;
}

impl<T> Context<T> for Result<T, ApiError> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T, HandlerError> {
        self.map_err(|source| HandlerError::Api {
            context: context(),
            source,
        })
    }
}

/// A handler step's result.
pub(crate) type StepResult = Result<Step, HandlerError>;

/// One custom-resource type.
pub(crate) trait Resource {
    /// The properties (`…<Runtime>`).
    type Props: DeserializeOwned + Properties + Send + Sync;
    /// The attribute enum.
    type Attr: CustomAttribute + 'static;
    /// Every attribute a success must carry.
    const ATTRS: &'static [Self::Attr];
    /// The resource type this handler serves: its property type's `RESOURCE_TYPE`.
    const RESOURCE_TYPE: &'static str =
        <<Self::Props as Properties>::Template as CustomResourceProperties>::RESOURCE_TYPE;

    /// A Create (again with `progress` while it answers [`Step::Wait`]).
    fn create(
        ctx: &Ctx,
        request: &Request,
        props: &Self::Props,
        progress: Option<Value>,
    ) -> impl Future<Output = StepResult> + Send;

    /// An Update of the object `id` from `old` to `props`.
    fn update(
        ctx: &Ctx,
        request: &Request,
        id: &str,
        props: &Self::Props,
        old: &Self::Props,
        progress: Option<Value>,
    ) -> impl Future<Output = StepResult> + Send;

    /// A Delete of the object `id`.
    fn delete(
        ctx: &Ctx,
        request: &Request,
        id: &str,
        props: &Self::Props,
        progress: Option<Value>,
    ) -> impl Future<Output = StepResult> + Send;
}

/// Runs one step of `R` for `request` and turns it into an [`Outcome`].
async fn run<R: Resource>(ctx: &Ctx, request: &Request, progress: Option<Value>) -> Outcome {
    let step = async {
        match request {
            Request::Create { .. } => {
                let props = request.properties::<R::Props>()?;
                R::create(ctx, request, &props, progress).await
            }
            Request::Update {
                physical_resource_id,
                ..
            } => {
                let props = request.properties::<R::Props>()?;
                let old = request.old_properties::<R::Props>()?.ok_or_else(|| {
                    HandlerError::Invalid("an Update without old properties".into())
                })?;
                R::update(ctx, request, physical_resource_id, &props, &old, progress).await
            }
            Request::Delete {
                physical_resource_id,
                ..
            } => {
                let props = request.properties::<R::Props>()?;
                R::delete(ctx, request, physical_resource_id, &props, progress).await
            }
        }
    }
    .await;
    let logical_id = &request.common().logical_resource_id;
    match step {
        Ok(Step::Done { id, data }) => {
            if !matches!(request, Request::Delete { .. }) {
                let expected: Vec<&str> = R::ATTRS.iter().map(|a| a.name()).collect();
                let mut got: Vec<&str> = data.keys().map(String::as_str).collect();
                let mut want = expected.clone();
                got.sort_unstable();
                want.sort_unstable();
                if got != want {
                    return Outcome::Failed {
                        reason: format!(
                            "the provider returned attributes {got:?} instead of {want:?} (a bug: please report it)"
                        ),
                    };
                }
            }
            tracing::info!(logical_id = %logical_id, physical_id = %id, "done");
            Outcome::Success {
                physical_resource_id: id,
                data,
            }
        }
        Ok(Step::Wait(progress)) => {
            tracing::info!(logical_id = %logical_id, progress = %progress, "waiting");
            Outcome::InProgress {
                progress,
                retry_after: ctx.poll_interval,
            }
        }
        Err(e) => {
            let reason = ctx.client.redact(&e.to_string());
            tracing::warn!(logical_id = %logical_id, reason = %reason, "failed");
            Outcome::Failed { reason }
        }
    }
}

/// `Data` from attribute/value pairs.
pub(crate) fn data<A: CustomAttribute>(pairs: impl IntoIterator<Item = (A, String)>) -> Data {
    pairs
        .into_iter()
        .map(|(a, v)| (a.name().to_owned(), v))
        .collect()
}

/// A finished step.
pub(crate) fn done(id: impl Into<String>, data: Data) -> StepResult {
    Ok(Step::Done {
        id: id.into(),
        data,
    })
}

/// A finished delete.
pub(crate) fn deleted(id: &str) -> StepResult {
    done(id, Data::new())
}

/// Fails unless the resource's `AccountId` is the provider's account.
pub(crate) fn check_account(ctx: &Ctx, account_id: &str) -> Result<(), HandlerError> {
    if account_id == ctx.client.account_id() {
        Ok(())
    } else {
        Err(HandlerError::Invalid(format!(
            "AccountId {account_id} is not the provider's Databricks account {} (DATABRICKS_ACCOUNT_ID)",
            ctx.client.account_id()
        )))
    }
}

/// A string field of an API object.
pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A required string field of an API answer, or an error naming it.
pub(crate) fn required(v: &Value, key: &str, what: &str) -> Result<String, HandlerError> {
    text(v, key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| HandlerError::Invalid(format!("the answer to {what} has no {key}")))
}

/// The strings of a list field (empty when absent: the API omits empty lists).
pub(crate) fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The items of a list answer: a bare array, or the array under `key` (absent when empty).
pub(crate) fn items(v: Value, key: &str) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Object(mut m) => match m.remove(key) {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Whether two lists hold the same strings, in any order.
pub(crate) fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&String> = a.iter().collect();
    let mut b: Vec<&String> = b.iter().collect();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

/// Reads a step's progress as `T`.
pub(crate) fn read_progress<T: DeserializeOwned>(progress: Value) -> Result<T, HandlerError> {
    serde_json::from_value(progress.clone()).map_err(|e| {
        HandlerError::Invalid(format!(
            "the operation's progress {progress} does not read: {e}"
        ))
    })
}

/// Finds what an earlier attempt made, else creates it: `lookup` then `create`, again after a
/// create whose outcome is unknown (a transient error) or that raced with another one (already
/// exists). Returns the object and whether it was adopted.
pub(crate) async fn find_or_create<L, LF, C, CF>(
    ctx: &Ctx,
    mut lookup: L,
    mut create: C,
) -> Result<(Value, bool), HandlerError>
where
    L: FnMut() -> LF,
    LF: Future<Output = Result<Option<Value>, HandlerError>>,
    C: FnMut() -> CF,
    CF: Future<Output = Result<Value, HandlerError>>,
{
    let policy = ctx.client.retry_policy();
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        if let Some(found) = lookup().await? {
            return Ok((found, true));
        }
        let error = match create().await {
            Ok(created) => return Ok((created, false)),
            Err(e) => e,
        };
        let retry = match &error {
            HandlerError::Api { source, .. } => match source.kind {
                ErrorKind::AlreadyExists => attempt < 3,
                ErrorKind::Transient | ErrorKind::RateLimited => {
                    attempt < policy.max_attempts && started.elapsed() < policy.max_elapsed
                }
                _ => false,
            },
            _ => false,
        };
        if !retry {
            return Err(error);
        }
        tracing::warn!(attempt, error = %ctx.client.redact(&error.to_string()), "create outcome unknown or raced; looking again");
        tokio::time::sleep(policy.backoff(attempt)).await;
    }
}

/// Repeats `delete` while the object is still in use (`INVALID_STATE`: a workspace being
/// deleted still references it), within the eventual-consistency budget. Absence is success.
pub(crate) async fn delete_tolerant<F, Fut>(ctx: &Ctx, mut delete: F) -> Result<(), HandlerError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Value, HandlerError>>,
{
    let policy = ctx.client.retry_policy();
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match delete().await {
            Ok(_) => return Ok(()),
            Err(HandlerError::Api { source, .. }) if source.is_not_found() => return Ok(()),
            Err(HandlerError::Api { context, source })
                if source.kind == ErrorKind::InvalidState
                    && started.elapsed() + policy.backoff(attempt)
                        < policy.eventual_consistency =>
            {
                tracing::warn!(attempt, context = %context, error = %source, "still in use; retrying the delete");
                tokio::time::sleep(policy.backoff(attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The create-only properties of `P` (its [`CustomResourceProperties::CREATE_ONLY`] pointers)
/// whose value differs between an Update's old and new properties: a non-empty answer means
/// the object must be replaced. One list decides here and in `cdkrs diff`.
///
/// [`CustomResourceProperties::CREATE_ONLY`]: cdkrs_constructs::custom_resource::CustomResourceProperties::CREATE_ONLY
pub(crate) fn create_only_changes<
    P: cdkrs_constructs::custom_resource::CustomResourceProperties,
>(
    request: &Request,
) -> Vec<&'static str> {
    let Request::Update {
        common,
        old_resource_properties,
        ..
    } = request
    else {
        return Vec::new();
    };
    P::CREATE_ONLY
        .iter()
        .copied()
        .filter(|pointer| {
            let inner = pointer.strip_prefix("/properties").unwrap_or(pointer);
            common.resource_properties.pointer(inner) != old_resource_properties.pointer(inner)
        })
        .collect()
}

/// A short, stable token of this event (CloudFormation reuses the RequestId on retries).
pub(crate) fn request_token(request: &Request) -> String {
    request
        .common()
        .request_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctx_reads_its_environment_and_never_shows_the_secret() {
        let env = |k: &str| match k {
            ACCOUNT_ID_ENV => Some("acct".to_owned()),
            CLIENT_ID_ENV => Some("cid".to_owned()),
            _ => None,
        };
        let ctx = Ctx::from_env(env, "the-secret-value".into()).expect("ctx");
        assert_eq!(ctx.client.auth().accounts_host, DEFAULT_ACCOUNTS_HOST);
        assert!(!format!("{ctx:?}").contains("the-secret-value"));
        assert_eq!(ctx.redactor().clean("a the-secret-value b"), "a *** b");
        let missing = Ctx::from_env(|_| None, "s".into()).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "environment variable DATABRICKS_ACCOUNT_ID is not set: the stack sets it on the provider function"
        );
    }

    #[test]
    fn every_resource_type_routes_to_exactly_one_handler() {
        use std::collections::BTreeSet;
        let handled: BTreeSet<&str> = HANDLED.iter().copied().collect();
        assert_eq!(
            handled.len(),
            HANDLED.len(),
            "two handlers claim one type: {HANDLED:?}"
        );
        let all: BTreeSet<&str> = db::resource_type::ALL.iter().copied().collect();
        assert_eq!(handled, all);
    }

    #[tokio::test]
    async fn an_unknown_resource_type_fails_naming_it() {
        let env = |k: &str| match k {
            ACCOUNT_ID_ENV => Some("acct".to_owned()),
            CLIENT_ID_ENV => Some("cid".to_owned()),
            _ => None,
        };
        let ctx = Arc::new(Ctx::from_env(env, "s".into()).expect("ctx"));
        let request: Request = serde_json::from_value(serde_json::json!({
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:p",
            "ResponseURL": "http://127.0.0.1:1/r",
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/g",
            "RequestId": "r",
            "LogicalResourceId": "X",
            "ResourceType": "Custom::DatabricksNothing",
            "ResourceProperties": {}
        }))
        .expect("a request");
        match handle(ctx, request, None).await {
            Outcome::Failed { reason } => assert_eq!(
                reason,
                "Custom::DatabricksNothing is not a resource type of this provider"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_answers_of_every_shape_read() {
        assert_eq!(items(serde_json::json!([1, 2]), "x").len(), 2);
        assert_eq!(items(serde_json::json!({"x": [1]}), "x").len(), 1);
        assert!(items(serde_json::json!({}), "x").is_empty());
        assert!(same_set(
            &["a".into(), "b".into()],
            &["b".into(), "a".into()]
        ));
        assert!(!same_set(&["a".into()], &["b".into()]));
    }
}

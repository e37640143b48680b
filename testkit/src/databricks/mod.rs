//! A fake Databricks server for the provider Lambda's tests (feature `databricks`).
//!
//! It follows `shared/reference/databricks-api.md`: the same paths, fields, states, error
//! bodies and quirks, on one axum server bound to `127.0.0.1` on a free port. That one base URL
//! serves the account host (`/api/2.0/accounts/{account_id}/…`), every workspace host
//! (`/api/2.0/…`, `/api/2.1/…`: all workspaces share one workspace-level store) and both OAuth
//! token endpoints. Transitions are driven by the clock: a workspace is `PROVISIONING` until
//! [`FakeConfig::workspace_provisioning_delay`] has passed since its creation, then `RUNNING`.
//!
//! ```no_run
//! # async fn demo() {
//! use testkit::databricks::{FakeConfig, FakeDatabricks};
//! let fake = FakeDatabricks::start(FakeConfig::default()).await;
//! fake.faults().on("/api/2.0/accounts").rate_limit_next(2, 1);
//! // … point the client at fake.base_url(), run it …
//! assert!(fake.state().workspaces.is_empty());
//! fake.stop().await;
//! # }
//! ```
//!
//! Areas: [`auth`] (OAuth M2M and bearer checks), [`account`] (account objects, workspaces,
//! log delivery, permission assignments), [`metastores`] (Unity Catalog metastores and their
//! assignments, account groups), [`workspace`] (SCIM groups, instance profiles, workspace
//! files), [`unity_catalog`] (storage credentials, external locations, catalogs, schemas,
//! grants), [`clusters`], [`permissions`] (workspace-object and cluster permissions),
//! [`faults`] (fault injection), [`state`] (storage and snapshots).
//!
//! Where the reference marks a behaviour **\[unverified\]** the fake picks one and says so on the
//! handler; a client should classify errors by `error_code` first, as the reference advises.

pub mod account;
pub mod auth;
pub mod clusters;
pub mod faults;
pub mod metastores;
pub mod permissions;
pub mod real_errors;
pub mod state;
pub mod unity_catalog;
mod wire;
pub mod workspace;

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use faults::{FaultKind, Faults};
pub use metastores::AutomaticMetastore;
pub use state::{
    ErrorAnswer, PermissionAssignment, RequestRecord, Snapshot, UcGrant, WorkspaceObject,
};

use state::Store;
use wire::ApiError;

/// How the fake behaves. `Default` gives test-friendly values (short delays, fixed credentials).
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The Databricks account id (a UUID); other ids in account paths answer 404.
    /// Default: `0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`.
    pub account_id: String,
    /// The service principal's OAuth client id. Default: `fake-client-id`.
    pub client_id: String,
    /// The service principal's OAuth secret. Default: `fake-client-secret`.
    pub client_secret: String,
    /// How long a workspace stays `PROVISIONING` (after create, or after a PATCH that
    /// re-provisions) before `RUNNING` or `FAILED`. Default: 100 ms.
    pub workspace_provisioning_delay: Duration,
    /// How long a cluster stays `PENDING` (or `RESTARTING`) before `RUNNING`. Default: 100 ms.
    pub cluster_start_delay: Duration,
    /// How long a deleted workspace stays `CANCELLING` before GET answers 404, and how long a
    /// terminated cluster stays `TERMINATING`. Default: 50 ms.
    pub deletion_delay: Duration,
    /// Lifetime of issued OAuth tokens (`expires_in`). Default: 3600 s.
    pub token_lifetime: Duration,
    /// The account's deployment-name prefix: a requested `deployment_name` `x` is stored as
    /// `<prefix>-x` (`EMPTY` gives `<prefix>`). `None` stores the requested name as is.
    /// Default: `acme`, as on a real account that has a prefix (a `deployment_name` can only be
    /// set on such an account: Terraform's `docs/resources/mws_workspaces.md`).
    pub deployment_name_prefix: Option<String>,
    /// Whether clusters may use DBFS init scripts; when false (new workspaces), a cluster spec
    /// with a `dbfs` init script answers 400 `FEATURE_DISABLED`. Default: false.
    pub dbfs_init_scripts_allowed: bool,
    /// Clusters per page of `GET /api/2.1/clusters/list` when the request names no
    /// `page_size` (the real default is not documented; a small one makes clients follow
    /// `next_page_token`). Default: 2.
    pub cluster_list_page_size: usize,
    /// More OAuth clients (service principals) that are members of every workspace but not
    /// admins: they get workspace tokens, belong to `users` and their `groups`, and are held to
    /// the workspace-object permissions ([`permissions`]). The main client ([`Self::client_id`])
    /// is a workspace admin. Default: none.
    pub non_admin_principals: Vec<FakePrincipal>,
    /// The IAM propagation race of `POST /credentials` (per role ARN) and of `POST /workspaces`
    /// (per credentials id, which validates the role again): see [`account`]. Default:
    /// [`Propagation::SHORT`], so every provider test goes through one failure.
    pub credentials_propagation: Propagation,
    /// The S3 write check of `POST /log-delivery` while a new role or bucket policy propagates
    /// (per credentials and storage configuration pair): see [`account`]. Default:
    /// [`Propagation::SHORT`].
    pub log_delivery_propagation: Propagation,
    /// The service principal's numeric account-SCIM id (the `principal_id` of its permission
    /// assignments). Default: `1000000000000001`.
    pub principal_id: i64,
    /// Whether the workspace token endpoint issues tokens only to a member of a workspace (the
    /// creator of one, or a principal with a permission assignment): see [`auth`]. Default:
    /// false, because most tests call workspace APIs of the fake without creating a workspace
    /// first (a real workspace host always belongs to one).
    pub workspace_membership_required: bool,
    /// Whether a PATCH of `storage_customer_managed_key_id` on a running workspace is accepted
    /// and then silently undone (the stored workspace keeps its old key), as the account API's
    /// update-workspace documentation warns. Default: false.
    pub storage_key_change_reverts: bool,
    /// How long after a workspace PATCH classic compute may not be created or started (real:
    /// 20 minutes); the cluster code reads it with the store's `compute_blocked_by_update`.
    /// Default: 100 ms.
    pub compute_blocked_after_update: Duration,
    /// The directory this server appends each answered request to, as JSON lines
    /// ([`RequestRecord`]) in a file of its own. Default: the directory named by
    /// [`REQUEST_LOG_ENV`], when set.
    pub request_log: Option<PathBuf>,
    /// Automatic enablement of Unity Catalog: a metastore Databricks made in this region,
    /// assigned to every workspace created there after a short delay (see [`metastores`]).
    /// Default: none (an account without Unity Catalog until a test creates a metastore).
    pub automatic_metastore: Option<AutomaticMetastore>,
    /// The Unity Catalog role check while a new role's trust propagates: the first attempts
    /// to create a storage credential (or an external location on it) for a new role ARN fail
    /// with the real "non self-assuming" body (see [`unity_catalog`]). Default:
    /// [`Propagation::SHORT`].
    pub storage_credential_propagation: Propagation,
    /// Whether workspace permission assignments are checked as on an identity-federated
    /// account: the workspace must have a metastore assigned and the principal must be an
    /// account principal (an account group, or the service principal
    /// [`Self::principal_id`]). Default: false, so tests written before account groups existed
    /// (made-up principal ids on workspaces without a metastore) keep their meaning.
    pub identity_federation_checks: bool,
}

/// A non-admin service principal of [`FakeConfig::non_admin_principals`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePrincipal {
    /// Its OAuth client id (its application id, the `service_principal_name` of ACLs).
    pub client_id: String,
    /// Its OAuth secret.
    pub client_secret: String,
    /// The workspace groups it is a member of, besides `users`.
    pub groups: Vec<String>,
}

/// An eventual-consistency race: the first `failures` attempts for a new key fail, and every
/// attempt until `window` has passed since the key was first seen. Both zero: no race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Propagation {
    /// Attempts that fail, at least, for each new key.
    pub failures: u32,
    /// How long, from the first attempt, attempts keep failing.
    pub window: Duration,
}

impl Propagation {
    /// No race at all.
    pub const NONE: Propagation = Propagation {
        failures: 0,
        window: Duration::ZERO,
    };
    /// One failure and 20 ms: short enough for tests, long enough that a client which does not
    /// retry fails.
    pub const SHORT: Propagation = Propagation {
        failures: 1,
        window: Duration::from_millis(20),
    };
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            account_id: "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b".to_owned(),
            client_id: "fake-client-id".to_owned(),
            client_secret: "fake-client-secret".to_owned(),
            workspace_provisioning_delay: Duration::from_millis(100),
            cluster_start_delay: Duration::from_millis(100),
            deletion_delay: Duration::from_millis(50),
            token_lifetime: Duration::from_secs(3600),
            deployment_name_prefix: Some("acme".to_owned()),
            dbfs_init_scripts_allowed: false,
            cluster_list_page_size: 2,
            non_admin_principals: Vec::new(),
            credentials_propagation: Propagation::SHORT,
            log_delivery_propagation: Propagation::SHORT,
            principal_id: 1_000_000_000_000_001,
            workspace_membership_required: false,
            storage_key_change_reverts: false,
            compute_blocked_after_update: Duration::from_millis(100),
            request_log: std::env::var_os(REQUEST_LOG_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            automatic_metastore: None,
            storage_credential_propagation: Propagation::SHORT,
            identity_federation_checks: false,
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: FakeConfig,
    pub(crate) base_url: String,
    pub(crate) faults: Faults,
    store: Mutex<Store>,
    log: Mutex<Vec<RequestRecord>>,
    /// The request log file in [`FakeConfig::request_log`], appended to as each request is
    /// answered.
    log_file: Option<Mutex<File>>,
}

/// When set to a directory, every [`FakeDatabricks`] appends each answered request there as
/// one JSON line ([`RequestRecord`]), in a file of its own
/// (`<test binary>-<pid>-<n>.jsonl`). Each line is written as its request is answered, so a
/// server dropped without [`FakeDatabricks::stop`] loses nothing. `scripts/test` sets it for
/// `cargo test` and checks the files against the Databricks SDK
/// (`testkit/python/check_requests.py`).
pub const REQUEST_LOG_ENV: &str = "CDKRS_DATABRICKS_REQUEST_LOG";

/// Opens this server's request log file in `dir` ([`FakeConfig::request_log`]).
///
/// # Panics
/// When the directory or the file cannot be created (the configuration asked for a log the run
/// cannot keep).
fn open_request_log(dir: Option<&Path>) -> Option<Mutex<File>> {
    static SERVERS: AtomicUsize = AtomicUsize::new(0);
    let dir = dir?;
    std::fs::create_dir_all(dir)
        .unwrap_or_else(|e| panic!("request log: cannot create {}: {e}", dir.display()));
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "process".to_owned());
    let n = SERVERS.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{program}-{}-{n}.jsonl", std::process::id()));
    let file = File::create(&path)
        .unwrap_or_else(|e| panic!("request log: cannot create {}: {e}", path.display()));
    Some(Mutex::new(file))
}

/// The handlers' state.
pub(crate) type Shared = Arc<Inner>;

impl Inner {
    /// The store, advanced to now.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.advance(Instant::now());
        store
    }

    /// 404 unless `account_id` is the fake's account (reference §2.0).
    pub(crate) fn check_account(&self, account_id: &str) -> Result<(), ApiError> {
        if account_id == self.config.account_id {
            Ok(())
        } else {
            Err(ApiError::not_found(
                "The account does not exist or the user does not belong to this account",
            ))
        }
    }
}

/// A running fake Databricks server. Dropping it aborts the server; [`FakeDatabricks::stop`]
/// shuts it down gracefully.
#[derive(Debug)]
pub struct FakeDatabricks {
    inner: Shared,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeDatabricks {
    /// Binds `127.0.0.1:0` and serves the fake on the current tokio runtime.
    ///
    /// # Panics
    /// When no loopback port can be bound (the test cannot run at all then).
    pub async fn start(config: FakeConfig) -> FakeDatabricks {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a free port on 127.0.0.1");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let log_file = open_request_log(config.request_log.as_deref());
        let mut store = Store::new();
        metastores::seed(&mut store, &config);
        let inner = Arc::new(Inner {
            config,
            base_url: format!("http://{addr}"),
            faults: Faults::default(),
            store: Mutex::new(store),
            log: Mutex::new(Vec::new()),
            log_file,
        });
        let app = router(Arc::clone(&inner));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        FakeDatabricks {
            inner,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`: the account host, every workspace host and the token endpoints.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration the fake runs with.
    pub fn config(&self) -> &FakeConfig {
        &self.inner.config
    }

    /// The URL of the workspace with this `deployment_name`: the fake itself (the real one is
    /// `https://{deployment_name}.cloud.databricks.com`, which a client builds from a template;
    /// tests set that template to [`FakeDatabricks::base_url`]).
    pub fn workspace_url(&self, _deployment_name: &str) -> String {
        self.inner.base_url.clone()
    }

    /// The account token endpoint (`/oidc/accounts/{account_id}/v1/token`).
    pub fn account_token_url(&self) -> String {
        format!(
            "{}/oidc/accounts/{}/v1/token",
            self.inner.base_url, self.inner.config.account_id
        )
    }

    /// The workspace token endpoint (`/oidc/v1/token`).
    pub fn workspace_token_url(&self) -> String {
        format!("{}/oidc/v1/token", self.inner.base_url)
    }

    /// A snapshot of every stored object, advanced to now.
    pub fn state(&self) -> Snapshot {
        self.inner.store().snapshot()
    }

    /// Every answered request so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.inner
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.inner
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The shared fault controller (clones share state; settable at any time).
    pub fn faults(&self) -> Faults {
        self.inner.faults.clone()
    }

    /// The workspace PATCHed less than [`FakeConfig::compute_blocked_after_update`] ago, if
    /// any: while it is `Some`, classic compute may not be created or started.
    pub fn compute_blocked_by_update(&self) -> Option<i64> {
        self.inner
            .store()
            .compute_blocked_by_update(self.inner.config.compute_blocked_after_update)
    }

    /// Terminates every cluster that is not `TERMINATED`, at once, as an operator does on the
    /// Compute page before a workspace update (the account API refuses one while classic
    /// compute runs); returns their ids.
    pub fn terminate_clusters(&self) -> Vec<String> {
        let mut store = self.inner.store();
        let mut ids = Vec::new();
        for cluster in &mut store.clusters {
            if cluster.state() != "TERMINATED" {
                cluster.deadline = None;
                cluster.next_state = None;
                cluster.set_state("TERMINATED", "Termination requested by user.");
                ids.push(cluster.id().to_owned());
            }
        }
        ids
    }

    /// Puts schema `name` into catalog `catalog` (as a user's `CREATE SCHEMA` would): a catalog
    /// holding data, which a delete without `force` refuses. Errors name what is missing.
    pub fn add_schema(&self, catalog: &str, name: &str) -> Result<serde_json::Value, String> {
        unity_catalog::add_schema(&self.inner, catalog, name)
    }

    /// Invalidates every issued token: later calls with them answer 401, as after expiry.
    pub fn revoke_tokens(&self) {
        self.inner.store().tokens.clear();
    }

    /// Shuts the server down gracefully and waits for it (at most 5 s: connections still open
    /// then are dropped).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for FakeDatabricks {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Every route of the fake, wrapped in the logging / fault / auth middleware.
fn router(inner: Shared) -> Router {
    Router::new()
        .merge(auth::routes())
        .merge(account::routes())
        .merge(metastores::routes())
        .merge(workspace::routes())
        .merge(unity_catalog::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&inner), gate))
        .with_state(inner)
}

/// Unknown endpoint: 404 `ENDPOINT_NOT_FOUND`, as the real gateway answers.
async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    axum::response::IntoResponse::into_response(ApiError::new(
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
        format!("No API found for '{method} {}'", uri.path()),
    ))
}

/// Logs each request, applies a queued fault, checks the bearer token, runs the handler.
async fn gate(State(inner): State<Shared>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let client = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_owned);
    // Read the body once to record it, then hand the handler the same bytes.
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    // The token endpoints' form carries the client secret: never recorded.
    let recorded_body = if path.starts_with("/oidc/") {
        None
    } else {
        serde_json::from_slice::<serde_json::Value>(&bytes).ok()
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    let fault = inner.faults.take(&path);
    let resp = match &fault {
        Some(kind) => match kind.short_circuit() {
            Some(resp) => resp,
            None => {
                if let FaultKind::Slow(delay) = kind {
                    tokio::time::sleep(*delay).await;
                }
                let resp = authorized(&inner, req, next).await;
                if *kind == FaultKind::Malformed {
                    truncate(resp).await
                } else {
                    resp
                }
            }
        },
        None => authorized(&inner, req, next).await,
    };
    let (resp, error) = error_answer(resp).await;
    let record = RequestRecord {
        method,
        path,
        query,
        status: resp.status().as_u16(),
        fault: fault.as_ref().map(FaultKind::name),
        body: recorded_body,
        client,
        error,
    };
    if let Some(file) = &inner.log_file {
        if let Ok(line) = serde_json::to_string(&record) {
            let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
            // A test whose log cannot be written still runs; the check then finds the gap.
            let _ = writeln!(file, "{line}");
        }
    }
    inner
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(record);
    resp
}

/// An error answer (status 400 or more) read into an [`ErrorAnswer`], and the same answer to
/// send; other answers pass untouched.
async fn error_answer(resp: Response) -> (Response, Option<ErrorAnswer>) {
    let status = resp.status().as_u16();
    if status < 400 {
        return (resp, None);
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let error = ErrorAnswer {
        status,
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    (Response::from_parts(parts, Body::from(bytes)), Some(error))
}

/// Runs the handler when the request is authorized, else answers 401.
async fn authorized(inner: &Inner, req: Request, next: Next) -> Response {
    match auth::rejection(inner, req.headers(), req.uri().path()) {
        None => next.run(req).await,
        Some(resp) => resp,
    }
}

/// Cuts a body in half (at least one byte shorter), keeping status and content type.
async fn truncate(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let keep = bytes.len() / 2;
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes.slice(..keep)))
}

//! The Databricks REST client: OAuth M2M (client credentials) for the account and each workspace,
//! tokens cached per host until shortly before they expire, retries with backoff and jitter, and
//! errors classified by `error_code` (reference §1, §4).
//!
//! Calls come in two flavours. [`DatabricksClient::account`] / [`DatabricksClient::workspace`]
//! repeat a failed call whenever the failure may go away (reads, deletes, PUT/PATCH, overwrite
//! imports). [`DatabricksClient::account_create`] / [`DatabricksClient::workspace_create`] only
//! repeat a create that surely did not happen (a 429, a validation error, a connection never
//! made); when it may have happened (a 5xx, a cut answer), the error goes back to the handler,
//! which looks for the object before creating it again, so a retry never makes a duplicate.
//!
//! The client secret is sent only to the two token endpoints, in the `Authorization: Basic`
//! header; it never appears in an error, a log line or `Debug` output.

pub mod error;
pub mod retry;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use error::{ApiError, Endpoint, ErrorKind};
pub use reqwest::Method;
pub use retry::{Applied, Repeat, RetryPolicy};

/// The Account API host of the AWS commercial partition.
pub const DEFAULT_ACCOUNTS_HOST: &str = "https://accounts.cloud.databricks.com";

/// The OAuth scope every SDK asks for.
pub const SCOPE: &str = "all-apis";

/// The service principal the provider acts as.
#[derive(Clone)]
pub struct Auth {
    /// The Account API base URL (no trailing slash). Default: [`DEFAULT_ACCOUNTS_HOST`].
    pub accounts_host: String,
    /// The Databricks account id (a UUID).
    pub account_id: String,
    /// The service principal's OAuth client id (its application id).
    pub client_id: String,
    /// The service principal's OAuth secret.
    pub client_secret: String,
}

impl Auth {
    /// A principal of `account_id` on the default accounts host.
    pub fn new(account_id: &str, client_id: &str, client_secret: &str) -> Auth {
        Auth {
            accounts_host: DEFAULT_ACCOUNTS_HOST.to_owned(),
            account_id: account_id.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
        }
    }

    /// `text` with the client secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.client_secret.len() >= 4 && text.contains(self.client_secret.as_str()) {
            text.replace(self.client_secret.as_str(), "***")
        } else {
            text.to_owned()
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("accounts_host", &self.accounts_host)
            .field("account_id", &self.account_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

/// A cached access token.
struct CachedToken {
    access_token: String,
    refresh_at: Instant,
}

/// Where a call goes.
#[derive(Clone, Copy, Debug)]
enum Target<'a> {
    /// The Account API.
    Account,
    /// A workspace, by its normalized base URL.
    Workspace(&'a str),
}

/// One failed attempt.
struct Failure {
    error: ApiError,
    applied: Applied,
    retry_after: Option<Duration>,
}

/// How an attempt authenticates.
enum Credential<'a> {
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// `Authorization: Basic` with the client id and secret (token endpoints only).
    Basic,
}

/// A Databricks client for one service principal. Cheap to share behind an `Arc`.
pub struct DatabricksClient {
    http: reqwest::Client,
    auth: Auth,
    retry: RetryPolicy,
    tokens: Mutex<HashMap<String, CachedToken>>,
}

impl fmt::Debug for DatabricksClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabricksClient")
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// `path` with `pairs` appended as a percent-encoded query string.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str, out: &mut String) {
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(char::from(b))
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = path.to_owned();
    for (i, (k, v)) in pairs.iter().enumerate() {
        out.push(if i == 0 && !path.contains('?') {
            '?'
        } else {
            '&'
        });
        encode(k, &mut out);
        out.push('=');
        encode(v, &mut out);
    }
    out
}

/// The error chain of a transport error, in one line.
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl DatabricksClient {
    /// A client for `auth`, retrying by `retry`.
    pub fn new(auth: Auth, retry: RetryPolicy) -> Result<DatabricksClient, ApiError> {
        let http = reqwest::Client::builder()
            .timeout(retry.request_timeout)
            .connect_timeout(retry.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!(
                "cdkrs-databricks-provider/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| {
                ApiError::new(
                    ErrorKind::Other,
                    0,
                    format!("building the HTTP client: {e}"),
                )
            })?;
        Ok(DatabricksClient {
            http,
            auth: Auth {
                accounts_host: auth.accounts_host.trim_end_matches('/').to_owned(),
                ..auth
            },
            retry,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// The principal.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The Databricks account id.
    pub fn account_id(&self) -> &str {
        &self.auth.account_id
    }

    /// `text` with the client secret masked.
    pub fn redact(&self, text: &str) -> String {
        self.auth.redact(text)
    }

    /// The URL of the workspace with this `deployment_name`: the accounts host with its
    /// `accounts` label replaced (what Terraform does), e.g.
    /// `https://acme-prod.cloud.databricks.com`. A host without an `accounts.` label (a local
    /// fake that serves every host at one address) is its own workspace URL.
    pub fn workspace_url(&self, deployment_name: &str) -> String {
        match self.auth.accounts_host.split_once("://") {
            Some((scheme, host)) if host.starts_with("accounts.") => {
                format!(
                    "{scheme}://{deployment_name}.{}",
                    &host["accounts.".len()..]
                )
            }
            _ => self.auth.accounts_host.clone(),
        }
    }

    /// Checks that `url` is a workspace of this account's cloud (so the secret is never sent
    /// to another host) and returns it normalized (`scheme://host[:port]`).
    pub fn check_workspace_url(&self, url: &str) -> Result<String, ApiError> {
        let bad = |why: &str| {
            ApiError::new(
                ErrorKind::InvalidParameter,
                0,
                format!("workspace URL {url:?} {why}"),
            )
        };
        let parsed =
            reqwest::Url::parse(url.trim()).map_err(|e| bad(&format!("does not parse: {e}")))?;
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err(bad(
                "must be a bare origin such as https://<deployment>.cloud.databricks.com",
            ));
        }
        let host = parsed.host_str().ok_or_else(|| bad("has no host"))?;
        let origin = match parsed.port() {
            Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
            None => format!("{}://{host}", parsed.scheme()),
        };
        if origin == self.auth.accounts_host {
            return Ok(origin);
        }
        let parent = self
            .auth
            .accounts_host
            .strip_prefix("https://accounts.")
            .filter(|p| !p.contains(['/', ':']));
        match parent {
            Some(parent)
                if parsed.scheme() == "https"
                    && parsed.port().is_none()
                    && host.ends_with(&format!(".{parent}")) =>
            {
                Ok(origin)
            }
            Some(parent) => Err(bad(&format!("is not an https host under {parent}"))),
            None => Err(bad(&format!(
                "is not the accounts host {} (a local endpoint serves every host)",
                self.auth.accounts_host
            ))),
        }
    }

    /// Calls the Account API: `path` is relative to `/api/2.0/accounts/{account_id}` (e.g.
    /// `/credentials`, may carry a query string). Retried on every retryable failure.
    pub async fn account(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, ApiError> {
        self.call(Target::Account, method, path, body, Repeat::Idempotent)
            .await
    }

    /// POSTs a create to the Account API, repeated only when it surely did not happen.
    pub async fn account_create(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        self.call(
            Target::Account,
            Method::POST,
            path,
            Some(body),
            Repeat::CreateOnce,
        )
        .await
    }

    /// Calls a workspace API: `path` is absolute (`/api/2.0/…`, may carry a query string).
    /// Retried on every retryable failure.
    pub async fn workspace(
        &self,
        workspace_url: &str,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, ApiError> {
        let base = self.check_workspace_url(workspace_url)?;
        self.call(
            Target::Workspace(&base),
            method,
            path,
            body,
            Repeat::Idempotent,
        )
        .await
    }

    /// POSTs a create to a workspace API, repeated only when it surely did not happen.
    pub async fn workspace_create(
        &self,
        workspace_url: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        let base = self.check_workspace_url(workspace_url)?;
        self.call(
            Target::Workspace(&base),
            Method::POST,
            path,
            Some(body),
            Repeat::CreateOnce,
        )
        .await
    }

    /// Whether the workspace answers HTTP at all (DNS, TLS and routing work), asked once and
    /// without credentials: a new workspace's hostname takes minutes to resolve.
    pub async fn is_reachable(&self, workspace_url: &str) -> bool {
        let Ok(base) = self.check_workspace_url(workspace_url) else {
            return false;
        };
        self.http
            .get(format!("{base}/api/2.0/preview/scim/v2/Me"))
            .send()
            .await
            .is_ok()
    }

    /// The base URL and the token endpoint of a target.
    fn endpoints(&self, target: Target<'_>) -> (String, String) {
        match target {
            Target::Account => (
                format!(
                    "{}/api/2.0/accounts/{}",
                    self.auth.accounts_host, self.auth.account_id
                ),
                format!(
                    "{}/oidc/accounts/{}/v1/token",
                    self.auth.accounts_host, self.auth.account_id
                ),
            ),
            Target::Workspace(base) => (base.to_owned(), format!("{base}/oidc/v1/token")),
        }
    }

    /// One call with retries, token refresh on 401, and the secret masked in any error.
    async fn call(
        &self,
        target: Target<'_>,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        repeat: Repeat,
    ) -> Result<serde_json::Value, ApiError> {
        let (base, token_url) = self.endpoints(target);
        let url = format!("{base}{path}");
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let token = self
                .token(&token_url, target)
                .await
                .map_err(|e| self.mask(e))?;
            let failure = match self
                .attempt(&method, &url, body, Credential::Bearer(&token), target)
                .await
            {
                Ok(value) => return Ok(value),
                Err(f) => f,
            };
            if failure.error.status == 401 && !refreshed {
                // Expired or revoked: forget the token and try once with a new one.
                refreshed = true;
                self.forget_token(&token_url);
                attempt -= 1;
                continue;
            }
            let wait = self.retry.next_wait(
                &failure.error,
                failure.applied,
                repeat,
                failure.retry_after,
                attempt,
                started.elapsed(),
            );
            let error = self.mask(failure.error);
            let Some(wait) = wait else {
                return Err(error);
            };
            tracing::warn!(
                method = %method,
                path = %path,
                status = error.status,
                error_code = error.error_code.as_deref().unwrap_or(""),
                kind = ?error.kind,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %error,
                "Databricks call failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    fn mask(&self, mut e: ApiError) -> ApiError {
        e.message = self.redact(&e.message);
        e
    }

    fn forget_token(&self, token_url: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(token_url);
    }

    /// A valid access token from `token_url`, cached until shortly before it expires.
    async fn token(&self, token_url: &str, target: Target<'_>) -> Result<String, ApiError> {
        if let Some(cached) = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token_url)
            .filter(|t| t.refresh_at > Instant::now())
        {
            return Ok(cached.access_token.clone());
        }
        let started = Instant::now();
        let mut attempt = 0u32;
        let form =
            serde_json::Value::String(format!("grant_type=client_credentials&scope={SCOPE}"));
        let answer = loop {
            attempt += 1;
            let failure = match self
                .attempt(
                    &Method::POST,
                    token_url,
                    Some(&form),
                    Credential::Basic,
                    target,
                )
                .await
            {
                Ok(v) => break v,
                Err(f) => f,
            };
            let mut error = failure.error;
            if error.kind == ErrorKind::Unauthenticated {
                let said = error
                    .message
                    .trim_end_matches(&format!(" (POST {token_url})"))
                    .to_owned();
                error.message = match target {
                    Target::Account => format!(
                        "the OAuth token endpoint {token_url} refused client id {}: {said} (check the service principal's client id and secret, and that it belongs to account {})",
                        self.auth.client_id, self.auth.account_id
                    ),
                    // A workspace issues tokens only to its members: the principal that
                    // created it, or one assigned to it (terraform-provider-databricks issue
                    // 3757 and `isInvalidClient` in mws/resource_mws_workspaces.go).
                    Target::Workspace(base) => format!(
                        "the workspace {base} refused a token to service principal {} (client id): {said}. The principal is not a member of this workspace (or its secret is wrong): assign it to the workspace with a Custom::DatabricksWorkspaceAssignment (its numeric account id as PrincipalId, Permissions [\"ADMIN\"]) or in the account console, and check its client id and secret",
                        self.auth.client_id
                    ),
                };
            }
            match self.retry.next_wait(
                &error,
                failure.applied,
                Repeat::Idempotent,
                failure.retry_after,
                attempt,
                started.elapsed(),
            ) {
                Some(wait) => {
                    tracing::warn!(
                        status = error.status,
                        kind = ?error.kind,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "OAuth token request failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                None => return Err(error),
            }
        };
        let access_token = answer
            .get("access_token")
            .and_then(|v| v.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorKind::Transient,
                    200,
                    format!(
                        "the OAuth token endpoint {token_url} answered without an access_token"
                    ),
                )
            })?
            .to_owned();
        let lifetime = answer
            .get("expires_in")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(3600));
        // Refresh a little early: a quarter of the lifetime, at most five minutes.
        let margin = (lifetime / 4).min(Duration::from_secs(300));
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                token_url.to_owned(),
                CachedToken {
                    access_token: access_token.clone(),
                    refresh_at: Instant::now() + lifetime - margin,
                },
            );
        Ok(access_token)
    }

    /// One HTTP exchange, read into a JSON value or a classified failure. A `Basic` request
    /// sends its body (a `Value::String`) as a form.
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&serde_json::Value>,
        credential: Credential<'_>,
        target: Target<'_>,
    ) -> Result<serde_json::Value, Failure> {
        let mut request = self.http.request(method.clone(), url);
        request = match credential {
            Credential::Bearer(token) => request.bearer_auth(token),
            Credential::Basic => request
                .basic_auth(&self.auth.client_id, Some(&self.auth.client_secret))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                ),
        };
        if let Some(body) = body {
            request = match (&credential, body) {
                (Credential::Basic, serde_json::Value::String(form)) => request.body(form.clone()),
                _ => request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string()),
            };
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let not_sent = e.is_connect();
                let kind = match target {
                    // A new workspace's hostname takes minutes to resolve (reference §2.7).
                    Target::Workspace(_) if not_sent => ErrorKind::EventuallyConsistent,
                    _ => ErrorKind::Transient,
                };
                let what = if not_sent {
                    "could not connect"
                } else if e.is_timeout() {
                    "timed out"
                } else {
                    "the connection failed"
                };
                return Err(Failure {
                    error: ApiError::new(kind, 0, format!("{method} {url}: {what}: {}", chain(&e))),
                    applied: if not_sent {
                        Applied::No
                    } else {
                        Applied::Maybe
                    },
                    retry_after: None,
                });
            }
        };
        let status = response.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
        let retry_after = retry::parse_retry_after(header(reqwest::header::RETRY_AFTER).as_deref());
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return Err(Failure {
                    error: ApiError::new(
                        ErrorKind::Transient,
                        status,
                        format!("{method} {url}: the answer was cut: {}", chain(&e)),
                    ),
                    applied: Applied::Maybe,
                    retry_after: None,
                })
            }
        };
        if (200..300).contains(&status) {
            if text.trim().is_empty() {
                return Ok(serde_json::Value::Object(Default::default()));
            }
            return serde_json::from_str(&text).map_err(|e| {
                let what = if content_type.contains("html") || text.trim_start().starts_with('<') {
                    "an HTML page (a login or gateway page) instead of JSON".to_owned()
                } else {
                    format!("a body that is not JSON ({e})")
                };
                Failure {
                    error: ApiError::new(
                        ErrorKind::Transient,
                        status,
                        format!("{method} {url} answered {what}"),
                    ),
                    applied: Applied::Maybe,
                    retry_after: None,
                }
            });
        }
        let path = reqwest::Url::parse(url)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        let endpoint = Endpoint {
            method: method.as_str(),
            path: &path,
        };
        let mut error = ApiError::from_response_at(Some(endpoint), status, &content_type, &text);
        error.message = format!("{} ({method} {url})", error.message);
        let applied = match error.kind {
            ErrorKind::RateLimited | ErrorKind::EventuallyConsistent => Applied::No,
            _ if status >= 500 => Applied::Maybe,
            _ => Applied::No,
        };
        Err(Failure {
            error,
            applied,
            retry_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(host: &str) -> DatabricksClient {
        let mut auth = Auth::new("acct", "cid", "super-secret-value");
        auth.accounts_host = host.to_owned();
        DatabricksClient::new(auth, RetryPolicy::default()).expect("client")
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = client(DEFAULT_ACCOUNTS_HOST);
        let text = format!("{c:?} {:?}", c.auth());
        assert!(!text.contains("super-secret-value"), "{text}");
        assert!(text.contains("client_secret: \"***\""), "{text}");
        assert_eq!(c.redact("x super-secret-value y"), "x *** y");
    }

    #[test]
    fn workspace_urls_follow_the_accounts_host() {
        let c = client(DEFAULT_ACCOUNTS_HOST);
        assert_eq!(
            c.workspace_url("acme-prod"),
            "https://acme-prod.cloud.databricks.com"
        );
        let gov = client("https://accounts.cloud.databricks.us/");
        assert_eq!(gov.workspace_url("x"), "https://x.cloud.databricks.us");
        let local = client("http://127.0.0.1:4000");
        assert_eq!(local.workspace_url("x"), "http://127.0.0.1:4000");
    }

    #[test]
    fn the_secret_only_goes_to_workspaces_of_the_same_cloud() {
        let c = client(DEFAULT_ACCOUNTS_HOST);
        assert_eq!(
            c.check_workspace_url("https://acme.cloud.databricks.com/")
                .as_deref(),
            Ok("https://acme.cloud.databricks.com")
        );
        for bad in [
            "http://acme.cloud.databricks.com",
            "https://acme.cloud.databricks.com.evil.example",
            "https://evil.example",
            "https://acme.cloud.databricks.com/path",
            "not a url",
        ] {
            assert!(c.check_workspace_url(bad).is_err(), "{bad}");
        }
        let local = client("http://127.0.0.1:4000");
        assert!(local.check_workspace_url("http://127.0.0.1:4000").is_ok());
        assert!(local.check_workspace_url("http://127.0.0.1:4001").is_err());
    }

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            with_query(
                "/Groups",
                &[("filter", "displayName eq \"a b\""), ("count", "1")]
            ),
            "/Groups?filter=displayName%20eq%20%22a%20b%22&count=1"
        );
        assert_eq!(with_query("/x?a=1", &[("b", "2")]), "/x?a=1&b=2");
    }
}

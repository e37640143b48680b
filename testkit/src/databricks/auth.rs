//! OAuth machine-to-machine (reference §1.2): the account and workspace token endpoints, and
//! the bearer check every other endpoint goes through.
//!
//! - `POST /oidc/accounts/{account_id}/v1/token` issues **account** tokens, valid only for
//!   `/api/2.0/accounts/…`; `POST /oidc/v1/token` issues **workspace** tokens, valid for every
//!   other API path. Tokens are audience-specific, as on the real service.
//! - Client credentials come in the HTTP Basic header or as `client_id`/`client_secret` form
//!   fields; `grant_type=client_credentials` is required.
//! - Wrong credentials: 401 `{"error":"invalid_client","error_description":"Client
//!   authentication failed"}` (OAuth format, not `error_code`).
//! - A missing, unknown, expired or wrong-audience bearer token: 401 with a Databricks error body.
//! - The discovery documents the SDKs read before asking for a token (open, like the token
//!   endpoints): the host metadata `GET /.well-known/databricks-config` and the OAuth
//!   authorization-server documents of the account (`/oidc/accounts/{account_id}/.well-known/…`)
//!   and of a workspace (`/oidc/.well-known/…`).
//! - With [`FakeConfig::workspace_membership_required`](super::FakeConfig), a workspace token
//!   is issued only to a member of a workspace (see [`account::is_member`](super::account)):
//!   others get the real 401 `invalid_client` body (fixture `workspace_token_not_a_member`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use tokio::time::Instant;

use super::state::{Audience, TokenRec};
use super::wire::{base64_decode, json_response, ok, parse_urlencoded, ApiError};
use super::{Inner, Shared};

/// The token endpoints.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/oidc/accounts/{account_id}/v1/token", post(account_token))
        .route("/oidc/v1/token", post(workspace_token))
        .route("/.well-known/databricks-config", get(host_metadata))
        .route(
            "/oidc/accounts/{account_id}/.well-known/oauth-authorization-server",
            get(account_discovery),
        )
        .route(
            "/oidc/.well-known/oauth-authorization-server",
            get(workspace_discovery),
        )
}

/// `GET /.well-known/databricks-config`: the host metadata the Databricks SDK for Python (0.167)
/// reads first, to find its OAuth discovery document (`Config._resolve_host_metadata`,
/// `oauth.get_host_metadata`). The real account host answers the account's OIDC root as a
/// template, `{"oidc_endpoint": "https://accounts…/oidc/accounts/{account_id}"}`, and a
/// workspace host its own root with its ids (databricks-sdk-py `tests/test_oauth.py`,
/// `test_get_host_metadata`). The fake is first of all the account host, so it answers the
/// account form; an SDK `WorkspaceClient` pointed at the fake sets `discovery_url` to the
/// workspace document (what `DATABRICKS_DISCOVERY_URL` is for), since the fake's one address
/// also plays every workspace.
async fn host_metadata(State(inner): State<Shared>) -> Response {
    ok(json!({
        "oidc_endpoint": format!("{}/oidc/accounts/{{account_id}}", inner.base_url),
    }))
}

/// The OAuth 2.0 authorization-server metadata (RFC 8414) of an OIDC root: where the SDK finds
/// the token endpoint (`oauth.OidcEndpoints`: `authorization_endpoint`, `token_endpoint`). The
/// paths are Databricks' documented `…/v1/authorize` and `…/v1/token`
/// (https://docs.databricks.com/aws/en/dev-tools/auth/oauth-m2m, "OAuth reference" of
/// databrickslabs.github.io/partner-architecture).
fn discovery(root: &str) -> Response {
    ok(json!({
        "issuer": root,
        "authorization_endpoint": format!("{root}/v1/authorize"),
        "token_endpoint": format!("{root}/v1/token"),
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["all-apis", "offline_access", "openid", "profile", "email"],
    }))
}

/// The account's discovery document; another account id answers 404, as its token endpoint
/// refuses it.
async fn account_discovery(
    State(inner): State<Shared>,
    Path(account_id): Path<String>,
) -> Response {
    if let Err(e) = inner.check_account(&account_id) {
        return e.into_response();
    }
    discovery(&format!("{}/oidc/accounts/{account_id}", inner.base_url))
}

/// A workspace's discovery document.
async fn workspace_discovery(State(inner): State<Shared>) -> Response {
    discovery(&format!("{}/oidc", inner.base_url))
}

async fn account_token(
    State(inner): State<Shared>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if account_id != inner.config.account_id {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    issue(&inner, &headers, &body, Audience::Account)
}

async fn workspace_token(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    issue(&inner, &headers, &body, Audience::Workspace)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// The client-credentials grant.
fn issue(inner: &Inner, headers: &HeaderMap, body: &[u8], audience: Audience) -> Response {
    let form = parse_urlencoded(&String::from_utf8_lossy(body));
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("grant_type").as_deref() != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let credentials =
        basic_credentials(headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    // The main client (an admin) or a configured non-admin principal.
    let principal = credentials.and_then(|(id, secret)| {
        let admin = id == inner.config.client_id && secret == inner.config.client_secret;
        let member = audience == Audience::Workspace
            && inner
                .config
                .non_admin_principals
                .iter()
                .any(|p| p.client_id == id && p.client_secret == secret);
        (admin || member).then_some(id)
    });
    let Some(principal) = principal else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    };
    let scope = field("scope").unwrap_or_else(|| "all-apis".to_owned());
    let lifetime = inner.config.token_lifetime;
    let mut store = inner.store();
    if audience == Audience::Workspace
        && inner.config.workspace_membership_required
        && !super::account::is_member(&store, &inner.config)
    {
        // A workspace token only for a member of the workspace (terraform-provider-databricks
        // issue 3757: the workspace token endpoint answers invalid_client to a principal that
        // was not added to the workspace).
        return super::real_errors::get("workspace_token_not_a_member").response();
    }
    let token = format!("fake-at-{}", store.hex(32));
    store.tokens.insert(
        token.clone(),
        TokenRec {
            audience,
            expires: Instant::now() + lifetime,
            principal,
        },
    );
    store.tokens_issued += 1;
    ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "scope": scope,
    }))
}

/// The OAuth client id of the bearer token of a request (checked by [`rejection`] before any
/// handler runs).
pub(crate) fn principal(inner: &Inner, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')?
        .1
        .trim()
        .to_owned();
    inner
        .store()
        .tokens
        .get(&token)
        .map(|t| t.principal.clone())
}

/// `(client_id, client_secret)` from `Authorization: Basic …`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Checks the bearer token of a request to `path` (token endpoints are open): the 401 answer
/// when it is refused, `None` when it may proceed.
pub(crate) fn rejection(inner: &Inner, headers: &HeaderMap, path: &str) -> Option<Response> {
    if path.starts_with("/oidc/") || path.starts_with("/.well-known/") {
        return None;
    }
    let unauthenticated = |message: &str| {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message).into_response()
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let Some(token) = token else {
        return Some(unauthenticated(
            "Credential was not sent or was of an unsupported type for this API.",
        ));
    };
    let wanted = if path.starts_with("/api/2.0/accounts/") {
        Audience::Account
    } else {
        Audience::Workspace
    };
    let store = inner.store();
    match store.tokens.get(&token) {
        Some(rec) if rec.expires <= Instant::now() => Some(unauthenticated("Token is expired.")),
        Some(rec) if rec.audience != wanted => Some(unauthenticated(match wanted {
            Audience::Account => "Invalid token: a workspace token cannot call the Account API.",
            Audience::Workspace => "Invalid token: an account token cannot call a workspace API.",
        })),
        Some(_) => None,
        None => Some(unauthenticated("Invalid access token.")),
    }
}

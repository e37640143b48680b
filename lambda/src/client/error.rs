//! What a Databricks call can fail with, classified by `error_code` first and HTTP status second
//! (reference §4): the error bodies are heterogeneous (string or numeric `error_code`, SCIM
//! `detail`/`status`, OAuth `error`, plain text, HTML), so every shape is read into one
//! [`ApiError`].

use std::fmt;

/// How a failure should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The object does not exist (`RESOURCE_DOES_NOT_EXIST`, 404, a missing cluster's 400 on
    /// `clusters/get` only: see [`Endpoint`]).
    NotFound,
    /// An object with that name or key exists (`RESOURCE_ALREADY_EXISTS`, 409).
    AlreadyExists,
    /// The object is in a state that forbids the operation (`INVALID_STATE`: in use, busy).
    InvalidState,
    /// The request is wrong and retrying will not change that (`INVALID_PARAMETER_VALUE`, 400).
    InvalidParameter,
    /// The credentials or the token were refused (401, OAuth `invalid_client`).
    Unauthenticated,
    /// The principal may not do this (403, `PERMISSION_DENIED`).
    PermissionDenied,
    /// Too many requests (429, `REQUEST_LIMIT_EXCEEDED`): retried after `Retry-After`.
    RateLimited,
    /// A server or network problem that retrying may fix (5xx, connection errors, a body that
    /// is not JSON, an HTML page with status 200).
    Transient,
    /// A documented eventual-consistency failure, retried for a bounded time: credentials
    /// validation right after the IAM role was created, instance-profile validation, a new
    /// workspace not yet reachable.
    EventuallyConsistent,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Whether the failure may go away by itself (the retry policy decides how long to wait).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Transient | ErrorKind::EventuallyConsistent
        )
    }
}

/// A failed Databricks call. Its text never holds the client secret or a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status (0 when no answer arrived).
    pub status: u16,
    /// The API's `error_code` (numeric codes as their decimal text; SCIM errors as `SCIM_<status>`).
    pub error_code: Option<String>,
    /// What went wrong, in the API's words or ours.
    pub message: String,
    /// How to treat it.
    pub kind: ErrorKind,
}

impl std::error::Error for ApiError {}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_code {
            Some(code) => write!(f, "{code}: {}", self.message)?,
            None => f.write_str(&self.message)?,
        }
        if self.status != 0 {
            write!(f, " (HTTP {})", self.status)?;
        }
        Ok(())
    }
}

/// Messages that mean "a new workspace is not ready yet" (the SDK's transient list, reference §3.3).
const NOT_READY_MESSAGES: &[&str] = &[
    "UnknownWorkerEnvironmentException",
    "does not have any associated worker environments",
    "There is no worker environment with id",
    "Unknown worker environment",
    "ClusterNotReadyException",
    "Timed out after",
    "deadline exceeded",
];

/// The call an error answered (method and path without the query): some bodies mean different
/// things on different endpoints (the SDK's per-endpoint overrides, see [`classify`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// The HTTP method (`GET`).
    pub method: &'a str,
    /// The path (`/api/2.1/clusters/get`).
    pub path: &'a str,
}

impl ApiError {
    /// An error classified from what the API answered, the endpoint unknown.
    pub fn from_parts(status: u16, error_code: Option<String>, message: String) -> ApiError {
        ApiError::from_parts_at(None, status, error_code, message)
    }

    /// An error classified from what `endpoint` answered.
    pub fn from_parts_at(
        endpoint: Option<Endpoint<'_>>,
        status: u16,
        error_code: Option<String>,
        message: String,
    ) -> ApiError {
        let kind = classify(endpoint, status, error_code.as_deref(), &message);
        ApiError {
            status,
            error_code,
            message,
            kind,
        }
    }

    /// An error of a chosen kind, without an API error code.
    pub fn new(kind: ErrorKind, status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error_code: None,
            message: message.into(),
            kind,
        }
    }

    /// Whether the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// Whether an object with that name or key exists already.
    pub fn is_already_exists(&self) -> bool {
        self.kind == ErrorKind::AlreadyExists
    }

    /// Whether a delete was refused because the object is in use or not empty (a catalog
    /// holding schemas, a location other objects depend on, a credential locations use): see
    /// [`is_in_use_refusal`].
    pub fn is_in_use(&self) -> bool {
        is_in_use_refusal(self.kind, self.error_code.as_deref(), &self.message)
    }

    /// Reads an error answer: any body shape of reference §4.1, the endpoint unknown.
    pub fn from_response(status: u16, content_type: &str, body: &str) -> ApiError {
        ApiError::from_response_at(None, status, content_type, body)
    }

    /// Reads the error answer of `endpoint`.
    pub fn from_response_at(
        endpoint: Option<Endpoint<'_>>,
        status: u16,
        content_type: &str,
        body: &str,
    ) -> ApiError {
        let (code, message) = parse_error_body(status, content_type, body);
        ApiError::from_parts_at(endpoint, status, code, message)
    }
}

/// The `error_code` and message of an error body.
fn parse_error_body(status: u16, content_type: &str, body: &str) -> (Option<String>, String) {
    let trimmed = body.trim();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(trimmed) {
        let text = |k: &str| match map.get(k) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        // Standard: {"error_code": "…" | 403, "message": "…"}.
        if let Some(code) = text("error_code") {
            let message = text("message")
                .or_else(|| text("error"))
                .unwrap_or_else(|| reason_phrase(status));
            return (Some(code), message);
        }
        // SCIM: {"schemas": [...Error], "detail": "…", "status": "409"}.
        if let Some(detail) = text("detail") {
            let scim_status = text("status").unwrap_or_else(|| status.to_string());
            return (Some(format!("SCIM_{scim_status}")), detail);
        }
        // OAuth: {"error": "invalid_client", "error_description": "…"}.
        if let (Some(error), Some(description)) = (text("error"), text("error_description")) {
            return (Some(error), description);
        }
        // Legacy 1.2: {"error": "message"}.
        if let Some(error) = text("error") {
            return (None, error);
        }
        if let Some(message) = text("message") {
            return (None, message);
        }
        return (None, reason_phrase(status));
    }
    if trimmed.is_empty() {
        return (None, reason_phrase(status));
    }
    if content_type.contains("html") || trimmed.starts_with('<') {
        let inner = between(trimmed, "<pre>", "</pre>")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        return (
            None,
            inner.unwrap_or_else(|| {
                format!(
                    "an HTML page instead of an API answer ({} bytes)",
                    trimmed.len()
                )
            }),
        );
    }
    // Plain text: "ERROR_CODE: message".
    if let Some((code, message)) = trimmed.split_once(": ") {
        if !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return (Some(code.to_owned()), short(message));
        }
    }
    (None, short(trimmed))
}

/// The text between two markers.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// At most 300 characters of a body, for a message.
fn short(text: &str) -> String {
    const MAX: usize = 300;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// The standard reason phrase of a status, for an empty body.
fn reason_phrase(status: u16) -> String {
    let phrase = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "an error without a body",
    };
    format!("HTTP {status} {phrase}")
}

/// Whether `endpoint` is `GET /api/2.<n>/clusters/get`.
fn is_cluster_get(endpoint: Option<Endpoint<'_>>) -> bool {
    endpoint.is_some_and(|e| {
        e.method.eq_ignore_ascii_case("GET")
            && e.path.strip_prefix("/api/2.").is_some_and(|rest| {
                rest.split_once('/').is_some_and(|(minor, op)| {
                    !minor.is_empty()
                        && minor.bytes().all(|b| b.is_ascii_digit())
                        && op.starts_with("clusters/get")
                })
            })
    })
}

/// "Failed credential validation checks" (`POST /credentials`, singular) and "Failed
/// credentials validation checks" (`POST /workspaces`, plural): the cross-account role is not
/// assumable yet, right after it was created (terraform-provider-databricks issues 1424, 1363,
/// 951).
fn is_credentials_race(message: &str) -> bool {
    message.contains("Failed credential validation checks")
        || message.contains("Failed credentials validation checks")
}

/// Unity Catalog's refusals of a delete without `force` (databricks-sdk 0.167 `catalog.py`:
/// `CatalogsAPI.delete` "force: Force deletion even if the catalog is not empty",
/// `ExternalLocationsAPI.delete` "Force deletion even if there are dependent external tables or
/// mounts", `StorageCredentialsAPI.delete` "Force deletion even if there are dependent external
/// locations or external tables"): `INVALID_STATE`, a `…_NOT_EMPTY` code, or the words of those
/// refusals ("Schema 'c.s' is not empty. The schema has 1 tables(s)…",
/// terraform-provider-databricks issue 3659; "… has 2 dependent external locations").
fn is_in_use_refusal(kind: ErrorKind, code: Option<&str>, message: &str) -> bool {
    if kind == ErrorKind::InvalidState || code.is_some_and(|c| c.ends_with("_NOT_EMPTY")) {
        return true;
    }
    // Never a permission refusal: a delete the principal may not make fails loudly.
    matches!(kind, ErrorKind::InvalidParameter | ErrorKind::Other)
        && IN_USE_MESSAGES
            .iter()
            .any(|m| message.to_ascii_lowercase().contains(m))
}

/// The words of an in-use refusal (lower case).
const IN_USE_MESSAGES: &[&str] = &["is not empty", " dependent ", "is in use", "is used by"];

/// Unity Catalog's validation of a storage credential's or external location's role right
/// after the role was created: Databricks assumes the role (through its master role, with the
/// external id) and the role assumes itself, which fails while IAM propagates the new trust
/// policy ("INVALID_PARAMETER_VALUE.UC_IAM_ROLE_NON_SELF_ASSUMING: The IAM role for this
/// storage credential was found to be non self-assuming"; "the AWS IAM role in the storage
/// credential is not configured correctly": terraform-provider-databricks issue 2421, which
/// Databricks answers by waiting; "AWS IAM role does not have READ permissions on url …":
/// issue 3069, "not getting created in first run … after some time without any fix, its
/// getting created"). A role that really lacks the trust fails the same way until the
/// eventual-consistency budget runs out.
const UC_ROLE_RACE_MESSAGES: &[&str] = &[
    "UC_IAM_ROLE_NON_SELF_ASSUMING",
    "non self-assuming",
    "AWS IAM role in the storage credential is not configured correctly",
    "AWS IAM role does not have READ permissions on url",
    "AWS IAM role does not have WRITE permissions on url",
];

/// Log delivery's S3 write check while a new role or bucket policy propagates
/// (terraform-provider-databricks PR 4258). A role that really lacks the permissions fails the
/// same way, until the eventual-consistency budget runs out.
const PUT_OBJECT_RACE: &str = "Failed to perform putObject operations on s3Bucket";

/// The kind of an error: by `error_code` (and the documented message overrides) first, by
/// HTTP status when the code says nothing. `endpoint` is the call that failed, when known.
pub fn classify(
    endpoint: Option<Endpoint<'_>>,
    status: u16,
    error_code: Option<&str>,
    message: &str,
) -> ErrorKind {
    if message.contains("REQUEST_LIMIT_EXCEEDED") {
        // SCIM sometimes wraps the rate limit in a 500 (reference §4.3).
        return ErrorKind::RateLimited;
    }
    if NOT_READY_MESSAGES.iter().any(|m| message.contains(m))
        || message.contains(PUT_OBJECT_RACE)
        || UC_ROLE_RACE_MESSAGES.iter().any(|m| message.contains(m))
    {
        return ErrorKind::EventuallyConsistent;
    }
    if let Some(code) = error_code {
        let by_code = match code {
            "RESOURCE_DOES_NOT_EXIST" | "NOT_FOUND" | "SCIM_404" => Some(ErrorKind::NotFound),
            // A wrong path is a bug, not a missing object: never "already deleted".
            "ENDPOINT_NOT_FOUND" => Some(ErrorKind::Other),
            "RESOURCE_ALREADY_EXISTS" | "ALREADY_EXISTS" | "SCIM_409" => {
                Some(ErrorKind::AlreadyExists)
            }
            "INVALID_STATE" => Some(ErrorKind::InvalidState),
            "MALFORMED_REQUEST" if is_credentials_race(message) => {
                Some(ErrorKind::EventuallyConsistent)
            }
            "DRY_RUN_FAILED" => Some(ErrorKind::EventuallyConsistent),
            // The SDK's only override that applies here: `GET /api/2.x/clusters/get` answering
            // 400 INVALID_PARAMETER_VALUE "Cluster … does not exist" means the cluster is
            // gone (databricks-sdk-py `databricks/sdk/errors/overrides.py`, "Clusters
            // InvalidParameterValue=>ResourceDoesNotExist": path `^/api/2\.\d/clusters/get`,
            // verb GET, status 400, message `Cluster .* does not exist`). On any other
            // endpoint the same body is a bad parameter, not absence.
            "INVALID_PARAMETER_VALUE"
                if status == 400
                    && is_cluster_get(endpoint)
                    && message.starts_with("Cluster ")
                    && message.contains(" does not exist") =>
            {
                Some(ErrorKind::NotFound)
            }
            "INVALID_PARAMETER_VALUE"
            | "MALFORMED_REQUEST"
            | "INVALID_REQUEST"
            | "BAD_REQUEST"
            | "FEATURE_DISABLED"
            | "MAX_BLOCK_SIZE_EXCEEDED"
            | "MAX_READ_SIZE_EXCEEDED"
            | "MAX_NOTEBOOK_SIZE_EXCEEDED"
            | "DIRECTORY_NOT_EMPTY"
            | "QUOTA_EXCEEDED" => Some(ErrorKind::InvalidParameter),
            "UNAUTHENTICATED"
            | "invalid_client"
            | "invalid_grant"
            | "unauthorized_client"
            | "401" => Some(ErrorKind::Unauthenticated),
            "PERMISSION_DENIED" | "403" => Some(ErrorKind::PermissionDenied),
            "REQUEST_LIMIT_EXCEEDED" | "RESOURCE_EXHAUSTED" | "TOO_MANY_REQUESTS" | "429" => {
                Some(ErrorKind::RateLimited)
            }
            "INTERNAL_ERROR"
            | "INTERNAL_SERVER_ERROR"
            | "TEMPORARILY_UNAVAILABLE"
            | "SERVICE_UNAVAILABLE"
            | "DEADLINE_EXCEEDED"
            | "UNAVAILABLE"
            | "UNKNOWN" => Some(ErrorKind::Transient),
            _ => None,
        };
        if let Some(kind) = by_code {
            return kind;
        }
    }
    match status {
        404 => ErrorKind::NotFound,
        409 => ErrorKind::AlreadyExists,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        429 => ErrorKind::RateLimited,
        400 => ErrorKind::InvalidParameter,
        500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, body: &str) -> ErrorKind {
        ApiError::from_response(status, "application/json", body).kind
    }

    #[test]
    fn a_missing_cluster_400_is_absence_only_on_clusters_get() {
        let body =
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Cluster 0619-1 does not exist"}"#;
        let at = |method, path| {
            ApiError::from_response_at(
                Some(Endpoint { method, path }),
                400,
                "application/json",
                body,
            )
            .kind
        };
        assert_eq!(at("GET", "/api/2.1/clusters/get"), ErrorKind::NotFound);
        assert_eq!(at("GET", "/api/2.0/clusters/get"), ErrorKind::NotFound);
        for (method, path) in [
            ("POST", "/api/2.1/clusters/edit"),
            ("POST", "/api/2.1/clusters/permanent-delete"),
            ("GET", "/api/2.0/workspace/get-status"),
            ("POST", "/api/2.1/clusters/get"),
        ] {
            assert_eq!(
                at(method, path),
                ErrorKind::InvalidParameter,
                "{method} {path}"
            );
        }
        assert_eq!(
            kind(400, body),
            ErrorKind::InvalidParameter,
            "endpoint unknown"
        );
        let other = r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Instance profile x does not exist"}"#;
        let e = ApiError::from_response_at(
            Some(Endpoint {
                method: "GET",
                path: "/api/2.1/clusters/get",
            }),
            400,
            "application/json",
            other,
        );
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
    }

    #[test]
    fn codes_win_over_statuses() {
        assert_eq!(
            kind(
                400,
                r#"{"error_code":"RESOURCE_ALREADY_EXISTS","message":"x"}"#
            ),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            kind(500, r#"{"error_code":"INVALID_STATE","message":"in use"}"#),
            ErrorKind::InvalidState
        );
        assert_eq!(
            kind(
                400,
                r#"{"error_code":"MALFORMED_REQUEST","message":"Failed credentials validation checks: Spot"}"#
            ),
            ErrorKind::EventuallyConsistent
        );
        assert_eq!(
            kind(
                400,
                r#"{"error_code":"MALFORMED_REQUEST","message":"bad json"}"#
            ),
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            kind(
                400,
                r#"{"error_code":"DRY_RUN_FAILED","message":"Verification of the instance profile failed."}"#
            ),
            ErrorKind::EventuallyConsistent
        );
        assert_eq!(
            kind(
                500,
                r#"{"detail":"REQUEST_LIMIT_EXCEEDED: slow down","status":"500"}"#
            ),
            ErrorKind::RateLimited
        );
    }

    #[test]
    fn the_real_propagation_race_bodies_are_eventually_consistent() {
        // POST /credentials: text/plain, singular "credential" (issues 1424, 1363).
        let creds = ApiError::from_response(
            400,
            "text/plain",
            "MALFORMED_REQUEST: Failed credential validation checks: please use a valid cross account IAM role with permissions setup correctly",
        );
        assert_eq!(creds.error_code.as_deref(), Some("MALFORMED_REQUEST"));
        assert_eq!(creds.kind, ErrorKind::EventuallyConsistent);
        // POST /workspaces: text/plain, plural, with the list of checks (issue 951).
        let ws = ApiError::from_response(
            400,
            "text/plain",
            "MALFORMED_REQUEST: Failed credentials validation checks: Spot Cancellation, Delete Tags",
        );
        assert_eq!(ws.kind, ErrorKind::EventuallyConsistent);
        // POST /log-delivery (PR 4258).
        let logs = ApiError::from_response(
            400,
            "application/json",
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Failed to perform putObject operations on s3Bucket:b with deliveryPathPrefix:p with the IAM Role:arn:aws:iam::1:role/r provided. Please add all required s3 actions as mentioned in API docs to role policy of your IAM Role."}"#,
        );
        assert_eq!(logs.kind, ErrorKind::EventuallyConsistent);
        // Another malformed request stays a caller error.
        assert_eq!(
            kind(
                400,
                r#"{"error_code":"MALFORMED_REQUEST","message":"Failed validation"}"#
            ),
            ErrorKind::InvalidParameter
        );
    }

    #[test]
    fn unity_catalog_role_validation_races_are_eventually_consistent() {
        let body = r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"INVALID_PARAMETER_VALUE.UC_IAM_ROLE_NON_SELF_ASSUMING: The IAM role for this storage credential was found to be non self-assuming."}"#;
        assert_eq!(kind(400, body), ErrorKind::EventuallyConsistent);
        let location = r#"{"error_code":"PERMISSION_DENIED","message":"AWS IAM role does not have READ permissions on url s3://b/. Please contact your account admin to update the storage credential."}"#;
        assert_eq!(kind(403, location), ErrorKind::EventuallyConsistent);
        // Any other bad parameter of a storage credential stays a caller error.
        assert_eq!(
            kind(
                400,
                r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid role ARN"}"#
            ),
            ErrorKind::InvalidParameter
        );
    }

    #[test]
    fn refusals_of_deletes_in_use_are_recognised_and_nothing_else() {
        let e = |status, body| ApiError::from_response(status, "application/json", body);
        assert!(e(400, r#"{"error_code":"INVALID_STATE","message":"busy"}"#).is_in_use());
        assert!(e(
            400,
            r#"{"error_code":"CATALOG_NOT_EMPTY","message":"Catalog 'raw' is not empty."}"#
        )
        .is_in_use());
        assert!(e(
            400,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Storage credential 'c' has 2 dependent external locations"}"#
        )
        .is_in_use());
        assert!(!e(
            400,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"bad name"}"#
        )
        .is_in_use());
        assert!(!e(
            404,
            r#"{"error_code":"CATALOG_DOES_NOT_EXIST","message":"Catalog 'raw' is not empty"}"#
        )
        .is_in_use());
        assert!(!e(
            500,
            r#"{"error_code":"INTERNAL_ERROR","message":"is in use"}"#
        )
        .is_in_use());
        assert!(!e(
            403,
            r#"{"error_code":"PERMISSION_DENIED","message":"cannot drop: catalog is not empty and you are not its owner"}"#
        )
        .is_in_use());
    }

    #[test]
    fn numeric_error_codes_are_read_as_text() {
        let e = ApiError::from_response(
            403,
            "application/json",
            r#"{"error_code": 403, "message": "Invalid access token."}"#,
        );
        assert_eq!(e.error_code.as_deref(), Some("403"));
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        assert_eq!(e.to_string(), "403: Invalid access token. (HTTP 403)");
    }

    #[test]
    fn scim_oauth_legacy_plain_and_html_bodies_are_understood() {
        let scim = ApiError::from_response(
            409,
            "application/scim+json",
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"Group with name x already exists.","status":"409"}"#,
        );
        assert_eq!(scim.kind, ErrorKind::AlreadyExists);
        assert_eq!(scim.message, "Group with name x already exists.");
        let oauth = ApiError::from_response(
            401,
            "application/json",
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        );
        assert_eq!(oauth.kind, ErrorKind::Unauthenticated);
        assert_eq!(oauth.error_code.as_deref(), Some("invalid_client"));
        let legacy = ApiError::from_response(400, "application/json", r#"{"error":"bad thing"}"#);
        assert_eq!(
            (legacy.kind, legacy.message.as_str()),
            (ErrorKind::InvalidParameter, "bad thing")
        );
        let plain =
            ApiError::from_response(404, "text/plain", "RESOURCE_DOES_NOT_EXIST: no such thing");
        assert_eq!(plain.error_code.as_deref(), Some("RESOURCE_DOES_NOT_EXIST"));
        assert_eq!(plain.kind, ErrorKind::NotFound);
        let html =
            ApiError::from_response(502, "text/html", "<html><pre>upstream reset</pre></html>");
        assert_eq!(
            (html.kind, html.message.as_str()),
            (ErrorKind::Transient, "upstream reset")
        );
        let empty = ApiError::from_response(503, "", "");
        assert_eq!(empty.message, "HTTP 503 Service Unavailable");
        assert_eq!(empty.kind, ErrorKind::Transient);
    }

    #[test]
    fn statuses_decide_when_the_code_is_unknown() {
        assert_eq!(
            kind(404, r#"{"error_code":"ENDPOINT_NOT_FOUND","message":"x"}"#),
            ErrorKind::Other
        );
        assert_eq!(
            kind(404, r#"{"error_code":"SOMETHING_NEW","message":"x"}"#),
            ErrorKind::NotFound
        );
        assert_eq!(kind(429, "{}"), ErrorKind::RateLimited);
        assert_eq!(kind(418, "{}"), ErrorKind::Other);
        assert_eq!(kind(504, "not json {"), ErrorKind::Transient);
    }
}

//! Fault injection: a shared controller that tests set at any time, while the server runs.
//!
//! Two families:
//! - **Per-request faults** (`*_next(n, …)`) are queued; each of the next `n` requests whose path
//!   starts with the controller's prefix (see [`Faults::on`]) gets the fault. A request consumes
//!   at most one fault, the oldest queued one that matches. They apply before authentication, so
//!   an unscoped fault can hit the OAuth token endpoint too: scope it with [`Faults::on`] when
//!   that is not wanted.
//! - **Behaviour switches** change how the fake answers particular operations
//!   ([`Faults::workspace_fails`], [`Faults::credentials_validation_fails_first`],
//!   [`Faults::instance_profile_validation_fails_first`]).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::wire::{json_response, raw};

/// What a queued fault does to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status and body without processing the request. The body is sent as
    /// `application/json` when it parses as JSON, else as `text/plain` (so the plain-text, legacy
    /// `{"error": …}` and empty-body formats of reference §4.1 can all be produced).
    Fail {
        /// HTTP status.
        status: u16,
        /// Response body.
        body: String,
    },
    /// Answer 429 `REQUEST_LIMIT_EXCEEDED` with `Retry-After: <secs>`, without processing.
    RateLimit {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Wait this long, then process the request normally.
    Slow(Duration),
    /// Process the request normally (side effects happen), then cut its body in half: truncated
    /// JSON, as after a dropped connection.
    Malformed,
    /// Answer 200 `text/html` with a login page, without processing (reference §4.1 format 5).
    Html200,
    /// Answer 403 `{"error_code": 403, "message": "Invalid access token."}` (a numeric
    /// `error_code`, reference §4.1), without processing.
    NumericErrorCode,
}

impl FaultKind {
    /// A short name for the request log.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Fail { .. } => "fail",
            FaultKind::RateLimit { .. } => "rate_limit",
            FaultKind::Slow(_) => "slow",
            FaultKind::Malformed => "malformed",
            FaultKind::Html200 => "html_200",
            FaultKind::NumericErrorCode => "numeric_error_code",
        }
    }

    /// The immediate answer of a fault that short-circuits the request, `None` for the faults
    /// that let it through (`Slow`, `Malformed`).
    pub(crate) fn short_circuit(&self) -> Option<Response> {
        match self {
            FaultKind::Fail { status, body } => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let content_type = if serde_json::from_str::<serde_json::Value>(body).is_ok() {
                    "application/json"
                } else {
                    "text/plain; charset=utf-8"
                };
                Some(raw(status, content_type, body.clone()))
            }
            FaultKind::RateLimit { retry_after_secs } => {
                let mut resp = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    &json!({
                        "error_code": "REQUEST_LIMIT_EXCEEDED",
                        "message": "Your request was rejected due to API rate limit. Please retry your request later, or choose a larger node type instead.",
                    }),
                );
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                Some(resp)
            }
            FaultKind::Html200 => Some(raw(StatusCode::OK, "text/html; charset=utf-8", LOGIN_PAGE)),
            FaultKind::NumericErrorCode => Some(json_response(
                StatusCode::FORBIDDEN,
                &json!({"error_code": 403, "message": "Invalid access token."}),
            )),
            FaultKind::Slow(_) | FaultKind::Malformed => None,
        }
    }
}

/// The page a misrouted or unauthenticated browser-style request lands on.
const LOGIN_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Databricks - Sign In</title></head>\n<body><div id=\"login-page\">\
<form action=\"/login?next_url=%2F\" method=\"post\"><input name=\"username\">\
<input name=\"password\" type=\"password\"></form></div></body></html>\n";

/// One queued per-request fault.
#[derive(Debug, Clone)]
struct Pending {
    kind: FaultKind,
    remaining: usize,
    prefix: Option<String>,
}

/// Everything the controller holds.
#[derive(Debug, Default)]
struct FaultState {
    queue: Vec<Pending>,
    workspace_fails: bool,
    credentials_validation_failures: usize,
    instance_profile_validation_failures: usize,
}

/// The shared fault controller; clones share the same state. Get it from
/// [`FakeDatabricks::faults`](super::FakeDatabricks::faults).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
    prefix: Option<String>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A controller whose per-request faults only hit paths starting with `path_prefix`
    /// (e.g. `"/api/2.1/clusters"` or `"/oidc/"`); it shares state with `self`.
    pub fn on(&self, path_prefix: &str) -> Faults {
        Faults {
            inner: Arc::clone(&self.inner),
            prefix: Some(path_prefix.to_owned()),
        }
    }

    /// Queues `n` requests of a fault kind (the general form of the `*_next` setters).
    pub fn queue(&self, n: usize, kind: FaultKind) {
        if n == 0 {
            return;
        }
        self.lock().queue.push(Pending {
            kind,
            remaining: n,
            prefix: self.prefix.clone(),
        });
    }

    /// The next `n` requests answer `status` with `body` (e.g. a burst of 500/503).
    pub fn fail_next(&self, n: usize, status: u16, body: impl Into<String>) {
        self.queue(
            n,
            FaultKind::Fail {
                status,
                body: body.into(),
            },
        );
    }

    /// The next `n` requests answer 429 `REQUEST_LIMIT_EXCEEDED` with `Retry-After`.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.queue(n, FaultKind::RateLimit { retry_after_secs });
    }

    /// The next `n` requests are answered normally after `delay`.
    pub fn slow_next(&self, n: usize, delay: Duration) {
        self.queue(n, FaultKind::Slow(delay));
    }

    /// The next `n` requests are processed, then their body is truncated.
    pub fn malformed_next(&self, n: usize) {
        self.queue(n, FaultKind::Malformed);
    }

    /// The next `n` requests answer an HTML login page with status 200.
    pub fn html_200_next(&self, n: usize) {
        self.queue(n, FaultKind::Html200);
    }

    /// The next `n` requests answer 403 with a numeric `error_code`.
    pub fn numeric_error_code_next(&self, n: usize) {
        self.queue(n, FaultKind::NumericErrorCode);
    }

    /// While true, every workspace created or re-provisioned (PATCH) ends `FAILED` after the
    /// provisioning delay, with a `workspace_status_message` and, when it has a network, a
    /// `BROKEN` network with an `error_messages` entry. Workspaces already decided keep their fate.
    pub fn workspace_fails(&self, fails: bool) {
        self.lock().workspace_fails = fails;
    }

    /// The next `n` workspace creations answer 400 `MALFORMED_REQUEST` "Failed credentials
    /// validation checks: …" (the IAM eventual-consistency error) and create nothing.
    pub fn credentials_validation_fails_first(&self, n: usize) {
        self.lock().credentials_validation_failures = n;
    }

    /// The next `n` instance-profile registrations (without `skip_validation`) answer 400
    /// `DRY_RUN_FAILED` "Verification of the instance profile failed. …" and register nothing.
    pub fn instance_profile_validation_fails_first(&self, n: usize) {
        self.lock().instance_profile_validation_failures = n;
    }

    /// Removes every queued fault and resets every switch.
    pub fn clear(&self) {
        *self.lock() = FaultState::default();
    }

    /// How many per-request faults are still queued (summed over kinds).
    pub fn pending(&self) -> usize {
        self.lock().queue.iter().map(|p| p.remaining).sum()
    }

    /// Takes the fault for a request to `path`, if one is queued for it.
    pub(crate) fn take(&self, path: &str) -> Option<FaultKind> {
        let mut state = self.lock();
        let idx = state.queue.iter().position(|p| {
            p.remaining > 0 && p.prefix.as_deref().is_none_or(|pre| path.starts_with(pre))
        })?;
        let pending = &mut state.queue[idx];
        pending.remaining -= 1;
        let kind = pending.kind.clone();
        if pending.remaining == 0 {
            state.queue.remove(idx);
        }
        Some(kind)
    }

    /// Whether new workspaces should fail.
    pub(crate) fn workspace_should_fail(&self) -> bool {
        self.lock().workspace_fails
    }

    /// Consumes one credentials-validation failure; true when this attempt must fail.
    pub(crate) fn take_credentials_failure(&self) -> bool {
        take_counter(&mut self.lock().credentials_validation_failures)
    }

    /// Consumes one instance-profile validation failure; true when this attempt must fail.
    pub(crate) fn take_instance_profile_failure(&self) -> bool {
        take_counter(&mut self.lock().instance_profile_validation_failures)
    }
}

fn take_counter(counter: &mut usize) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_taken_in_order_and_by_prefix() {
        let faults = Faults::default();
        faults.on("/api/2.1/clusters").html_200_next(1);
        faults.fail_next(2, 503, "");
        assert_eq!(faults.pending(), 3);
        // The scoped fault is older but does not match this path.
        assert_eq!(
            faults.take("/oidc/v1/token").map(|k| k.name()),
            Some("fail")
        );
        assert_eq!(
            faults.take("/api/2.1/clusters/get").map(|k| k.name()),
            Some("html_200")
        );
        assert_eq!(faults.take("/x").map(|k| k.name()), Some("fail"));
        assert_eq!(faults.take("/x"), None);
    }

    #[test]
    fn counters_run_out() {
        let faults = Faults::default();
        faults.credentials_validation_fails_first(2);
        assert!(faults.take_credentials_failure());
        assert!(faults.take_credentials_failure());
        assert!(!faults.take_credentials_failure());
    }
}

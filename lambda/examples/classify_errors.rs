//! The provider's classification of Databricks error answers, for the request check of
//! `scripts/test` (`testkit/python/check_requests.py`), which compares it with the SDK's.
//!
//! Reads JSON lines `{"method": "GET", "path": "/api/2.1/clusters/get", "status": 404,
//! "content_type": "application/json", "body": "…"}` on stdin (`method` and `path` optional) and
//! prints, for each, one line: the [`ErrorKind`] that `ApiError::from_response_at(endpoint,
//! status, content_type, body)` gives (`NotFound`, `RateLimited`, …), as the client classifies
//! the answer of that endpoint.
//!
//! ```text
//! echo '{"status":404,"content_type":"application/json","body":"{}"}' \
//!   | cargo run -q -p databricks-provider --example classify_errors
//! ```

use std::io::{BufRead, Write};
use std::process::ExitCode;

use databricks_provider::client::{ApiError, Endpoint, ErrorKind};

fn main() -> ExitCode {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("classify_errors: reading line {}: {e}", n + 1);
                return ExitCode::FAILURE;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let kind = match classify(&line) {
            Ok(kind) => kind,
            Err(e) => {
                eprintln!("classify_errors: line {}: {e}", n + 1);
                return ExitCode::FAILURE;
            }
        };
        if writeln!(out, "{kind:?}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// The kind of one `{status, content_type, body}` line.
fn classify(line: &str) -> Result<ErrorKind, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let status = value
        .get("status")
        .and_then(serde_json::Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or("status must be an HTTP status number")?;
    let text = |key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_str)
            .ok_or(format!("{key} must be a string"))
    };
    let endpoint = match (text("method"), text("path")) {
        (Ok(method), Ok(path)) => Some(Endpoint { method, path }),
        _ => None,
    };
    Ok(ApiError::from_response_at(endpoint, status, text("content_type")?, text("body")?).kind)
}

//! Sends the answer to the `ResponseURL` (a presigned S3 URL): an HTTP PUT with an empty
//! content type, retried on connection errors and 5xx with backoff.

use std::time::Duration;

/// Attempts before giving up.
pub const ATTEMPTS: u32 = 5;

/// Why the answer could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The URL answered a status that retrying will not change.
    #[error("the ResponseURL refused the answer with HTTP {0}")]
    Refused(u16),
    /// Every attempt failed (connection errors or 5xx).
    #[error("the answer could not be delivered after {ATTEMPTS} attempts: {0}")]
    Exhausted(String),
}

/// PUTs `body` to `url`. `backoff` is the first wait; it doubles each retry.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    body: &str,
    backoff: Duration,
) -> Result<(), SendError> {
    let mut wait = backoff;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .put(url)
            // The presigned URL is signed for an empty content type.
            .header("content-type", "")
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                last = format!("HTTP {}", r.status().as_u16());
            }
            Ok(r) => return Err(SendError::Refused(r.status().as_u16())),
            Err(e) => last = e.to_string(),
        }
        tracing::warn!(attempt, error = %last, "sending the CloudFormation response failed");
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    Err(SendError::Exhausted(last))
}

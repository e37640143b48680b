//! The Lambda entry point: set up once, then answer each event exactly once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use databricks_provider::dispatch::{fallback_request, respond};
use databricks_provider::event::Request;
use databricks_provider::response::Redactor;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let client = &client;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            let time_left = time_left(event.context.deadline);
            let request = match serde_json::from_value::<Request>(event.payload.clone()) {
                Ok(r) => r,
                Err(e) => {
                    // Still answer, so the stack does not wait for the service timeout.
                    let Some(r) = fallback_request(&event.payload) else {
                        return Err(Error::from(format!("not a custom-resource event: {e}")));
                    };
                    let reason = format!("the event does not parse: {e}");
                    respond(
                        client,
                        r,
                        time_left,
                        &Redactor::default(),
                        move |_| async move {
                            databricks_provider::response::Outcome::Failed { reason }
                        },
                    )
                    .await?;
                    return Ok(());
                }
            };
            respond(
                client,
                request,
                time_left,
                &Redactor::default(),
                databricks_provider::handle,
            )
            .await?;
            Ok::<(), Error>(())
        },
    ))
    .await
}

/// Time until the invocation deadline (milliseconds since the epoch).
fn time_left(deadline_ms: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Duration::from_millis(deadline_ms.saturating_sub(now))
}

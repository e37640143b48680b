//! The Lambda entry point: set up once, then answer each event exactly once.

use std::time::Duration;

use databricks_provider::dispatch::{
    fallback_request, now_ms, respond, Invocation, NoContinuation,
};
use databricks_provider::response::{Outcome, Redactor};
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
            let time_left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms()));
            let invocation = match Invocation::from_payload(&event.payload) {
                Ok(i) => i,
                Err(e) => {
                    // Still answer, so the stack does not wait for the service timeout.
                    let Some(request) = fallback_request(&event.payload) else {
                        return Err(Error::from(format!("not a custom-resource event: {e}")));
                    };
                    let reason = format!("the event does not parse: {e}");
                    let invocation = Invocation {
                        request,
                        progress: None,
                        started_at_ms: now_ms(),
                    };
                    respond(
                        client,
                        invocation,
                        time_left,
                        &Redactor::default(),
                        &NoContinuation,
                        move |_, _| {
                            let reason = reason.clone();
                            async move { Outcome::Failed { reason } }
                        },
                    )
                    .await?;
                    return Ok(());
                }
            };
            respond(
                client,
                invocation,
                time_left,
                &Redactor::default(),
                &NoContinuation,
                databricks_provider::handle,
            )
            .await?;
            Ok::<(), Error>(())
        },
    ))
    .await
}

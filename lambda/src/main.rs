//! The Lambda entry point: set up once, then answer each event exactly once.
//!
//! Nothing slow happens before the first event (cold start): the OAuth secret is read and the
//! Databricks context built on the first event, then reused.

use std::sync::Arc;
use std::time::Duration;

use databricks_provider::aws::{LambdaContinuation, SecretSource};
use databricks_provider::dispatch::{fallback_request, now_ms, respond, Invocation};
use databricks_provider::handlers::{self, Ctx};
use databricks_provider::response::{Outcome, Redactor};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use tokio::sync::OnceCell;

/// What the first event sets up.
struct Setup {
    aws: aws_config::SdkConfig,
    ctx: Arc<Ctx>,
    redactor: Redactor,
}

async fn setup() -> Result<Setup, String> {
    let aws = aws_config::load_from_env().await;
    let source = SecretSource::from_env(|k| std::env::var(k).ok())?;
    let secret = source.read(&aws).await?;
    let ctx = Arc::new(Ctx::new(secret).map_err(|e| e.to_string())?);
    let redactor = ctx.redactor();
    Ok(Setup { aws, ctx, redactor })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let http = &http;
    let setup_cell: OnceCell<Setup> = OnceCell::new();
    let setup_cell = &setup_cell;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move {
            let time_left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms()));
            let invocation = Invocation::from_payload(&event.payload).map_err(|e| e.to_string());
            let setup = setup_cell.get_or_try_init(setup).await;
            let failure = match (&invocation, &setup) {
                (Err(e), _) => Some(format!("the event does not parse: {e}")),
                (Ok(_), Err(e)) => Some(format!("the provider could not start: {e}")),
                _ => None,
            };
            if let Some(reason) = failure {
                // Still answer, so the stack does not wait for the service timeout.
                let request = match &invocation {
                    Ok(i) => i.request.clone(),
                    Err(e) => fallback_request(&event.payload)
                        .ok_or_else(|| Error::from(format!("not a custom-resource event: {e}")))?,
                };
                let invocation = Invocation {
                    request,
                    progress: None,
                    started_at_ms: now_ms(),
                };
                let redactor = setup
                    .as_ref()
                    .map(|s| s.redactor.clone())
                    .unwrap_or_default();
                respond(
                    http,
                    invocation,
                    time_left,
                    &redactor,
                    &databricks_provider::dispatch::NoContinuation,
                    move |_, _| {
                        let reason = reason.clone();
                        async move { Outcome::Failed { reason } }
                    },
                )
                .await?;
                return Ok(());
            }
            let (Ok(invocation), Ok(setup)) = (invocation, setup) else {
                unreachable!("both were checked above");
            };
            let continuation =
                LambdaContinuation::new(&setup.aws, &event.context.invoked_function_arn);
            let ctx = setup.ctx.clone();
            respond(
                http,
                invocation,
                time_left,
                &setup.redactor,
                &continuation,
                move |request, progress| handlers::handle(ctx.clone(), request, progress),
            )
            .await?;
            Ok::<(), Error>(())
        },
    ))
    .await
}

//! One event, one answer. The handler runs in its own task, bounded by the time the invocation
//! has left; an error, a panic or the deadline all become a FAILED answer with the cause.
//!
//! Long operations answer [`Outcome::InProgress`]: the handler is asked again after the wait it
//! names, in this invocation while time remains, else in a new asynchronous invocation of the
//! same function (a [`Continuation`]) that carries the event and the progress. CloudFormation
//! still gets exactly one answer, from whichever invocation finishes; the resource's
//! `ServiceTimeout` bounds the whole operation.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::event::Request;
use crate::response::{Outcome, Redactor, Response, FAILED_CREATE_PREFIX};
use crate::sender::{send, SendError};

/// Time kept back from the invocation deadline to answer or to hand over.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(10);

/// Time a poll needs at least: a wait that would leave less hands the operation over instead.
pub const MIN_POLL_TIME: Duration = Duration::from_millis(500);

/// The `ServiceTimeout` CloudFormation uses when the template sets none (one hour).
pub const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Payload keys a continuation adds to the original event.
pub const PROGRESS_KEY: &str = "CdkrsProgress";
/// When the operation began (milliseconds since the epoch), carried across invocations.
pub const STARTED_AT_KEY: &str = "CdkrsStartedAt";

/// One invocation's work: the request, and what earlier invocations achieved.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The CloudFormation request.
    pub request: Request,
    /// The progress an earlier invocation handed over.
    pub progress: Option<serde_json::Value>,
    /// When the operation began (milliseconds since the epoch).
    pub started_at_ms: u64,
}

impl Invocation {
    /// Reads an invocation from a Lambda payload: a CloudFormation event, possibly carrying
    /// the progress of a continuation.
    pub fn from_payload(payload: &serde_json::Value) -> Result<Invocation, serde_json::Error> {
        let request: Request = serde_json::from_value(payload.clone())?;
        Ok(Invocation {
            request,
            progress: payload.get(PROGRESS_KEY).cloned(),
            started_at_ms: payload
                .get(STARTED_AT_KEY)
                .and_then(|v| v.as_u64())
                .unwrap_or_else(now_ms),
        })
    }

    /// The payload that continues this operation with `progress` in a new invocation.
    pub fn continuation_payload(&self, progress: &serde_json::Value) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.request).expect("a request serializes");
        if let Some(m) = v.as_object_mut() {
            m.insert(PROGRESS_KEY.into(), progress.clone());
            m.insert(STARTED_AT_KEY.into(), self.started_at_ms.into());
        }
        v
    }

    /// The resource's `ServiceTimeout` (seconds, as a string in the event), or the default.
    pub fn service_timeout(&self) -> Duration {
        self.request
            .common()
            .resource_properties
            .get("ServiceTimeout")
            .and_then(|v| match v {
                serde_json::Value::String(s) => s.parse::<u64>().ok(),
                other => other.as_u64(),
            })
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_SERVICE_TIMEOUT)
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Hands a long operation over to a new invocation of the same function.
pub trait Continuation {
    /// Starts an asynchronous invocation with `payload`; an error is a plain-words cause.
    fn continue_with(
        &self,
        payload: serde_json::Value,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// No hand-over possible: a long operation that outlives the invocation fails.
pub struct NoContinuation;

impl Continuation for NoContinuation {
    async fn continue_with(&self, _payload: serde_json::Value) -> Result<(), String> {
        Err("no continuation is configured".into())
    }
}

/// How an invocation ended.
#[derive(Debug)]
pub enum Handled {
    /// CloudFormation was answered.
    Answered(Response),
    /// The operation goes on in a new invocation, which will answer.
    Continued,
}

/// Runs the handler for `invocation` (again while it answers `InProgress` and time remains),
/// then answers CloudFormation once, or hands the operation over to a new invocation.
pub async fn respond<F, Fut, C>(
    client: &reqwest::Client,
    invocation: Invocation,
    time_left: Duration,
    redactor: &Redactor,
    continuation: &C,
    mut handler: F,
) -> Result<Handled, SendError>
where
    F: FnMut(Request, Option<serde_json::Value>) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
    C: Continuation,
{
    let request = invocation.request.clone();
    let deadline = Instant::now() + time_left.saturating_sub(ANSWER_MARGIN);
    let operation_deadline_ms = invocation
        .started_at_ms
        .saturating_add(invocation.service_timeout().as_millis() as u64)
        .saturating_sub(ANSWER_MARGIN.as_millis() as u64);
    let mut progress = invocation.progress.clone();

    let outcome = if is_failed_create_delete(&request) {
        // Its Create failed: nothing exists on the Databricks side.
        Outcome::Success {
            physical_resource_id: request
                .physical_resource_id()
                .unwrap_or_default()
                .to_owned(),
            data: Default::default(),
        }
    } else {
        loop {
            let budget = deadline.saturating_duration_since(Instant::now());
            let task = tokio::spawn(handler(request.clone(), progress.clone()));
            let outcome = match tokio::time::timeout(budget, task).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(join)) if join.is_panic() => Outcome::Failed {
                    reason: format!("the provider crashed: {}", panic_message(join)),
                },
                Ok(Err(_)) => Outcome::Failed {
                    reason: "the provider's task was cancelled".into(),
                },
                // A poll of an operation under way is only a look: the next invocation looks
                // again from the same progress instead of failing the resource.
                Err(_) if progress.is_some() => Outcome::InProgress {
                    progress: progress.clone().unwrap_or_default(),
                    retry_after: Duration::ZERO,
                },
                Err(_) => Outcome::Failed {
                    reason: format!(
                        "the provider ran out of time ({}s left in the invocation); see its log group",
                        budget.as_secs()
                    ),
                },
            };
            let Outcome::InProgress {
                progress: next,
                retry_after,
            } = outcome
            else {
                break outcome;
            };
            if now_ms() >= operation_deadline_ms {
                break Outcome::Failed {
                    reason: format!(
                        "the operation did not finish within the resource's ServiceTimeout ({}s)",
                        invocation.service_timeout().as_secs()
                    ),
                };
            }
            if Instant::now() + retry_after + MIN_POLL_TIME < deadline {
                tokio::time::sleep(retry_after).await;
                progress = Some(next);
                continue;
            }
            let payload = invocation.continuation_payload(&next);
            match continuation.continue_with(payload).await {
                Ok(()) => {
                    tracing::info!(
                        logical_id = %request.common().logical_resource_id,
                        "operation continues in a new invocation"
                    );
                    return Ok(Handled::Continued);
                }
                Err(cause) => {
                    break Outcome::Failed {
                        reason: format!(
                            "the operation outlived the invocation and could not continue: {cause}"
                        ),
                    }
                }
            }
        }
    };
    let response = Response::new(&request, outcome, redactor);
    tracing::info!(
        request_type = request.kind(),
        logical_id = %request.common().logical_resource_id,
        status = response.status,
        reason = %response.reason,
        "answering CloudFormation"
    );
    send(
        client,
        &request.common().response_url,
        &response.body(),
        Duration::from_millis(200),
    )
    .await?;
    Ok(Handled::Answered(response))
}

fn is_failed_create_delete(request: &Request) -> bool {
    matches!(request, Request::Delete { physical_resource_id, .. }
        if physical_resource_id.starts_with(FAILED_CREATE_PREFIX))
}

fn panic_message(join: tokio::task::JoinError) -> String {
    let payload = join.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// The fields needed to answer an event whose body does not parse as a request, so that even a
/// malformed event gets its one FAILED answer instead of leaving the stack waiting.
pub fn fallback_request(raw: &serde_json::Value) -> Option<Request> {
    let text = |k: &str| raw.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let common = crate::event::Common {
        request_id: text("RequestId")?,
        response_url: text("ResponseURL")?,
        stack_id: text("StackId")?,
        logical_resource_id: text("LogicalResourceId")?,
        resource_type: text("ResourceType").unwrap_or_default(),
        service_token: None,
        resource_properties: serde_json::Value::Null,
    };
    Some(match text("PhysicalResourceId") {
        Some(id) => Request::Update {
            common,
            physical_resource_id: id,
            old_resource_properties: serde_json::Value::Null,
        },
        None => Request::Create { common },
    })
}

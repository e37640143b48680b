//! One invocation, one answer: the handler runs in its own task, bounded by the time the
//! invocation has left; an error, a panic or the deadline all become a FAILED answer with the
//! cause, and the answer is sent exactly once.

use std::future::Future;
use std::time::Duration;

use crate::event::Request;
use crate::response::{Outcome, Redactor, Response, FAILED_CREATE_PREFIX};
use crate::sender::{send, SendError};

/// Time kept back from the invocation deadline to send the answer.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(10);

/// What an invocation did: the answer it sent.
#[derive(Debug)]
pub struct Answered {
    /// The answer.
    pub response: Response,
}

/// Runs `handler` for `request` within `time_left - ANSWER_MARGIN`, then sends the one answer.
pub async fn respond<F, Fut>(
    client: &reqwest::Client,
    request: Request,
    time_left: Duration,
    redactor: &Redactor,
    handler: F,
) -> Result<Answered, SendError>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
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
        let budget = time_left.saturating_sub(ANSWER_MARGIN);
        let task = tokio::spawn(handler(request.clone()));
        match tokio::time::timeout(budget, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join)) if join.is_panic() => Outcome::Failed {
                reason: format!("the provider crashed: {}", panic_message(join)),
            },
            Ok(Err(_)) => Outcome::Failed {
                reason: "the provider's task was cancelled".into(),
            },
            Err(_) => Outcome::Failed {
                reason: format!(
                    "the provider ran out of time ({}s left in the invocation); see its log group",
                    budget.as_secs()
                ),
            },
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
    Ok(Answered { response })
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

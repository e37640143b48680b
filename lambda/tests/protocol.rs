//! The custom-resource protocol against a local ResponseURL receiver: exactly one answer per
//! event whatever the handler does, retries on 5xx, no retry on 4xx.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use databricks_provider::dispatch::{
    fallback_request, now_ms, respond, Continuation, Handled, Invocation, NoContinuation,
    ANSWER_MARGIN, PROGRESS_KEY, STARTED_AT_KEY,
};
use databricks_provider::response::{Outcome, Redactor, FAILED_CREATE_PREFIX};
use databricks_provider::sender::SendError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    content_type: Option<String>,
    body: String,
}

/// A ResponseURL stand-in on 127.0.0.1: answers the given statuses in turn (then 200).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(statuses: Vec<u16>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!(
            "http://{}/cfn-response?X-Amz-Signature=test",
            listener.local_addr().expect("address")
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let log = got.clone();
        tokio::spawn(async move {
            let mut statuses = statuses.into_iter();
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then the body by Content-Length.
                let (head_end, length) = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break (buf.len(), 0);
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (pos + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let method = head.split_whitespace().next().unwrap_or("").to_owned();
                let content_type = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-type")
                        .then(|| v.trim().to_owned())
                });
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                log.lock().expect("log").push(Received {
                    method,
                    content_type,
                    body,
                });
                let status = statuses.next().unwrap_or(200);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("log").clone()
    }
}

fn event(fixture: &str, url: &str) -> Invocation {
    let mut v: serde_json::Value = serde_json::from_str(fixture).expect("fixture JSON");
    v["ResponseURL"] = serde_json::Value::String(url.to_owned());
    Invocation::from_payload(&v).expect("an invocation")
}

fn answered(h: Handled) -> databricks_provider::response::Response {
    match h {
        Handled::Answered(r) => r,
        Handled::Continued => panic!("expected an answer, the operation was handed over"),
    }
}

const CREATE: &str = include_str!("fixtures/create_credentials.json");
const DELETE: &str = include_str!("fixtures/delete_credentials.json");

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

fn body_of(r: &Received) -> serde_json::Value {
    serde_json::from_str(&r.body).expect("a JSON answer")
}

#[tokio::test]
async fn a_success_is_put_once_with_an_empty_content_type() {
    let rx = Receiver::start(vec![]).await;
    let answered = answered(
        respond(
            &client(),
            event(CREATE, &rx.url),
            Duration::from_secs(60),
            &Redactor::default(),
            &NoContinuation,
            |_, _| async {
                Outcome::Success {
                    physical_resource_id: "cred-1".into(),
                    data: [("CredentialsId".to_owned(), "cred-1".to_owned())].into(),
                }
            },
        )
        .await
        .expect("delivered"),
    );
    assert_eq!(answered.status, "SUCCESS");
    let got = rx.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].method, "PUT");
    assert_eq!(got[0].content_type.as_deref(), Some(""));
    let body = body_of(&got[0]);
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["PhysicalResourceId"], "cred-1");
    assert_eq!(body["Data"]["CredentialsId"], "cred-1");
}

#[tokio::test]
async fn a_5xx_from_the_response_url_is_retried_until_delivered() {
    let rx = Receiver::start(vec![500, 503]).await;
    respond(
        &client(),
        event(CREATE, &rx.url),
        Duration::from_secs(60),
        &Redactor::default(),
        &NoContinuation,
        |_, _| async {
            Outcome::Failed {
                reason: "no".into(),
            }
        },
    )
    .await
    .expect("delivered on the third attempt");
    let got = rx.received();
    assert_eq!(got.len(), 3);
    // The same answer each time.
    assert!(got.iter().all(|r| r.body == got[0].body));
}

#[tokio::test]
async fn a_4xx_from_the_response_url_is_not_retried() {
    let rx = Receiver::start(vec![403]).await;
    let err = respond(
        &client(),
        event(CREATE, &rx.url),
        Duration::from_secs(60),
        &Redactor::default(),
        &NoContinuation,
        |_, _| async {
            Outcome::Failed {
                reason: "no".into(),
            }
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SendError::Refused(403)), "{err}");
    assert_eq!(rx.received().len(), 1);
}

#[tokio::test]
async fn a_panicking_handler_still_gets_one_failed_answer() {
    let rx = Receiver::start(vec![]).await;
    let answered = answered(
        respond(
            &client(),
            event(CREATE, &rx.url),
            Duration::from_secs(60),
            &Redactor::default(),
            &NoContinuation,
            |_, _| async { panic!("boom in the handler") },
        )
        .await
        .expect("delivered"),
    );
    assert_eq!(answered.status, "FAILED");
    assert_eq!(answered.reason, "the provider crashed: boom in the handler");
    assert_eq!(rx.received().len(), 1);
}

#[tokio::test]
async fn a_handler_past_the_deadline_gets_one_failed_answer_in_time() {
    let rx = Receiver::start(vec![]).await;
    let started = std::time::Instant::now();
    let answered = answered(
        respond(
            &client(),
            event(CREATE, &rx.url),
            ANSWER_MARGIN + Duration::from_millis(100),
            &Redactor::default(),
            &NoContinuation,
            |_, _| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Outcome::Failed {
                    reason: "too late".into(),
                }
            },
        )
        .await
        .expect("delivered"),
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(answered.status, "FAILED");
    assert!(
        answered.reason.starts_with("the provider ran out of time"),
        "{}",
        answered.reason
    );
    assert_eq!(rx.received().len(), 1);
}

#[tokio::test]
async fn deleting_a_resource_whose_create_failed_calls_nothing() {
    let rx = Receiver::start(vec![]).await;
    let mut v: serde_json::Value = serde_json::from_str(DELETE).expect("fixture");
    v["ResponseURL"] = serde_json::Value::String(rx.url.clone());
    v["PhysicalResourceId"] = serde_json::Value::String(format!("{FAILED_CREATE_PREFIX}r-1"));
    let request = Invocation::from_payload(&v).expect("request");
    let answered = answered(
        respond(
            &client(),
            request,
            Duration::from_secs(60),
            &Redactor::default(),
            &NoContinuation,
            |_, _| async { panic!("the handler must not run") },
        )
        .await
        .expect("delivered"),
    );
    assert_eq!(answered.status, "SUCCESS");
    assert_eq!(
        answered.physical_resource_id,
        format!("{FAILED_CREATE_PREFIX}r-1")
    );
}

#[tokio::test]
async fn the_secret_never_reaches_the_answer() {
    let rx = Receiver::start(vec![]).await;
    let mut redactor = Redactor::default();
    redactor.add("dose-super-secret");
    respond(
        &client(),
        event(CREATE, &rx.url),
        Duration::from_secs(60),
        &redactor,
        &NoContinuation,
        |_, _| async {
            Outcome::Failed {
                reason: "OAuth refused client secret dose-super-secret".into(),
            }
        },
    )
    .await
    .expect("delivered");
    let got = rx.received();
    assert!(
        !got[0].body.contains("dose-super-secret"),
        "{}",
        got[0].body
    );
    assert!(got[0].body.contains("client secret ***"), "{}", got[0].body);
}

#[test]
fn a_malformed_event_still_names_where_to_answer() {
    let raw: serde_json::Value = serde_json::json!({
        "RequestType": "Rename",
        "ResponseURL": "http://127.0.0.1:9/x",
        "StackId": "arn:stack",
        "RequestId": "r-9",
        "LogicalResourceId": "X",
        "ResourceType": "Custom::DatabricksCluster"
    });
    let r = fallback_request(&raw).expect("enough to answer");
    assert_eq!(r.common().request_id, "r-9");
    assert_eq!(r.common().response_url, "http://127.0.0.1:9/x");
    assert!(fallback_request(&serde_json::json!({"RequestId": "r"})).is_none());
}

/// Records hand-overs instead of invoking a function.
#[derive(Default)]
struct Recorder {
    payloads: Mutex<Vec<serde_json::Value>>,
    fail: bool,
}

impl Continuation for Recorder {
    async fn continue_with(&self, payload: serde_json::Value) -> Result<(), String> {
        if self.fail {
            return Err("Lambda said no".into());
        }
        self.payloads.lock().expect("log").push(payload);
        Ok(())
    }
}

fn in_progress(step: u64) -> Outcome {
    Outcome::InProgress {
        progress: serde_json::json!({ "step": step }),
        retry_after: Duration::from_millis(20),
    }
}

#[tokio::test]
async fn a_long_operation_is_polled_within_the_invocation_until_done() {
    let rx = Receiver::start(vec![]).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let answered = answered(
        respond(
            &client(),
            event(CREATE, &rx.url),
            Duration::from_secs(60),
            &Redactor::default(),
            &NoContinuation,
            move |_, progress: Option<serde_json::Value>| {
                let log = log.clone();
                async move {
                    let step = progress
                        .as_ref()
                        .and_then(|p| p["step"].as_u64())
                        .unwrap_or(0);
                    log.lock().expect("log").push(step);
                    if step < 2 {
                        in_progress(step + 1)
                    } else {
                        Outcome::Success {
                            physical_resource_id: "ws-1".into(),
                            data: Default::default(),
                        }
                    }
                }
            },
        )
        .await
        .expect("delivered"),
    );
    assert_eq!(answered.status, "SUCCESS");
    assert_eq!(*seen.lock().expect("log"), vec![0, 1, 2]);
    assert_eq!(rx.received().len(), 1);
}

#[tokio::test]
async fn a_long_operation_outliving_the_invocation_is_handed_over_without_answering() {
    let rx = Receiver::start(vec![]).await;
    let recorder = Recorder::default();
    let handled = respond(
        &client(),
        event(CREATE, &rx.url),
        // No time for another poll here: the operation must continue elsewhere.
        ANSWER_MARGIN + Duration::from_millis(10),
        &Redactor::default(),
        &recorder,
        |_, _| async { in_progress(1) },
    )
    .await
    .expect("handed over");
    assert!(matches!(handled, Handled::Continued));
    assert!(
        rx.received().is_empty(),
        "no answer yet: the next invocation answers"
    );
    let payloads = recorder.payloads.lock().expect("log").clone();
    assert_eq!(payloads.len(), 1);
    let p = &payloads[0];
    assert_eq!(p[PROGRESS_KEY], serde_json::json!({"step": 1}));
    assert!(p[STARTED_AT_KEY].as_u64().is_some());
    assert_eq!(p["RequestType"], "Create");
    assert_eq!(p["LogicalResourceId"], "DatabricksCredentials");
    // The next invocation reads it back, progress included.
    let next = Invocation::from_payload(p).expect("a continuation payload parses");
    assert_eq!(next.progress, Some(serde_json::json!({"step": 1})));
}

#[tokio::test]
async fn a_failed_hand_over_is_answered_as_a_failure() {
    let rx = Receiver::start(vec![]).await;
    let recorder = Recorder {
        fail: true,
        ..Default::default()
    };
    let answered = answered(
        respond(
            &client(),
            event(CREATE, &rx.url),
            ANSWER_MARGIN + Duration::from_millis(10),
            &Redactor::default(),
            &recorder,
            |_, _| async { in_progress(1) },
        )
        .await
        .expect("delivered"),
    );
    assert_eq!(answered.status, "FAILED");
    assert_eq!(
        answered.reason,
        "the operation outlived the invocation and could not continue: Lambda said no"
    );
    assert_eq!(rx.received().len(), 1);
}

#[tokio::test]
async fn an_operation_past_its_service_timeout_fails() {
    let rx = Receiver::start(vec![]).await;
    let mut invocation = event(CREATE, &rx.url);
    // Began two hours ago; the fixture's ServiceTimeout is 1800 s.
    invocation.started_at_ms = now_ms() - 7_200_000;
    let answered = answered(
        respond(
            &client(),
            invocation,
            Duration::from_secs(60),
            &Redactor::default(),
            &NoContinuation,
            |_, _| async { in_progress(1) },
        )
        .await
        .expect("delivered"),
    );
    assert_eq!(answered.status, "FAILED");
    assert_eq!(
        answered.reason,
        "the operation did not finish within the resource's ServiceTimeout (1800s)"
    );
}

#[tokio::test]
async fn a_poll_cut_by_the_deadline_is_handed_over_not_failed() {
    let rx = Receiver::start(vec![]).await;
    let recorder = Recorder::default();
    let mut invocation = event(CREATE, &rx.url);
    invocation.progress = Some(serde_json::json!({"step": 3}));
    let handled = respond(
        &client(),
        invocation,
        ANSWER_MARGIN + Duration::from_millis(100),
        &Redactor::default(),
        &recorder,
        |_, _| async {
            // A poll slower than what is left of the invocation.
            tokio::time::sleep(Duration::from_secs(30)).await;
            in_progress(4)
        },
    )
    .await
    .expect("handed over");
    assert!(matches!(handled, Handled::Continued));
    assert!(rx.received().is_empty());
    let payloads = recorder.payloads.lock().expect("log").clone();
    assert_eq!(payloads[0][PROGRESS_KEY], serde_json::json!({"step": 3}));
}

//! The fake's request log (`FakeConfig::request_log`, by default `CDKRS_DATABRICKS_REQUEST_LOG`):
//! one JSON line per answered request, with the JSON body and, for errors, the answer; nothing
//! secret; nothing lost when a test drops the server without stopping it.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;
use testkit::databricks::{FakeConfig, FakeDatabricks, Propagation};

/// One HTTP/1.1 exchange on a fresh connection; the status and the body.
fn send(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the fake");
    let request = format!(
        "{head}\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: cdkrs-databricks-provider/0.1.0 test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the answer");
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (status, body.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_logged_with_its_body_and_error_answer_and_no_secret_even_when_the_server_is_dropped(
) {
    let dir = std::env::temp_dir().join(format!("cdkrs-request-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let fake = FakeDatabricks::start(FakeConfig {
        request_log: Some(dir.clone()),
        // The IAM propagation races are the provider tests' business (they retry them); here
        // every call must answer as the SDK expects at once.
        credentials_propagation: Propagation::NONE,
        log_delivery_propagation: Propagation::NONE,
        ..FakeConfig::default()
    })
    .await;
    let config = fake.config().clone();
    let addr = fake.addr();
    let secret = config.client_secret.clone();
    let account = config.account_id.clone();
    tokio::task::spawn_blocking(move || {
        let secret = config.client_secret.clone();
        let form = format!(
            "grant_type=client_credentials&scope=all-apis&client_id={}&client_secret={secret}",
            config.client_id
        );
        let (status, token) = send(
            addr,
            &format!("POST /oidc/accounts/{account}/v1/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded"),
            &form,
        );
        assert_eq!(status, 200, "{token}");
        let token: Value = serde_json::from_str(&token).expect("a token answer");
        let token = token["access_token"].as_str().expect("an access token");
        let body = r#"{"credentials_name":"logged","aws_credentials":{"sts_role":{"role_arn":"arn:aws:iam::123456789012:role/x"}}}"#;
        let (status, _) = send(
            addr,
            &format!("POST /api/2.0/accounts/{account}/credentials?x=1 HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json"),
            body,
        );
        assert_eq!(status, 200);
        let (status, _) = send(addr, "GET /api/2.0/no-such-endpoint HTTP/1.1", "");
        assert_eq!(status, 401, "an unauthenticated call is refused");
    })
    .await
    .expect("the client");
    drop(fake);

    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the log directory exists")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one file per server: {files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("read the log");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !text.contains(&secret),
        "the client secret is never logged:\n{text}"
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["body"], Value::Null, "token requests keep no body");
    assert_eq!(lines[0]["client"], "cdkrs-databricks-provider/0.1.0");
    assert_eq!(lines[1]["query"], "x=1");
    assert_eq!(lines[1]["body"]["credentials_name"], "logged");
    assert_eq!(lines[1]["error"], Value::Null);
    assert_eq!(lines[2]["error"]["status"], 401);
    assert_eq!(lines[2]["error"]["content_type"], "application/json");
    assert!(
        lines[2]["error"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("UNAUTHENTICATED")),
        "{text}"
    );
}

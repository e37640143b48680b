//! The harness shared by the handler tests (`handlers.rs`) and the fault matrix
//! (`fault_matrix.rs`): a fake Databricks server, a local ResponseURL receiver that records every
//! answer, a log capture, and events built as CloudFormation sends them, run through
//! `dispatch::respond`, the entry point the runtime uses.
//!
//! Each test file is its own crate and uses a different part of this module.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use databricks_provider::client::{Auth, DatabricksClient, RetryPolicy};
use databricks_provider::dispatch::{respond, Handled, Invocation, NoContinuation};
use databricks_provider::handlers::{self, Ctx};
use serde_json::{json, Value};
use testkit::databricks::{FakeConfig, FakeDatabricks};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const SECRET: &str = "s3cr3t-of-the-service-principal";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/t-xacct";
pub const PROFILE: &str = "arn:aws:iam::123456789012:instance-profile/t-data";
pub const DATA_ROLE: &str = "arn:aws:iam::123456789012:role/t-data";
/// `#!/bin/bash\necho one\n` and `…two…`.
pub const SCRIPT_ONE: &str = "IyEvYmluL2Jhc2gKZWNobyBvbmUK";
pub const SCRIPT_TWO: &str = "IyEvYmluL2Jhc2gKZWNobyB0d28K";

// ---------------------------------------------------------------------------------------------
// A ResponseURL stand-in (as in protocol.rs): records every PUT, answers 200.

/// A ResponseURL on 127.0.0.1 that records each body it receives.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
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
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
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
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                log.lock().expect("log").push(body);
                let reply = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        Receiver { url, got }
    }

    pub fn received(&self) -> Vec<String> {
        self.got.lock().expect("log").clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Log capture: a minimal tracing subscriber that keeps every event's fields as text.

#[derive(Clone, Default)]
pub struct Logs(pub Arc<Mutex<Vec<String>>>);

pub struct FieldText(pub String);

impl tracing::field::Visit for FieldText {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut text = FieldText(String::new());
        span.record(&mut text);
        self.0.lock().expect("logs").push(text.0);
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut text = FieldText(String::new());
        values.record(&mut text);
        self.0.lock().expect("logs").push(text.0);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = FieldText(String::new());
        event.record(&mut text);
        self.0.lock().expect("logs").push(text.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Logs {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("logs").clone()
    }
}

// ---------------------------------------------------------------------------------------------
// The harness

/// Retries fast enough for tests, still bounded.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        max_elapsed: Duration::from_secs(5),
        eventual_consistency: Duration::from_secs(5),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
    }
}

pub struct Harness {
    pub fake: FakeDatabricks,
    pub ctx: Arc<Ctx>,
    pub rx: Receiver,
    pub http: reqwest::Client,
    pub logs: Logs,
    _guard: tracing::subscriber::DefaultGuard,
}

pub static REQUESTS: AtomicU64 = AtomicU64::new(1);

/// Every scalar as a string, as CloudFormation delivers properties.
pub fn delivered(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(a) => Value::Array(a.iter().map(delivered).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), delivered(v))).collect())
        }
        other => other.clone(),
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::with(FakeConfig::default(), SECRET).await
    }

    pub async fn with(config: FakeConfig, secret: &str) -> Harness {
        Harness::with_policy(config, secret, fast_retries()).await
    }

    /// As [`Harness::with`], retrying by `policy`.
    pub async fn with_policy(config: FakeConfig, secret: &str, policy: RetryPolicy) -> Harness {
        let logs = Logs::default();
        let guard = tracing::subscriber::set_default(logs.clone());
        let config = FakeConfig {
            client_secret: SECRET.to_owned(),
            ..config
        };
        let fake = FakeDatabricks::start(config).await;
        let mut auth = Auth::new(&fake.config().account_id, &fake.config().client_id, secret);
        auth.accounts_host = fake.base_url().to_owned();
        let client = DatabricksClient::new(auth, policy).expect("client");
        let mut ctx = Ctx::with_client(client);
        ctx.poll_interval = Duration::from_millis(20);
        Harness {
            fake,
            ctx: Arc::new(ctx),
            rx: Receiver::start().await,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("http"),
            logs,
            _guard: guard,
        }
    }

    pub fn account(&self) -> String {
        self.fake.config().account_id.clone()
    }

    pub fn url(&self) -> String {
        self.fake.base_url().to_owned()
    }

    /// The event JSON of a request.
    pub fn event(
        &self,
        kind: &str,
        resource_type: &str,
        props: &Value,
        physical: Option<&str>,
        old: Option<&Value>,
    ) -> Value {
        let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
        let mut e = json!({
            "RequestType": kind,
            "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:provider",
            "ResponseURL": self.rx.url,
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/t-databricks/0a1b",
            "RequestId": format!("0000{n:04}-0000-4000-8000-000000000000"),
            "LogicalResourceId": resource_type.trim_start_matches("Custom::Databricks"),
            "ResourceType": resource_type,
            "ResourceProperties": delivered(props),
        });
        if let Some(id) = physical {
            e["PhysicalResourceId"] = json!(id);
        }
        if let Some(old) = old {
            e["OldResourceProperties"] = delivered(old);
        }
        e
    }

    /// Runs one event to its answer and checks that exactly one answer was sent.
    pub async fn send(&self, event: &Value) -> Value {
        let before = self.rx.received().len();
        let invocation = Invocation::from_payload(event).expect("an invocation");
        let ctx = self.ctx.clone();
        let handled = respond(
            &self.http,
            invocation,
            Duration::from_secs(60),
            &self.ctx.redactor(),
            &NoContinuation,
            move |r, p| handlers::handle(ctx.clone(), r, p),
        )
        .await
        .expect("the answer is delivered");
        assert!(
            matches!(handled, Handled::Answered(_)),
            "answered in this invocation"
        );
        let got = self.rx.received();
        assert_eq!(got.len(), before + 1, "exactly one answer per event");
        let body = got.last().expect("an answer").clone();
        assert!(
            !body.contains(SECRET),
            "the secret leaked into an answer: {body}"
        );
        serde_json::from_str(&body).expect("a JSON answer")
    }

    pub async fn create(&self, resource_type: &str, props: &Value) -> Value {
        self.send(&self.event("Create", resource_type, props, None, None))
            .await
    }

    pub async fn update(&self, resource_type: &str, id: &str, props: &Value, old: &Value) -> Value {
        self.send(&self.event("Update", resource_type, props, Some(id), Some(old)))
            .await
    }

    pub async fn delete(&self, resource_type: &str, id: &str, props: &Value) -> Value {
        self.send(&self.event("Delete", resource_type, props, Some(id), None))
            .await
    }

    /// Asserts no log line holds the secret.
    pub fn assert_no_secret_in_logs(&self) {
        let lines = self.logs.lines();
        assert!(!lines.is_empty(), "the log capture works");
        for line in lines {
            assert!(
                !line.contains(SECRET),
                "the secret leaked into a log line: {line}"
            );
        }
    }

    /// Requests that the fake answered with `status`, on paths starting with `prefix`.
    pub fn answered(&self, method: &str, prefix: &str, status: u16) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(prefix) && r.status == status)
            .count()
    }
}

pub fn ok(answer: &Value) -> (String, Value) {
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    (
        answer["PhysicalResourceId"]
            .as_str()
            .expect("an id")
            .to_owned(),
        answer["Data"].clone(),
    )
}

pub fn failed(answer: &Value) -> String {
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    answer["Reason"].as_str().expect("a reason").to_owned()
}

pub fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

pub const CREDENTIALS: &str = "Custom::DatabricksCredentials";
pub const STORAGE: &str = "Custom::DatabricksStorageConfiguration";
pub const NETWORK: &str = "Custom::DatabricksNetwork";
pub const KEY: &str = "Custom::DatabricksCustomerManagedKey";
pub const WORKSPACE: &str = "Custom::DatabricksWorkspace";
pub const ASSIGNMENT: &str = "Custom::DatabricksWorkspaceAssignment";
pub const LOG_DELIVERY: &str = "Custom::DatabricksLogDelivery";
pub const INSTANCE_PROFILE: &str = "Custom::DatabricksInstanceProfile";
pub const GROUP: &str = "Custom::DatabricksGroup";
pub const FILE: &str = "Custom::DatabricksWorkspaceFile";
pub const CLUSTER: &str = "Custom::DatabricksCluster";
pub const METASTORE_ASSIGNMENT: &str = "Custom::DatabricksMetastoreAssignment";
pub const ACCOUNT_GROUP: &str = "Custom::DatabricksAccountGroup";
pub const STORAGE_CREDENTIAL: &str = "Custom::DatabricksStorageCredential";
pub const EXTERNAL_LOCATION: &str = "Custom::DatabricksExternalLocation";
pub const CATALOG: &str = "Custom::DatabricksCatalog";
pub const GRANTS: &str = "Custom::DatabricksGrants";
/// The storage credential's role (trusting Unity Catalog's master role and itself).
pub const UC_ROLE: &str = "arn:aws:iam::123456789012:role/t-uc-access";

pub fn credentials(h: &Harness, name: &str) -> Value {
    json!({"AccountId": h.account(), "CredentialsName": name, "RoleArn": ROLE})
}

pub fn storage(h: &Harness, name: &str, bucket: &str) -> Value {
    json!({"AccountId": h.account(), "StorageConfigurationName": name, "BucketName": bucket})
}

pub fn network(h: &Harness, name: &str, n: u32) -> Value {
    json!({
        "AccountId": h.account(), "NetworkName": name, "VpcId": "vpc-0a1b",
        "SubnetIds": [format!("subnet-{n}a"), format!("subnet-{n}b")],
        "SecurityGroupIds": [format!("sg-{n}")]
    })
}

/// Credentials, storage and network in the fake, for a workspace.
pub async fn prerequisites(h: &Harness, n: u32) -> (String, String, String) {
    let (c, _) = ok(&h
        .create(CREDENTIALS, &credentials(h, &format!("t-creds-{n}")))
        .await);
    let (s, _) = ok(&h
        .create(
            STORAGE,
            &storage(h, &format!("t-root-{n}"), "t-root-bucket"),
        )
        .await);
    let (net, _) = ok(&h
        .create(NETWORK, &network(h, &format!("t-net-{n}"), n))
        .await);
    (c, s, net)
}

pub fn workspace(h: &Harness, name: &str, ids: &(String, String, String)) -> Value {
    json!({
        "AccountId": h.account(), "WorkspaceName": name, "AwsRegion": "eu-west-1",
        "CredentialsId": ids.0, "StorageConfigurationId": ids.1, "NetworkId": ids.2,
        "PricingTier": "ENTERPRISE", "DeploymentName": name, "CustomTags": {"CostCenter": "42"}
    })
}

pub fn cluster(h: &Harness, max_workers: u32) -> Value {
    json!({
        "WorkspaceUrl": h.url(),
        "ClusterName": "t-shared", "SparkVersion": "15.4.x-scala2.12", "NodeTypeId": "r5.xlarge",
        "Autoscale": {"MinWorkers": 1, "MaxWorkers": max_workers},
        "AutoterminationMinutes": 30,
        "AwsAttributes": {"Availability": "SPOT_WITH_FALLBACK", "FirstOnDemand": 1, "SpotBidPricePercent": 100, "ZoneId": "auto"},
        "SparkConf": {"spark.databricks.hive.metastore.glueCatalog.enabled": "true"},
        "CustomTags": {"Owner": "platform"},
        "ClusterLogConf": {"Destination": "s3://t-logs/clusters", "Region": "eu-west-1", "EnableEncryption": true, "EncryptionType": "sse-kms", "KmsKey": "arn:aws:kms:eu-west-1:123456789012:key/k1"},
        "InitScripts": [{"Workspace": {"Destination": "/cdkrs/init/sse.sh"}}],
        "DataSecurityMode": "SINGLE_USER", "SingleUserName": "etl@acme.example"
    })
}

/// [`cluster`] while the network is asleep: `StartOnCreate` false.
pub fn cluster_asleep(h: &Harness, max_workers: u32) -> Value {
    let mut p = cluster(h, max_workers);
    p["StartOnCreate"] = json!(false);
    p
}

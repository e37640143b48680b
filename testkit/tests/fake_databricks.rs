//! The fake Databricks server, driven over real HTTP/1.1 on 127.0.0.1 with a tiny client, and
//! by the official Databricks SDK for Python (`sdk`); and its request log (`request_log`).

#[path = "fake_databricks/request_log.rs"]
mod request_log;
#[path = "fake_databricks/sdk.rs"]
mod sdk;
#[path = "fake_databricks/unity_catalog.rs"]
mod unity_catalog;

use std::time::Duration;

use serde_json::{json, Value};
use testkit::databricks::{FakeConfig, FakeDatabricks, Propagation};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};

// ---------------------------------------------------------------------------------------------
// A tiny HTTP client

/// An answer.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
}

/// Decodes a chunked body.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), bounded to 10 s.
async fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<(&str, Vec<u8>)>,
) -> Resp {
    let host = base.strip_prefix("http://").expect("an http base URL");
    let work = async {
        let mut stream = TcpStream::connect(host).await.expect("connect to the fake");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.map(|(ct, b)| {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
            b
        });
        let body = body.unwrap_or_default();
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(&body).await.expect("write body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = timeout(Duration::from_secs(10), work)
        .await
        .expect("the fake answers within 10 s");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A client holding a bearer token.
#[derive(Clone)]
struct Client {
    base: String,
    token: Option<String>,
}

impl Client {
    fn auth(&self) -> Vec<(&'static str, String)> {
        self.token
            .iter()
            .map(|t| ("Authorization", format!("Bearer {t}")))
            .collect()
    }

    async fn get(&self, path: &str) -> Resp {
        send(&self.base, "GET", path, &self.auth(), None).await
    }

    async fn delete(&self, path: &str) -> Resp {
        send(&self.base, "DELETE", path, &self.auth(), None).await
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Resp {
        let bytes = body.to_string().into_bytes();
        send(
            &self.base,
            method,
            path,
            &self.auth(),
            Some(("application/json", bytes)),
        )
        .await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        self.call("POST", path, body).await
    }

    async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call("PATCH", path, body).await
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// The fake without its propagation races and deployment-name prefix, so each case below sees
/// one behaviour at a time (the races and the prefix have their own cases).
fn config() -> FakeConfig {
    FakeConfig {
        workspace_provisioning_delay: Duration::from_millis(150),
        cluster_start_delay: Duration::from_millis(100),
        deletion_delay: Duration::from_millis(80),
        credentials_propagation: Propagation::NONE,
        log_delivery_propagation: Propagation::NONE,
        deployment_name_prefix: None,
        ..FakeConfig::default()
    }
}

/// Gets a token with HTTP Basic credentials.
async fn token(fake: &FakeDatabricks, url: &str) -> String {
    let cfg = fake.config();
    let basic = base64(format!("{}:{}", cfg.client_id, cfg.client_secret).as_bytes());
    let path = url.strip_prefix(fake.base_url()).expect("a fake URL");
    let resp = send(
        fake.base_url(),
        "POST",
        path,
        &[("Authorization", format!("Basic {basic}"))],
        Some((
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&scope=all-apis".to_vec(),
        )),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// The fake plus an account client and a workspace client, both authenticated.
async fn start() -> (FakeDatabricks, Client, Client) {
    let fake = FakeDatabricks::start(config()).await;
    let account = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.account_token_url()).await),
    };
    let workspace = Client {
        base: fake.workspace_url("ignored"),
        token: Some(token(&fake, &fake.workspace_token_url()).await),
    };
    (fake, account, workspace)
}

fn acct(fake: &FakeDatabricks, rest: &str) -> String {
    format!("/api/2.0/accounts/{}/{rest}", fake.config().account_id)
}

/// Creates credentials, storage configuration and network; returns their ids.
/// Creates a workspace named `tag` in eu-west-1 on fresh prerequisites (credentials, storage
/// and, when `with_network`, the network), with `extra` fields merged into the body.
async fn workspace_on_prerequisites(
    fake: &FakeDatabricks,
    c: &Client,
    tag: &str,
    with_network: bool,
    extra: Value,
) -> Resp {
    let (cred, storage, net) = prerequisites(fake, c, tag).await;
    let mut body = json!({"workspace_name": tag, "aws_region": "eu-west-1",
                          "credentials_id": cred, "storage_configuration_id": storage});
    if with_network {
        body["network_id"] = json!(net);
    }
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    c.post(&acct(fake, "workspaces"), body).await
}

async fn prerequisites(fake: &FakeDatabricks, c: &Client, tag: &str) -> (String, String, String) {
    let cred = c
        .post(
            &acct(fake, "credentials"),
            json!({"credentials_name": format!("{tag}-cred"),
                   "aws_credentials": {"sts_role": {"role_arn": "arn:aws:iam::123456789012:role/xacct"}}}),
        )
        .await;
    assert_eq!(cred.status, 200, "{}", cred.text());
    let storage = c
        .post(
            &acct(fake, "storage-configurations"),
            json!({"storage_configuration_name": format!("{tag}-root"),
                   "root_bucket_info": {"bucket_name": format!("{tag}-root-bucket")}}),
        )
        .await;
    assert_eq!(storage.status, 200, "{}", storage.text());
    let net = c
        .post(
            &acct(fake, "networks"),
            json!({"network_name": format!("{tag}-net"), "vpc_id": "vpc-0a1b2c3d",
                   "subnet_ids": [format!("subnet-{tag}-a"), format!("subnet-{tag}-b")],
                   "security_group_ids": [format!("sg-{tag}")]}),
        )
        .await;
    assert_eq!(net.status, 200, "{}", net.text());
    (
        cred.json()["credentials_id"].as_str().unwrap().to_owned(),
        storage.json()["storage_configuration_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        net.json()["network_id"].as_str().unwrap().to_owned(),
    )
}

/// Polls `path` until `field` equals `want`, bounded to 5 s; returns the body and the wait.
async fn wait_field(c: &Client, path: &str, field: &str, want: &str) -> (Value, Duration) {
    let started = Instant::now();
    loop {
        let resp = c.get(path).await;
        let body = resp.json();
        if body[field] == json!(want) {
            return (body, started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: {field} never became {want}: {body}"
        );
        sleep(Duration::from_millis(10)).await;
    }
}

fn assert_error(resp: &Resp, status: u16, code: &str, message_part: &str) {
    assert_eq!(resp.status, status, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["error_code"], json!(code), "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(message_part),
        "{message:?} lacks {message_part:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn oauth_token_endpoints_and_bearer_checks() {
    let fake = FakeDatabricks::start(config()).await;
    let base = fake.base_url().to_owned();
    let cfg = fake.config().clone();

    // Form-field credentials on the workspace endpoint.
    let form = format!(
        "grant_type=client_credentials&scope=all-apis&client_id={}&client_secret={}",
        cfg.client_id, cfg.client_secret
    );
    let resp = send(
        &base,
        "POST",
        "/oidc/v1/token",
        &[],
        Some(("application/x-www-form-urlencoded", form.into_bytes())),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let body = resp.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "all-apis");
    let ws_token = body["access_token"].as_str().unwrap().to_owned();

    // A wrong secret: the OAuth error body.
    let bad = base64(format!("{}:wrong", cfg.client_id).as_bytes());
    let resp = send(
        &base,
        "POST",
        &format!("/oidc/accounts/{}/v1/token", cfg.account_id),
        &[("Authorization", format!("Basic {bad}"))],
        Some((
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials".to_vec(),
        )),
    )
    .await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json(),
        json!({"error": "invalid_client", "error_description": "Client authentication failed"})
    );

    // Another grant type.
    let resp = send(
        &base,
        "POST",
        "/oidc/v1/token",
        &[],
        Some((
            "application/x-www-form-urlencoded",
            b"grant_type=password".to_vec(),
        )),
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "unsupported_grant_type");

    // Basic credentials on the account endpoint; the token works there.
    let acct_token = token(&fake, &fake.account_token_url()).await;
    let account = Client {
        base: base.clone(),
        token: Some(acct_token),
    };
    let resp = account.get(&acct(&fake, "credentials")).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!([]));

    // No token, an unknown token, a token of the other audience: 401.
    let anonymous = Client {
        base: base.clone(),
        token: None,
    };
    assert_error(
        &anonymous.get(&acct(&fake, "credentials")).await,
        401,
        "UNAUTHENTICATED",
        "Credential was not sent",
    );
    assert_error(
        &anonymous.get("/api/2.0/instance-profiles/list").await,
        401,
        "UNAUTHENTICATED",
        "",
    );
    let forged = Client {
        base: base.clone(),
        token: Some("forged".into()),
    };
    assert_error(
        &forged.get("/api/2.1/clusters/list").await,
        401,
        "UNAUTHENTICATED",
        "Invalid access token",
    );
    let workspace = Client {
        base: base.clone(),
        token: Some(ws_token),
    };
    assert_eq!(workspace.get(&acct(&fake, "credentials")).await.status, 401);
    assert_eq!(account.get("/api/2.1/clusters/list").await.status, 401);
    assert_eq!(workspace.get("/api/2.1/clusters/list").await.status, 200);

    // Revoked tokens answer 401.
    fake.revoke_tokens();
    assert_eq!(workspace.get("/api/2.1/clusters/list").await.status, 401);
    assert_eq!(fake.state().tokens_issued, 2);
    fake.stop().await;
}

#[tokio::test]
async fn token_expiry_follows_the_configured_lifetime() {
    let fake = FakeDatabricks::start(FakeConfig {
        token_lifetime: Duration::from_millis(1500),
        ..config()
    })
    .await;
    let c = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.workspace_token_url()).await),
    };
    assert_eq!(c.get("/api/2.1/clusters/list").await.status, 200);
    sleep(Duration::from_millis(1600)).await;
    assert_error(
        &c.get("/api/2.1/clusters/list").await,
        401,
        "UNAUTHENTICATED",
        "expired",
    );
    fake.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Account objects

#[tokio::test]
async fn account_objects_create_get_list_delete() {
    let (fake, c, _) = start().await;
    let account_id = fake.config().account_id.clone();
    let cases = [
        (
            "credentials",
            "credentials_id",
            json!({"credentials_name": "acme-xacct",
                   "aws_credentials": {"sts_role": {"role_arn": "arn:aws:iam::123456789012:role/acme-xacct"}}}),
        ),
        (
            "storage-configurations",
            "storage_configuration_id",
            json!({"storage_configuration_name": "acme-root",
                   "root_bucket_info": {"bucket_name": "acme-root"}}),
        ),
        (
            "networks",
            "network_id",
            json!({"network_name": "acme-net", "vpc_id": "vpc-1",
                   "subnet_ids": ["subnet-a", "subnet-b"], "security_group_ids": ["sg-1"]}),
        ),
        (
            "customer-managed-keys",
            "customer_managed_key_id",
            json!({"use_cases": ["MANAGED_SERVICES", "STORAGE"],
                   "aws_key_info": {"key_arn": "arn:aws:kms:eu-west-1:123456789012:key/abc",
                                    "reuse_key_for_cluster_volumes": true}}),
        ),
    ];
    for (segment, id_field, body) in cases {
        let created = c.post(&acct(&fake, segment), body).await;
        assert_eq!(created.status, 200, "{segment}: {}", created.text());
        let object = created.json();
        let id = object[id_field].as_str().expect("an id").to_owned();
        assert_eq!(id.len(), 36, "{segment}: UUID-shaped id");
        assert_eq!(object["account_id"], json!(account_id));
        assert!(object["creation_time"].as_i64().unwrap() > 1_600_000_000_000);

        let got = c.get(&acct(&fake, &format!("{segment}/{id}"))).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.json(), object);

        let list = c.get(&acct(&fake, segment)).await.json();
        assert_eq!(list, json!([object]), "{segment}: lists are bare arrays");

        let deleted = c.delete(&acct(&fake, &format!("{segment}/{id}"))).await;
        assert_eq!(deleted.status, 200);
        assert_eq!(deleted.json()[id_field], json!(id));
        assert_error(
            &c.get(&acct(&fake, &format!("{segment}/{id}"))).await,
            404,
            "RESOURCE_DOES_NOT_EXIST",
            &id,
        );
        assert_error(
            &c.delete(&acct(&fake, &format!("{segment}/{id}"))).await,
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "",
        );
    }
    // Field echoes and derived fields.
    let cred = c
        .post(
            &acct(&fake, "credentials"),
            json!({"credentials_name": "dup",
                   "aws_credentials": {"sts_role": {"role_arn": "arn:aws:iam::123456789012:role/r"}}}),
        )
        .await
        .json();
    // The role is echoed as sent: databricks-sdk 0.167's `StsRole` has only `role_arn` (the
    // `external_id` it once echoed left the API spec, databricks-sdk-py PR 1059).
    assert_eq!(
        cred["aws_credentials"]["sts_role"],
        json!({"role_arn": "arn:aws:iam::123456789012:role/r"})
    );
    let key = c
        .post(
            &acct(&fake, "customer-managed-keys"),
            json!({"use_cases": ["STORAGE"], "aws_key_info": {"key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k"}}),
        )
        .await
        .json();
    assert_eq!(key["aws_key_info"]["key_region"], "eu-west-1");

    // Credentials names are unique.
    let again = c
        .post(
            &acct(&fake, "credentials"),
            json!({"credentials_name": "dup",
                   "aws_credentials": {"sts_role": {"role_arn": "arn:aws:iam::123456789012:role/r"}}}),
        )
        .await;
    assert_error(
        &again,
        400,
        "RESOURCE_ALREADY_EXISTS",
        "Credential configuration name dup already exists in this account. Try again with a unique name.",
    );
    // Missing fields, unknown account, malformed JSON.
    assert_error(
        &c.post(
            &acct(&fake, "storage-configurations"),
            json!({"storage_configuration_name": "x"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "root_bucket_info.bucket_name",
    );
    assert_error(
        &c.get("/api/2.0/accounts/00000000-0000-4000-8000-000000000000/credentials")
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "The account does not exist",
    );
    let resp = send(
        &c.base,
        "POST",
        &acct(&fake, "networks"),
        &c.auth(),
        Some(("application/json", b"{\"network_name\": ".to_vec())),
    )
    .await;
    assert_error(&resp, 400, "MALFORMED_REQUEST", "");
    // Subnets cannot be reused across networks.
    let net = json!({"network_name": "net-1", "vpc_id": "vpc-1",
                     "subnet_ids": ["subnet-x", "subnet-y"], "security_group_ids": ["sg-x"]});
    assert_eq!(
        c.post(&acct(&fake, "networks"), net.clone()).await.status,
        200
    );
    let mut reuse = net;
    reuse["network_name"] = json!("net-2");
    assert_error(
        &c.post(&acct(&fake, "networks"), reuse).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "subnet-x",
    );

    let snap = fake.state();
    assert!(snap.credential_by_name("dup").is_some());
    assert_eq!(snap.networks.len(), 1);
    fake.stop().await;
}

#[tokio::test]
async fn storage_configurations_are_limited_to_fifty() {
    let (fake, c, _) = start().await;
    for i in 0..50 {
        let resp = c
            .post(
                &acct(&fake, "storage-configurations"),
                json!({"storage_configuration_name": format!("s{i}"), "root_bucket_info": {"bucket_name": "b"}}),
            )
            .await;
        assert_eq!(resp.status, 200);
    }
    let resp = c
        .post(
            &acct(&fake, "storage-configurations"),
            json!({"storage_configuration_name": "s50", "root_bucket_info": {"bucket_name": "b"}}),
        )
        .await;
    assert_error(
        &resp,
        400,
        "INVALID_STATE",
        "only 50 storage configurations are allowed",
    );
    fake.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Workspaces

#[tokio::test]
async fn workspace_provisions_runs_patches_and_disappears() {
    let (fake, c, _) = start().await;
    let (cred, storage, net) = prerequisites(&fake, &c, "ws").await;
    let created_at = Instant::now();
    let resp = c
        .post(
            &acct(&fake, "workspaces"),
            json!({"workspace_name": "acme-prod", "deployment_name": "acme-prod", "aws_region": "eu-west-1",
                   "pricing_tier": "ENTERPRISE", "credentials_id": cred, "storage_configuration_id": storage,
                   "network_id": net, "custom_tags": {"CostCenter": "42"}}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let ws = resp.json();
    assert_eq!(ws["workspace_status"], "PROVISIONING");
    assert_eq!(
        ws["workspace_status_message"],
        "Workspace resources are being set up."
    );
    assert_eq!(ws["deployment_name"], "acme-prod");
    let id = ws["workspace_id"].as_i64().expect("a numeric workspace_id");
    assert_eq!(id.to_string().len(), 16);
    let path = acct(&fake, &format!("workspaces/{id}"));

    // Still provisioning right after; its configurations cannot be deleted.
    assert_eq!(
        c.get(&path).await.json()["workspace_status"],
        "PROVISIONING"
    );
    assert_error(
        &c.delete(&acct(&fake, &format!("networks/{net}"))).await,
        400,
        "INVALID_STATE",
        &format!("Unable to delete, Network is being used by active workspace {id}"),
    );
    assert_error(
        &c.delete(&acct(&fake, &format!("credentials/{cred}"))).await,
        400,
        "INVALID_STATE",
        "being used by active workspace",
    );
    // PATCH while provisioning is refused.
    assert_error(
        &c.patch(&path, json!({"custom_tags": {"a": "b"}})).await,
        400,
        "INVALID_STATE",
        "",
    );

    let (running, _) = wait_field(&c, &path, "workspace_status", "RUNNING").await;
    let waited = created_at.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "RUNNING after {waited:?}, before the delay"
    );
    assert!(waited < Duration::from_secs(3));
    assert_eq!(running["workspace_status_message"], "Workspace is running.");
    let list = c.get(&acct(&fake, "workspaces")).await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let network = c.get(&acct(&fake, &format!("networks/{net}"))).await.json();
    assert_eq!(network["vpc_status"], "VALID");
    assert_eq!(network["workspace_id"], json!(id));

    // PATCH with update_mask: allowed fields change, the workspace stays RUNNING
    // (customer-managed VPC).
    let cred2 = c
        .post(
            &acct(&fake, "credentials"),
            json!({"credentials_name": "ws-cred-2",
                   "aws_credentials": {"sts_role": {"role_arn": "arn:aws:iam::123456789012:role/xacct2"}}}),
        )
        .await
        .json()["credentials_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patched = c
        .patch(
            &format!("{path}?update_mask=custom_tags,credentials_id"),
            json!({"credentials_id": cred2, "custom_tags": {"CostCenter": "43"}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let patched = patched.json();
    assert_eq!(patched["credentials_id"], json!(cred2));
    assert_eq!(patched["custom_tags"]["CostCenter"], "43");
    assert_eq!(patched["workspace_status"], "RUNNING");
    // The old credentials are free again; fields that cannot change are refused.
    assert_eq!(
        c.delete(&acct(&fake, &format!("credentials/{cred}")))
            .await
            .status,
        200
    );
    assert_error(
        &c.patch(&path, json!({"workspace_name": "renamed"})).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "workspace_name",
    );
    // An unchanged value is no change; a new storage configuration is refused while RUNNING.
    let same = c
        .patch(&path, json!({"storage_configuration_id": storage}))
        .await;
    assert_eq!(same.status, 200, "{}", same.text());
    assert_error(
        &c.patch(&path, json!({"storage_configuration_id": "other"}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "storage_configuration_id cannot be updated on a RUNNING workspace",
    );

    // Permission assignment of the service principal.
    let pa = c
        .call(
            "PUT",
            &format!("{path}/permissionassignments/principals/1234"),
            json!({"permissions": ["ADMIN"]}),
        )
        .await;
    assert_eq!(pa.status, 200, "{}", pa.text());
    let list = c.get(&format!("{path}/permissionassignments")).await.json();
    assert_eq!(
        list["permission_assignments"][0]["principal"]["principal_id"],
        1234
    );
    assert_eq!(fake.state().permission_assignments.len(), 1);

    // DELETE: CANCELLING, then gone after the deletion delay.
    let deleted = c.delete(&path).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json()["workspace_status"], "CANCELLING");
    let deleted_at = Instant::now();
    loop {
        let resp = c.get(&path).await;
        if resp.status == 404 {
            assert_error(
                &resp,
                404,
                "RESOURCE_DOES_NOT_EXIST",
                &format!("Workspace {id} does not exist."),
            );
            break;
        }
        assert_eq!(resp.json()["workspace_status"], "CANCELLING");
        assert!(deleted_at.elapsed() < Duration::from_secs(5));
        sleep(Duration::from_millis(10)).await;
    }
    assert!(deleted_at.elapsed() >= Duration::from_millis(80));
    assert_eq!(
        c.delete(&acct(&fake, &format!("networks/{net}")))
            .await
            .status,
        200
    );
    assert!(fake.state().workspaces.is_empty());
    assert!(fake.state().permission_assignments.is_empty());
    fake.stop().await;
}

#[tokio::test]
async fn workspace_on_a_databricks_managed_vpc_reprovisions_after_patch() {
    let (fake, c, _) = start().await;
    let (cred, storage, _) = prerequisites(&fake, &c, "mv").await;
    let ws = c
        .post(
            &acct(&fake, "workspaces"),
            json!({"workspace_name": "managed", "aws_region": "eu-west-1",
                   "credentials_id": cred, "storage_configuration_id": storage}),
        )
        .await
        .json();
    let deployment = ws["deployment_name"].as_str().unwrap();
    assert!(deployment.starts_with("dbc-"), "{deployment}");
    let path = acct(&fake, &format!("workspaces/{}", ws["workspace_id"]));
    wait_field(&c, &path, "workspace_status", "RUNNING").await;
    let patched = c
        .patch(&path, json!({"custom_tags": {"k": "v"}}))
        .await
        .json();
    assert_eq!(patched["workspace_status"], "PROVISIONING");
    let (_, waited) = wait_field(&c, &path, "workspace_status", "RUNNING").await;
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    // The storage key of a workspace that ran can be added once, not changed.
    let key = c
        .post(
            &acct(&fake, "customer-managed-keys"),
            json!({"use_cases": ["STORAGE"], "aws_key_info": {"key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k"}}),
        )
        .await
        .json()["customer_managed_key_id"]
        .clone();
    assert_error(
        &c.patch(
            &path,
            json!({"managed_services_customer_managed_key_id": key}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "does not have use case MANAGED_SERVICES",
    );
    fake.stop().await;
}

#[tokio::test]
async fn workspace_fault_ends_failed_and_a_patch_recovers_it() {
    let (fake, c, _) = start().await;
    let (cred, storage, net) = prerequisites(&fake, &c, "wf").await;
    fake.faults().workspace_fails(true);
    let ws = c
        .post(
            &acct(&fake, "workspaces"),
            json!({"workspace_name": "doomed", "aws_region": "eu-west-1", "credentials_id": cred,
                   "storage_configuration_id": storage, "network_id": net}),
        )
        .await
        .json();
    let path = acct(&fake, &format!("workspaces/{}", ws["workspace_id"]));
    let (failed, _) = wait_field(&c, &path, "workspace_status", "FAILED").await;
    assert!(failed["workspace_status_message"]
        .as_str()
        .unwrap()
        .contains("failed"));
    let network = c.get(&acct(&fake, &format!("networks/{net}"))).await.json();
    assert_eq!(network["vpc_status"], "BROKEN");
    assert_eq!(network["error_messages"][0]["error_type"], "subnet");

    // A failed workspace accepts storage changes and re-provisions.
    fake.faults().workspace_fails(false);
    let storage2 = c
        .post(
            &acct(&fake, "storage-configurations"),
            json!({"storage_configuration_name": "wf-root-2", "root_bucket_info": {"bucket_name": "b2"}}),
        )
        .await
        .json()["storage_configuration_id"]
        .clone();
    let patched = c
        .patch(&path, json!({"storage_configuration_id": storage2}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(patched.json()["workspace_status"], "PROVISIONING");
    wait_field(&c, &path, "workspace_status", "RUNNING").await;
    assert_eq!(fake.state().networks[0]["vpc_status"], "VALID");
    fake.stop().await;
}

#[tokio::test]
async fn credentials_validation_fails_for_the_first_attempts() {
    let (fake, c, _) = start().await;
    let (cred, storage, _) = prerequisites(&fake, &c, "cv").await;
    fake.faults().credentials_validation_fails_first(2);
    let body = json!({"workspace_name": "retry", "aws_region": "eu-west-1",
                      "credentials_id": cred, "storage_configuration_id": storage});
    for _ in 0..2 {
        assert_error(
            &c.post(&acct(&fake, "workspaces"), body.clone()).await,
            400,
            "MALFORMED_REQUEST",
            "Failed credentials validation checks: Spot Cancellation, Create Placement Group",
        );
    }
    assert!(
        fake.state().workspaces.is_empty(),
        "failed attempts create nothing"
    );
    let ok = c.post(&acct(&fake, "workspaces"), body).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(fake.state().workspaces.len(), 1);
    // References are checked.
    assert_error(
        &c.post(
            &acct(&fake, "workspaces"),
            json!({"workspace_name": "x", "aws_region": "eu-west-1",
                   "credentials_id": "nope", "storage_configuration_id": storage}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "nope",
    );
    fake.stop().await;
}

#[tokio::test]
async fn log_delivery_is_wrapped_and_only_disabled() {
    let (fake, c, _) = start().await;
    let (cred, storage, _) = prerequisites(&fake, &c, "ld").await;
    let create = |name: &str| {
        json!({"log_delivery_configuration": {
            "config_name": name, "log_type": "AUDIT_LOGS", "output_format": "JSON",
            "credentials_id": cred, "storage_configuration_id": storage,
            "delivery_path_prefix": "audit-logs"}})
    };
    let resp = c.post(&acct(&fake, "log-delivery"), create("a1")).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let config = resp.json()["log_delivery_configuration"].clone();
    assert_eq!(config["status"], "ENABLED");
    assert_eq!(config["log_delivery_status"]["status"], "CREATED");
    let id = config["config_id"].as_str().unwrap().to_owned();

    let got = c
        .get(&acct(&fake, &format!("log-delivery/{id}")))
        .await
        .json();
    assert_eq!(got["log_delivery_configuration"], config);
    let list = c.get(&acct(&fake, "log-delivery")).await.json();
    assert_eq!(list["log_delivery_configurations"], json!([config]));
    let filtered = c
        .get(&acct(&fake, "log-delivery?status=DISABLED"))
        .await
        .json();
    assert_eq!(filtered, json!({}), "empty lists omit the key");

    // Two enabled account-level configurations per type at most.
    assert_eq!(
        c.post(&acct(&fake, "log-delivery"), create("a2"))
            .await
            .status,
        200
    );
    assert_error(
        &c.post(&acct(&fake, "log-delivery"), create("a3")).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "limit",
    );
    // Wrong pairing.
    let mut bad = create("csv");
    bad["log_delivery_configuration"]["output_format"] = json!("CSV");
    assert_error(
        &c.post(&acct(&fake, "log-delivery"), bad).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "CSV",
    );

    // Disable (the only mutation); there is no DELETE.
    let patched = c
        .patch(
            &acct(&fake, &format!("log-delivery/{id}")),
            json!({"status": "DISABLED"}),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(fake.state().log_delivery[0]["status"], "DISABLED");
    assert_eq!(
        c.post(&acct(&fake, "log-delivery"), create("a3"))
            .await
            .status,
        200
    );
    assert_error(
        &c.patch(
            &acct(&fake, &format!("log-delivery/{id}")),
            json!({"status": "ENABLED"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "limit",
    );
    assert_error(
        &c.delete(&acct(&fake, &format!("log-delivery/{id}"))).await,
        404,
        "ENDPOINT_NOT_FOUND",
        "No API found for 'DELETE",
    );
    fake.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Workspace APIs

const GROUPS: &str = "/api/2.0/preview/scim/v2/Groups";

#[tokio::test]
async fn scim_groups_create_filter_patch_roles_delete() {
    let (fake, _, w) = start().await;
    let created = w
        .post(
            GROUPS,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "data-engineers",
                   "entitlements": [{"value": "allow-cluster-create"}]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(created
        .header("content-type")
        .unwrap()
        .starts_with("application/scim+json"));
    let group = created.json();
    let id = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["meta"]["resourceType"], "WorkspaceGroup");
    assert!(group.get("roles").is_none(), "empty arrays are omitted");

    // Duplicate names: 409 with a SCIM error body.
    let dup = w
        .post(GROUPS, json!({"displayName": "data-engineers"}))
        .await;
    assert_eq!(dup.status, 409);
    let body = dup.json();
    assert_eq!(body["status"], "409");
    assert_eq!(
        body["detail"],
        "Group with name data-engineers already exists."
    );
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(
        w.post(GROUPS, json!({"displayName": "admins"}))
            .await
            .status,
        409
    );

    // Filter.
    let list = w
        .get(&format!(
            "{GROUPS}?filter=displayName%20eq%20%22data-engineers%22&attributes=id,displayName"
        ))
        .await
        .json();
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["startIndex"], 1);
    assert_eq!(list["Resources"][0]["id"], json!(id));
    assert!(
        list["Resources"][0].get("entitlements").is_none(),
        "attributes projects"
    );
    let none = w
        .get(&format!("{GROUPS}?filter=displayName+eq+%22nobody%22"))
        .await
        .json();
    assert_eq!(none["totalResults"], 0);
    assert!(
        none.get("Resources").is_none(),
        "Resources is absent when empty"
    );
    let all = w.get(GROUPS).await.json();
    assert_eq!(all["totalResults"], 3, "users, admins and the new group");
    // Without `count` the fake answers a small page, so clients have to follow pages.
    assert_eq!(all["itemsPerPage"], 2);
    assert_eq!(all["Resources"].as_array().map(Vec::len), Some(2));
    let rest = w.get(&format!("{GROUPS}?startIndex=3")).await.json();
    assert_eq!(rest["Resources"][0]["displayName"], "data-engineers");
    let page = w
        .get(&format!("{GROUPS}?startIndex=2&count=1"))
        .await
        .json();
    assert_eq!(page["itemsPerPage"], 1);
    assert_eq!(page["Resources"][0]["displayName"], "admins");

    // PatchOp: add two roles, remove one by filter path.
    let arn = "arn:aws:iam::123456789012:instance-profile/acme-data";
    let role = "arn:aws:iam::123456789012:role/acme-data-role";
    let patch = w
        .patch(
            &format!("{GROUPS}/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "add", "path": "roles", "value": [{"value": arn}, {"value": role}]}]}),
        )
        .await;
    assert_eq!(patch.status, 204, "{}", patch.text());
    assert_eq!(fake.state().group_roles("data-engineers"), [arn, role]);
    let patch = w
        .patch(
            &format!("{GROUPS}/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "remove", "path": format!("roles[value eq \"{role}\"]")}]}),
        )
        .await;
    assert_eq!(patch.status, 204);
    let got = w.get(&format!("{GROUPS}/{id}")).await.json();
    assert_eq!(got["roles"], json!([{"value": arn}]));
    let bad = w
        .patch(&format!("{GROUPS}/{id}"), json!({"operations": []}))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["status"], "400");

    // Delete; then 404 with the SCIM body.
    assert_eq!(w.delete(&format!("{GROUPS}/{id}")).await.status, 204);
    let gone = w.get(&format!("{GROUPS}/{id}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["detail"], "Group not found.");
    assert!(fake.state().group("data-engineers").is_none());

    let me = w.get("/api/2.0/preview/scim/v2/Me").await.json();
    assert_eq!(me["userName"], json!(fake.config().client_id));
    fake.stop().await;
}

#[tokio::test]
async fn instance_profiles_add_list_remove() {
    let (fake, _, w) = start().await;
    let arn = "arn:aws:iam::123456789012:instance-profile/meta";
    assert_eq!(
        w.get("/api/2.0/instance-profiles/list").await.json(),
        json!({})
    );

    fake.faults().instance_profile_validation_fails_first(1);
    let body = json!({"instance_profile_arn": arn, "is_meta_instance_profile": true});
    assert_error(
        &w.post("/api/2.0/instance-profiles/add", body.clone()).await,
        400,
        "DRY_RUN_FAILED",
        "Verification of the instance profile failed",
    );
    assert_eq!(
        w.post("/api/2.0/instance-profiles/add", body.clone())
            .await
            .status,
        200
    );
    let list = w.get("/api/2.0/instance-profiles/list").await.json();
    assert_eq!(
        list["instance_profiles"],
        json!([{"instance_profile_arn": arn, "is_meta_instance_profile": true}])
    );
    assert_error(
        &w.post("/api/2.0/instance-profiles/add", body).await,
        400,
        "RESOURCE_ALREADY_EXISTS",
        arn,
    );
    assert_error(
        &w.post(
            "/api/2.0/instance-profiles/add",
            json!({"instance_profile_arn": "arn:aws:iam::123456789012:role/r"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid instance profile ARN",
    );
    assert_eq!(
        fake.state().instance_profile(arn).unwrap()["is_meta_instance_profile"],
        true
    );
    assert_eq!(
        w.post(
            "/api/2.0/instance-profiles/remove",
            json!({"instance_profile_arn": arn})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        w.get("/api/2.0/instance-profiles/list").await.json(),
        json!({})
    );
    assert_error(
        &w.post(
            "/api/2.0/instance-profiles/remove",
            json!({"instance_profile_arn": arn}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "",
    );
    fake.stop().await;
}

#[tokio::test]
async fn cluster_lifecycle() {
    let (fake, _, w) = start().await;
    let arn = "arn:aws:iam::123456789012:instance-profile/acme-data";
    let spec = json!({"cluster_name": "acme-shared", "spark_version": "15.4.x-scala2.12",
                      "node_type_id": "r5.xlarge", "autoscale": {"min_workers": 1, "max_workers": 4},
                      "autotermination_minutes": 30, "custom_tags": {"Owner": "platform"},
                      "aws_attributes": {"instance_profile_arn": arn},
                      "init_scripts": [{"workspace": {"destination": "/Shared/init/setup.sh"}}]});
    assert_error(
        &w.post("/api/2.1/clusters/create", spec.clone()).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "not registered",
    );
    w.post(
        "/api/2.0/instance-profiles/add",
        json!({"instance_profile_arn": arn}),
    )
    .await;
    let mut dbfs = spec.clone();
    dbfs["init_scripts"] = json!([{"dbfs": {"destination": "dbfs:/init.sh"}}]);
    let resp = w.post("/api/2.1/clusters/create", dbfs).await;
    assert_error(
        &resp,
        400,
        "FEATURE_DISABLED",
        "Init scripts cannot be loaded from DBFS",
    );
    assert_eq!(
        resp.json()["details"][0]["reason"],
        "CM_API_ERROR_SOURCE_CALLER_ERROR"
    );

    let created_at = Instant::now();
    let resp = w.post("/api/2.1/clusters/create", spec.clone()).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let id = resp.json()["cluster_id"].as_str().unwrap().to_owned();
    let get = format!("/api/2.1/clusters/get?cluster_id={id}");
    let pending = w.get(&get).await.json();
    assert_eq!(pending["state"], "PENDING");
    assert_eq!(pending["custom_tags"]["Owner"], "platform");
    assert_eq!(pending["default_tags"]["ClusterId"], json!(id));
    assert_error(
        &w.post("/api/2.1/clusters/edit", {
            let mut s = spec.clone();
            s["cluster_id"] = json!(id);
            s
        })
        .await,
        400,
        "INVALID_STATE",
        "unexpected state Pending",
    );
    wait_field(&w, &get, "state", "RUNNING").await;
    assert!(created_at.elapsed() >= Duration::from_millis(100));

    // Edit a running cluster: it restarts.
    let mut edited = spec.clone();
    edited["cluster_id"] = json!(id);
    edited["autotermination_minutes"] = json!(60);
    assert_eq!(w.post("/api/2.1/clusters/edit", edited).await.status, 200);
    let restarting = w.get(&get).await.json();
    assert_eq!(restarting["state"], "RESTARTING");
    assert_eq!(restarting["autotermination_minutes"], 60);
    wait_field(&w, &get, "state", "RUNNING").await;
    let list = w.get("/api/2.0/clusters/list").await.json();
    assert_eq!(
        list["clusters"][0]["cluster_id"],
        json!(id),
        "2.0 paths work too"
    );

    // Terminate, then permanent delete (after unpinning).
    assert_eq!(
        w.post("/api/2.1/clusters/delete", json!({"cluster_id": id}))
            .await
            .status,
        200
    );
    assert_eq!(w.get(&get).await.json()["state"], "TERMINATING");
    let (terminated, _) = wait_field(&w, &get, "state", "TERMINATED").await;
    assert_eq!(terminated["termination_reason"]["code"], "USER_REQUEST");
    w.post("/api/2.1/clusters/pin", json!({"cluster_id": id}))
        .await;
    assert_error(
        &w.post(
            "/api/2.1/clusters/permanent-delete",
            json!({"cluster_id": id}),
        )
        .await,
        400,
        "INVALID_STATE",
        "unpin the cluster first",
    );
    w.post("/api/2.1/clusters/unpin", json!({"cluster_id": id}))
        .await;
    assert_eq!(
        w.post(
            "/api/2.1/clusters/permanent-delete",
            json!({"cluster_id": id})
        )
        .await
        .status,
        200
    );
    assert_error(
        &w.get(&get).await,
        400,
        "INVALID_PARAMETER_VALUE",
        &format!("Cluster {id} does not exist"),
    );
    assert_eq!(w.get("/api/2.1/clusters/list").await.json(), json!({}));
    assert!(fake.state().cluster(&id).is_none());
    fake.stop().await;
}

#[tokio::test]
async fn cluster_terminate_from_pending_is_idempotent_and_an_edit_keeps_it_terminated() {
    let (fake, _, w) = start().await;
    let spec = json!({"cluster_name": "acme-shared", "spark_version": "15.4.x-scala2.12",
                      "node_type_id": "r5.xlarge", "autoscale": {"min_workers": 1, "max_workers": 4},
                      "autotermination_minutes": 30});
    let id = w
        .post("/api/2.1/clusters/create", spec.clone())
        .await
        .json()["cluster_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = format!("/api/2.1/clusters/get?cluster_id={id}");
    let terminate = || w.post("/api/2.1/clusters/delete", json!({"cluster_id": id}));

    // PENDING -> TERMINATING -> TERMINATED: the start is abandoned, the cluster kept.
    assert_eq!(w.get(&get).await.json()["state"], "PENDING");
    assert_eq!(terminate().await.status, 200);
    assert_eq!(w.get(&get).await.json()["state"], "TERMINATING");
    // Again while TERMINATING: nothing happens.
    assert_eq!(terminate().await.json(), json!({}));
    let (terminated, _) = wait_field(&w, &get, "state", "TERMINATED").await;
    assert_eq!(terminated["termination_reason"]["code"], "USER_REQUEST");
    assert!(
        terminated.get("last_restarted_time").is_none(),
        "{terminated}"
    );
    // It never reaches RUNNING, even after the start delay.
    sleep(Duration::from_millis(150)).await;
    assert_eq!(w.get(&get).await.json()["state"], "TERMINATED");
    // Again while TERMINATED: 200, nothing changes.
    assert_eq!(terminate().await.status, 200);
    assert_eq!(w.get(&get).await.json(), terminated);

    // An edit of a TERMINATED cluster applies the spec and leaves it TERMINATED.
    let mut edited = spec.clone();
    edited["cluster_id"] = json!(id);
    edited["autoscale"]["max_workers"] = json!(8);
    assert_eq!(w.post("/api/2.1/clusters/edit", edited).await.status, 200);
    sleep(Duration::from_millis(150)).await;
    let after = w.get(&get).await.json();
    assert_eq!(after["state"], "TERMINATED", "{after}");
    assert_eq!(after["autoscale"]["max_workers"], 8);
    assert_eq!(
        after["termination_reason"],
        terminated["termination_reason"]
    );

    // The new spec applies at the next start; a RUNNING cluster terminates the same way.
    w.post("/api/2.1/clusters/start", json!({"cluster_id": id}))
        .await;
    let (running, _) = wait_field(&w, &get, "state", "RUNNING").await;
    assert_eq!(running["autoscale"]["max_workers"], 8);
    assert_eq!(terminate().await.status, 200);
    assert_eq!(w.get(&get).await.json()["state"], "TERMINATING");
    // An edit while TERMINATING is refused.
    let mut busy = spec.clone();
    busy["cluster_id"] = json!(id);
    assert_error(
        &w.post("/api/2.1/clusters/edit", busy).await,
        400,
        "INVALID_STATE",
        "unexpected state Terminating",
    );
    wait_field(&w, &get, "state", "TERMINATED").await;
    assert_error(
        &w.post(
            "/api/2.1/clusters/delete",
            json!({"cluster_id": "0619-000000-nothere"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "does not exist",
    );
    fake.stop().await;
}

#[tokio::test]
async fn workspace_files_import_overwrite_delete() {
    let (fake, _, w) = start().await;
    let script = b"#!/bin/bash\necho hello\n";
    let import = |content: &[u8], overwrite: bool| {
        json!({"path": "/Shared/init/setup.sh", "format": "RAW",
               "content": base64(content), "overwrite": overwrite})
    };
    assert_error(
        &w.post("/api/2.0/workspace/import", import(script, true))
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "The parent folder (/Shared/init) does not exist.",
    );
    assert_eq!(
        w.post("/api/2.0/workspace/mkdirs", json!({"path": "/Shared/init"}))
            .await
            .status,
        200
    );
    assert_eq!(
        w.post("/api/2.0/workspace/import", import(script, false))
            .await
            .status,
        200
    );
    let status = w
        .get("/api/2.0/workspace/get-status?path=/Shared/init/setup.sh")
        .await
        .json();
    assert_eq!(status["object_type"], "FILE");
    assert_eq!(status["size"], script.len());
    let object_id = status["object_id"].clone();

    assert_error(
        &w.post("/api/2.0/workspace/import", import(b"v2", false))
            .await,
        400,
        "RESOURCE_ALREADY_EXISTS",
        "already exists",
    );
    assert_eq!(
        w.post("/api/2.0/workspace/import", import(b"v2", true))
            .await
            .status,
        200
    );
    let snap = fake.state();
    let file = snap.workspace_object("/Shared/init/setup.sh").unwrap();
    assert_eq!(file.content, b"v2");
    assert_eq!(
        json!(file.object_id),
        object_id,
        "overwrite keeps the object"
    );
    let exported = w
        .get("/api/2.0/workspace/export?path=/Shared/init/setup.sh")
        .await
        .json();
    assert_eq!(exported["content"], base64(b"v2"));

    // AUTO with a .sh name is a file; a SOURCE import needs a language.
    let auto =
        json!({"path": "/Shared/init/other.sh", "format": "AUTO", "content": base64(script)});
    assert_eq!(w.post("/api/2.0/workspace/import", auto).await.status, 200);
    assert_eq!(
        fake.state()
            .workspace_object("/Shared/init/other.sh")
            .unwrap()
            .object_type,
        "FILE"
    );
    assert_error(
        &w.post(
            "/api/2.0/workspace/import",
            json!({"path": "/Shared/nb", "format": "SOURCE", "content": ""}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "language",
    );

    // Delete; a second delete and get-status answer RESOURCE_DOES_NOT_EXIST.
    assert_eq!(
        w.post(
            "/api/2.0/workspace/delete",
            json!({"path": "/Shared/init/setup.sh"})
        )
        .await
        .status,
        200
    );
    assert_error(
        &w.post(
            "/api/2.0/workspace/delete",
            json!({"path": "/Shared/init/setup.sh"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "doesn't exist",
    );
    assert_error(
        &w.get("/api/2.0/workspace/get-status?path=/Shared/init/setup.sh")
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "",
    );
    assert_error(
        &w.post("/api/2.0/workspace/delete", json!({"path": "/Shared/init"}))
            .await,
        400,
        "DIRECTORY_NOT_EMPTY",
        "",
    );
    assert_eq!(
        w.post(
            "/api/2.0/workspace/delete",
            json!({"path": "/Shared/init", "recursive": true})
        )
        .await
        .status,
        200
    );
    assert!(fake
        .state()
        .workspace_object("/Shared/init/other.sh")
        .is_none());
    fake.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Faults

#[tokio::test]
async fn fault_bursts_of_server_errors() {
    let (fake, _, w) = start().await;
    fake.clear_requests();
    fake.faults().fail_next(
        2,
        503,
        json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "try later"}).to_string(),
    );
    for _ in 0..2 {
        assert_error(
            &w.get("/api/2.1/clusters/list").await,
            503,
            "TEMPORARILY_UNAVAILABLE",
            "try later",
        );
    }
    assert_eq!(w.get("/api/2.1/clusters/list").await.status, 200);
    let log = fake.requests();
    let statuses: Vec<(u16, Option<&str>)> = log.iter().map(|r| (r.status, r.fault)).collect();
    assert_eq!(
        statuses,
        [(503, Some("fail")), (503, Some("fail")), (200, None)]
    );
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/api/2.1/clusters/list");

    // A plain-text body is sent as text.
    fake.faults().fail_next(1, 500, "INTERNAL_ERROR: boom");
    let resp = w.get("/api/2.1/clusters/list").await;
    assert_eq!(resp.status, 500);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(resp.text(), "INTERNAL_ERROR: boom");
    fake.stop().await;
}

#[tokio::test]
async fn fault_rate_limit_with_retry_after() {
    let (fake, _, w) = start().await;
    fake.faults().rate_limit_next(1, 2);
    let resp = w.get("/api/2.0/instance-profiles/list").await;
    assert_error(&resp, 429, "REQUEST_LIMIT_EXCEEDED", "rate limit");
    assert_eq!(resp.header("retry-after"), Some("2"));
    assert_eq!(w.get("/api/2.0/instance-profiles/list").await.status, 200);
    fake.stop().await;
}

#[tokio::test]
async fn fault_slow_answers() {
    let (fake, _, w) = start().await;
    fake.clear_requests();
    fake.faults().slow_next(1, Duration::from_millis(200));
    let started = Instant::now();
    let resp = w.get("/api/2.1/clusters/list").await;
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(w.get("/api/2.1/clusters/list").await.status, 200);
    let faults: Vec<Option<&str>> = fake.requests().iter().map(|r| r.fault).collect();
    assert_eq!(faults, [Some("slow"), None], "only one request is slowed");
    fake.stop().await;
}

#[tokio::test]
async fn fault_malformed_body_after_the_side_effect() {
    let (fake, _, w) = start().await;
    fake.faults().malformed_next(1);
    let resp = w
        .post(GROUPS, json!({"displayName": "half-answered"}))
        .await;
    assert_eq!(resp.status, 201);
    assert!(
        serde_json::from_slice::<Value>(&resp.body).is_err(),
        "truncated: {}",
        resp.text()
    );
    assert!(resp.text().starts_with('{'));
    assert!(
        fake.state().group("half-answered").is_some(),
        "the request was processed"
    );
    fake.stop().await;
}

#[tokio::test]
async fn fault_html_login_page_with_status_200() {
    let (fake, c, _) = start().await;
    fake.faults().html_200_next(1);
    let resp = c.get(&acct(&fake, "workspaces")).await;
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(resp.text().starts_with("<!doctype html>"));
    assert_eq!(c.get(&acct(&fake, "workspaces")).await.json(), json!([]));
    fake.stop().await;
}

#[tokio::test]
async fn fault_numeric_error_code() {
    let (fake, _, w) = start().await;
    fake.faults().numeric_error_code_next(1);
    let resp = w.get("/api/2.1/clusters/list").await;
    assert_eq!(resp.status, 403);
    assert_eq!(
        resp.json(),
        json!({"error_code": 403, "message": "Invalid access token."})
    );
    fake.stop().await;
}

#[tokio::test]
async fn faults_scoped_by_path_prefix_spare_other_paths() {
    let fake = FakeDatabricks::start(config()).await;
    let faults = fake.faults();
    faults.on("/api/2.1/clusters").fail_next(1, 500, "");
    faults.on("/oidc/").rate_limit_next(1, 1);
    // The token endpoint gets its own fault first, then works.
    let resp = send(
        fake.base_url(),
        "POST",
        "/oidc/v1/token",
        &[],
        Some((
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials".to_vec(),
        )),
    )
    .await;
    assert_eq!(resp.status, 429);
    let w = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.workspace_token_url()).await),
    };
    assert_eq!(w.get("/api/2.0/instance-profiles/list").await.status, 200);
    assert_eq!(faults.pending(), 1);
    let resp = w.get("/api/2.1/clusters/list").await;
    assert_eq!(resp.status, 500);
    assert!(resp.body.is_empty());
    assert_eq!(faults.pending(), 0);
    fake.stop().await;
}

#[tokio::test]
async fn unknown_endpoints_and_stop() {
    let (fake, _, w) = start().await;
    assert_error(
        &w.get("/api/2.0/nothing/here").await,
        404,
        "ENDPOINT_NOT_FOUND",
        "No API found for 'GET /api/2.0/nothing/here'",
    );
    let base = fake.base_url().to_owned();
    fake.stop().await;
    let host = base.strip_prefix("http://").unwrap();
    assert!(
        TcpStream::connect(host).await.is_err(),
        "the server is gone after stop"
    );
}

#[tokio::test]
async fn every_request_is_logged_even_unknown_and_unauthenticated_ones() {
    let fake = FakeDatabricks::start(config()).await;
    let anonymous = Client {
        base: fake.base_url().to_owned(),
        token: None,
    };
    assert_eq!(anonymous.get("/api/2.0/nothing").await.status, 401);
    let log = fake.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str(), log[0].status),
        ("GET", "/api/2.0/nothing", 401)
    );
    fake.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Clusters as the real API validates, echoes and pages them (issue 10 items 7 and 8)

fn valid_cluster(name: &str) -> Value {
    json!({"cluster_name": name, "spark_version": "15.4.x-scala2.12", "node_type_id": "r5.xlarge",
           "autoscale": {"min_workers": 1, "max_workers": 2}, "autotermination_minutes": 30,
           "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "first_on_demand": 1,
                              "spot_bid_price_percent": 100, "ebs_volume_type": "GENERAL_PURPOSE_SSD",
                              "ebs_volume_count": 1, "ebs_volume_size": 100}})
}

#[tokio::test]
async fn cluster_runtimes_and_node_types_are_served_and_enforced() {
    let (_fake, _, w) = start().await;
    let versions = w.get("/api/2.1/clusters/spark-versions").await.json();
    let keys: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"15.4.x-scala2.12") && keys.contains(&"14.3.x-scala2.12"));
    assert!(versions["versions"][0]["name"]
        .as_str()
        .unwrap()
        .contains("LTS"));
    let nodes = w.get("/api/2.0/clusters/list-node-types").await.json();
    let r5 = nodes["node_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_type_id"] == "r5.xlarge")
        .expect("r5.xlarge listed")
        .clone();
    assert_eq!(
        (r5["num_cores"].as_f64(), r5["memory_mb"].as_i64()),
        (Some(4.0), Some(32768))
    );

    let mut bad = valid_cluster("c");
    bad["spark_version"] = json!("13.0.x-scala2.11");
    let resp = w.post("/api/2.1/clusters/create", bad).await;
    assert_eq!(
        resp.text(),
        r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid spark version 13.0.x-scala2.11."}"#
    );
    for field in ["node_type_id", "driver_node_type_id"] {
        let mut bad = valid_cluster("c");
        bad[field] = json!("m4.large");
        assert_error(
            &w.post("/api/2.1/clusters/create", bad).await,
            400,
            "INVALID_PARAMETER_VALUE",
            "Node type m4.large is not supported. Supported node types: m5.large,",
        );
    }
    let mut none = valid_cluster("c");
    none.as_object_mut().unwrap().remove("node_type_id");
    let resp = w.post("/api/2.1/clusters/create", none).await;
    assert_error(
        &resp,
        400,
        "INVALID_PARAMETER_VALUE",
        "Missing required field 'node_type_id'",
    );
    assert_eq!(
        resp.json()["details"][0]["reason"],
        "CM_API_ERROR_SOURCE_CALLER_ERROR"
    );
    assert_eq!(
        w.post("/api/2.1/clusters/create", valid_cluster("c"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn cluster_specs_the_api_refuses_are_refused() {
    let (fake, _, w) = start().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/aws_attributes/ebs_volume_size",
            json!(32),
            "out of range for GENERAL_PURPOSE_SSD",
        ),
        (
            "/aws_attributes/ebs_volume_size",
            json!(4097),
            "out of range",
        ),
        (
            "/aws_attributes/ebs_volume_count",
            json!(11),
            "ebs_volume_count",
        ),
        (
            "/aws_attributes/spot_bid_price_percent",
            json!(10001),
            "10000",
        ),
        (
            "/aws_attributes/availability",
            json!("spot"),
            "aws_attributes.availability",
        ),
        (
            "/aws_attributes/ebs_volume_type",
            json!("GP3"),
            "ebs_volume_type",
        ),
        (
            "/data_security_mode",
            json!("DEDICATED"),
            "data_security_mode",
        ),
    ];
    for (pointer, value, message) in cases {
        let mut spec = valid_cluster("c");
        match spec.pointer_mut(pointer) {
            Some(slot) => *slot = value.clone(),
            None => spec[pointer.trim_start_matches('/')] = value.clone(),
        }
        assert_error(
            &w.post("/api/2.1/clusters/create", spec).await,
            400,
            "INVALID_PARAMETER_VALUE",
            message,
        );
    }
    // Throughput-optimized HDD starts at 500 GiB.
    let mut hdd = valid_cluster("c");
    hdd["aws_attributes"]["ebs_volume_type"] = json!("THROUGHPUT_OPTIMIZED_HDD");
    hdd["aws_attributes"]["ebs_volume_size"] = json!(100);
    assert_error(
        &w.post("/api/2.1/clusters/create", hdd.clone()).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "500 - 4096",
    );
    hdd["aws_attributes"]["ebs_volume_size"] = json!(500);
    assert_eq!(w.post("/api/2.1/clusters/create", hdd).await.status, 200);
    // A dedicated cluster names its user.
    for mode in ["SINGLE_USER", "DATA_SECURITY_MODE_DEDICATED"] {
        let mut spec = valid_cluster("c");
        spec["data_security_mode"] = json!(mode);
        assert_error(
            &w.post("/api/2.1/clusters/create", spec).await,
            400,
            "INVALID_PARAMETER_VALUE",
            "single_user_name",
        );
    }
    assert_eq!(
        fake.state().clusters.len(),
        1,
        "only the valid HDD cluster was made"
    );
}

#[tokio::test]
async fn cluster_access_modes_are_echoed_under_their_legacy_names_and_first_on_demand_is_fixed() {
    let (_fake, _, w) = start().await;
    let mut spec = valid_cluster("c");
    spec["data_security_mode"] = json!("DATA_SECURITY_MODE_DEDICATED");
    spec["single_user_name"] = json!("etl@acme.example");
    let id = w
        .post("/api/2.1/clusters/create", spec.clone())
        .await
        .json()["cluster_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = format!("/api/2.1/clusters/get?cluster_id={id}");
    wait_field(&w, &get, "state", "RUNNING").await;
    assert_eq!(
        w.get(&get).await.json()["data_security_mode"],
        "SINGLE_USER"
    );
    let mut standard = spec.clone();
    standard["cluster_id"] = json!(id);
    standard["data_security_mode"] = json!("DATA_SECURITY_MODE_STANDARD");
    assert_eq!(
        w.post("/api/2.1/clusters/edit", standard.clone())
            .await
            .status,
        200
    );
    assert_eq!(
        w.get(&get).await.json()["data_security_mode"],
        "USER_ISOLATION"
    );
    wait_field(&w, &get, "state", "RUNNING").await;
    // AUTO comes back as the mode chosen.
    let mut auto = valid_cluster("auto");
    auto["data_security_mode"] = json!("DATA_SECURITY_MODE_AUTO");
    let auto_id = w.post("/api/2.1/clusters/create", auto).await.json()["cluster_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        w.get(&format!("/api/2.1/clusters/get?cluster_id={auto_id}"))
            .await
            .json()["data_security_mode"],
        "USER_ISOLATION"
    );
    // first_on_demand cannot change on an existing cluster.
    let mut more = standard.clone();
    more["aws_attributes"]["first_on_demand"] = json!(2);
    assert_error(
        &w.post("/api/2.1/clusters/edit", more).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "first_on_demand cannot be changed",
    );
    assert_eq!(
        w.get(&get).await.json()["aws_attributes"]["first_on_demand"],
        1
    );
    // Another edit of the same cluster succeeds: only the create-only field is refused.
    standard["autoscale"]["max_workers"] = json!(3);
    assert_eq!(w.post("/api/2.1/clusters/edit", standard).await.status, 200);
}

#[tokio::test]
async fn cluster_list_pages_with_next_page_tokens() {
    let (fake, _, w) = start().await;
    assert_eq!(fake.config().cluster_list_page_size, 2);
    for i in 0..5 {
        let resp = w
            .post("/api/2.1/clusters/create", valid_cluster(&format!("c{i}")))
            .await;
        assert_eq!(resp.status, 200, "{}", resp.text());
    }
    let mut seen = Vec::new();
    let mut path = "/api/2.1/clusters/list".to_owned();
    let mut pages = 0;
    loop {
        let page = w.get(&path).await.json();
        pages += 1;
        for c in page["clusters"].as_array().unwrap() {
            seen.push(c["cluster_name"].as_str().unwrap().to_owned());
        }
        match page["next_page_token"].as_str() {
            Some(t) => path = format!("/api/2.1/clusters/list?page_token={t}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["c0", "c1", "c2", "c3", "c4"]);
    let big = w.get("/api/2.1/clusters/list?page_size=10").await.json();
    assert_eq!(big["clusters"].as_array().unwrap().len(), 5);
    assert!(big.get("next_page_token").is_none());
    // API 2.0 answers every cluster at once.
    let all = w.get("/api/2.0/clusters/list").await.json();
    assert_eq!(all["clusters"].as_array().unwrap().len(), 5);
    assert_error(
        &w.get("/api/2.1/clusters/list?page_token=bogus").await,
        400,
        "INVALID_PARAMETER_VALUE",
        "page_token",
    );
}

// ---------------------------------------------------------------------------------------------
// Workspace-object permissions (issue 10 item 11)

/// A workspace client of a non-admin principal configured in the fake.
async fn non_admin(fake: &FakeDatabricks, id: &str, secret: &str) -> Client {
    let basic = base64(format!("{id}:{secret}").as_bytes());
    let resp = send(
        fake.base_url(),
        "POST",
        "/oidc/v1/token",
        &[("Authorization", format!("Basic {basic}"))],
        Some((
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&scope=all-apis".to_vec(),
        )),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    Client {
        base: fake.base_url().to_owned(),
        token: Some(resp.json()["access_token"].as_str().unwrap().to_owned()),
    }
}

#[tokio::test]
async fn workspace_object_permissions_default_inherit_set_and_enforce() {
    let fake = FakeDatabricks::start(FakeConfig {
        non_admin_principals: vec![testkit::databricks::FakePrincipal {
            client_id: "dev-sp".into(),
            client_secret: "dev-secret".into(),
            groups: vec!["data-engineers".into()],
        }],
        ..config()
    })
    .await;
    let admin = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.workspace_token_url()).await),
    };
    let dev = non_admin(&fake, "dev-sp", "dev-secret").await;
    // A non-admin principal gets no account token.
    let basic = base64(b"dev-sp:dev-secret");
    let refused = send(
        fake.base_url(),
        "POST",
        &format!("/oidc/accounts/{}/v1/token", fake.config().account_id),
        &[("Authorization", format!("Basic {basic}"))],
        Some((
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials".to_vec(),
        )),
    )
    .await;
    assert_eq!(refused.status, 401);
    admin
        .post(
            "/api/2.0/preview/scim/v2/Groups",
            json!({"displayName": "data-engineers"}),
        )
        .await;
    let script = base64(b"#!/bin/bash\necho hi\n");
    let import =
        |path: &str| json!({"path": path, "format": "RAW", "content": script, "overwrite": true});

    // /Shared: every user manages its content.
    assert_eq!(
        dev.post("/api/2.0/workspace/mkdirs", json!({"path": "/Shared/x"}))
            .await
            .status,
        200
    );
    assert_eq!(
        dev.post("/api/2.0/workspace/import", import("/Shared/x/a.sh"))
            .await
            .status,
        200
    );
    // The root: only admins create there.
    assert_error(
        &dev.post("/api/2.0/workspace/mkdirs", json!({"path": "/cdkrs/init"}))
            .await,
        403,
        "PERMISSION_DENIED",
        "dev-sp does not have manage permissions on /",
    );
    assert_eq!(
        admin
            .post("/api/2.0/workspace/mkdirs", json!({"path": "/cdkrs/init"}))
            .await
            .status,
        200
    );
    assert_eq!(
        admin
            .post("/api/2.0/workspace/import", import("/cdkrs/init/sse.sh"))
            .await
            .status,
        200
    );
    let status = admin
        .get("/api/2.0/workspace/get-status?path=/cdkrs/init/sse.sh")
        .await
        .json();
    let file_id = status["object_id"].as_i64().unwrap();
    let acl_path = format!("/api/2.0/permissions/files/{file_id}");
    // Only admins and the creator manage it; nobody else holds anything.
    let acl = admin.get(&acl_path).await.json();
    assert_eq!(acl["object_id"], json!(format!("/files/{file_id}")));
    assert_eq!(acl["object_type"], "file");
    let names: Vec<String> = acl["access_control_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["group_name"]
                .as_str()
                .or(e["service_principal_name"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["admins", "fake-client-id"]);
    // The non-admin can neither read, overwrite nor delete it.
    assert_error(
        &dev.get("/api/2.0/workspace/export?path=/cdkrs/init/sse.sh")
            .await,
        403,
        "PERMISSION_DENIED",
        "read",
    );
    assert_error(
        &dev.post("/api/2.0/workspace/import", import("/cdkrs/init/sse.sh"))
            .await,
        403,
        "PERMISSION_DENIED",
        "edit",
    );
    assert_error(
        &dev.post(
            "/api/2.0/workspace/delete",
            json!({"path": "/cdkrs/init/sse.sh"}),
        )
        .await,
        403,
        "PERMISSION_DENIED",
        "manage",
    );
    assert_error(
        &dev.post("/api/2.0/workspace/import", import("/cdkrs/init/other.sh"))
            .await,
        403,
        "PERMISSION_DENIED",
        "manage",
    );
    assert_error(
        &dev.call("PUT", &acl_path, json!({"access_control_list": [{"service_principal_name": "dev-sp", "permission_level": "CAN_MANAGE"}]})).await,
        403,
        "PERMISSION_DENIED",
        "manage",
    );
    // PUT replaces the direct grants: admins manage, users read.
    let set = admin
        .call(
            "PUT",
            &acl_path,
            json!({"access_control_list": [
            {"group_name": "admins", "permission_level": "CAN_MANAGE"},
            {"group_name": "users", "permission_level": "CAN_READ"}]}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text());
    let users = set.json()["access_control_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["group_name"] == "users")
        .cloned()
        .expect("users listed");
    assert_eq!(
        users["all_permissions"],
        json!([{"permission_level": "CAN_READ", "inherited": false}])
    );
    assert_eq!(
        dev.get("/api/2.0/workspace/export?path=/cdkrs/init/sse.sh")
            .await
            .status,
        200
    );
    assert_eq!(
        dev.post("/api/2.0/workspace/import", import("/cdkrs/init/sse.sh"))
            .await
            .status,
        403
    );
    // A grant on the folder is inherited (and reported so); PATCH adds.
    let dir_id = admin
        .get("/api/2.0/workspace/get-status?path=/cdkrs/init")
        .await
        .json()["object_id"]
        .as_i64()
        .unwrap();
    let patched = admin
        .call("PATCH", &format!("/api/2.0/permissions/directories/{dir_id}"),
              json!({"access_control_list": [{"group_name": "data-engineers", "permission_level": "CAN_EDIT"}]}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let inherited = admin.get(&acl_path).await.json()["access_control_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["group_name"] == "data-engineers")
        .cloned()
        .expect("inherited grant listed");
    assert_eq!(
        inherited["all_permissions"],
        json!([{"permission_level": "CAN_EDIT", "inherited": true, "inherited_from_object": [format!("/directories/{dir_id}")]}])
    );
    assert_eq!(
        dev.post("/api/2.0/workspace/import", import("/cdkrs/init/sse.sh"))
            .await
            .status,
        200
    );
    // Bad entries.
    assert_error(
        &admin.call("PUT", &acl_path, json!({"access_control_list": [{"group_name": "users", "permission_level": "can_read"}]})).await,
        400, "INVALID_PARAMETER_VALUE", "not supported",
    );
    assert_error(
        &admin.call("PUT", &acl_path, json!({"access_control_list": [{"group_name": "nobody", "permission_level": "CAN_READ"}]})).await,
        400, "INVALID_PARAMETER_VALUE", "GroupName(nobody) does not exist",
    );
    assert_error(
        &admin.get("/api/2.0/permissions/directories/1").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "does not exist",
    );
    assert_eq!(
        admin
            .get(&format!("{acl_path}/permissionLevels"))
            .await
            .json()["permission_levels"][3]["permission_level"],
        "CAN_MANAGE"
    );
}

// ---------------------------------------------------------------------------------------------
// The real server's account-side behaviours (issue 10)

/// The fake with its default behaviours on (races, prefix), quick transitions.
fn real_config() -> FakeConfig {
    FakeConfig {
        workspace_provisioning_delay: Duration::from_millis(50),
        cluster_start_delay: Duration::from_millis(50),
        deletion_delay: Duration::from_millis(30),
        ..FakeConfig::default()
    }
}

async fn start_with(config: FakeConfig) -> (FakeDatabricks, Client) {
    let fake = FakeDatabricks::start(config).await;
    let account = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.account_token_url()).await),
    };
    (fake, account)
}

/// POSTs until the answer is not 400 (at most 50 times, 10 ms apart); returns the 400s seen
/// and the final answer.
async fn post_through_race(c: &Client, path: &str, body: Value) -> (Vec<Resp>, Resp) {
    let mut refused = Vec::new();
    for _ in 0..50 {
        let resp = c.post(path, body.clone()).await;
        if resp.status != 400 {
            return (refused, resp);
        }
        refused.push(resp);
        sleep(Duration::from_millis(10)).await;
    }
    panic!("{path} never stopped answering 400");
}

#[tokio::test]
async fn new_roles_race_credentials_workspace_and_log_delivery_creation_with_the_real_bodies() {
    let (fake, c) = start_with(real_config()).await;
    let role = "arn:aws:iam::123456789012:role/new-xacct";
    let (refused, ok) = post_through_race(
        &c,
        &acct(&fake, "credentials"),
        json!({"credentials_name": "race", "aws_credentials": {"sts_role": {"role_arn": role}}}),
    )
    .await;
    assert!(!refused.is_empty(), "the first attempt meets the race");
    let real = testkit::databricks::real_errors::get("credentials_validation_race");
    for r in &refused {
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(r.text(), real.body);
    }
    assert_eq!(
        fake.state().credentials.len(),
        1,
        "refused attempts store nothing"
    );
    let cred = ok.json()["credentials_id"].as_str().unwrap().to_owned();
    // The same role again: propagated, no race.
    let again = c
        .post(
            &acct(&fake, "credentials"),
            json!({"credentials_name": "race-2", "aws_credentials": {"sts_role": {"role_arn": role}}}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text());

    let storage = c
        .post(
            &acct(&fake, "storage-configurations"),
            json!({"storage_configuration_name": "race-root", "root_bucket_info": {"bucket_name": "race-bucket"}}),
        )
        .await
        .json()["storage_configuration_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (refused, ok) = post_through_race(
        &c,
        &acct(&fake, "workspaces"),
        json!({"workspace_name": "race", "aws_region": "eu-west-1",
               "credentials_id": cred, "storage_configuration_id": storage}),
    )
    .await;
    assert!(!refused.is_empty());
    assert!(refused[0]
        .text()
        .starts_with("MALFORMED_REQUEST: Failed credentials validation checks: Spot Cancellation"));
    assert_eq!(ok.status, 200, "{}", ok.text());

    let (refused, ok) = post_through_race(
        &c,
        &acct(&fake, "log-delivery"),
        json!({"log_delivery_configuration": {"log_type": "AUDIT_LOGS", "output_format": "JSON",
               "credentials_id": cred, "storage_configuration_id": storage,
               "delivery_path_prefix": "audit"}}),
    )
    .await;
    assert!(!refused.is_empty());
    assert_error(
        &refused[0],
        400,
        "INVALID_PARAMETER_VALUE",
        &format!("Failed to perform putObject operations on s3Bucket:race-bucket with deliveryPathPrefix:audit with the IAM Role:{role} provided."),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(fake.state().log_delivery.len(), 1);
    fake.stop().await;
}

#[tokio::test]
async fn the_default_account_has_a_deployment_name_prefix() {
    let (fake, c) = start_with(FakeConfig {
        credentials_propagation: Propagation::NONE,
        ..real_config()
    })
    .await;
    let ws =
        workspace_on_prerequisites(&fake, &c, "pfx", false, json!({"deployment_name": "prod"}))
            .await;
    assert_eq!(ws.status, 200, "{}", ws.text());
    assert_eq!(ws.json()["deployment_name"], "acme-prod");
    fake.stop().await;
}

#[tokio::test]
async fn a_workspace_patch_waits_for_classic_compute_and_blocks_compute_after() {
    let (fake, c) = start_with(FakeConfig {
        credentials_propagation: Propagation::NONE,
        compute_blocked_after_update: Duration::from_millis(300),
        storage_key_change_reverts: true,
        ..real_config()
    })
    .await;
    let created = workspace_on_prerequisites(&fake, &c, "pa", true, json!({}))
        .await
        .json();
    let path = acct(
        &fake,
        &format!("workspaces/{}", created["workspace_id"].as_i64().unwrap()),
    );
    wait_field(&c, &path, "workspace_status", "RUNNING").await;
    let w = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.workspace_token_url()).await),
    };
    let cluster = w
        .post(
            "/api/2.1/clusters/create",
            json!({"cluster_name": "c", "spark_version": "15.4.x-scala2.12",
                   "node_type_id": "r5.xlarge", "num_workers": 1, "autotermination_minutes": 30}),
        )
        .await;
    assert_eq!(cluster.status, 200, "{}", cluster.text());
    let cluster_id = cluster.json()["cluster_id"].as_str().unwrap().to_owned();
    let tags = json!({"custom_tags": {"a": "1"}});
    // The account API's plain-text "CODE: message" body (fixture `workspace_update_compute_running`).
    let refused = c.patch(&path, tags.clone()).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(refused.header("content-type"), Some("text/plain"));
    assert_eq!(
        refused.text().trim_end(),
        "INVALID_STATE: Please terminate all pool & cluster EC2 instances in your workspace subnets before attempting to update the workspace."
    );
    w.post(
        "/api/2.1/clusters/delete",
        json!({"cluster_id": cluster_id}),
    )
    .await;
    sleep(Duration::from_millis(80)).await;
    assert_eq!(fake.compute_blocked_by_update(), None);
    let patched = c.patch(&path, tags).await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let id = created["workspace_id"].as_i64();
    assert_eq!(fake.compute_blocked_by_update(), id);
    sleep(Duration::from_millis(320)).await;
    assert_eq!(fake.compute_blocked_by_update(), None);

    // A storage key change answers the new key and silently keeps the old one.
    let key = c
        .post(
            &acct(&fake, "customer-managed-keys"),
            json!({"use_cases": ["STORAGE"], "aws_key_info": {"key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k"}}),
        )
        .await
        .json()["customer_managed_key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = c
        .patch(&path, json!({"storage_customer_managed_key_id": key}))
        .await
        .json();
    assert_eq!(answer["storage_customer_managed_key_id"], json!(key));
    let got = c.get(&path).await.json();
    assert_eq!(got.get("storage_customer_managed_key_id"), None, "{got}");
    fake.stop().await;
}

#[tokio::test]
async fn an_unsupported_permission_is_silently_ignored_and_drops_the_principal() {
    let (fake, c) = start_with(FakeConfig {
        credentials_propagation: Propagation::NONE,
        ..real_config()
    })
    .await;
    let ws = workspace_on_prerequisites(&fake, &c, "pv", false, json!({}))
        .await
        .json();
    let path = acct(
        &fake,
        &format!(
            "workspaces/{}/permissionassignments/principals/42",
            ws["workspace_id"].as_i64().unwrap()
        ),
    );
    let put = c
        .call("PUT", &path, json!({"permissions": ["ADMIN"]}))
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(fake.state().permission_assignments.len(), 1);
    let lower = c
        .call("PUT", &path, json!({"permissions": ["admin"]}))
        .await;
    assert_eq!(lower.status, 200, "no error: {}", lower.text());
    assert!(
        fake.state().permission_assignments.is_empty(),
        "the principal lost its permissions"
    );
    fake.stop().await;
}

#[tokio::test]
async fn a_workspace_token_only_for_a_member_of_a_workspace() {
    let fake = FakeDatabricks::start(FakeConfig {
        workspace_membership_required: true,
        credentials_propagation: Propagation::NONE,
        ..real_config()
    })
    .await;
    let cfg = fake.config();
    let basic = base64(format!("{}:{}", cfg.client_id, cfg.client_secret).as_bytes());
    let ask = || async {
        send(
            fake.base_url(),
            "POST",
            "/oidc/v1/token",
            &[("Authorization", format!("Basic {basic}"))],
            Some((
                "application/x-www-form-urlencoded",
                b"grant_type=client_credentials&scope=all-apis".to_vec(),
            )),
        )
        .await
    };
    let refused = ask().await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.text(),
        testkit::databricks::real_errors::get("workspace_token_not_a_member").body
    );
    // The creator of a workspace is a member of it.
    let c = Client {
        base: fake.base_url().to_owned(),
        token: Some(token(&fake, &fake.account_token_url()).await),
    };
    let ws = workspace_on_prerequisites(&fake, &c, "mb", false, json!({})).await;
    assert_eq!(ws.status, 200, "{}", ws.text());
    assert_eq!(ask().await.status, 200);
    fake.stop().await;
}

//! The official Databricks SDK for Python (pinned in `requirements-dev.txt`) drives the fake:
//! `testkit/python/sdk_contract.py` makes every call the provider makes through
//! `AccountClient`/`WorkspaceClient` with OAuth M2M, its waiters and its paginated iterators,
//! checks that every answer survives the SDK's `from_dict`/`as_dict`, and that every error
//! scenario raises the SDK exception class the real API gives. What the SDK needs and the fake
//! lacks fails here, with the script's report.
//!
//! The script asks for fault injection on its stdout (`@control {json}`) and waits for `ok` on
//! its stdin: the faults live in this process, beside the fake.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::Value;
use testkit::databricks::{FakeConfig, FakeDatabricks, Faults, Propagation};

/// Applies one control request of the script to the fake.
fn control(fake_faults: &Faults, revoke: &dyn Fn(), request: &Value) -> Result<(), String> {
    let text = |k: &str| request.get(k).and_then(Value::as_str).unwrap_or_default();
    let num = |k: &str| request.get(k).and_then(Value::as_u64).unwrap_or(1);
    let faults = match text("prefix") {
        "" => fake_faults.clone(),
        prefix => fake_faults.on(prefix),
    };
    let n = usize::try_from(num("n")).map_err(|e| e.to_string())?;
    match text("op") {
        "rate_limit" => faults.rate_limit_next(n, num("retry_after")),
        "fail" => faults.fail_next(
            n,
            u16::try_from(num("status")).map_err(|e| e.to_string())?,
            text("body"),
        ),
        "numeric_error_code" => faults.numeric_error_code_next(n),
        "clear_faults" => fake_faults.clear(),
        "revoke_tokens" => revoke(),
        other => return Err(format!("unknown control op {other:?} in {request}")),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_databricks_sdk_for_python_drives_every_call_of_the_provider_against_the_fake() {
    let fake = std::sync::Arc::new(
        FakeDatabricks::start(FakeConfig {
            // The IAM propagation races are the provider tests' business (they retry them); here
            // every call must answer as the SDK expects at once.
            credentials_propagation: Propagation::NONE,
            log_delivery_propagation: Propagation::NONE,
            storage_credential_propagation: Propagation::NONE,
            // Permission assignments as on an identity-federated account: the script assigns
            // an account group to a workspace that has a metastore.
            identity_federation_checks: true,
            // A member that is no admin, for the PermissionDenied cases.
            non_admin_principals: vec![testkit::databricks::FakePrincipal {
                client_id: "sdk-dev".to_owned(),
                client_secret: "sdk-dev-secret".to_owned(),
                groups: Vec::new(),
            }],
            // The script updates the workspace, then makes clusters at once.
            compute_blocked_after_update: std::time::Duration::ZERO,
            ..FakeConfig::default()
        })
        .await,
    );
    let python = testkit::venv_tool("python");
    let script = testkit::workspace_root().join("testkit/python/sdk_contract.py");
    let config = fake.config().clone();
    let base = fake.base_url().to_owned();
    let runner = std::sync::Arc::clone(&fake);
    let (status, output) = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--base-url", &base, "--account-id", &config.account_id])
            .args(["--client-id", &config.client_id])
            .env("CDKRS_FAKE_CLIENT_SECRET", &config.client_secret)
            .env(
                "CDKRS_FAKE_NON_ADMIN",
                config
                    .non_admin_principals
                    .first()
                    .map(|p| format!("{}:{}", p.client_id, p.client_secret))
                    .unwrap_or_default(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let faults = runner.faults();
        let revoke = || runner.revoke_tokens();
        let mut output = String::new();
        for line in stdout.lines() {
            let line = line.expect("the script's output is UTF-8");
            match line.strip_prefix("@control ") {
                Some(request) => {
                    let answer = serde_json::from_str::<Value>(request)
                        .map_err(|e| e.to_string())
                        .and_then(|r| control(&faults, &revoke, &r));
                    let reply = match answer {
                        Ok(()) => "ok".to_owned(),
                        Err(e) => format!("error {e}"),
                    };
                    writeln!(stdin, "{reply}").expect("answer the script");
                    stdin.flush().expect("answer the script");
                }
                None => {
                    output.push_str(&line);
                    output.push('\n');
                }
            }
        }
        drop(stdin);
        (child.wait().expect("wait for the script"), output)
    })
    .await
    .expect("the script runner");
    assert!(
        status.success(),
        "testkit/python/sdk_contract.py failed ({status}):\n{output}"
    );
    assert!(
        output.contains("calls checked"),
        "the script ran no check:\n{output}"
    );
}

/// A request as the provider sends it, for the request check's own test.
fn provider_request(method: &str, path: &str, query: Option<&str>, body: Option<Value>) -> String {
    let record = testkit::databricks::RequestRecord {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.map(str::to_owned),
        status: 200,
        fault: None,
        body,
        client: Some("cdkrs-databricks-provider/0.1.0".to_owned()),
        error: None,
    };
    serde_json::to_string(&record).expect("a record serializes")
}

/// Runs `testkit/python/check_requests.py` on these log lines: (success, output).
fn check_requests(name: &str, lines: &[String]) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!(
        "cdkrs-check-requests-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    std::fs::write(dir.join("provider.jsonl"), lines.join("\n") + "\n").expect("write the log");
    let out = Command::new(testkit::venv_tool("python"))
        .arg(testkit::workspace_root().join("testkit/python/check_requests.py"))
        .arg(&dir)
        .output()
        .expect("run check_requests.py");
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_request_check_refuses_fields_enum_values_query_names_and_paths_the_sdk_does_not_know() {
    let create = |extra: Value| {
        let mut body = serde_json::json!({
            "spark_version": "15.4.x-scala2.12",
            "num_workers": 1,
            "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "first_on_demand": 1},
            "data_security_mode": "SINGLE_USER",
        });
        for (k, v) in extra.as_object().expect("an object") {
            body[k] = v.clone();
        }
        provider_request("POST", "/api/2.1/clusters/create", None, Some(body))
    };
    let good = vec![
        create(serde_json::json!({})),
        provider_request(
            "GET",
            "/api/2.1/clusters/list",
            Some("page_token=abc"),
            None,
        ),
    ];
    let (ok, output) = check_requests("good", &good);
    assert!(ok, "requests the SDK builds itself pass:\n{output}");
    assert!(output.contains("2 checked against the SDK"), "{output}");

    let bad = vec![
        create(serde_json::json!({"first_on_demand": 1})),
        create(serde_json::json!({"data_security_mode": "DEDICATED"})),
        create(serde_json::json!({"aws_attributes": {"availability": "spot", "bid": 1}})),
        provider_request(
            "GET",
            "/api/2.1/clusters/list",
            Some("page_token=abc&limit=5"),
            None,
        ),
        provider_request(
            "POST",
            "/api/2.0/clusters/legacy-create",
            None,
            Some(serde_json::json!({})),
        ),
        provider_request(
            "POST",
            "/api/2.1/clusters/create",
            None,
            Some(serde_json::json!({"num_workers": 1})),
        ),
    ];
    let (ok, output) = check_requests("bad", &bad);
    assert!(
        !ok,
        "the check passed requests the SDK never sends:\n{output}"
    );
    for expected in [
        "body field(s) first_on_demand unknown to the SDK",
        "\"DEDICATED\" is not a value of the SDK's DataSecurityMode",
        "aws_attributes.availability (the SDK drops it",
        "aws_attributes.bid (the SDK drops it",
        "query name 'limit' is not one the SDK sends",
        "POST /api/2.0/clusters/legacy-create: no SDK method has this verb and path",
        "missing 1 required positional argument: 'spark_version'",
        "6 distinct failures",
    ] {
        assert!(output.contains(expected), "no {expected:?} in:\n{output}");
    }
}

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
use testkit::databricks::{FakeConfig, FakeDatabricks, Faults};

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
    let fake = std::sync::Arc::new(FakeDatabricks::start(FakeConfig::default()).await);
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

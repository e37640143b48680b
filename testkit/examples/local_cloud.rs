//! A local AWS and Databricks for trying cdkrs by hand: moto (with the real provider binary
//! running every Lambda invocation) and the fake Databricks server, on 127.0.0.1.
//!
//! ```sh
//! cargo build -p databricks-provider --bin bootstrap
//! cargo run -p testkit --features moto,databricks --example local-cloud
//! ```
//!
//! It writes `target/local-cloud.env` (the variables that point cdkrs at it) and runs until
//! Ctrl-C. The fake Databricks account and service principal are the ones in
//! `examples/local.yaml`; the service principal's secret is put in moto's SSM.

use std::io::Write;
use std::time::Duration;

use testkit::databricks::{FakeConfig, FakeDatabricks};
use testkit::moto::{MotoOptions, MotoServer};

/// The SSM parameter `examples/local.yaml` names.
const SSM_SECRET: &str = "/databricks/cdkrs/sp-secret";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let fake = rt.block_on(FakeDatabricks::start(FakeConfig {
        client_id: "33333333-3333-4333-8333-333333333333".into(),
        // A workspace takes a few seconds to provision, as a real one takes minutes.
        workspace_provisioning_delay: Duration::from_secs(3),
        ..FakeConfig::default()
    }));
    let moto = match MotoServer::start(
        MotoOptions::with_provider(testkit::provider_binary())
            .env("DATABRICKS_ACCOUNTS_HOST", fake.base_url()),
    ) {
        Ok(m) => m,
        Err(e) => {
            eprintln!(
                "moto did not start: {e}\n(run scripts/test once: it creates .venv with moto)"
            );
            std::process::exit(1);
        }
    };
    if let Err(e) = moto.put_secure_parameter(SSM_SECRET, &fake.config().client_secret) {
        eprintln!("storing the service principal's secret in moto failed: {e}");
        std::process::exit(1);
    }
    let root = testkit::workspace_root();
    let zip = root.join("target/local-cloud-provider.zip");
    // moto stores the provider zip but never runs it: the launcher runs the provider binary.
    let empty_zip = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    let env_file = root.join("target/local-cloud.env");
    // Not the harness's AWS_CONFIG_FILE=/dev/null and friends: a user's shell keeps its files
    // (the static keys below come first in the credential chain anyway).
    let mut vars: Vec<_> = moto
        .client_env()
        .into_iter()
        .filter(|(k, _)| !k.ends_with("_FILE"))
        .collect();
    vars.push(("AWS_MAX_ATTEMPTS", "1".into()));
    vars.push(("CDKRS_PROVIDER_ZIP", zip.display().to_string()));
    let text: String = vars
        .iter()
        .map(|(k, v)| format!("export {k}={v}\n"))
        .collect();
    let written = std::fs::write(&zip, empty_zip).and_then(|()| std::fs::write(&env_file, &text));
    if let Err(e) = written {
        eprintln!("writing {}: {e}", env_file.display());
        std::process::exit(1);
    }
    println!("moto:       {}", moto.endpoint_url());
    println!("databricks: {}", fake.base_url());
    println!("moto's log: {}", moto.log_path().display());
    println!("\nIn another shell:\n  source {}", env_file.display());
    println!("  cargo run -- bootstrap -c examples/local.yaml\n\nCtrl-C stops both.");
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

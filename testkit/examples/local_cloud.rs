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

use testkit::local_cloud::{LocalCloud, EMPTY_ZIP};

fn main() {
    // A workspace takes a few seconds to provision, as a real one takes minutes.
    let cloud = match LocalCloud::start(Duration::from_secs(3)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("the local cloud did not start: {e}\n(run scripts/test once: it creates .venv with moto)");
            std::process::exit(1);
        }
    };
    let root = testkit::workspace_root();
    let zip = root.join("target/local-cloud-provider.zip");
    let env_file = root.join("target/local-cloud.env");
    // Not the harness's AWS_CONFIG_FILE=/dev/null and friends: a user's shell keeps its files
    // (the static keys below come first in the credential chain anyway).
    let mut vars: Vec<_> = cloud
        .moto
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
    let written = std::fs::write(&zip, EMPTY_ZIP).and_then(|()| std::fs::write(&env_file, &text));
    if let Err(e) = written {
        eprintln!("writing {}: {e}", env_file.display());
        std::process::exit(1);
    }
    println!("moto:       {}", cloud.moto.endpoint_url());
    println!("databricks: {}", cloud.fake.base_url());
    println!("moto's log: {}", cloud.moto.log_path().display());
    println!("\nIn another shell:\n  source {}", env_file.display());
    println!("  cargo run -- bootstrap -c examples/local.yaml\n\nCtrl-C stops both.");
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

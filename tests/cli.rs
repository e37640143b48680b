//! The CLI driven as a process: version, help, usage errors, synth, validate, schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cdkrs_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdkrs"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the cdkrs binary runs")
}

fn cdkrs(args: &[&str]) -> Output {
    cdkrs_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn version_prints_the_package_version() {
    let out = cdkrs(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("cdkrs {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_commands() {
    let out = cdkrs(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for cmd in [
        "synth",
        "validate",
        "schema",
        "types",
        "bootstrap",
        "deploy",
        "diff",
        "destroy",
        "sleep",
        "wake",
        "status",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from:\n{text}");
    }
}

#[test]
fn no_command_or_unknown_flag_is_a_usage_error() {
    let out = cdkrs(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage: cdkrs"));
    let out = cdkrs(&["synth", "--formatt", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));
}

#[test]
fn types_lists_every_generated_resource_type() {
    let out = cdkrs(&["types"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for t in [
        "AWS::EC2::VPC",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::IAM::Role",
    ] {
        assert!(text.lines().any(|l| l == t), "{t} missing from:\n{text}");
    }
}

#[test]
fn synth_without_arguments_writes_the_default_environment_and_a_manifest() {
    let dir = scratch("synth-default");
    let out = cdkrs_in(&dir, &["synth"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let template_path = dir.join("cdk.out/cm-vpc-databricks.template.json");
    let template: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&template_path).expect("template written"))
            .expect("JSON");
    assert!(template["Resources"]["DatabricksWorkspace"].is_object());
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("cdk.out/manifest.json")).expect("manifest written"),
    )
    .expect("JSON");
    assert_eq!(manifest["stacks"][0]["name"], "cm-vpc-databricks");
    assert_eq!(
        manifest["stacks"][0]["template_file"],
        "cm-vpc-databricks.template.json"
    );
    assert_eq!(
        manifest["stacks"][0]["parameters"]["NetworkAsleep"]["default"],
        "false"
    );
    assert_eq!(manifest["assets"][0]["key_parameter"], "ProviderCodeKey");
    assert!(
        stdout(&out).contains("cm-vpc-databricks"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn synth_is_byte_identical_across_runs() {
    let a = cdkrs(&["synth", "--stdout"]);
    let b = cdkrs(&["synth", "--stdout"]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
    let y = cdkrs(&["synth", "--stdout", "--format", "yaml"]);
    assert!(y.status.success());
    assert!(stdout(&y).starts_with("AWSTemplateFormatVersion: \"2010-09-09\"\n"));
}

#[test]
fn synth_of_an_invalid_config_lists_every_problem_and_exits_1() {
    let dir = scratch("synth-invalid");
    let config = dir.join("bad.yaml");
    std::fs::write(
        &config,
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/databricks.yaml"),
        )
        .expect("example")
        .replace("prefix: cm-vpc", "prefix: CM_VPC")
        .replace("max_workers: 2", "max_workers: 0"),
    )
    .expect("write");
    let out = cdkrs_in(&dir, &["synth", "--config", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("prefix"), "{err}");
    assert!(err.contains("databricks.cluster.autoscale"), "{err}");
    assert!(
        !dir.join("cdk.out").exists(),
        "nothing is written for an invalid config"
    );
}

#[test]
fn validate_accepts_the_examples_and_names_a_missing_file() {
    for example in ["examples/databricks.yaml", "examples/minimal.yaml"] {
        let out = cdkrs(&["validate", "--config", example]);
        assert!(out.status.success(), "{example}: {}", stderr(&out));
        assert!(stdout(&out).contains("config is valid"), "{}", stdout(&out));
    }
    let out = cdkrs(&["validate", "--config", "no/such/file.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("reading config no/such/file.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schema_prints_the_config_json_schema() {
    let out = cdkrs(&["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(schema["title"], "Config");
    for field in ["prefix", "region", "network", "databricks", "encryption"] {
        assert!(schema["properties"][field].is_object(), "{field}");
    }
}

#[test]
fn diff_against_the_committed_snapshot_of_the_same_config_is_equal_and_exits_0() {
    let out = cdkrs(&["diff", "--against", "snapshots/environment_default.snap"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("no differences"), "{}", stdout(&out));
}

#[test]
fn diff_of_a_changed_config_exits_1_with_a_markdown_table() {
    let dir = scratch("diff-changed");
    let config = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/databricks.yaml"),
    )
    .expect("default config");
    assert_eq!(config.matches("max_workers: 2").count(), 1);
    std::fs::write(
        dir.join("c.yaml"),
        config.replace("max_workers: 2", "max_workers: 5"),
    )
    .unwrap();
    let snap = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/environment_default.snap");
    let out = cdkrs_in(
        &dir,
        &[
            "diff",
            "-c",
            "c.yaml",
            "--against",
            snap.to_str().unwrap(),
            "--format",
            "markdown",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(
        // A resize is in place: the cluster publishes its create-only properties.
        md.contains("| modify | `DatabricksCluster` | `Custom::DatabricksCluster` |  |"),
        "{md}"
    );
    let json = cdkrs_in(
        &dir,
        &[
            "diff",
            "-c",
            "c.yaml",
            "--against",
            snap.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON diff");
    assert_eq!(v["summary"]["change"], 1, "{v}");
}

#[test]
fn diff_that_cannot_compare_exits_2_never_1() {
    let out = cdkrs(&[
        "diff",
        "-c",
        "no-such-config.yaml",
        "--against",
        "snapshots/environment_default.snap",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no-such-config.yaml"),
        "{}",
        stderr(&out)
    );
    let out = cdkrs(&["diff", "--against", "no-such-dir/"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-dir"), "{}", stderr(&out));
}

#[test]
fn deploy_refuses_a_region_other_than_the_configs_before_calling_aws() {
    // No endpoint is reachable: the error must come before any call.
    let out = cdkrs(&[
        "deploy",
        "--region",
        "us-west-2",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("--region us-west-2") && err.contains("eu-west-1"),
        "{err}"
    );
}

#[test]
fn deploy_rejects_a_malformed_change_set_name_as_a_usage_error() {
    let out = cdkrs(&["deploy", "--change-set-name", "1-bad_name"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a change set name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn deploy_without_a_provider_zip_names_the_fix() {
    let dir = scratch("no-zip");
    let out = cdkrs_in(
        &dir,
        &[
            "deploy",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--provider-zip",
            "missing.zip",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("missing.zip") && err.contains("scripts/build-provider"),
        "{err}"
    );
}

#[test]
fn diff_against_a_synth_output_directory_finds_the_stacks_template() {
    let dir = scratch("diff-synth-dir");
    let out = cdkrs_in(&dir, &["synth", "--out", "base"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cdkrs_in(&dir, &["diff", "--against", "base"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let minimal = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal.yaml");
    let out = cdkrs_in(
        &dir,
        &["diff", "-c", minimal.to_str().unwrap(), "--against", "base"],
    );
    // Another stack name: the directory has no template for it.
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("dbx-min-databricks.template.json"),
        "{}",
        stderr(&out)
    );
}

/// `--profile` selects the profile the standard credential chain reads: a named profile that
/// is missing fails credential loading by name; one that exists gets as far as the network
/// (nothing listens on port 9).
#[test]
fn profile_flag_reaches_the_credential_chain() {
    let dir = scratch("profile");
    std::fs::write(
        dir.join("aws-config"),
        "[profile team]\nregion = eu-west-1\naws_access_key_id = AKIDTEAM\naws_secret_access_key = s\n",
    )
    .unwrap();
    let run = |profile: &str| {
        Command::new(env!("CARGO_BIN_EXE_cdkrs"))
            .args([
                "status",
                "--profile",
                profile,
                "--endpoint-url",
                "http://127.0.0.1:9",
            ])
            .current_dir(&dir)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_CONFIG_FILE", dir.join("aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_MAX_ATTEMPTS", "1")
            .output()
            .expect("cdkrs runs")
    };
    let missing = run("nope");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("profile `nope` was not defined"),
        "{}",
        stderr(&missing)
    );
    let team = run("team");
    assert_eq!(team.status.code(), Some(1));
    let err = stderr(&team);
    assert!(
        !err.contains("was not defined") && err.contains("Connection refused"),
        "{err}"
    );
}

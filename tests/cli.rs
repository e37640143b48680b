//! The CLI driven as a process: version, help, usage errors, synth, validate, schema.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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
    // The stack's declared deployment, as deploy reads it (issue 11 item 9).
    let deployment = &manifest["stacks"][0]["deployment"];
    assert_eq!(
        deployment["parameters"]["ProviderCodeKey"]["asset_key"],
        "DatabricksProvider"
    );
    assert_eq!(
        deployment["parameters"]["NetworkAsleep"]["keep_deployed"]["set_by"]["sleep"],
        "true"
    );
    assert_eq!(deployment["bootstrap"]["stack_name"], "cdkrs-bootstrap");
    // No zip is built in the scratch directory: its hash and key are unknown.
    assert_eq!(manifest["assets"][0]["id"], "DatabricksProvider");
    assert!(manifest["assets"][0]["key"].is_null());
    assert!(
        stdout(&out).contains("cm-vpc-databricks"),
        "{}",
        stdout(&out)
    );
}

/// The default example with another prefix.
fn example_with_prefix(prefix: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/databricks.yaml"),
    )
    .expect("example");
    assert_eq!(text.matches("prefix: cm-vpc\n").count(), 1);
    text.replace("prefix: cm-vpc\n", &format!("prefix: {prefix}\n"))
}

#[test]
fn synth_of_several_configs_writes_every_stack_into_one_assembly() {
    let dir = scratch("synth-several");
    let envs = dir.join("envs");
    std::fs::create_dir_all(&envs).expect("dir");
    for prefix in ["team-b", "team-a"] {
        std::fs::write(
            envs.join(format!("{prefix}.yaml")),
            example_with_prefix(prefix),
        )
        .expect("write");
    }
    std::fs::write(envs.join("README.txt"), "not a config").expect("write");
    std::fs::write(dir.join("solo.yml"), example_with_prefix("solo")).expect("write");
    // A directory (its configs in name order) and a file, in one process.
    let out = cdkrs_in(&dir, &["synth", "-c", "envs", "-c", "solo.yml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("cdk.out/manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    let names: Vec<&str> = manifest["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["team-a-databricks", "team-b-databricks", "solo-databricks"]
    );
    for name in &names {
        let t: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("cdk.out/{name}.template.json")))
                .expect("template written"),
        )
        .expect("JSON");
        assert!(t["Resources"]["DatabricksWorkspace"].is_object(), "{name}");
    }
    assert_eq!(
        manifest["assets"].as_array().map(Vec::len),
        Some(3),
        "each stack lists its asset: {manifest}"
    );
    // One stack's template is the same whether it is synthesized alone or with others.
    let alone = cdkrs_in(&dir, &["synth", "-c", "envs/team-a.yaml", "--stdout"]);
    assert!(alone.status.success(), "{}", stderr(&alone));
    assert_eq!(
        stdout(&alone),
        std::fs::read_to_string(dir.join("cdk.out/team-a-databricks.template.json"))
            .expect("template")
    );
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn synth_of_several_configs_refuses_two_that_make_one_stack_and_lists_every_problem() {
    let dir = scratch("synth-several-bad");
    std::fs::write(dir.join("a.yaml"), example_with_prefix("same")).expect("write");
    std::fs::write(dir.join("b.yaml"), example_with_prefix("same")).expect("write");
    std::fs::write(
        dir.join("c.yaml"),
        example_with_prefix("other").replace("max_workers: 2", "max_workers: 0"),
    )
    .expect("write");
    let out = cdkrs_in(
        &dir,
        &["synth", "-c", "a.yaml", "-c", "b.yaml", "-c", "c.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("a.yaml and b.yaml both make stack `same-databricks`"),
        "{err}"
    );
    assert!(
        err.contains("c.yaml: ") && err.contains("max_workers"),
        "{err}"
    );
    assert!(!dir.join("cdk.out").exists(), "nothing is written");
    std::fs::write(dir.join("d.yaml"), example_with_prefix("valid")).expect("write");
    let out = cdkrs_in(&dir, &["synth", "-c", "a.yaml", "-c", "d.yaml", "--stdout"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--stdout prints one template"),
        "{}",
        stderr(&out)
    );
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("dir");
    let out = cdkrs_in(&dir, &["synth", "-c", "empty", "--stdout"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("holds no config"), "{}", stderr(&out));
    let out = cdkrs_in(&dir, &["synth", "-c", "a.yaml", "-c", "b.yaml", "--stdout"]);
    assert!(stderr(&out).contains("both make stack"), "{}", stderr(&out));
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
        stderr(&missing).contains("no AWS credentials from profile `nope`"),
        "{}",
        stderr(&missing)
    );
    let team = run("team");
    assert_eq!(team.status.code(), Some(1));
    let err = stderr(&team);
    assert!(
        !err.contains("profile `team`") && err.contains("cannot reach http://127.0.0.1:9"),
        "{err}"
    );
}

/// The write end of a pipe whose reader has already gone: the first write fails with EPIPE.
/// (The reader is the stdin of a `true` that has exited.)
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("true runs");
    let writer = reader.stdin.take().expect("piped stdin");
    reader.wait().expect("true exits");
    Stdio::from(writer)
}

/// `/dev/full`: every write fails with ENOSPC, as on a full disk.
fn full_disk() -> Stdio {
    Stdio::from(File::create("/dev/full").expect("/dev/full (Linux)"))
}

fn cdkrs_to(stdout: Stdio, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdkrs"))
        .args(args)
        .current_dir(dir)
        .stdout(stdout)
        .output()
        .expect("the cdkrs binary runs")
}

/// `cdkrs synth --stdout | head -c 16`: the reader takes a few bytes and goes away while the
/// template (far more than a pipe's 64 KiB buffer) is still being written. The command ends
/// quietly with 0, as ripgrep does; it used to panic ("failed printing to stdout", exit 101).
#[test]
fn issue_11_synth_to_a_pipe_closed_early_ends_quietly_with_0() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cdkrs"))
        .args(["synth", "--stdout"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cdkrs runs");
    let mut head = [0u8; 16];
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_exact(&mut head)
        .expect("the template starts");
    // The pipe's reader is dropped here.
    let out = child.wait_with_output().expect("cdkrs ends");
    assert!(head.starts_with(b"{"), "{head:?}");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

/// Every command that prints goes through the one stdout writer: a reader gone before the first
/// byte is no failure and no panic.
#[test]
fn issue_11_every_printing_command_ends_quietly_on_a_closed_pipe() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = scratch("closed-pipe");
    let out_dir = dir.join("out");
    for args in [
        vec!["synth", "--stdout"],
        vec!["synth", "--out", out_dir.to_str().unwrap()],
        vec!["types"],
        vec!["schema"],
        vec!["validate"],
    ] {
        let out = cdkrs_to(closed_pipe(), root, &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

/// A closed pipe ends the output, not the answer: `cdkrs diff | head` still exits 1 when the
/// templates differ (CI with `pipefail` relies on it), and 0 when they do not.
#[test]
fn issue_11_diff_to_a_closed_pipe_keeps_its_exit_code() {
    let dir = scratch("diff-closed-pipe");
    std::fs::write(dir.join("empty.json"), "{}").unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let differs = cdkrs_to(
        closed_pipe(),
        root,
        &[
            "diff",
            "--against",
            dir.join("empty.json").to_str().unwrap(),
        ],
    );
    assert_eq!(differs.status.code(), Some(1), "{}", stderr(&differs));
    assert_eq!(stderr(&differs), "");
    let same = cdkrs_to(
        closed_pipe(),
        root,
        &["diff", "--against", "snapshots/environment_default.snap"],
    );
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
}

/// A full disk is one error line naming stdout, and exit 1 (2 for `diff`, whose 1 means
/// "different"); it used to panic with exit 101.
#[test]
fn issue_11_a_full_disk_on_stdout_is_one_line_and_exit_1() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for args in [vec!["synth", "--stdout"], vec!["validate"], vec!["types"]] {
        let out = cdkrs_to(full_disk(), root, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "error: writing to stdout: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
    let out = cdkrs_to(
        full_disk(),
        root,
        &["diff", "--against", "snapshots/environment_default.snap"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: writing to stdout: No space left on device (os error 28)\n"
    );
}

/// A full disk under `synth --out` names the file it could not write. (The template file is a
/// link to /dev/full.)
#[test]
fn issue_11_a_full_disk_under_synth_out_names_the_file() {
    let dir = scratch("full-disk-out");
    std::os::unix::fs::symlink("/dev/full", dir.join("cm-vpc-databricks.template.json"))
        .expect("symlink");
    let out = cdkrs_in(&dir, &["synth", "--out", "."]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: writing ./cm-vpc-databricks.template.json: No space left on device (os error 28)\n"
    );
}

/// `cdkrs` as a user without any AWS credentials: an empty HOME, no AWS_* variable (keys,
/// profile, session token, web identity, container credentials, config files), no instance
/// metadata, one attempt per call.
fn aws_user(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cdkrs"));
    cmd.current_dir(home).env("HOME", home);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1");
    cmd
}

/// An endpoint where nothing listens: a port bound, then released.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// One line on stderr, returned without its newline.
fn one_line(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "not one line:\n{err}");
    err.trim_end().to_owned()
}

/// Without credentials, an AWS command says so in one line with the ways to set them; it used
/// to print the SDK's ~900-character report (every provider tried, then its debug form).
#[test]
fn issue_11_without_credentials_one_line_says_how_to_set_them() {
    let home = scratch("no-credentials");
    let endpoint = closed_port();
    let out = aws_user(&home)
        .args(["status", "--endpoint-url", &endpoint])
        .output()
        .expect("cdkrs runs");
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out);
    assert!(
        line.contains("no AWS credentials")
            && line.contains("aws configure")
            && line.contains("AWS_PROFILE")
            && line.contains("AWS_ACCESS_KEY_ID"),
        "{line}"
    );
    assert!(line.len() < 200, "{} characters: {line}", line.len());
    // `diff` against the deployed stack fails the same way, with its own exit code.
    let out = aws_user(&home)
        .args(["diff", "--endpoint-url", &endpoint])
        .output()
        .expect("cdkrs runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line(&out).contains("no AWS credentials found"));
}

/// `-v` adds the SDK's whole report after the line.
#[test]
fn issue_11_verbose_adds_the_sdks_report() {
    let home = scratch("verbose");
    let out = aws_user(&home)
        .args(["status", "-v", "--endpoint-url", &closed_port()])
        .output()
        .expect("cdkrs runs");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let mut lines = err.lines();
    assert!(
        lines
            .next()
            .unwrap_or_default()
            .contains("no AWS credentials found"),
        "{err}"
    );
    assert!(
        lines.next().unwrap_or_default().starts_with("detail: ") && err.contains("DispatchFailure"),
        "{err}"
    );
}

/// An SSO profile whose cached token has expired (no refresh token): one line naming the login
/// command for that profile. The SDK decides this offline, from the token cache.
#[test]
fn issue_11_an_expired_sso_token_says_aws_sso_login() {
    let home = scratch("sso-expired");
    std::fs::create_dir_all(home.join(".aws/sso/cache")).unwrap();
    std::fs::write(
        home.join(".aws/config"),
        "[profile dev]\nsso_session = cdkrs\nsso_account_id = 111111111111\n\
         sso_role_name = Admin\nregion = eu-west-1\n\n[sso-session cdkrs]\n\
         sso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\n",
    )
    .unwrap();
    // The cache file is named after the SHA-1 of the session name: `printf cdkrs | sha1sum`.
    std::fs::write(
        home.join(".aws/sso/cache/007a68729b162a6249fd77bec0e397ba9435d176.json"),
        r#"{"accessToken":"old","expiresAt":"2020-01-01T00:00:00Z","region":"eu-west-1","startUrl":"https://example.awsapps.com/start"}"#,
    )
    .unwrap();
    let out = aws_user(&home)
        .args([
            "status",
            "--profile",
            "dev",
            "--endpoint-url",
            &closed_port(),
        ])
        .output()
        .expect("cdkrs runs");
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out);
    assert!(
        line.contains("SSO session has expired") && line.contains("`aws sso login --profile dev`"),
        "{line}"
    );
}

/// With credentials but nothing listening: one line naming the endpoint it could not reach.
#[test]
fn issue_11_an_unreachable_endpoint_is_one_line_naming_it() {
    let home = scratch("unreachable");
    let endpoint = closed_port();
    let out = aws_user(&home)
        .args(["status", "--endpoint-url", &endpoint])
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .expect("cdkrs runs");
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out);
    assert!(
        line.contains(&format!("cannot reach {endpoint}")) && line.contains("--endpoint-url"),
        "{line}"
    );
    assert!(!line.contains("DispatchFailure"), "{line}");
}

/// An endpoint that answers every request with CloudFormation's refusal of the access key (as
/// AWS does for a deactivated key, or any key in an opt-in region the account has not enabled).
fn refusing_endpoint() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer =
                "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
                <Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security \
                token included in the request is invalid.</Message></Error><RequestId>1</RequestId>\
                </ErrorResponse>";
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}

/// A key AWS does not know in the region (a wrong key, or an opt-in region not enabled): one
/// line naming where and both fixes; it used to be the bare service message.
#[test]
fn issue_11_a_refused_key_or_region_names_the_region_and_the_fix() {
    let home = scratch("refused-key");
    let endpoint = refusing_endpoint();
    let out = aws_user(&home)
        .args(["status", "--endpoint-url", &endpoint])
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .expect("cdkrs runs");
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out);
    assert!(
        line.contains(&format!(
            "{endpoint} does not know the access key (InvalidClientTokenId)"
        )) && line.contains("enable eu-west-1 for the account"),
        "{line}"
    );
}

/// One request an [`aws_double`] received: the request line, the headers (lower-case names) and
/// the body.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP endpoint standing in for STS, CloudFormation and S3: each request is recorded and
/// answered by `answer` (status and XML body).
fn aws_double(
    answer: impl Fn(&Seen) -> (u16, String) + Send + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Seen>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut headers = Vec::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some((name, value)) = line.split_once(':') {
                    headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
                }
                line.clear();
            }
            let length = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let request = Seen {
                line: request_line.trim().to_owned(),
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let (status, answer_body) = answer(&request);
            log.lock().unwrap().push(request);
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{answer_body}",
                answer_body.len()
            );
        }
    });
    (url, seen)
}

/// CloudFormation's answer to ListStacks when no deleted stack of the name is remembered (a
/// first deploy asks it: what would there be to adopt?).
fn no_deleted_stacks() -> String {
    "<ListStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
     <ListStacksResult><StackSummaries/></ListStacksResult>\
     <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></ListStacksResponse>"
        .to_owned()
}

/// STS's answer to GetCallerIdentity for `account`.
fn caller_identity(account: &str) -> String {
    format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <GetCallerIdentityResult><Arn>arn:aws:iam::{account}:user/someone</Arn>\
         <UserId>AIDAEXAMPLE</UserId><Account>{account}</Account></GetCallerIdentityResult>\
         <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    )
}

/// `cdkrs` with dummy keys, one attempt per call, against `endpoint`.
fn against(endpoint: &str, dir: &Path, args: &[&str]) -> Output {
    aws_user(dir)
        .args(args)
        .args(["--endpoint-url", endpoint])
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .expect("cdkrs runs")
}

/// Credentials of another account than the config's `aws_account_id`: `bootstrap`, `destroy`
/// (and every AWS command) stop after the one identity call, before any CloudFormation call,
/// with one line naming both accounts and the fix. `bootstrap` used to create the retained
/// bucket and key in the wrong account; `destroy` never checked.
#[test]
fn issue_11_credentials_of_another_account_stop_every_command_before_cloudformation() {
    let home = scratch("wrong-account");
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/local.yaml");
    let local = local.to_str().unwrap();
    for command in [
        vec!["bootstrap", "-c", local],
        vec!["destroy", "-c", local, "--yes"],
        vec!["deploy", "-c", local, "--provider-zip", local],
        vec!["sleep", "-c", local],
        vec!["status", "-c", local],
    ] {
        let (endpoint, seen) = aws_double(|r| {
            if r.body.contains("Action=GetCallerIdentity") {
                (200, caller_identity("999999999999"))
            } else {
                (500, String::new())
            }
        });
        let out = against(&endpoint, &home, &command);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {}", stderr(&out));
        let line = one_line(&out);
        assert!(
            line.contains("reach AWS account 999999999999")
                && line.contains("aws_account_id is 123456789012")
                && line.contains("--profile"),
            "{command:?}: {line}"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{command:?}: {seen:?}");
        assert!(seen[0].body.contains("Action=GetCallerIdentity"));
    }
}

/// Every asset call names the checked account as the bucket's expected owner, and S3's refusal
/// (403: the predictable bucket name belongs to someone else) is one line naming the bucket and
/// the account.
#[test]
fn issue_11_asset_calls_expect_the_bucket_owner_and_a_refusal_names_the_bucket() {
    use cdkrs_stacks::bootstrap::{BUCKET_OUTPUT, STACK_NAME};
    let home = scratch("bucket-owner");
    std::fs::write(home.join("provider.zip"), b"zip").unwrap();
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/local.yaml");
    let bucket = "cdkrs-assets-123456789012-us-east-1";
    let (endpoint, seen) = aws_double(move |r| {
        if r.body.contains("Action=GetCallerIdentity") {
            (200, caller_identity("123456789012"))
        } else if r.body.contains("Action=ListStacks") {
            (200, no_deleted_stacks())
        } else if r.body.contains(&format!("StackName={STACK_NAME}")) {
            (
                200,
                format!(
                    "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
                     <DescribeStacksResult><Stacks><member><StackName>{STACK_NAME}</StackName>\
                     <StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK_NAME}/1</StackId>\
                     <StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime>\
                     <Outputs><member><OutputKey>{BUCKET_OUTPUT}</OutputKey><OutputValue>{bucket}</OutputValue>\
                     </member></Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>"
                ),
            )
        } else if r.body.contains("Action=DescribeStacks") {
            (
                400,
                "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>\
                 <Message>Stack with id local-databricks does not exist</Message></Error>\
                 <RequestId>1</RequestId></ErrorResponse>"
                    .to_owned(),
            )
        } else {
            (403, String::new())
        }
    });
    let out = against(
        &endpoint,
        &home,
        &[
            "deploy",
            "-c",
            local.to_str().unwrap(),
            "--provider-zip",
            "provider.zip",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!(
            "the assets bucket {bucket} is not owned by account 123456789012"
        )),
        "{err}"
    );
    let seen = seen.lock().unwrap();
    let head = seen
        .iter()
        .find(|r| r.line.starts_with("HEAD "))
        .expect("the asset is looked for");
    assert!(head.line.contains(bucket), "{head:?}");
    assert_eq!(
        head.header("x-amz-expected-bucket-owner"),
        Some("123456789012"),
        "{head:?}"
    );
}

/// A failed deploy under `--output json` prints one JSON document on stdout (it printed
/// nothing): the outcome `failed`, the stack, its final status and the root cause; the exit code
/// stays 1 and the error is on stderr.
#[test]
fn issue_11_a_failed_deploy_prints_its_result_as_json() {
    use cdkrs_stacks::bootstrap::{BUCKET_OUTPUT, STACK_NAME};
    let home = scratch("failed-json");
    std::fs::write(home.join("provider.zip"), b"zip").unwrap();
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/local.yaml");
    const NS: &str = "xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"";
    let arn = "arn:aws:cloudformation:us-east-1:123456789012:stack/local-databricks/1";
    let stack = |name: &str, id: &str, status: &str, outputs: &str| {
        format!(
            "<DescribeStacksResponse {NS}><DescribeStacksResult><Stacks><member>\
             <StackName>{name}</StackName><StackId>{id}</StackId><StackStatus>{status}</StackStatus>\
             <CreationTime>2026-01-01T00:00:00Z</CreationTime>{outputs}</member></Stacks>\
             </DescribeStacksResult></DescribeStacksResponse>"
        )
    };
    let event = |id: &str, logical: &str, ty: &str, status: &str, reason: &str, second: u32| {
        format!(
            "<member><EventId>{id}</EventId><StackName>local-databricks</StackName>\
             <StackId>{arn}</StackId><LogicalResourceId>{logical}</LogicalResourceId>\
             <ResourceType>{ty}</ResourceType><Timestamp>2026-01-01T00:00:0{second}Z</Timestamp>\
             <ResourceStatus>{status}</ResourceStatus><ResourceStatusReason>{reason}</ResourceStatusReason>\
             </member>"
        )
    };
    let events = format!(
        "<DescribeStackEventsResponse {NS}><DescribeStackEventsResult><StackEvents>{}{}{}\
         </StackEvents></DescribeStackEventsResult></DescribeStackEventsResponse>",
        event(
            "e3",
            "local-databricks",
            "AWS::CloudFormation::Stack",
            "ROLLBACK_COMPLETE",
            "",
            3
        ),
        event(
            "e2",
            "Vpc",
            "AWS::EC2::VPC",
            "CREATE_FAILED",
            "the CIDR is taken",
            2
        ),
        event(
            "e1",
            "local-databricks",
            "AWS::CloudFormation::Stack",
            "CREATE_IN_PROGRESS",
            "User Initiated",
            1
        ),
    );
    let (endpoint, _seen) = aws_double(move |r| {
        let b = &r.body;
        if b.contains("Action=GetCallerIdentity") {
            (200, caller_identity("123456789012"))
        } else if b.contains("Action=ListStacks") {
            (200, no_deleted_stacks())
        } else if b.contains("Action=DescribeStacks")
            && b.contains(&format!("StackName={STACK_NAME}"))
        {
            let outputs = format!(
                "<Outputs><member><OutputKey>{BUCKET_OUTPUT}</OutputKey>\
                 <OutputValue>cdkrs-assets-123456789012-us-east-1</OutputValue></member></Outputs>"
            );
            (
                200,
                stack(
                    STACK_NAME,
                    "arn:aws:cloudformation:us-east-1:123456789012:stack/b/1",
                    "CREATE_COMPLETE",
                    &outputs,
                ),
            )
        } else if b.contains("Action=DescribeStacks") && b.contains("StackName=arn") {
            (200, stack("local-databricks", arn, "ROLLBACK_COMPLETE", ""))
        } else if b.contains("Action=DescribeStacks") {
            (
                400,
                "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>\
                 <Message>Stack with id local-databricks does not exist</Message></Error>\
                 <RequestId>1</RequestId></ErrorResponse>"
                    .to_owned(),
            )
        } else if b.contains("Action=CreateChangeSet") {
            (
                200,
                format!(
                    "<CreateChangeSetResponse {NS}><CreateChangeSetResult>\
                     <Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/cdkrs-deploy/1</Id>\
                     <StackId>{arn}</StackId></CreateChangeSetResult></CreateChangeSetResponse>"
                ),
            )
        } else if b.contains("Action=DescribeChangeSet") {
            (
                200,
                format!(
                    "<DescribeChangeSetResponse {NS}><DescribeChangeSetResult>\
                     <ChangeSetId>arn:aws:cloudformation:us-east-1:123456789012:changeSet/cdkrs-deploy/1</ChangeSetId>\
                     <Status>CREATE_COMPLETE</Status><ExecutionStatus>AVAILABLE</ExecutionStatus>\
                     <Changes><member><Type>Resource</Type><ResourceChange><Action>Add</Action>\
                     <LogicalResourceId>Vpc</LogicalResourceId><ResourceType>AWS::EC2::VPC</ResourceType>\
                     </ResourceChange></member></Changes></DescribeChangeSetResult></DescribeChangeSetResponse>"
                ),
            )
        } else if b.contains("Action=ExecuteChangeSet") {
            (
                200,
                format!("<ExecuteChangeSetResponse {NS}><ExecuteChangeSetResult/></ExecuteChangeSetResponse>"),
            )
        } else if b.contains("Action=DescribeStackEvents") {
            (200, events.clone())
        } else {
            // S3: the zip is there (HEAD), the template upload (PUT) succeeds.
            (200, String::new())
        }
    });
    let out = against(
        &endpoint,
        &home,
        &[
            "deploy",
            "-c",
            local.to_str().unwrap(),
            "--provider-zip",
            "provider.zip",
            "--require-approval",
            "never",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    assert_eq!(doc["outcome"], "failed", "{doc}");
    assert_eq!(doc["stack"], "local-databricks", "{doc}");
    assert_eq!(doc["status"], "ROLLBACK_COMPLETE", "{doc}");
    assert_eq!(doc["root_cause"]["logical_id"], "Vpc", "{doc}");
    assert_eq!(doc["root_cause"]["reason"], "the CIDR is taken", "{doc}");
    assert!(stderr(&out).contains("root cause: Vpc"), "{}", stderr(&out));
}

// ---- issue 11 (deliver 3 and 4): rollback control and executing the reviewed change set ----

#[test]
fn issue_11_rollback_and_execute_are_commands_and_deploy_takes_no_rollback() {
    let text = stdout(&cdkrs(&["--help"]));
    for cmd in ["execute", "rollback"] {
        assert!(text.contains(cmd), "{cmd} missing from:\n{text}");
    }
    let out = cdkrs(&["deploy", "--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("--no-rollback"), "{}", stdout(&out));
    let out = cdkrs(&["rollback", "--help"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("--orphan <LOGICAL_ID>") && text.contains("--force"),
        "{text}"
    );
    let out = cdkrs(&["execute", "--help"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("--fingerprint <FINGERPRINT>") && text.contains("--no-rollback"),
        "{text}"
    );
}

#[test]
fn issue_11_execute_needs_a_well_formed_fingerprint_before_calling_aws() {
    let out = cdkrs(&["execute", "cdkrs-deploy", "--fingerprint", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`nope` is not a fingerprint"),
        "{}",
        stderr(&out)
    );
    let out = cdkrs(&["execute", "cdkrs-deploy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--fingerprint"), "{}", stderr(&out));
    let out = cdkrs(&[
        "execute",
        "1-bad_name",
        "--fingerprint",
        "0123456789ab-0123456789ab",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a change set name"));
}

#[test]
fn issue_11_rollback_refuses_orphan_together_with_force() {
    let out = cdkrs(&["rollback", "--orphan", "Vpc", "--force"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}

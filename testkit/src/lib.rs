//! Test-only helpers shared by the workspace's tests: the pinned Python tools that
//! `scripts/test` installs into `.venv`, the committed template snapshots, the provider binary
//! ([`provider_binary`]) and, behind features, a fake Databricks server (`databricks`:
//! [`databricks::FakeDatabricks`]) and moto with custom resources run by the real provider
//! (`moto`: [`moto::MotoServer`]). [`iam`] holds the IAM oracles: a template resolver, policy
//! extraction, a policy evaluator and AWS's ARN formats.

mod base64;
#[cfg(feature = "databricks")]
pub mod databricks;
pub mod iam;
#[cfg(all(feature = "moto", feature = "databricks"))]
pub mod local_cloud;
#[cfg(feature = "moto")]
pub mod moto;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives inside the workspace")
        .to_path_buf()
}

/// A tool of the venv (`CDKRS_VENV`, else `<workspace>/.venv`). A missing tool fails the test
/// with the fix: the gates must run, never be skipped.
pub fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("CDKRS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv"));
    let bin = venv.join("bin").join(name);
    assert!(
        bin.exists(),
        "{name} not found at {}: run scripts/test, which creates the venv with the pinned tools",
        bin.display()
    );
    bin
}

/// The provider Lambda's `bootstrap` binary (debug profile) in the workspace's target directory:
/// `$CARGO_TARGET_DIR`, else the directory this test binary was built into, else `target/`.
/// Tests do not build it: `cargo test` builds no binary of another package.
///
/// # Panics
/// When it is missing, with the command that builds it.
pub fn provider_binary() -> PathBuf {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(dir).join("debug"));
    }
    // A test binary lives in `<target>/debug/deps/`.
    if let Some(profile) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
    {
        dirs.push(profile);
    }
    dirs.push(workspace_root().join("target").join("debug"));
    let candidates: Vec<PathBuf> = dirs.iter().map(|d| d.join("bootstrap")).collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the provider binary is not built (looked at {}): run `cargo build -p databricks-provider --bin bootstrap` first",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// What a tool printed and how it exited.
#[derive(Debug)]
pub struct ToolRun {
    /// Exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// Stdout.
    pub stdout: String,
    /// Stderr.
    pub stderr: String,
}

/// Runs a venv tool with arguments.
pub fn run_tool(name: &str, args: &[&str]) -> ToolRun {
    let out = Command::new(venv_tool(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} runs: {e}"));
    ToolRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// cfn-lint over template files, machine-readable: exit code 0 means no finding at all.
pub fn cfn_lint(files: &[PathBuf]) -> ToolRun {
    let mut args = vec!["--format", "parseable"];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    run_tool("cfn-lint", &args)
}

/// checkov over template files, offline (`--skip-download`: no traffic leaves the machine),
/// JSON output.
pub fn checkov(files: &[PathBuf]) -> ToolRun {
    let mut args = vec![
        "--framework",
        "cloudformation",
        "--skip-download",
        "--quiet",
        "--compact",
        "-o",
        "json",
    ];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    for n in &names {
        args.push("-f");
        args.push(n);
    }
    run_tool("checkov", &args)
}

/// Every committed snapshot (`snapshots/*.snap`) as `(name, template JSON)`, sorted by name.
pub fn snapshot_templates() -> Vec<(String, serde_json::Value)> {
    let dir = workspace_root().join("snapshots");
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("snap") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable snapshot");
        // insta's format: a `---` header block, then the snapshot body.
        let body = text.splitn(3, "---\n").nth(2).unwrap_or_default();
        let json = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{} holds no JSON template: {e}", path.display()));
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        out.push((name, json));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Writes templates to `dir` as `<name>.template.json` and returns the paths.
pub fn write_templates(dir: &Path, templates: &[(String, serde_json::Value)]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("a scratch directory");
    templates
        .iter()
        .map(|(name, json)| {
            let path = dir.join(format!("{name}.template.json"));
            let text = serde_json::to_string_pretty(json).expect("JSON serializes");
            std::fs::write(&path, text).expect("write a template");
            path
        })
        .collect()
}

//! The CLI's entry points: version, help, usage errors.

use std::process::Command;

fn cdkrs(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cdkrs"))
        .args(args)
        .output()
        .expect("the cdkrs binary runs")
}

#[test]
fn version_prints_the_package_version() {
    let out = cdkrs(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("cdkrs {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_commands() {
    let out = cdkrs(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage: cdkrs"), "{text}");
    assert!(text.contains("types"), "{text}");
}

#[test]
fn no_command_is_a_usage_error_with_help() {
    let out = cdkrs(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: cdkrs"));
}

#[test]
fn unknown_command_is_a_usage_error() {
    let out = cdkrs(&["deploy-everything"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"));
}

#[test]
fn types_lists_every_generated_resource_type() {
    let out = cdkrs(&["types"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for t in [
        "AWS::EC2::VPC",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::IAM::Role",
    ] {
        assert!(text.lines().any(|l| l == t), "{t} missing from:\n{text}");
    }
}

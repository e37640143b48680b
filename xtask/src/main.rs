//! Repository tasks.
//!
//! `cargo run -p xtask -- codegen [--check] [--schemas DIR]` writes `constructs/src/generated/`
//! from the CloudFormation registry schemas that the pinned cfn-lint ships as data (JSON files in
//! `cfnlint/data/schemas/resources`, indexed per region by `providers/<region>.py`). `--check`
//! writes nothing and fails when the committed code differs from what the schemas give.

mod codegen;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: cargo run -p xtask -- codegen [--check] [--schemas DIR]";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let Some(task) = args.next() else {
        bail!("{USAGE}");
    };
    if task != "codegen" {
        bail!("unknown task `{task}`; {USAGE}");
    }
    let mut check = false;
    let mut schemas: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--check" => check = true,
            "--schemas" => {
                schemas = Some(PathBuf::from(
                    args.next().context("--schemas needs a directory")?,
                ))
            }
            other => bail!("unknown argument `{other}`; {USAGE}"),
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask lives inside the workspace")?
        .to_path_buf();
    let source = match schemas {
        Some(dir) => codegen::SchemaSource::from_dir(dir)?,
        None => codegen::SchemaSource::discover(&root)?,
    };
    let files = codegen::generate(&source)?;
    let out_dir = root.join("constructs/src/generated");
    if check {
        let stale = codegen::stale_files(&out_dir, &files)?;
        if stale.is_empty() {
            println!(
                "generated code is up to date ({} files, cfn-lint {})",
                files.len(),
                source.version
            );
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!(
                "generated code is stale: {}\nrun `cargo run -p xtask -- codegen` and commit the result",
                stale.join(", ")
            );
            Ok(ExitCode::FAILURE)
        }
    } else {
        codegen::write(&out_dir, &files)?;
        println!(
            "wrote {} files to {} (cfn-lint {})",
            files.len(),
            out_dir.display(),
            source.version
        );
        Ok(ExitCode::SUCCESS)
    }
}

//! The commands. Each is a module with its `Args` and a `run`; the doc comments of [`Command`]
//! are the help text.

mod schema;
mod synth;
mod types;
mod validate;

use std::path::PathBuf;

use anyhow::Context;
use cdkrs_stacks::config::Config;
use clap::{Args, Parser, Subcommand};

/// Synthesize and deploy AWS CloudFormation templates from typed Rust constructs.
#[derive(Debug, Parser)]
#[command(name = "cdkrs", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthesize the environment's CloudFormation template and manifest.
    Synth(synth::Args),
    /// Check a config file without synthesizing.
    Validate(validate::Args),
    /// Print the JSON Schema of the config file.
    Schema,
    /// List the CloudFormation resource types cdkrs has typed L1 structs for.
    Types,
}

/// How a command failed: invalid input (every problem listed, exit 1) or anything else.
pub enum Failure {
    /// The config or the template is invalid; the text lists every problem.
    Invalid(String),
    /// Another error (I/O, …), printed with its chain.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

/// The `--config` option shared by the commands that read a config.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The environment config (YAML). Default: the embedded example (examples/databricks.yaml).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The default config, embedded so `cdkrs synth` works with no file.
pub const DEFAULT_CONFIG: &str = include_str!("../../examples/databricks.yaml");

impl ConfigArg {
    /// Reads and validates the config: every problem is reported at once.
    pub fn load(&self) -> Result<Config, Failure> {
        let (name, text) = match &self.config {
            Some(path) => (
                path.display().to_string(),
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading config {}", path.display()))?,
            ),
            None => (
                "(embedded default config)".to_owned(),
                DEFAULT_CONFIG.to_owned(),
            ),
        };
        cdkrs_stacks::load::load(&text)
            .map_err(|errors| Failure::Invalid(format!("{name}: {errors}")))
    }
}

/// Runs the command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Synth(args) => synth::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Schema => schema::run(),
        Command::Types => types::run(),
    }
}

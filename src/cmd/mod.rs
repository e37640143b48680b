//! The commands. Each is a module with its `Args` and a `run`; the doc comments of [`Command`]
//! are the help text.

mod bootstrap;
mod context;
mod deploy;
mod destroy;
mod diff;
mod execute;
mod rollback;
mod schema;
mod sleep;
mod status;
pub mod stdout;
mod synth;
mod types;
mod validate;

use std::path::PathBuf;

use anyhow::Context;
use cdkrs_constructs::{Stack, Template};
use cdkrs_stacks::Environment;
use clap::{Args, Parser, Subcommand};

/// Synthesize and deploy AWS CloudFormation templates from typed Rust constructs.
#[derive(Debug, Parser)]
#[command(name = "cdkrs", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// On failure, also print the AWS SDK's full report of the error (by default: one line
    /// saying what is missing and how to fix it).
    #[arg(long, short = 'v', global = true)]
    verbose: bool,
}

impl Cli {
    /// `-v`/`--verbose`.
    pub fn verbose(&self) -> bool {
        self.verbose
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthesize the environment's CloudFormation template and manifest.
    Synth(synth::Args),
    /// Deploy the cdkrs-bootstrap stack: the assets bucket and its key (once per account and
    /// region).
    Bootstrap(bootstrap::Args),
    /// Deploy the environment through a change set: review, approve, execute, watch.
    Deploy(deploy::Args),
    /// Show what a deploy would change, against the deployed stack or a template on disk.
    /// Exit code 0: no differences; 1: differences; 2: the diff could not be made.
    Diff(diff::Args),
    /// Delete the environment's stack (data buckets and keys are retained).
    Destroy(destroy::Args),
    /// Execute exactly the change set a `deploy --no-execute` showed, after checking its
    /// fingerprint: refuses when the change set was replaced or the stack changed since.
    Execute(execute::Args),
    /// Roll back a stack a failed `deploy --no-rollback` left paused, or continue a failed
    /// rollback (UPDATE_ROLLBACK_FAILED), skipping resources with --orphan.
    Rollback(rollback::Args),
    /// Put the network to sleep: remove the NAT gateway and the interface endpoints.
    Sleep(sleep::Args),
    /// Wake the network: recreate the NAT gateway and the interface endpoints.
    Wake(sleep::Args),
    /// Show the deployed stacks: status, parameters and outputs.
    Status(status::Args),
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
    /// Another error (I/O, AWS, …), printed with its chain.
    Other(anyhow::Error),
    /// `diff` found differences (exit 1; the diff is already printed).
    Differs,
    /// `diff` could not compare (exit 2, as diff(1) does).
    Trouble(anyhow::Error),
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
    /// Reads and validates the config into the environment it describes: every problem is
    /// reported at once.
    pub fn load(&self) -> Result<Environment, Failure> {
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

/// `--output`: text for people, JSON for scripts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Prints a command's result on stdout in the chosen format.
pub fn print_result<T: std::fmt::Display + serde::Serialize>(
    format: OutputFormat,
    result: &T,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Text => stdout::print(&result.to_string()),
        OutputFormat::Json => stdout::println(
            &serde_json::to_string_pretty(result).context("serializing the result")?,
        ),
    }
}

/// Runs an async command on a single-threaded runtime (the engine waits on the network, one
/// call at a time).
pub fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok(runtime.block_on(future))
}

/// Synthesizes a stack as built: a construct error or any synth problem is invalid input
/// (every problem listed).
pub fn synthesize<E: std::fmt::Display>(
    built: Result<Stack, E>,
) -> Result<(Stack, Template), Failure> {
    let stack = built.map_err(|e| Failure::Invalid(format!("{e}\n")))?;
    let template = stack
        .synth()
        .map_err(|errors| Failure::Invalid(errors.to_string()))?;
    Ok((stack, template))
}

/// Runs the command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Synth(args) => synth::run(args),
        Command::Bootstrap(args) => bootstrap::run(args),
        Command::Deploy(args) => deploy::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Destroy(args) => destroy::run(args),
        Command::Execute(args) => execute::run(args),
        Command::Rollback(args) => rollback::run(args),
        Command::Sleep(args) => sleep::run(args, true),
        Command::Wake(args) => sleep::run(args, false),
        Command::Status(args) => status::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Schema => schema::run(),
        Command::Types => types::run(),
    }
}

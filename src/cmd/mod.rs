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
        match &self.config {
            Some(path) => load_config(path),
            None => load_text("(embedded default config)", DEFAULT_CONFIG),
        }
    }
}

/// The `--config` option of `cdkrs synth`: one environment or several, synthesized in one
/// process.
#[derive(Debug, Args)]
pub struct ConfigsArg {
    /// Environment configs (YAML), repeatable (`-c a.yaml -c b.yaml`); a directory stands for
    /// its `.yaml` and `.yml` files, in name order. Default: the embedded example
    /// (examples/databricks.yaml).
    #[arg(long = "config", short = 'c', value_name = "FILE|DIR")]
    configs: Vec<PathBuf>,
}

impl ConfigsArg {
    /// Reads and validates every config: every problem of every config is reported at once,
    /// and two configs that make the same stack are refused, naming both.
    pub fn load_all(&self) -> Result<Vec<Environment>, Failure> {
        if self.configs.is_empty() {
            return Ok(vec![load_text(
                "(embedded default config)",
                DEFAULT_CONFIG,
            )?]);
        }
        let mut files = Vec::new();
        for path in &self.configs {
            if path.is_dir() {
                let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                    .with_context(|| format!("reading config directory {}", path.display()))?
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml")
                    })
                    .collect();
                if found.is_empty() {
                    return Err(Failure::Invalid(format!(
                        "{}: the directory holds no config (.yaml or .yml file)\n",
                        path.display()
                    )));
                }
                found.sort();
                files.extend(found);
            } else {
                files.push(path.clone());
            }
        }
        let mut envs: Vec<(PathBuf, Environment)> = Vec::new();
        let mut problems = String::new();
        let loaded = parallel_map(&files, |file| load_config(file));
        for (file, result) in files.into_iter().zip(loaded) {
            match result {
                Ok(env) => envs.push((file, env)),
                Err(Failure::Invalid(text)) => problems.push_str(&text),
                Err(other) => return Err(other),
            }
        }
        // The first config of each stack name (a map: hundreds of configs stay cheap).
        let mut first: std::collections::BTreeMap<String, &PathBuf> = Default::default();
        for (file, env) in &envs {
            if let Some(earlier) = first.get(&env.stack_name()) {
                problems.push_str(&format!(
                    "{} and {} both make stack `{}`: give them different prefixes\n",
                    earlier.display(),
                    file.display(),
                    env.stack_name()
                ));
            } else {
                first.insert(env.stack_name(), file);
            }
        }
        if !problems.is_empty() {
            return Err(Failure::Invalid(problems));
        }
        Ok(envs.into_iter().map(|(_, env)| env).collect())
    }
}

/// `f` of every item, in the items' order, on as many threads as the machine has cores (synth
/// is pure: environments are independent). A panic in `f` is a bug and is raised again here.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Reads and validates the config file at `path`.
fn load_config(path: &std::path::Path) -> Result<Environment, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    load_text(&path.display().to_string(), &text)
}

/// Validates the config `text` (read from `name`): every problem, each under the name.
fn load_text(name: &str, text: &str) -> Result<Environment, Failure> {
    cdkrs_stacks::load::load(text).map_err(|errors| Failure::Invalid(format!("{name}: {errors}")))
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

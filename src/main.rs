//! `cdkrs`: synthesize and deploy AWS CloudFormation templates from typed Rust constructs.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Synthesize and deploy AWS CloudFormation templates from typed Rust constructs.
#[derive(Debug, Parser)]
#[command(name = "cdkrs", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The commands. Their doc comments are the help text.
#[derive(Debug, Subcommand)]
enum Command {
    /// List the CloudFormation resource types cdkrs has typed L1 structs for.
    Types,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            // Help goes to stdout; a missing command is a usage error.
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
        Some(Command::Types) => {
            for meta in cdkrs_constructs::generated::ALL_META {
                println!("{}", meta.type_name);
            }
            ExitCode::SUCCESS
        }
    }
}

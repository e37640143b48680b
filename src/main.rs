//! `cdkrs`: synthesize and deploy AWS CloudFormation templates from typed Rust constructs.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

use cmd::{Cli, Failure};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(report)) => {
            // Every problem, in plain words with the fix, on stderr.
            eprint!("{report}");
            ExitCode::from(1)
        }
        Err(Failure::Differs) => ExitCode::from(1),
        Err(Failure::Trouble(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
        Err(Failure::Other(err)) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

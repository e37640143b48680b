//! `cdkrs`: synthesize and deploy AWS CloudFormation templates from typed Rust constructs.
//!
//! Exit codes: 0 success; 1 invalid input, a failed command, or `diff` found differences; 2 a
//! `diff` that could not compare, or a usage error (clap). A closed stdout (`| head`) is not a
//! failure: the command ends quietly with its own code ([`cmd::stdout`]); a full disk is exit 1
//! with one line naming the file or stdout.

mod cmd;

use std::process::ExitCode;

use cdkrs::aws::errors::AwsError;
use clap::Parser;

use cmd::{Cli, Failure};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = cli.verbose();
    let (err, code) = match cmd::run(cli) {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::Invalid(report)) => {
            // Every problem, in plain words with the fix, on stderr.
            eprint!("{report}");
            return ExitCode::from(1);
        }
        Err(Failure::Differs) => return ExitCode::from(1),
        Err(Failure::Trouble(err)) => (err, 2),
        Err(Failure::Other(err)) => (err, 1),
    };
    // The chain once, on one line; the SDK's whole report only when asked for.
    eprintln!("error: {err:#}");
    if verbose {
        for aws in err.chain().filter_map(|e| e.downcast_ref::<AwsError>()) {
            eprintln!("detail: {}", aws.detail());
        }
    }
    ExitCode::from(code)
}

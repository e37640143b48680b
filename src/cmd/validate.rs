//! `cdkrs validate`: checks a config (every rule) without synthesizing.

use super::{stdout, ConfigArg, Failure};

/// Arguments of `cdkrs validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let config = args.config.load()?;
    stdout::println(&format!(
        "config is valid: stack {} in {}",
        config.stack_name(),
        config.region().name
    ))?;
    Ok(())
}

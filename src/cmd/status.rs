//! `cdkrs status`: the environment's and the bootstrap stack's state, parameters and outputs.

use cdkrs::aws::AwsArgs;
use cdkrs::engine::api::CloudFormation;
use cdkrs::engine::ops::StackStatus;

use super::context::Context;
use super::{block_on, print_result, ConfigArg, Failure, OutputFormat};

/// Arguments of `cdkrs status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    aws: AwsArgs,
    /// Result format on stdout.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

/// Both stacks.
#[derive(Debug, serde::Serialize)]
struct Status {
    stacks: Vec<StackStatus>,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for s in &self.stacks {
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

pub fn run(args: Args) -> Result<(), Failure> {
    block_on(async {
        let ctx = Context::new(&args.config, &args.aws).await?;
        let mut stacks = Vec::new();
        for name in [
            ctx.config.stack_name(),
            cdkrs_stacks::bootstrap::STACK_NAME.to_owned(),
        ] {
            let deployed = ctx.clients.describe_stack(&name).await?;
            stacks.push(StackStatus {
                stack: name,
                deployed,
            });
        }
        print_result(args.output, &Status { stacks })?;
        Ok::<(), Failure>(())
    })?
}

//! `cdkrs destroy`: delete the environment's stack; data buckets and keys stay (their deletion
//! policy), and are listed first.

use cdkrs::aws::AwsArgs;
use cdkrs::engine::ui::TerminalUi;
use cdkrs::engine::Backoff;

use super::context::{Context, RoleArg};
use super::{block_on, print_result, ConfigArg, Failure, OutputFormat};

/// Arguments of `cdkrs destroy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    aws: AwsArgs,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Result format on stdout.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
    #[command(flatten)]
    role: RoleArg,
}

pub fn run(args: Args) -> Result<(), Failure> {
    block_on(async {
        let ctx = Context::new(&args.config, &args.aws).await?;
        let stack = ctx.config.stack_name();
        let role = ctx.role_arn(&args.role)?;
        let mut ui = TerminalUi::default();
        let result = ctx
            .engine(&mut ui)
            .destroy(&stack, args.yes, Backoff::default(), role.as_deref())
            .await;
        ctx.report_calls();
        print_result(args.output, &result?)?;
        Ok::<(), Failure>(())
    })?
}

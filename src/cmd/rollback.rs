//! `cdkrs rollback`: return a paused or failed-rollback stack to its last stable state.

use cdkrs::aws::AwsArgs;
use cdkrs::engine::rollback::RollbackOptions;
use cdkrs::engine::ui::TerminalUi;

use super::context::{Context, RoleArg};
use super::{block_on, print_result, ConfigArg, Failure, OutputFormat};

/// Arguments of `cdkrs rollback`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    aws: AwsArgs,
    /// A resource whose rollback failed to skip (orphan) when continuing a failed rollback
    /// (UPDATE_ROLLBACK_FAILED); repeatable. Its real state may then differ from the template.
    #[arg(long, value_name = "LOGICAL_ID")]
    orphan: Vec<String>,
    /// Skip every resource whose rollback failed (instead of naming them with --orphan).
    #[arg(long, conflicts_with = "orphan")]
    force: bool,
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
        let opts = RollbackOptions {
            orphan: args.orphan.clone(),
            force: args.force,
            role_arn: ctx.role_arn(&args.role)?,
            ..Default::default()
        };
        let mut ui = TerminalUi::default();
        let result = ctx.engine(&mut ui).rollback(&stack, &opts).await;
        ctx.report_calls();
        print_result(args.output, &result?)?;
        Ok::<(), Failure>(())
    })?
}

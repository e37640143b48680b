//! `cdkrs sleep` / `cdkrs wake`: flip the network-sleep parameter with the deployed template.

use cdkrs::aws::AwsArgs;
use cdkrs::engine::ui::TerminalUi;
use cdkrs::engine::Backoff;
use cdkrs_stacks::environment::parameters::NETWORK_ASLEEP;

use super::context::{Context, RoleArg};
use super::{block_on, print_result, ConfigArg, Failure, OutputFormat};

/// Arguments of `cdkrs sleep` and `cdkrs wake`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    aws: AwsArgs,
    /// Result format on stdout.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
    #[command(flatten)]
    role: RoleArg,
}

pub fn run(args: Args, asleep: bool) -> Result<(), Failure> {
    block_on(async {
        let ctx = Context::new(&args.config, &args.aws).await?;
        let stack = ctx.config.stack_name();
        let role = ctx.role_arn(&args.role)?;
        let mut ui = TerminalUi::default();
        let (value, change_set) = if asleep {
            ("true", "cdkrs-sleep")
        } else {
            ("false", "cdkrs-wake")
        };
        let result = ctx
            .engine(&mut ui)
            .set_parameter(
                &stack,
                NETWORK_ASLEEP,
                value,
                change_set,
                Backoff::default(),
                role.as_deref(),
            )
            .await;
        ctx.report_calls();
        print_result(args.output, &result?)?;
        Ok::<(), Failure>(())
    })?
}

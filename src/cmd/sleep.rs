//! `cdkrs sleep` / `cdkrs wake`: set the parameter the environment's deployment says the command
//! sets (the network-sleep switch), with the deployed template.

use anyhow::anyhow;
use cdkrs::aws::AwsArgs;
use cdkrs::engine::ui::TerminalUi;
use cdkrs::engine::Backoff;
use cdkrs_stacks::environment::{self, deployment::SLEEP, deployment::WAKE};

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
        let declared = environment::deployment(&ctx.config);
        let command = if asleep { SLEEP } else { WAKE };
        let (parameter, value) = declared.set_by(command).ok_or_else(|| {
            anyhow!(
                "stack {} declares no parameter that `{command}` sets",
                declared.stack_name
            )
        })?;
        let role = ctx.role_arn(&args.role)?;
        let mut ui = TerminalUi::default();
        let result = ctx
            .engine(&mut ui)
            .set_parameter(
                &declared.stack_name,
                parameter,
                value,
                &format!("cdkrs-{command}"),
                Backoff::default(),
                role.as_deref(),
            )
            .await;
        ctx.report_calls();
        print_result(args.output, &result?)?;
        Ok::<(), Failure>(())
    })?
}

//! `cdkrs execute`: run exactly the change set `cdkrs deploy --no-execute` showed.

use cdkrs::aws::AwsArgs;
use cdkrs::engine::execute::Fingerprint;
use cdkrs::engine::ui::TerminalUi;
use cdkrs::engine::DeployOptions;
use cdkrs_stacks::environment;

use super::context::Context;
use super::deploy::change_set_name;
use super::{block_on, print_result, ConfigArg, Failure, OutputFormat};

/// Arguments of `cdkrs execute`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The change set's name, as `deploy --no-execute` printed it.
    #[arg(value_name = "CHANGE_SET", value_parser = change_set_name)]
    change_set: String,
    /// The fingerprint `deploy --no-execute` printed: proves the change set is the one reviewed
    /// and the stack has not changed since.
    #[arg(long, value_name = "FINGERPRINT", value_parser = Fingerprint::parse)]
    fingerprint: Fingerprint,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    aws: AwsArgs,
    /// On failure, pause the stack (CREATE_FAILED / UPDATE_FAILED) with what was provisioned
    /// instead of rolling back (then `cdkrs rollback`, or deploy with --no-rollback again).
    #[arg(long)]
    no_rollback: bool,
    /// Result format on stdout.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

pub fn run(args: Args) -> Result<(), Failure> {
    block_on(async {
        let ctx = Context::new(&args.config, &args.aws).await?;
        let stack = ctx.config.stack_name();
        let opts = DeployOptions {
            change_set_name: args.change_set.clone(),
            rollback: !args.no_rollback,
            ..Default::default()
        };
        let mut ui = TerminalUi::default();
        let result = ctx
            .engine(&mut ui)
            .execute_reviewed(
                &stack,
                &args.change_set,
                &args.fingerprint,
                &opts,
                environment::deployment(&ctx.config).termination_protection,
            )
            .await;
        ctx.report_calls();
        print_result(args.output, &result?)?;
        Ok::<(), Failure>(())
    })?
}

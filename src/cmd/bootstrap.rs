//! `cdkrs bootstrap`: the assets bucket and its key, deployed like any stack (idempotent).

use cdkrs::aws::AwsArgs;
use cdkrs::engine::ui::TerminalUi;
use cdkrs::engine::{Approval, DeployOptions};
use cdkrs_stacks::bootstrap;

use super::context::{Context, RoleArg};
use super::deploy::stack_deployment;
use super::{block_on, print_result, synthesize, ConfigArg, Failure, OutputFormat};

/// Arguments of `cdkrs bootstrap`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config whose region (and account) to bootstrap.
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    aws: AwsArgs,
    /// When to ask before executing the change set.
    #[arg(long, value_enum, default_value_t = Approval::Never)]
    require_approval: Approval,
    /// Result format on stdout.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
    #[command(flatten)]
    role: RoleArg,
}

pub fn run(args: Args) -> Result<(), Failure> {
    block_on(async {
        let ctx = Context::new(&args.config, &args.aws).await?;
        let (stack, template) = synthesize(bootstrap::build())?;
        let plan = cdkrs::engine::StackDeployment {
            tags: ctx.config.tags().clone(),
            ..stack_deployment(
                &bootstrap::deployment(),
                (&stack, &template),
                Default::default(),
            )?
        };
        let opts = DeployOptions {
            change_set_name: "cdkrs-bootstrap".into(),
            approval: args.require_approval,
            role_arn: ctx.role_arn(&args.role)?,
            ..Default::default()
        };
        let mut ui = TerminalUi::default();
        let result = ctx.engine(&mut ui).deploy(&plan, &opts).await;
        ctx.report_calls();
        print_result(args.output, &result?)?;
        Ok::<(), Failure>(())
    })?
}

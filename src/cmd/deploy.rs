//! `cdkrs deploy`: synth, publish the provider zip, change set, review, execute, watch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use cdkrs::aws::AwsArgs;
use cdkrs::engine::deploy::{Asset, Desired};
use cdkrs::engine::ui::TerminalUi;
use cdkrs::engine::{Approval, DeployOptions, Outcome, StackDeployment};
use cdkrs_stacks::environment::{self, parameters};
use cdkrs_stacks::Environment;
use sha2::{Digest, Sha256};

use super::context::Context;
use super::{block_on, print_result, synthesize, ConfigArg, Failure, OutputFormat};

/// Where `scripts/build-provider` leaves the provider zip.
pub const DEFAULT_PROVIDER_ZIP: &str = "target/lambda/bootstrap/bootstrap.zip";

/// Arguments of `cdkrs deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    aws: AwsArgs,
    /// When to ask before executing the change set: never, when security broadens (IAM, key and
    /// bucket policies, security groups), or for any change.
    #[arg(long, value_enum, default_value_t = Approval::Broadening)]
    require_approval: Approval,
    /// Create the change set and show it, but do not execute it; prints its name and the
    /// fingerprint `cdkrs execute` needs to run exactly that change set later.
    #[arg(long)]
    no_execute: bool,
    /// On failure, pause the stack (CREATE_FAILED / UPDATE_FAILED) with what was provisioned
    /// instead of rolling back: fix the cause and deploy with --no-rollback again, or run
    /// `cdkrs rollback`.
    #[arg(long)]
    no_rollback: bool,
    /// The change set's name (an earlier change set of this name is replaced).
    #[arg(long, value_name = "NAME", default_value = "cdkrs-deploy", value_parser = change_set_name)]
    change_set_name: String,
    /// The provider Lambda zip. Default: target/lambda/bootstrap/bootstrap.zip, built by
    /// scripts/build-provider when it is missing and the script is at hand.
    #[arg(long, value_name = "FILE", env = "CDKRS_PROVIDER_ZIP")]
    provider_zip: Option<PathBuf>,
    /// Result format on stdout.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

/// Change set names: a letter, then letters, digits and hyphens, at most 128 characters.
pub fn change_set_name(s: &str) -> Result<String, String> {
    let ok = s.len() <= 128
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` is not a change set name: start with a letter, then use letters, digits and \
             hyphens (at most 128)"
        ))
    }
}

/// The provider zip's bytes: the given file, or the default one (built when missing and
/// `scripts/build-provider` is in the working directory).
pub fn provider_zip(path: Option<&Path>) -> anyhow::Result<(PathBuf, Vec<u8>)> {
    let path = match path {
        Some(p) => p.to_owned(),
        None => {
            let p = PathBuf::from(DEFAULT_PROVIDER_ZIP);
            let script = Path::new("scripts/build-provider");
            if !p.exists() && script.exists() {
                eprintln!("the provider zip is missing: building it with scripts/build-provider");
                let status = std::process::Command::new(script)
                    .status()
                    .context("running scripts/build-provider")?;
                if !status.success() {
                    bail!("scripts/build-provider failed ({status}): see its output above");
                }
            }
            p
        }
    };
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "reading the provider zip {}: build it with scripts/build-provider (in the cdkrs \
             source tree) or pass --provider-zip FILE",
            path.display()
        )
    })?;
    Ok((path, bytes))
}

/// The provider zip's S3 key: its SHA-256, so a changed zip is a new key and an unchanged one is
/// never uploaded twice (and `diff` can tell whether the deployed code is this one).
pub fn provider_asset_key(zip: &[u8]) -> String {
    format!("assets/databricks-provider-{:x}.zip", Sha256::digest(zip))
}

/// The environment as a deployment: its template, the provider asset and the parameters.
pub fn environment_plan(config: &Environment, zip: Vec<u8>) -> Result<StackDeployment, Failure> {
    let (stack, template) = synthesize(environment::build(config))?;
    Ok(StackDeployment {
        parameters: BTreeMap::from([(
            parameters::NETWORK_ASLEEP.to_owned(),
            Desired::KeepDeployed(config.network_asleep().to_string()),
        )]),
        assets: vec![Asset {
            id: "DatabricksProvider".into(),
            key: provider_asset_key(&zip),
            bytes: zip,
            bucket_parameter: parameters::PROVIDER_CODE_BUCKET.into(),
            key_parameter: parameters::PROVIDER_CODE_KEY.into(),
        }],
        expected_account: config.aws_account_id().map(str::to_owned),
        ..StackDeployment::new(stack.name(), &template)
    })
}

pub fn run(args: Args) -> Result<(), Failure> {
    block_on(async {
        let ctx = Context::new(&args.config, &args.aws).await?;
        let (_, zip) = provider_zip(args.provider_zip.as_deref())?;
        let plan = environment_plan(&ctx.config, zip)?;
        let opts = DeployOptions {
            change_set_name: args.change_set_name.clone(),
            approval: args.require_approval,
            execute: !args.no_execute,
            rollback: !args.no_rollback,
            ..Default::default()
        };
        let mut ui = TerminalUi::default();
        let result = ctx.engine(&mut ui).deploy(&plan, &opts).await;
        ctx.report_calls();
        let report = result?;
        print_result(args.output, &report)?;
        if report.outcome == Outcome::Declined {
            // Scripts must see that nothing was deployed.
            return Err(Failure::Other(anyhow::anyhow!(
                "deploy declined: the change set was deleted and nothing changed"
            )));
        }
        Ok::<(), Failure>(())
    })?
}

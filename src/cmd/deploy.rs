//! `cdkrs deploy`: synth, publish the provider zip, change set, review, execute, watch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use cdkrs::aws::AwsArgs;
use cdkrs::engine::deploy::{Asset, INLINE_TEMPLATE_LIMIT};
use cdkrs::engine::ui::TerminalUi;
use cdkrs::engine::watch::OperationFailed;
use cdkrs::engine::{Approval, DeployOptions, Outcome, StackDeployment};
use cdkrs_constructs::deployment::{AssetSource, Deployment, FileAsset};
use cdkrs_constructs::{Stack, Template};
use cdkrs_stacks::environment::{self, deployment::PROVIDER_ASSET};
use cdkrs_stacks::Environment;

use super::context::{Context, RoleArg};
use super::{block_on, print_result, synthesize, ConfigArg, Failure, OutputFormat};

/// Arguments of `cdkrs deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    aws: AwsArgs,
    /// When to ask before executing the change set: never; when security broadens (IAM, key and
    /// bucket policies, security groups); when state is destroyed or orphaned (removal or
    /// replacement of a bucket, key, log group, the workspace, or any retained resource); risky
    /// (either of those, the default); or for any change.
    #[arg(long, value_enum, default_value_t)]
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
    #[command(flatten)]
    role: RoleArg,
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

/// The bytes of a declared asset: its bytes, or its file. `provider_zip` (`--provider-zip`)
/// replaces the provider zip's declared path; with `build_missing`, a missing declared file is
/// built first when its build command is in the working directory.
pub fn read_asset(
    asset: &FileAsset,
    provider_zip: Option<&Path>,
    build_missing: bool,
) -> anyhow::Result<Vec<u8>> {
    let (given, flag) = if asset.id == PROVIDER_ASSET {
        (provider_zip, Some("--provider-zip"))
    } else {
        (None, None)
    };
    let build = match &asset.source {
        AssetSource::File { build, .. } => build.as_deref(),
        AssetSource::Bytes(_) => None,
    };
    let path = match (given, &asset.source) {
        (Some(p), _) => p.to_owned(),
        (None, AssetSource::Bytes(bytes)) => return Ok(bytes.clone()),
        (None, AssetSource::File { path, .. }) => {
            let p = PathBuf::from(path);
            let script = build
                .map(Path::new)
                .filter(|s| build_missing && !p.exists() && s.exists());
            if let Some(script) = script {
                eprintln!(
                    "{}: {} is missing: building it with {}",
                    asset.id,
                    p.display(),
                    script.display()
                );
                let status = std::process::Command::new(script)
                    .status()
                    .with_context(|| format!("running {}", script.display()))?;
                if !status.success() {
                    bail!(
                        "{} failed ({status}): see its output above",
                        script.display()
                    );
                }
            }
            p
        }
    };
    let fix = [
        build.map(|script| format!("build it with {script} (in the cdkrs source tree)")),
        flag.map(|flag| format!("pass {flag} FILE")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" or ");
    std::fs::read(&path).with_context(|| {
        format!(
            "reading asset {} from {}{}{fix}",
            asset.id,
            path.display(),
            if fix.is_empty() { "" } else { ": " }
        )
    })
}

/// The bytes of every asset `declared` publishes (missing files built when they can be).
pub fn read_assets(
    declared: &Deployment,
    provider_zip: Option<&Path>,
) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    declared
        .assets
        .iter()
        .map(|a| Ok((a.id.clone(), read_asset(a, provider_zip, true)?)))
        .collect()
}

/// Checks a declared deployment against the stack it describes (its name and template): an
/// inconsistent one is invalid input, every problem listed.
pub fn check_declaration(
    declared: &Deployment,
    stack: &Stack,
    template: &Template,
) -> Result<(), Failure> {
    if declared.stack_name != stack.name() {
        return Err(Failure::Invalid(format!(
            "the deployment declared for stack `{}` names stack `{}`: declare it with the \
             stack's name\n",
            stack.name(),
            declared.stack_name
        )));
    }
    declared
        .validate(template.as_json())
        .map_err(|errors| Failure::Invalid(errors.to_string()))
}

/// A declared deployment as the engine deploys it: the declaration checked against the stack,
/// each asset keyed by the hash of its bytes.
pub fn stack_deployment(
    declared: &Deployment,
    (stack, template): (&Stack, &Template),
    mut bytes: BTreeMap<String, Vec<u8>>,
) -> Result<StackDeployment, Failure> {
    check_declaration(declared, stack, template)?;
    let assets = declared
        .assets
        .iter()
        .map(|a| {
            let bytes = bytes.remove(&a.id).with_context(|| {
                format!(
                    "stack {}: asset {} has no bytes to publish",
                    declared.stack_name, a.id
                )
            })?;
            Ok(Asset {
                id: a.id.clone(),
                key: a.key(&bytes),
                bytes,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let plan = StackDeployment {
        parameters: declared.parameters.clone(),
        assets,
        bootstrap: declared.bootstrap.clone(),
        termination_protection: declared.termination_protection,
        ..StackDeployment::new(&declared.stack_name, template)
    };
    if plan.bootstrap.is_none() && plan.template_body.len() > INLINE_TEMPLATE_LIMIT {
        return Err(Failure::Invalid(format!(
            "stack {}: the template is {} bytes, over CloudFormation's inline limit of \
             {INLINE_TEMPLATE_LIMIT}, and its deployment declares no bootstrap stack to upload it \
             to: declare one\n",
            plan.stack_name,
            plan.template_body.len()
        )));
    }
    Ok(plan)
}

/// The environment as a deployment: its template and its declared deployment with the provider
/// zip's bytes.
pub fn environment_plan(
    config: &Environment,
    provider_zip: Option<&Path>,
) -> Result<StackDeployment, Failure> {
    let declared = environment::deployment(config);
    let bytes = read_assets(&declared, provider_zip)?;
    let (stack, template) = synthesize(environment::build(config))?;
    Ok(StackDeployment {
        tags: config.tags().clone(),
        ..stack_deployment(&declared, (&stack, &template), bytes)?
    })
}

pub fn run(args: Args) -> Result<(), Failure> {
    block_on(async {
        // Local input first, without any AWS call: the config and the region it allows, then
        // the provider zip (which may be built).
        let config = args.config.load()?;
        args.aws.resolve_region(config.region().name)?;
        let plan = environment_plan(&config, args.provider_zip.as_deref())?;
        let ctx = Context::new(&args.config, &args.aws).await?;
        let opts = DeployOptions {
            change_set_name: args.change_set_name.clone(),
            approval: args.require_approval,
            execute: !args.no_execute,
            role_arn: ctx.role_arn(&args.role)?,
            rollback: !args.no_rollback,
            ..Default::default()
        };
        let mut ui = TerminalUi::default();
        let result = ctx.engine(&mut ui).deploy(&plan, &opts).await;
        ctx.report_calls();
        let report = match result {
            Ok(report) => report,
            Err(e) => {
                if args.output == OutputFormat::Json {
                    print_failure(&plan.stack_name, &e)?;
                }
                return Err(e.into());
            }
        };
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

/// A failed deploy under `--output json`: one document on stdout with the outcome `failed`, the
/// stack, its final status and the root cause when the stack operation ran (the error is on
/// stderr as always, and the exit code unchanged).
fn print_failure(stack: &str, err: &anyhow::Error) -> anyhow::Result<()> {
    let failed = err.downcast_ref::<OperationFailed>();
    let doc = serde_json::json!({
        "stack": stack,
        "outcome": "failed",
        "status": failed.map(|f| f.status.clone()),
        "root_cause": failed.and_then(|f| f.root_cause.clone()),
        "error": format!("{err:#}"),
    });
    super::stdout::println(&serde_json::to_string_pretty(&doc).context("serializing the failure")?)
}

#[cfg(test)]
mod tests {
    use cdkrs::engine::deploy::ParameterFill;
    use cdkrs_constructs::deployment::sha256_hex;
    use cdkrs_stacks::environment::parameters;

    use super::*;

    fn config() -> Environment {
        cdkrs_stacks::load::load(super::super::DEFAULT_CONFIG).expect("the embedded config")
    }

    fn invalid(result: Result<StackDeployment, Failure>) -> String {
        match result {
            Err(Failure::Invalid(text)) => text,
            Ok(_) => panic!("accepted"),
            Err(_) => panic!("failed, but not as invalid input"),
        }
    }

    #[test]
    fn the_environment_plan_is_its_declaration_with_the_zip_keyed_by_content() {
        let zip = std::env::temp_dir().join(format!("cdkrs-h3-plan-{}.zip", std::process::id()));
        std::fs::write(&zip, b"provider bytes").unwrap();
        let plan = environment_plan(&config(), Some(&zip));
        std::fs::remove_file(&zip).unwrap();
        let Ok(plan) = plan else {
            panic!("the plan of the default config")
        };
        let declared = environment::deployment(&config());
        assert_eq!(plan.stack_name, "cm-vpc-databricks");
        assert_eq!(plan.parameters, declared.parameters);
        assert_eq!(
            plan.parameters[parameters::NETWORK_ASLEEP],
            ParameterFill::KeepDeployed {
                on_create: "false".into(),
                set_by: BTreeMap::from([
                    ("sleep".into(), "true".into()),
                    ("wake".into(), "false".into())
                ]),
            }
        );
        assert_eq!(plan.bootstrap, declared.bootstrap);
        assert_eq!(plan.tags, *config().tags());
        assert!(plan.termination_protection);
        assert_eq!(plan.assets.len(), 1);
        assert_eq!(plan.assets[0].id, PROVIDER_ASSET);
        assert_eq!(plan.assets[0].bytes, b"provider bytes");
        // The key deployed stacks already carry, so an upgrade publishes nothing new.
        assert_eq!(
            plan.assets[0].key,
            format!(
                "assets/databricks-provider-{}.zip",
                sha256_hex(b"provider bytes")
            )
        );
    }

    #[test]
    fn a_declaration_that_does_not_fit_its_stack_is_invalid_input() {
        let config = config();
        let (stack, template) = synthesize(environment::build(&config)).ok().unwrap();
        let bytes = || BTreeMap::from([(PROVIDER_ASSET.to_owned(), b"zip".to_vec())]);

        let mut renamed = environment::deployment(&config);
        renamed.stack_name = "other".into();
        let text = invalid(stack_deployment(&renamed, (&stack, &template), bytes()));
        assert!(text.contains("names stack `other`"), "{text}");

        let mut typo = environment::deployment(&config);
        typo.parameters.insert(
            "NetworkAsleeep".into(),
            ParameterFill::keep_deployed("false"),
        );
        let text = invalid(stack_deployment(&typo, (&stack, &template), bytes()));
        assert!(text.contains("parameter `NetworkAsleeep`"), "{text}");

        let mut unbootstrapped = environment::deployment(&config);
        unbootstrapped.bootstrap = None;
        unbootstrapped.assets.clear();
        unbootstrapped.parameters.clear();
        let text = invalid(stack_deployment(
            &unbootstrapped,
            (&stack, &template),
            BTreeMap::new(),
        ));
        assert!(
            text.contains("over CloudFormation's inline limit of 51200")
                && text.contains("declares no bootstrap stack"),
            "{text}"
        );

        let declared = environment::deployment(&config);
        let err = match stack_deployment(&declared, (&stack, &template), BTreeMap::new()) {
            Err(Failure::Other(e)) => e.to_string(),
            _ => panic!("an asset without bytes was accepted"),
        };
        assert!(
            err.contains("asset DatabricksProvider has no bytes"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_provider_zip_names_the_file_the_build_script_and_the_flag() {
        let declared = environment::deployment(&config());
        let asset = declared.asset(PROVIDER_ASSET).unwrap();
        let err = read_asset(asset, Some(Path::new("nowhere/p.zip")), true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "reading asset DatabricksProvider from nowhere/p.zip: build it with \
             scripts/build-provider (in the cdkrs source tree) or pass --provider-zip FILE"
        );
    }

    /// The generic engine reads deployments, never the Databricks stacks: no file under
    /// src/engine/ names the stacks crate, nor does any other library file but the diff's test
    /// fixtures (src/diff/tests.rs diffs real environment templates). Only the CLI's commands
    /// (src/cmd/) turn the stacks' declarations into deployments.
    #[test]
    fn the_library_never_imports_the_stacks_crate() {
        let forbidden = concat!("cdkrs", "_stacks");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut pending = vec![src.clone()];
        let mut checked = 0;
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path.strip_prefix(&src).unwrap();
                let test_fixture = !rel.starts_with("engine") && rel.ends_with("tests.rs");
                if rel.starts_with("cmd") || rel == Path::new("main.rs") || test_fixture {
                    continue;
                }
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    assert!(
                        !text.contains(forbidden),
                        "{} names {forbidden}: the library must stay generic",
                        path.display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(
            Path::new(&src).join("engine/deploy.rs").exists() && checked >= 10,
            "{checked}"
        );
    }
}

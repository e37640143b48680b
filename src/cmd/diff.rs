//! `cdkrs diff`: the synthesized template against the deployed stack or a template on disk.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use cdkrs::aws::AwsArgs;
use cdkrs::diff::diff_templates;
use cdkrs::engine::api::CloudFormation;
use cdkrs_stacks::environment;
use serde_json::Value;

use super::context::Context;
use super::{block_on, stdout, synthesize, ConfigArg, Failure};

/// Output format of the diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text for a terminal (colored when stdout is one).
    Text,
    /// JSON: every change, machine-readable.
    Json,
    /// Markdown, ready to paste into a pull-request comment.
    Markdown,
}

/// Arguments of `cdkrs diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    aws: AwsArgs,
    /// What to compare with: `deployed` (the stack in AWS), a directory holding
    /// `<stack>.template.json` (a `cdkrs synth --out` directory), or a template file (JSON, or an
    /// insta snapshot such as snapshots/environment_default.snap from the base branch).
    #[arg(long, value_name = "deployed|PATH", default_value = "deployed")]
    against: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The provider zip, to compare its content-hashed key with the deployed one (optional).
    #[arg(long, value_name = "FILE", env = "CDKRS_PROVIDER_ZIP")]
    provider_zip: Option<PathBuf>,
}

/// Reads a template file: JSON, YAML, or an insta snapshot (a `---` header, then JSON).
pub fn read_template(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let body = match text.strip_prefix("---\n") {
        Some(rest) => rest.split_once("\n---\n").map_or(rest, |(_, body)| body),
        None => &text,
    };
    match serde_json::from_str(body) {
        Ok(v) => Ok(v),
        Err(json_err) => serde_yaml::from_str(body).map_err(|_| {
            anyhow::anyhow!(
                "{} is neither a JSON template ({json_err}) nor a YAML one",
                path.display()
            )
        }),
    }
}

fn template_in(path: &Path, stack: &str) -> anyhow::Result<Value> {
    if path.is_dir() {
        let file = path.join(format!("{stack}.template.json"));
        if !file.exists() {
            bail!(
                "{} has no {stack}.template.json: pass a `cdkrs synth --out` directory or a \
                 template file",
                path.display()
            );
        }
        read_template(&file)
    } else {
        read_template(path)
    }
}

/// Every failure to compare exits 2, so that 1 always means "different" (CI relies on it).
pub fn run(args: Args) -> Result<(), Failure> {
    compare(args).map_err(|f| match f {
        Failure::Other(e) => Failure::Trouble(e),
        Failure::Invalid(report) => Failure::Trouble(anyhow::anyhow!(report)),
        other => other,
    })
}

fn compare(args: Args) -> Result<(), Failure> {
    let config = args.config.load()?;
    let (stack, template) = synthesize(environment::build(&config))?;
    let name = stack.name().to_owned();
    let new = template.as_json();

    let diff = if args.against == "deployed" {
        block_on(async {
            let ctx = Context::new(&args.config, &args.aws).await?;
            let deployed = ctx.clients.describe_stack(&name).await?;
            // Deploy creates these from nothing (a stack under review has no template, a
            // rolled-back create is deleted first): the diff is against nothing too.
            let Some(deployed) = deployed
                .filter(|d| cdkrs::engine::watch::classify(Some(d)).compares_with_deployed())
            else {
                return Ok(diff_templates(None, new));
            };
            let old = ctx.clients.get_template(&name).await?;
            let old: Value = serde_json::from_str(&old).unwrap_or(Value::String(old));
            let mut diff = diff_templates(Some(&old), new);
            // Assets are parameters: compare their content-hashed keys when the files are at
            // hand, so a provider change is not reported as "no differences".
            let declared = environment::deployment(&config);
            let (mut old_keys, mut new_keys) = (BTreeMap::new(), BTreeMap::new());
            for asset in &declared.assets {
                let Some(parameter) = declared.asset_parameter(&asset.id, false) else {
                    continue;
                };
                let bytes = super::deploy::read_asset(asset, args.provider_zip.as_deref(), false);
                if let (Ok(bytes), Some(old_key)) = (bytes, deployed.parameters.get(parameter)) {
                    old_keys.insert(parameter.to_owned(), old_key.clone());
                    new_keys.insert(parameter.to_owned(), asset.key(&bytes));
                }
            }
            if !new_keys.is_empty() {
                diff = diff.with_parameter_values(&old_keys, &new_keys);
            }
            Ok::<_, Failure>(diff)
        })
        .map_err(Failure::Trouble)??
    } else {
        let old = template_in(Path::new(&args.against), &name).map_err(Failure::Trouble)?;
        diff_templates(Some(&old), new)
    };

    let text = match args.format {
        Format::Text => diff.render_text(&name, std::io::stdout().is_terminal()),
        Format::Markdown => diff.render_markdown(&name),
        Format::Json => serde_json::to_string_pretty(&diff)
            .context("serializing the diff")
            .map_err(Failure::Trouble)?,
    };
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    // A full disk is trouble (exit 2: 1 always means "different").
    stdout::print(&format!("{text}{newline}")).map_err(Failure::Trouble)?;
    if diff.is_empty() {
        Ok(())
    } else {
        Err(Failure::Differs)
    }
}

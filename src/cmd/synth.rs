//! `cdkrs synth`: the environments' templates and one manifest (stacks, their declared
//! deployment, the assets as built). Several configs (`-c a.yaml -c b.yaml`, or a directory)
//! synthesize in one process, into one assembly; an asset the stacks share is read and hashed
//! once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use cdkrs_constructs::deployment::{sha256_hex, AssetSource, Deployment, ParameterFill};
use cdkrs_stacks::environment;
use serde::Serialize;

use super::deploy::{check_declaration, read_asset};
use super::{parallel_map, stdout, synthesize, ConfigsArg, Failure};

/// Template file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Pretty JSON.
    Json,
    /// YAML with long-form intrinsics.
    Yaml,
}

/// Arguments of `cdkrs synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigsArg,
    /// Directory for the template and the manifest.
    #[arg(long, value_name = "DIR", default_value = "cdk.out")]
    out: PathBuf,
    /// Template format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Print the template to stdout instead of writing files (one config only).
    #[arg(long)]
    stdout: bool,
}

/// The manifest's format version (2: each stack carries its declared deployment).
pub const MANIFEST_VERSION: u32 = 2;

/// `manifest.json`: what deploy needs besides the template.
#[derive(Debug, Serialize)]
struct Manifest {
    version: u32,
    stacks: Vec<StackEntry>,
    assets: Vec<AssetEntry>,
}

#[derive(Debug, Serialize)]
struct StackEntry {
    name: String,
    template_file: String,
    resource_count: usize,
    resource_types: BTreeMap<String, usize>,
    /// Every template parameter: its default and, in words, who fills it.
    parameters: BTreeMap<String, ParameterEntry>,
    /// The stack's declared deployment, as deploy reads it.
    deployment: Deployment,
}

#[derive(Debug, Serialize)]
struct ParameterEntry {
    default: Option<String>,
    filled_by: String,
}

/// A declared asset as it is now on disk.
#[derive(Debug, Serialize)]
struct AssetEntry {
    id: String,
    stack: String,
    /// SHA-256 of its bytes; null until it is built.
    sha256: Option<String>,
    /// The S3 key deploy publishes it under; null until it is built.
    key: Option<String>,
}

/// Who fills a parameter, in words (from its declared fill).
fn filled_by(fill: Option<&ParameterFill>) -> String {
    match fill {
        Some(ParameterFill::KeepDeployed { set_by, .. }) if !set_by.is_empty() => format!(
            "cdkrs {}",
            set_by.keys().cloned().collect::<Vec<_>>().join(" / ")
        ),
        Some(_) => "cdkrs deploy".to_owned(),
        None => "the template default (the deployed value once deployed)".to_owned(),
    }
}

/// One environment synthesized and written: its manifest entry and its summary line.
struct Written {
    entry: StackEntry,
    line: String,
}

/// Builds, checks and writes the template of `config` into `args.out`.
fn synth_one(config: &cdkrs_stacks::Environment, args: &Args) -> Result<Written, Failure> {
    let (stack, template) = synthesize(environment::build(config))?;
    let declared = environment::deployment(config);
    check_declaration(&declared, &stack, &template)?;
    let (body, ext) = render(&template, args.format);
    let template_file = format!("{}.template.{ext}", stack.name());
    let path = args.out.join(&template_file);
    std::fs::write(&path, &body).with_context(|| format!("writing {}", path.display()))?;
    let parameters = template
        .as_json()
        .get("Parameters")
        .and_then(|p| p.as_object())
        .into_iter()
        .flatten()
        .map(|(name, decl)| {
            let default = decl
                .get("Default")
                .and_then(|d| d.as_str())
                .map(str::to_owned);
            let filled_by = filled_by(declared.parameters.get(name));
            (name.clone(), ParameterEntry { default, filled_by })
        })
        .collect();
    let count = template.resource_ids().len();
    Ok(Written {
        line: format!(
            "{}: {count} resources -> {}\n",
            stack.name(),
            path.display()
        ),
        entry: StackEntry {
            name: stack.name().to_owned(),
            template_file,
            resource_count: count,
            resource_types: template.resource_type_counts(),
            parameters,
            deployment: declared,
        },
    })
}

/// The template's text in `format`, and its file extension.
fn render(template: &cdkrs_constructs::Template, format: Format) -> (String, &'static str) {
    match format {
        Format::Json => (template.to_json_pretty(), "json"),
        Format::Yaml => (template.to_yaml(), "yaml"),
    }
}

pub fn run(args: Args) -> Result<(), Failure> {
    let environments = args.config.load_all()?;
    if args.stdout {
        let [config] = environments.as_slice() else {
            return Err(Failure::Invalid(format!(
                "--stdout prints one template: give one config ({} given), or write them all to --out\n",
                environments.len()
            )));
        };
        let (stack, template) = synthesize(environment::build(config))?;
        check_declaration(&environment::deployment(config), &stack, &template)?;
        stdout::print(&render(&template, args.format).0)?;
        return Ok(());
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    // Environments are independent: built, checked and written on every core.
    let written = parallel_map(&environments, |config| synth_one(config, &args))
        .into_iter()
        .collect::<Result<Vec<Written>, Failure>>()?;
    // Assets: a file the stacks share (the provider zip) is read and hashed once.
    let mut hashes: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut assets = Vec::new();
    for w in &written {
        for a in &w.entry.deployment.assets {
            let sha256 = match &a.source {
                AssetSource::File { path, .. } => hashes
                    .entry(path.clone())
                    .or_insert_with(|| {
                        read_asset(a, None, false)
                            .ok()
                            .map(|bytes| sha256_hex(&bytes))
                    })
                    .clone(),
                AssetSource::Bytes(bytes) => Some(sha256_hex(bytes)),
            };
            assets.push(AssetEntry {
                id: a.id.clone(),
                stack: w.entry.name.clone(),
                key: sha256.as_deref().map(|h| a.key_of_hash(h)),
                sha256,
            });
        }
    }
    let lines: String = written.iter().map(|w| w.line.as_str()).collect();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        stacks: written.into_iter().map(|w| w.entry).collect(),
        assets,
    };
    let manifest_path = args.out.join("manifest.json");
    let mut manifest_text =
        serde_json::to_string_pretty(&manifest).context("serializing the manifest")?;
    manifest_text.push('\n');
    std::fs::write(&manifest_path, manifest_text)
        .with_context(|| format!("writing {}", manifest_path.display()))?;
    stdout::print(&lines)?;
    Ok(())
}

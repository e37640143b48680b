//! `cdkrs synth`: the environment's template and a manifest (stacks, their declared deployment,
//! the assets as built).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use cdkrs_constructs::deployment::{sha256_hex, Deployment, ParameterFill};
use cdkrs_stacks::environment;
use serde::Serialize;

use super::deploy::{check_declaration, read_asset};
use super::{stdout, synthesize, ConfigArg, Failure};

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
    config: ConfigArg,
    /// Directory for the template and the manifest.
    #[arg(long, value_name = "DIR", default_value = "cdk.out")]
    out: PathBuf,
    /// Template format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Print the template to stdout instead of writing files.
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

pub fn run(args: Args) -> Result<(), Failure> {
    let config = args.config.load()?;
    let (stack, template) = synthesize(environment::build(&config))?;
    let declared = environment::deployment(&config);
    check_declaration(&declared, &stack, &template)?;
    let (body, ext) = match args.format {
        Format::Json => (template.to_json_pretty(), "json"),
        Format::Yaml => (template.to_yaml(), "yaml"),
    };
    if args.stdout {
        stdout::print(&body)?;
        return Ok(());
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let template_file = format!("{}.template.{ext}", stack.name());
    let path = args.out.join(&template_file);
    std::fs::write(&path, &body).with_context(|| format!("writing {}", path.display()))?;

    let defaults = template
        .as_json()
        .get("Parameters")
        .and_then(|p| p.as_object())
        .cloned()
        .unwrap_or_default();
    let parameters = defaults
        .iter()
        .map(|(name, decl)| {
            let default = decl
                .get("Default")
                .and_then(|d| d.as_str())
                .map(str::to_owned);
            let filled_by = filled_by(declared.parameters.get(name));
            (name.clone(), ParameterEntry { default, filled_by })
        })
        .collect();
    let assets = declared
        .assets
        .iter()
        .map(|a| {
            let bytes = read_asset(a, None, false).ok();
            AssetEntry {
                id: a.id.clone(),
                stack: declared.stack_name.clone(),
                sha256: bytes.as_deref().map(sha256_hex),
                key: bytes.as_deref().map(|b| a.key(b)),
            }
        })
        .collect();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        stacks: vec![StackEntry {
            name: stack.name().to_owned(),
            template_file: template_file.clone(),
            resource_count: template.resource_ids().len(),
            resource_types: template.resource_type_counts(),
            parameters,
            deployment: declared,
        }],
        assets,
    };
    let manifest_path = args.out.join("manifest.json");
    let mut manifest_text =
        serde_json::to_string_pretty(&manifest).context("serializing the manifest")?;
    manifest_text.push('\n');
    std::fs::write(&manifest_path, manifest_text)
        .with_context(|| format!("writing {}", manifest_path.display()))?;
    stdout::println(&format!(
        "{}: {} resources -> {}",
        stack.name(),
        template.resource_ids().len(),
        path.display()
    ))?;
    Ok(())
}

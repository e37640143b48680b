//! `cdkrs synth`: the environment's template and a manifest (stacks, parameters, assets).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cdkrs_stacks::environment::{self, parameters};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::deploy::DEFAULT_PROVIDER_ZIP;
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
    parameters: BTreeMap<String, ParameterEntry>,
}

#[derive(Debug, Serialize)]
struct ParameterEntry {
    default: Option<String>,
    filled_by: &'static str,
}

#[derive(Debug, Serialize)]
struct AssetEntry {
    id: &'static str,
    kind: &'static str,
    /// The crate that builds it, and the command.
    source: &'static str,
    build: &'static str,
    path: &'static str,
    /// SHA-256 of the built zip (the S3 key deploy uploads it under); null until it is built.
    sha256: Option<String>,
    bucket_parameter: &'static str,
    key_parameter: &'static str,
}

fn sha256_of(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(format!("{:x}", Sha256::digest(&bytes)))
}

pub fn run(args: Args) -> Result<(), Failure> {
    let config = args.config.load()?;
    let (stack, template) = synthesize(environment::build(&config))?;
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
            let filled_by = match name.as_str() {
                parameters::NETWORK_ASLEEP => "cdkrs sleep / wake",
                _ => "cdkrs deploy",
            };
            let default = decl
                .get("Default")
                .and_then(|d| d.as_str())
                .map(str::to_owned);
            (name.clone(), ParameterEntry { default, filled_by })
        })
        .collect();
    let manifest = Manifest {
        version: 1,
        stacks: vec![StackEntry {
            name: stack.name().to_owned(),
            template_file: template_file.clone(),
            resource_count: template.resource_ids().len(),
            resource_types: template.resource_type_counts(),
            parameters,
        }],
        assets: vec![AssetEntry {
            id: "DatabricksProvider",
            kind: "lambda-zip",
            source: "lambda",
            build: "scripts/build-provider",
            path: DEFAULT_PROVIDER_ZIP,
            sha256: sha256_of(Path::new(DEFAULT_PROVIDER_ZIP)),
            bucket_parameter: parameters::PROVIDER_CODE_BUCKET,
            key_parameter: parameters::PROVIDER_CODE_KEY,
        }],
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

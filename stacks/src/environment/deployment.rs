//! How the environment is deployed: the network-sleep parameter keeps its deployed value (only
//! `cdkrs sleep` and `wake` change it), the provider zip is published to the bootstrap bucket
//! under a content-hashed key and its bucket and key fill the provider's code parameters.

use std::collections::BTreeMap;

use cdkrs_constructs::deployment::{AssetSource, Deployment, FileAsset, ParameterFill};

use crate::bootstrap;
use crate::environment::parameters;
use crate::model::Environment;

/// The provider zip's asset id.
pub const PROVIDER_ASSET: &str = "DatabricksProvider";
/// Where `scripts/build-provider` leaves the provider zip.
pub const PROVIDER_ZIP: &str = "target/lambda/bootstrap/bootstrap.zip";
/// The command that builds the provider zip (in the cdkrs source tree).
pub const PROVIDER_BUILD: &str = "scripts/build-provider";
/// The command that puts the network to sleep.
pub const SLEEP: &str = "sleep";
/// The command that wakes the network.
pub const WAKE: &str = "wake";

/// The value of [`parameters::NETWORK_ASLEEP`] for `asleep`.
pub fn asleep_value(asleep: bool) -> &'static str {
    if asleep {
        "true"
    } else {
        "false"
    }
}

/// The environment's deployment: parameter fills, the provider asset, the bootstrap contract.
pub fn deployment(config: &Environment) -> Deployment {
    let mut d = Deployment::new(&config.stack_name());
    d.parameters.insert(
        parameters::NETWORK_ASLEEP.to_owned(),
        ParameterFill::KeepDeployed {
            on_create: asleep_value(config.network_asleep()).to_owned(),
            set_by: BTreeMap::from([
                (SLEEP.to_owned(), asleep_value(true).to_owned()),
                (WAKE.to_owned(), asleep_value(false).to_owned()),
            ]),
        },
    );
    d.parameters.insert(
        parameters::PROVIDER_CODE_BUCKET.to_owned(),
        ParameterFill::AssetBucket(PROVIDER_ASSET.to_owned()),
    );
    d.parameters.insert(
        parameters::PROVIDER_CODE_KEY.to_owned(),
        ParameterFill::AssetKey(PROVIDER_ASSET.to_owned()),
    );
    d.assets.push(FileAsset {
        id: PROVIDER_ASSET.to_owned(),
        source: AssetSource::File {
            path: PROVIDER_ZIP.to_owned(),
            build: Some(PROVIDER_BUILD.to_owned()),
        },
        key_prefix: "assets/databricks-provider-".to_owned(),
        key_suffix: ".zip".to_owned(),
    });
    d.bootstrap = Some(bootstrap::contract());
    d.termination_protection = true;
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::build;
    use crate::load::load;

    const EXAMPLE: &str = include_str!("../../../examples/databricks.yaml");

    fn env(asleep: bool) -> Environment {
        let text = EXAMPLE.replace(
            "\nnetwork_asleep: false",
            &format!("\nnetwork_asleep: {asleep}"),
        );
        load(&text).unwrap()
    }

    #[test]
    fn network_asleep_keeps_the_deployed_value_and_takes_the_configs_on_create() {
        for asleep in [false, true] {
            let config = env(asleep);
            assert_eq!(config.network_asleep(), asleep);
            let d = deployment(&config);
            assert_eq!(
                d.parameters[parameters::NETWORK_ASLEEP],
                ParameterFill::KeepDeployed {
                    on_create: asleep.to_string(),
                    set_by: BTreeMap::from([
                        ("sleep".to_owned(), "true".to_owned()),
                        ("wake".to_owned(), "false".to_owned()),
                    ]),
                }
            );
            assert_eq!(d.set_by(SLEEP), Some((parameters::NETWORK_ASLEEP, "true")));
            assert_eq!(d.set_by(WAKE), Some((parameters::NETWORK_ASLEEP, "false")));
            // The template's default is the same value: a console-created stack agrees.
            let t = build(&config).unwrap().synth().unwrap();
            assert_eq!(
                t.as_json()["Parameters"][parameters::NETWORK_ASLEEP]["Default"],
                asleep.to_string()
            );
        }
    }

    #[test]
    fn the_environment_and_its_bootstrap_stack_declare_termination_protection() {
        assert!(deployment(&env(false)).termination_protection);
        assert!(bootstrap::deployment().termination_protection);
    }

    #[test]
    fn the_provider_zip_fills_the_code_bucket_and_key_parameters() {
        let d = deployment(&env(false));
        assert_eq!(d.stack_name, "cm-vpc-databricks");
        assert_eq!(
            d.asset_parameter(PROVIDER_ASSET, true),
            Some(parameters::PROVIDER_CODE_BUCKET)
        );
        assert_eq!(
            d.asset_parameter(PROVIDER_ASSET, false),
            Some(parameters::PROVIDER_CODE_KEY)
        );
        let asset = d.asset(PROVIDER_ASSET).unwrap();
        assert_eq!(
            asset.source,
            AssetSource::File {
                path: PROVIDER_ZIP.into(),
                build: Some(PROVIDER_BUILD.into())
            }
        );
        // The key deployed stacks already carry: `assets/databricks-provider-<sha256>.zip`.
        assert_eq!(
            asset.key(b"abc"),
            "assets/databricks-provider-\
             ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.zip"
        );
        assert_eq!(d.bootstrap, Some(bootstrap::contract()));
    }

    #[test]
    fn the_declaration_matches_the_template_it_deploys() {
        let config = env(false);
        let t = build(&config).unwrap().synth().unwrap();
        deployment(&config).validate(t.as_json()).unwrap();
        // Every template parameter is filled by the declaration: none is left to chance.
        let declared = t.as_json()["Parameters"].as_object().unwrap();
        let filled = deployment(&config).parameters;
        assert_eq!(
            declared.keys().collect::<Vec<_>>(),
            filled.keys().collect::<Vec<_>>()
        );
    }
}

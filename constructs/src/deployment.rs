//! A stack's deployment, declared as plain data beside the stack it describes: how deploy fills
//! each template parameter, which files it publishes before the change set, and the bootstrap
//! stack whose bucket receives them. Synth writes it into the manifest; deploy, diff, sleep and
//! wake read it; the deploy engine consumes it without knowing which stack it is.
//!
//! ```
//! use cdkrs_constructs::deployment::{BootstrapContract, Deployment, FileAsset, ParameterFill};
//!
//! let mut d = Deployment::new("demo");
//! d.bootstrap = Some(BootstrapContract {
//!     stack_name: "my-bootstrap".into(),
//!     bucket_output: "AssetsBucketName".into(),
//!     bucket_id: "AssetsBucket".into(),
//! });
//! d.assets.push(FileAsset::file("Code", "build/code.zip", "assets/code-", ".zip"));
//! d.parameters.insert("CodeBucket".into(), ParameterFill::AssetBucket("Code".into()));
//! d.parameters.insert("CodeKey".into(), ParameterFill::AssetKey("Code".into()));
//! let key = d.assets[0].key(b"zip");
//! assert!(key.starts_with("assets/code-") && key.ends_with(".zip"));
//!
//! let template = serde_json::json!({"Parameters": {
//!     "CodeBucket": {"Type": "String"}, "CodeKey": {"Type": "String"}
//! }});
//! d.validate(&template).unwrap();
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The lowercase hex SHA-256 of `bytes`: the one content hash of the workspace (asset keys,
/// uploaded template keys, request tokens).
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes.as_ref()))
}

/// How deploy fills one template parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterFill {
    /// This value on every deploy.
    Fixed(String),
    /// Keep the deployed value; `on_create` when the stack is created (or when the deployed
    /// stack lacks the parameter). Only the commands of `set_by` change it.
    KeepDeployed {
        /// The value of a new stack.
        on_create: String,
        /// The commands that set it, each with the value it sets (`sleep` → `"true"`).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        set_by: BTreeMap<String, String>,
    },
    /// The name of the bucket the asset of this id is published to.
    AssetBucket(String),
    /// The content-hashed key the asset of this id is published under.
    AssetKey(String),
}

impl ParameterFill {
    /// Keep the deployed value; `on_create` for a new stack; no command sets it.
    pub fn keep_deployed(on_create: impl Into<String>) -> ParameterFill {
        ParameterFill::KeepDeployed {
            on_create: on_create.into(),
            set_by: BTreeMap::new(),
        }
    }

    /// The values this fill may give the parameter (for the `AllowedValues` check).
    fn literal_values(&self) -> Vec<&str> {
        match self {
            ParameterFill::Fixed(v) => vec![v],
            ParameterFill::KeepDeployed { on_create, set_by } => std::iter::once(on_create)
                .chain(set_by.values())
                .map(String::as_str)
                .collect(),
            ParameterFill::AssetBucket(_) | ParameterFill::AssetKey(_) => Vec::new(),
        }
    }
}

/// Where an asset's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetSource {
    /// A file, and the command that builds it when it is missing.
    File {
        /// The path (relative: to the working directory).
        path: String,
        /// The command that builds it (`None`: it must exist).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        build: Option<String>,
    },
    /// Bytes the app holds (hex in the manifest).
    Bytes(#[serde(with = "hex")] Vec<u8>),
}

/// A file deploy publishes to the bootstrap bucket before it creates the change set, under a
/// content-hashed key: a changed file is a new key, an unchanged one is never uploaded twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAsset {
    /// Its id (parameters name it; messages show it).
    pub id: String,
    /// Where its bytes come from.
    pub source: AssetSource,
    /// The key is `<key_prefix><sha256 of the bytes><key_suffix>`.
    pub key_prefix: String,
    /// See `key_prefix`.
    pub key_suffix: String,
}

impl FileAsset {
    /// An asset read from the file at `path` (no build command).
    pub fn file(id: &str, path: &str, key_prefix: &str, key_suffix: &str) -> FileAsset {
        FileAsset {
            id: id.to_owned(),
            source: AssetSource::File {
                path: path.to_owned(),
                build: None,
            },
            key_prefix: key_prefix.to_owned(),
            key_suffix: key_suffix.to_owned(),
        }
    }

    /// The S3 key of these bytes.
    pub fn key(&self, bytes: &[u8]) -> String {
        self.key_of_hash(&sha256_hex(bytes))
    }

    /// The S3 key of bytes whose SHA-256 ([`sha256_hex`]) is `sha256`.
    pub fn key_of_hash(&self, sha256: &str) -> String {
        format!("{}{sha256}{}", self.key_prefix, self.key_suffix)
    }
}

/// What a deployment relies on from the bootstrap stack: the stack's name, the output naming
/// the assets bucket, and the bucket's logical id (its physical id is the bucket's name, read
/// when the outputs are missing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapContract {
    /// The bootstrap stack's name.
    pub stack_name: String,
    /// The output holding the assets bucket's name.
    pub bucket_output: String,
    /// The assets bucket's logical id.
    pub bucket_id: String,
}

/// One stack's deployment: how its parameters are filled, what it publishes, what it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The stack's name.
    pub stack_name: String,
    /// How deploy fills each parameter; a template parameter not listed keeps its deployed
    /// value (its default on create).
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterFill>,
    /// The files published before the change set.
    #[serde(default)]
    pub assets: Vec<FileAsset>,
    /// The bootstrap stack whose bucket receives the assets and templates over the inline
    /// limit (`None`: the stack publishes nothing).
    #[serde(default)]
    pub bootstrap: Option<BootstrapContract>,
    /// Termination protection: on once the stack exists (every deploy that executes turns it
    /// on when the stack lacks it), off only through the destroy command's confirmation.
    #[serde(default)]
    pub termination_protection: bool,
}

impl Deployment {
    /// A stack with nothing to fill or publish.
    pub fn new(stack_name: &str) -> Deployment {
        Deployment {
            stack_name: stack_name.to_owned(),
            parameters: BTreeMap::new(),
            assets: Vec::new(),
            bootstrap: None,
            termination_protection: false,
        }
    }

    /// The declared asset of this id.
    pub fn asset(&self, id: &str) -> Option<&FileAsset> {
        self.assets.iter().find(|a| a.id == id)
    }

    /// The parameter that receives the bucket (`bucket: true`) or the key of asset `id`.
    pub fn asset_parameter(&self, id: &str, bucket: bool) -> Option<&str> {
        self.parameters.iter().find_map(|(name, fill)| match fill {
            ParameterFill::AssetBucket(a) if bucket && a == id => Some(name.as_str()),
            ParameterFill::AssetKey(a) if !bucket && a == id => Some(name.as_str()),
            _ => None,
        })
    }

    /// The parameter the command `command` sets, and the value it sets (`sleep` →
    /// `("NetworkAsleep", "true")`).
    pub fn set_by(&self, command: &str) -> Option<(&str, &str)> {
        self.parameters.iter().find_map(|(name, fill)| match fill {
            ParameterFill::KeepDeployed { set_by, .. } => {
                set_by.get(command).map(|v| (name.as_str(), v.as_str()))
            }
            _ => None,
        })
    }

    /// Checks the declaration against the synthesized template: every filled parameter is
    /// declared and each literal value is one of its `AllowedValues`; asset references resolve;
    /// asset ids are unique; a command sets one parameter only; assets come with a bootstrap
    /// contract. Every problem is reported.
    pub fn validate(&self, template: &Json) -> Result<(), DeploymentErrors> {
        let stack = self.stack_name.clone();
        let declared = template.get("Parameters").and_then(Json::as_object);
        let mut errors = Vec::new();
        let mut ids = BTreeSet::new();
        for asset in &self.assets {
            if !ids.insert(asset.id.as_str()) {
                errors.push(DeploymentError::DuplicateAsset {
                    stack: stack.clone(),
                    asset: asset.id.clone(),
                });
            }
        }
        let mut commands: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, fill) in &self.parameters {
            let Some(decl) = declared.and_then(|p| p.get(name)) else {
                errors.push(DeploymentError::UndeclaredParameter {
                    stack: stack.clone(),
                    parameter: name.clone(),
                });
                continue;
            };
            if let Some(allowed) = decl.get("AllowedValues").and_then(Json::as_array) {
                for value in fill.literal_values() {
                    if !allowed.iter().any(|a| a.as_str() == Some(value)) {
                        errors.push(DeploymentError::NotAllowed {
                            stack: stack.clone(),
                            parameter: name.clone(),
                            value: value.to_owned(),
                            allowed: allowed
                                .iter()
                                .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    }
                }
            }
            match fill {
                ParameterFill::AssetBucket(id) | ParameterFill::AssetKey(id)
                    if self.asset(id).is_none() =>
                {
                    errors.push(DeploymentError::UnknownAsset {
                        stack: stack.clone(),
                        parameter: name.clone(),
                        asset: id.clone(),
                    });
                }
                ParameterFill::KeepDeployed { set_by, .. } => {
                    for command in set_by.keys() {
                        if let Some(other) = commands.insert(command, name) {
                            errors.push(DeploymentError::CommandSetsTwo {
                                stack: stack.clone(),
                                command: command.clone(),
                                first: other.to_owned(),
                                second: name.clone(),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        if !self.assets.is_empty() && self.bootstrap.is_none() {
            errors.push(DeploymentError::NoBootstrap {
                stack,
                asset: self.assets[0].id.clone(),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DeploymentErrors(errors))
        }
    }
}

/// One problem of a [`Deployment`] ([`Deployment::validate`] reports all of them).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeploymentError {
    /// A filled parameter the template does not declare.
    #[error("stack `{stack}`: deploy fills parameter `{parameter}`, which the template does not declare; add it to the stack or drop it from the deployment")]
    UndeclaredParameter {
        /// The stack.
        stack: String,
        /// The parameter.
        parameter: String,
    },
    /// A literal value outside the parameter's `AllowedValues`.
    #[error("stack `{stack}`: parameter `{parameter}` would be `{value}`, which its AllowedValues ({allowed}) refuse")]
    NotAllowed {
        /// The stack.
        stack: String,
        /// The parameter.
        parameter: String,
        /// The value.
        value: String,
        /// The allowed values, comma-separated.
        allowed: String,
    },
    /// A parameter filled from an asset the deployment does not publish.
    #[error("stack `{stack}`: parameter `{parameter}` is filled from asset `{asset}`, which the deployment does not publish; declare the asset or fix the id")]
    UnknownAsset {
        /// The stack.
        stack: String,
        /// The parameter.
        parameter: String,
        /// The asset id.
        asset: String,
    },
    /// Two assets with one id.
    #[error("stack `{stack}`: asset id `{asset}` is used twice; give each asset its own id")]
    DuplicateAsset {
        /// The stack.
        stack: String,
        /// The id.
        asset: String,
    },
    /// One command setting two parameters.
    #[error("stack `{stack}`: command `{command}` sets both `{first}` and `{second}`; a command sets one parameter")]
    CommandSetsTwo {
        /// The stack.
        stack: String,
        /// The command.
        command: String,
        /// One parameter.
        first: String,
        /// The other.
        second: String,
    },
    /// Assets without a bootstrap stack to publish them to.
    #[error("stack `{stack}`: asset `{asset}` needs a bucket to be published to; declare the bootstrap contract")]
    NoBootstrap {
        /// The stack.
        stack: String,
        /// The first asset.
        asset: String,
    },
}

/// Every problem of a [`Deployment`], one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentErrors(pub Vec<DeploymentError>);

impl fmt::Display for DeploymentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DeploymentErrors {}

/// Bytes as a lowercase hex string in the manifest.
mod hex {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() % 2 != 0 {
            return Err(de::Error::custom(format!(
                "asset bytes: `{text}` has an odd number of hex digits"
            )));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| {
                        de::Error::custom(format!(
                            "asset bytes: `{text}` is not hex (at character {i})"
                        ))
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn template() -> Json {
        json!({"Parameters": {
            "Asleep": {"Type": "String", "AllowedValues": ["true", "false"], "Default": "false"},
            "CodeBucket": {"Type": "String"},
            "CodeKey": {"Type": "String"},
        }})
    }

    fn declared() -> Deployment {
        let mut d = Deployment::new("demo");
        d.bootstrap = Some(BootstrapContract {
            stack_name: "boot".into(),
            bucket_output: "Bucket".into(),
            bucket_id: "AssetsBucket".into(),
        });
        d.assets
            .push(FileAsset::file("Code", "code.zip", "assets/code-", ".zip"));
        d.parameters.insert(
            "Asleep".into(),
            ParameterFill::KeepDeployed {
                on_create: "false".into(),
                set_by: BTreeMap::from([
                    ("sleep".into(), "true".into()),
                    ("wake".into(), "false".into()),
                ]),
            },
        );
        d.parameters.insert(
            "CodeBucket".into(),
            ParameterFill::AssetBucket("Code".into()),
        );
        d.parameters
            .insert("CodeKey".into(), ParameterFill::AssetKey("Code".into()));
        d
    }

    #[test]
    fn sha256_hex_is_the_standard_digest() {
        // FIPS 180-2 test vector "abc".
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_hex(b"abc"), sha256_hex(vec![b'a', b'b', b'c']));
    }

    #[test]
    fn asset_keys_are_content_hashed_between_prefix_and_suffix() {
        let a = FileAsset::file("Code", "code.zip", "assets/code-", ".zip");
        assert_eq!(
            a.key(b"abc"),
            "assets/code-ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.zip"
        );
        assert_ne!(a.key(b"abc"), a.key(b"abd"));
    }

    #[test]
    fn a_consistent_declaration_validates_and_answers_its_lookups() {
        let d = declared();
        d.validate(&template()).unwrap();
        assert_eq!(d.set_by("sleep"), Some(("Asleep", "true")));
        assert_eq!(d.set_by("wake"), Some(("Asleep", "false")));
        assert_eq!(d.set_by("deploy"), None);
        assert_eq!(d.asset_parameter("Code", true), Some("CodeBucket"));
        assert_eq!(d.asset_parameter("Code", false), Some("CodeKey"));
        assert_eq!(d.asset_parameter("Other", false), None);
    }

    #[test]
    fn validation_reports_every_inconsistency_naming_the_parameter() {
        let mut d = declared();
        d.bootstrap = None;
        d.assets.push(d.assets[0].clone());
        d.parameters
            .insert("Typo".into(), ParameterFill::Fixed("x".into()));
        d.parameters
            .insert("CodeKey".into(), ParameterFill::AssetKey("Cod".into()));
        d.parameters.insert(
            "Asleep".into(),
            ParameterFill::KeepDeployed {
                on_create: "False".into(),
                set_by: BTreeMap::new(),
            },
        );
        let errors = d.validate(&template()).unwrap_err();
        let text = errors.to_string();
        assert_eq!(errors.0.len(), 5, "{text}");
        for needle in [
            "asset id `Code` is used twice",
            "parameter `Asleep` would be `False`, which its AllowedValues (true, false) refuse",
            "parameter `CodeKey` is filled from asset `Cod`",
            "deploy fills parameter `Typo`, which the template does not declare",
            "asset `Code` needs a bucket",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }

    #[test]
    fn a_command_setting_two_parameters_is_refused() {
        let mut d = declared();
        let mut t = template();
        t["Parameters"]["Other"] = json!({"Type": "String"});
        d.parameters.insert(
            "Other".into(),
            ParameterFill::KeepDeployed {
                on_create: "a".into(),
                set_by: BTreeMap::from([("sleep".into(), "b".into())]),
            },
        );
        let text = d.validate(&t).unwrap_err().to_string();
        assert!(
            text.contains("command `sleep` sets both `Asleep` and `Other`"),
            "{text}"
        );
    }

    #[test]
    fn the_declaration_round_trips_through_json_with_bytes_as_hex() {
        let mut d = declared();
        d.assets.push(FileAsset {
            id: "Inline".into(),
            source: AssetSource::Bytes(vec![0x00, 0xab, 0xff]),
            key_prefix: "assets/inline-".into(),
            key_suffix: ".bin".into(),
        });
        let j = serde_json::to_value(&d).unwrap();
        assert_eq!(j["assets"][1]["source"]["bytes"], "00abff");
        assert_eq!(
            j["parameters"]["Asleep"],
            json!({"keep_deployed": {"on_create": "false", "set_by": {"sleep": "true", "wake": "false"}}})
        );
        assert_eq!(j["parameters"]["CodeKey"], json!({"asset_key": "Code"}));
        assert_eq!(j["bootstrap"]["bucket_output"], "Bucket");
        let back: Deployment = serde_json::from_value(j).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn malformed_hex_bytes_are_refused_with_the_text() {
        let j = json!({"id": "A", "source": {"bytes": "0g"}, "key_prefix": "", "key_suffix": ""});
        let err = serde_json::from_value::<FileAsset>(j)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`0g` is not hex"), "{err}");
        let j = json!({"id": "A", "source": {"bytes": "abc"}, "key_prefix": "", "key_suffix": ""});
        let err = serde_json::from_value::<FileAsset>(j)
            .unwrap_err()
            .to_string();
        assert!(err.contains("odd number of hex digits"), "{err}");
    }
}

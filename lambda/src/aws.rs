//! The AWS side of the provider: reading the service principal's OAuth secret at run time
//! (Secrets Manager or SSM SecureString) and continuing a long operation in a new asynchronous
//! invocation of the same function.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use crate::dispatch::Continuation;

/// Environment variable naming the Secrets Manager secret (ARN) that holds the OAuth secret.
pub const SECRET_ARN_ENV: &str = cdkrs_databricks::env::CLIENT_SECRET_ARN;
/// Environment variable naming the SSM SecureString parameter that holds the OAuth secret.
pub const SECRET_SSM_ENV: &str = cdkrs_databricks::env::CLIENT_SECRET_SSM_PARAMETER;

/// Where the OAuth secret lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// A Secrets Manager secret, by ARN.
    SecretsManager(String),
    /// An SSM SecureString parameter, by name.
    Ssm(String),
}

impl SecretSource {
    /// From the function's environment (exactly one of the two variables).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<SecretSource, String> {
        let arn = get(SECRET_ARN_ENV).filter(|v| !v.is_empty());
        let ssm = get(SECRET_SSM_ENV).filter(|v| !v.is_empty());
        match (arn, ssm) {
            (Some(a), None) => Ok(SecretSource::SecretsManager(a)),
            (None, Some(p)) => Ok(SecretSource::Ssm(p)),
            (Some(_), Some(_)) => Err(format!(
                "both {SECRET_ARN_ENV} and {SECRET_SSM_ENV} are set: the stack sets exactly one"
            )),
            (None, None) => Err(format!(
                "neither {SECRET_ARN_ENV} nor {SECRET_SSM_ENV} is set: the stack sets one"
            )),
        }
    }

    /// Reads the secret. The error names the source, never the value.
    pub async fn read(&self, config: &aws_config::SdkConfig) -> Result<String, String> {
        match self {
            SecretSource::SecretsManager(arn) => {
                let client = aws_sdk_secretsmanager::Client::new(config);
                let out = client
                    .get_secret_value()
                    .secret_id(arn)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "reading secret {arn}: {}",
                            aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                        )
                    })?;
                out.secret_string().map(str::to_owned).ok_or_else(|| {
                    format!("secret {arn} holds no string (binary secrets are not supported)")
                })
            }
            SecretSource::Ssm(name) => {
                let client = aws_sdk_ssm::Client::new(config);
                let out = client
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "reading SSM parameter {name}: {}",
                            aws_sdk_ssm::error::DisplayErrorContext(e)
                        )
                    })?;
                out.parameter()
                    .and_then(|p| p.value())
                    .map(str::to_owned)
                    .ok_or_else(|| format!("SSM parameter {name} has no value"))
            }
        }
    }
}

/// Continues an operation by invoking this same function asynchronously (`Event`).
pub struct LambdaContinuation {
    client: aws_sdk_lambda::Client,
    function_arn: String,
}

impl LambdaContinuation {
    /// For the function `function_arn` (the invocation context's `invoked_function_arn`).
    pub fn new(config: &aws_config::SdkConfig, function_arn: &str) -> LambdaContinuation {
        LambdaContinuation {
            client: aws_sdk_lambda::Client::new(config),
            function_arn: function_arn.to_owned(),
        }
    }
}

impl Continuation for LambdaContinuation {
    async fn continue_with(&self, payload: serde_json::Value) -> Result<(), String> {
        let bytes = serde_json::to_vec(&payload).map_err(|e| e.to_string())?;
        self.client
            .invoke()
            .function_name(&self.function_arn)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(bytes))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "invoking {} to continue: {}",
                    self.function_arn,
                    aws_sdk_lambda::error::DisplayErrorContext(e)
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_secret_source_comes_from_exactly_one_variable() {
        assert_eq!(
            SecretSource::from_env(env(&[(SECRET_ARN_ENV, "arn:aws:secretsmanager:x")])),
            Ok(SecretSource::SecretsManager(
                "arn:aws:secretsmanager:x".into()
            ))
        );
        assert_eq!(
            SecretSource::from_env(env(&[(SECRET_SSM_ENV, "/db/secret")])),
            Ok(SecretSource::Ssm("/db/secret".into()))
        );
        assert_eq!(
            SecretSource::from_env(env(&[])),
            Err("neither DATABRICKS_CLIENT_SECRET_ARN nor DATABRICKS_CLIENT_SECRET_SSM_PARAMETER is set: the stack sets one".into())
        );
        assert!(
            SecretSource::from_env(env(&[(SECRET_ARN_ENV, "a"), (SECRET_SSM_ENV, "b")]))
                .unwrap_err()
                .starts_with("both")
        );
        assert!(SecretSource::from_env(env(&[(SECRET_ARN_ENV, "")])).is_err());
    }
}

//! AWS access: the one group of AWS options every command flattens, the one function that
//! turns it into an SDK config, and the named predicates over SDK errors.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// `--profile`, `--region`, `--endpoint-url`: how every command reaches AWS.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct AwsArgs {
    /// Named profile of ~/.aws/config and ~/.aws/credentials. Default: AWS_PROFILE, else the
    /// standard credential chain (environment, SSO, web identity, instance role).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region. Default: the config's `region` (the environment lives there).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS API call to this URL instead of AWS (a local emulator such as moto).
    /// The SDK also reads AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    /// The region the command works in: `--region` when given, else the config's. Both given and
    /// different is an error: the environment's template is pinned to the config's region.
    pub fn resolve_region(&self, config_region: &str) -> anyhow::Result<String> {
        match &self.region {
            Some(r) if r != config_region => anyhow::bail!(
                "--region {r} differs from the config's region `{config_region}`: the \
                 environment is built for `{config_region}`; drop --region or change `region` \
                 in the config"
            ),
            _ => Ok(config_region.to_owned()),
        }
    }

    /// Loads the SDK config: the standard chain, with these options on top.
    pub async fn sdk_config(&self, region: &str) -> SdkConfig {
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.to_owned()));
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        loader.load().await
    }
}

/// The two clients the engine uses, built once from one config.
#[derive(Clone, Debug)]
pub struct Clients {
    /// CloudFormation.
    pub cfn: aws_sdk_cloudformation::Client,
    /// S3 (path-style addressing when an endpoint URL is set: emulators serve one host).
    pub s3: aws_sdk_s3::Client,
    /// The region, for template URLs.
    pub region: String,
}

impl Clients {
    /// Builds both clients.
    pub fn new(config: &SdkConfig) -> Clients {
        let path_style = config.endpoint_url().is_some();
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        Clients {
            cfn: aws_sdk_cloudformation::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            region: config
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_default(),
        }
    }
}

/// Named checks over SDK errors: match on the model or on the error code, never on free text,
/// except where CloudFormation only says it in the message (noted per predicate).
pub mod errors {
    use aws_sdk_cloudformation::error::ProvideErrorMetadata;

    /// `DescribeStacks` (and most stack calls) on a stack that does not exist. CloudFormation
    /// gives no error code of its own for this: it is a `ValidationError` whose message says
    /// "does not exist".
    pub fn is_stack_missing<E: ProvideErrorMetadata>(err: &E) -> bool {
        err.code() == Some("ValidationError")
            && err.message().is_some_and(|m| m.contains("does not exist"))
    }

    /// A change set with that name already exists.
    pub fn is_already_exists<E: ProvideErrorMetadata>(err: &E) -> bool {
        err.code() == Some("AlreadyExistsException")
    }

    /// The reason CloudFormation gives a FAILED change set that would change nothing (the only
    /// signal is the text: "The submitted information didn't contain changes…" or "No updates
    /// are to be performed.").
    pub fn is_no_changes_reason(reason: &str) -> bool {
        reason.contains("didn't contain changes")
            || reason.contains("No updates are to be performed")
    }

    /// `HeadObject` of a key that does not exist.
    pub fn is_object_missing(
        err: &aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::head_object::HeadObjectError>,
    ) -> bool {
        err.as_service_error().is_some_and(|e| e.is_not_found())
            || err
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 404)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_defaults_to_the_configs_and_a_different_flag_is_refused() {
        let none = AwsArgs::default();
        assert_eq!(none.resolve_region("eu-west-1").unwrap(), "eu-west-1");
        let same = AwsArgs {
            region: Some("eu-west-1".into()),
            ..Default::default()
        };
        assert_eq!(same.resolve_region("eu-west-1").unwrap(), "eu-west-1");
        let other = AwsArgs {
            region: Some("us-east-1".into()),
            ..Default::default()
        };
        let err = other.resolve_region("eu-west-1").unwrap_err().to_string();
        assert!(
            err.contains("--region us-east-1") && err.contains("`eu-west-1`"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn endpoint_url_reaches_the_sdk_config() {
        let args = AwsArgs {
            endpoint_url: Some("http://127.0.0.1:4566".into()),
            ..Default::default()
        };
        let config = args.sdk_config("us-east-1").await;
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:4566"));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        let clients = Clients::new(&config);
        assert_eq!(clients.region, "us-east-1");
    }
}

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

    /// The profile the credential chain reads: `--profile`, else AWS_PROFILE.
    pub fn selected_profile(&self) -> Option<String> {
        self.profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
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

/// The clients the engine uses, built once from one config.
#[derive(Clone, Debug)]
pub struct Clients {
    /// CloudFormation.
    pub cfn: aws_sdk_cloudformation::Client,
    /// S3 (path-style addressing when an endpoint URL is set: emulators serve one host).
    pub s3: aws_sdk_s3::Client,
    /// The region, for template URLs and error messages.
    pub region: String,
    /// The endpoint override (`--endpoint-url`, AWS_ENDPOINT_URL), for error messages.
    pub endpoint_url: Option<String>,
    /// The profile the credentials come from, when one was chosen ([`AwsArgs::selected_profile`]),
    /// for error messages.
    pub profile: Option<String>,
    /// STS: who the credentials belong to (the identity check).
    pub sts: aws_sdk_sts::Client,
    /// `ExpectedBucketOwner` of every S3 call: the checked caller's account (`None` until the
    /// identity check ran). The assets bucket's name is predictable; S3 refuses the call when
    /// someone else owns a bucket of that name.
    pub bucket_owner: Option<String>,
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
            endpoint_url: config.endpoint_url().map(str::to_owned),
            profile: None,
            sts: aws_sdk_sts::Client::new(config),
            bucket_owner: None,
        }
    }

    /// Where the calls of one service go, for error messages.
    pub fn target<'a>(&'a self, service: &'a str) -> errors::Target<'a> {
        errors::Target {
            service,
            region: &self.region,
            endpoint_url: self.endpoint_url.as_deref(),
            profile: self.profile.as_deref(),
        }
    }
}

/// Named checks over SDK errors: match on the model, the error code or the SDK's error types,
/// never on free text, except where CloudFormation only says it in the message (noted per
/// predicate). [`problem`] turns the failures whose fix is on the user's side (credentials,
/// network, region) into one line saying what is missing and how to fix it.
pub mod errors {
    use std::error::Error as StdError;
    use std::fmt;

    use aws_credential_types::provider::error::{CredentialsError, TokenError};
    use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};

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

    /// Where the failed call went: the service, the region and the endpoint override.
    #[derive(Clone, Copy, Debug)]
    pub struct Target<'a> {
        /// The service's name, as people say it (`CloudFormation`, `S3`).
        pub service: &'a str,
        /// The region of the call.
        pub region: &'a str,
        /// `--endpoint-url` (or AWS_ENDPOINT_URL) when set.
        pub endpoint_url: Option<&'a str>,
        /// `--profile` (or AWS_PROFILE) when set.
        pub profile: Option<&'a str>,
    }

    impl fmt::Display for Target<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.endpoint_url {
                Some(url) => write!(f, "{url}"),
                None => write!(f, "AWS {} in {}", self.service, self.region),
            }
        }
    }

    /// A failure whose fix is on the user's side.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Problem {
        /// No provider of the standard chain (environment, profile, SSO, web identity, container,
        /// instance) found credentials.
        NoCredentials,
        /// The SSO token the profile needs has expired and cannot be refreshed, or was never
        /// obtained: the credential chain failed while resolving an SSO token.
        SsoLogin,
        /// The profile configuration is unusable (a named profile that does not exist, a
        /// malformed entry); the SDK's reason.
        ProfileInvalid(String),
        /// AWS refused the credentials as expired (`ExpiredToken`): stale session credentials.
        CredentialsExpired {
            /// The service's error code.
            code: String,
        },
        /// AWS does not recognise the access key in this region (`InvalidClientTokenId`,
        /// `UnrecognizedClientException`, `InvalidAccessKeyId`): a wrong or deactivated key, or
        /// an opt-in region the account has not enabled.
        KeyRejected {
            /// The service's error code.
            code: String,
        },
        /// S3 says the bucket is in another region (`PermanentRedirect`,
        /// `AuthorizationHeaderMalformed`).
        WrongRegion {
            /// The service's error code.
            code: String,
        },
        /// The endpoint could not be reached: connection refused or reset, or the name did not
        /// resolve (the connector's I/O errors); the innermost cause.
        Unreachable {
            /// The innermost error's text, e.g. "Connection refused (os error 111)".
            cause: String,
        },
        /// The endpoint did not answer in time (the connector's or the SDK's timeout).
        TimedOut,
    }

    /// Classifies an SDK error by the SDK's types and the service's error code; `None` when
    /// the fix is not on the user's side (or not known).
    pub fn problem<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<Problem> {
        match err {
            SdkError::DispatchFailure(dispatch) => {
                let connector = dispatch.as_connector_error()?;
                if let Some(creds) = connector
                    .source()
                    .and_then(|s| s.downcast_ref::<CredentialsError>())
                {
                    return credentials_problem(creds);
                }
                if connector.is_timeout() {
                    Some(Problem::TimedOut)
                } else if connector.is_io() {
                    Some(Problem::Unreachable {
                        cause: innermost(connector).to_string(),
                    })
                } else {
                    None
                }
            }
            SdkError::TimeoutError(_) => Some(Problem::TimedOut),
            _ => {
                let code = err.code()?.to_owned();
                match code.as_str() {
                    "ExpiredToken" | "ExpiredTokenException" => {
                        Some(Problem::CredentialsExpired { code })
                    }
                    // The answer to an unknown or deactivated key, and to any key in an opt-in
                    // region the account has not enabled ("the AWS Region you're using must be
                    // enabled": https://repost.aws/knowledge-center/iam-credentials-token,
                    // https://blog.leapp.cloud/how-to-fix-aws-invalidclienttokenid-the-security-token-included-in-the-request-is-invalid).
                    "InvalidClientTokenId"
                    | "UnrecognizedClientException"
                    | "InvalidAccessKeyId" => Some(Problem::KeyRejected { code }),
                    "PermanentRedirect" | "AuthorizationHeaderMalformed" => {
                        Some(Problem::WrongRegion { code })
                    }
                    _ => None,
                }
            }
        }
    }

    /// What a failed credential chain means for the user.
    fn credentials_problem(err: &CredentialsError) -> Option<Problem> {
        match err {
            CredentialsError::CredentialsNotLoaded(_) => Some(Problem::NoCredentials),
            // The SSO providers resolve a token first: a token error anywhere under the
            // provider's error (the profile provider wraps the SSO one) is a login to renew.
            CredentialsError::ProviderError(_)
                if sources(err).any(|s| s.downcast_ref::<TokenError>().is_some()) =>
            {
                Some(Problem::SsoLogin)
            }
            CredentialsError::InvalidConfiguration(_) => Some(Problem::ProfileInvalid(
                err.source().map(one_line).unwrap_or_else(|| one_line(err)),
            )),
            _ => None,
        }
    }

    /// The sources of an error, nearest first.
    fn sources<'e>(
        err: &'e (dyn StdError + 'static),
    ) -> impl Iterator<Item = &'e (dyn StdError + 'static)> {
        std::iter::successors(err.source(), |e: &&'e (dyn StdError + 'static)| {
            (*e).source()
        })
    }

    /// The last error of a source chain.
    fn innermost<'e>(err: &'e (dyn StdError + 'static)) -> &'e (dyn StdError + 'static) {
        let mut last = err;
        while let Some(next) = last.source() {
            last = next;
        }
        last
    }

    /// An error and its sources joined on one line (the SDK's texts can span lines).
    pub fn one_line(err: &(dyn StdError + 'static)) -> String {
        let mut parts = vec![err.to_string()];
        let mut next = err.source();
        while let Some(e) = next {
            let text = e.to_string();
            // Wrappers often repeat their source's text.
            if !parts.last().is_some_and(|p| p.ends_with(&text)) {
                parts.push(text);
            }
            next = e.source();
        }
        parts
            .join(": ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    impl Problem {
        /// One line: what is missing, and how to fix it.
        pub fn message(&self, target: Target<'_>) -> String {
            let Target {
                service, region, ..
            } = target;
            match self {
                Problem::NoCredentials => match target.profile {
                    Some(p) => format!(
                        "no AWS credentials from profile `{p}`: define it in ~/.aws/config or \
                         ~/.aws/credentials (`aws configure --profile {p}`) or pick another"
                    ),
                    None => "no AWS credentials found: run `aws configure` or `aws configure \
                        sso`, or set AWS_PROFILE (--profile) or AWS_ACCESS_KEY_ID and \
                        AWS_SECRET_ACCESS_KEY"
                        .to_owned(),
                },
                Problem::SsoLogin => format!(
                    "the AWS SSO session has expired or was never started: run `aws sso login{}`",
                    target
                        .profile
                        .map(|p| format!(" --profile {p}"))
                        .unwrap_or_default()
                ),
                Problem::ProfileInvalid(reason) => format!(
                    "the AWS profile configuration is unusable ({reason}): fix ~/.aws/config or \
                     pick another profile with --profile or AWS_PROFILE"
                ),
                Problem::CredentialsExpired { code } => format!(
                    "the AWS credentials have expired ({code}): get fresh ones (`aws sso login`, \
                     a new session token) or unset a stale AWS_SESSION_TOKEN"
                ),
                Problem::KeyRejected { code } => format!(
                    "{target} does not know the access key ({code}): check the key, or \
                     enable {region} for the account if it is an opt-in region"
                ),
                Problem::WrongRegion { code } => format!(
                    "{service} says the bucket is not in {region} ({code}): the name belongs to \
                     a bucket of another region; bootstrap {region} or use that region"
                ),
                Problem::Unreachable { cause } => match target.endpoint_url {
                    Some(url) => format!(
                        "cannot reach {url} ({cause}): is the endpoint running? check \
                         --endpoint-url and AWS_ENDPOINT_URL"
                    ),
                    None => format!(
                        "cannot reach {target} ({cause}): check the network connection and \
                         proxy settings (HTTPS_PROXY)"
                    ),
                },
                Problem::TimedOut => format!(
                    "no answer from {target} in time: check the network connection and proxy \
                     settings (HTTPS_PROXY)"
                ),
            }
        }
    }

    /// An AWS call that failed: one line for people, and the SDK's whole report for `-v`.
    #[derive(Debug, thiserror::Error)]
    #[error("{message}")]
    pub struct AwsError {
        message: String,
        detail: String,
    }

    impl AwsError {
        /// The error as one line, and `detail` for `--verbose`.
        pub fn new(message: String, detail: String) -> AwsError {
            AwsError { message, detail }
        }

        /// The SDK's full report of the error (printed with `--verbose`).
        pub fn detail(&self) -> &str {
            &self.detail
        }
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

#[cfg(test)]
mod problem_tests {
    use aws_credential_types::provider::error::{CredentialsError, TokenError};
    use aws_sdk_cloudformation::error::{ConnectorError, ErrorMetadata, SdkError};
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;

    use super::errors::{problem, Problem, Target};

    type Err = SdkError<DescribeStacksError, ()>;

    /// What the orchestrator returns when the identity resolver fails.
    fn credentials(err: CredentialsError) -> Err {
        SdkError::dispatch_failure(ConnectorError::other(Box::new(err), None))
    }

    fn service(code: &str) -> Err {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        SdkError::service_error(DescribeStacksError::generic(meta), ())
    }

    const AWS: Target<'static> = Target {
        service: "CloudFormation",
        region: "eu-west-1",
        endpoint_url: None,
        profile: None,
    };

    #[test]
    fn an_empty_credential_chain_is_no_credentials() {
        let err = credentials(CredentialsError::not_loaded(
            "no credentials found in chain",
        ));
        assert_eq!(problem(&err), Some(Problem::NoCredentials));
    }

    #[test]
    fn a_token_error_under_the_profile_provider_is_an_sso_login() {
        // The profile provider wraps the SSO provider's error, which wraps the token's.
        let token = TokenError::provider_error("the SSO token has expired and cannot be refreshed");
        let err = credentials(CredentialsError::provider_error(
            CredentialsError::provider_error(token),
        ));
        assert_eq!(problem(&err), Some(Problem::SsoLogin));
        // Another provider's failure (a credential_process exiting 1) is not.
        let other = credentials(CredentialsError::provider_error("process exited 1"));
        assert_eq!(problem(&other), None);
    }

    #[test]
    fn an_invalid_profile_configuration_keeps_the_sdks_reason() {
        let err = credentials(CredentialsError::invalid_configuration("missing role_arn"));
        assert_eq!(
            problem(&err),
            Some(Problem::ProfileInvalid("missing role_arn".into()))
        );
    }

    #[test]
    fn connector_io_errors_are_unreachable_and_timeouts_timed_out() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused here");
        let err: Err = SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        assert_eq!(
            problem(&err),
            Some(Problem::Unreachable {
                cause: "refused here".into()
            })
        );
        let err: Err = SdkError::dispatch_failure(ConnectorError::timeout("slow".into()));
        assert_eq!(problem(&err), Some(Problem::TimedOut));
        let err: Err = SdkError::timeout_error("operation timeout");
        assert_eq!(problem(&err), Some(Problem::TimedOut));
        // A user error of the connector (a malformed request) is not the user's network.
        let err: Err = SdkError::dispatch_failure(ConnectorError::user("bad uri".into()));
        assert_eq!(problem(&err), None);
    }

    #[test]
    fn service_codes_for_expired_rejected_and_misdirected_credentials() {
        assert_eq!(
            problem(&service("ExpiredToken")),
            Some(Problem::CredentialsExpired {
                code: "ExpiredToken".into()
            })
        );
        assert_eq!(
            problem(&service("InvalidClientTokenId")),
            Some(Problem::KeyRejected {
                code: "InvalidClientTokenId".into()
            })
        );
        assert_eq!(
            problem(&service("PermanentRedirect")),
            Some(Problem::WrongRegion {
                code: "PermanentRedirect".into()
            })
        );
        assert_eq!(problem(&service("ValidationError")), None);
    }

    #[test]
    fn every_message_is_one_short_line_naming_the_fix() {
        let local = Target {
            endpoint_url: Some("http://127.0.0.1:4566"),
            profile: Some("dev"),
            ..AWS
        };
        let cases = [
            (Problem::NoCredentials, AWS, "AWS_ACCESS_KEY_ID"),
            (Problem::NoCredentials, local, "aws configure --profile dev"),
            (Problem::SsoLogin, local, "aws sso login --profile dev"),
            (Problem::SsoLogin, AWS, "run `aws sso login`"),
            (Problem::ProfileInvalid("x".into()), AWS, "~/.aws/config"),
            (
                Problem::CredentialsExpired { code: "c".into() },
                AWS,
                "fresh",
            ),
            (
                Problem::KeyRejected { code: "c".into() },
                AWS,
                "enable eu-west-1",
            ),
            (Problem::WrongRegion { code: "c".into() }, AWS, "region"),
            (
                Problem::Unreachable { cause: "c".into() },
                AWS,
                "cannot reach AWS CloudFormation in eu-west-1",
            ),
            (
                Problem::Unreachable { cause: "c".into() },
                local,
                "cannot reach http://127.0.0.1:4566",
            ),
            (Problem::TimedOut, AWS, "AWS CloudFormation in eu-west-1"),
        ];
        for (problem, target, fix) in cases {
            let line = problem.message(target);
            assert!(line.contains(fix), "{problem:?}: {line}");
            assert!(
                !line.contains('\n') && line.len() < 160,
                "{problem:?}: {line}"
            );
        }
    }
}

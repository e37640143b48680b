//! What the AWS commands share: the validated config, the region, the counted clients and the
//! checked identity.

use std::time::Instant;

use cdkrs::aws::{AwsArgs, Clients};
use cdkrs::engine::api::{checked_identity, CallerIdentity, Counting};
use cdkrs::engine::ui::TerminalUi;
use cdkrs::engine::Engine;
use cdkrs_stacks::Environment;

use super::{ConfigArg, Failure};

/// A command's AWS context, made once before any other call.
pub struct Context {
    /// The validated environment.
    pub config: Environment,
    /// The clients, counting their calls.
    pub clients: Counting<Clients>,
    /// Who the credentials belong to: checked against the config's `aws_account_id`.
    pub identity: CallerIdentity,
    /// When the command started (for the closing "N calls in T s" line).
    pub started: Instant,
}

impl Context {
    /// Loads and validates the config, resolves the region, builds the clients and checks the
    /// identity (one STS call) before anything else: credentials of another account than the
    /// config's `aws_account_id` stop here, whatever the command.
    pub async fn new(config: &ConfigArg, aws: &AwsArgs) -> Result<Context, Failure> {
        let started = Instant::now();
        let config = config.load()?;
        let region = aws.resolve_region(config.region().name)?;
        let sdk = aws.sdk_config(&region).await;
        let mut clients = Counting::new(Clients {
            profile: aws.selected_profile(),
            ..Clients::new(&sdk)
        });
        let identity = checked_identity(&clients, config.aws_account_id()).await?;
        clients.get_mut().bucket_owner = Some(identity.account.clone());
        Ok(Context {
            config,
            clients,
            identity,
            started,
        })
    }

    /// The engine over these clients and the terminal.
    pub fn engine<'a>(
        &'a self,
        ui: &'a mut TerminalUi,
    ) -> Engine<'a, Counting<Clients>, Counting<Clients>> {
        Engine {
            cfn: &self.clients,
            s3: &self.clients,
            ui,
        }
    }

    /// The closing line on stderr: how many AWS calls, how long.
    pub fn report_calls(&self) {
        eprintln!(
            "{}",
            cdkrs::engine::deploy::elapsed_note(self.started, self.clients.calls())
        );
    }

    /// `--role-arn`, checked against the identity: the role must be in the credentials'
    /// partition and account (CloudFormation is passed a role of the stack's own account).
    pub fn role_arn(&self, role: &RoleArg) -> anyhow::Result<Option<String>> {
        let Some(arn) = &role.role_arn else {
            return Ok(None);
        };
        check_role(arn, &self.identity)?;
        Ok(Some(arn.clone()))
    }
}

/// A role ARN against the caller: well formed, in the caller's partition and account.
fn check_role(arn: &str, identity: &CallerIdentity) -> anyhow::Result<()> {
    let parts = RoleArnParts::parse(arn).map_err(anyhow::Error::msg)?;
    let partition = identity.partition();
    if parts.partition != partition {
        anyhow::bail!(
            "--role-arn {arn} is in the `{}` partition, but the credentials work in \
             `{partition}`: write arn:{partition}:iam::{}:role/…",
            parts.partition,
            identity.account
        );
    }
    if parts.account != identity.account {
        anyhow::bail!(
            "--role-arn {arn} belongs to account {}, the stack to account {}: CloudFormation \
             takes a service role of the stack's own account",
            parts.account,
            identity.account
        );
    }
    Ok(())
}

/// `--role-arn`: the CloudFormation service role of the commands that change a stack.
#[derive(Debug, Default, clap::Args)]
pub struct RoleArg {
    /// A CloudFormation service role (arn:PARTITION:iam::ACCOUNT:role/NAME) that CloudFormation
    /// assumes to create, update and delete the stack's resources, instead of the caller's
    /// credentials. Default: the role the stack was last deployed with, if any.
    #[arg(long, value_name = "ARN", value_parser = role_arn)]
    pub role_arn: Option<String>,
}

/// The parts of an IAM role ARN that are checked.
#[derive(Debug, PartialEq, Eq)]
struct RoleArnParts<'a> {
    partition: &'a str,
    account: &'a str,
}

impl<'a> RoleArnParts<'a> {
    /// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` (IAM's ARN format:
    /// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html), else why not.
    fn parse(arn: &'a str) -> Result<RoleArnParts<'a>, String> {
        let bad = |why: &str| {
            format!(
                "--role-arn `{arn}` is not an IAM role ARN ({why}): write \
                 arn:PARTITION:iam::ACCOUNT:role/NAME, e.g. \
                 arn:aws:iam::123456789012:role/cdkrs-deploy"
            )
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(bad("it has fewer than six `:`-separated parts"));
        };
        let partition_ok = *partition == "aws"
            || partition.strip_prefix("aws-").is_some_and(|rest| {
                rest.split('-')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            });
        if *prefix != "arn" || !partition_ok {
            return Err(bad(
                "it must start with arn:aws, arn:aws-cn, arn:aws-us-gov, …",
            ));
        }
        if *service != "iam" || !region.is_empty() {
            return Err(bad(
                "the service must be iam, with an empty region: `:iam::`",
            ));
        }
        if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad("the account must be 12 digits"));
        }
        let Some(path_name) = resource.strip_prefix("role/") else {
            return Err(bad("the resource must be role/NAME"));
        };
        let name = path_name.rsplit('/').next().unwrap_or_default();
        let name_ok = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !name_ok {
            return Err(bad(
                "a role name has 1 to 64 letters, digits and the characters +=,.@_-",
            ));
        }
        Ok(RoleArnParts { partition, account })
    }
}

/// The clap parser of `--role-arn`: the form only (partition and account are checked against
/// the identity, in [`Context::role_arn`]).
fn role_arn(s: &str) -> Result<String, String> {
    RoleArnParts::parse(s).map(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_of_every_partition_parse_and_malformed_ones_name_the_flag() {
        for arn in [
            "arn:aws:iam::123456789012:role/cdkrs-deploy",
            "arn:aws-cn:iam::123456789012:role/path/to/Deploy.Role",
            "arn:aws-us-gov:iam::123456789012:role/r",
            "arn:aws-iso-b:iam::123456789012:role/r",
        ] {
            assert!(RoleArnParts::parse(arn).is_ok(), "{arn}");
        }
        assert_eq!(
            RoleArnParts::parse("arn:aws-cn:iam::123456789012:role/r").unwrap(),
            RoleArnParts {
                partition: "aws-cn",
                account: "123456789012"
            }
        );
        for (arn, why) in [
            ("cdkrs-deploy", "fewer than six"),
            ("arn:azure:iam::123456789012:role/r", "arn:aws-cn"),
            ("arn:aws:s3:::123456789012:role/r", "`:iam::`"),
            ("arn:aws:iam:eu-west-1:123456789012:role/r", "`:iam::`"),
            ("arn:aws:iam::12345:role/r", "12 digits"),
            ("arn:aws:iam::123456789012:user/r", "role/NAME"),
            ("arn:aws:iam::123456789012:role/", "1 to 64"),
            ("arn:aws:iam::123456789012:role/a b", "1 to 64"),
        ] {
            let err = RoleArnParts::parse(arn).unwrap_err();
            assert!(
                err.contains(&format!("--role-arn `{arn}`")) && err.contains(why),
                "{arn}: {err}"
            );
        }
    }

    #[test]
    fn a_role_of_another_partition_or_account_is_refused_naming_both() {
        let caller = CallerIdentity {
            account: "123456789012".into(),
            arn: "arn:aws-cn:iam::123456789012:user/me".into(),
        };
        assert!(check_role("arn:aws-cn:iam::123456789012:role/deploy", &caller).is_ok());
        let err = check_role("arn:aws:iam::123456789012:role/deploy", &caller)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`aws` partition") && err.contains("arn:aws-cn:iam::123456789012"),
            "{err}"
        );
        let err = check_role("arn:aws-cn:iam::210987654321:role/deploy", &caller)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("account 210987654321") && err.contains("account 123456789012"),
            "{err}"
        );
    }
}

//! Every rule of a parsed [`Config`], checked at once: each problem comes back with its path,
//! the value as written and the rule (with the fix where there is an obvious one).
//!
//! ```
//! let mut config = cdkrs_stacks::load::parse(include_str!("../../examples/databricks.yaml")).unwrap();
//! config.region = "Europe".into();
//! let errors = cdkrs_stacks::validate::validate(&config).unwrap_err();
//! assert_eq!(
//!     errors.0[0].to_string(),
//!     "region: `Europe`: not an AWS region name; use one like `eu-west-1`"
//! );
//! ```

use cdkrs_constructs::bucket::bucket_name_problem;
use cdkrs_constructs::vpc::{self, VpcProps};
use cdkrs_constructs::ConstructError;
use ipnet::Ipv4Net;

use crate::config::{
    Azs, ClusterConfig, Config, DatabricksConfig, EbsVolumeType, NetworkConfig, SecretRef,
};
use crate::environment::storage::BUCKET_SUFFIXES;
use crate::load::{field_path, index_path, ConfigError, ConfigErrors};

/// The IAM role name suffixes: each role is named `<prefix>-<suffix>`.
pub const ROLE_SUFFIXES: &[&str] = &[
    "cross-account",
    "log-delivery",
    "meta",
    "data-read",
    "data-write",
    "provider",
];

/// The longest S3 bucket name.
pub const MAX_BUCKET_NAME: usize = 63;
/// The longest IAM role name.
pub const MAX_ROLE_NAME: usize = 64;
/// The most tags a config may give: CloudFormation allows 50 per resource, and the constructs
/// add a few of their own (`Name`, `resource_name`).
pub const MAX_TAGS: usize = 45;
/// Tag keys the stack sets itself.
pub const RESERVED_TAG_KEYS: &[&str] = &["Name", "resource_name"];
/// The fewest availability zones (the private subnets must survive the loss of one).
pub const MIN_AZS: usize = vpc::MIN_AZS;
/// The most availability zones (no region has more).
pub const MAX_AZS: usize = 6;
/// The largest Databricks subnet (smallest prefix length).
pub const DATABRICKS_SUBNET_MIN_PREFIX: u8 = 17;
/// The smallest Databricks subnet (largest prefix length).
pub const DATABRICKS_SUBNET_MAX_PREFIX: u8 = 26;
/// The flow-log aggregation intervals AWS offers, in seconds.
pub const FLOW_LOG_INTERVALS: &[i64] = &[60, 600];
/// The most workers the config allows a cluster to scale to.
pub const MAX_WORKERS: i64 = 1000;
/// The longest SSM parameter name.
pub const MAX_SSM_NAME: usize = 2048;

/// A stand-in account id for length checks when the config names none (every id has 12 digits).
const SAMPLE_ACCOUNT: &str = "123456789012";

/// Checks every rule of `config` and lists every problem.
pub fn validate(config: &Config) -> Result<(), ConfigErrors> {
    let mut e = Errors::default();
    let prefix_ok = check_prefix(&mut e, &config.prefix);
    let region_ok = check_region(&mut e, "region", &config.region);
    if let Some(account) = &config.aws_account_id {
        if !is_account_id(account) {
            e.push(
                "aws_account_id",
                account,
                "an AWS account id has exactly 12 digits; quote it so leading zeros stay \
                 (`'012345678901'`)",
            );
        }
    }
    if prefix_ok && region_ok {
        check_composed_names(&mut e, config);
    }
    check_tags(&mut e, config);
    check_network(
        &mut e,
        &config.network,
        region_ok.then_some(&*config.region),
    );
    check_databricks(&mut e, &config.databricks);
    if e.0.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(e.0))
    }
}

#[derive(Default)]
struct Errors(Vec<ConfigError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, value: impl Into<String>, rule: impl Into<String>) {
        self.0.push(ConfigError::new(path, value, rule));
    }
}

fn check_prefix(e: &mut Errors, prefix: &str) -> bool {
    let before = e.0.len();
    if prefix.is_empty() {
        e.push(
            "prefix",
            "",
            "the prefix is empty; use lowercase letters, digits and hyphens (`acme-dev`)",
        );
        return false;
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if !prefix.chars().all(allowed) {
        let lower = prefix.to_ascii_lowercase();
        let rule = if lower.chars().all(allowed) {
            format!("the prefix may hold only lowercase letters, digits and hyphens: use `{lower}`")
        } else {
            "the prefix may hold only lowercase letters, digits and hyphens".to_owned()
        };
        e.push("prefix", prefix, rule);
    }
    if !prefix.starts_with(|c: char| c.is_ascii_alphabetic()) {
        e.push("prefix", prefix, "the prefix must start with a letter");
    }
    if prefix.ends_with('-') {
        e.push("prefix", prefix, "the prefix must not end with a hyphen");
    }
    e.0.len() == before
}

/// `^[a-z]{2}(-gov)?-[a-z]+-\d$`.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    let (country, rest) = match parts.as_slice() {
        [c, "gov", area, n] => (*c, [*area, *n]),
        [c, area, n] => (*c, [*area, *n]),
        _ => return false,
    };
    country.len() == 2
        && lower(country)
        && lower(rest[0])
        && rest[1].len() == 1
        && rest[1].chars().all(|c| c.is_ascii_digit())
}

fn check_region(e: &mut Errors, path: &str, region: &str) -> bool {
    if is_region(region) {
        return true;
    }
    e.push(
        path,
        region,
        "not an AWS region name; use one like `eu-west-1`",
    );
    false
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

/// Bucket and role names built from the prefix, the account and the region.
fn check_composed_names(e: &mut Errors, config: &Config) {
    let prefix = &config.prefix;
    let account = config
        .aws_account_id
        .as_deref()
        .filter(|a| is_account_id(a))
        .unwrap_or(SAMPLE_ACCOUNT);
    let bucket = |suffix: &str| format!("{prefix}-{suffix}-{account}-{}", config.region);
    let longest = BUCKET_SUFFIXES
        .iter()
        .map(|s| bucket(s))
        .max_by_key(String::len)
        .unwrap_or_default();
    if longest.len() > MAX_BUCKET_NAME {
        let fixed = longest.len() - prefix.len();
        e.push(
            "prefix",
            prefix.as_str(),
            format!(
                "the longest bucket name `{longest}` has {} characters; S3 allows \
                 {MAX_BUCKET_NAME}: use a prefix of at most {} characters in {}",
                longest.len(),
                MAX_BUCKET_NAME.saturating_sub(fixed),
                config.region
            ),
        );
    } else if let Some((name, problem)) = BUCKET_SUFFIXES
        .iter()
        .map(|s| bucket(s))
        .find_map(|n| bucket_name_problem(&n).map(|p| (n, p)))
    {
        e.push(
            "prefix",
            prefix.as_str(),
            format!("it makes the bucket name `{name}`, which {problem}"),
        );
    }
    let role = ROLE_SUFFIXES
        .iter()
        .map(|s| format!("{prefix}-{s}"))
        .max_by_key(String::len)
        .unwrap_or_default();
    if role.len() > MAX_ROLE_NAME {
        let fixed = role.len() - prefix.len();
        e.push(
            "prefix",
            prefix.as_str(),
            format!(
                "the longest IAM role name `{role}` has {} characters; IAM allows \
                 {MAX_ROLE_NAME}: use a prefix of at most {} characters",
                role.len(),
                MAX_ROLE_NAME.saturating_sub(fixed)
            ),
        );
    }
}

/// Tag keys and values: letters, digits, spaces and `_ . : / = + - @` (AWS's tag alphabet).
fn tag_text_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

fn check_tags(e: &mut Errors, config: &Config) {
    let tags = &config.tags;
    if tags.len() > MAX_TAGS {
        e.push(
            "tags",
            "",
            format!(
                "{} tags; give at most {MAX_TAGS} (CloudFormation allows 50 per resource and \
                 the stack adds its own)",
                tags.len()
            ),
        );
    }
    for (key, value) in tags {
        let path = field_path("tags", key);
        let chars = key.chars().count();
        if !(1..=128).contains(&chars) {
            e.push(
                &path,
                key,
                format!("a tag key has 1 to 128 characters, not {chars}"),
            );
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            e.push(
                &path,
                key,
                "tag keys starting with `aws:` are reserved for AWS",
            );
        }
        if RESERVED_TAG_KEYS.contains(&key.as_str()) {
            e.push(
                &path,
                key,
                format!("the stack sets the `{key}` tag of its resources itself; use another key"),
            );
        }
        if !tag_text_ok(key) {
            e.push(
                &path,
                key,
                "a tag key may hold letters, digits, spaces and `_ . : / = + - @`",
            );
        }
        let chars = value.chars().count();
        if chars > 256 {
            e.push(
                &path,
                value,
                format!("a tag value has at most 256 characters, not {chars}"),
            );
        }
        if !tag_text_ok(value) {
            e.push(
                &path,
                value,
                "a tag value may hold letters, digits, spaces and `_ . : / = + - @`",
            );
        }
    }
}

/// A CIDR block as written: it parses and has no host bits set.
fn parse_cidr(e: &mut Errors, path: &str, text: &str) -> Option<Ipv4Net> {
    let Ok(net) = text.trim().parse::<Ipv4Net>() else {
        e.push(
            path,
            text,
            "not an IPv4 CIDR block; write it like `10.0.0.0/16`",
        );
        return None;
    };
    if net.addr() != net.network() {
        e.push(
            path,
            text,
            format!(
                "host bits are set; write the network address `{}`",
                net.trunc()
            ),
        );
        return None;
    }
    Some(net)
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(b) || b.contains(a)
}

fn check_network(e: &mut Errors, n: &NetworkConfig, region: Option<&str>) {
    let before = e.0.len();
    let vpc = parse_cidr(e, "network.vpc_cidr", &n.vpc_cidr).filter(|net| {
        let prefix = net.prefix_len();
        let ok = (vpc::MIN_PREFIX..=vpc::MAX_PREFIX).contains(&prefix);
        if !ok {
            e.push(
                "network.vpc_cidr",
                n.vpc_cidr.as_str(),
                format!(
                    "a VPC is /{} to /{}, not /{prefix}",
                    vpc::MIN_PREFIX,
                    vpc::MAX_PREFIX
                ),
            );
        }
        ok
    });

    let zones = check_azs(e, &n.azs, region);

    let mut private = Vec::new();
    if let Some(list) = &n.private_subnets {
        if list.len() != zones {
            e.push(
                "network.private_subnets",
                "",
                format!(
                    "{} subnet(s) for {zones} availability zone(s); give exactly one per zone",
                    list.len()
                ),
            );
        }
        for (i, text) in list.iter().enumerate() {
            let path = index_path("network.private_subnets", i);
            let Some(net) = parse_cidr(e, &path, text) else {
                continue;
            };
            let prefix = net.prefix_len();
            if !(DATABRICKS_SUBNET_MIN_PREFIX..=DATABRICKS_SUBNET_MAX_PREFIX).contains(&prefix) {
                e.push(
                    &path,
                    text,
                    format!(
                        "a Databricks subnet must be /{DATABRICKS_SUBNET_MIN_PREFIX} to \
                         /{DATABRICKS_SUBNET_MAX_PREFIX}"
                    ),
                );
            }
            if let Some(v) = &vpc {
                if !v.contains(&net) {
                    e.push(&path, text, format!("the subnet lies outside the VPC {v}"));
                }
            }
            if let Some((j, other)) = private.iter().find(|(_, other)| overlaps(other, &net)) {
                e.push(
                    &path,
                    text,
                    format!(
                        "overlaps network.private_subnets[{j}] ({other}); subnets must not overlap"
                    ),
                );
            }
            private.push((i, net));
        }
    }

    if let Some(text) = &n.public_subnet {
        let path = "network.public_subnet";
        if let Some(net) = parse_cidr(e, path, text) {
            let prefix = net.prefix_len();
            if !(vpc::MIN_PREFIX..=vpc::MAX_PREFIX).contains(&prefix) {
                e.push(
                    path,
                    text,
                    format!(
                        "a subnet is /{} to /{}, not /{prefix}",
                        vpc::MIN_PREFIX,
                        vpc::MAX_PREFIX
                    ),
                );
            }
            if let Some(v) = &vpc {
                if !v.contains(&net) {
                    e.push(path, text, format!("the subnet lies outside the VPC {v}"));
                }
            }
            if let Some((j, other)) = private.iter().find(|(_, p)| overlaps(p, &net)) {
                e.push(
                    path,
                    text,
                    format!(
                        "overlaps network.private_subnets[{j}] ({other}); subnets must not overlap"
                    ),
                );
            }
        }
    }

    if !FLOW_LOG_INTERVALS.contains(&n.flow_log_interval_secs) {
        e.push(
            "network.flow_log_interval_secs",
            n.flow_log_interval_secs.to_string(),
            "a flow log aggregates over 60 or 600 seconds",
        );
    }

    // The layout as the Vpc construct computes it (the derived subnets when none are given).
    if e.0.len() == before {
        if let Some(cidr) = vpc {
            check_layout(e, n, cidr);
        }
    }
}

/// Checks the zones; returns how many there are.
fn check_azs(e: &mut Errors, azs: &Azs, region: Option<&str>) -> usize {
    let count = match azs {
        Azs::Count(c) => usize::from(*c),
        Azs::Names(names) => names.len(),
    };
    let value = match azs {
        Azs::Count(c) => c.to_string(),
        Azs::Names(_) => String::new(),
    };
    if count < MIN_AZS {
        e.push(
            "network.azs",
            value.as_str(),
            format!(
                "{count} availability zone(s); use at least {MIN_AZS} so the workspace survives \
                 the loss of a zone"
            ),
        );
    } else if count > MAX_AZS {
        e.push(
            "network.azs",
            value.as_str(),
            format!("{count} availability zones; no region has more than {MAX_AZS}"),
        );
    }
    if let Azs::Names(names) = azs {
        for (i, name) in names.iter().enumerate() {
            let path = index_path("network.azs", i);
            if name.trim().is_empty() {
                e.push(
                    &path,
                    "",
                    "the zone name is empty; name a zone such as `eu-west-1a`",
                );
                continue;
            }
            if let Some(j) = names[..i].iter().position(|n| n == name) {
                e.push(
                    &path,
                    name,
                    format!("repeats network.azs[{j}]; each zone may appear once"),
                );
            }
            if let Some(region) = region {
                let letter = name.strip_prefix(region).is_some_and(|rest| {
                    rest.len() == 1 && rest.chars().all(|c| c.is_ascii_lowercase())
                });
                if !letter {
                    e.push(
                        &path,
                        name,
                        format!(
                            "not a zone of {region}; zone names are the region and a letter \
                             (`{region}a`)"
                        ),
                    );
                }
            }
        }
    }
    count
}

/// Runs the Vpc construct's own address planning and maps its errors to config paths.
fn check_layout(e: &mut Errors, n: &NetworkConfig, cidr: Ipv4Net) {
    let parse_all = |list: &[String]| -> Option<Vec<Ipv4Net>> {
        list.iter().map(|s| s.trim().parse().ok()).collect()
    };
    let private = match &n.private_subnets {
        Some(list) => match parse_all(list) {
            Some(nets) => Some(nets),
            None => return,
        },
        None => None,
    };
    let public = match &n.public_subnet {
        Some(s) => match s.trim().parse::<Ipv4Net>() {
            Ok(net) => Some(net),
            Err(_) => return,
        },
        None => None,
    };
    let props = VpcProps {
        cidr,
        azs: match &n.azs {
            Azs::Count(c) => vpc::Azs::Count(*c),
            Azs::Names(names) => vpc::Azs::Names(names.clone()),
        },
        private_subnets: private,
        public_subnet: public,
        ..VpcProps::default()
    };
    match props.subnet_plan() {
        Ok((derived, _)) => {
            if n.private_subnets.is_none() {
                if let Some(bad) = derived.iter().find(|net| {
                    !(DATABRICKS_SUBNET_MIN_PREFIX..=DATABRICKS_SUBNET_MAX_PREFIX)
                        .contains(&net.prefix_len())
                }) {
                    let largest_vpc = DATABRICKS_SUBNET_MAX_PREFIX - 2;
                    e.push(
                        "network.vpc_cidr",
                        n.vpc_cidr.as_str(),
                        format!(
                            "the private subnets derived from it are /{}, and a Databricks \
                             subnet must be /{DATABRICKS_SUBNET_MIN_PREFIX} to \
                             /{DATABRICKS_SUBNET_MAX_PREFIX}: use a VPC of /{largest_vpc} or \
                             larger, or give network.private_subnets",
                            bad.prefix_len()
                        ),
                    );
                }
            }
        }
        Err(err) => e.0.push(layout_error(n, err)),
    }
}

fn layout_error(n: &NetworkConfig, err: ConstructError) -> ConfigError {
    let field = err.field.as_str();
    let (path, value) = if field == "cidr" {
        ("network.vpc_cidr".to_owned(), n.vpc_cidr.clone())
    } else {
        let value = match (field, &n.public_subnet) {
            ("public_subnet", Some(p)) => p.clone(),
            _ => field
                .strip_prefix("private_subnets[")
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| n.private_subnets.as_ref().and_then(|l| l.get(i)))
                .cloned()
                .unwrap_or_default(),
        };
        (format!("network.{field}"), value)
    };
    ConfigError::new(path, value, err.message)
}

/// 8-4-4-4-12 hexadecimal digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `arn:aws[a-z-]*:secretsmanager:<region>:<12 digits>:secret:<name>`.
fn is_secret_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(7, ':').collect();
    let [arn, partition, service, region, account, kind, name] = parts.as_slice() else {
        return false;
    };
    *arn == "arn"
        && partition
            .strip_prefix("aws")
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        && *service == "secretsmanager"
        && is_region(region)
        && is_account_id(account)
        && *kind == "secret"
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
}

/// `/path/name` or `name`: letters, digits, `_ . - /`, at most 2048 characters.
fn is_ssm_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SSM_NAME
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        && (s.starts_with('/') || !s.contains('/'))
}

fn check_databricks(e: &mut Errors, d: &DatabricksConfig) {
    if !is_uuid(&d.account_id) {
        e.push(
            "databricks.account_id",
            d.account_id.as_str(),
            "a Databricks account id is a UUID (8-4-4-4-12 hexadecimal digits, as the account \
             console shows it)",
        );
    }
    let sp = &d.service_principal;
    if !is_uuid(&sp.client_id) {
        e.push(
            "databricks.service_principal.client_id",
            sp.client_id.as_str(),
            "a service principal's client id is a UUID (8-4-4-4-12 hexadecimal digits)",
        );
    }
    match &sp.secret {
        SecretRef::SecretsManager {
            secrets_manager_arn: arn,
        } => {
            if !is_secret_arn(arn) {
                e.push(
                    "databricks.service_principal.secret.secrets_manager_arn",
                    arn.as_str(),
                    "not a Secrets Manager secret ARN; expected \
                     `arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>`",
                );
            }
        }
        SecretRef::Ssm {
            ssm_parameter: name,
        } => {
            if !is_ssm_name(name) {
                e.push(
                    "databricks.service_principal.secret.ssm_parameter",
                    name.as_str(),
                    format!(
                        "not an SSM parameter name; use `/path/name` or a plain name of \
                         letters, digits, `_`, `.` and `-`, at most {MAX_SSM_NAME} characters"
                    ),
                );
            }
        }
    }

    let ws = &d.workspace.name;
    let ws_ok = (1..=64).contains(&ws.chars().count())
        && ws
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ' ');
    if !ws_ok {
        e.push(
            "databricks.workspace.name",
            ws.as_str(),
            "a workspace name has 1 to 64 letters, digits, hyphens, underscores and spaces",
        );
    }

    if d.groups.is_empty() {
        e.push(
            "databricks.groups",
            "",
            "give at least one group (the default is `Read only` and `All access`)",
        );
    }
    for (i, g) in d.groups.iter().enumerate() {
        let path = format!("{}.name", index_path("databricks.groups", i));
        let name = g.name.trim();
        if name.is_empty() {
            e.push(&path, "", "the group name is empty");
            continue;
        }
        if g.name.chars().count() > 100 {
            e.push(
                &path,
                g.name.as_str(),
                "a group name has at most 100 characters",
            );
        }
        if ["admins", "users"].contains(&name.to_lowercase().as_str()) {
            e.push(
                &path,
                g.name.as_str(),
                "every workspace already has the `admins` and `users` groups; use another name",
            );
        }
        if let Some(j) = d.groups[..i]
            .iter()
            .position(|o| o.name.trim().to_lowercase() == name.to_lowercase())
        {
            e.push(
                &path,
                g.name.as_str(),
                format!(
                    "repeats databricks.groups[{j}].name (group names ignore case); each group \
                     needs its own name"
                ),
            );
        }
    }

    check_cluster(e, &d.cluster);
}

/// `^\d+\.\d+\.x-(cpu-|gpu-|ml-|photon-|aarch64-)*scala2\.1[23]$`.
fn is_spark_version(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    let Some((version, mut rest)) = s.split_once(".x-") else {
        return false;
    };
    let Some((major, minor)) = version.split_once('.') else {
        return false;
    };
    if !digits(major) || !digits(minor) {
        return false;
    }
    while let Some(next) = ["cpu-", "gpu-", "ml-", "photon-", "aarch64-"]
        .iter()
        .find_map(|tag| rest.strip_prefix(tag))
    {
        rest = next;
    }
    rest == "scala2.12" || rest == "scala2.13"
}

/// An EC2 instance type: `<family>.<size>` (`r5.large`, `m5d.2xlarge`, `m7i-flex.large`).
fn is_instance_type(s: &str) -> bool {
    let Some((family, size)) = s.split_once('.') else {
        return false;
    };
    let word = |p: &str| {
        p.starts_with(|c: char| c.is_ascii_alphanumeric())
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    family.starts_with(|c: char| c.is_ascii_lowercase())
        && family.chars().any(|c| c.is_ascii_digit())
        && word(family)
        && word(size)
}

fn check_cluster(e: &mut Errors, c: &ClusterConfig) {
    const P: &str = "databricks.cluster";
    let name = c.name.trim();
    if name.is_empty() {
        e.push(format!("{P}.name"), "", "the cluster name is empty");
    } else if c.name.chars().count() > 100 {
        e.push(
            format!("{P}.name"),
            c.name.as_str(),
            "a cluster name has at most 100 characters",
        );
    }
    if !is_spark_version(&c.spark_version) {
        e.push(
            format!("{P}.spark_version"),
            c.spark_version.as_str(),
            "not a Databricks runtime version; use one like `14.3.x-scala2.12`",
        );
    }
    if !is_instance_type(&c.node_type) {
        e.push(
            format!("{P}.node_type"),
            c.node_type.as_str(),
            "not an EC2 instance type; use one like `r5.large`",
        );
    }
    if let Some(driver) = &c.driver_node_type {
        if !is_instance_type(driver) {
            e.push(
                format!("{P}.driver_node_type"),
                driver.as_str(),
                "not an EC2 instance type; use one like `r5.large`",
            );
        }
    }

    let a = &c.autoscale;
    if a.min_workers < 0 {
        e.push(
            format!("{P}.autoscale.min_workers"),
            a.min_workers.to_string(),
            "the fewest workers cannot be negative",
        );
    }
    if a.max_workers > MAX_WORKERS {
        e.push(
            format!("{P}.autoscale.max_workers"),
            a.max_workers.to_string(),
            format!("at most {MAX_WORKERS} workers"),
        );
    }
    if a.min_workers > a.max_workers {
        e.push(
            format!("{P}.autoscale"),
            format!("{}..{}", a.min_workers, a.max_workers),
            "min_workers is greater than max_workers; swap them",
        );
    } else if a.min_workers == a.max_workers {
        e.push(
            format!("{P}.autoscale"),
            format!("{}..{}", a.min_workers, a.max_workers),
            "autoscaling needs max_workers greater than min_workers (Databricks refuses equal \
             bounds)",
        );
    }

    let t = c.autotermination_minutes;
    if t != 0 && !(10..=10_000).contains(&t) {
        e.push(
            format!("{P}.autotermination_minutes"),
            t.to_string(),
            "use 10 to 10000 minutes, or 0 to never terminate",
        );
    }
    if c.first_on_demand < 0 {
        e.push(
            format!("{P}.first_on_demand"),
            c.first_on_demand.to_string(),
            "the number of on-demand nodes cannot be negative",
        );
    }
    if !(1..=10_000).contains(&c.spot_bid_price_percent) {
        e.push(
            format!("{P}.spot_bid_price_percent"),
            c.spot_bid_price_percent.to_string(),
            "the spot bid is 1 to 10000 percent of the on-demand price",
        );
    }

    let ebs = &c.ebs_volumes;
    if !(0..=10).contains(&ebs.count) {
        e.push(
            format!("{P}.ebs_volumes.count"),
            ebs.count.to_string(),
            "use 0 to 10 EBS volumes per node",
        );
    }
    let (lo, hi) = match ebs.volume_type {
        EbsVolumeType::GeneralPurposeSsd => (32, 4096),
        EbsVolumeType::ThroughputOptimizedHdd => (500, 4096),
    };
    if ebs.count > 0 && !(lo..=hi).contains(&ebs.size_gb) {
        e.push(
            format!("{P}.ebs_volumes.size_gb"),
            ebs.size_gb.to_string(),
            format!("a {} volume has {lo} to {hi} GB", ebs.volume_type.as_str()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "eu-west-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "il-central-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "eu-west",
            "EU-west-1",
            "eu-west-12",
            "eur-west-1",
            "eu--1",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn spark_versions() {
        for ok in [
            "14.3.x-scala2.12",
            "15.4.x-photon-scala2.12",
            "14.3.x-gpu-ml-scala2.12",
            "16.4.x-scala2.13",
        ] {
            assert!(is_spark_version(ok), "{ok}");
        }
        for bad in [
            "14.3-scala2.12",
            "14.3.x-scala2.11",
            "x.3.x-scala2.12",
            "14.3.x-",
        ] {
            assert!(!is_spark_version(bad), "{bad}");
        }
    }

    #[test]
    fn instance_types() {
        for ok in [
            "r5.large",
            "m5d.2xlarge",
            "i3en.24xlarge",
            "m7i-flex.large",
            "u-6tb1.metal",
        ] {
            assert!(is_instance_type(ok), "{ok}");
        }
        for bad in [
            "",
            "large",
            "r5.",
            ".large",
            "R5.large",
            "r.large",
            "r5.large.x",
        ] {
            assert!(!is_instance_type(bad), "{bad}");
        }
    }

    #[test]
    fn secrets() {
        assert!(is_secret_arn(
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/sp-AbCdEf"
        ));
        assert!(is_secret_arn(
            "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x"
        ));
        assert!(!is_secret_arn(
            "arn:aws:ssm:eu-west-1:123456789012:secret:x"
        ));
        assert!(!is_secret_arn(
            "arn:aws:secretsmanager:eu-west-1:1234:secret:x"
        ));
        assert!(is_ssm_name("/databricks/sp-secret"));
        assert!(is_ssm_name("sp-secret"));
        assert!(!is_ssm_name("databricks/sp"));
        assert!(!is_ssm_name("/a b"));
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("00000000-0000-4000-8000-000000000000"));
        assert!(is_uuid("ABCDEF00-0000-4000-8000-000000000000"));
        assert!(!is_uuid("00000000-0000-4000-8000-00000000000"));
        assert!(!is_uuid("00000000000040008000000000000000"));
        assert!(!is_uuid("g0000000-0000-4000-8000-000000000000"));
    }
}

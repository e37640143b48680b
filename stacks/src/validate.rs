//! Every rule of a parsed [`Config`], checked at once, and the typed [`Environment`] a valid
//! config becomes: each problem comes back with its path, the value as written and the rule
//! (with the fix where there is an obvious one). The rules know AWS and Databricks through the
//! region table ([`crate::regions`]) and the facts of [`crate::rules`]; the last one builds the
//! stack (without its groups) to check CloudFormation's resource limit before synth would.
//!
//! ```
//! let mut config = cdkrs_stacks::load::parse(include_str!("../../examples/databricks.yaml")).unwrap();
//! config.region = "eu-wset-1".into();
//! let errors = cdkrs_stacks::validate::validate(&config).unwrap_err();
//! assert_eq!(
//!     errors.0[0].to_string(),
//!     "region: `eu-wset-1`: not an AWS region; did you mean `eu-west-1`?"
//! );
//! ```

use std::collections::{BTreeMap, HashMap};

use cdkrs_constructs::bucket::bucket_name_problem;
use cdkrs_constructs::limits;
use cdkrs_constructs::vpc::{self, Azs, Nat};
use cdkrs_constructs::ConstructError;
use ipnet::Ipv4Net;

use crate::config::{
    ClusterConfig, Config, DatabricksConfig, Governance, NetworkConfig, SecretRef,
};
use crate::environment;
use crate::error::{field_path, index_path, or_list, quoted, suggest, ConfigError, ConfigErrors};
use crate::model::{BucketName, Environment, Layer, Names, Network, RoleName};
use crate::regions::{self, Region, REGIONS};
use crate::rules::{self, *};

/// Checks every rule of `config`, lists every problem, and returns the environment it
/// describes.
pub fn validate(config: &Config) -> Result<Environment, ConfigErrors> {
    let mut e = Errors::default();
    let names = Names::new(&config.prefix);
    let prefix_ok = check_prefix(&mut e, &config.prefix);
    let region = check_region(&mut e, &config.region);
    let account = match &config.aws_account_id {
        Some(account) if !is_account_id(account) => {
            e.push(
                "aws_account_id",
                account,
                "an AWS account id has exactly 12 digits; quote it so leading zeros stay \
                 (`'012345678901'`)",
            );
            None
        }
        other => other.as_deref(),
    };
    if let (true, Some(region)) = (prefix_ok, region) {
        check_composed_names(&mut e, &names, account, region);
    }
    check_tags(&mut e, &config.tags);
    let network = check_network(&mut e, &config.network, region);
    check_databricks(&mut e, &config.databricks, region, account);

    let (Some(region), Some(network), true) = (region, network, e.0.is_empty()) else {
        debug_assert!(!e.0.is_empty(), "a part failed without saying why");
        return Err(ConfigErrors(e.0));
    };
    let env = Environment {
        names,
        region,
        aws_account_id: config.aws_account_id.clone(),
        tags: config.tags.clone(),
        network,
        network_asleep: config.network_asleep,
        encryption: config.encryption.clone(),
        databricks: config.databricks.clone(),
    };
    check_resource_count(&env)?;
    Ok(env)
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

/// The region of the table, or why not: GovCloud and other partitions by name, a region
/// Databricks does not support as such, and a typo with the closest supported region.
fn check_region(e: &mut Errors, name: &str) -> Option<&'static Region> {
    if let Some(region) = regions::region(name) {
        return Some(region);
    }
    let supported = || or_list(&quoted(REGIONS.iter().map(|r| r.name)));
    let rule = if regions::GOVCLOUD_REGIONS.contains(&name) {
        "GovCloud is not supported: Databricks there runs in the `aws-us-gov` partition from \
         other AWS accounts, which this environment's policies and trust relationships do not \
         name; use a commercial region"
            .to_owned()
    } else if let Some((_, partition)) = regions::OTHER_PARTITION_REGIONS
        .iter()
        .find(|(n, _)| *n == name)
    {
        format!(
            "a region of the `{partition}` partition, where Databricks does not run; use one of {}",
            supported()
        )
    } else if regions::AWS_REGIONS_WITHOUT_DATABRICKS.contains(&name) {
        format!(
            "an AWS region Databricks does not support; use one of {}",
            supported()
        )
    } else if let Some(close) = suggest(name, REGIONS.iter().map(|r| r.name)) {
        format!("not an AWS region; did you mean `{close}`?")
    } else {
        "not an AWS region name; use one like `eu-west-1`".to_owned()
    };
    e.push("region", name, rule);
    None
}

/// Bucket and role names built from the prefix, the account and the region.
fn check_composed_names(e: &mut Errors, names: &Names, account: Option<&str>, region: &Region) {
    let prefix = names.prefix();
    let account = account.unwrap_or(SAMPLE_ACCOUNT);
    let buckets: Vec<String> = BucketName::ALL
        .iter()
        .map(|b| names.bucket(*b, account, region.name))
        .collect();
    let longest = buckets
        .iter()
        .max_by_key(|n| n.len())
        .cloned()
        .unwrap_or_default();
    if longest.len() > MAX_BUCKET_NAME {
        e.push(
            "prefix",
            prefix,
            format!(
                "the longest bucket name `{longest}` has {} characters; S3 allows \
                 {MAX_BUCKET_NAME}: use a prefix of at most {} characters in {}",
                longest.len(),
                MAX_BUCKET_NAME.saturating_sub(longest.len() - prefix.len()),
                region.name
            ),
        );
    } else if let Some((name, problem)) = buckets
        .iter()
        .find_map(|n| bucket_name_problem(n).map(|p| (n, p)))
    {
        e.push(
            "prefix",
            prefix,
            format!("it makes the bucket name `{name}`, which {problem}"),
        );
    }
    let longest_catalog = Layer::ALL
        .iter()
        .map(|l| names.catalog(*l))
        .max_by_key(String::len)
        .unwrap_or_default();
    if longest_catalog.len() > MAX_UNITY_CATALOG_NAME {
        e.push(
            "prefix",
            prefix,
            format!(
                "it makes the catalog name `{longest_catalog}` of {} characters; Unity Catalog \
                 allows {MAX_UNITY_CATALOG_NAME}",
                longest_catalog.len()
            ),
        );
    }
    let role = RoleName::ALL
        .iter()
        .map(|r| names.role(*r))
        .max_by_key(String::len)
        .unwrap_or_default();
    if role.len() > MAX_ROLE_NAME {
        e.push(
            "prefix",
            prefix,
            format!(
                "the longest IAM role name `{role}` has {} characters; IAM allows \
                 {MAX_ROLE_NAME}: use a prefix of at most {} characters",
                role.len(),
                MAX_ROLE_NAME.saturating_sub(role.len() - prefix.len())
            ),
        );
    }
}

fn check_tags(e: &mut Errors, tags: &BTreeMap<String, String>) {
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
        if !(1..=MAX_TAG_KEY).contains(&chars) {
            e.push(
                &path,
                key,
                format!("a tag key has 1 to {MAX_TAG_KEY} characters, not {chars}"),
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
        if !is_tag_text(key) {
            e.push(
                &path,
                key,
                "a tag key may hold letters, digits, spaces and `_ . : / = + - @`",
            );
        }
        let chars = value.chars().count();
        if chars > MAX_TAG_VALUE {
            e.push(
                &path,
                value,
                format!("a tag value has at most {MAX_TAG_VALUE} characters, not {chars}"),
            );
        }
        if !is_tag_text(value) {
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

/// The VPC layout, parsed once: the CIDR blocks, the zones of the region, and the subnet plan
/// of the Vpc construct (derived subnets included).
fn check_network(e: &mut Errors, n: &NetworkConfig, region: Option<&Region>) -> Option<Network> {
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
        // Pairwise overlap checks only for a list of a plausible length (a longer one is
        // already wrong): validation stays linear in the config.
        let compare = list.len() <= MAX_AZS;
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
            if let Some((j, other)) = private
                .iter()
                .filter(|_| compare)
                .find(|(_, other)| overlaps(other, &net))
            {
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

    let mut public = None;
    if let Some(text) = &n.public_subnet {
        let path = "network.public_subnet";
        if let Some(net) = parse_cidr(e, path, text) {
            public = Some(net);
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
            if let Some((j, other)) = private
                .iter()
                .take(MAX_AZS)
                .find(|(_, p)| overlaps(p, &net))
            {
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

    if e.0.len() != before {
        return None;
    }
    let network = Network {
        vpc_cidr: vpc?,
        azs: n.azs.clone(),
        private_subnets: n
            .private_subnets
            .as_ref()
            .map(|_| private.iter().map(|(_, net)| *net).collect()),
        public_subnet: public,
        flow_log_interval_secs: n.flow_log_interval_secs,
    };
    check_layout(e, n, &network).then_some(network)
}

/// Checks the zones against the region; returns how many there are.
fn check_azs(e: &mut Errors, azs: &Azs, region: Option<&Region>) -> usize {
    let count = azs.count();
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
    } else if let Some(r) = region.filter(|r| count > usize::from(r.usable_zones)) {
        e.push(
            "network.azs",
            value.as_str(),
            format!(
                "{count} availability zones, but {} offers an account {}; use at most {}",
                r.name, r.usable_zones, r.usable_zones
            ),
        );
    } else if count > MAX_AZS {
        e.push(
            "network.azs",
            value.as_str(),
            format!("{count} availability zones; no region offers more than {MAX_AZS}"),
        );
    }
    if let Azs::Names(names) = azs {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
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
            if let Some(j) = seen.get(name.as_str()) {
                e.push(
                    &path,
                    name,
                    format!("repeats network.azs[{j}]; each zone may appear once"),
                );
            } else {
                seen.insert(name, i);
            }
            if let Some(r) = region {
                if !r.zones.contains(&name.as_str()) {
                    e.push(&path, name, unknown_zone(name, r));
                }
            }
        }
    }
    count
}

/// Why `name` is not a zone of `region`, and which are.
fn unknown_zone(name: &str, region: &Region) -> String {
    let zones = or_list(&quoted(region.zones.iter().copied()));
    if let Some(other) = regions::region_of_zone(name) {
        return format!(
            "a zone of {}, not of {}; use {zones}",
            other.name, region.name
        );
    }
    match suggest(name, region.zones.iter().copied()) {
        Some(close) => format!("not a zone of {}; did you mean `{close}`?", region.name),
        None => format!("not a zone of {}; use {zones}", region.name),
    }
}

/// Runs the Vpc construct's own address planning on the parsed layout and maps its errors to
/// config paths.
fn check_layout(e: &mut Errors, n: &NetworkConfig, network: &Network) -> bool {
    match network.vpc_props(Nat::Disabled, Vec::new()).subnet_plan() {
        Ok((derived, _)) => {
            if n.private_subnets.is_some() {
                return true;
            }
            let Some(bad) = derived.iter().find(|net| {
                !(DATABRICKS_SUBNET_MIN_PREFIX..=DATABRICKS_SUBNET_MAX_PREFIX)
                    .contains(&net.prefix_len())
            }) else {
                return true;
            };
            let largest_vpc =
                DATABRICKS_SUBNET_MAX_PREFIX - vpc::private_subnet_bits(network.azs.count());
            e.push(
                "network.vpc_cidr",
                n.vpc_cidr.as_str(),
                format!(
                    "the private subnets derived from it are /{}, and a Databricks subnet must \
                     be /{DATABRICKS_SUBNET_MIN_PREFIX} to /{DATABRICKS_SUBNET_MAX_PREFIX}: use \
                     a VPC of /{largest_vpc} or larger, or give network.private_subnets",
                    bad.prefix_len()
                ),
            );
            false
        }
        Err(err) => {
            e.0.push(layout_error(n, err));
            false
        }
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

const SECRET_ARN_PATH: &str = "databricks.service_principal.secret.secrets_manager_arn";

/// The secret's ARN: well formed, in the stack's partition, region and account (the provider
/// reads it through its own region's endpoint and may decrypt only with its account's keys).
fn check_secret_arn(e: &mut Errors, arn: &str, region: Option<&Region>, account: Option<&str>) {
    let Some(parts) = rules::secret_arn(arn) else {
        e.push(
            SECRET_ARN_PATH,
            arn,
            "not a Secrets Manager secret ARN; expected \
             `arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>`",
        );
        return;
    };
    if let Some(r) = region {
        if parts.region != r.name {
            e.push(
                SECRET_ARN_PATH,
                arn,
                format!(
                    "the secret is in {}, the stack in {}: the provider reads it in its own \
                     region; replicate the secret to {} and give the replica's ARN \
                     (`arn:{}:secretsmanager:{}:…`)",
                    parts.region, r.name, r.name, r.partition, r.name
                ),
            );
        } else if parts.partition != r.partition {
            e.push(
                SECRET_ARN_PATH,
                arn,
                format!(
                    "the ARN names the `{}` partition, the stack's region {} is in `{}`; write \
                     `arn:{}:secretsmanager:…`",
                    parts.partition, r.name, r.partition, r.partition
                ),
            );
        }
    }
    if let Some(account) = account.filter(|a| *a != parts.account) {
        e.push(
            SECRET_ARN_PATH,
            arn,
            format!(
                "the secret belongs to account {}, the stack to aws_account_id {account}: the \
                 provider may decrypt only with its own account's keys; store the secret in \
                 {account}",
                parts.account
            ),
        );
    }
}

fn check_databricks(
    e: &mut Errors,
    d: &DatabricksConfig,
    region: Option<&Region>,
    account: Option<&str>,
) {
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
        } => check_secret_arn(e, arn, region, account),
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

    let ws = &d.workspace;
    if !is_workspace_name(&ws.name) {
        e.push(
            "databricks.workspace.name",
            ws.name.as_str(),
            format!(
                "a workspace name has 1 to {MAX_WORKSPACE_NAME} letters, digits, hyphens, \
                 underscores and spaces"
            ),
        );
    }
    if !CMK_PRICING_TIERS.contains(&ws.pricing_tier) {
        let tiers = quoted(CMK_PRICING_TIERS.iter().map(|t| t.as_str()));
        e.push(
            "databricks.workspace.pricing_tier",
            ws.pricing_tier.as_str(),
            format!(
                "the stack encrypts workspace storage with a customer-managed key (StorageKey), \
                 which Databricks allows only on the {} tier; use {}",
                or_list(&tiers),
                or_list(&tiers)
            ),
        );
    }

    if d.groups.is_empty() {
        e.push(
            "databricks.groups",
            "",
            "give at least one group (the default is `Read only` and `All access`)",
        );
    }
    // First index of each name, ignoring case: one pass, however many groups.
    let mut first: HashMap<String, usize> = HashMap::with_capacity(d.groups.len());
    for (i, g) in d.groups.iter().enumerate() {
        let path = format!("{}.name", index_path("databricks.groups", i));
        let name = g.name.trim();
        if name.is_empty() {
            e.push(&path, "", "the group name is empty");
            continue;
        }
        if g.name.chars().count() > MAX_NAME {
            e.push(
                &path,
                g.name.as_str(),
                format!("a group name has at most {MAX_NAME} characters"),
            );
        }
        let lower = name.to_lowercase();
        if RESERVED_GROUP_NAMES.contains(&lower.as_str()) {
            e.push(
                &path,
                g.name.as_str(),
                "every workspace already has the `admins` and `users` groups; use another name",
            );
        }
        match first.get(&lower) {
            Some(j) => e.push(
                &path,
                g.name.as_str(),
                format!(
                    "repeats databricks.groups[{j}].name (group names ignore case); each group \
                     needs its own name"
                ),
            ),
            None => {
                first.insert(lower, i);
            }
        }
    }

    check_cluster(e, &d.cluster, d.governance);
}

/// The runtime key's form, and whether the governance runs on it.
fn check_spark_version(e: &mut Errors, version: Option<&str>, governance: Governance) {
    const PATH: &str = "databricks.cluster.spark_version";
    let Some(version) = version else {
        return;
    };
    let default = governance.default_spark_version();
    let Some(number) = spark_version_number(version) else {
        e.push(
            PATH,
            version,
            format!(
                "not a Databricks runtime version (`<major>.<minor>.x[-variant]-scala<2.12 or \
                 2.13>`); use one like `{default}` (`databricks clusters spark-versions` lists \
                 a workspace's)"
            ),
        );
        return;
    };
    let (major, minor) = number;
    match governance {
        Governance::UnityCatalog if number < UNITY_CATALOG_MIN_RUNTIME => {
            let (m, n) = UNITY_CATALOG_MIN_RUNTIME;
            e.push(
                PATH,
                version,
                format!(
                    "governance unity_catalog runs the cluster in standard access mode, which \
                     needs Databricks Runtime {m}.{n} LTS or later (Scala, volumes and \
                     allow-listed libraries); use `{default}` (or omit spark_version), or set \
                     databricks.governance: legacy_passthrough"
                ),
            );
        }
        Governance::LegacyPassthrough if number >= PASSTHROUGH_END_RUNTIME => {
            let (m, n) = PASSTHROUGH_END_RUNTIME;
            e.push(
                PATH,
                version,
                format!(
                    "runtime {major}.{minor}: credential passthrough is deprecated from \
                     Databricks Runtime {m}.{n}; with governance legacy_passthrough use \
                     `{default}` (or omit spark_version), or move to governance unity_catalog"
                ),
            );
        }
        _ => {}
    }
}

fn check_cluster(e: &mut Errors, c: &ClusterConfig, governance: Governance) {
    const P: &str = "databricks.cluster";
    let name = c
        .name
        .as_deref()
        .unwrap_or(governance.default_cluster_name());
    if name.trim().is_empty() {
        e.push(format!("{P}.name"), "", "the cluster name is empty");
    } else if name.chars().count() > MAX_NAME {
        e.push(
            format!("{P}.name"),
            name,
            format!("a cluster name has at most {MAX_NAME} characters"),
        );
    }
    check_spark_version(e, c.spark_version.as_deref(), governance);
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
    if t != 0 && !AUTOTERMINATION_MINUTES.contains(&t) {
        e.push(
            format!("{P}.autotermination_minutes"),
            t.to_string(),
            format!(
                "use {} to {} minutes, or 0 to never terminate",
                AUTOTERMINATION_MINUTES.start(),
                AUTOTERMINATION_MINUTES.end()
            ),
        );
    }
    if c.first_on_demand < 0 {
        e.push(
            format!("{P}.first_on_demand"),
            c.first_on_demand.to_string(),
            "the number of on-demand nodes cannot be negative",
        );
    }
    if !SPOT_BID_PERCENT.contains(&c.spot_bid_price_percent) {
        e.push(
            format!("{P}.spot_bid_price_percent"),
            c.spot_bid_price_percent.to_string(),
            format!(
                "the spot bid is {} to {} percent of the on-demand price",
                SPOT_BID_PERCENT.start(),
                SPOT_BID_PERCENT.end()
            ),
        );
    }

    let ebs = &c.ebs_volumes;
    if !EBS_VOLUME_COUNT.contains(&ebs.count) {
        e.push(
            format!("{P}.ebs_volumes.count"),
            ebs.count.to_string(),
            format!(
                "use {} to {} EBS volumes per node",
                EBS_VOLUME_COUNT.start(),
                EBS_VOLUME_COUNT.end()
            ),
        );
    }
    let sizes = ebs_volume_size_gb(ebs.volume_type);
    if ebs.count > 0 && !sizes.contains(&ebs.size_gb) {
        e.push(
            format!("{P}.ebs_volumes.size_gb"),
            ebs.size_gb.to_string(),
            format!(
                "a {} volume has {} to {} GB",
                ebs.volume_type.as_str(),
                sizes.start(),
                sizes.end()
            ),
        );
    }
}

/// CloudFormation's resource limit, counted with the builder before synth would refuse the
/// template: the environment without its groups, plus what each group adds.
fn check_resource_count(env: &Environment) -> Result<(), ConfigErrors> {
    let base = environment::resources_without_groups(env).map_err(|err| {
        ConfigErrors::one(ConfigError::new(
            "",
            "",
            format!("the environment cannot be built: {err}"),
        ))
    })?;
    let per_group = environment::databricks::resources_per_group(env.governance());
    let groups = env.databricks.groups.len();
    let total = base + groups * per_group;
    if total <= limits::RESOURCES {
        return Ok(());
    }
    let most = limits::RESOURCES.saturating_sub(base) / per_group.max(1);
    Err(ConfigErrors::one(ConfigError::new(
        "databricks.groups",
        "",
        format!(
            "{groups} groups make the stack declare {total} resources, and CloudFormation \
             allows {} per stack: with the rest of this environment ({base} resources) give at \
             most {most} groups",
            limits::RESOURCES
        ),
    )))
}

//! Reading configs: the default config loads, the old names and string booleans still work,
//! every malformed config in `configs/` fails with exactly the expected errors (path, value and
//! rule), mutated configs never panic, and the JSON Schema is closed.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use cdkrs_constructs::vpc::{self, Azs};
use cdkrs_stacks::config::{Config, NetworkConfig, SecretRef, ALIASES};
use cdkrs_stacks::environment;
use cdkrs_stacks::load::{load, parse};

const DEFAULT: &str = include_str!("../../examples/databricks.yaml");

fn configs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

/// The errors `load` reports for `configs/<name>.yaml`, as displayed.
fn errors(name: &str) -> Vec<String> {
    let path = configs_dir().join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    match load(&text) {
        Ok(_) => panic!("{name}.yaml loaded, but it is malformed"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

/// One test per fixture (named after the fixture, which is named after its defect), asserting
/// every error `load` reports, in order.
macro_rules! fixtures {
    ($($name:ident => [$($error:expr),+ $(,)?]),+ $(,)?) => {
        /// Every fixture with a test.
        const FIXTURES: &[&str] = &[$(stringify!($name)),+];
        $(
            #[test]
            fn $name() {
                assert_eq!(errors(stringify!($name)), [$($error),+]);
            }
        )+
    };
}

fixtures! {
    autoscale_min_equal_to_max => [
        r#"databricks.cluster.autoscale: `2..2`: autoscaling needs max_workers greater than min_workers (Databricks refuses equal bounds)"#,
    ],
    autoscale_min_greater_than_max => [
        r#"databricks.cluster.autoscale: `8..2`: min_workers is greater than max_workers; swap them"#,
    ],
    autotermination_out_of_range => [
        r#"databricks.cluster.autotermination_minutes: `5`: use 10 to 10000 minutes, or 0 to never terminate"#,
    ],
    az_of_another_region => [
        r#"network.azs[1]: `us-east-1b`: a zone of us-east-1, not of eu-west-1; use `eu-west-1a`, `eu-west-1b` or `eu-west-1c`"#,
    ],
    azs_as_text => [r#"network.azs: `three`: expected a whole number or a list, not text"#],
    azs_count_above_255 => [r#"network.azs: `300`: expected a whole number from 0 to 255"#],
    azs_names_not_text => [r#"network.azs[1]: `2`: expected text, not a number"#],
    bad_aws_account_id => [
        r#"aws_account_id: `12345678901`: an AWS account id has exactly 12 digits; quote it so leading zeros stay (`'012345678901'`)"#,
    ],
    bad_client_id_uuid => [
        r#"databricks.service_principal.client_id: `my-service-principal`: a service principal's client id is a UUID (8-4-4-4-12 hexadecimal digits)"#,
    ],
    bad_databricks_account_uuid => [
        r#"databricks.account_id: `00000000-0000-4000-8000-00000000000z`: a Databricks account id is a UUID (8-4-4-4-12 hexadecimal digits, as the account console shows it)"#,
    ],
    bad_node_type => [
        r#"databricks.cluster.node_type: `large`: not an EC2 instance type; use one like `r5.large`"#,
    ],
    bad_region => [
        r#"region: `europe-west1`: not an AWS region; did you mean `eu-west-1`?"#,
    ],
    bad_secret_arn => [
        r#"databricks.service_principal.secret.secrets_manager_arn: `arn:aws:secretsmanager:eu-west-1:1234:secret:sp`: not a Secrets Manager secret ARN; expected `arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>`"#,
    ],
    bad_spark_version => [
        r#"databricks.cluster.spark_version: `14.3`: not a Databricks runtime version (`<major>.<minor>.x[-variant]-scala<2.12 or 2.13>`); use one like `17.3.x-scala2.13` (`databricks clusters spark-versions` lists a workspace's)"#,
    ],
    bad_ssm_parameter_name => [
        r#"databricks.service_principal.secret.ssm_parameter: `databricks/sp secret`: not an SSM parameter name; use `/path/name` or a plain name of letters, digits, `_`, `.` and `-`, at most 2048 characters"#,
    ],
    bad_workspace_name => [
        r#"databricks.workspace.name: `acme/prod!`: a workspace name has 1 to 64 letters, digits, hyphens, underscores and spaces"#,
    ],
    comments_only => [
        r#"(config): the config is empty; it needs at least `prefix`, `region` and `databricks`"#,
    ],
    derived_subnets_too_small => [
        r#"network.vpc_cidr: `10.0.0.0/25`: the private subnets derived from it are /27, and a Databricks subnet must be /17 to /26: use a VPC of /24 or larger, or give network.private_subnets"#,
    ],
    duplicate_az_names => [
        r#"network.azs[2]: `eu-west-1a`: repeats network.azs[0]; each zone may appear once"#,
    ],
    duplicate_group_names => [
        r#"databricks.groups[1].name: `analysts`: repeats databricks.groups[0].name (group names ignore case); each group needs its own name"#,
        r#"databricks.groups[2].name: the group name is empty"#,
    ],
    duplicate_key => [
        r#"prefix: the key appears twice, at lines 1 and 3; keep one"#,
    ],
    duplicate_nested_key => [
        r#"tags.project: the key appears twice, at lines 4 and 5; keep one"#,
    ],
    ebs_volume_too_small_for_hdd => [
        r#"databricks.cluster.ebs_volumes.size_gb: `100`: a THROUGHPUT_OPTIMIZED_HDD volume has 500 to 4096 GB"#,
    ],
    empty_az_name => [
        r#"network.azs[1]: the zone name is empty; name a zone such as `eu-west-1a`"#,
    ],
    empty_file => [
        r#"(config): the config is empty; it needs at least `prefix`, `region` and `databricks`"#,
    ],
    enum_value_in_wrong_case => [
        r#"databricks.cluster.availability: `spot`: unknown value; did you mean `SPOT`?"#,
    ],
    flow_log_interval_not_60_or_600 => [
        r#"network.flow_log_interval_secs: `300`: a flow log aggregates over 60 or 600 seconds"#,
    ],
    host_bits_in_subnet => [
        r#"network.private_subnets[1]: `10.0.64.1/18`: host bits are set; write the network address `10.0.64.0/18`"#,
    ],
    host_bits_in_vpc_cidr => [
        r#"network.vpc_cidr: `10.0.0.1/16`: host bits are set; write the network address `10.0.0.0/16`"#,
    ],
    invalid_yaml => [
        r#"(config): not valid YAML at line 4, column 15 (`  account_id: [00000000`): the `[` opened here is never closed (did not find expected ',' or ']' at line 5, column 12)"#,
    ],
    list_for_text => [r#"prefix: expected text, not a list"#],
    mapping_for_list => [r#"databricks.groups: expected a list, not a mapping"#],
    missing_required_fields => [
        r#"region: required field is missing"#,
        r#"databricks.account_id: required field is missing"#,
        r#"databricks.workspace.name: required field is missing"#,
    ],
    more_zones_than_the_region_offers => [
        r#"network.azs: `3`: 3 availability zones, but us-west-1 offers an account 2; use at most 2"#,
    ],
    negative_autoscale_min => [
        r#"databricks.cluster.autoscale.min_workers: `-1`: the fewest workers cannot be negative"#,
    ],
    no_groups => [
        r#"databricks.groups: give at least one group (the default is `Read only` and `All access`)"#,
    ],
    not_a_boolean => [r#"network_asleep: `yes`: expected true or false, not text"#],
    number_too_large => [
        r#"databricks.cluster.autoscale.max_workers: the number is too large (line 14, column 20)"#,
    ],
    old_and_new_name_together => [
        r#"encryption.datalake_client_side_enc: `datalake_client_side_enc` and `enforce_sse_kms_datalake` name the same field (`enforce_sse_kms_datalake` is the new name); give it once"#,
    ],
    overlapping_subnets => [
        r#"network.private_subnets[1]: `10.0.32.0/19`: overlaps network.private_subnets[0] (10.0.0.0/18); subnets must not overlap"#,
    ],
    prefix_starting_with_digit_and_ending_with_hyphen => [
        r#"prefix: `1acme-`: the prefix must start with a letter"#,
        r#"prefix: `1acme-`: the prefix must not end with a hyphen"#,
    ],
    prefix_too_long_for_bucket_names => [
        r#"prefix: `acme-data-platform-production`: the longest bucket name `acme-data-platform-production-databricks-logs-123456789012-eu-west-1` has 68 characters; S3 allows 63: use a prefix of at most 24 characters in eu-west-1"#,
    ],
    prefix_too_long_for_role_names => [
        r#"prefix: `abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb`: the longest bucket name `abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-databricks-logs-123456789012-eu-west-1` has 90 characters; S3 allows 63: use a prefix of at most 24 characters in eu-west-1"#,
        r#"prefix: `abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb`: the longest IAM role name `abbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-cross-account` has 65 characters; IAM allows 64: use a prefix of at most 50 characters"#,
    ],
    prefix_with_reserved_bucket_prefix => [
        r#"prefix: `xn--acme`: it makes the bucket name `xn--acme-infra-logs-123456789012-eu-west-1`, which may not start with a reserved prefix (xn--, sthree-, amzn-s3-demo-)"#,
    ],
    pricing_tier_without_customer_managed_keys => [
        r#"databricks.workspace.pricing_tier: `PREMIUM`: the stack encrypts workspace storage with a customer-managed key (StorageKey), which Databricks allows only on the `ENTERPRISE` tier; use `ENTERPRISE`"#,
    ],
    public_subnet_outside_vpc => [
        r#"network.public_subnet: `192.168.0.0/24`: the subnet lies outside the VPC 10.0.0.0/16"#,
    ],
    public_subnet_overlaps_private => [
        r#"network.public_subnet: `10.0.130.0/24`: overlaps network.private_subnets[2] (10.0.128.0/18); subnets must not overlap"#,
    ],
    quoted_number => [
        r#"databricks.cluster.autoscale.min_workers: `1`: expected a whole number, not text: remove the quotes"#,
    ],
    region_govcloud => [
        r#"region: `us-gov-west-1`: GovCloud is not supported: Databricks there runs in the `aws-us-gov` partition from other AWS accounts, which this environment's policies and trust relationships do not name; use a commercial region"#,
    ],
    region_in_china => [
        r#"region: `cn-north-1`: a region of the `aws-cn` partition, where Databricks does not run; use one of `ap-northeast-1`, `ap-northeast-2`, `ap-south-1`, `ap-southeast-1`, `ap-southeast-2`, `ap-southeast-3`, `ca-central-1`, `eu-central-1`, `eu-west-1`, `eu-west-2`, `eu-west-3`, `sa-east-1`, `us-east-1`, `us-east-2`, `us-west-1` or `us-west-2`"#,
    ],
    region_without_databricks => [
        r#"region: `eu-north-1`: an AWS region Databricks does not support; use one of `ap-northeast-1`, `ap-northeast-2`, `ap-south-1`, `ap-southeast-1`, `ap-southeast-2`, `ap-southeast-3`, `ca-central-1`, `eu-central-1`, `eu-west-1`, `eu-west-2`, `eu-west-3`, `sa-east-1`, `us-east-1`, `us-east-2`, `us-west-1` or `us-west-2`"#,
    ],
    reserved_tag_keys => [
        r#"tags.Name: `Name`: the stack sets the `Name` tag of its resources itself; use another key"#,
        r#"tags["aws:owner"]: `aws:owner`: tag keys starting with `aws:` are reserved for AWS"#,
    ],
    secret_as_plain_text => [
        r#"databricks.service_principal.secret: `/databricks/sp-secret`: expected a mapping with one of `secrets_manager_arn` or `ssm_parameter`"#,
    ],
    secret_in_another_account => [
        r#"databricks.service_principal.secret.secrets_manager_arn: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:databricks/sp-AbCdEf`: the secret belongs to account 123456789012, the stack to aws_account_id 210987654321: the provider may decrypt only with its own account's keys; store the secret in 210987654321"#,
    ],
    secret_in_another_region => [
        r#"databricks.service_principal.secret.secrets_manager_arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:databricks/sp-AbCdEf`: the secret is in us-east-1, the stack in eu-west-1: the provider reads it in its own region; replicate the secret to eu-west-1 and give the replica's ARN (`arn:aws:secretsmanager:eu-west-1:…`)"#,
    ],
    secret_with_both_keys => [
        r#"databricks.service_principal.secret: give only one of `ssm_parameter` and `secrets_manager_arn`"#,
    ],
    secret_with_misspelled_key => [
        r#"databricks.service_principal.secret.ssm_param: unknown field; did you mean `ssm_parameter`?"#,
    ],
    several_problems => [
        r#"prefix: `Acme`: the prefix may hold only lowercase letters, digits and hyphens: use `acme`"#,
        r#"network.private_subnets[1]: `10.0.0.128/25`: overlaps network.private_subnets[0] (10.0.0.0/24); subnets must not overlap"#,
        r#"databricks.account_id: `not-a-uuid`: a Databricks account id is a UUID (8-4-4-4-12 hexadecimal digits, as the account console shows it)"#,
        r#"databricks.cluster.autoscale: `4..2`: min_workers is greater than max_workers; swap them"#,
    ],
    spot_bid_out_of_range => [
        r#"databricks.cluster.first_on_demand: `-1`: the number of on-demand nodes cannot be negative"#,
        r#"databricks.cluster.spot_bid_price_percent: `0`: the spot bid is 1 to 10000 percent of the on-demand price"#,
    ],
    string_for_number => [
        r#"network.flow_log_interval_secs: `sixty`: expected a whole number, not text"#,
    ],
    subnet_16_too_large_for_databricks => [
        r#"network.private_subnets[0]: `10.0.0.0/16`: a Databricks subnet must be /17 to /26"#,
        r#"network.private_subnets[1]: `10.0.0.0/24`: overlaps network.private_subnets[0] (10.0.0.0/16); subnets must not overlap"#,
    ],
    subnet_27_too_small_for_databricks => [
        r#"network.private_subnets[2]: `10.0.3.0/27`: a Databricks subnet must be /17 to /26"#,
    ],
    subnet_count_differs_from_azs => [
        r#"network.private_subnets: 2 subnet(s) for 3 availability zone(s); give exactly one per zone"#,
    ],
    subnet_outside_vpc => [
        r#"network.private_subnets[2]: `10.1.0.0/18`: the subnet lies outside the VPC 10.0.0.0/16"#,
    ],
    tab_indentation => [
        r#"(config): not valid YAML at line 4, column 1 (`\taccount_id: x`): found character that cannot start any token while scanning for the next token; YAML indents with spaces, not tabs"#,
    ],
    too_few_azs => [
        r#"network.azs: `1`: 1 availability zone(s); use at least 2 so the workspace survives the loss of a zone"#,
    ],
    too_many_azs => [
        r#"network.azs: `7`: 7 availability zones, but eu-west-1 offers an account 3; use at most 3"#,
    ],
    too_many_ebs_volumes => [
        r#"databricks.cluster.ebs_volumes.count: `11`: use 0 to 10 EBS volumes per node"#,
    ],
    too_many_groups_for_one_stack => [
        r#"databricks.groups: 500 groups make the stack declare 1570 resources, and CloudFormation allows 500 per stack: with the rest of this environment (70 resources) give at most 143 groups"#,
    ],
    runtime_too_old_for_unity_catalog => [
        r#"databricks.cluster.spark_version: `12.2.x-scala2.12`: governance unity_catalog runs the cluster in standard access mode, which needs Databricks Runtime 13.3 LTS or later (Scala, volumes and allow-listed libraries); use `17.3.x-scala2.13` (or omit spark_version), or set databricks.governance: legacy_passthrough"#,
    ],
    runtime_too_new_for_passthrough => [
        r#"databricks.cluster.spark_version: `15.4.x-scala2.12`: runtime 15.4: credential passthrough is deprecated from Databricks Runtime 15.0; with governance legacy_passthrough use `14.3.x-scala2.12` (or omit spark_version), or move to governance unity_catalog"#,
    ],
    unknown_governance => [
        r#"databricks.governance: `passthrough`: unknown value; expected one of `unity_catalog` or `legacy_passthrough`"#,
    ],
    top_level_list => [
        r#"(config): the config must be a mapping of fields (`prefix: …`, `region: …`), not a list"#,
    ],
    top_level_text => [
        r#"(config): the config must be a mapping of fields (`prefix: …`, `region: …`), not text"#,
    ],
    two_documents => [
        r#"(config): not valid YAML: the file holds more than one YAML document (`---`); keep one"#,
    ],
    typo_in_old_alias => [
        r#"encryption.dbfs_client_side_encryption: unknown field; did you mean `dbfs_client_side_enc` (the old name of `enforce_sse_kms_root`)?"#,
    ],
    unknown_enum_value => [
        r#"databricks.workspace.pricing_tier: `GOLD`: unknown value; expected one of `STANDARD`, `PREMIUM`, `ENTERPRISE` or `DEDICATED`"#,
    ],
    unknown_field_without_suggestion => [
        r#"colour: unknown field; expected `aws_account_id`, `databricks`, `encryption`, `network`, `network_asleep`, `prefix`, `region` or `tags`"#,
    ],
    unknown_fields_at_every_depth => [
        r#"network.flow_log_interval: unknown field; did you mean `flow_log_interval_secs`?"#,
        r#"encryption.enforce_sse_kms_rot: unknown field; did you mean `enforce_sse_kms_root`?"#,
        r#"databricks.workspaces: unknown field; did you mean `workspace`?"#,
        r#"databricks.cluster.autoscale.min_worker: unknown field; did you mean `min_workers`?"#,
    ],
    unknown_nested_field => [
        r#"databricks.cluster.autoterminate_minutes: unknown field; did you mean `autotermination_minutes`?"#,
    ],
    unknown_top_level_field => [r#"regoin: unknown field; did you mean `region`?"#],
    uppercase_prefix => [
        r#"prefix: `Acme-Dev`: the prefix may hold only lowercase letters, digits and hyphens: use `acme-dev`"#,
    ],
    vpc_cidr_not_a_cidr => [
        r#"network.vpc_cidr: `10.0.0.0`: not an IPv4 CIDR block; write it like `10.0.0.0/16`"#,
    ],
    vpc_cidr_too_large => [r#"network.vpc_cidr: `10.0.0.0/8`: a VPC is /16 to /28, not /8"#],
    yaml_bad_indentation => [
        r#"(config): not valid YAML at line 5, column 2 (` workspace:`): did not find expected key while parsing a block mapping; indent this line like the keys above it"#,
    ],
    yaml_no_space_after_colon => [
        r#"(config): not valid YAML at line 1, column 8 (`prefix:acme`): a key needs a space after its colon: `prefix: acme`"#,
    ],
    yaml_over_indented_key => [
        r#"(config): not valid YAML at line 7, column 13 (`      secret: x`): mapping values are not allowed in this context; this line is indented deeper than the key at line 6, so it reads as more of that key's value; indent it like that key"#,
    ],
    yaml_unclosed_brace => [
        r#"(config): not valid YAML at line 3, column 10 (`network: {vpc_cidr: 10.0.0.0/16, azs: 3`): the `{` opened here is never closed (did not find expected ',' or '}' at line 4, column 11)"#,
    ],
    yaml_unclosed_quote => [
        r#"(config): not valid YAML at line 2, column 9 (`region: "eu-west-1`): the quote `"` opened here is never closed (found unexpected end of stream at line 7, column 1)"#,
    ],
    zone_names_that_do_not_exist => [
        r#"network.azs[1]: `EU-WEST-1B`: not a zone of eu-west-1; did you mean `eu-west-1b`?"#,
        r#"network.azs[2]: `eu-west-1d`: not a zone of eu-west-1; use `eu-west-1a`, `eu-west-1b` or `eu-west-1c`"#,
    ],
}

#[test]
fn every_fixture_has_a_test() {
    let files: BTreeSet<String> = std::fs::read_dir(configs_dir())
        .expect("tests/configs exists")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "yaml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    let tested: BTreeSet<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        files, tested,
        "every fixture needs a test, and every test a fixture"
    );
    assert!(
        FIXTURES.len() >= 35,
        "only {} malformed configs",
        FIXTURES.len()
    );
}

#[test]
fn default_config_loads() {
    let env = load(DEFAULT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.prefix(), "cm-vpc");
    assert_eq!(env.region().name, "eu-west-1");
    assert_eq!(env.stack_name(), "cm-vpc-databricks");
    assert!(env.encryption().enforce_sse_kms_root);
    assert!(env.encryption().enforce_sse_kms_datalake);
    assert!(matches!(
        env.databricks().service_principal.secret,
        SecretRef::SecretsManager { .. }
    ));
    assert_eq!(env.network().vpc_cidr, vpc::DEFAULT_CIDR);
    assert_eq!(env.network().azs, Azs::Count(3));
}

#[test]
fn a_minimal_config_loads_with_defaults() {
    let yaml = "prefix: acme
region: us-east-1
databricks:
  account_id: 00000000-0000-4000-8000-000000000000
  service_principal:
    client_id: 11111111-1111-4111-8111-111111111111
    secret:
      ssm_parameter: /databricks/sp-secret
  workspace:
    name: acme
";
    let config = parse(yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.network, NetworkConfig::default());
    // The Vpc construct's defaults, not a copy of them.
    assert_eq!(config.network.azs, Azs::default());
    assert_eq!(config.network.vpc_cidr, vpc::DEFAULT_CIDR.to_string());
    let env = load(yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.databricks().groups.len(), 2);
    assert_eq!(env.databricks().cluster, Default::default());
    assert!(env.databricks().log_delivery);
    assert_eq!(
        env.databricks().workspace.pricing_tier,
        cdkrs_databricks::PricingTier::Enterprise
    );
}

/// The default config with the seed's flag names.
fn with_old_names() -> String {
    DEFAULT.replace(
        "  enforce_sse_kms_root: true        # was dbfs_client_side_enc\n  \
         enforce_sse_kms_datalake: true    # was datalake_client_side_enc\n",
        "  dbfs_client_side_enc: false\n  datalake_client_side_enc: false\n",
    )
}

/// The default config with booleans written as strings (the seed's tfvars).
fn with_string_booleans() -> String {
    DEFAULT
        .replace("network_asleep: false", "network_asleep: \"true\"")
        .replace(
            "enforce_sse_kms_root: true",
            "enforce_sse_kms_root: \"false\"",
        )
        .replace("log_delivery: true", "log_delivery: 'false'")
}

/// The default config with zones by name and the subnets given.
fn with_named_zones_and_subnets() -> String {
    DEFAULT
        .replace("azs: 3 ", "azs: [eu-west-1a, eu-west-1b, eu-west-1c] ")
        .replace("  # private_subnets:", "  private_subnets:")
        .replace("  # public_subnet:", "  public_subnet:")
}

/// The default config with a tag value YAML reads as a number.
fn with_a_number_as_tag_value() -> String {
    DEFAULT.replace("environment: test", "year: 2024")
}

/// Every config that must load: the examples, `configs/valid/` and the default config's
/// variants above; `(name, text)`.
fn valid_configs() -> Vec<(String, String)> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut all = Vec::new();
    for dir in [workspace.join("examples"), configs_dir().join("valid")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            all.push((path.display().to_string(), text));
        }
    }
    all.extend([
        ("default with old names".to_owned(), with_old_names()),
        (
            "default with string booleans".to_owned(),
            with_string_booleans(),
        ),
        (
            "default with named zones".to_owned(),
            with_named_zones_and_subnets(),
        ),
        (
            "default with a number as tag".to_owned(),
            with_a_number_as_tag_value(),
        ),
    ]);
    all
}

#[test]
fn every_valid_config_loads_and_synthesizes() {
    let configs = valid_configs();
    assert!(configs.len() >= 12, "only {} valid configs", configs.len());
    for (name, text) in configs {
        let env = load(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let stack = environment::build(&env).unwrap_or_else(|e| panic!("{name}: build: {e}"));
        stack
            .synth()
            .unwrap_or_else(|e| panic!("{name}: synth: {e}"));
    }
}

#[test]
fn governance_defaults_to_unity_catalog_and_picks_the_runtime_and_access_mode() {
    use cdkrs_databricks::DataSecurityMode;
    use cdkrs_stacks::config::Governance;
    let base = "prefix: acme
region: us-east-1
databricks:
  account_id: 00000000-0000-4000-8000-000000000000
  service_principal:
    client_id: 11111111-1111-4111-8111-111111111111
    secret:
      ssm_parameter: /databricks/sp-secret
  workspace:
    name: acme
";
    let env = load(base).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.governance(), Governance::UnityCatalog);
    assert_eq!(env.spark_version(), "17.3.x-scala2.13");
    assert_eq!(
        env.cluster_name(),
        "Shared",
        "not the passthrough era's name"
    );
    assert_eq!(
        env.governance().access_mode(),
        DataSecurityMode::UserIsolation
    );
    let legacy = base.replace(
        "  service_principal:",
        "  governance: legacy_passthrough\n  service_principal:",
    );
    let env = load(&legacy).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.governance(), Governance::LegacyPassthrough);
    assert_eq!(env.spark_version(), "14.3.x-scala2.12");
    assert_eq!(
        env.cluster_name(),
        "High-Concurrency",
        "the seed's, unchanged"
    );
    assert_eq!(
        env.governance().access_mode(),
        DataSecurityMode::LegacyPassthrough
    );
    // A runtime given is kept, whatever the mode, when the mode runs on it; the edges of each
    // mode's range are accepted.
    for (governance, version) in [
        ("unity_catalog", "13.3.x-scala2.12"),
        ("unity_catalog", "16.4.x-photon-scala2.13"),
        ("legacy_passthrough", "14.3.x-photon-scala2.12"),
        ("legacy_passthrough", "13.3.x-scala2.12"),
    ] {
        let yaml = format!("{base}  cluster:\n    spark_version: {version}\n").replace(
            "  service_principal:",
            &format!("  governance: {governance}\n  service_principal:"),
        );
        let env = load(&yaml).unwrap_or_else(|e| panic!("{governance} {version}: {e}"));
        assert_eq!(env.spark_version(), version);
    }
    // The schema lists both modes and documents the default.
    let schema = cdkrs_stacks::config::Config::json_schema().to_string();
    assert!(schema.contains("unity_catalog") && schema.contains("legacy_passthrough"));
}

#[test]
fn old_alias_names_still_work() {
    let yaml = with_old_names();
    assert_ne!(yaml, DEFAULT, "the default config's encryption block moved");
    let env = load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    assert!(!env.encryption().enforce_sse_kms_root);
    assert!(!env.encryption().enforce_sse_kms_datalake);
}

#[test]
fn string_booleans_work() {
    let yaml = with_string_booleans();
    let env = load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    assert!(env.network_asleep());
    assert!(!env.encryption().enforce_sse_kms_root);
    assert!(!env.databricks().log_delivery);
}

#[test]
fn named_zones_and_given_subnets_load() {
    let yaml = with_named_zones_and_subnets();
    let env = load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        env.network().private_subnets.as_deref().map(<[_]>::len),
        Some(3)
    );
    assert_eq!(
        env.network()
            .public_subnet
            .map(|n| n.to_string())
            .as_deref(),
        Some("10.0.192.0/24")
    );
}

#[test]
fn numbers_are_accepted_as_text() {
    // serde_yaml reads any scalar as text: a numeric tag value or workspace name is fine.
    let yaml = with_a_number_as_tag_value();
    let env = load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.tags().get("year").map(String::as_str), Some("2024"));
}

#[test]
fn errors_display_as_a_list() {
    let text = std::fs::read_to_string(configs_dir().join("several_problems.yaml"))
        .expect("fixture exists");
    let errors = load(&text).expect_err("the fixture is malformed");
    let shown = errors.to_string();
    assert!(shown.starts_with(&format!("the config has {} problems:\n", errors.0.len())));
    assert!(shown.contains("\n  - databricks.account_id: `not-a-uuid`: "));
}

/// A tiny deterministic generator (no new dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // `below` is small; the high bits are the random ones.
        usize::try_from(self.0 >> 33).unwrap_or(0) % below.max(1)
    }
}

/// One deterministic mutation: delete a line, duplicate a line or change a character.
fn mutate(text: &str, rng: &mut Lcg) -> String {
    const CHARS: &[char] = &[
        ':', '-', ' ', '\t', '[', ']', '{', '}', '"', '\'', '#', '&', '*', '!', '|', '>', '%', '@',
        '`', ',', '?', '~', 'x', 'Z', '0', '9', '.', '/', '\n', 'é',
    ];
    let lines: Vec<&str> = text.lines().collect();
    match rng.next(4) {
        0 => {
            let drop = rng.next(lines.len());
            let kept: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != drop)
                .map(|(_, l)| *l)
                .collect();
            kept.join("\n")
        }
        1 => {
            let twice = rng.next(lines.len());
            let mut out: Vec<&str> = Vec::with_capacity(lines.len() + 1);
            for (j, l) in lines.iter().enumerate() {
                out.push(l);
                if j == twice {
                    out.push(l);
                }
            }
            out.join("\n")
        }
        _ => {
            let mut chars: Vec<char> = text.chars().collect();
            let at = rng.next(chars.len());
            if let Some(c) = chars.get_mut(at) {
                *c = CHARS[rng.next(CHARS.len())];
            }
            chars.into_iter().collect()
        }
    }
}

/// Deterministic variants of the default config: the first half with one mutation, the
/// second half with two.
fn mutations(count: usize) -> Vec<String> {
    let mut rng = Lcg(0x5eed);
    (0..count)
        .map(|i| {
            let once = mutate(DEFAULT, &mut rng);
            if i < count / 2 {
                once
            } else {
                mutate(&once, &mut rng)
            }
        })
        .collect()
}

#[test]
fn mutated_configs_never_panic() {
    let variants = mutations(200);
    let distinct: BTreeSet<&String> = variants.iter().collect();
    assert!(
        distinct.len() > 180,
        "only {} distinct variants",
        distinct.len()
    );
    let mut rejected = 0;
    for (i, yaml) in variants.iter().enumerate() {
        let outcome = catch_unwind(AssertUnwindSafe(|| load(yaml)));
        match outcome {
            Err(_) => panic!("variant {i} panicked:\n{yaml}"),
            Ok(Ok(_)) => {}
            Ok(Err(errors)) => {
                rejected += 1;
                assert!(
                    !errors.0.is_empty(),
                    "variant {i}: an error without problems"
                );
                for e in &errors.0 {
                    assert!(
                        !e.rule.is_empty(),
                        "variant {i}: a problem without a rule: {e:?}"
                    );
                }
            }
        }
    }
    assert!(
        rejected > 20,
        "only {rejected} of 200 variants were rejected"
    );
}

#[test]
fn odd_inputs_never_panic() {
    let inputs = [
        "",
        "\u{feff}",
        "~",
        "- - - -",
        "prefix:",
        "? [a, b]\n: c\n",
        "{prefix: {}, region: [], databricks: 1}",
        "&a [*a]",
        "prefix: !!binary aGVsbG8=\n",
        "prefix: &x acme\nregion: *x\n",
        "<<: {prefix: acme}\n",
        &"[".repeat(10_000),
        &format!("prefix: {}\n", "a".repeat(100_000)),
        "network: {azs: 18446744073709551615}\n",
        "databricks: {cluster: {autoscale: {min_workers: 99999999999999999999}}}\n",
    ];
    for yaml in inputs {
        let outcome = catch_unwind(AssertUnwindSafe(|| load(yaml)));
        assert!(
            outcome.is_ok(),
            "panicked on {:?}",
            &yaml[..yaml.len().min(80)]
        );
        if let Ok(Err(errors)) = outcome {
            assert!(!errors.0.is_empty());
        }
    }
}

#[test]
fn parse_checks_shapes_only() {
    // A well-shaped config with a bad rule parses, and `load` reports the rule.
    let yaml = DEFAULT.replace("prefix: cm-vpc", "prefix: CM");
    assert!(parse(&yaml).is_ok());
    assert!(load(&yaml).is_err());
}

#[test]
fn schema_names_every_field_and_is_closed() {
    let schema = Config::json_schema();
    let top: BTreeSet<&str> = schema["properties"]
        .as_object()
        .expect("the schema has properties")
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "prefix",
        "region",
        "aws_account_id",
        "tags",
        "network",
        "network_asleep",
        "encryption",
        "databricks",
    ]
    .into_iter()
    .collect();
    assert_eq!(top, expected);
    assert_eq!(schema["additionalProperties"], false);

    // Every object with named properties refuses others (`deny_unknown_fields`). Rules (in
    // `allOf`) only constrain fields their object already lists.
    fn closed(at: &str, s: &serde_json::Value, open: &mut Vec<String>) {
        match s {
            serde_json::Value::Object(map) => {
                if !at.contains("/allOf/")
                    && map.contains_key("properties")
                    && map.get("additionalProperties") != Some(&false.into())
                {
                    open.push(at.to_owned());
                }
                for (k, v) in map {
                    closed(&format!("{at}/{k}"), v, open);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    closed(&format!("{at}/{i}"), v, open);
                }
            }
            _ => {}
        }
    }
    let mut open = Vec::new();
    closed("#", &schema, &mut open);
    assert!(
        open.is_empty(),
        "objects that accept unknown fields: {open:?}"
    );
    for def in [
        "NetworkConfig",
        "EncryptionConfig",
        "DatabricksConfig",
        "ClusterConfig",
    ] {
        assert_eq!(schema["$defs"][def]["additionalProperties"], false, "{def}");
    }
}

#[test]
fn schema_documents_the_old_names() {
    let schema = Config::json_schema();
    let encryption = schema["$defs"]["EncryptionConfig"]["properties"].to_string();
    for (alias, field) in ALIASES {
        assert!(encryption.contains(field), "{field}");
        assert!(
            encryption.contains(alias),
            "the schema does not mention `{alias}`"
        );
    }
}

/// Invalid fixtures that are no YAML document, so no JSON Schema validator can see them.
const NOT_YAML: &[&str] = &[
    "duplicate_key",
    "duplicate_nested_key",
    "invalid_yaml",
    "number_too_large",
    "tab_indentation",
    "two_documents",
    "yaml_bad_indentation",
    "yaml_no_space_after_colon",
    "yaml_over_indented_key",
    "yaml_unclosed_brace",
    "yaml_unclosed_quote",
];

/// Invalid fixtures the JSON Schema accepts, because their problem is one a JSON Schema cannot
/// express; validation alone refuses them.
const SCHEMA_CANNOT_EXPRESS: &[(&str, &str)] = &[
    (
        "autoscale_min_equal_to_max",
        "compares two fields (min_workers < max_workers)",
    ),
    (
        "autoscale_min_greater_than_max",
        "compares two fields (min_workers < max_workers)",
    ),
    (
        "derived_subnets_too_small",
        "the Vpc construct's subnet arithmetic on the VPC CIDR",
    ),
    (
        "host_bits_in_subnet",
        "host bits of a CIDR (arithmetic on the address)",
    ),
    (
        "host_bits_in_vpc_cidr",
        "host bits of a CIDR (arithmetic on the address)",
    ),
    (
        "overlapping_subnets",
        "address arithmetic across two fields",
    ),
    (
        "public_subnet_outside_vpc",
        "address arithmetic across two fields",
    ),
    (
        "public_subnet_overlaps_private",
        "address arithmetic across two fields",
    ),
    (
        "runtime_too_new_for_passthrough",
        "compares two fields (the runtime's version with the governance)",
    ),
    (
        "runtime_too_old_for_unity_catalog",
        "compares two fields (the runtime's version with the governance's default)",
    ),
    (
        "secret_in_another_account",
        "compares two fields (the ARN's account with aws_account_id)",
    ),
    (
        "subnet_count_differs_from_azs",
        "compares two fields (one subnet per zone)",
    ),
    ("subnet_outside_vpc", "address arithmetic across two fields"),
    (
        "too_many_groups_for_one_stack",
        "the resource count depends on the rest of the environment; validation builds it",
    ),
];

/// A real JSON Schema validator's verdict on each instance: `None` when valid, else its first
/// error. The oracle is the pinned PyPI `jsonschema` (requirements-dev.txt) in the venv, with
/// format checks on (Draft 2020-12, as `cdkrs schema` declares).
fn json_schema_verdicts(
    instances: &[(String, serde_json::Value)],
) -> BTreeMap<String, Option<String>> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("config-schema");
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let schema = dir.join("schema.json");
    std::fs::write(&schema, Config::json_schema().to_string()).expect("the schema is written");
    let lines: Vec<String> = instances
        .iter()
        .map(|(name, instance)| {
            serde_json::json!({ "name": name, "instance": instance }).to_string()
        })
        .collect();
    let input = dir.join("instances.jsonl");
    std::fs::write(&input, lines.join("\n")).expect("the instances are written");
    const SCRIPT: &str = r#"
import json, sys
from jsonschema import Draft202012Validator, FormatChecker
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema, format_checker=FormatChecker())
verdicts = {}
for line in open(sys.argv[2]):
    item = json.loads(line)
    errors = sorted(validator.iter_errors(item["instance"]), key=lambda e: list(map(str, e.absolute_path)))
    verdicts[item["name"]] = None if not errors else "/".join(map(str, errors[0].absolute_path)) + ": " + errors[0].message[:200]
json.dump(verdicts, sys.stdout)
"#;
    let out = std::process::Command::new(testkit::venv_tool("python"))
        .arg("-c")
        .arg(SCRIPT)
        .arg(&schema)
        .arg(&input)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the jsonschema oracle failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the oracle prints JSON")
}

/// A YAML config as the JSON a schema validator sees (None when it is no YAML document, which
/// includes a mapping with a duplicate key).
fn as_json(yaml: &str) -> Option<serde_json::Value> {
    let doc: serde_yaml::Value = serde_yaml::from_str(yaml).ok()?;
    serde_json::to_value(doc).ok()
}

#[test]
fn the_json_schema_accepts_every_valid_config_and_refuses_what_it_can_express() {
    let mut instances = Vec::new();
    let valid = valid_configs();
    for (name, text) in &valid {
        let json = as_json(text).unwrap_or_else(|| panic!("{name} is YAML"));
        instances.push((format!("valid: {name}"), json));
    }
    let mut not_yaml = Vec::new();
    for fixture in FIXTURES {
        let text = std::fs::read_to_string(configs_dir().join(format!("{fixture}.yaml")))
            .expect("the fixture exists");
        match as_json(&text) {
            Some(json) => instances.push(((*fixture).to_owned(), json)),
            None => not_yaml.push(*fixture),
        }
    }
    assert_eq!(not_yaml, NOT_YAML, "fixtures that are no YAML document");

    let verdicts = json_schema_verdicts(&instances);
    let mut wrong = Vec::new();
    for (name, _) in &instances {
        let verdict = verdicts
            .get(name)
            .unwrap_or_else(|| panic!("no verdict on {name}"));
        let excepted = SCHEMA_CANNOT_EXPRESS.iter().any(|(f, _)| f == name);
        match (name.starts_with("valid: ") || excepted, verdict) {
            (true, Some(error)) => wrong.push(format!("{name}: refused: {error}")),
            (false, None) => wrong.push(format!("{name}: accepted")),
            _ => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "the JSON Schema disagrees with validation:\n{}",
        wrong.join("\n")
    );
}

//! The environment stack per scenario: insta snapshots in `snapshots/`, determinism, and the
//! properties each scenario must show (sleep removes the NAT, flags remove the enforcement).

use cdkrs_constructs::vpc::Azs;
use cdkrs_constructs::Template;
use cdkrs_stacks::config::Config;
use cdkrs_stacks::{environment, load, validate};
use serde_json::{json, Value};

const DEFAULT: &str = include_str!("../../examples/databricks.yaml");
const MINIMAL: &str = include_str!("../../examples/minimal.yaml");

/// A config as written (scenarios change it; [`synth`] validates it).
fn config(yaml: &str) -> Config {
    load::parse(yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn synth(config: &Config) -> Template {
    let env = validate::validate(config).unwrap_or_else(|e| panic!("{e}"));
    environment::build(&env)
        .unwrap_or_else(|e| panic!("build: {e}"))
        .synth()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The five scenarios the issue names, with their snapshot names.
fn scenarios() -> Vec<(&'static str, Config)> {
    let default = config(DEFAULT);
    let mut flags_off = default.clone();
    flags_off.encryption.enforce_sse_kms_root = false;
    flags_off.encryption.enforce_sse_kms_datalake = false;
    let mut asleep = default.clone();
    asleep.network_asleep = true;
    let mut custom_cidr = default.clone();
    custom_cidr.network.vpc_cidr = "172.20.0.0/20".into();
    custom_cidr.network.azs = Azs::Names(vec![
        "eu-west-1a".into(),
        "eu-west-1b".into(),
        "eu-west-1c".into(),
    ]);
    vec![
        ("environment_default", default),
        ("environment_encryption_flags_off", flags_off),
        ("environment_network_asleep", asleep),
        ("environment_minimal_two_azs", config(MINIMAL)),
        ("environment_custom_vpc_cidr", custom_cidr),
    ]
}

#[test]
fn every_scenario_matches_its_snapshot() {
    for (name, config) in scenarios() {
        let template = synth(&config);
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_json_snapshot!(name, template.as_json());
        });
    }
}

/// The bootstrap stack (assets bucket and key) is snapshotted with the environment, so the
/// lint and security gates cover it too.
#[test]
fn bootstrap_stack_matches_its_snapshot() {
    let template = cdkrs_stacks::bootstrap::build()
        .unwrap_or_else(|e| panic!("{e}"))
        .synth()
        .unwrap_or_else(|e| panic!("{e}"));
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_json_snapshot!("bootstrap", template.as_json());
    });
}

#[test]
fn synth_is_deterministic_across_runs() {
    for (name, config) in scenarios() {
        let a = synth(&config);
        let b = synth(&config);
        assert_eq!(a.to_json_pretty(), b.to_json_pretty(), "{name}");
        assert_eq!(a.to_yaml(), b.to_yaml(), "{name}");
    }
}

fn resource<'a>(t: &'a Template, id: &str) -> &'a Value {
    t.resource(id)
        .unwrap_or_else(|| panic!("{id} missing; resources: {:?}", t.resource_ids()))
}

fn statements(t: &Template, policy: &str) -> Vec<Value> {
    resource(t, policy)["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn sids(t: &Template, policy: &str) -> Vec<String> {
    statements(t, policy)
        .iter()
        .filter_map(|s| s["Sid"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn default_environment_has_the_documented_resources() {
    let t = synth(&config(DEFAULT));
    let counts = t.resource_type_counts();
    let count = |ty: &str| counts.get(ty).copied().unwrap_or(0);
    assert_eq!(count("AWS::EC2::VPC"), 1);
    assert_eq!(count("AWS::EC2::Subnet"), 4, "3 private + 1 public");
    assert_eq!(count("AWS::EC2::NatGateway"), 1);
    assert_eq!(count("AWS::EC2::VPCEndpoint"), 3);
    assert_eq!(count("AWS::KMS::Key"), 2);
    assert_eq!(count("AWS::S3::Bucket"), 6);
    assert_eq!(count("AWS::IAM::InstanceProfile"), 1);
    assert_eq!(count("Custom::DatabricksWorkspace"), 1);
    assert_eq!(count("Custom::DatabricksGroup"), 2);
    assert_eq!(count("Custom::DatabricksCluster"), 1);
    assert_eq!(count("Custom::DatabricksLogDelivery"), 2);
    // Every data bucket and key is retained.
    for id in [
        "RootBucket",
        "RawBucket",
        "PreparedBucket",
        "TrustedBucket",
        "DatabricksLogsBucket",
        "InfraLogsBucket",
        "StorageKey",
        "LoggingKey",
    ] {
        assert_eq!(resource(&t, id)["DeletionPolicy"], "Retain", "{id}");
        assert_eq!(resource(&t, id)["UpdateReplacePolicy"], "Retain", "{id}");
    }
}

#[test]
fn network_sleep_is_a_condition_on_nat_and_interface_endpoints_only() {
    let t = synth(&config(DEFAULT));
    for id in [
        "VpcNatEip",
        "VpcNatGateway",
        "VpcPrivateDefaultRoute",
        "StsEndpoint",
        "KinesisEndpoint",
    ] {
        assert_eq!(resource(&t, id)["Condition"], "NetworkAwake", "{id}");
    }
    assert!(resource(&t, "S3Endpoint").get("Condition").is_none());
    assert_eq!(
        t.as_json()["Conditions"]["NetworkAwake"],
        json!({"Fn::Equals": [{"Ref": "NetworkAsleep"}, "false"]})
    );
    let mut asleep = config(DEFAULT);
    asleep.network_asleep = true;
    let t = synth(&asleep);
    assert_eq!(
        t.as_json()["Parameters"]["NetworkAsleep"]["Default"],
        "true"
    );
}

#[test]
fn security_group_follows_the_databricks_rules() {
    let t = synth(&config(DEFAULT));
    let egress = resource(&t, "WorkspaceSecurityGroup")["Properties"]["SecurityGroupEgress"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ports: Vec<(i64, i64)> = egress
        .iter()
        .filter(|r| r["CidrIp"] == "0.0.0.0/0")
        .map(|r| {
            (
                r["FromPort"].as_i64().unwrap(),
                r["ToPort"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        vec![
            (443, 443),
            (3306, 3306),
            (6666, 6666),
            (2443, 2443),
            (8443, 8451)
        ]
    );
    assert!(egress.iter().all(|r| r["IpProtocol"] == "tcp"));
}

#[test]
fn encryption_flags_control_the_sse_kms_enforcement() {
    let on = synth(&config(DEFAULT));
    for policy in [
        "RootBucketPolicy",
        "RawBucketPolicy",
        "PreparedBucketPolicy",
        "TrustedBucketPolicy",
    ] {
        assert!(
            sids(&on, policy).contains(&"DenyUploadsWithoutSseKms".to_owned()),
            "{policy}"
        );
        // TLS-only holds whatever the flags (the seed dropped it with the flag).
        assert!(
            sids(&on, policy).contains(&"DenyInsecureTransport".to_owned()),
            "{policy}"
        );
    }
    let conf = &resource(&on, "DatabricksCluster")["Properties"]["SparkConf"];
    assert_eq!(
        conf["spark.hadoop.fs.s3a.server-side-encryption-algorithm"],
        "SSE-KMS"
    );
    assert!(on.resource("DatabricksSseKmsInitScript").is_some());

    let mut c = config(DEFAULT);
    c.encryption.enforce_sse_kms_root = false;
    c.encryption.enforce_sse_kms_datalake = false;
    let off = synth(&c);
    for policy in [
        "RootBucketPolicy",
        "RawBucketPolicy",
        "PreparedBucketPolicy",
        "TrustedBucketPolicy",
    ] {
        assert!(
            !sids(&off, policy).contains(&"DenyUploadsWithoutSseKms".to_owned()),
            "{policy}"
        );
        assert!(
            sids(&off, policy).contains(&"DenyInsecureTransport".to_owned()),
            "{policy}"
        );
    }
    let conf = &resource(&off, "DatabricksCluster")["Properties"]["SparkConf"];
    assert!(conf
        .get("spark.hadoop.fs.s3a.server-side-encryption-algorithm")
        .is_none());
    assert!(off.resource("DatabricksSseKmsInitScript").is_none());
    assert_eq!(
        off.as_json()["Outputs"]["EnforceSseKmsRoot"]["Value"],
        "false"
    );
}

#[test]
fn data_roles_reach_all_three_datalake_buckets() {
    let t = synth(&config(DEFAULT));
    for (policy, bucket_ids) in [
        (
            "DataReadRoleDefaultPolicy",
            ["RawBucket", "PreparedBucket", "TrustedBucket"],
        ),
        (
            "DataWriteRoleDefaultPolicy",
            ["RawBucket", "PreparedBucket", "TrustedBucket"],
        ),
    ] {
        let text = serde_json::to_string(&statements(&t, policy)).unwrap();
        for b in bucket_ids {
            assert!(
                text.contains(&format!("[\"{b}\",\"Arn\"]")),
                "{policy} lacks {b}"
            );
        }
    }
    assert!(sids(&t, "DataReadRoleDefaultPolicy").contains(&"GlueCatalogRead".to_owned()));
    assert!(sids(&t, "DataWriteRoleDefaultPolicy").contains(&"GlueCatalogFull".to_owned()));
}

#[test]
fn key_policies_never_name_everyone() {
    let t = synth(&config(DEFAULT));
    for key in ["StorageKey", "LoggingKey"] {
        let policy = &resource(&t, key)["Properties"]["KeyPolicy"]["Statement"];
        for s in policy.as_array().unwrap() {
            assert_ne!(s["Principal"], json!("*"), "{key}: {s}");
            assert_ne!(s["Principal"]["AWS"], json!("*"), "{key}: {s}");
        }
    }
    let storage_sids: Vec<&str> = resource(&t, "StorageKey")["Properties"]["KeyPolicy"]
        ["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(
        storage_sids,
        vec![
            "AccountRootAdministers",
            "DatabricksUsesKeyForStorage",
            "DatabricksGrantsForAwsResources",
            "CrossAccountRoleEncryptsEbsViaEc2"
        ]
    );
}

#[test]
fn no_secret_reaches_the_template() {
    // The config names where the secret lives, never the secret; the template carries the
    // reference (an ARN) and nothing that looks like a credential.
    let t = synth(&config(DEFAULT));
    let text = t.to_json_compact();
    assert!(text.contains(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:databricks/cdkrs-sp-AbCdEf"
    ));
    let env = &resource(&t, "DatabricksProvider")["Properties"]["Environment"]["Variables"];
    let keys: Vec<&str> = env
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        vec![
            "DATABRICKS_ACCOUNTS_HOST",
            "DATABRICKS_ACCOUNT_ID",
            "DATABRICKS_CLIENT_ID",
            "DATABRICKS_CLIENT_SECRET_ARN",
            "DATABRICKS_REGION",
            "RUST_LOG"
        ]
    );
    // The provider may read exactly that secret, at run time.
    let read = statements(&t, "ProviderRoleDefaultPolicy")
        .into_iter()
        .find(|s| s["Sid"] == "ReadDatabricksSecret")
        .expect("a statement reads the secret");
    assert_eq!(
        read["Resource"],
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:databricks/cdkrs-sp-AbCdEf"
    );
}

#[test]
fn bucket_names_are_unique_per_account_and_region() {
    let t = synth(&config(DEFAULT));
    assert_eq!(
        resource(&t, "RawBucket")["Properties"]["BucketName"],
        json!({"Fn::Sub": "cm-vpc-raw-${AWS::AccountId}-${AWS::Region}"})
    );
}

/// The default config with `n` groups.
fn with_groups(mut c: Config, n: usize) -> Config {
    let template = c.databricks.groups[0].clone();
    c.databricks.groups = (0..n)
        .map(|i| cdkrs_stacks::config::GroupConfig {
            name: format!("team-{i}"),
            ..template.clone()
        })
        .collect();
    c
}

#[test]
fn the_validate_time_resource_count_is_the_synthesized_count() {
    let mut lean = config(MINIMAL);
    lean.databricks.log_delivery = false;
    lean.encryption.enforce_sse_kms_root = false;
    let mut six_zones = config(MINIMAL);
    six_zones.network.azs = Azs::Count(6);
    let mut asleep = config(DEFAULT);
    asleep.network_asleep = true;
    for (name, c) in [
        ("default", config(DEFAULT)),
        ("minimal", config(MINIMAL)),
        ("lean", lean),
        ("six zones", six_zones),
        ("asleep", asleep),
        ("100 groups", with_groups(config(DEFAULT), 100)),
    ] {
        let env = validate::validate(&c).unwrap_or_else(|e| panic!("{name}: {e}"));
        let counted = environment::resource_count(&env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counted, synth(&c).resource_ids().len(), "{name}");
    }
}

#[test]
fn each_group_adds_the_resources_validation_counts() {
    let count = |n: usize| synth(&with_groups(config(DEFAULT), n)).resource_ids().len();
    for n in [1, 2, 7] {
        assert_eq!(
            count(n + 1) - count(n),
            environment::databricks::RESOURCES_PER_GROUP,
            "group {}",
            n + 1
        );
    }
}

#[test]
fn validation_allows_exactly_the_groups_synth_allows() {
    let one =
        validate::validate(&with_groups(config(DEFAULT), 1)).unwrap_or_else(|e| panic!("{e}"));
    let per_group = environment::databricks::RESOURCES_PER_GROUP;
    let base = environment::resource_count(&one).unwrap_or_else(|e| panic!("{e}")) - per_group;
    let most = (cdkrs_constructs::limits::RESOURCES - base) / per_group;

    let fits = with_groups(config(DEFAULT), most);
    assert_eq!(
        synth(&fits).resource_ids().len(),
        base + most * per_group,
        "the most groups validation allows synthesize"
    );
    let over = with_groups(config(DEFAULT), most + 1);
    let errors = validate::validate(&over).expect_err("one group too many");
    assert_eq!(
        errors.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!(
            "databricks.groups: {} groups make the stack declare {} resources, and \
             CloudFormation allows 500 per stack: with the rest of this environment ({base} \
             resources) give at most {most} groups",
            most + 1,
            base + (most + 1) * per_group
        )]
    );
    // One more group would be one resource past synth's limit.
    assert!(base + (most + 1) * per_group > cdkrs_constructs::limits::RESOURCES);
}

#[test]
fn derived_subnets_fit_every_zone_count_a_region_offers() {
    for n in 2..=6u8 {
        let mut c = config(MINIMAL);
        assert_eq!(c.region, "us-east-1", "six usable zones");
        c.network.azs = Azs::Count(n);
        let t = synth(&c);
        let counts = t.resource_type_counts();
        assert_eq!(
            counts.get("AWS::EC2::Subnet").copied(),
            Some(usize::from(n) + 1),
            "{n} private subnets and the public one"
        );
        for i in 1..=n {
            let cidr = resource(&t, &format!("VpcPrivateSubnet{i}"))["Properties"]["CidrBlock"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let prefix: u8 = cidr
                .rsplit('/')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_default();
            assert!(
                (cdkrs_stacks::rules::DATABRICKS_SUBNET_MIN_PREFIX
                    ..=cdkrs_stacks::rules::DATABRICKS_SUBNET_MAX_PREFIX)
                    .contains(&prefix),
                "{n} zones: {cidr}"
            );
        }
    }
}

//! The environment stack per scenario: insta snapshots in `snapshots/`, determinism, and the
//! properties each scenario must show (sleep removes the NAT, flags remove the enforcement).

use cdkrs_constructs::vpc::Azs;
use cdkrs_constructs::Template;
use cdkrs_stacks::config::{Config, Governance};
use cdkrs_stacks::{environment, load, validate};
use serde_json::{json, Value};

const DEFAULT: &str = include_str!("../../examples/databricks.yaml");
const LEGACY: &str = include_str!("../../examples/legacy-passthrough.yaml");
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

/// The five scenarios of a default config, with their snapshot names' suffixes.
fn variants(default: Config, minimal: Config) -> Vec<(&'static str, Config)> {
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
        ("", default),
        ("_encryption_flags_off", flags_off),
        ("_network_asleep", asleep),
        ("_minimal_two_azs", minimal),
        ("_custom_vpc_cidr", custom_cidr),
    ]
}

/// The minimal config with credential passthrough.
fn minimal_legacy() -> Config {
    let mut c = config(MINIMAL);
    c.databricks.governance = Governance::LegacyPassthrough;
    c
}

/// Every scenario in both governance modes, with their snapshot names: Unity Catalog (the
/// default) as `environment_<scenario>`, credential passthrough as
/// `environment_legacy_passthrough<_scenario>` (the passthrough snapshots are the templates of
/// before Unity Catalog, byte for byte).
fn scenarios() -> Vec<(String, Config)> {
    let uc = variants(config(DEFAULT), config(MINIMAL))
        .into_iter()
        .map(|(suffix, c)| {
            let name = if suffix.is_empty() {
                "_default"
            } else {
                suffix
            };
            (format!("environment{name}"), c)
        });
    let legacy = variants(config(LEGACY), minimal_legacy())
        .into_iter()
        .map(|(suffix, c)| (format!("environment_legacy_passthrough{suffix}"), c));
    uc.chain(legacy).collect()
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
            insta::assert_json_snapshot!(name.as_str(), template.as_json());
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
fn legacy_environment_has_the_documented_resources() {
    let t = synth(&config(LEGACY));
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
fn unity_catalog_environment_has_the_documented_resources() {
    let t = synth(&config(DEFAULT));
    let counts = t.resource_type_counts();
    let count = |ty: &str| counts.get(ty).copied().unwrap_or(0);
    for (ty, n) in [
        ("Custom::DatabricksMetastoreAssignment", 1),
        ("Custom::DatabricksAccountGroup", 2),
        ("Custom::DatabricksWorkspaceAssignment", 2),
        ("Custom::DatabricksGrants", 2),
        ("Custom::DatabricksStorageCredential", 1),
        ("Custom::DatabricksExternalLocation", 3),
        ("Custom::DatabricksCatalog", 3),
        ("Custom::DatabricksCluster", 1),
        // Nothing of credential passthrough.
        ("AWS::IAM::InstanceProfile", 0),
        ("Custom::DatabricksInstanceProfile", 0),
        ("Custom::DatabricksGroup", 0),
    ] {
        assert_eq!(count(ty), n, "{ty}");
    }
    for id in [
        "MetaRole",
        "DataReadRole",
        "DataWriteRole",
        "MetaInstanceProfile",
    ] {
        assert!(t.resource(id).is_none(), "{id}");
    }
    let text = t.to_json_compact();
    assert!(!text.contains("glue:"), "no Glue access with Unity Catalog");
    assert!(!text.contains("PassMetaRole") && !text.contains("iam:PassRole"));
    // The cluster: standard access mode, nothing of passthrough, the groups as its users.
    let cluster = &resource(&t, "DatabricksCluster")["Properties"];
    assert_eq!(cluster["DataSecurityMode"], "USER_ISOLATION");
    assert_eq!(cluster["SparkVersion"], "17.3.x-scala2.13");
    for absent in ["SparkConf", "ClusterLogConf", "InitScripts"] {
        assert!(cluster.get(absent).is_none(), "{absent}");
    }
    assert!(cluster["AwsAttributes"].get("InstanceProfileArn").is_none());
    assert!(cluster["CustomTags"].get("ResourceClass").is_none());
    assert_eq!(
        cluster["UserGroups"],
        json!([
            {"Fn::GetAtt": ["DatabricksAccountGroup1", "DisplayName"]},
            {"Fn::GetAtt": ["DatabricksAccountGroup2", "DisplayName"]}
        ])
    );
    // Layer by layer: the location on the bucket, the catalog's managed storage inside it.
    for layer in ["Raw", "Prepared", "Trusted"] {
        let location = &resource(&t, &format!("Databricks{layer}Location"))["Properties"];
        assert_eq!(
            location["Url"],
            json!({"Fn::Join": ["", ["s3://", {"Ref": format!("{layer}Bucket")}, "/"]]})
        );
        assert_eq!(
            location["CredentialName"],
            json!({"Fn::GetAtt": ["DatabricksStorageCredential", "Name"]})
        );
        let catalog = &resource(&t, &format!("Databricks{layer}Catalog"))["Properties"];
        assert_eq!(
            catalog["Name"],
            json!(format!("cm_vpc_{}", layer.to_lowercase()))
        );
        assert_eq!(
            catalog["StorageRoot"],
            json!({"Fn::Join": ["", ["s3://", {"Ref": format!("{layer}Bucket")}, "/unity-catalog"]]})
        );
    }
    // The storage credential waits for the role's permissions (Databricks validates them).
    assert_eq!(
        resource(&t, "DatabricksStorageCredential")["DependsOn"],
        json!([
            "DatabricksMetastoreAssignment",
            "UnityCatalogStorageRoleDefaultPolicy"
        ])
    );
    // The outputs of the mode, and none of the other.
    let outputs = t.as_json()["Outputs"].as_object().unwrap().clone();
    for present in [
        "StorageCredentialRoleArn",
        "MetastoreId",
        "RawCatalogName",
        "PreparedCatalogName",
        "TrustedCatalogName",
    ] {
        assert!(outputs.contains_key(present), "{present}");
    }
    for absent in [
        "MetaRoleArn",
        "MetaInstanceProfileArn",
        "DataReadRoleArn",
        "DataWriteRoleArn",
    ] {
        assert!(!outputs.contains_key(absent), "{absent}");
    }
}

#[test]
fn everything_databricks_side_below_the_metastore_assignment_waits_for_it() {
    let t = synth(&config(DEFAULT));
    let below = [
        "Custom::DatabricksAccountGroup",
        "Custom::DatabricksWorkspaceAssignment",
        "Custom::DatabricksGrants",
        "Custom::DatabricksStorageCredential",
        "Custom::DatabricksExternalLocation",
        "Custom::DatabricksCatalog",
        "Custom::DatabricksCluster",
    ];
    let mut checked = 0;
    for (id, r) in t.as_json()["Resources"].as_object().unwrap() {
        if !below.contains(&r["Type"].as_str().unwrap_or_default()) {
            continue;
        }
        checked += 1;
        let after: Vec<&str> = r["DependsOn"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            after.contains(&"DatabricksMetastoreAssignment"),
            "{id}: {after:?}"
        );
    }
    assert_eq!(checked, 1 + 2 + 2 + 2 + 1 + 3 + 3);
}

#[test]
fn grants_are_the_named_privilege_lists_and_nothing_more() {
    use cdkrs_stacks::environment::databricks::{
        CATALOG_READ_PRIVILEGES, CATALOG_WRITE_PRIVILEGES, LOCATION_READ_PRIVILEGES,
        LOCATION_WRITE_PRIVILEGES,
    };
    let names = |p: &[cdkrs_databricks::Privilege]| -> Vec<String> {
        p.iter().map(|p| p.as_str().to_owned()).collect()
    };
    let t = synth(&config(DEFAULT));
    // Group 1 reads, group 2 writes (examples/databricks.yaml).
    for (id, group, write) in [
        ("DatabricksGrants1", "DatabricksAccountGroup1", false),
        ("DatabricksGrants2", "DatabricksAccountGroup2", true),
    ] {
        let props = &resource(&t, id)["Properties"];
        assert_eq!(
            props["Principal"],
            json!({"Fn::GetAtt": [group, "DisplayName"]})
        );
        let grants = props["Grants"].as_array().unwrap();
        assert_eq!(grants.len(), 6, "three catalogs and three locations");
        for g in grants {
            let (read, extra) = match g["SecurableType"].as_str().unwrap() {
                "CATALOG" => (CATALOG_READ_PRIVILEGES, CATALOG_WRITE_PRIVILEGES),
                "EXTERNAL_LOCATION" => (LOCATION_READ_PRIVILEGES, LOCATION_WRITE_PRIVILEGES),
                other => panic!("{id}: a grant on a {other}"),
            };
            let mut want = names(read);
            if write {
                want.extend(names(extra));
            }
            assert_eq!(g["Privileges"], json!(want), "{id}");
        }
    }
    assert_eq!(
        names(CATALOG_READ_PRIVILEGES),
        ["USE_CATALOG", "USE_SCHEMA", "SELECT"]
    );
    assert_eq!(names(LOCATION_READ_PRIVILEGES), ["READ_FILES"]);
    assert_eq!(
        names(LOCATION_WRITE_PRIVILEGES),
        ["WRITE_FILES", "CREATE_EXTERNAL_TABLE"]
    );
}

#[test]
fn every_resource_only_passthrough_has_a_removal_note_in_unity_catalog() {
    for (legacy, uc) in [
        (config(LEGACY), {
            let mut c = config(LEGACY);
            c.databricks.governance = Governance::UnityCatalog;
            c.databricks.cluster.spark_version = None;
            c
        }),
        (with_groups(config(LEGACY), 5), {
            let mut c = with_groups(config(LEGACY), 5);
            c.databricks.governance = Governance::UnityCatalog;
            c.databricks.cluster.spark_version = None;
            c
        }),
    ] {
        let (old, new) = (synth(&legacy), synth(&uc));
        let gone: std::collections::BTreeSet<String> = old
            .resource_ids()
            .into_iter()
            .filter(|id| new.resource(id).is_none())
            .map(str::to_owned)
            .collect();
        let notes: std::collections::BTreeSet<String> = new.as_json()["Metadata"]["cdkrs"]
            ["RemovalNotes"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(gone, notes);
        assert!(gone.contains("MetaRole") && gone.contains("DatabricksGroup1"));
        // The passthrough template carries no notes.
        assert!(old.as_json().get("Metadata").is_none());
    }
}

#[test]
fn the_unity_catalog_cross_account_policy_is_passthroughs_without_pass_role() {
    let policy = |t: &Template| {
        resource(t, "CrossAccountRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .clone()
    };
    let mut legacy = policy(&synth(&config(LEGACY)));
    legacy.retain(|s| s["Sid"] != "PassMetaRole");
    assert_eq!(policy(&synth(&config(DEFAULT))), legacy);
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
    const DENIALS: [&str; 3] = [
        "DenyOtherEncryptionAlgorithms",
        "DenySseKmsWithoutKeyId",
        "DenyOtherKmsKeys",
    ];
    let on = synth(&config(DEFAULT));
    for policy in [
        "RootBucketPolicy",
        "RawBucketPolicy",
        "PreparedBucketPolicy",
        "TrustedBucketPolicy",
    ] {
        for sid in DENIALS {
            assert!(
                sids(&on, policy).contains(&sid.to_owned()),
                "{policy} {sid}"
            );
        }
        // TLS-only holds whatever the flags (the seed dropped it with the flag).
        assert!(
            sids(&on, policy).contains(&"DenyInsecureTransport".to_owned()),
            "{policy}"
        );
        // Every SSE denial only judges a header that is present: writers relying on the
        // bucket's default encryption are never denied.
        for s in statements(&on, policy) {
            if s["Effect"] == "Deny" && s["Sid"] != "DenyInsecureTransport" {
                assert!(s["Condition"].get("Null").is_some(), "{policy}: {s}");
            }
        }
    }
    // The key the denials admit is the storage key, in both of its forms.
    let other_keys = statements(&on, "RawBucketPolicy")
        .into_iter()
        .find(|s| s["Sid"] == "DenyOtherKmsKeys")
        .expect("the other-keys denial");
    assert_eq!(
        other_keys["Condition"]["StringNotEquals"]
            ["s3:x-amz-server-side-encryption-aws-kms-key-id"],
        json!([{"Fn::GetAtt": ["StorageKey", "Arn"]}, {"Ref": "StorageKey"}])
    );
    // No init script and no SSE spark conf: the cluster writes like every other client.
    let conf = &resource(&on, "DatabricksCluster")["Properties"]["SparkConf"];
    assert!(conf
        .get("spark.hadoop.fs.s3a.server-side-encryption-algorithm")
        .is_none());
    assert!(on.resource("DatabricksSseKmsInitScript").is_none());
    assert!(resource(&on, "DatabricksCluster")["Properties"]
        .get("InitScripts")
        .is_none());

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
        for sid in DENIALS {
            assert!(
                !sids(&off, policy).contains(&sid.to_owned()),
                "{policy} {sid}"
            );
        }
        assert!(
            sids(&off, policy).contains(&"DenyInsecureTransport".to_owned()),
            "{policy}"
        );
    }
    assert_eq!(
        off.as_json()["Outputs"]["EnforceSseKmsRoot"]["Value"],
        "false"
    );
}

#[test]
fn versioning_follows_databricks_delta_guidance() {
    let t = synth(&config(DEFAULT));
    let versioning = |id: &str| {
        resource(&t, id)["Properties"]
            .get("VersioningConfiguration")
            .cloned()
    };
    // Root (SRA, Databricks-managed DBFS) and the Delta zones: no bucket versioning.
    for id in ["RootBucket", "PreparedBucket", "TrustedBucket"] {
        assert_eq!(versioning(id), None, "{id}");
        let skips = resource(&t, id)["Metadata"]["checkov"]["skip"].to_string();
        assert!(skips.contains("CKV_AWS_21"), "{id}: {skips}");
    }
    // Raw keeps versions, and its noncurrent versions go within Databricks' 7 days.
    assert_eq!(versioning("RawBucket"), Some(json!({"Status": "Enabled"})));
    assert_eq!(
        resource(&t, "RawBucket")["Properties"]["LifecycleConfiguration"]["Rules"][0]
            ["NoncurrentVersionExpiration"],
        json!({"NoncurrentDays": 7})
    );
}

#[test]
fn log_roles_get_the_log_bucket_permissions_databricks_documents() {
    let t = synth(&config(LEGACY));
    // The object statement of a prefix grant: its resources' `Fn::Sub` templates and actions.
    let objects_of = |policy: &str| -> (Vec<String>, Value) {
        let s = statements(&t, policy)
            .into_iter()
            .find(|s| {
                s["Action"]
                    .as_array()
                    .is_some_and(|a| a.contains(&json!("s3:PutObjectAcl")))
            })
            .unwrap_or_else(|| panic!("{policy} has no prefix delivery grant"));
        let resources = match &s["Resource"] {
            Value::Array(a) => a.clone(),
            one => vec![one.clone()],
        };
        let prefixes = resources
            .iter()
            .map(|r| r["Fn::Sub"][0].as_str().unwrap().to_owned())
            .collect();
        (prefixes, s["Action"].clone())
    };
    let (prefixes, actions) = objects_of("LogDeliveryRoleDefaultPolicy");
    assert_eq!(prefixes, ["${Arn}/billable-usage/*", "${Arn}/audit-logs/*"]);
    for a in [
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:PutObjectAcl",
        "s3:AbortMultipartUpload",
    ] {
        assert!(
            actions.as_array().unwrap().contains(&json!(a)),
            "{a}: {actions}"
        );
    }
    // Nothing of the log-delivery role reaches the whole bucket's objects.
    let whole = statements(&t, "LogDeliveryRoleDefaultPolicy")
        .iter()
        .any(|s| s.to_string().contains("\"${Arn}/*\""));
    assert!(!whole);
    let (prefixes, _) = objects_of("MetaRoleDefaultPolicy");
    assert_eq!(prefixes, ["${Arn}/cluster-logs/*"]);
    let destination = resource(&t, "DatabricksCluster")["Properties"]["ClusterLogConf"]
        ["Destination"]
        .to_string();
    assert!(destination.contains("/cluster-logs"), "{destination}");
}

#[test]
fn flow_log_keeps_the_seeds_record_format() {
    let t = synth(&config(DEFAULT));
    assert_eq!(
        resource(&t, "VpcFlowLog")["Properties"]["LogFormat"],
        "${subnet-id} ${instance-id} ${interface-id} ${protocol} ${srcaddr} ${srcport} ${pkt-srcaddr} ${dstaddr} ${dstport} ${pkt-dstaddr} ${tcp-flags}"
    );
}

#[test]
fn cluster_waits_for_the_network_without_depending_on_what_sleep_removes() {
    let t = synth(&config(LEGACY));
    let cluster = resource(&t, "DatabricksCluster");
    assert_eq!(
        cluster["DependsOn"],
        json!(["MetaRoleDefaultPolicy", "S3Endpoint"])
    );
    assert_eq!(
        cluster["Metadata"]["cdkrs"]["DependsOnIf"]["NetworkAwake"],
        json!({"Fn::If": ["NetworkAwake", [
            {"Ref": "VpcPrivateDefaultRoute"},
            {"Ref": "StsEndpoint"},
            {"Ref": "KinesisEndpoint"}
        ], []]})
    );
    // No resource names a conditional resource in DependsOn unless it has the same condition
    // (CloudFormation fails such a stack when the condition is false; cfn-lint E3005).
    let all = t.as_json()["Resources"].as_object().unwrap().clone();
    for (id, r) in &all {
        for d in r["DependsOn"].as_array().into_iter().flatten() {
            let target = &all[d.as_str().unwrap()];
            if let Some(c) = target.get("Condition") {
                assert_eq!(r.get("Condition"), Some(c), "{id} depends on {d}");
            }
        }
    }
}

#[test]
fn a_cluster_created_asleep_is_not_left_starting() {
    // The provider terminates a cluster created while this is false, and an Update that
    // changes only this (sleep, wake) calls nothing: the property is not part of the spec.
    for asleep in [false, true] {
        let mut c = config(DEFAULT);
        c.network_asleep = asleep;
        let t = synth(&c);
        assert_eq!(
            resource(&t, "DatabricksCluster")["Properties"]["StartOnCreate"],
            json!({"Fn::If": ["NetworkAwake", true, false]}),
            "asleep: {asleep}"
        );
    }
}

#[test]
fn endpoint_policies_admit_this_account_and_databricks_only() {
    let t = synth(&config(DEFAULT));
    let region = cdkrs_stacks::regions::region("eu-west-1").unwrap();
    let policy = |id: &str| resource(&t, id)["Properties"]["PolicyDocument"]["Statement"].clone();
    let s3 = policy("S3Endpoint");
    let text = s3.to_string();
    for bucket in region.databricks.artifacts.iter().chain([
        &region.databricks.logs,
        &region.databricks.system_tables,
        &region.databricks.datasets,
    ]) {
        assert!(text.contains(&format!("s3:::{bucket}/*")), "{bucket}");
    }
    for s in s3.as_array().unwrap() {
        // Every `*` principal is narrowed by whose principal or whose bucket it is.
        let c = &s["Condition"]["StringEquals"];
        assert!(
            c.get("aws:PrincipalAccount").is_some() || c.get("aws:ResourceAccount").is_some(),
            "{s}"
        );
    }
    assert_eq!(
        s3[0]["Condition"]["StringEquals"],
        json!({"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}, "s3:ResourceAccount": {"Ref": "AWS::AccountId"}})
    );
    let kinesis = policy("KinesisEndpoint");
    assert_eq!(kinesis.as_array().unwrap().len(), 1);
    assert_eq!(
        kinesis[0]["Resource"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:kinesis:${AWS::Region}:414351767826:stream/*"})
    );
    assert_eq!(
        kinesis[0]["Principal"],
        json!({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::414351767826:root"}})
    );
    let sts = policy("StsEndpoint");
    assert_eq!(
        sts[0]["Principal"],
        json!({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}})
    );
    assert_eq!(
        sts[1]["Principal"]["AWS"],
        json!([
            {"Fn::Sub": "arn:${AWS::Partition}:iam::414351767826:user/databricks-datasets-readonly-user-prod"},
            {"Fn::Sub": "arn:${AWS::Partition}:iam::414351767826:root"}
        ])
    );
}

/// Databricks' restricted policy (the fixture) for the values it was generated with.
const FIXTURE: &str = include_str!("fixtures/databricks_crossaccount_restricted.json");
const FIXTURE_ACCOUNT: &str = "123456789012";
const FIXTURE_REGION: &str = "us-west-2";
const FIXTURE_VPC: &str = "vpc-abcdefg12345";
const FIXTURE_SG: &str = "sg-12345678";

/// What the stack's cross-account policy has that the reference has not, by Sid, with why. The
/// comparison fails on anything else: a reference statement, action, resource or condition that
/// is missing or changed, or an extra statement not listed here.
const DEVIATIONS: &[(&str, &str)] = &[(
    "PassMetaRole",
    "iam:PassRole of the meta role: Databricks launches the cluster with the meta instance profile. \
     The data source adds the same statement (without Sid) when `pass_roles` is given; the \
     fixture is generated without it",
)];

/// Resources of the reference that the stack writes differently, by Sid and field, with why:
/// `(sid, field, reference ARN, ours (None: left out), reason)`. Applied to the reference
/// statement before the comparison; each entry must apply.
const ARN_DEVIATIONS: &[(&str, &str, &str, Option<&str>, &str)] = &[
    (
        "AllowEc2RunInstanceImagePerTag",
        "Resource",
        "arn:aws:ec2:us-west-2:123456789012:image/*",
        Some("arn:aws:ec2:us-west-2::image/*"),
        "an AMI's ARN has an empty account field (Service Authorization Reference); the \
         reference's form matches no AMI",
    ),
    (
        "AllowEc2RunInstanceOtherResources",
        "NotResource",
        "arn:aws:ec2:us-west-2:123456789012:image/*",
        None,
        "the reference's entry excludes no AMI (wrong account field), so its catch-all allows \
         every image; leaving the entry out keeps that effect with ARNs AWS can match",
    ),
];

/// The reference statement with [`ARN_DEVIATIONS`] applied; counts what applied in `applied`.
fn with_arn_deviations(reference: &Value, applied: &mut [bool]) -> Value {
    let mut r = reference.clone();
    for (i, (sid, field, theirs, ours, _)) in ARN_DEVIATIONS.iter().enumerate() {
        if r.get("Sid").and_then(Value::as_str) != Some(*sid) {
            continue;
        }
        let mut values: Vec<String> = set(&r[*field]).into_iter().collect();
        let Some(at) = values.iter().position(|v| v == theirs) else {
            continue;
        };
        applied[i] = true;
        match ours {
            Some(o) => values[at] = (*o).to_owned(),
            None => {
                values.remove(at);
            }
        }
        r[*field] = serde_json::json!(values);
    }
    r
}

/// Resolves the intrinsics of a policy for the fixture's values.
fn resolve(v: &Value) -> Value {
    resolve_with(v, &cross_account_vars)
}

/// The values of the cross-account fixture's inputs.
fn cross_account_vars(name: &str) -> String {
    {
        match name {
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => FIXTURE_REGION.into(),
            "AWS::AccountId" => FIXTURE_ACCOUNT.into(),
            "Vpc" => FIXTURE_VPC.into(),
            "WorkspaceSecurityGroup.GroupId" => FIXTURE_SG.into(),
            "MetaRole.Arn" => format!("arn:aws:iam::{FIXTURE_ACCOUNT}:role/cm-vpc-meta"),
            other => panic!("no value for `{other}` in the cross-account policy"),
        }
    }
}

/// Resolves the intrinsics of a policy with `vars` (pseudo parameters, `Ref`s and
/// `Logical.Attribute`s).
fn resolve_with(v: &Value, vars: &dyn Fn(&str) -> String) -> Value {
    let substitute = |text: &str, local: &serde_json::Map<String, Value>| -> String {
        let mut out = text.to_owned();
        for (k, v) in local {
            out = out.replace(
                &format!("${{{k}}}"),
                resolve_with(v, vars).as_str().unwrap(),
            );
        }
        for p in ["AWS::Partition", "AWS::Region", "AWS::AccountId"] {
            out = out.replace(&format!("${{{p}}}"), &vars(p));
        }
        assert!(!out.contains("${"), "unresolved: {out}");
        out
    };
    match v {
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve_with(x, vars)).collect()),
        Value::Object(o) => {
            if let Some(sub) = o.get("Fn::Sub") {
                return Value::String(match sub {
                    Value::String(t) => substitute(t, &serde_json::Map::new()),
                    Value::Array(pair) => {
                        substitute(pair[0].as_str().unwrap(), pair[1].as_object().unwrap())
                    }
                    other => panic!("Fn::Sub of {other}"),
                });
            }
            if let Some(Value::String(r)) = o.get("Ref") {
                return Value::String(vars(r));
            }
            if let Some(Value::Array(ga)) = o.get("Fn::GetAtt") {
                return Value::String(vars(&format!(
                    "{}.{}",
                    ga[0].as_str().unwrap(),
                    ga[1].as_str().unwrap()
                )));
            }
            Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), resolve_with(v, vars)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// A set of strings from a string or a list of strings (IAM's two spellings).
fn set(v: &Value) -> std::collections::BTreeSet<String> {
    match v {
        Value::Null => Default::default(),
        Value::String(s) => [s.clone()].into(),
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        other => panic!("not a string or list: {other}"),
    }
}

/// The differences between a reference statement and ours, field by field.
fn statement_differences(reference: &Value, ours: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for field in ["Effect", "Sid"] {
        if reference.get(field) != ours.get(field) {
            out.push(format!(
                "{field}: reference {:?}, ours {:?}",
                reference.get(field),
                ours.get(field)
            ));
        }
    }
    for field in ["Action", "Resource", "NotResource"] {
        let (r, o) = (set(&reference[field]), set(&ours[field]));
        let missing: Vec<_> = r.difference(&o).collect();
        let extra: Vec<_> = o.difference(&r).collect();
        if !missing.is_empty() {
            out.push(format!("{field} dropped: {missing:?}"));
        }
        if !extra.is_empty() {
            out.push(format!("{field} added: {extra:?}"));
        }
    }
    let conditions = |s: &Value| -> Vec<(String, String, std::collections::BTreeSet<String>)> {
        s["Condition"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(op, keys)| {
                keys.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (op.clone(), k.clone(), set(v)))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let (r, o) = (conditions(reference), conditions(ours));
    for c in &r {
        if !o.contains(c) {
            out.push(format!("Condition dropped or changed: {c:?}"));
        }
    }
    for c in &o {
        if !r.contains(c) {
            out.push(format!("Condition added: {c:?}"));
        }
    }
    out
}

#[test]
fn cross_account_policy_is_databricks_restricted_policy() {
    let reference: Value = serde_json::from_str(FIXTURE).unwrap();
    let t = synth(&config(LEGACY));
    let policies = &resource(&t, "CrossAccountRole")["Properties"]["Policies"];
    assert_eq!(policies.as_array().unwrap().len(), 1, "{policies}");
    let ours = resolve(&policies[0]["PolicyDocument"]);
    assert_eq!(ours["Version"], reference["Version"]);
    let ours_statements = ours["Statement"].as_array().unwrap();
    let mut matched = vec![false; ours_statements.len()];
    let mut applied = vec![false; ARN_DEVIATIONS.len()];
    let mut problems = Vec::new();
    for (i, r) in reference["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        // A reference statement is ours with the same Sid; an unnamed one is our unnamed
        // statement holding its first action.
        let first_action = set(&r["Action"]).into_iter().next().unwrap();
        let found = ours_statements.iter().position(|o| match r.get("Sid") {
            Some(sid) => o.get("Sid") == Some(sid),
            None => o.get("Sid").is_none() && set(&o["Action"]).contains(&first_action),
        });
        let Some(j) = found else {
            problems.push(format!(
                "reference statement {i} ({:?}) is missing",
                r.get("Sid")
            ));
            continue;
        };
        matched[j] = true;
        let r = &with_arn_deviations(r, &mut applied);
        for d in statement_differences(r, &ours_statements[j]) {
            problems.push(format!("reference statement {i} ({:?}): {d}", r.get("Sid")));
        }
    }
    for (j, o) in ours_statements.iter().enumerate() {
        if matched[j] {
            continue;
        }
        let sid = o["Sid"].as_str().unwrap_or("<no Sid>");
        if !DEVIATIONS.iter().any(|(d, _)| *d == sid) {
            problems.push(format!(
                "statement {sid} is not in the reference nor in DEVIATIONS: {o}"
            ));
        }
    }
    for (i, (sid, field, theirs, _, _)) in ARN_DEVIATIONS.iter().enumerate() {
        assert!(
            applied[i],
            "ARN_DEVIATIONS lists {theirs} in {sid}.{field}, which the reference no longer has"
        );
    }
    for (sid, _) in DEVIATIONS {
        assert!(
            ours_statements.iter().any(|o| o["Sid"] == *sid),
            "DEVIATIONS lists {sid}, which the policy no longer has"
        );
    }
    assert!(
        problems.is_empty(),
        "differences from Databricks' restricted policy:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_comparison_catches_a_dropped_condition_action_or_statement() {
    let reference: Value = serde_json::from_str(FIXTURE).unwrap();
    let statement = &reference["Statement"][3];
    let mut weaker = statement.clone();
    weaker.as_object_mut().unwrap().remove("Condition");
    assert_eq!(
        statement_differences(statement, &weaker),
        ["Condition dropped or changed: (\"StringEquals\", \"aws:RequestTag/Vendor\", {\"Databricks\"})"]
    );
    let mut fewer = reference["Statement"][0].clone();
    fewer["Action"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a != "ec2:AssignPrivateIpAddresses");
    assert_eq!(
        statement_differences(&reference["Statement"][0], &fewer),
        ["Action dropped: [\"ec2:AssignPrivateIpAddresses\"]"]
    );
}

const UC_FIXTURE: &str = include_str!("fixtures/databricks_unity_catalog_role.json");
const UC_FIXTURE_KEY: &str =
    "arn:aws:kms:us-west-2:123456789012:key/11111111-2222-4333-8444-555555555555";

/// The values of the Unity Catalog fixture's inputs.
fn unity_catalog_vars(name: &str) -> String {
    let bucket = |layer: &str| format!("cm-vpc-{layer}-{FIXTURE_ACCOUNT}-{FIXTURE_REGION}");
    match name {
        "AWS::Partition" => "aws".into(),
        "AWS::Region" => FIXTURE_REGION.into(),
        "AWS::AccountId" => FIXTURE_ACCOUNT.into(),
        "StorageKey.Arn" => UC_FIXTURE_KEY.into(),
        "RawBucket.Arn" => format!("arn:aws:s3:::{}", bucket("raw")),
        "PreparedBucket.Arn" => format!("arn:aws:s3:::{}", bucket("prepared")),
        "TrustedBucket.Arn" => format!("arn:aws:s3:::{}", bucket("trusted")),
        "UnityCatalogStorageRole" => "cm-vpc-uc-storage".into(),
        other => panic!("no value for `{other}` in the storage role's policies"),
    }
}

/// The data source's statements the stack leaves out, with why.
const UC_DEVIATIONS: &[(&str, &str)] = &[
    (
        "ManagedFileEventsSetupStatement",
        "file events are not enabled on the external locations: nothing creates their SNS \
         topics and SQS queues",
    ),
    (
        "ManagedFileEventsListStatement",
        "file events are not enabled",
    ),
    (
        "ManagedFileEventsTeardownStatement",
        "file events are not enabled",
    ),
];

/// One reference statement against ours: Effect, Action, Resource, Principal and Condition
/// (as sets; Sids may differ: the data source names only some statements).
fn same_statement(reference: &Value, ours: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut r = reference.clone();
    let mut o = ours.clone();
    for s in [&mut r, &mut o] {
        s.as_object_mut().unwrap().remove("Sid");
    }
    out.extend(statement_differences(&r, &o));
    if r.get("Principal") != o.get("Principal") {
        out.push(format!(
            "Principal: reference {:?}, ours {:?}",
            r.get("Principal"),
            o.get("Principal")
        ));
    }
    out
}

#[test]
fn unity_catalog_role_is_databricks_documented_role() {
    let reference: Value = serde_json::from_str(UC_FIXTURE).unwrap();
    let t = synth(&config(DEFAULT));
    let trust = resolve_with(
        &resource(&t, "UnityCatalogStorageRole")["Properties"]["AssumeRolePolicyDocument"],
        &unity_catalog_vars,
    );
    // The trust policy: both statements, as the data source writes them (Sids included).
    let ref_trust = reference["assume_role_policy"]["Statement"]
        .as_array()
        .unwrap();
    let our_trust = trust["Statement"].as_array().unwrap();
    assert_eq!(ref_trust.len(), our_trust.len(), "{trust}");
    for (r, o) in ref_trust.iter().zip(our_trust) {
        assert_eq!(r["Sid"], o["Sid"]);
        assert_eq!(same_statement(r, o), Vec::<String>::new(), "{}", r["Sid"]);
    }

    // The permissions: the S3 statement for each of the three buckets, sts on itself, KMS on
    // the storage key; nothing else.
    let ours = resolve_with(
        &resource(&t, "UnityCatalogStorageRoleDefaultPolicy")["Properties"]["PolicyDocument"],
        &unity_catalog_vars,
    );
    let ours = ours["Statement"].as_array().unwrap();
    let mut matched = vec![false; ours.len()];
    let raw = format!("cm-vpc-raw-{FIXTURE_ACCOUNT}-{FIXTURE_REGION}");
    for r in reference["policy"]["Statement"].as_array().unwrap() {
        if let Some(sid) = r["Sid"].as_str() {
            if UC_DEVIATIONS.iter().any(|(d, _)| *d == sid) {
                continue;
            }
        }
        let mut r = r.clone();
        // One bucket in the data source, three here.
        if set(&r["Action"]).contains("s3:GetObject") {
            let resources: Vec<String> = set(&r["Resource"])
                .into_iter()
                .flat_map(|arn| {
                    ["raw", "prepared", "trusted"].map(|layer| {
                        arn.replace(
                            &raw,
                            &format!("cm-vpc-{layer}-{FIXTURE_ACCOUNT}-{FIXTURE_REGION}"),
                        )
                    })
                })
                .collect();
            r["Resource"] = json!(resources);
        }
        let first = set(&r["Action"]).into_iter().next().unwrap();
        let j = ours
            .iter()
            .position(|o| set(&o["Action"]).contains(&first))
            .unwrap_or_else(|| panic!("no statement of ours holds {first}"));
        matched[j] = true;
        assert_eq!(
            same_statement(&r, &ours[j]),
            Vec::<String>::new(),
            "{first}"
        );
    }
    assert!(
        matched.iter().all(|m| *m),
        "statements the data source does not have: {ours:?}"
    );
    // No file events, no Glue anywhere in the role's policies.
    let text = serde_json::to_string(ours).unwrap();
    assert!(!text.contains("sqs:") && !text.contains("sns:") && !text.contains("glue:"));
}

#[test]
fn data_roles_reach_all_three_datalake_buckets() {
    let t = synth(&config(LEGACY));
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
        ("legacy", config(LEGACY)),
        ("minimal", config(MINIMAL)),
        ("minimal legacy", minimal_legacy()),
        ("lean", lean),
        ("six zones", six_zones),
        ("asleep", asleep),
        ("100 groups", with_groups(config(DEFAULT), 100)),
        ("100 legacy groups", with_groups(config(LEGACY), 100)),
    ] {
        let env = validate::validate(&c).unwrap_or_else(|e| panic!("{name}: {e}"));
        let counted = environment::resource_count(&env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counted, synth(&c).resource_ids().len(), "{name}");
    }
}

#[test]
fn each_group_adds_the_resources_validation_counts() {
    for (yaml, governance, per_group) in [
        (DEFAULT, Governance::UnityCatalog, 3),
        (LEGACY, Governance::LegacyPassthrough, 1),
    ] {
        let count = |n: usize| synth(&with_groups(config(yaml), n)).resource_ids().len();
        assert_eq!(
            environment::databricks::resources_per_group(governance),
            per_group
        );
        for n in [1, 2, 7] {
            assert_eq!(
                count(n + 1) - count(n),
                environment::databricks::resources_per_group(governance),
                "{governance:?}: group {}",
                n + 1
            );
        }
    }
}

#[test]
fn validation_allows_exactly_the_groups_synth_allows() {
    for yaml in [DEFAULT, LEGACY] {
        let one =
            validate::validate(&with_groups(config(yaml), 1)).unwrap_or_else(|e| panic!("{e}"));
        let per_group = environment::databricks::resources_per_group(one.governance());
        let base = environment::resource_count(&one).unwrap_or_else(|e| panic!("{e}")) - per_group;
        let most = (cdkrs_constructs::limits::RESOURCES - base) / per_group;

        let fits = with_groups(config(yaml), most);
        assert_eq!(
            synth(&fits).resource_ids().len(),
            base + most * per_group,
            "the most groups validation allows synthesize"
        );
        let over = with_groups(config(yaml), most + 1);
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
        // One more group would be past synth's limit.
        assert!(base + (most + 1) * per_group > cdkrs_constructs::limits::RESOURCES);
    }
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

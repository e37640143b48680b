//! A sample stack that uses every L2 construct: its template is an insta snapshot in
//! `snapshots/`, and the pinned cfn-lint finds nothing in it (0 errors, 0 warnings).

use std::path::PathBuf;

use cdkrs_constructs::bucket::{Bucket, BucketEncryption, BucketProps, LifecycleRule};
use cdkrs_constructs::custom_resource::{
    CustomAttribute, CustomResource, CustomResourceProperties, CustomResourceProps,
};
use cdkrs_constructs::endpoint::{
    GatewayEndpoint, GatewayService, InterfaceEndpoint, InterfaceEndpointProps,
};
use cdkrs_constructs::flow_log::{FlowLog, FlowLogProps};
use cdkrs_constructs::function::{Function, FunctionCode, FunctionProps};
use cdkrs_constructs::key::{Key, KeyProps};
use cdkrs_constructs::log_group::{LogGroup, LogGroupProps};
use cdkrs_constructs::policy::{Condition, PolicyDocument, Principal, Statement};
use cdkrs_constructs::role::{service_trust, InstanceProfile, Role, RoleProps};
use cdkrs_constructs::s3::bucket::StorageClass;
use cdkrs_constructs::security_group::{Peer, Port, SecurityGroup, SecurityGroupProps};
use cdkrs_constructs::vpc::{Nat, Vpc, VpcProps};
use cdkrs_constructs::{equals, tags, Output, Parameter, Stack, Template, Value};

/// The typed properties of the sample's custom resource.
#[derive(Clone, Debug, serde::Serialize)]
struct Greeting {
    #[serde(rename = "Name")]
    name: Value<String>,
}

#[derive(Clone, Copy, Debug)]
enum GreetingAttr {
    Message,
}

impl CustomAttribute for GreetingAttr {
    fn name(self) -> &'static str {
        match self {
            GreetingAttr::Message => "Message",
        }
    }
}

impl CustomResourceProperties for Greeting {
    const RESOURCE_TYPE: &'static str = "Custom::Greeting";
    type Attribute = GreetingAttr;
}

fn sample() -> Result<Stack, Box<dyn std::error::Error>> {
    let mut stack = Stack::new("cdkrs-sample");
    stack.set_description("cdkrs sample: every L2 construct with its secure defaults");
    let asleep = stack.add_parameter(
        "NetworkAsleep",
        Parameter::string()
            .allowed_values(["true", "false"])
            .default_value("false")
            .description("true removes the NAT gateway and the interface endpoints"),
    );
    let code_bucket = stack.add_parameter(
        "AssetsBucket",
        Parameter::string().description("bucket holding the provider zip"),
    );
    let code_key = stack.add_parameter(
        "ProviderCodeKey",
        Parameter::string().description("key of the provider zip"),
    );
    let awake = stack.add_condition("NetworkAwake", equals(asleep.value(), "false"));

    let vpc = Vpc::new(
        &mut stack,
        "Vpc",
        VpcProps {
            nat: Nat::When(awake.clone()),
            tags: tags([("project", "sample")]),
            ..Default::default()
        },
    )?;
    let mut sg = SecurityGroup::new(&mut stack, "WorkerSg", &vpc, SecurityGroupProps::default())?;
    sg.add_ingress(
        &mut stack,
        Peer::SelfGroup,
        Port::AllTcp,
        "intra-cluster tcp",
    )?;
    sg.add_egress(
        &mut stack,
        Peer::SelfGroup,
        Port::AllTcp,
        "intra-cluster tcp",
    )?;
    sg.add_egress(&mut stack, Peer::AnyIpv4, Port::Tcp(443), "https")?;

    let storage_key = Key::new(
        &mut stack,
        "StorageKey",
        KeyProps {
            description: Some("sample storage key".into()),
            alias: Some("alias/cdkrs-sample-storage".into()),
            ..Default::default()
        },
    )?;
    let logging_key = Key::new(
        &mut stack,
        "LoggingKey",
        KeyProps {
            description: Some("sample logging key".into()),
            ..Default::default()
        },
    )?;

    let access_logs = Bucket::new(
        &mut stack,
        "AccessLogsBucket",
        BucketEncryption::S3Managed,
        BucketProps {
            lifecycle_rules: vec![LifecycleRule {
                id: "archive-then-expire".into(),
                transitions: vec![(30, StorageClass::Glacier)],
                expiration_days: Some(180),
                noncurrent_expiration_days: Some(30),
                abort_incomplete_multipart_days: Some(7),
                ..Default::default()
            }],
            ..Default::default()
        },
    )?;
    let data = Bucket::new(
        &mut stack,
        "DataBucket",
        BucketEncryption::Kms(&storage_key),
        BucketProps::default(),
    )?;
    data.log_access_to(&mut stack, &access_logs, "s3/data/")?;
    FlowLog::new(
        &mut stack,
        "FlowLog",
        &vpc,
        &access_logs,
        FlowLogProps::default(),
    )?;

    let s3_policy = PolicyDocument::of([Statement::allow()
        .principal(Principal::account_root())
        .actions(["s3:GetObject", "s3:PutObject", "s3:ListBucket"])
        .any_resource()]);
    GatewayEndpoint::new(
        &mut stack,
        "S3Endpoint",
        &vpc,
        GatewayService::S3,
        Some(s3_policy),
    )?;
    InterfaceEndpoint::new(
        &mut stack,
        "StsEndpoint",
        &vpc,
        "sts",
        &sg,
        InterfaceEndpointProps {
            condition: Some(awake.clone()),
            ..Default::default()
        },
    )?;

    let worker = Role::new(
        &mut stack,
        "WorkerRole",
        service_trust("ec2.amazonaws.com"),
        RoleProps::default(),
    )?;
    let _ = data.grant_read_write(&mut stack, &worker)?;
    let profile = InstanceProfile::new(&mut stack, "WorkerProfile", &worker, Default::default());

    let audit = LogGroup::new(
        &mut stack,
        "AuditLogGroup",
        LogGroupProps {
            key: Some(&logging_key),
            retention_days: 90,
            ..Default::default()
        },
    )?;

    let provider_role = Role::new(
        &mut stack,
        "ProviderRole",
        PolicyDocument::of([Statement::allow()
            .principal(Principal::service("lambda.amazonaws.com"))
            .actions(["sts:AssumeRole"])
            .condition(Condition::source_account_self())]),
        RoleProps::default(),
    )?;
    let provider = Function::new(
        &mut stack,
        "Provider",
        FunctionCode {
            s3_bucket: code_bucket.value(),
            s3_key: code_key.value(),
        },
        &provider_role,
        FunctionProps {
            description: Some("sample custom-resource provider".into()),
            log_key: Some(&logging_key),
            reserved_concurrency: Some(5),
            ..Default::default()
        },
    )?;
    let _ = provider.grant_invoke(&mut stack, &provider_role)?;
    cdkrs_constructs::metadata::skip_checkov(
        &mut stack,
        provider.handle(),
        &[
            ("CKV_AWS_116", "custom-resource events are answered within the invocation; a dead-letter queue would hold events nobody replays"),
            ("CKV_AWS_117", "the sample provider calls no resource inside the VPC, so it runs outside it"),
        ],
    );
    let greeting = CustomResource::new(
        &mut stack,
        "Greeting",
        &provider,
        Greeting { name: vpc.id() },
        CustomResourceProps::default(),
    )?;

    stack.add_output(
        "VpcId",
        Output::new(vpc.id()).export(cdkrs_constructs::sub("${AWS::StackName}-VpcId").build()),
    );
    stack.add_output("DataBucketName", Output::new(data.name()));
    stack.add_output("StorageKeyArn", Output::new(storage_key.arn()));
    stack.add_output("WorkerProfileArn", Output::new(profile.arn()));
    stack.add_output("AuditLogGroup", Output::new(audit.name()));
    stack.add_output(
        "Greeting",
        Output::new(greeting.attr(GreetingAttr::Message)).description("what the provider said"),
    );
    Ok(stack)
}

fn synth() -> Template {
    let stack = sample().unwrap_or_else(|e| panic!("the sample stack builds: {e}"));
    stack.synth().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn sample_stack_snapshot() {
    let template = synth();
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_json_snapshot!("sample_stack", template.as_json());
    });
}

#[test]
fn sample_stack_synth_is_deterministic() {
    let a = synth();
    let b = synth();
    assert_eq!(a.to_json_pretty(), b.to_json_pretty());
    assert_eq!(a.to_json_compact(), b.to_json_compact());
    assert_eq!(a.to_yaml(), b.to_yaml());
}

fn lint(template: &str, file_name: &str) -> (Option<i32>, String) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(file_name);
    std::fs::write(&path, template).expect("write the template");
    let run = testkit::cfn_lint(&[path]);
    (run.code, format!("{}{}", run.stdout, run.stderr))
}

#[test]
fn sample_stack_is_lint_clean_as_json_and_yaml() {
    let template = synth();
    let (code, text) = lint(&template.to_json_pretty(), "sample.template.json");
    assert_eq!(
        code,
        Some(0),
        "cfn-lint findings on the JSON template:\n{text}"
    );
    assert!(text.trim().is_empty(), "{text}");
    let (code, text) = lint(&template.to_yaml(), "sample.template.yaml");
    assert_eq!(
        code,
        Some(0),
        "cfn-lint findings on the YAML template:\n{text}"
    );
}

#[test]
fn cfn_lint_gate_catches_a_broken_template() {
    // Proves the gate can fail: a bucket with an unknown property is an E3002 error.
    let broken = r#"{"AWSTemplateFormatVersion":"2010-09-09","Resources":{"B":{"Type":"AWS::S3::Bucket","Properties":{"Bogus":1}}}}"#;
    let (code, text) = lint(broken, "broken.template.json");
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("E3002"), "{text}");
}

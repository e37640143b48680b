//! moto through `testkit::moto`, with the real provider binary and the fake Databricks server:
//! CloudFormation change sets create, update, replace and delete Databricks objects, and the
//! provider's answers (Data, PhysicalResourceId, FAILED) take effect in moto.
//!
//! Needs the venv (`scripts/test`) and the provider binary
//! (`cargo build -p databricks-provider --bin bootstrap`).

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::databricks::{FakeConfig, FakeDatabricks};
use testkit::moto::{xml_values, MotoOptions, MotoServer};

/// The smallest valid zip (an empty archive): moto stores Lambda code but never runs it.
const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
const CODE_BUCKET: &str = "cdkrs-assets";
const CODE_KEY: &str = "provider.zip";
const SECRET_NAME: &str = "cdkrs/databricks-client-secret";

/// A fake Databricks on its own runtime (the moto calls below block this thread), moto with the
/// provider pointed at it, the OAuth secret in Secrets Manager and the provider's code in S3.
struct World {
    moto: MotoServer,
    fake: FakeDatabricks,
    secret_arn: String,
    // Dropped last: it serves the fake.
    _rt: tokio::runtime::Runtime,
}

impl World {
    fn start(config: FakeConfig) -> World {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let fake = rt.block_on(FakeDatabricks::start(config));
        let moto = MotoServer::start(
            MotoOptions::with_provider(testkit::provider_binary())
                .env("DATABRICKS_ACCOUNTS_HOST", fake.base_url())
                .env("RUST_LOG", "info"),
        )
        .unwrap_or_else(|e| panic!("moto starts: {e}"));
        let secret_arn = moto
            .put_secret(SECRET_NAME, &fake.config().client_secret)
            .unwrap_or_else(|e| panic!("the secret is stored: {e}"));
        moto.put_object(CODE_BUCKET, CODE_KEY, EMPTY_ZIP)
            .unwrap_or_else(|e| panic!("the code is stored: {e}"));
        World {
            moto,
            fake,
            secret_arn,
            _rt: rt,
        }
    }

    /// A CloudFormation call that must succeed; the failure names moto's log.
    fn cfn(&self, params: &[(&str, &str)]) -> String {
        self.moto
            .query("cloudformation", params)
            .unwrap_or_else(|e| panic!("{e}\n--- moto's log:\n{}", self.moto.log_tail(60)))
    }

    /// Create or update `stack` to `template` through a change set; the ExecuteChangeSet result.
    fn deploy(&self, stack: &str, template: &Value, kind: &str) -> Result<(), String> {
        let body = template.to_string();
        let name = format!("cs-{}", kind.to_lowercase());
        let created = self.cfn(&[
            ("Action", "CreateChangeSet"),
            ("StackName", stack),
            ("ChangeSetName", &name),
            ("ChangeSetType", kind),
            ("TemplateBody", &body),
            ("Capabilities.member.1", "CAPABILITY_IAM"),
        ]);
        let id = xml_values(&created, "Id").pop().expect("a change set id");
        let described = self.cfn(&[
            ("Action", "DescribeChangeSet"),
            ("ChangeSetName", &id),
            ("StackName", stack),
        ]);
        assert_eq!(xml_values(&described, "Status"), ["CREATE_COMPLETE"]);
        self.moto
            .query(
                "cloudformation",
                &[
                    ("Action", "ExecuteChangeSet"),
                    ("ChangeSetName", &id),
                    ("StackName", stack),
                ],
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn stack_status(&self, stack: &str) -> String {
        let out = self.cfn(&[("Action", "DescribeStacks"), ("StackName", stack)]);
        xml_values(&out, "StackStatus").pop().expect("a status")
    }

    /// The physical id moto reports for a logical resource.
    fn physical_id(&self, stack: &str, logical: &str) -> String {
        let out = self.cfn(&[("Action", "DescribeStackResources"), ("StackName", stack)]);
        let logical_ids = xml_values(&out, "LogicalResourceId");
        let physical_ids = xml_values(&out, "PhysicalResourceId");
        let at = logical_ids
            .iter()
            .position(|l| l == logical)
            .unwrap_or_else(|| panic!("{logical} is not among {logical_ids:?}"));
        physical_ids[at].clone()
    }

    /// The stack's output values, in order.
    fn outputs(&self, stack: &str) -> Vec<String> {
        let out = self.cfn(&[("Action", "DescribeStacks"), ("StackName", stack)]);
        xml_values(&out, "OutputValue")
    }

    fn ssm_value(&self, name: &str) -> String {
        let out = self
            .moto
            .json("ssm", "AmazonSSM.GetParameter", &json!({"Name": name}))
            .unwrap_or_else(|e| panic!("{e}"));
        out["Parameter"]["Value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The provider function and its role, plus `resources`.
    fn template(&self, resources: Value) -> Value {
        let mut all = json!({
            "ProviderRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
                }}
            },
            "Provider": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "cdkrs-databricks-provider",
                    "Runtime": "provided.al2023",
                    "Handler": "bootstrap",
                    "Role": {"Fn::GetAtt": ["ProviderRole", "Arn"]},
                    "Code": {"S3Bucket": CODE_BUCKET, "S3Key": CODE_KEY},
                    // The provider hands a long wait over 10 s before its deadline: 13 s leaves
                    // about 3 s of polling per invocation.
                    "Timeout": 13,
                    "MemorySize": 256,
                    "Environment": {"Variables": {
                        "DATABRICKS_ACCOUNT_ID": self.fake.config().account_id,
                        "DATABRICKS_CLIENT_ID": self.fake.config().client_id,
                        "DATABRICKS_CLIENT_SECRET_ARN": self.secret_arn,
                    }}
                }
            }
        });
        for (k, v) in resources.as_object().expect("resources") {
            all[k] = v.clone();
        }
        json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": all})
    }
}

/// A `Custom::DatabricksGroup` and an SSM parameter holding its `GroupId`.
fn group_resources(url: &str, name: &str, allow_cluster_create: bool) -> Value {
    json!({
        "Engineers": {
            "Type": "Custom::DatabricksGroup",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": 300,
                "WorkspaceUrl": url,
                "DisplayName": name,
                "Roles": ["arn:aws:iam::123456789012:role/data"],
                "AllowClusterCreate": allow_cluster_create,
                "AllowInstancePoolCreate": false
            }
        },
        "EngineersId": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": "/cdkrs/engineers-group-id",
                "Type": "String",
                "Value": {"Fn::GetAtt": ["Engineers", "GroupId"]}
            }
        }
    })
}

fn entitlements(group: &Value) -> Vec<String> {
    group["entitlements"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The process ids in process group `pgid` (Linux `/proc`).
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`: comm may hold spaces, so count from the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        if fields.get(2).and_then(|p| p.parse::<u32>().ok()) == Some(pgid) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn lambda_invocations_reach_the_provider_and_drop_leaves_no_process_or_port() {
    let w = World::start(FakeConfig::default());
    let template = w.template(json!({}));
    w.deploy("cdkrs-invoke", &template, "CREATE")
        .unwrap_or_else(|e| panic!("{e}"));
    let path = "/2015-03-31/functions/cdkrs-databricks-provider/invocations";

    // RequestResponse: the provider's own error comes back (it only takes CloudFormation events).
    let sync = w
        .moto
        .request("POST", path, "lambda", &[], br#"{"hello":"world"}"#)
        .expect("invoke");
    assert_eq!(sync.status, 200, "{}", sync.text());
    assert_eq!(sync.header("x-amz-function-error"), Some("Unhandled"));
    assert!(
        sync.text().contains("not a custom-resource event"),
        "{}",
        sync.text()
    );

    // Event: 202 at once, the invocation runs in the background.
    let started = Instant::now();
    let event = w
        .moto
        .request(
            "POST",
            path,
            "lambda",
            &[("X-Amz-Invocation-Type", "Event")],
            br#"{"hello":"again"}"#,
        )
        .expect("invoke");
    assert_eq!(event.status, 202, "{}", event.text());
    assert!(started.elapsed() < Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.moto.log().matches("not a custom-resource event").count() < 4 {
        assert!(Instant::now() < deadline, "{}", w.moto.log_tail(30));
        std::thread::sleep(Duration::from_millis(50));
    }

    // An SDK process pointed at moto by `client_env` (boto3, which moto's venv has).
    let sdk = std::process::Command::new(testkit::venv_tool("python"))
        .args([
            "-c",
            "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])",
        ])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(w.moto.client_env())
        .output()
        .expect("python runs");
    assert_eq!(
        String::from_utf8_lossy(&sdk.stdout).trim(),
        "123456789012",
        "{}",
        String::from_utf8_lossy(&sdk.stderr)
    );

    let (pgid, port) = (w.moto.pid(), w.moto.port());
    let members = group_members(pgid);
    assert!(members.len() >= 2, "launcher and provider: {members:?}");
    drop(w);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );
    let left: Vec<String> = group_members(pgid)
        .iter()
        .map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default())
        .collect();
    assert_eq!(left, Vec::<String>::new(), "processes left");
}

#[test]
fn a_custom_resource_is_created_updated_replaced_and_deleted_through_change_sets() {
    let w = World::start(FakeConfig::default());
    let url = w.fake.base_url().to_owned();
    let stack = "cdkrs-group";

    let template = |name: &str, allow_cluster_create: bool| {
        let mut t = w.template(group_resources(&url, name, allow_cluster_create));
        t["Outputs"] = json!({"GroupId": {"Value": {"Fn::GetAtt": ["Engineers", "GroupId"]}}});
        t
    };

    // Create: the group exists and its id flows through Fn::GetAtt into the SSM parameter and
    // the stack's Outputs.
    w.deploy(stack, &template("engineers", false), "CREATE")
        .unwrap_or_else(|e| panic!("{e}\n{}", w.moto.log_tail(60)));
    assert_eq!(w.stack_status(stack), "CREATE_COMPLETE");
    let state = w.fake.state();
    let group = state.group("engineers").expect("the group exists");
    let id = group["id"].as_str().expect("an id").to_owned();
    assert_eq!(entitlements(group), Vec::<String>::new());
    assert_eq!(w.ssm_value("/cdkrs/engineers-group-id"), id);
    assert_eq!(w.physical_id(stack, "Engineers"), id, "the provider's id");
    assert_eq!(w.outputs(stack), [id.as_str()]);

    // Update in place: the provider gets Update with the old properties; the group changes.
    w.deploy(stack, &template("engineers", true), "UPDATE")
        .unwrap_or_else(|e| panic!("{e}\n{}", w.moto.log_tail(60)));
    assert_eq!(w.stack_status(stack), "UPDATE_COMPLETE");
    let state = w.fake.state();
    let group = state.group("engineers").expect("the group is still there");
    assert_eq!(group["id"], id.as_str(), "updated in place");
    assert_eq!(entitlements(group), ["allow-cluster-create"]);
    assert!(
        w.moto
            .log()
            .contains("Update Engineers (Custom::DatabricksGroup)"),
        "an Update event"
    );

    // Rename: a new group (new physical id), the old one is deleted in the cleanup.
    w.deploy(stack, &template("platform-engineers", true), "UPDATE")
        .unwrap_or_else(|e| panic!("{e}\n{}", w.moto.log_tail(60)));
    let state = w.fake.state();
    assert!(state.group("engineers").is_none(), "the old group is gone");
    let renamed = state.group("platform-engineers").expect("the new group");
    let new_id = renamed["id"].as_str().expect("an id").to_owned();
    assert_ne!(new_id, id);
    assert_eq!(w.physical_id(stack, "Engineers"), new_id);
    assert_eq!(w.outputs(stack), [new_id.as_str()]);
    // (moto updates only resources whose template changed: the SSM parameter, whose resolved
    // Value would change in CloudFormation, keeps the old id.)

    // Delete: the provider gets Delete (before moto deletes its function); the group is gone.
    w.cfn(&[("Action", "DeleteStack"), ("StackName", stack)]);
    assert!(w.fake.state().group("platform-engineers").is_none());
    let gone = w
        .moto
        .query(
            "cloudformation",
            &[("Action", "DescribeStacks"), ("StackName", stack)],
        )
        .expect_err("a deleted stack is not found by name");
    assert!(gone.to_string().contains("does not exist"), "{gone}");
}

#[test]
fn a_failed_answer_fails_the_call_with_the_reason_and_marks_the_stack() {
    let w = World::start(FakeConfig::default());
    let stack = "cdkrs-failing";
    // A workspace URL that is not the provider's Databricks host: the provider refuses it
    // before any request (so nothing leaves 127.0.0.1) and answers FAILED.
    let template = w.template(group_resources("http://127.0.0.1:9", "engineers", false));
    let err = w
        .deploy(stack, &template, "CREATE")
        .expect_err("the execution fails");
    assert!(err.contains("HTTP 400"), "{err}");
    assert!(
        err.contains("Engineers (Custom::DatabricksGroup) CREATE_FAILED"),
        "{err}"
    );
    assert!(err.contains("is not the accounts host"), "{err}");
    assert_eq!(w.stack_status(stack), "CREATE_FAILED");
    let events = w.cfn(&[("Action", "DescribeStackEvents"), ("StackName", stack)]);
    assert!(
        xml_values(&events, "ResourceStatus").contains(&"CREATE_FAILED".to_owned()),
        "{events}"
    );
    assert!(w.fake.state().group("engineers").is_none());
}

#[test]
fn a_long_operation_continues_through_asynchronous_self_invocations() {
    // Provisioning outlasts one invocation: the provider re-invokes itself (`Event` through
    // moto's Invoke API) while its first invocation still runs, and answers from a later one.
    let w = World::start(FakeConfig {
        workspace_provisioning_delay: Duration::from_secs(6),
        ..FakeConfig::default()
    });
    let account = w.fake.config().account_id.clone();
    let token = json!({"Fn::GetAtt": ["Provider", "Arn"]});
    let resources = json!({
        "Credentials": {"Type": "Custom::DatabricksCredentials", "Properties": {
            "ServiceToken": token, "AccountId": account, "CredentialsName": "t-creds",
            "RoleArn": "arn:aws:iam::123456789012:role/t-xacct"}},
        "Storage": {"Type": "Custom::DatabricksStorageConfiguration", "Properties": {
            "ServiceToken": token, "AccountId": account, "StorageConfigurationName": "t-root",
            "BucketName": "t-root-bucket"}},
        "Network": {"Type": "Custom::DatabricksNetwork", "Properties": {
            "ServiceToken": token, "AccountId": account, "NetworkName": "t-net",
            "VpcId": "vpc-0a1b", "SubnetIds": ["subnet-1a", "subnet-1b"], "SecurityGroupIds": ["sg-1"]}},
        "Workspace": {"Type": "Custom::DatabricksWorkspace", "Properties": {
            "ServiceToken": token, "ServiceTimeout": 300, "AccountId": account,
            "WorkspaceName": "t-slow", "AwsRegion": "us-east-1", "DeploymentName": "t-slow",
            "CredentialsId": {"Fn::GetAtt": ["Credentials", "CredentialsId"]},
            "StorageConfigurationId": {"Fn::GetAtt": ["Storage", "StorageConfigurationId"]},
            "NetworkId": {"Fn::GetAtt": ["Network", "NetworkId"]}}},
        "WorkspaceId": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": "/cdkrs/workspace-id", "Type": "String",
            "Value": {"Fn::GetAtt": ["Workspace", "WorkspaceId"]}}}
    });
    let template = w.template(resources);
    let started = Instant::now();
    w.deploy("cdkrs-workspace", &template, "CREATE")
        .unwrap_or_else(|e| panic!("{e}\n{}", w.moto.log_tail(80)));
    assert!(started.elapsed() >= Duration::from_secs(5));
    let id: i64 = w
        .ssm_value("/cdkrs/workspace-id")
        .parse()
        .expect("a numeric workspace id");
    let state = w.fake.state();
    assert_eq!(
        state.workspace(id).expect("the workspace")["workspace_status"],
        "RUNNING"
    );
    // More than one invocation carried the Create: the first, then continuations.
    let log = w.moto.log();
    let invocations = log
        .lines()
        .filter(|l| l.contains("\"POST /2015-03-31/functions/"))
        .count();
    assert!(invocations >= 1, "self-invocations through moto: {log}");
}

#[test]
fn failed_update_and_delete_leave_the_stack_failed_and_a_later_delete_completes() {
    let w = World::start(FakeConfig::default());
    let url = w.fake.base_url().to_owned();
    let stack = "cdkrs-faulty";
    w.deploy(
        stack,
        &w.template(group_resources(&url, "engineers", false)),
        "CREATE",
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", w.moto.log_tail(60)));
    let groups = w.fake.faults().on("/api/2.0/preview/scim/v2/Groups");
    let denied = r#"{"error_code":"PERMISSION_DENIED","message":"not allowed"}"#;

    // Update: FAILED once; moto's retries of the modification do not ask the provider again.
    groups.fail_next(1, 403, denied);
    let err = w
        .deploy(
            stack,
            &w.template(group_resources(&url, "engineers", true)),
            "UPDATE",
        )
        .expect_err("the update fails");
    assert!(
        err.contains("Engineers (Custom::DatabricksGroup) UPDATE_FAILED"),
        "{err}"
    );
    assert!(err.contains("not allowed"), "{err}");
    assert_eq!(w.stack_status(stack), "UPDATE_FAILED");
    assert_eq!(
        w.moto
            .log()
            .matches("Update Engineers (Custom::DatabricksGroup)")
            .count(),
        1,
        "one Update event"
    );

    // Delete: FAILED; the stack stays, DELETE_FAILED, with the function its resource needs.
    groups.fail_next(1, 403, denied);
    let err = w
        .moto
        .query(
            "cloudformation",
            &[("Action", "DeleteStack"), ("StackName", stack)],
        )
        .expect_err("the delete fails")
        .to_string();
    assert!(
        err.contains("Engineers (Custom::DatabricksGroup) DELETE_FAILED"),
        "{err}"
    );
    assert_eq!(w.stack_status(stack), "DELETE_FAILED");
    assert!(w.fake.state().group("engineers").is_some());
    let out = w.cfn(&[("Action", "DescribeStackResources"), ("StackName", stack)]);
    let mut left = xml_values(&out, "LogicalResourceId");
    left.sort();
    assert_eq!(
        left,
        ["Engineers", "Provider", "ProviderRole"],
        "what is left"
    );

    // A later delete asks the provider again and completes.
    w.cfn(&[("Action", "DeleteStack"), ("StackName", stack)]);
    assert!(w.fake.state().group("engineers").is_none());
}

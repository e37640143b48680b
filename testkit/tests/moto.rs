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
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let body = template.to_string();
        // Change set names are unique within a stack (executed ones included).
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("cs-{}-{n}", kind.to_lowercase());
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
            .map_err(|e| e.to_string())?;
        // The execution runs in the background (the launcher's patch 15): wait for its end.
        let seen = self
            .moto
            .wait_stack(stack, Duration::from_secs(200))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.moto.log_tail(60)));
        let last = seen.last().cloned().unwrap_or_default();
        if last == format!("{kind}_COMPLETE") {
            return Ok(());
        }
        let failures: Vec<String> = events(&self.moto, stack)
            .into_iter()
            .filter(|e| e.status.ends_with("_FAILED") && e.logical != stack)
            .map(|e| format!("{} {}: {}", e.logical, e.status, e.reason))
            .collect();
        Err(format!("{last}; {}", failures.join("; ")))
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
fn a_failed_answer_fails_the_resource_with_the_reason_and_the_stack_rolls_back() {
    let w = World::start(FakeConfig::default());
    let stack = "cdkrs-failing";
    // A workspace URL that is not the provider's Databricks host: the provider refuses it
    // before any request (so nothing leaves 127.0.0.1) and answers FAILED.
    let template = w.template(group_resources("http://127.0.0.1:9", "engineers", false));
    let err = w
        .deploy(stack, &template, "CREATE")
        .expect_err("the execution fails");
    assert!(err.starts_with("ROLLBACK_COMPLETE"), "{err}");
    assert!(err.contains("Engineers CREATE_FAILED"), "{err}");
    assert!(err.contains("is not the accounts host"), "{err}");
    assert_eq!(w.stack_status(stack), "ROLLBACK_COMPLETE");
    // The rollback sends the failed resource a Delete with the id its FAILED answer gave.
    assert!(
        w.moto
            .log()
            .contains("Delete Engineers (Custom::DatabricksGroup)"),
        "{}",
        w.moto.log_tail(40)
    );
    let ev = events(&w.moto, stack);
    assert!(
        ev.iter()
            .any(|e| e.logical == "Engineers" && e.status == "DELETE_COMPLETE"),
        "{ev:?}"
    );
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
fn a_failed_update_rolls_back_a_failed_delete_leaves_the_stack_failed_and_a_later_delete_completes()
{
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
    assert!(err.starts_with("UPDATE_ROLLBACK_COMPLETE"), "{err}");
    assert!(err.contains("Engineers UPDATE_FAILED"), "{err}");
    assert!(err.contains("not allowed"), "{err}");
    assert_eq!(w.stack_status(stack), "UPDATE_ROLLBACK_COMPLETE");
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

// ---------------------------------------------------------------------------------------------
// CloudFormation's unhappy paths (issue 11; the launcher's patches 15 to 24): no provider needed.

/// One stack event, as DescribeStackEvents answers it (oldest first in [`events`]).
#[derive(Debug, Clone)]
struct StackEvent {
    logical: String,
    status: String,
    reason: String,
    token: String,
}

/// The `<member>` bodies of the list `<list>` in `xml` (flat lists: events, resources, changes).
fn members(xml: &str, list: &str) -> Vec<String> {
    let (open, close) = (format!("<{list}>"), format!("</{list}>"));
    let Some(start) = xml.find(&open) else {
        return Vec::new();
    };
    let body = &xml[start + open.len()..];
    let body = &body[..body.find(&close).unwrap_or(body.len())];
    body.split("<member>")
        .skip(1)
        .map(|m| m.to_owned())
        .collect()
}

fn first(xml: &str, tag: &str) -> String {
    xml_values(xml, tag).into_iter().next().unwrap_or_default()
}

/// The stack's events, oldest first.
fn events(moto: &MotoServer, stack: &str) -> Vec<StackEvent> {
    let out = moto
        .query(
            "cloudformation",
            &[("Action", "DescribeStackEvents"), ("StackName", stack)],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut all: Vec<StackEvent> = members(&out, "StackEvents")
        .iter()
        .map(|m| StackEvent {
            logical: first(m, "LogicalResourceId"),
            status: first(m, "ResourceStatus"),
            reason: first(m, "ResourceStatusReason"),
            token: first(m, "ClientRequestToken"),
        })
        .collect();
    all.reverse();
    all
}

/// A launcher without provider, and the calls the tests below make.
struct Cfn {
    moto: MotoServer,
}

impl Cfn {
    fn start() -> Cfn {
        Cfn::with(MotoOptions::default())
    }

    fn with(options: MotoOptions) -> Cfn {
        Cfn {
            moto: MotoServer::start(options).unwrap_or_else(|e| panic!("moto starts: {e}")),
        }
    }

    fn call(&self, params: &[(&str, &str)]) -> Result<String, String> {
        self.moto
            .query("cloudformation", params)
            .map_err(|e| e.to_string())
    }

    fn cfn(&self, params: &[(&str, &str)]) -> String {
        self.call(params)
            .unwrap_or_else(|e| panic!("{e}\n--- moto's log:\n{}", self.moto.log_tail(60)))
    }

    /// CreateChangeSet with `extra` parameters; the change set's id.
    fn change_set(
        &self,
        stack: &str,
        name: &str,
        kind: &str,
        template: &Value,
        extra: &[(&str, &str)],
    ) -> String {
        let body = template.to_string();
        let mut params = vec![
            ("Action", "CreateChangeSet"),
            ("StackName", stack),
            ("ChangeSetName", name),
            ("ChangeSetType", kind),
            ("TemplateBody", body.as_str()),
        ];
        params.extend_from_slice(extra);
        first(&self.cfn(&params), "Id")
    }

    fn describe_change_set(&self, id: &str) -> String {
        self.cfn(&[("Action", "DescribeChangeSet"), ("ChangeSetName", id)])
    }

    fn execute(&self, id: &str, extra: &[(&str, &str)]) {
        let mut params = vec![("Action", "ExecuteChangeSet"), ("ChangeSetName", id)];
        params.extend_from_slice(extra);
        self.cfn(&params);
    }

    fn wait(&self, stack: &str) -> Vec<String> {
        self.moto
            .wait_stack(stack, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.moto.log_tail(60)))
    }

    fn describe_stack(&self, stack: &str) -> String {
        self.cfn(&[("Action", "DescribeStacks"), ("StackName", stack)])
    }

    /// (logical id, physical id, status) of each resource ListStackResources answers.
    fn resources(&self, stack: &str) -> Vec<(String, String, String)> {
        let out = self.cfn(&[("Action", "ListStackResources"), ("StackName", stack)]);
        members(&out, "StackResourceSummaries")
            .iter()
            .map(|m| {
                (
                    first(m, "LogicalResourceId"),
                    first(m, "PhysicalResourceId"),
                    first(m, "ResourceStatus"),
                )
            })
            .collect()
    }

    fn s3(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
        self.moto
            .request(method, path, "s3", headers, b"")
            .unwrap_or_else(|e| panic!("{e}"))
            .status
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
}

fn parameter(name: &str, value: &str) -> Value {
    json!({"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": value}})
}

fn bucket(name: &str, policy: Option<&str>) -> Value {
    let mut b = json!({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}});
    if let Some(policy) = policy {
        b["DeletionPolicy"] = json!(policy);
    }
    b
}

fn template(resources: Value) -> Value {
    json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})
}

/// A create that fails on a bucket name in use: Param and Kept (Retain) exist, Taken fails.
fn failing_create(cfn: &Cfn) -> Value {
    assert_eq!(cfn.s3("PUT", "/taken-bucket", &[]), 200);
    template(json!({
        "Param": parameter("/t/param", "v1"),
        "Kept": bucket("kept-bucket", Some("Retain")),
        "Taken": {"Type": "AWS::S3::Bucket", "DependsOn": ["Param", "Kept"],
                  "Properties": {"BucketName": "taken-bucket"}}
    }))
}

#[test]
fn execute_change_set_answers_at_once_and_a_failed_create_rolls_back_keeping_retained_resources() {
    let cfn = Cfn::start();
    let id = cfn.change_set("rb", "cs", "CREATE", &failing_create(&cfn), &[]);
    cfn.execute(&id, &[("ClientRequestToken", "tok-1")]);
    let seen = cfn.wait("rb");
    assert_eq!(seen.last().map(String::as_str), Some("ROLLBACK_COMPLETE"));
    assert!(seen[0].ends_with("_IN_PROGRESS"), "{seen:?}");

    let ev = events(&cfn.moto, "rb");
    let taken = ev
        .iter()
        .find(|e| e.logical == "Taken" && e.status == "CREATE_FAILED")
        .expect("the bucket's CREATE_FAILED");
    assert_eq!(taken.reason, "taken-bucket already exists");
    let statuses: Vec<(&str, &str)> = ev
        .iter()
        .map(|e| (e.logical.as_str(), e.status.as_str()))
        .collect();
    for expected in [
        ("rb", "CREATE_IN_PROGRESS"),
        ("rb", "ROLLBACK_IN_PROGRESS"),
        ("Kept", "DELETE_SKIPPED"),
        ("Param", "DELETE_COMPLETE"),
        ("rb", "ROLLBACK_COMPLETE"),
    ] {
        assert!(statuses.contains(&expected), "{expected:?} in {statuses:?}");
    }
    let rollback = ev
        .iter()
        .find(|e| e.status == "ROLLBACK_IN_PROGRESS")
        .unwrap();
    assert!(
        rollback.reason.contains("failed to create: [Taken]"),
        "{rollback:?}"
    );
    assert!(
        ev.iter()
            .filter(|e| e.status != "REVIEW_IN_PROGRESS")
            .all(|e| e.token == "tok-1"),
        "every event of the execution carries its token: {ev:?}"
    );
    // The retained bucket is still there, the parameter is gone.
    assert_eq!(cfn.s3("HEAD", "/kept-bucket", &[]), 200);
    let gone = cfn.moto.json(
        "ssm",
        "AmazonSSM.GetParameter",
        &json!({"Name": "/t/param"}),
    );
    assert!(gone.is_err(), "{gone:?}");
    let mut resources = cfn.resources("rb");
    resources.sort();
    assert_eq!(
        resources,
        [
            ("Kept".into(), "kept-bucket".into(), "DELETE_SKIPPED".into()),
            ("Param".into(), "/t/param".into(), "DELETE_COMPLETE".into()),
            ("Taken".into(), String::new(), "DELETE_COMPLETE".into()),
        ]
    );
}

#[test]
fn retain_except_on_create_deletes_the_retained_resources_the_failed_create_made() {
    let cfn = Cfn::start();
    let id = cfn.change_set("roc", "cs", "CREATE", &failing_create(&cfn), &[]);
    cfn.execute(&id, &[("RetainExceptOnCreate", "true")]);
    assert_eq!(
        cfn.wait("roc").last().map(String::as_str),
        Some("ROLLBACK_COMPLETE")
    );
    assert_eq!(
        cfn.s3("HEAD", "/kept-bucket", &[]),
        404,
        "deleted despite Retain"
    );
    assert!(first(&cfn.describe_stack("roc"), "RetainExceptOnCreate") == "true");
    // The bucket that existed before is not this stack's: it stays.
    assert_eq!(cfn.s3("HEAD", "/taken-bucket", &[]), 200);
}

#[test]
fn disable_rollback_pauses_a_failed_create_and_rollback_stack_finishes_it() {
    let cfn = Cfn::start();
    let id = cfn.change_set("paused", "cs", "CREATE", &failing_create(&cfn), &[]);
    // Not paused yet: RollbackStack is refused.
    let refused = cfn
        .call(&[("Action", "RollbackStack"), ("StackName", "paused")])
        .expect_err("nothing to roll back under review");
    assert!(
        refused.contains("ValidationError") && refused.contains("REVIEW_IN_PROGRESS"),
        "{refused}"
    );

    cfn.execute(&id, &[("DisableRollback", "true")]);
    assert_eq!(
        cfn.wait("paused").last().map(String::as_str),
        Some("CREATE_FAILED")
    );
    let described = cfn.describe_stack("paused");
    assert_eq!(first(&described, "DisableRollback"), "true");
    assert!(
        first(&described, "StackStatusReason").contains("[Taken]"),
        "{described}"
    );
    assert_eq!(cfn.ssm_value("/t/param"), "v1", "kept as it is");

    let out = cfn.cfn(&[
        ("Action", "RollbackStack"),
        ("StackName", "paused"),
        ("ClientRequestToken", "rb-1"),
    ]);
    assert!(first(&out, "StackId").contains(":stack/paused/"), "{out}");
    assert_eq!(
        cfn.wait("paused").last().map(String::as_str),
        Some("ROLLBACK_COMPLETE")
    );
    assert_eq!(cfn.s3("HEAD", "/kept-bucket", &[]), 200, "Retain");
    let tpl = template(json!({"Param": parameter("/t/param", "v2")}));
    let err = cfn
        .call(&[
            ("Action", "CreateChangeSet"),
            ("StackName", "paused"),
            ("ChangeSetName", "fix"),
            ("ChangeSetType", "UPDATE"),
            ("TemplateBody", &tpl.to_string()),
        ])
        .expect_err("a ROLLBACK_COMPLETE stack can only be deleted");
    assert!(
        err.contains("is in ROLLBACK_COMPLETE state and can not be updated"),
        "{err}"
    );
    let ev = events(&cfn.moto, "paused");
    assert!(ev
        .iter()
        .any(|e| e.logical == "Param" && e.status == "DELETE_COMPLETE" && e.token == "rb-1"));
    let again = cfn
        .call(&[("Action", "RollbackStack"), ("StackName", "paused")])
        .expect_err("ROLLBACK_COMPLETE cannot be rolled back");
    assert!(again.contains("ROLLBACK_COMPLETE"), "{again}");
}

#[test]
fn a_failed_update_rolls_back_and_continue_update_rollback_skips_what_cannot_roll_back() {
    let cfn = Cfn::with(MotoOptions::default().fail_rollback_of("Param"));
    let v1 = template(json!({"Param": parameter("/u/param", "v1")}));
    let id = cfn.change_set("upd", "create", "CREATE", &v1, &[]);
    cfn.execute(&id, &[]);
    assert_eq!(
        cfn.wait("upd").last().map(String::as_str),
        Some("CREATE_COMPLETE")
    );

    // The update changes Param and adds a bucket whose name is taken: it fails, and the
    // rollback of Param fails too (--fail-rollback-of).
    assert_eq!(cfn.s3("PUT", "/taken-bucket", &[]), 200);
    let v2 = template(json!({
        "Param": parameter("/u/param", "v2"),
        "Taken": {"Type": "AWS::S3::Bucket", "DependsOn": "Param", "Properties": {"BucketName": "taken-bucket"}}
    }));
    let id = cfn.change_set("upd", "update", "UPDATE", &v2, &[]);
    cfn.execute(&id, &[]);
    let seen = cfn.wait("upd");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("UPDATE_ROLLBACK_FAILED"),
        "{seen:?}"
    );
    let refused = cfn
        .call(&[("Action", "RollbackStack"), ("StackName", "upd")])
        .expect_err("RollbackStack is for paused stacks");
    assert!(refused.contains("UPDATE_ROLLBACK_FAILED"), "{refused}");

    // Without skipping it, the rollback fails again; skipping it, it completes.
    cfn.cfn(&[("Action", "ContinueUpdateRollback"), ("StackName", "upd")]);
    assert_eq!(
        cfn.wait("upd").last().map(String::as_str),
        Some("UPDATE_ROLLBACK_FAILED")
    );
    cfn.cfn(&[
        ("Action", "ContinueUpdateRollback"),
        ("StackName", "upd"),
        ("ResourcesToSkip.member.1", "Param"),
    ]);
    assert_eq!(
        cfn.wait("upd").last().map(String::as_str),
        Some("UPDATE_ROLLBACK_COMPLETE")
    );
    let ev = events(&cfn.moto, "upd");
    let skipped = ev.iter().rev().find(|e| e.logical == "Param").unwrap();
    assert_eq!(skipped.status, "UPDATE_COMPLETE");
    assert!(skipped.reason.contains("ResourcesToSkip"), "{skipped:?}");
    // The stack is back on its previous template.
    let tpl = cfn.cfn(&[("Action", "GetTemplate"), ("StackName", "upd")]);
    assert!(
        !first(&tpl, "TemplateBody").contains("taken-bucket"),
        "{tpl}"
    );
    let refused = cfn
        .call(&[("Action", "ContinueUpdateRollback"), ("StackName", "upd")])
        .expect_err("only for UPDATE_ROLLBACK_FAILED");
    assert!(refused.contains("ValidationError"), "{refused}");
}

#[test]
fn an_update_that_fails_rolls_back_to_the_previous_template() {
    let cfn = Cfn::start();
    let v1 = template(json!({"Param": parameter("/r/param", "v1")}));
    let id = cfn.change_set("urb", "create", "CREATE", &v1, &[]);
    cfn.execute(&id, &[]);
    cfn.wait("urb");
    assert_eq!(cfn.s3("PUT", "/taken-bucket", &[]), 200);
    let v2 = template(json!({
        "Param": parameter("/r/param", "v2"),
        "NewKept": bucket("new-kept", Some("Retain")),
        "Taken": {"Type": "AWS::S3::Bucket", "DependsOn": ["Param", "NewKept"], "Properties": {"BucketName": "taken-bucket"}}
    }));
    let id = cfn.change_set("urb", "update", "UPDATE", &v2, &[]);
    cfn.execute(&id, &[]);
    let seen = cfn.wait("urb");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("UPDATE_ROLLBACK_COMPLETE"),
        "{seen:?}"
    );
    assert_eq!(cfn.ssm_value("/r/param"), "v1");
    // Retain without RetainExceptOnCreate: the new bucket stays, outside the stack.
    assert_eq!(cfn.s3("HEAD", "/new-kept", &[]), 200);
    let names: Vec<String> = cfn.resources("urb").into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["Param"]);
}

/// The three importable resources, created outside CloudFormation; (template, imports, key id).
fn importable(cfn: &Cfn) -> (Value, Vec<(String, String)>, String) {
    assert_eq!(cfn.s3("PUT", "/data-bucket", &[]), 200);
    let key = cfn
        .moto
        .json("kms", "TrentService.CreateKey", &json!({}))
        .unwrap_or_else(|e| panic!("{e}"))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    cfn.moto
        .json(
            "logs",
            "Logs_20140328.CreateLogGroup",
            &json!({"logGroupName": "/cdkrs/provider"}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let tpl = template(json!({
        "Data": bucket("data-bucket", Some("Retain")),
        "Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "Properties": {}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {"LogGroupName": "/cdkrs/provider"}}
    }));
    let mut imports = Vec::new();
    for (i, (logical, kind, id_key, id)) in [
        ("Data", "AWS::S3::Bucket", "BucketName", "data-bucket"),
        ("Key", "AWS::KMS::Key", "KeyId", key.as_str()),
        (
            "Logs",
            "AWS::Logs::LogGroup",
            "LogGroupName",
            "/cdkrs/provider",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let p = format!("ResourcesToImport.member.{}", i + 1);
        imports.push((format!("{p}.ResourceType"), kind.to_owned()));
        imports.push((format!("{p}.LogicalResourceId"), logical.to_owned()));
        imports.push((
            format!("{p}.ResourceIdentifier.entry.1.key"),
            id_key.to_owned(),
        ));
        imports.push((
            format!("{p}.ResourceIdentifier.entry.1.value"),
            id.to_owned(),
        ));
    }
    (tpl, imports, key)
}

fn as_params(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn an_import_change_set_adopts_existing_resources_and_a_later_update_modifies_them() {
    let cfn = Cfn::start();
    let (tpl, imports, key) = importable(&cfn);
    let id = cfn.change_set("imp", "import", "IMPORT", &tpl, &as_params(&imports));
    let described = cfn.describe_change_set(&id);
    assert_eq!(
        first(&described, "Status"),
        "CREATE_COMPLETE",
        "{described}"
    );
    let changes: Vec<(String, String, String)> = members(&described, "Changes")
        .iter()
        .map(|m| {
            (
                first(m, "Action"),
                first(m, "LogicalResourceId"),
                first(m, "PhysicalResourceId"),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("Import".into(), "Data".into(), "data-bucket".into()),
            ("Import".into(), "Key".into(), key.clone()),
            ("Import".into(), "Logs".into(), "/cdkrs/provider".into()),
        ]
    );
    assert_eq!(
        first(&cfn.describe_stack("imp"), "StackStatus"),
        "REVIEW_IN_PROGRESS"
    );
    cfn.execute(&id, &[]);
    let seen = cfn.wait("imp");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("IMPORT_COMPLETE"),
        "{seen:?}"
    );
    let ev = events(&cfn.moto, "imp");
    assert_eq!(
        ev.iter().filter(|e| e.status == "IMPORT_COMPLETE").count(),
        4,
        "3 resources and the stack: {ev:?}"
    );
    let mut resources = cfn.resources("imp");
    resources.sort();
    assert_eq!(
        resources[1],
        ("Key".into(), key.clone(), "IMPORT_COMPLETE".into())
    );
    // Nothing new was made: still one key.
    let keys = cfn
        .moto
        .json("kms", "TrentService.ListKeys", &json!({}))
        .unwrap();
    assert_eq!(keys["Keys"].as_array().map(Vec::len), Some(1));

    // A fuller template modifies them in place.
    let mut fuller = tpl.clone();
    fuller["Resources"]["Data"]["Properties"]["BucketEncryption"] = json!({"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]});
    fuller["Resources"]["Key"]["Properties"]["KeyPolicy"] = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "cdkrs", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}]});
    let id = cfn.change_set("imp", "fuller", "UPDATE", &fuller, &[]);
    let actions: Vec<String> = members(&cfn.describe_change_set(&id), "Changes")
        .iter()
        .map(|m| format!("{} {}", first(m, "Action"), first(m, "LogicalResourceId")))
        .collect();
    assert_eq!(actions, ["Modify Data", "Modify Key"]);
    cfn.execute(&id, &[]);
    assert_eq!(
        cfn.wait("imp").last().map(String::as_str),
        Some("UPDATE_COMPLETE")
    );
    let policy = cfn
        .moto
        .json(
            "kms",
            "TrentService.GetKeyPolicy",
            &json!({"KeyId": key, "PolicyName": "default"}),
        )
        .unwrap();
    assert!(
        policy["Policy"]
            .as_str()
            .unwrap_or_default()
            .contains("cdkrs"),
        "{policy}"
    );
    let encryption = cfn
        .moto
        .request("GET", "/data-bucket?encryption", "s3", &[], b"")
        .unwrap();
    assert!(
        encryption.text().contains("aws:kms"),
        "{}",
        encryption.text()
    );
    let keys = cfn
        .moto
        .json("kms", "TrentService.ListKeys", &json!({}))
        .unwrap();
    assert_eq!(keys["Keys"].as_array().map(Vec::len), Some(1));
}

#[test]
fn import_change_sets_fail_as_cloudformation_refuses_them() {
    let cfn = Cfn::start();
    let (tpl, imports, _) = importable(&cfn);
    let bucket_only = |t: Value| template(json!({"Data": t}));
    let one = as_params(&imports[..4]);
    let reason = |stack: &str, name: &str, t: &Value, extra: &[(&str, &str)]| {
        let id = cfn.change_set(stack, name, "IMPORT", t, extra);
        let d = cfn.describe_change_set(&id);
        assert_eq!(first(&d, "Status"), "FAILED", "{d}");
        first(&d, "StatusReason")
    };
    // No DeletionPolicy.
    let r = reason(
        "a",
        "no-policy",
        &bucket_only(bucket("data-bucket", None)),
        &one,
    );
    assert!(r.contains("must have DeletionPolicy"), "{r}");
    // Another resource added in the same operation.
    let mut extra = bucket_only(bucket("data-bucket", Some("Retain")));
    extra["Resources"]["Other"] = parameter("/x", "y");
    let r = reason("a", "extra", &extra, &one);
    assert!(
        r.contains("[Other]") && r.contains("cannot be executed during import"),
        "{r}"
    );
    // An identifier that does not exist.
    let missing = [
        ("ResourcesToImport.member.1.ResourceType", "AWS::S3::Bucket"),
        ("ResourcesToImport.member.1.LogicalResourceId", "Data"),
        (
            "ResourcesToImport.member.1.ResourceIdentifier.entry.1.key",
            "BucketName",
        ),
        (
            "ResourcesToImport.member.1.ResourceIdentifier.entry.1.value",
            "no-such-bucket",
        ),
    ];
    let r = reason(
        "a",
        "missing",
        &bucket_only(bucket("no-such-bucket", Some("Retain"))),
        &missing,
    );
    assert!(
        r.contains("no-such-bucket") && r.contains("does not exist"),
        "{r}"
    );
    // A resource another stack holds.
    let id = cfn.change_set("owner", "import", "IMPORT", &tpl, &as_params(&imports));
    cfn.execute(&id, &[]);
    assert_eq!(
        cfn.wait("owner").last().map(String::as_str),
        Some("IMPORT_COMPLETE")
    );
    let r = reason(
        "b",
        "taken",
        &bucket_only(bucket("data-bucket", Some("Retain"))),
        &one,
    );
    assert!(
        r.contains("already belongs to stack") && r.contains(":stack/owner/"),
        "{r}"
    );
    // A type the launcher cannot import: refused at once, with the supported list.
    let queue = template(json!({"Q": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Retain"}}));
    let err = cfn
        .call(&[
            ("Action", "CreateChangeSet"),
            ("StackName", "c"),
            ("ChangeSetName", "q"),
            ("ChangeSetType", "IMPORT"),
            ("TemplateBody", &queue.to_string()),
            ("ResourcesToImport.member.1.ResourceType", "AWS::SQS::Queue"),
            ("ResourcesToImport.member.1.LogicalResourceId", "Q"),
            (
                "ResourcesToImport.member.1.ResourceIdentifier.entry.1.key",
                "QueueUrl",
            ),
            (
                "ResourcesToImport.member.1.ResourceIdentifier.entry.1.value",
                "q",
            ),
        ])
        .expect_err("refused");
    assert!(
        err.contains("AWS::SQS::Queue") && err.contains("AWS::S3::Bucket by BucketName"),
        "{err}"
    );
}

#[test]
fn a_deleted_stack_is_listed_and_answers_its_retained_resources_by_arn() {
    let cfn = Cfn::start();
    let tpl = template(
        json!({"Kept": bucket("kept-bucket", Some("Retain")), "Param": parameter("/d/param", "v")}),
    );
    let id = cfn.change_set("gone", "cs", "CREATE", &tpl, &[]);
    cfn.execute(&id, &[]);
    cfn.wait("gone");
    let stack_id = first(&cfn.describe_stack("gone"), "StackId");
    cfn.cfn(&[("Action", "DeleteStack"), ("StackName", "gone")]);

    let listed = cfn.cfn(&[
        ("Action", "ListStacks"),
        ("StackStatusFilter.member.1", "DELETE_COMPLETE"),
    ]);
    let summary = members(&listed, "StackSummaries")
        .into_iter()
        .find(|m| first(m, "StackId") == stack_id)
        .expect("the deleted stack is listed");
    assert_eq!(first(&summary, "StackName"), "gone");
    assert!(!first(&summary, "DeletionTime").is_empty(), "{summary}");

    let mut resources = cfn.resources(&stack_id);
    resources.sort();
    assert_eq!(
        resources,
        [
            ("Kept".into(), "kept-bucket".into(), "DELETE_SKIPPED".into()),
            ("Param".into(), "/d/param".into(), "DELETE_COMPLETE".into()),
        ]
    );
    let described = cfn.cfn(&[
        ("Action", "DescribeStackResources"),
        ("StackName", &stack_id),
    ]);
    assert!(
        described.contains("<ResourceStatus>DELETE_SKIPPED</ResourceStatus>"),
        "{described}"
    );
    let by_name = cfn
        .call(&[("Action", "ListStackResources"), ("StackName", "gone")])
        .expect_err("a deleted stack is found by its ARN only");
    assert!(by_name.contains("does not exist"), "{by_name}");
    assert_eq!(cfn.s3("HEAD", "/kept-bucket", &[]), 200);

    // Creating it again: the retained name fails the bucket, and the create rolls back.
    // (The deleted stack's change sets went with it: the name is free again.)
    let id = cfn.change_set("gone", "cs", "CREATE", &tpl, &[]);
    cfn.execute(&id, &[]);
    assert_eq!(
        cfn.wait("gone").last().map(String::as_str),
        Some("ROLLBACK_COMPLETE")
    );
    let failed = events(&cfn.moto, "gone")
        .into_iter()
        .find(|e| e.status == "CREATE_FAILED")
        .expect("a CREATE_FAILED");
    assert_eq!(
        (failed.logical.as_str(), failed.reason.as_str()),
        ("Kept", "kept-bucket already exists")
    );
}

#[test]
fn change_set_names_are_unique_and_delete_change_set_is_asynchronous() {
    let cfn = Cfn::start();
    let tpl = template(json!({"Param": parameter("/c/param", "v")}));
    cfn.change_set("dcs", "review", "CREATE", &tpl, &[]);
    let dup = cfn
        .call(&[
            ("Action", "CreateChangeSet"),
            ("StackName", "dcs"),
            ("ChangeSetName", "review"),
            ("ChangeSetType", "CREATE"),
            ("TemplateBody", &tpl.to_string()),
        ])
        .expect_err("names are unique within a stack");
    assert!(dup.contains("AlreadyExistsException"), "{dup}");
    cfn.cfn(&[
        ("Action", "DeleteChangeSet"),
        ("ChangeSetName", "review"),
        ("StackName", "dcs"),
    ]);
    let d = cfn.cfn(&[
        ("Action", "DescribeChangeSet"),
        ("ChangeSetName", "review"),
        ("StackName", "dcs"),
    ]);
    assert_eq!(first(&d, "Status"), "DELETE_IN_PROGRESS");
    let err = cfn
        .call(&[
            ("Action", "CreateChangeSet"),
            ("StackName", "dcs"),
            ("ChangeSetName", "review"),
            ("ChangeSetType", "CREATE"),
            ("TemplateBody", &tpl.to_string()),
        ])
        .expect_err("the name is taken while it is deleted");
    assert!(err.contains("AlreadyExistsException"), "{err}");
    std::thread::sleep(Duration::from_millis(1100));
    let err = cfn
        .call(&[
            ("Action", "DescribeChangeSet"),
            ("ChangeSetName", "review"),
            ("StackName", "dcs"),
        ])
        .expect_err("gone");
    assert!(err.contains("ChangeSetNotFound"), "{err}");
    cfn.change_set("dcs", "review", "CREATE", &tpl, &[]);
}

#[test]
fn a_client_request_token_makes_a_retried_execute_safe() {
    let cfn = Cfn::start();
    let tpl = template(json!({"Param": parameter("/k/param", "v")}));
    let id = cfn.change_set("tok", "cs", "CREATE", &tpl, &[]);
    cfn.execute(&id, &[("ClientRequestToken", "same")]);
    cfn.execute(&id, &[("ClientRequestToken", "same")]);
    assert_eq!(
        cfn.wait("tok").last().map(String::as_str),
        Some("CREATE_COMPLETE")
    );
    cfn.execute(&id, &[("ClientRequestToken", "same")]);
    let creates = events(&cfn.moto, "tok")
        .iter()
        .filter(|e| e.logical == "Param" && e.status == "CREATE_COMPLETE")
        .count();
    assert_eq!(creates, 1, "ran once");
    let err = cfn
        .call(&[
            ("Action", "ExecuteChangeSet"),
            ("ChangeSetName", &id),
            ("ClientRequestToken", "other"),
        ])
        .expect_err("another request");
    assert!(
        err.contains("InvalidChangeSetStatus") && err.contains("EXECUTE_COMPLETE"),
        "{err}"
    );
}

#[test]
fn termination_protection_blocks_delete_and_change_sets_carry_tags_and_role() {
    let cfn = Cfn::start();
    let tpl = template(
        json!({"Param": parameter("/p/param", "v"), "Tagged": bucket("tagged-bucket", None)}),
    );
    let role = "arn:aws:iam::123456789012:role/cfn-exec";
    let bucket_tags = || {
        let out = cfn
            .moto
            .request("GET", "/tagged-bucket?tagging", "s3", &[], b"")
            .unwrap();
        let xml = out.text();
        xml_values(&xml, "Key")
            .into_iter()
            .zip(xml_values(&xml, "Value"))
            .collect::<Vec<_>>()
    };
    let id = cfn.change_set(
        "prot",
        "cs",
        "CREATE",
        &tpl,
        &[
            ("RoleARN", role),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "data"),
        ],
    );
    cfn.execute(&id, &[]);
    cfn.wait("prot");
    let described = cfn.describe_stack("prot");
    assert_eq!(first(&described, "RoleARN"), role);
    assert_eq!(
        (first(&described, "Key"), first(&described, "Value")),
        ("team".into(), "data".into())
    );
    // The stack's tags, and CloudFormation's own, reach the bucket.
    let tags = bucket_tags();
    assert!(tags.contains(&("team".into(), "data".into())), "{tags:?}");
    assert!(
        tags.contains(&("aws:cloudformation:logical-id".into(), "Tagged".into())),
        "{tags:?}"
    );
    // Tags of a later UPDATE change set reach the stack too.
    let v2 = template(
        json!({"Param": parameter("/p/param", "v2"), "Tagged": bucket("tagged-bucket", None)}),
    );
    let id = cfn.change_set(
        "prot",
        "up",
        "UPDATE",
        &v2,
        &[("Tags.member.1.Key", "team"), ("Tags.member.1.Value", "ml")],
    );
    cfn.execute(&id, &[]);
    cfn.wait("prot");
    assert_eq!(first(&cfn.describe_stack("prot"), "Value"), "ml");
    let tags = bucket_tags();
    assert!(tags.contains(&("team".into(), "ml".into())), "{tags:?}");

    let out = cfn.cfn(&[
        ("Action", "UpdateTerminationProtection"),
        ("StackName", "prot"),
        ("EnableTerminationProtection", "true"),
    ]);
    assert!(first(&out, "StackId").contains(":stack/prot/"));
    assert_eq!(
        first(&cfn.describe_stack("prot"), "EnableTerminationProtection"),
        "true"
    );
    let err = cfn
        .call(&[("Action", "DeleteStack"), ("StackName", "prot")])
        .expect_err("protected");
    assert!(
        err.contains("Stack [prot] cannot be deleted while TerminationProtection is enabled"),
        "{err}"
    );
    cfn.cfn(&[
        ("Action", "UpdateTerminationProtection"),
        ("StackName", "prot"),
        ("EnableTerminationProtection", "false"),
    ]);
    cfn.cfn(&[("Action", "DeleteStack"), ("StackName", "prot")]);
}

#[test]
fn s3_refuses_a_request_whose_expected_bucket_owner_is_another_account() {
    let cfn = Cfn::start();
    assert_eq!(cfn.s3("PUT", "/owned", &[]), 200);
    let other = [("x-amz-expected-bucket-owner", "210987654321")];
    let owner = [("x-amz-expected-bucket-owner", "123456789012")];
    assert_eq!(cfn.s3("PUT", "/owned/k", &other), 403);
    assert_eq!(cfn.s3("PUT", "/owned/k", &owner), 200);
    assert_eq!(cfn.s3("HEAD", "/owned/k", &other), 403);
    assert_eq!(cfn.s3("GET", "/owned/k", &other), 403);
    assert_eq!(cfn.s3("GET", "/owned/k", &owner), 200);
    let denied = cfn
        .moto
        .request("GET", "/owned/k", "s3", &other, b"")
        .unwrap();
    assert!(denied.text().contains("AccessDenied"), "{}", denied.text());
}

#[test]
fn client_env_for_account_makes_a_caller_of_another_account() {
    let cfn = Cfn::start();
    let env = cfn.moto.client_env_for_account("210987654321").unwrap();
    let sdk = std::process::Command::new(testkit::venv_tool("python"))
        .args([
            "-c",
            "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])",
        ])
        .env_remove("AWS_PROFILE")
        .envs(env)
        .output()
        .expect("python runs");
    assert_eq!(
        String::from_utf8_lossy(&sdk.stdout).trim(),
        "210987654321",
        "{}",
        String::from_utf8_lossy(&sdk.stderr)
    );
}

#[test]
fn create_stack_over_a_retained_bucket_fails_the_bucket_and_rolls_back() {
    let cfn = Cfn::start();
    let out = cfn.cfn(&[
        ("Action", "CreateStack"),
        ("StackName", "direct"),
        ("TemplateBody", &failing_create(&cfn).to_string()),
    ]);
    assert!(first(&out, "StackId").contains(":stack/direct/"), "{out}");
    assert_eq!(
        cfn.wait("direct").last().map(String::as_str),
        Some("ROLLBACK_COMPLETE")
    );
    let ev = events(&cfn.moto, "direct");
    assert!(
        ev.iter().any(|e| e.logical == "Taken"
            && e.status == "CREATE_FAILED"
            && e.reason == "taken-bucket already exists"),
        "{ev:?}"
    );
    assert!(ev
        .iter()
        .any(|e| e.logical == "Kept" && e.status == "DELETE_SKIPPED"));
}

#[test]
fn a_paused_update_rolls_back_to_the_previous_template_with_rollback_stack() {
    let cfn = Cfn::start();
    let v1 = template(json!({"Param": parameter("/pu/param", "v1")}));
    let id = cfn.change_set("pu", "create", "CREATE", &v1, &[]);
    cfn.execute(&id, &[]);
    cfn.wait("pu");
    assert_eq!(cfn.s3("PUT", "/taken-bucket", &[]), 200);
    let v2 = template(json!({
        "Param": parameter("/pu/param", "v1"),
        "Added": parameter("/pu/added", "x"),
        "Taken": {"Type": "AWS::S3::Bucket", "DependsOn": "Added", "Properties": {"BucketName": "taken-bucket"}}
    }));
    let id = cfn.change_set("pu", "update", "UPDATE", &v2, &[]);
    cfn.execute(&id, &[("DisableRollback", "true")]);
    assert_eq!(
        cfn.wait("pu").last().map(String::as_str),
        Some("UPDATE_FAILED")
    );
    assert_eq!(cfn.ssm_value("/pu/added"), "x", "kept while paused");
    cfn.cfn(&[("Action", "RollbackStack"), ("StackName", "pu")]);
    assert_eq!(
        cfn.wait("pu").last().map(String::as_str),
        Some("UPDATE_ROLLBACK_COMPLETE")
    );
    let gone = cfn.moto.json(
        "ssm",
        "AmazonSSM.GetParameter",
        &json!({"Name": "/pu/added"}),
    );
    assert!(gone.is_err(), "what the update added is deleted: {gone:?}");
    let names: Vec<String> = cfn.resources("pu").into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["Param"]);
}

#[test]
fn an_existing_stack_imports_a_resource_beside_its_own() {
    let cfn = Cfn::start();
    let v1 = template(json!({"Param": parameter("/ie/param", "v1")}));
    let id = cfn.change_set("ie", "create", "CREATE", &v1, &[]);
    cfn.execute(&id, &[]);
    cfn.wait("ie");
    assert_eq!(cfn.s3("PUT", "/adopted-bucket", &[]), 200);
    let v2 = template(json!({
        "Param": parameter("/ie/param", "v1"),
        "Adopted": bucket("adopted-bucket", Some("Retain"))
    }));
    let import = [
        ("ResourcesToImport.member.1.ResourceType", "AWS::S3::Bucket"),
        ("ResourcesToImport.member.1.LogicalResourceId", "Adopted"),
        (
            "ResourcesToImport.member.1.ResourceIdentifier.entry.1.key",
            "BucketName",
        ),
        (
            "ResourcesToImport.member.1.ResourceIdentifier.entry.1.value",
            "adopted-bucket",
        ),
    ];
    let id = cfn.change_set("ie", "import", "IMPORT", &v2, &import);
    assert_eq!(
        first(&cfn.describe_change_set(&id), "Status"),
        "CREATE_COMPLETE"
    );
    cfn.execute(&id, &[]);
    let seen = cfn.wait("ie");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("IMPORT_COMPLETE"),
        "{seen:?}"
    );
    let mut resources = cfn.resources("ie");
    resources.sort();
    assert_eq!(
        resources,
        [
            (
                "Adopted".into(),
                "adopted-bucket".into(),
                "IMPORT_COMPLETE".into()
            ),
            ("Param".into(), "/ie/param".into(), "CREATE_COMPLETE".into()),
        ]
    );
}

#[test]
fn a_deleted_rollback_complete_stack_answers_its_retained_resources_by_arn() {
    let cfn = Cfn::start();
    let id = cfn.change_set("rbd", "cs", "CREATE", &failing_create(&cfn), &[]);
    cfn.execute(&id, &[]);
    assert_eq!(
        cfn.wait("rbd").last().map(String::as_str),
        Some("ROLLBACK_COMPLETE")
    );
    let stack_id = first(&cfn.describe_stack("rbd"), "StackId");
    cfn.cfn(&[("Action", "DeleteStack"), ("StackName", "rbd")]);
    let status = first(&cfn.describe_stack(&stack_id), "StackStatus");
    assert_eq!(status, "DELETE_COMPLETE");
    let kept: Vec<(String, String, String)> = cfn
        .resources(&stack_id)
        .into_iter()
        .filter(|r| r.0 == "Kept")
        .collect();
    assert_eq!(
        kept,
        [("Kept".into(), "kept-bucket".into(), "DELETE_SKIPPED".into())]
    );
    assert_eq!(cfn.s3("HEAD", "/kept-bucket", &[]), 200);
}

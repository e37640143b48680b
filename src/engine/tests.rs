//! The engine against the scripted fake: every stack state, failure causes, approvals, asset
//! publishing, call counts and polling backoff. Time is tokio's paused clock, so the waits cost
//! nothing and their lengths can be asserted.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::api::{ChangeSetInfo, StackOutput, TemplateSource};
use super::deploy::{Asset, BootstrapContract, ParameterFill, INLINE_TEMPLATE_LIMIT};
use super::fake::{Execution, FakeCloud};
use super::ui::RecordingUi;
use super::*;

const BUCKET: &str = "cdkrs-assets-123456789012-us-east-1";
const ENV: &str = "env";

fn template(resources: &[(&str, &str)]) -> serde_json::Value {
    let mut r = serde_json::Map::new();
    for (id, ty) in resources {
        r.insert(id.to_string(), json!({"Type": ty, "Properties": {}}));
    }
    json!({
        "Parameters": {
            "CodeBucket": {"Type": "String"},
            "CodeKey": {"Type": "String"},
            "NetworkAsleep": {"Type": "String", "Default": "false"}
        },
        "Resources": r
    })
}

/// A template with a role that Lambda may assume: a security-broadening addition.
fn with_role() -> serde_json::Value {
    let mut t = basic();
    t["Resources"]["Role"] = json!({
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                           "Action": "sts:AssumeRole"}]
        }}
    });
    t
}

fn basic() -> serde_json::Value {
    template(&[("Vpc", "AWS::EC2::VPC"), ("Data", "AWS::S3::Bucket")])
}

fn plan(t: serde_json::Value) -> StackDeployment {
    StackDeployment {
        stack_name: ENV.into(),
        template_body: t.to_string(),
        template: t,
        parameters: BTreeMap::from([
            (
                "NetworkAsleep".to_owned(),
                ParameterFill::keep_deployed("false"),
            ),
            (
                "CodeBucket".to_owned(),
                ParameterFill::AssetBucket("Provider".into()),
            ),
            (
                "CodeKey".to_owned(),
                ParameterFill::AssetKey("Provider".into()),
            ),
        ]),
        assets: vec![Asset {
            id: "Provider".into(),
            key: "assets/abc.zip".into(),
            bytes: b"zip".to_vec(),
        }],
        bootstrap: Some(bootstrap()),
        tags: BTreeMap::new(),
        termination_protection: false,
    }
}

fn opts(approval: Approval) -> DeployOptions {
    DeployOptions {
        approval,
        ..Default::default()
    }
}

/// The bootstrap stack the test plans rely on (the engine reads whatever the plan declares).
fn bootstrap() -> BootstrapContract {
    BootstrapContract {
        stack_name: "cdkrs-bootstrap".into(),
        bucket_output: "AssetsBucketName".into(),
        bucket_id: "AssetsBucket".into(),
    }
}

/// A cloud with the bootstrap stack in place.
fn cloud() -> FakeCloud {
    let boot = bootstrap();
    let c = FakeCloud::new().with_stack(&boot.stack_name, "CREATE_COMPLETE", "{}", &[]);
    c.stacks
        .borrow_mut()
        .get_mut(&boot.stack_name)
        .unwrap()
        .info
        .outputs = vec![StackOutput {
        key: boot.bucket_output,
        value: BUCKET.into(),
        description: None,
    }];
    c
}

/// A cloud where `env` is deployed with `t` and the asset published.
fn deployed(t: &serde_json::Value, status: &str) -> FakeCloud {
    let c = cloud().with_stack(
        ENV,
        status,
        &t.to_string(),
        &[
            ("CodeBucket", BUCKET),
            ("CodeKey", "assets/abc.zip"),
            ("NetworkAsleep", "false"),
        ],
    );
    c.objects
        .borrow_mut()
        .insert((BUCKET.into(), "assets/abc.zip".into()), b"zip".to_vec());
    c
}

async fn deploy(
    c: &FakeCloud,
    ui: &mut RecordingUi,
    p: &StackDeployment,
    o: &DeployOptions,
) -> anyhow::Result<DeployReport> {
    Engine { cfn: c, s3: c, ui }.deploy(p, o).await
}

async fn sleep(c: &FakeCloud, ui: &mut RecordingUi) -> anyhow::Result<ops::ParameterReport> {
    Engine { cfn: c, s3: c, ui }
        .set_parameter(
            ENV,
            "NetworkAsleep",
            "true",
            "cdkrs-sleep",
            Backoff::default(),
            None,
        )
        .await
}

async fn destroy(
    c: &FakeCloud,
    ui: &mut RecordingUi,
    assume_yes: bool,
) -> anyhow::Result<ops::DestroyReport> {
    Engine { cfn: c, s3: c, ui }
        .destroy(ENV, assume_yes, Backoff::default(), None)
        .await
}

#[tokio::test(start_paused = true)]
async fn new_stack_is_created_through_a_create_change_set_after_publishing_the_asset() {
    let c = cloud();
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    assert_eq!(report.status.as_deref(), Some("CREATE_COMPLETE"));
    assert_eq!(report.changes.len(), 2);
    assert_eq!(
        c.call_names()
            .iter()
            .filter(|n| !n.starts_with("DescribeStackEvents"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            "DescribeStacks env",
            // A new stack: what did deleted stacks of this name retain?
            "ListStacks env",
            "DescribeStacks cdkrs-bootstrap",
            "HeadObject assets/abc.zip",
            "PutObject assets/abc.zip",
            "CreateChangeSet env Create",
            "DescribeChangeSet env",
            // From here on the stack is followed by the ARN CreateChangeSet answered: a name can
            // be reused (moto even keeps two stacks of one name), an ARN cannot.
            "ExecuteChangeSet arn:aws:cloudformation:us-east-1:123456789012:stack/env/new-1",
            "DescribeStacks arn:aws:cloudformation:us-east-1:123456789012:stack/env/new-1",
        ]
    );
    let stack = &c.stacks.borrow()[ENV];
    assert_eq!(stack.info.parameters["CodeBucket"], BUCKET);
    assert_eq!(stack.info.parameters["CodeKey"], "assets/abc.zip");
    assert_eq!(stack.info.parameters["NetworkAsleep"], "false");
    // Progress reached every resource.
    assert_eq!(ui.progress, Some((2, 2)));
    let text = ui.text();
    assert!(text.contains("Add  ") || text.contains("Add "), "{text}");
    assert!(text.contains("CREATE_COMPLETE"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn unchanged_stack_is_a_no_op_in_three_calls_without_a_change_set() {
    let t = basic();
    let c = deployed(&t, "UPDATE_COMPLETE");
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(t), &opts(Approval::Any))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::NoChanges);
    assert_eq!(
        c.call_names(),
        [
            "DescribeStacks env",
            "DescribeStacks cdkrs-bootstrap",
            "GetTemplate env"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_set_without_changes_is_deleted_and_deploy_succeeds() {
    // The template differs only outside Resources (a description): CloudFormation finds no
    // change; deploy must not execute anything.
    let old = basic();
    let mut new = basic();
    new["Description"] = json!("now with a description");
    let c = deployed(&old, "CREATE_COMPLETE");
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(new), &opts(Approval::Any))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::NoChanges);
    assert_eq!(c.count("ExecuteChangeSet"), 0);
    assert_eq!(c.count("DeleteChangeSet"), 1);
    assert!(c.change_sets.borrow().is_empty());
}

#[tokio::test(start_paused = true)]
async fn review_in_progress_stack_gets_a_create_change_set() {
    let c = cloud().with_stack(ENV, "REVIEW_IN_PROGRESS", "", &[]);
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    assert_eq!(c.count("CreateChangeSet env Create"), 1);
    assert_eq!(
        c.count("GetTemplate"),
        0,
        "nothing deployed to compare with"
    );
}

#[tokio::test(start_paused = true)]
async fn review_in_progress_parameters_are_given_in_full_not_as_previous_values() {
    // moto answers HTTP 500 and CloudFormation refuses UsePreviousValue in a CREATE change set.
    let c = cloud().with_stack(ENV, "REVIEW_IN_PROGRESS", "", &[("NetworkAsleep", "true")]);
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap();
    let requests = c.requests.borrow();
    assert!(
        requests[0].parameters.iter().all(|p| p.value.is_some()),
        "{:?}",
        requests[0].parameters
    );
}

#[tokio::test(start_paused = true)]
async fn rollback_complete_stack_is_deleted_then_created_again() {
    let c = deployed(&basic(), "ROLLBACK_COMPLETE");
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    let calls = c.call_names();
    let delete = calls
        .iter()
        .position(|c| c == "DeleteStack arn:aws:cloudformation:us-east-1:123456789012:stack/env/1")
        .unwrap_or_else(|| panic!("{calls:?}"));
    let create = calls
        .iter()
        .position(|c| c == "CreateChangeSet env Create")
        .unwrap();
    assert!(delete < create, "{calls:?}");
    assert!(ui.text().contains("ROLLBACK_COMPLETE"), "{}", ui.text());
}

#[tokio::test(start_paused = true)]
async fn busy_stack_is_waited_for_then_updated() {
    let c = deployed(&basic(), "UPDATE_IN_PROGRESS");
    {
        let mut stacks = c.stacks.borrow_mut();
        let s = stacks.get_mut(ENV).unwrap();
        s.busy_for = 3;
        s.settles_to = Some("UPDATE_COMPLETE".into());
    }
    let mut ui = RecordingUi::default();
    let new = template(&[("Vpc", "AWS::EC2::VPC")]);
    let report = deploy(&c, &mut ui, &plan(new), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    assert_eq!(c.count("CreateChangeSet env Update"), 1);
    assert!(
        ui.text().contains("env is UPDATE_IN_PROGRESS: waiting"),
        "{}",
        ui.text()
    );
    assert_eq!(report.changes[0].action, "Remove");
}

#[tokio::test(start_paused = true)]
async fn stuck_stacks_stop_with_the_fix_and_create_nothing() {
    for (status, fix) in [
        ("UPDATE_ROLLBACK_FAILED", "cdkrs rollback"),
        ("DELETE_FAILED", "cdkrs destroy"),
        ("ROLLBACK_FAILED", "cdkrs destroy"),
    ] {
        let c = deployed(&basic(), status);
        let mut ui = RecordingUi::default();
        let err = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(status) && err.contains(fix), "{status}: {err}");
        assert_eq!(c.count("CreateChangeSet"), 0, "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn failure_names_the_root_cause_not_the_cancellations() {
    let c = cloud();
    *c.execution.borrow_mut() = Some(Execution {
        events: vec![
            (
                "Vpc".into(),
                "AWS::EC2::VPC".into(),
                "CREATE_IN_PROGRESS".into(),
                None,
            ),
            (
                "Data".into(),
                "AWS::S3::Bucket".into(),
                "CREATE_IN_PROGRESS".into(),
                None,
            ),
            // Events of the same second can be listed in either order: the cancellation
            // comes first here, and is still not the cause.
            (
                "Vpc".into(),
                "AWS::EC2::VPC".into(),
                "CREATE_FAILED".into(),
                Some("Resource creation cancelled".into()),
            ),
            (
                "Data".into(),
                "AWS::S3::Bucket".into(),
                "CREATE_FAILED".into(),
                Some("env-data already exists".into()),
            ),
            (
                "Vpc".into(),
                "AWS::EC2::VPC".into(),
                "DELETE_COMPLETE".into(),
                None,
            ),
        ],
        final_status: "ROLLBACK_COMPLETE".into(),
    });
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ended in ROLLBACK_COMPLETE"), "{err}");
    assert!(
        err.contains("root cause: Data (AWS::S3::Bucket) CREATE_FAILED: env-data already exists"),
        "{err}"
    );
    assert!(err.contains("1 more failed or cancelled"), "{err}");
    assert!(!err.contains("root cause: Vpc"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_published_asset_is_not_uploaded_again() {
    let c = deployed(&basic(), "CREATE_COMPLETE");
    let mut ui = RecordingUi::default();
    let new = template(&[("Vpc", "AWS::EC2::VPC")]);
    deploy(&c, &mut ui, &plan(new), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(c.count("HeadObject"), 1);
    assert_eq!(c.count("PutObject"), 0);
    assert!(ui.text().contains("already published"), "{}", ui.text());
}

#[tokio::test(start_paused = true)]
async fn a_template_over_the_inline_limit_is_uploaded_and_passed_by_url() {
    let c = cloud();
    let mut t = basic();
    t["Description"] = json!("x".repeat(INLINE_TEMPLATE_LIMIT));
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(t), &opts(Approval::Never))
        .await
        .unwrap();
    let puts: Vec<_> = c
        .call_names()
        .into_iter()
        .filter(|n| n.starts_with("PutObject templates/env-"))
        .collect();
    assert_eq!(puts.len(), 1, "{:?}", c.call_names());
    // The stack was created from the uploaded template.
    assert!(c.stacks.borrow()[ENV].template.contains("xxxx"));
}

#[tokio::test(start_paused = true)]
async fn a_small_template_is_sent_inline() {
    let c = cloud();
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(c.count("PutObject templates/"), 0);
}

#[tokio::test(start_paused = true)]
async fn broadening_change_asks_and_a_no_deletes_the_change_set() {
    let c = cloud();
    let t = with_role();
    let mut ui = RecordingUi {
        answers: vec![false],
        ..Default::default()
    };
    let report = deploy(&c, &mut ui, &plan(t), &opts(Approval::Broadening))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Declined);
    assert_eq!(c.count("ExecuteChangeSet"), 0);
    assert_eq!(c.count("DeleteChangeSet"), 1);
    assert!(
        ui.text().contains("? This change broadens security"),
        "{}",
        ui.text()
    );
}

#[tokio::test(start_paused = true)]
async fn approval_never_executes_without_asking_and_any_always_asks() {
    let t = with_role();
    let c = cloud();
    let mut ui = RecordingUi::default(); // no answers: a question would be an error
    let report = deploy(&c, &mut ui, &plan(t.clone()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);

    // Broadening policy, nothing security-relevant: no question.
    let c = cloud();
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Broadening))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);

    let c = cloud();
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Any))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs an answer"), "{err}");
    assert_eq!(c.count("ExecuteChangeSet"), 0);
}

/// `basic()` with the data bucket retained, as the environment's buckets are.
fn with_retained_bucket() -> serde_json::Value {
    let mut t = basic();
    t["Resources"]["Data"]["DeletionPolicy"] = json!("Retain");
    t["Resources"]["Data"]["UpdateReplacePolicy"] = json!("Retain");
    t
}

#[tokio::test(start_paused = true)]
async fn removing_a_retained_bucket_asks_by_default_and_broadening_alone_lets_it_through() {
    let old = with_retained_bucket();
    let mut new = old.clone();
    new["Resources"].as_object_mut().unwrap().remove("Data");

    let c = deployed(&old, "CREATE_COMPLETE");
    let mut ui = RecordingUi {
        answers: vec![false],
        ..Default::default()
    };
    let report = deploy(&c, &mut ui, &plan(new.clone()), &DeployOptions::default())
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Declined);
    assert_eq!(c.count("ExecuteChangeSet"), 0);
    let text = ui.text();
    assert!(
        text.contains("? This change destroys or orphans state"),
        "{text}"
    );
    assert!(
        text.contains("Data (AWS::S3::Bucket) removed: a AWS::S3::Bucket holds data"),
        "{text}"
    );

    // `--require-approval broadening` asks about security only.
    let c = deployed(&old, "CREATE_COMPLETE");
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(new), &opts(Approval::Broadening))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
}

#[tokio::test(start_paused = true)]
async fn replacing_the_workspace_asks_with_what_its_provider_says_is_lost() {
    let workspace = |name: &str| {
        json!({
            "Type": "Custom::DatabricksWorkspace",
            "Metadata": {"cdkrs": {
                "CreateOnlyProperties": ["/properties/DeploymentName"],
                "ReplacementWarning": "the workspace and everything in it are deleted"
            }},
            "Properties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p",
                           "DeploymentName": name}
        })
    };
    let mut old = basic();
    old["Resources"]["Workspace"] = workspace("acme-one");
    let mut new = basic();
    new["Resources"]["Workspace"] = workspace("acme-two");
    let c = deployed(&old, "UPDATE_COMPLETE");
    let mut ui = RecordingUi {
        answers: vec![false],
        ..Default::default()
    };
    let report = deploy(
        &c,
        &mut ui,
        &plan(new.clone()),
        &opts(Approval::Destruction),
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::Declined);
    assert!(
        ui.text()
            .contains("replaced: the workspace and everything in it are deleted"),
        "{}",
        ui.text()
    );

    // An in-place change of the same resource asks nothing.
    let mut same = basic();
    let mut w = workspace("acme-one");
    w["Properties"]["Extra"] = json!("x");
    same["Resources"]["Workspace"] = w;
    let c = deployed(&old, "UPDATE_COMPLETE");
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(same), &opts(Approval::Destruction))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
}

/// The environment's shape in small: a named retained bucket encrypted by a retained key, a
/// network resource, and a Databricks custom resource (the likeliest to fail).
fn with_data() -> serde_json::Value {
    let mut t = basic();
    t["Resources"]["Key"] = json!({
        "Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {"EnableKeyRotation": true}
    });
    t["Resources"]["Raw"] = json!({
        "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": {"Fn::Sub": "raw-${AWS::AccountId}-${AWS::Region}"},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}}}]}
        }
    });
    t["Resources"]["Workspace"] = json!({
        "Type": "Custom::DatabricksWorkspace",
        "Properties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p",
                       "Bucket": {"Ref": "Raw"}}
    });
    t
}

const RAW: &str = "raw-123456789012-us-east-1";

#[tokio::test(start_paused = true)]
async fn a_failed_first_deploy_leaves_nothing_behind_so_the_retry_creates_cleanly() {
    let c = cloud();
    *c.fail_create.borrow_mut() = Some((
        "Workspace".into(),
        "Databricks: credentials not yet valid".into(),
    ));
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("root cause: Workspace"), "{err}");
    // The execution asked CloudFormation to delete what it created, retained or not.
    assert!(c.executions.borrow()[0].retain_except_on_create);
    assert!(
        !c.world.borrow().contains_key(RAW),
        "{:?}",
        c.world.borrow()
    );

    // Fixed, deployed again: the ROLLBACK_COMPLETE stack is replaced and nothing collides.
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    assert_eq!(report.status.as_deref(), Some("CREATE_COMPLETE"));
    assert_eq!(c.count("CreateChangeSet env Import"), 0);
}

#[tokio::test(start_paused = true)]
async fn destroy_then_deploy_adopts_the_retained_bucket_and_key_by_import_then_updates() {
    let c = cloud();
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap();
    let old_stack = c.stacks.borrow()[ENV].info.id.clone();
    destroy(&c, &mut ui, true).await.unwrap();
    assert_eq!(
        c.world.borrow().get(RAW),
        Some(&None),
        "retained, ownerless"
    );

    let mut ui = RecordingUi::default();
    let protected = StackDeployment {
        termination_protection: true,
        tags: BTreeMap::from([("project".to_owned(), "cm-vpc".to_owned())]),
        ..plan(with_data())
    };
    let report = deploy(&c, &mut ui, &protected, &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    // A stack created by import gets its declared protection too.
    assert!(c.stacks.borrow()[ENV].info.termination_protection);
    let text = ui.text();
    assert!(text.contains("adopted by import first"), "{text}");
    assert!(
        text.contains(&format!(
            "Raw                          AWS::S3::Bucket        {RAW}"
        )),
        "{text}"
    );
    assert!(text.contains("Import  Key"), "{text}");
    let imports: Vec<_> = c
        .requests
        .borrow()
        .iter()
        .filter(|r| r.kind == api::ChangeSetKind::Import)
        .cloned()
        .collect();
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].tags, protected.tags);
    let ids: Vec<_> = imports[0]
        .resources_to_import
        .iter()
        .map(|r| (r.logical_id.as_str(), r.identifier.clone()))
        .collect();
    assert_eq!(ids[0].0, "Key");
    assert_eq!(
        ids[1],
        (
            "Raw",
            BTreeMap::from([("BucketName".to_owned(), RAW.to_owned())])
        )
    );
    // The import template holds the adopted resources alone; the update adds the rest.
    let TemplateSource::Body(body) = &imports[0].template else {
        panic!("inline")
    };
    let t: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        t["Resources"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["Key", "Raw"]
    );
    assert_eq!(c.count("CreateChangeSet env Update"), 1);
    let stack = &c.stacks.borrow()[ENV];
    assert_ne!(stack.info.id, old_stack);
    assert_eq!(stack.imported["Raw"], RAW);
    assert_eq!(
        c.world.borrow()[RAW].as_deref(),
        Some(stack.info.id.as_str())
    );
}

#[tokio::test(start_paused = true)]
async fn what_a_rolled_back_create_kept_is_adopted_when_the_stack_is_created_again() {
    // A create that failed without RetainExceptOnCreate (an older cdkrs, or another tool) kept
    // its retained bucket and key (DELETE_SKIPPED) in a ROLLBACK_COMPLETE stack.
    let c = cloud().with_stack(ENV, "ROLLBACK_COMPLETE", "{}", &[]);
    let kept = [
        ("Raw", "AWS::S3::Bucket", RAW),
        ("Key", "AWS::KMS::Key", "key-1"),
    ];
    {
        let mut stacks = c.stacks.borrow_mut();
        let s = stacks.get_mut(ENV).unwrap();
        for (id, ty, physical) in kept {
            s.skipped.push(api::StackResource {
                logical_id: id.into(),
                physical_id: Some(physical.into()),
                resource_type: ty.into(),
                status: "DELETE_SKIPPED".into(),
            });
            c.world.borrow_mut().insert(physical.into(), None);
        }
    }
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    let stack = &c.stacks.borrow()[ENV];
    assert_eq!(stack.imported["Raw"], RAW);
    assert_eq!(stack.imported["Key"], "key-1");
    assert_eq!(
        c.world.borrow()[RAW].as_deref(),
        Some(stack.info.id.as_str())
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_that_could_not_delete_a_bucket_is_destroyed_then_its_data_adopted() {
    // The first create failed late, after logs reached a bucket: its rollback could not delete
    // that (not empty) bucket, so the stack is ROLLBACK_FAILED with the bucket and key still in it.
    let c = cloud().with_stack(ENV, "ROLLBACK_FAILED", &with_data().to_string(), &[]);
    {
        let stacks = c.stacks.borrow();
        let s = &stacks[ENV];
        for (id, r) in with_data()["Resources"].as_object().unwrap() {
            if r.get("DeletionPolicy").is_some() {
                c.world
                    .borrow_mut()
                    .insert(fake::physical_id(s, id, r), Some(s.info.id.clone()));
            }
        }
    }
    // deploy refuses, naming the way out.
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ROLLBACK_FAILED") && err.contains("cdkrs destroy"),
        "{err}"
    );
    assert_eq!(c.count("CreateChangeSet"), 0);
    // destroy: the retained bucket and key stay (DELETE_SKIPPED in CloudFormation's record).
    let report = destroy(&c, &mut ui, true).await.unwrap();
    assert!(report.deleted);
    assert_eq!(c.world.borrow().get(RAW), Some(&None));
    // deploy: they are adopted by import, the rest is created.
    let mut ui = RecordingUi::default();
    let report = deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    assert_eq!(c.stacks.borrow()[ENV].imported["Raw"], RAW);
}

#[tokio::test(start_paused = true)]
async fn a_bucket_this_stack_did_not_retain_is_never_adopted_and_the_create_fails_on_its_name() {
    // Same name, made by hand (or by another stack): no deleted stack of ours retained it.
    let c = cloud();
    c.world.borrow_mut().insert(RAW.into(), None);
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(c.count("CreateChangeSet env Import"), 0);
    assert!(err.contains(&format!("{RAW} already exists")), "{err}");

    // Retained by our deleted stack, but the template now names the bucket differently (the
    // config's prefix changed): the old one is left alone, with a note saying why.
    let c = cloud();
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap();
    destroy(&c, &mut ui, true).await.unwrap();
    let mut renamed = with_data();
    renamed["Resources"]["Raw"]["Properties"]["BucketName"] =
        json!({"Fn::Sub": "new-raw-${AWS::AccountId}-${AWS::Region}"});
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(renamed), &opts(Approval::Never))
        .await
        .unwrap();
    let text = ui.text();
    assert!(
        text.contains(&format!(
            "Raw (AWS::S3::Bucket {RAW}), retained by the deleted stack"
        )) && text.contains("left alone, the template now names it new-raw-123456789012-us-east-1"),
        "{text}"
    );
    let import = c
        .requests
        .borrow()
        .iter()
        .find(|r| r.kind == api::ChangeSetKind::Import)
        .cloned()
        .expect("the key is still adopted");
    assert_eq!(import.resources_to_import.len(), 1);
    assert_eq!(import.resources_to_import[0].logical_id, "Key");
}

#[tokio::test(start_paused = true)]
async fn an_import_cloudformation_refuses_fails_with_its_reason_and_creates_nothing() {
    let c = cloud();
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap();
    destroy(&c, &mut ui, true).await.unwrap();
    c.world.borrow_mut().remove(RAW); // deleted by hand since
    let err = deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("importing the resources an earlier env retained"),
        "{text}"
    );
    assert!(text.contains("Resources [Raw] do not exist"), "{text}");
    assert_eq!(
        c.count("ExecuteChangeSet"),
        1,
        "only the first deploy executed"
    );
}

#[tokio::test(start_paused = true)]
async fn no_execute_over_retained_resources_stops_at_the_import_change_set() {
    let c = cloud();
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap();
    destroy(&c, &mut ui, true).await.unwrap();
    let o = DeployOptions {
        execute: false,
        ..opts(Approval::Never)
    };
    let report = deploy(&c, &mut ui, &plan(with_data()), &o).await.unwrap();
    assert_eq!(report.outcome, Outcome::ChangeSetCreated);
    assert_eq!(report.change_set.as_deref(), Some("cdkrs-deploy-import"));
    assert!(report.changes.iter().all(|c| c.action == "Import"));
    assert_eq!(c.count("ExecuteChangeSet"), 1);
}

#[tokio::test(start_paused = true)]
async fn no_execute_leaves_the_change_set_for_review() {
    let c = cloud();
    let mut ui = RecordingUi::default();
    let o = DeployOptions {
        execute: false,
        change_set_name: "review-me".into(),
        ..opts(Approval::Any)
    };
    let report = deploy(&c, &mut ui, &plan(basic()), &o).await.unwrap();
    assert_eq!(report.outcome, Outcome::ChangeSetCreated);
    assert_eq!(report.change_set.as_deref(), Some("review-me"));
    assert_eq!(c.count("ExecuteChangeSet"), 0);
    assert!(c
        .change_sets
        .borrow()
        .contains_key(&(ENV.to_owned(), "review-me".to_owned())));
}

#[tokio::test(start_paused = true)]
async fn a_leftover_change_set_of_the_same_name_is_replaced() {
    let c = cloud();
    let mut ui = RecordingUi::default();
    let keep = DeployOptions {
        execute: false,
        ..opts(Approval::Never)
    };
    deploy(&c, &mut ui, &plan(basic()), &keep).await.unwrap();
    let report = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    assert!(
        ui.text().contains("replacing the earlier change set"),
        "{}",
        ui.text()
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_change_set_reports_its_reason() {
    let c = cloud();
    c.change_set_script.borrow_mut().push_back(ChangeSetInfo {
        status: "FAILED".into(),
        status_reason: Some(
            "Template format error: Unresolved resource dependencies [Nope]".into(),
        ),
        ..Default::default()
    });
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Unresolved resource dependencies [Nope]"),
        "{err}"
    );
    assert!(err.contains("describe-change-set"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn change_set_creation_is_polled_with_backoff() {
    let c = cloud();
    for _ in 0..3 {
        c.change_set_script.borrow_mut().push_back(ChangeSetInfo {
            status: "CREATE_IN_PROGRESS".into(),
            ..Default::default()
        });
    }
    let start = tokio::time::Instant::now();
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(c.count("DescribeChangeSet"), 4);
    // 1 + 2 + 4 s of waiting before the fourth answer, then the event polls.
    assert!(start.elapsed() >= Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn event_polling_backs_off_while_nothing_happens() {
    let c = cloud();
    c.hold_polls.set(6);
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap();
    let times = c.event_poll_times.borrow();
    let gaps: Vec<u64> = times.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    // Quiet polls wait 1, 2, 4, 8, 10, 10 s (the cap); news resets the wait to 1 s.
    assert_eq!(&gaps[..6], &[2, 4, 8, 10, 10, 10], "{gaps:?}");
    assert_eq!(gaps[6], 1, "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn missing_bootstrap_stack_says_to_run_bootstrap() {
    let c = FakeCloud::new();
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("run `cdkrs bootstrap` first"), "{err}");
    assert_eq!(c.count("CreateChangeSet"), 0);
}

#[tokio::test(start_paused = true)]
async fn sleep_changes_only_the_parameter_and_keeps_the_template() {
    let t = basic();
    let c = deployed(&t, "UPDATE_COMPLETE");
    let mut ui = RecordingUi::default();
    let report = sleep(&c, &mut ui).await.unwrap();
    assert!(report.changed);
    assert_eq!(report.status, "UPDATE_COMPLETE");
    let requests = c.requests.borrow();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].template, TemplateSource::Previous);
    let params: BTreeMap<_, _> = requests[0]
        .parameters
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_deref()))
        .collect();
    assert_eq!(
        params,
        BTreeMap::from([
            ("CodeBucket", None),
            ("CodeKey", None),
            ("NetworkAsleep", Some("true")),
        ])
    );
    // A parameter-only change set has no resource changes in the fake (as in moto): it is
    // still executed, because executing it is what stores the new value.
    assert_eq!(c.count("ExecuteChangeSet"), 1);
    assert_eq!(
        c.stacks.borrow()[ENV].info.parameters["NetworkAsleep"],
        "true"
    );
}

#[tokio::test(start_paused = true)]
async fn sleep_when_already_asleep_makes_one_call() {
    let c = cloud().with_stack(ENV, "UPDATE_COMPLETE", "{}", &[("NetworkAsleep", "true")]);
    let mut ui = RecordingUi::default();
    let report = sleep(&c, &mut ui).await.unwrap();
    assert!(!report.changed);
    assert_eq!(c.call_names(), ["DescribeStacks env"]);
}

#[tokio::test(start_paused = true)]
async fn destroy_lists_what_is_retained_and_waits_for_the_delete() {
    let t = json!({"Resources": {
        "Data": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain"},
        "Vpc": {"Type": "AWS::EC2::VPC"}
    }});
    let c = deployed(&t, "CREATE_COMPLETE");
    let mut ui = RecordingUi {
        answers: vec![true],
        ..Default::default()
    };
    let report = destroy(&c, &mut ui, false).await.unwrap();
    assert!(report.deleted);
    let ids: Vec<_> = report
        .retained
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    assert_eq!(ids, ["Data", "Key"]);
    assert_eq!(report.retained[0].physical_id.as_deref(), Some("env-data"));
    assert!(c.stacks.borrow().get(ENV).is_none());
    let text = ui.text();
    let list = text.find("Retained by their deletion policy").unwrap();
    let question = text.find("? Delete stack env").unwrap();
    assert!(
        list < question,
        "the list comes before the question: {text}"
    );
}

#[tokio::test(start_paused = true)]
async fn destroy_declined_deletes_nothing() {
    let c = deployed(&basic(), "CREATE_COMPLETE");
    let mut ui = RecordingUi {
        answers: vec![false],
        ..Default::default()
    };
    let report = destroy(&c, &mut ui, false).await.unwrap();
    assert!(!report.deleted);
    assert_eq!(c.count("DeleteStack"), 0);
}

#[tokio::test(start_paused = true)]
async fn destroy_failure_names_the_resource_that_blocked_it() {
    let c = deployed(&basic(), "CREATE_COMPLETE");
    *c.execution.borrow_mut() = Some(Execution {
        events: vec![(
            "Vpc".into(),
            "AWS::EC2::VPC".into(),
            "DELETE_FAILED".into(),
            Some("The vpc 'vpc-1' has dependencies and cannot be deleted".into()),
        )],
        final_status: "DELETE_FAILED".into(),
    });
    let mut ui = RecordingUi::default();
    let err = format!("{:#}", destroy(&c, &mut ui, true).await.unwrap_err());
    assert!(
        err.contains("root cause: Vpc (AWS::EC2::VPC) DELETE_FAILED"),
        "{err}"
    );
    assert!(
        err.contains("run `cdkrs destroy` again to keep what could not be deleted"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn destroying_a_delete_failed_stack_again_keeps_what_could_not_be_deleted() {
    // The last destroy could not delete the (not retained) data bucket: it is not empty.
    let c = deployed(&basic(), "DELETE_FAILED");
    c.stacks
        .borrow_mut()
        .get_mut(ENV)
        .unwrap()
        .resource_status
        .insert("Data".into(), "DELETE_FAILED".into());
    let mut ui = RecordingUi::default();
    let report = destroy(&c, &mut ui, true).await.unwrap();
    assert!(report.deleted);
    let deletions = c.deletions.borrow();
    assert_eq!(deletions.last().unwrap().retain_resources, ["Data"]);
    assert!(
        ui.text()
            .contains("the last delete could not remove Data; they are kept now"),
        "{}",
        ui.text()
    );
    assert!(report
        .retained
        .iter()
        .any(|r| r.logical_id == "Data" && r.policy == "RetainResources"));
    // CloudFormation's record keeps it (DELETE_SKIPPED); the Vpc went.
    let deleted = c.deleted.borrow();
    let (_, resources) = deleted.last().unwrap();
    let status = |id: &str| {
        resources
            .iter()
            .find(|r| r.logical_id == id)
            .map(|r| r.status.clone())
    };
    assert_eq!(status("Data").as_deref(), Some("DELETE_SKIPPED"));
    assert_eq!(status("Vpc").as_deref(), Some("DELETE_COMPLETE"));
}

#[tokio::test(start_paused = true)]
async fn retain_resources_is_refused_for_a_stack_that_is_not_delete_failed() {
    let c = deployed(&basic(), "CREATE_COMPLETE");
    let err = api::CloudFormation::delete_stack(
        &c,
        &api::DeleteStackRequest {
            stack: ENV.into(),
            retain_resources: vec!["Data".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("only if the stack is in DELETE_FAILED state"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn issue_11_destroy_of_a_stack_under_review_deletes_it_without_asking_for_its_template() {
    // A first deploy declined leaves the stack in REVIEW_IN_PROGRESS; CloudFormation (and the
    // fake) refuse GetTemplate for it.
    let c = cloud().with_stack(ENV, "REVIEW_IN_PROGRESS", "", &[]);
    let mut ui = RecordingUi::default();
    let report = destroy(&c, &mut ui, true).await.unwrap();
    assert!(report.deleted);
    assert!(report.retained.is_empty());
    assert!(c.stacks.borrow().get(ENV).is_none());
    assert!(
        !c.call_names().iter().any(|n| n.starts_with("GetTemplate")),
        "{:?}",
        c.call_names()
    );
}

#[tokio::test(start_paused = true)]
async fn destroy_of_a_missing_stack_is_not_an_error() {
    let c = cloud();
    let mut ui = RecordingUi::default();
    let report = destroy(&c, &mut ui, true).await.unwrap();
    assert!(!report.deleted);
    assert_eq!(c.call_names(), ["DescribeStacks env"]);
}

#[test]
fn keep_deployed_parameters_use_the_previous_value_only_when_one_exists() {
    let p = plan(basic());
    let create = deploy::resolve_parameters(&p, None, Some(BUCKET)).unwrap();
    let asleep = create.iter().find(|x| x.key == "NetworkAsleep").unwrap();
    assert_eq!(asleep.value.as_deref(), Some("false"));
    let info = api::StackInfo {
        parameters: BTreeMap::from([("NetworkAsleep".to_owned(), "true".to_owned())]),
        ..Default::default()
    };
    let update = deploy::resolve_parameters(&p, Some(&info), Some(BUCKET)).unwrap();
    let asleep = update.iter().find(|x| x.key == "NetworkAsleep").unwrap();
    assert_eq!(
        asleep.value, None,
        "UsePreviousValue: deploy never wakes a sleeping stack"
    );
    let key = update.iter().find(|x| x.key == "CodeKey").unwrap();
    assert_eq!(key.value.as_deref(), Some("assets/abc.zip"));
}

#[tokio::test(start_paused = true)]
async fn the_assets_bucket_is_read_from_the_bootstrap_stack_the_plan_declares() {
    // Another bootstrap stack, without outputs: the declared bucket id's physical id is used.
    let t = json!({"Resources": {"Store": {"Type": "AWS::S3::Bucket", "Properties": {}}}});
    let c = FakeCloud::new().with_stack("my-boot", "CREATE_COMPLETE", &t.to_string(), &[]);
    let mut p = plan(basic());
    p.bootstrap = Some(BootstrapContract {
        stack_name: "my-boot".into(),
        bucket_output: "StoreName".into(),
        bucket_id: "Store".into(),
    });
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &p, &opts(Approval::Never))
        .await
        .unwrap();
    assert!(c
        .objects
        .borrow()
        .contains_key(&("my-boot-store".into(), "assets/abc.zip".into())));
    let requests = c.requests.borrow();
    let bucket = requests[0]
        .parameters
        .iter()
        .find(|x| x.key == "CodeBucket")
        .and_then(|x| x.value.clone());
    assert_eq!(bucket.as_deref(), Some("my-boot-store"));
    assert_eq!(c.count("DescribeStacks cdkrs-bootstrap"), 0);
}

#[tokio::test(start_paused = true)]
async fn assets_without_a_declared_bootstrap_stack_are_refused_before_any_change() {
    let c = cloud();
    let mut p = plan(basic());
    p.bootstrap = None;
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &p, &opts(Approval::Never))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("stack env publishes assets") && err.contains("declares no bootstrap stack"),
        "{err}"
    );
    assert_eq!(c.count("PutObject") + c.count("CreateChangeSet"), 0);
}

#[test]
fn a_parameter_filled_from_an_asset_the_plan_lacks_is_an_error_naming_both() {
    let mut p = plan(basic());
    p.parameters
        .insert("CodeKey".into(), ParameterFill::AssetKey("Lambda".into()));
    let err = deploy::resolve_parameters(&p, None, Some(BUCKET))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("parameter CodeKey is filled from asset Lambda"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_update_rolled_back_names_its_cause_and_exits_with_an_error() {
    let c = deployed(&basic(), "UPDATE_COMPLETE");
    *c.execution.borrow_mut() = Some(Execution {
        events: vec![
            (
                "Vpc".into(),
                "AWS::EC2::VPC".into(),
                "UPDATE_IN_PROGRESS".into(),
                None,
            ),
            (
                "Vpc".into(),
                "AWS::EC2::VPC".into(),
                "UPDATE_FAILED".into(),
                Some("You are not authorized to perform this operation".into()),
            ),
            (
                "env".into(),
                "AWS::CloudFormation::Stack".into(),
                "UPDATE_ROLLBACK_IN_PROGRESS".into(),
                Some("The following resource(s) failed to update: [Vpc].".into()),
            ),
        ],
        final_status: "UPDATE_ROLLBACK_COMPLETE".into(),
    });
    let mut ui = RecordingUi::default();
    let new = template(&[("Vpc", "AWS::EC2::VPC")]);
    let err = deploy(&c, &mut ui, &plan(new), &opts(Approval::Never))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("env ended in UPDATE_ROLLBACK_COMPLETE"),
        "{err}"
    );
    assert!(
        err.contains("root cause: Vpc (AWS::EC2::VPC) UPDATE_FAILED: You are not authorized"),
        "{err}"
    );
    // The stack is usable again: the next deploy updates it.
    assert_eq!(
        watch::classify(c.stacks.borrow().get(ENV).map(|s| &s.info)),
        watch::StackState::Stable
    );
}

#[test]
fn the_change_set_table_shows_cloudformations_replacement_or_the_prediction() {
    let cs = ChangeSetInfo {
        status: "CREATE_COMPLETE".into(),
        changes: vec![
            api::ResourceChangeInfo {
                action: "Modify".into(),
                logical_id: "Vpc".into(),
                resource_type: "AWS::EC2::VPC".into(),
                replacement: None,
            },
            api::ResourceChangeInfo {
                action: "Modify".into(),
                logical_id: "Data".into(),
                resource_type: "AWS::S3::Bucket".into(),
                replacement: Some("Conditional".into()),
            },
            api::ResourceChangeInfo {
                action: "Add".into(),
                logical_id: "Role".into(),
                resource_type: "AWS::IAM::Role".into(),
                replacement: None,
            },
        ],
        ..Default::default()
    };
    let old = basic();
    let mut new = with_role();
    new["Resources"]["Vpc"]["Properties"]["CidrBlock"] = json!("10.1.0.0/16");
    let diff = crate::diff::diff_templates(Some(&old), &new);
    let text = deploy::render_change_set(ENV, &cs, Some(&diff));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Change set for env: 3 changes");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["Action", "Logical", "ID", "Type", "Replacement"]
    );
    // CloudFormation gave no answer for Vpc (moto never does): the CIDR is create-only.
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["Modify", "Vpc", "AWS::EC2::VPC", "True", "(predicted)"]
    );
    // CloudFormation's own answer wins.
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["Modify", "Data", "AWS::S3::Bucket", "Conditional"]
    );
    assert_eq!(
        lines[4].split_whitespace().collect::<Vec<_>>(),
        ["Add", "Role", "AWS::IAM::Role"]
    );
    // The security section follows: the new role's trust statement.
    assert!(text.contains("IAM Statement Changes"), "{text}");
    assert!(text.contains("lambda.amazonaws.com"), "{text}");
}

// Issue 11, deliver 2 and 5: identity, role, tags, termination protection, client tokens,
// awaited change-set deletion, poll limits, nested stacks, cascades, the failure's report.

fn event(
    id: &str,
    ty: &str,
    status: &str,
    reason: Option<&str>,
) -> (String, String, String, Option<String>) {
    (
        id.into(),
        ty.into(),
        status.into(),
        reason.map(str::to_owned),
    )
}

#[tokio::test(start_paused = true)]
async fn issue_11_credentials_of_another_account_stop_at_the_identity_call() {
    let c = cloud();
    *c.caller_account.borrow_mut() = Some("210987654321".into());
    let err = api::checked_identity(&c, Some("123456789012"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("reach AWS account 210987654321")
            && err.contains("aws_account_id is 123456789012")
            && err.contains("--profile"),
        "{err}"
    );
    assert_eq!(
        c.call_names(),
        ["GetCallerIdentity"],
        "nothing else is asked"
    );
    // Without aws_account_id the check cannot be made: refused, naming the caller's account.
    let err = api::checked_identity(&c, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no aws_account_id") && err.contains("aws_account_id: \"210987654321\""),
        "{err}"
    );
    let ok = api::checked_identity(&c, Some("210987654321"))
        .await
        .unwrap();
    assert_eq!(ok.account, "210987654321");
    assert_eq!(ok.partition(), "aws");
}

#[tokio::test(start_paused = true)]
async fn issue_11_role_tags_and_client_tokens_reach_the_change_sets_and_the_delete() {
    let c = cloud();
    let mut p = plan(basic());
    p.tags = BTreeMap::from([("project".to_owned(), "cm-vpc".to_owned())]);
    let role = "arn:aws:iam::123456789012:role/cdkrs-deploy";
    let o = DeployOptions {
        role_arn: Some(role.into()),
        ..opts(Approval::Never)
    };
    let keep = DeployOptions {
        execute: false,
        ..o.clone()
    };
    deploy(&c, &mut RecordingUi::default(), &p, &keep)
        .await
        .unwrap();
    deploy(&c, &mut RecordingUi::default(), &p, &o)
        .await
        .unwrap();
    let requests = c.requests.borrow().clone();
    assert_eq!(requests.len(), 3, "create, AlreadyExists, create again");
    for r in &requests {
        assert_eq!(r.role_arn.as_deref(), Some(role));
        assert_eq!(r.tags, p.tags);
        let token = r
            .client_token
            .as_deref()
            .expect("every CreateChangeSet has a token");
        assert!(
            token.starts_with("cdkrs-changeset-")
                && token.len() <= 128
                && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{token}"
        );
    }
    let tokens: std::collections::BTreeSet<_> =
        requests.iter().map(|r| r.client_token.clone()).collect();
    assert_eq!(tokens.len(), 3, "a new request, a new token: {tokens:?}");
    // Destroy: the role and a token on DeleteStack.
    let mut ui = RecordingUi::default();
    Engine {
        cfn: &c,
        s3: &c,
        ui: &mut ui,
    }
    .destroy(ENV, true, Backoff::default(), Some(role))
    .await
    .unwrap();
    let deletions = c.deletions.borrow();
    assert_eq!(deletions.len(), 1);
    assert_eq!(deletions[0].role_arn.as_deref(), Some(role));
    assert!(deletions[0]
        .client_token
        .as_deref()
        .is_some_and(|t| t.starts_with("cdkrs-delete-")));
}

#[tokio::test(start_paused = true)]
async fn issue_11_a_rolled_back_stack_is_deleted_with_the_role_and_a_token() {
    let c = deployed(&basic(), "ROLLBACK_COMPLETE");
    let o = DeployOptions {
        role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
        ..opts(Approval::Never)
    };
    deploy(&c, &mut RecordingUi::default(), &plan(basic()), &o)
        .await
        .unwrap();
    let deletions = c.deletions.borrow();
    assert_eq!(deletions[0].role_arn, o.role_arn);
    assert!(deletions[0].client_token.is_some());
}

#[tokio::test(start_paused = true)]
async fn issue_11_termination_protection_is_turned_on_after_create_and_off_only_after_confirming() {
    let c = cloud();
    let mut p = plan(basic());
    p.termination_protection = true;
    let mut ui = RecordingUi::default();
    deploy(&c, &mut ui, &p, &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(c.count("UpdateTerminationProtection env true"), 0, "by ARN");
    assert_eq!(c.count("UpdateTerminationProtection arn:"), 1);
    assert!(c.stacks.borrow()[ENV].info.termination_protection);
    // An update leaves it alone.
    let mut changed = basic();
    changed["Resources"]["Extra"] = json!({"Type": "AWS::SNS::Topic", "Properties": {}});
    deploy(&c, &mut ui, &plan(changed), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(c.count("UpdateTerminationProtection"), 1);
    // The protected stack refuses a plain delete.
    let refused = api::CloudFormation::delete_stack(
        &c,
        &api::DeleteStackRequest {
            stack: ENV.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("TerminationProtection is enabled"),
        "{refused}"
    );
    // Declined: still protected, still there.
    let mut no = RecordingUi {
        answers: vec![false],
        ..Default::default()
    };
    assert!(!destroy(&c, &mut no, false).await.unwrap().deleted);
    assert!(c.stacks.borrow()[ENV].info.termination_protection);
    assert_eq!(c.count("UpdateTerminationProtection"), 1);
    // Confirmed: off, then deleted.
    let mut yes = RecordingUi {
        answers: vec![true],
        ..Default::default()
    };
    assert!(destroy(&c, &mut yes, false).await.unwrap().deleted);
    let calls = c.call_names();
    let off = calls
        .iter()
        .position(|n| n.starts_with("UpdateTerminationProtection") && n.ends_with("false"))
        .expect("turned off");
    let delete = calls
        .iter()
        .rposition(|n| n.starts_with("DeleteStack"))
        .unwrap();
    assert!(off < delete, "{calls:?}");
    assert!(c.stacks.borrow().get(ENV).is_none());
}

#[test]
fn issue_11_status_shows_termination_protection() {
    let status = ops::StackStatus {
        stack: ENV.into(),
        deployed: Some(api::StackInfo {
            status: "CREATE_COMPLETE".into(),
            termination_protection: true,
            ..Default::default()
        }),
    };
    assert!(
        status.to_string().contains("termination protection: on"),
        "{status}"
    );
}

#[tokio::test(start_paused = true)]
async fn issue_11_a_leftover_change_set_is_recreated_only_once_its_deletion_finished() {
    let c = cloud();
    let keep = DeployOptions {
        execute: false,
        ..opts(Approval::Never)
    };
    deploy(&c, &mut RecordingUi::default(), &plan(basic()), &keep)
        .await
        .unwrap();
    c.calls.borrow_mut().clear();
    let report = deploy(
        &c,
        &mut RecordingUi::default(),
        &plan(basic()),
        &opts(Approval::Never),
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
    let calls: Vec<String> = c
        .call_names()
        .into_iter()
        .skip_while(|n| !n.starts_with("DeleteChangeSet"))
        .take(5)
        .collect();
    // Two answers of DELETE_IN_PROGRESS, then ChangeSetNotFound, then the new change set.
    assert_eq!(
        calls,
        [
            "DeleteChangeSet env",
            "DescribeChangeSet env",
            "DescribeChangeSet env",
            "DescribeChangeSet env",
            "CreateChangeSet env Create",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn issue_11_a_change_set_that_never_finishes_gives_up_after_the_limit() {
    let c = cloud();
    let pending = ChangeSetInfo {
        status: "CREATE_PENDING".into(),
        ..Default::default()
    };
    c.change_set_script
        .borrow_mut()
        .extend(std::iter::repeat_n(pending, 10_000));
    let started = tokio::time::Instant::now();
    let err = deploy(
        &c,
        &mut RecordingUi::default(),
        &plan(basic()),
        &opts(Approval::Never),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("still CREATE_PENDING after 10 minutes")
            && err.contains("may still be running")
            && err.contains("describe-change-set"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(11 * 60));
}

#[tokio::test(start_paused = true)]
async fn issue_11_a_stack_operation_that_never_ends_gives_up_after_the_limit() {
    let c = cloud();
    c.hold_polls.set(usize::MAX);
    let o = DeployOptions {
        backoff: Backoff {
            operation_limit: Duration::from_secs(300),
            ..Backoff::default()
        },
        ..opts(Approval::Never)
    };
    let err = deploy(&c, &mut RecordingUi::default(), &plan(basic()), &o)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("stack env is still creating after 5 minutes")
            && err.contains("may still be running")
            && err.contains("describe-stack-events"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn issue_11_a_failure_inside_a_nested_stack_is_followed_and_named() {
    let c = cloud();
    c.nested_script.borrow_mut().insert(
        "Net".into(),
        Execution {
            events: vec![
                event("Subnet", "AWS::EC2::Subnet", "CREATE_IN_PROGRESS", None),
                event(
                    "Subnet",
                    "AWS::EC2::Subnet",
                    "CREATE_FAILED",
                    Some("The CIDR '10.9.0.0/24' is invalid"),
                ),
            ],
            final_status: "ROLLBACK_COMPLETE".into(),
        },
    );
    *c.execution.borrow_mut() = Some(Execution {
        events: vec![
            event("Net", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", None),
            event(
                "Net",
                "AWS::CloudFormation::Stack",
                "CREATE_FAILED",
                Some("Embedded stack env-Net-NESTED was not successfully created: The following resource(s) failed to create: [Subnet]."),
            ),
        ],
        final_status: "ROLLBACK_COMPLETE".into(),
    });
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("root cause: Net/Subnet (AWS::EC2::Subnet) CREATE_FAILED: The CIDR"),
        "{text}"
    );
    assert!(ui.text().contains("Net/Subnet"), "{}", ui.text());
    let failed = err
        .downcast_ref::<watch::OperationFailed>()
        .expect("a typed failure for --output json");
    assert_eq!(failed.status, "ROLLBACK_COMPLETE");
    let json = serde_json::to_value(failed).unwrap();
    assert_eq!(json["root_cause"]["logical_id"], "Net/Subnet");
}

#[tokio::test(start_paused = true)]
async fn issue_11_only_the_exact_cancellation_texts_are_a_cascade() {
    let c = cloud();
    *c.execution.borrow_mut() = Some(Execution {
        events: vec![
            event("Vpc", "AWS::EC2::VPC", "CREATE_FAILED", Some("Resource creation cancelled")),
            event(
                "Data",
                "AWS::S3::Bucket",
                "CREATE_FAILED",
                Some("Resource handler returned message: \"the request was cancelled by the service\""),
            ),
        ],
        final_status: "ROLLBACK_COMPLETE".into(),
    });
    let err = deploy(
        &c,
        &mut RecordingUi::default(),
        &plan(basic()),
        &opts(Approval::Never),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("root cause: Data (AWS::S3::Bucket) CREATE_FAILED: Resource handler"),
        "{err}"
    );
}

// ---- issue 11 (deliver 3 and 4): every stack state, --no-rollback, rollback, execute the
// reviewed change set ----

mod issue_11_states {
    use super::*;
    use crate::engine::execute::Fingerprint;
    use crate::engine::rollback::{RollbackOptions, RollbackReport};
    use crate::engine::watch::{classify, StackState};
    use aws_sdk_cloudformation::types::StackStatus;

    fn info(status: &str) -> api::StackInfo {
        api::StackInfo {
            name: ENV.into(),
            id: format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{ENV}/1"),
            status: status.into(),
            ..Default::default()
        }
    }

    /// What [`classify`] must say for each status, by the state's name.
    const STATES: &[(&str, &str)] = &[
        ("CREATE_COMPLETE", "Stable"),
        ("CREATE_FAILED", "Paused"),
        ("CREATE_IN_PROGRESS", "Busy"),
        ("DELETE_COMPLETE", "Missing"),
        ("DELETE_FAILED", "Blocked"),
        ("DELETE_IN_PROGRESS", "Busy"),
        ("IMPORT_COMPLETE", "Stable"),
        ("IMPORT_IN_PROGRESS", "Busy"),
        ("IMPORT_ROLLBACK_COMPLETE", "Stable"),
        ("IMPORT_ROLLBACK_FAILED", "Blocked"),
        ("IMPORT_ROLLBACK_IN_PROGRESS", "Busy"),
        ("REVIEW_IN_PROGRESS", "ReviewInProgress"),
        ("ROLLBACK_COMPLETE", "RollbackComplete"),
        ("ROLLBACK_FAILED", "Blocked"),
        ("ROLLBACK_IN_PROGRESS", "Busy"),
        ("UPDATE_COMPLETE", "Stable"),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "Busy"),
        ("UPDATE_FAILED", "Paused"),
        ("UPDATE_IN_PROGRESS", "Busy"),
        ("UPDATE_ROLLBACK_COMPLETE", "Stable"),
        ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "Busy"),
        ("UPDATE_ROLLBACK_FAILED", "UpdateRollbackFailed"),
        ("UPDATE_ROLLBACK_IN_PROGRESS", "Busy"),
    ];

    fn state_name(s: &StackState) -> &'static str {
        match s {
            StackState::Missing => "Missing",
            StackState::ReviewInProgress => "ReviewInProgress",
            StackState::RollbackComplete => "RollbackComplete",
            StackState::Busy => "Busy",
            StackState::Paused => "Paused",
            StackState::UpdateRollbackFailed => "UpdateRollbackFailed",
            StackState::Blocked(_) => "Blocked",
            StackState::Stable => "Stable",
        }
    }

    #[test]
    fn issue_11_every_status_of_the_sdk_has_a_state_in_the_table() {
        // A status the SDK gains fails here until it is given a state and a behaviour.
        for status in StackStatus::values() {
            let want = STATES
                .iter()
                .find(|(s, _)| s == status)
                .unwrap_or_else(|| panic!("{status} has no row in STATES: give it a behaviour"))
                .1;
            assert_eq!(state_name(&classify(Some(&info(status)))), want, "{status}");
        }
        assert_eq!(STATES.len(), StackStatus::values().len());
        // The paused states are not stable (the old code let deploy update them with rollback
        // on, which CloudFormation refuses).
        assert_eq!(classify(Some(&info("UPDATE_FAILED"))), StackState::Paused);
        assert_eq!(classify(Some(&info("CREATE_FAILED"))), StackState::Paused);
        // A status no version knows is refused, never treated as deployed and settled.
        let unknown = classify(Some(&info("SOMETHING_NEW")));
        assert!(
            matches!(&unknown, StackState::Blocked(why) if why.contains("SOMETHING_NEW")),
            "{unknown:?}"
        );
    }

    /// `(status, deploy, deploy --no-rollback, rollback, sleep, destroy)`: what each command does
    /// with a stack in that status. `refuse X`: an error containing X and no change; `wait X`:
    /// waits out the running operation (which settles into UPDATE_COMPLETE here), then X.
    const BEHAVIOUR: &[(&str, &str, &str, &str, &str, &str)] = &[
        (
            "CREATE_COMPLETE",
            "update",
            "update",
            "nothing",
            "update",
            "delete",
        ),
        (
            "CREATE_FAILED",
            "refuse cdkrs rollback",
            "update",
            "RollbackStack",
            "refuse cdkrs rollback",
            "delete",
        ),
        (
            "CREATE_IN_PROGRESS",
            "wait update",
            "wait update",
            "wait nothing",
            "wait update",
            "wait delete",
        ),
        (
            "DELETE_COMPLETE",
            "create",
            "create",
            "nothing",
            "refuse cdkrs deploy",
            "nothing",
        ),
        (
            "DELETE_FAILED",
            "refuse cdkrs destroy",
            "refuse cdkrs destroy",
            "refuse cdkrs destroy",
            "refuse cdkrs destroy",
            "delete",
        ),
        (
            "DELETE_IN_PROGRESS",
            "wait update",
            "wait update",
            "wait nothing",
            "wait update",
            "wait delete",
        ),
        (
            "IMPORT_COMPLETE",
            "update",
            "update",
            "nothing",
            "update",
            "delete",
        ),
        (
            "IMPORT_IN_PROGRESS",
            "wait update",
            "wait update",
            "wait nothing",
            "wait update",
            "wait delete",
        ),
        (
            "IMPORT_ROLLBACK_COMPLETE",
            "update",
            "update",
            "nothing",
            "update",
            "delete",
        ),
        (
            "IMPORT_ROLLBACK_FAILED",
            "refuse cdkrs destroy",
            "refuse cdkrs destroy",
            "refuse cdkrs destroy",
            "refuse cdkrs destroy",
            "delete",
        ),
        (
            "IMPORT_ROLLBACK_IN_PROGRESS",
            "wait update",
            "wait update",
            "wait nothing",
            "wait update",
            "wait delete",
        ),
        (
            "REVIEW_IN_PROGRESS",
            "create",
            "create",
            "nothing",
            "refuse cdkrs deploy",
            "delete",
        ),
        (
            "ROLLBACK_COMPLETE",
            "recreate",
            "recreate",
            "nothing",
            "refuse cdkrs deploy",
            "delete",
        ),
        (
            "ROLLBACK_FAILED",
            "refuse cdkrs destroy",
            "refuse cdkrs destroy",
            "refuse cdkrs destroy",
            "refuse cdkrs destroy",
            "delete",
        ),
        (
            "ROLLBACK_IN_PROGRESS",
            "wait update",
            "wait update",
            "wait nothing",
            "wait update",
            "wait delete",
        ),
        (
            "UPDATE_COMPLETE",
            "update",
            "update",
            "nothing",
            "update",
            "delete",
        ),
        (
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "wait update",
            "wait update",
            "wait nothing",
            "wait update",
            "wait delete",
        ),
        (
            "UPDATE_FAILED",
            "refuse cdkrs rollback",
            "update",
            "RollbackStack",
            "refuse cdkrs rollback",
            "delete",
        ),
        (
            "UPDATE_IN_PROGRESS",
            "wait update",
            "wait update",
            "wait nothing",
            "wait update",
            "wait delete",
        ),
        (
            "UPDATE_ROLLBACK_COMPLETE",
            "update",
            "update",
            "nothing",
            "update",
            "delete",
        ),
        (
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            "wait update",
            "wait update",
            "wait nothing",
            "wait update",
            "wait delete",
        ),
        (
            "UPDATE_ROLLBACK_FAILED",
            "refuse cdkrs rollback",
            "refuse cdkrs rollback",
            "ContinueUpdateRollback",
            "refuse cdkrs rollback",
            "delete",
        ),
        (
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "wait update",
            "wait update",
            "wait nothing",
            "wait update",
            "wait delete",
        ),
    ];

    /// A cloud with `env` in `status` (a busy one settles into UPDATE_COMPLETE).
    fn in_status(status: &str) -> FakeCloud {
        let c = deployed(&basic(), status);
        if classify(Some(&info(status))) == StackState::Busy {
            let mut stacks = c.stacks.borrow_mut();
            let s = stacks.get_mut(ENV).unwrap();
            s.busy_for = 2;
            s.settles_to = Some("UPDATE_COMPLETE".into());
        }
        c
    }

    /// The outcome of a command in words, checked against the fake's calls.
    fn outcome(c: &FakeCloud, ui: &RecordingUi, result: Result<String, anyhow::Error>) -> String {
        let waited = if ui.text().contains(": waiting for that operation") {
            "wait "
        } else {
            ""
        };
        match result {
            Err(e) => {
                let changes = c.count("CreateChangeSet")
                    + c.count("ExecuteChangeSet")
                    + c.count("DeleteStack")
                    + c.count("RollbackStack")
                    + c.count("ContinueUpdateRollback");
                assert_eq!(
                    changes,
                    0,
                    "a refusal changes nothing: {:?}",
                    c.call_names()
                );
                format!("{waited}refuse: {e}")
            }
            Ok(what) => format!("{waited}{what}"),
        }
    }

    fn matches_expected(got: &str, want: &str) -> bool {
        match want.split_once("refuse ") {
            Some((wait, needle)) => {
                got.starts_with(&format!("{wait}refuse: ")) && got.contains(needle)
            }
            None => got == want,
        }
    }

    async fn run_deploy(status: &str, rollback: bool) -> String {
        let c = in_status(status);
        let mut ui = RecordingUi::default();
        let o = DeployOptions {
            rollback,
            ..opts(Approval::Never)
        };
        let new = template(&[("Vpc", "AWS::EC2::VPC")]);
        let r = deploy(&c, &mut ui, &plan(new), &o).await.map(|_| {
            let kinds: Vec<_> = c.requests.borrow().iter().map(|r| r.kind).collect();
            assert_eq!(c.count("ExecuteChangeSet"), 1, "{:?}", c.call_names());
            assert!(
                c.executions.borrow()[0].disable_rollback != rollback,
                "the execution carries the rollback switch"
            );
            match (c.count("DeleteStack") > 0, kinds.as_slice()) {
                (true, [api::ChangeSetKind::Create]) => "recreate".to_owned(),
                (false, [api::ChangeSetKind::Create]) => "create".to_owned(),
                (false, [api::ChangeSetKind::Update]) => "update".to_owned(),
                other => format!("unexpected {other:?}"),
            }
        });
        outcome(&c, &ui, r)
    }

    async fn run_rollback(status: &str) -> String {
        let c = in_status(status);
        let mut ui = RecordingUi::default();
        let r = Engine {
            cfn: &c,
            s3: &c,
            ui: &mut ui,
        }
        .rollback(ENV, &RollbackOptions::default())
        .await
        .map(|report| match report.operation {
            Some(op) => {
                assert!(report.rolled_back);
                op
            }
            None => "nothing".into(),
        });
        outcome(&c, &ui, r)
    }

    async fn run_sleep(status: &str) -> String {
        let c = in_status(status);
        let mut ui = RecordingUi::default();
        let r = sleep(&c, &mut ui).await.map(|r| {
            assert!(r.changed);
            "update".to_owned()
        });
        outcome(&c, &ui, r)
    }

    async fn run_destroy(status: &str) -> String {
        let c = in_status(status);
        let mut ui = RecordingUi::default();
        let r = destroy(&c, &mut ui, true).await.map(|r| {
            if r.deleted {
                "delete".to_owned()
            } else {
                "nothing".to_owned()
            }
        });
        outcome(&c, &ui, r)
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_every_status_has_a_tested_behaviour_in_deploy_rollback_sleep_and_destroy() {
        for status in StackStatus::values() {
            let row = BEHAVIOUR
                .iter()
                .find(|r| r.0 == *status)
                .unwrap_or_else(|| panic!("{status} has no row in BEHAVIOUR"));
            let got = [
                run_deploy(status, true).await,
                run_deploy(status, false).await,
                run_rollback(status).await,
                run_sleep(status).await,
                run_destroy(status).await,
            ];
            let want = [row.1, row.2, row.3, row.4, row.5];
            // `diff` compares with the deployed template exactly when deploy does not create
            // the stack from nothing.
            if !row.1.starts_with("wait") {
                let creates = matches!(row.1, "create" | "recreate");
                assert_eq!(
                    classify(Some(&info(status))).compares_with_deployed(),
                    !creates,
                    "{status}: diff's baseline disagrees with deploy"
                );
            }
            for ((command, got), want) in [
                "deploy",
                "deploy --no-rollback",
                "rollback",
                "sleep",
                "destroy",
            ]
            .iter()
            .zip(&got)
            .zip(want)
            {
                assert!(
                    matches_expected(got, want),
                    "{status} / {command}: want {want}, got {got}"
                );
            }
        }
        assert_eq!(BEHAVIOUR.len(), StackStatus::values().len());
    }

    #[test]
    fn issue_11_status_names_the_next_command_for_the_states_that_need_one() {
        let text = |status: &str| {
            ops::StackStatus {
                stack: ENV.into(),
                deployed: Some(info(status)),
            }
            .to_string()
        };
        assert!(text("UPDATE_FAILED")
            .contains("next: `cdkrs rollback`, or `cdkrs deploy --no-rollback`"));
        assert!(text("UPDATE_ROLLBACK_FAILED").contains("next: `cdkrs rollback` (with `--orphan"));
        assert!(!text("UPDATE_COMPLETE").contains("next:"));
    }

    fn failing_update() -> Execution {
        Execution {
            events: vec![
                (
                    "Vpc".into(),
                    "AWS::EC2::VPC".into(),
                    "UPDATE_IN_PROGRESS".into(),
                    None,
                ),
                (
                    "Vpc".into(),
                    "AWS::EC2::VPC".into(),
                    "UPDATE_FAILED".into(),
                    Some("The CIDR '10.0.0.0/99' is invalid".into()),
                ),
                (
                    ENV.into(),
                    "AWS::CloudFormation::Stack".into(),
                    "UPDATE_ROLLBACK_IN_PROGRESS".into(),
                    Some("The following resource(s) failed to update: [Vpc].".into()),
                ),
                (
                    "Vpc".into(),
                    "AWS::EC2::VPC".into(),
                    "UPDATE_COMPLETE".into(),
                    None,
                ),
            ],
            final_status: "UPDATE_ROLLBACK_COMPLETE".into(),
        }
    }

    fn changed() -> serde_json::Value {
        let mut t = basic();
        t["Resources"]["Vpc"]["Properties"]["CidrBlock"] = json!("10.0.0.0/99");
        t
    }

    fn no_rollback() -> DeployOptions {
        DeployOptions {
            rollback: false,
            ..opts(Approval::Never)
        }
    }

    async fn roll_back(
        c: &FakeCloud,
        ui: &mut RecordingUi,
        o: RollbackOptions,
    ) -> anyhow::Result<RollbackReport> {
        Engine { cfn: c, s3: c, ui }.rollback(ENV, &o).await
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_no_rollback_pauses_the_failed_update_with_its_resources_and_names_the_cause()
    {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        *c.execution.borrow_mut() = Some(failing_update());
        let mut ui = RecordingUi::default();
        let err = deploy(&c, &mut ui, &plan(changed()), &no_rollback())
            .await
            .unwrap_err()
            .to_string();
        assert!(c.executions.borrow()[0].disable_rollback);
        assert!(err.contains("env ended in UPDATE_FAILED"), "{err}");
        assert!(
            err.contains("run `cdkrs deploy --no-rollback` again, or return it to its last stable state with `cdkrs rollback`"),
            "{err}"
        );
        assert!(
            err.contains("root cause: Vpc (AWS::EC2::VPC) UPDATE_FAILED: The CIDR"),
            "{err}"
        );
        let stacks = c.stacks.borrow();
        assert_eq!(stacks[ENV].info.status, "UPDATE_FAILED");
        // Nothing was rolled back: the stack holds the new template as far as it got.
        assert!(stacks[ENV].template.contains("10.0.0.0/99"));
        assert!(!stacks[ENV]
            .events
            .iter()
            .any(|e| e.status.contains("ROLLBACK")));
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_a_paused_stack_refuses_a_rolling_deploy_and_takes_a_no_rollback_retry() {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        *c.execution.borrow_mut() = Some(failing_update());
        let mut ui = RecordingUi::default();
        deploy(&c, &mut ui, &plan(changed()), &no_rollback())
            .await
            .unwrap_err();
        let err = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("env is UPDATE_FAILED")
                && err.contains("`cdkrs rollback`")
                && err.contains("`cdkrs deploy --no-rollback`"),
            "{err}"
        );
        assert_eq!(c.count("CreateChangeSet"), 1, "{:?}", c.call_names());
        // The fix, deployed with --no-rollback again, updates the paused stack.
        let report = deploy(&c, &mut ui, &plan(basic()), &no_rollback())
            .await
            .unwrap();
        assert_eq!(report.status.as_deref(), Some("UPDATE_COMPLETE"));
        assert!(c.executions.borrow()[1].disable_rollback);
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_rollback_returns_a_paused_update_to_its_last_stable_template() {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        *c.execution.borrow_mut() = Some(failing_update());
        let mut ui = RecordingUi::default();
        deploy(&c, &mut ui, &plan(changed()), &no_rollback())
            .await
            .unwrap_err();
        let report = roll_back(&c, &mut ui, RollbackOptions::default())
            .await
            .unwrap();
        assert!(report.rolled_back);
        assert_eq!(report.operation.as_deref(), Some("RollbackStack"));
        assert_eq!(report.status.as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
        assert_eq!(
            report.to_string(),
            "env: rolled back (UPDATE_ROLLBACK_COMPLETE)\n"
        );
        let request = c.rollbacks.borrow()[0].clone();
        assert!(request.retain_except_on_create);
        let token = request.client_token.unwrap();
        assert!(
            token.starts_with("cdkrs-rollback-") && token.len() <= 128,
            "{token}"
        );
        assert_eq!(c.stacks.borrow()[ENV].template, basic().to_string());
        // A normal deploy works again.
        let report = deploy(&c, &mut ui, &plan(with_role()), &opts(Approval::Never))
            .await
            .unwrap();
        assert_eq!(report.status.as_deref(), Some("UPDATE_COMPLETE"));
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_rollback_of_a_paused_create_leaves_rollback_complete_and_deploy_recreates() {
        let c = cloud();
        *c.execution.borrow_mut() = Some(Execution {
            events: vec![
                (
                    "Data".into(),
                    "AWS::S3::Bucket".into(),
                    "CREATE_COMPLETE".into(),
                    None,
                ),
                (
                    "Vpc".into(),
                    "AWS::EC2::VPC".into(),
                    "CREATE_FAILED".into(),
                    Some("quota exceeded".into()),
                ),
                (
                    "Data".into(),
                    "AWS::S3::Bucket".into(),
                    "DELETE_COMPLETE".into(),
                    None,
                ),
            ],
            final_status: "ROLLBACK_COMPLETE".into(),
        });
        let mut ui = RecordingUi::default();
        let err = deploy(&c, &mut ui, &plan(basic()), &no_rollback())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("env ended in CREATE_FAILED"), "{err}");
        // The bucket the failed create made is kept while paused.
        assert_eq!(
            c.stacks.borrow()[ENV]
                .resource_status
                .get("Data")
                .map(String::as_str),
            Some("CREATE_COMPLETE")
        );
        let report = roll_back(&c, &mut ui, RollbackOptions::default())
            .await
            .unwrap();
        assert_eq!(report.status.as_deref(), Some("ROLLBACK_COMPLETE"));
        let report = deploy(&c, &mut ui, &plan(basic()), &opts(Approval::Never))
            .await
            .unwrap();
        assert_eq!(report.status.as_deref(), Some("CREATE_COMPLETE"));
        assert_eq!(c.count("DeleteStack"), 1);
    }

    /// `env` in UPDATE_ROLLBACK_FAILED after an update whose rollback failed on Vpc.
    async fn rollback_failed() -> FakeCloud {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        let mut script = failing_update();
        script.events[3] = (
            "Vpc".into(),
            "AWS::EC2::VPC".into(),
            "UPDATE_FAILED".into(),
            Some("vpc-1 was deleted outside CloudFormation".into()),
        );
        script.final_status = "UPDATE_ROLLBACK_FAILED".into();
        *c.execution.borrow_mut() = Some(script);
        let mut ui = RecordingUi::default();
        deploy(&c, &mut ui, &plan(changed()), &opts(Approval::Never))
            .await
            .unwrap_err();
        assert_eq!(c.stacks.borrow()[ENV].info.status, "UPDATE_ROLLBACK_FAILED");
        c
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_orphaning_a_resource_that_did_not_fail_is_refused_by_name() {
        let c = rollback_failed().await;
        let mut ui = RecordingUi::default();
        let err = roll_back(
            &c,
            &mut ui,
            RollbackOptions {
                orphan: vec!["Data".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--orphan Data: Data is CREATE_COMPLETE, not UPDATE_FAILED")
                && err.contains("(failed: Vpc)"),
            "{err}"
        );
        let err = roll_back(
            &c,
            &mut ui,
            RollbackOptions {
                orphan: vec!["Nope".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("stack env has no resource Nope"), "{err}");
        assert_eq!(c.count("ContinueUpdateRollback"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_a_failed_rollback_is_continued_and_the_orphaned_resource_skipped() {
        let c = rollback_failed().await;
        // Continuing without skipping fails again on Vpc: the error names it and the fix.
        *c.execution.borrow_mut() = Some(Execution {
            events: vec![(
                "Vpc".into(),
                "AWS::EC2::VPC".into(),
                "UPDATE_FAILED".into(),
                Some("vpc-1 was deleted outside CloudFormation".into()),
            )],
            final_status: "UPDATE_ROLLBACK_FAILED".into(),
        });
        let mut ui = RecordingUi::default();
        let err = roll_back(&c, &mut ui, RollbackOptions::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("env ended in UPDATE_ROLLBACK_FAILED"), "{err}");
        assert!(
            err.contains("root cause: Vpc (AWS::EC2::VPC) UPDATE_FAILED: vpc-1"),
            "{err}"
        );
        assert!(
            err.contains("--orphan LOGICAL_ID` (failed now: Vpc)"),
            "{err}"
        );
        // Skipping it finishes the rollback.
        let report = roll_back(
            &c,
            &mut ui,
            RollbackOptions {
                orphan: vec!["Vpc".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(report.operation.as_deref(), Some("ContinueUpdateRollback"));
        assert_eq!(report.orphaned, ["Vpc"]);
        assert_eq!(report.status.as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
        assert!(report.to_string().contains("orphaned (skipped"), "{report}");
        let requests = c.continues.borrow();
        assert_eq!(requests[1].resources_to_skip, ["Vpc"]);
        // Each attempt is a new request: a new token.
        assert_ne!(requests[0].client_token, requests[1].client_token);
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_force_skips_every_resource_whose_rollback_failed() {
        let c = rollback_failed().await;
        let mut ui = RecordingUi::default();
        let report = roll_back(
            &c,
            &mut ui,
            RollbackOptions {
                force: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(report.orphaned, ["Vpc"]);
        assert_eq!(c.continues.borrow()[0].resources_to_skip, ["Vpc"]);
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_rollback_with_nothing_to_roll_back_says_so_and_succeeds() {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        let mut ui = RecordingUi::default();
        let report = roll_back(&c, &mut ui, RollbackOptions::default())
            .await
            .unwrap();
        assert!(!report.rolled_back);
        assert_eq!(
            report.to_string(),
            "env: nothing to roll back (UPDATE_COMPLETE)\n"
        );
        assert_eq!(c.call_names(), ["DescribeStacks env"]);
        // --orphan there is a mistake worth saying.
        let err = roll_back(
            &c,
            &mut ui,
            RollbackOptions {
                orphan: vec!["Vpc".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("nothing to roll back"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_the_fake_refuses_what_cloudformation_refuses_in_each_state() {
        use crate::engine::api::{CloudFormation, ContinueRollbackRequest, RollbackRequest};
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        let err = c
            .rollback_stack(&RollbackRequest {
                stack: ENV.into(),
                role_arn: None,
                client_token: None,
                retain_except_on_create: true,
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is in UPDATE_COMPLETE state and can not be rolled back"),
            "{err}"
        );
        let err = c
            .continue_update_rollback(&ContinueRollbackRequest {
                stack: ENV.into(),
                role_arn: None,
                resources_to_skip: Vec::new(),
                client_token: None,
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("is in UPDATE_COMPLETE state"), "{err}");
        // A paused stack takes an update only with rollback disabled.
        let c = deployed(&basic(), "UPDATE_FAILED");
        let request = api::ChangeSetRequest::new(
            ENV,
            "cs",
            api::ChangeSetKind::Update,
            TemplateSource::Body(changed().to_string()),
            Vec::new(),
            String::new(),
        );
        c.create_change_set(&request).await.unwrap();
        let mut execute = api::ExecuteRequest {
            stack: ENV.into(),
            change_set: "cs".into(),
            disable_rollback: false,
            retain_except_on_create: true,
            client_token: None,
        };
        let err = c
            .execute_change_set(&execute)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("non-terminal [UPDATE_FAILED] state"), "{err}");
        execute.disable_rollback = true;
        c.execute_change_set(&execute).await.unwrap();
    }

    // ---- deliver 3: execute exactly the reviewed change set ----

    fn review(name: &str) -> DeployOptions {
        DeployOptions {
            execute: false,
            change_set_name: name.into(),
            ..opts(Approval::Never)
        }
    }

    async fn execute(
        c: &FakeCloud,
        ui: &mut RecordingUi,
        name: &str,
        fingerprint: &str,
        o: &DeployOptions,
    ) -> anyhow::Result<DeployReport> {
        let fp = Fingerprint::parse(fingerprint).unwrap();
        Engine { cfn: c, s3: c, ui }
            .execute_reviewed(ENV, name, &fp, o, false)
            .await
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_a_stack_created_by_execute_gets_its_declared_termination_protection() {
        let c = cloud();
        let mut ui = RecordingUi::default();
        let reviewed = deploy(&c, &mut ui, &plan(basic()), &review("review-me"))
            .await
            .unwrap();
        let fp = Fingerprint::parse(reviewed.fingerprint.as_deref().unwrap()).unwrap();
        let report = Engine {
            cfn: &c,
            s3: &c,
            ui: &mut ui,
        }
        .execute_reviewed(ENV, "review-me", &fp, &opts(Approval::Never), true)
        .await
        .unwrap();
        assert_eq!(report.status.as_deref(), Some("CREATE_COMPLETE"));
        assert!(c.stacks.borrow()[ENV].info.termination_protection);
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_no_execute_prints_a_fingerprint_and_execute_runs_exactly_that_change_set() {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        let mut ui = RecordingUi::default();
        let reviewed = deploy(&c, &mut ui, &plan(with_role()), &review("review-me"))
            .await
            .unwrap();
        let fp = reviewed.fingerprint.clone().unwrap();
        let text = reviewed.to_string();
        assert!(
            text.contains(&format!("cdkrs execute review-me --fingerprint {fp}")),
            "{text}"
        );
        assert!(!text.contains("execute it with `cdkrs deploy`"), "{text}");
        let json = serde_json::to_value(&reviewed).unwrap();
        assert_eq!(json["change_set"], "review-me");
        assert_eq!(json["fingerprint"], fp.as_str());
        assert!(json["change_set_id"]
            .as_str()
            .unwrap()
            .starts_with("cs-review-me"));

        let report = execute(&c, &mut ui, "review-me", &fp, &opts(Approval::Never))
            .await
            .unwrap();
        assert_eq!(report.outcome, Outcome::Deployed);
        assert_eq!(report.status.as_deref(), Some("UPDATE_COMPLETE"));
        // No synth, no new change set: the reviewed one ran, with deploy's token and switches.
        assert_eq!(c.count("CreateChangeSet"), 1);
        let exec = c.executions.borrow()[0].clone();
        assert_eq!(exec.change_set, "review-me");
        assert!(!exec.disable_rollback && exec.retain_except_on_create);
        assert_eq!(
            exec.client_token,
            Some(deploy::client_token(
                reviewed.change_set_id.as_deref().unwrap(),
                "review-me"
            ))
        );
        assert!(c.stacks.borrow()[ENV]
            .template
            .contains("lambda.amazonaws.com"));
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_execute_refuses_a_change_set_a_later_review_replaced() {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        let mut ui = RecordingUi::default();
        let first = deploy(&c, &mut ui, &plan(with_role()), &review("review-me"))
            .await
            .unwrap();
        let second = deploy(&c, &mut ui, &plan(changed()), &review("review-me"))
            .await
            .unwrap();
        assert_ne!(first.fingerprint, second.fingerprint);
        let err = execute(
            &c,
            &mut ui,
            "review-me",
            first.fingerprint.as_deref().unwrap(),
            &opts(Approval::Never),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("change set review-me of env is not the one reviewed")
                && err.contains("created again since"),
            "{err}"
        );
        assert_eq!(c.count("ExecuteChangeSet"), 0);
        // The new one executes with its own fingerprint.
        execute(
            &c,
            &mut ui,
            "review-me",
            second.fingerprint.as_deref().unwrap(),
            &opts(Approval::Never),
        )
        .await
        .unwrap();
        assert!(c.stacks.borrow()[ENV].template.contains("10.0.0.0/99"));
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_execute_refuses_when_the_stack_changed_since_the_review_naming_the_change() {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        let mut ui = RecordingUi::default();
        let reviewed = deploy(&c, &mut ui, &plan(with_role()), &review("review-me"))
            .await
            .unwrap();
        // Something else touched the stack (its events say so) while the change set still
        // reads AVAILABLE.
        {
            let mut stacks = c.stacks.borrow_mut();
            let s = stacks.get_mut(ENV).unwrap();
            s.events.insert(
                0,
                api::StackEvent {
                    id: "ev-outside".into(),
                    logical_id: "Data".into(),
                    resource_type: "AWS::S3::Bucket".into(),
                    status: "UPDATE_COMPLETE".into(),
                    reason: Some("changed by someone else".into()),
                    timestamp: 99.0,
                    physical_id: None,
                },
            );
        }
        let err = execute(
            &c,
            &mut ui,
            "review-me",
            reviewed.fingerprint.as_deref().unwrap(),
            &opts(Approval::Never),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("stack env changed since the review: 1 events since the review")
                && err.contains("Data (AWS::S3::Bucket) UPDATE_COMPLETE: changed by someone else"),
            "{err}"
        );
        assert_eq!(c.count("ExecuteChangeSet"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_execute_refuses_a_change_set_cloudformation_deleted_or_made_obsolete() {
        // Another change set executed (sleep): CloudFormation deleted the reviewed one.
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        let mut ui = RecordingUi::default();
        let reviewed = deploy(&c, &mut ui, &plan(with_role()), &review("review-me"))
            .await
            .unwrap();
        sleep(&c, &mut ui).await.unwrap();
        let err = execute(
            &c,
            &mut ui,
            "review-me",
            reviewed.fingerprint.as_deref().unwrap(),
            &opts(Approval::Never),
        )
        .await
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("reading the reviewed change set review-me of env")
                && text.contains("ChangeSetNotFound"),
            "{text}"
        );
        // A rollback of a paused stack made the reviewed change set OBSOLETE.
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        *c.execution.borrow_mut() = Some(failing_update());
        deploy(&c, &mut ui, &plan(changed()), &no_rollback())
            .await
            .unwrap_err();
        let reviewed = deploy(
            &c,
            &mut ui,
            &plan(basic()),
            &DeployOptions {
                rollback: false,
                ..review("fix")
            },
        )
        .await
        .unwrap();
        roll_back(&c, &mut ui, RollbackOptions::default())
            .await
            .unwrap();
        let err = execute(
            &c,
            &mut ui,
            "fix",
            reviewed.fingerprint.as_deref().unwrap(),
            &no_rollback(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("execution status OBSOLETE"), "{err}");
        assert_eq!(
            c.count("ExecuteChangeSet"),
            1,
            "only the failed deploy executed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_execute_with_no_rollback_pauses_on_failure_like_deploy() {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        let mut ui = RecordingUi::default();
        let reviewed = deploy(&c, &mut ui, &plan(changed()), &review("review-me"))
            .await
            .unwrap();
        *c.execution.borrow_mut() = Some(failing_update());
        let err = execute(
            &c,
            &mut ui,
            "review-me",
            reviewed.fingerprint.as_deref().unwrap(),
            &no_rollback(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("env ended in UPDATE_FAILED"), "{err}");
        assert!(c.executions.borrow()[0].disable_rollback);
    }

    #[tokio::test(start_paused = true)]
    async fn issue_11_no_rollback_refuses_a_change_set_that_replaces_a_resource() {
        let c = deployed(&basic(), "UPDATE_COMPLETE");
        c.change_set_script.borrow_mut().push_back(ChangeSetInfo {
            id: "cs-replacing".into(),
            status: "CREATE_COMPLETE".into(),
            execution_status: Some("AVAILABLE".into()),
            changes: vec![api::ResourceChangeInfo {
                action: "Modify".into(),
                logical_id: "Vpc".into(),
                resource_type: "AWS::EC2::VPC".into(),
                replacement: Some("True".into()),
            }],
            ..Default::default()
        });
        let mut ui = RecordingUi::default();
        let err = deploy(&c, &mut ui, &plan(changed()), &no_rollback())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("replaces Vpc (AWS::EC2::VPC)")
                && err.contains("deploy without --no-rollback"),
            "{err}"
        );
        assert_eq!(c.count("ExecuteChangeSet"), 0);
    }

    #[test]
    fn issue_11_fingerprints_parse_back_and_bad_ones_name_the_format() {
        let fp = Fingerprint::of("arn:cs/1", "arn:stack/env/1", Some("ev-1"));
        assert_eq!(Fingerprint::parse(&fp.to_string()), Ok(fp.clone()));
        assert_ne!(
            fp,
            Fingerprint::of("arn:cs/2", "arn:stack/env/1", Some("ev-1"))
        );
        assert_ne!(
            fp,
            Fingerprint::of("arn:cs/1", "arn:stack/env/1", Some("ev-2"))
        );
        let err = Fingerprint::parse("abc").unwrap_err();
        assert!(err.contains("12 hex digits"), "{err}");
    }
}

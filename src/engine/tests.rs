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
        ("UPDATE_ROLLBACK_FAILED", "continue-update-rollback"),
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
    let report = deploy(&c, &mut ui, &plan(with_data()), &opts(Approval::Never))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Deployed);
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
    let err = destroy(&c, &mut ui, true).await.unwrap_err().to_string();
    assert!(
        err.contains("root cause: Vpc (AWS::EC2::VPC) DELETE_FAILED"),
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

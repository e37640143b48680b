//! The engine against the scripted fake: every stack state, failure causes, approvals, asset
//! publishing, call counts and polling backoff. Time is tokio's paused clock, so the waits cost
//! nothing and their lengths can be asserted.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::api::{ChangeSetInfo, StackOutput, TemplateSource};
use super::deploy::{Asset, Desired, INLINE_TEMPLATE_LIMIT};
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
        parameters: BTreeMap::from([(
            "NetworkAsleep".to_owned(),
            Desired::KeepDeployed("false".into()),
        )]),
        assets: vec![Asset {
            id: "Provider".into(),
            key: "assets/abc.zip".into(),
            bytes: b"zip".to_vec(),
            bucket_parameter: "CodeBucket".into(),
            key_parameter: "CodeKey".into(),
        }],
        expected_account: Some("123456789012".into()),
    }
}

fn opts(approval: Approval) -> DeployOptions {
    DeployOptions {
        approval,
        ..Default::default()
    }
}

/// A cloud with the bootstrap stack in place.
fn cloud() -> FakeCloud {
    let c = FakeCloud::new().with_stack(
        cdkrs_stacks::bootstrap::STACK_NAME,
        "CREATE_COMPLETE",
        "{}",
        &[],
    );
    c.stacks
        .borrow_mut()
        .get_mut(cdkrs_stacks::bootstrap::STACK_NAME)
        .unwrap()
        .info
        .outputs = vec![StackOutput {
        key: cdkrs_stacks::bootstrap::BUCKET_OUTPUT.into(),
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
        )
        .await
}

async fn destroy(
    c: &FakeCloud,
    ui: &mut RecordingUi,
    assume_yes: bool,
) -> anyhow::Result<ops::DestroyReport> {
    Engine { cfn: c, s3: c, ui }
        .destroy(ENV, assume_yes, Backoff::default())
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
            "DescribeStacks cdkrs-bootstrap",
            "HeadObject assets/abc.zip",
            "PutObject assets/abc.zip",
            "CreateChangeSet env Create",
            "DescribeChangeSet env",
            // From here on the stack is followed by the ARN CreateChangeSet answered: a name can
            // be reused (moto even keeps two stacks of one name), an ARN cannot.
            "ExecuteChangeSet arn:aws:cloudformation:us-east-1:123456789012:stack/env/2",
            "DescribeStacks arn:aws:cloudformation:us-east-1:123456789012:stack/env/2",
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
async fn credentials_of_another_account_are_refused_before_any_change() {
    let c = cloud();
    let mut p = plan(basic());
    p.expected_account = Some("210987654321".into());
    let mut ui = RecordingUi::default();
    let err = deploy(&c, &mut ui, &p, &opts(Approval::Never))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("account 123456789012") && err.contains("210987654321"),
        "{err}"
    );
    assert_eq!(c.count("PutObject") + c.count("CreateChangeSet"), 0);
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
    let create = deploy::resolve_parameters(&p, None, Some(BUCKET));
    let asleep = create.iter().find(|x| x.key == "NetworkAsleep").unwrap();
    assert_eq!(asleep.value.as_deref(), Some("false"));
    let info = api::StackInfo {
        parameters: BTreeMap::from([("NetworkAsleep".to_owned(), "true".to_owned())]),
        ..Default::default()
    };
    let update = deploy::resolve_parameters(&p, Some(&info), Some(BUCKET));
    let asleep = update.iter().find(|x| x.key == "NetworkAsleep").unwrap();
    assert_eq!(
        asleep.value, None,
        "UsePreviousValue: deploy never wakes a sleeping stack"
    );
    let key = update.iter().find(|x| x.key == "CodeKey").unwrap();
    assert_eq!(key.value.as_deref(), Some("assets/abc.zip"));
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

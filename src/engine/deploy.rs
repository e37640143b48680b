//! `deploy`: compare, publish, change set, review, execute, watch.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;

use super::api::{
    AlreadyExists, ChangeSetInfo, ChangeSetKind, ChangeSetRequest, CloudFormation, ExecuteRequest,
    ObjectStore, ParameterValue, ResourceChangeInfo, StackInfo, StackOutput, TemplateSource,
};
use super::ui::Ui;
use super::watch::{self, classify, Backoff, StackState, Target};
use crate::aws::errors;
use crate::diff::{diff_templates, Replacement, TemplateDiff};

/// A change set ready to execute, and the ARN of its stack.
#[derive(Clone, Debug)]
pub struct ReadyChangeSet {
    /// What it changes.
    pub info: ChangeSetInfo,
    /// The stack's ARN.
    pub stack_id: String,
}

/// The largest template CloudFormation accepts inline (`TemplateBody`); larger ones are
/// uploaded to the assets bucket and passed by URL (up to 1 MB).
pub const INLINE_TEMPLATE_LIMIT: usize = 51_200;

/// When deploy asks before executing a change set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// Never ask.
    Never,
    /// Ask when the change broadens security: new or wider IAM statements, key or bucket
    /// policies, security-group rules.
    #[default]
    Broadening,
    /// Ask for every change.
    Any,
}

/// A file published to the assets bucket under a content-hashed key.
#[derive(Clone, Debug)]
pub struct Asset {
    /// What it is (for messages).
    pub id: String,
    /// The S3 key: `assets/<sha256>.zip`, so a changed file is a new key and an unchanged one
    /// is never uploaded twice.
    pub key: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The template parameter that receives the bucket name.
    pub bucket_parameter: String,
    /// The template parameter that receives the key.
    pub key_parameter: String,
}

/// What a parameter should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Desired {
    /// This value.
    Value(String),
    /// Keep the deployed value; on create, this value (the network-sleep switch, which only
    /// `sleep` and `wake` change).
    KeepDeployed(String),
}

/// One stack to deploy: the synthesized template and how to fill its parameters.
#[derive(Clone, Debug)]
pub struct StackDeployment {
    /// Stack name.
    pub stack_name: String,
    /// The template as sent (compact JSON).
    pub template_body: String,
    /// The same template, parsed (for the comparison and the diff).
    pub template: Value,
    /// Parameters filled by the deployment (asset parameters are added from `assets`).
    pub parameters: BTreeMap<String, Desired>,
    /// Files to publish first.
    pub assets: Vec<Asset>,
    /// The account the stack must land in (from the config), checked against the bootstrap
    /// stack's ARN.
    pub expected_account: Option<String>,
}

impl StackDeployment {
    /// A synthesized template with nothing to fill: no parameters, assets or account check.
    pub fn new(stack_name: &str, template: &cdkrs_constructs::Template) -> StackDeployment {
        StackDeployment {
            stack_name: stack_name.to_owned(),
            template_body: template.to_json_compact().to_owned(),
            template: template.as_json().clone(),
            parameters: BTreeMap::new(),
            assets: Vec::new(),
            expected_account: None,
        }
    }
}

/// How deploy runs.
#[derive(Clone, Debug)]
pub struct DeployOptions {
    /// The change set's name.
    pub change_set_name: String,
    /// When to ask.
    pub approval: Approval,
    /// `false`: create the change set, show it and stop (`--no-execute`).
    pub execute: bool,
    /// Polling.
    pub backoff: Backoff,
    /// `false` (`--no-rollback`): a failure pauses the stack instead of rolling it back.
    pub rollback: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            change_set_name: "cdkrs-deploy".into(),
            approval: Approval::default(),
            execute: true,
            backoff: Backoff::default(),
            rollback: true,
        }
    }
}

/// How a deploy ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The deployed template and parameters already match: nothing was created.
    NoChanges,
    /// The change set was executed and the stack reached a *_COMPLETE state.
    Deployed,
    /// `--no-execute`: the change set is ready for review.
    ChangeSetCreated,
    /// The user declined the change set; it was deleted.
    Declined,
}

/// The result of a deploy (stdout; `--output json`).
#[derive(Clone, Debug, Serialize)]
pub struct DeployReport {
    /// Stack name.
    pub stack: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The change set's name (when one was created and kept).
    pub change_set: Option<String>,
    /// The changes CloudFormation planned.
    pub changes: Vec<ResourceChangeInfo>,
    /// The stack's outputs after the deploy.
    pub outputs: Vec<StackOutput>,
    /// Final stack status.
    pub status: Option<String>,
    /// The kept change set's ARN (`--no-execute`).
    pub change_set_id: Option<String>,
    /// What `cdkrs execute --fingerprint` checks before executing the kept change set
    /// (`--no-execute`; see [`super::execute::Fingerprint`]).
    pub fingerprint: Option<String>,
}

impl fmt::Display for DeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.outcome {
            Outcome::NoChanges => writeln!(f, "{}: no changes", self.stack)?,
            Outcome::Deployed => writeln!(
                f,
                "{}: {} ({} changes)",
                self.stack,
                self.status.as_deref().unwrap_or("done"),
                self.changes.len()
            )?,
            Outcome::ChangeSetCreated => {
                let cs = self.change_set.as_deref().unwrap_or("?");
                let fp = self.fingerprint.as_deref().unwrap_or("?");
                writeln!(
                    f,
                    "{}: change set {cs} is ready for review (fingerprint {fp})",
                    self.stack
                )?;
                // `cdkrs deploy` would replace it with a new change set (issue 11 problem 4).
                writeln!(
                    f,
                    "execute exactly this change set, with the same --config and AWS options:\n  \
                     cdkrs execute {cs} --fingerprint {fp}"
                )?
            }
            Outcome::Declined => writeln!(f, "{}: not deployed (declined)", self.stack)?,
        }
        if !self.outputs.is_empty() {
            writeln!(f, "\nOutputs:")?;
            let width = self.outputs.iter().map(|o| o.key.len()).max().unwrap_or(0);
            for o in &self.outputs {
                writeln!(f, "  {:<width$}  {}", o.key, o.value)?;
            }
        }
        Ok(())
    }
}

/// Counts of the API calls a command made (README's benchmark; the no-op target is 3).
pub fn elapsed_note(start: Instant, calls: usize) -> String {
    format!(
        "{calls} AWS API calls in {:.2} s",
        start.elapsed().as_secs_f64()
    )
}

/// The deploy engine over a CloudFormation and an S3 implementation.
pub struct Engine<'a, C, S> {
    /// CloudFormation.
    pub cfn: &'a C,
    /// S3.
    pub s3: &'a S,
    /// The user.
    pub ui: &'a mut dyn Ui,
}

/// The assets bucket as the bootstrap stack names it.
pub async fn assets_bucket<C: CloudFormation>(
    cfn: &C,
    expected_account: Option<&str>,
) -> Result<String> {
    use cdkrs_stacks::bootstrap::{BUCKET_ID, BUCKET_OUTPUT, STACK_NAME};
    let Some(stack) = cfn.describe_stack(STACK_NAME).await? else {
        bail!(
            "the {STACK_NAME} stack does not exist in this account and region: run `cdkrs \
             bootstrap` first (it creates the bucket deploy publishes the provider zip to)"
        );
    };
    if let (Some(want), Some(got)) = (expected_account, stack.account_id()) {
        if want != got {
            bail!(
                "the credentials reach AWS account {got}, but the config's aws_account_id is \
                 {want}: switch credentials (--profile) or fix aws_account_id"
            );
        }
    }
    if !watch::is_success(&stack.status) && stack.status != "UPDATE_ROLLBACK_COMPLETE" {
        bail!(
            "the {STACK_NAME} stack is {}: run `cdkrs bootstrap` again and check its events",
            stack.status
        );
    }
    if let Some(bucket) = stack.output(BUCKET_OUTPUT) {
        return Ok(bucket.to_owned());
    }
    // Outputs can be missing (moto drops them after change-set deploys): the bucket resource's
    // physical id is the same name.
    let resources = cfn.stack_resources(STACK_NAME).await?;
    resources
        .iter()
        .find(|r| r.logical_id == BUCKET_ID)
        .and_then(|r| r.physical_id.clone())
        .with_context(|| {
            format!(
                "the {STACK_NAME} stack has neither the {BUCKET_OUTPUT} output nor a {BUCKET_ID} \
                 resource: run `cdkrs bootstrap` again"
            )
        })
}

/// Where a deploy starts from: the change-set type and the deployed stack it updates (`None`
/// for every CREATE: a stack left in REVIEW_IN_PROGRESS carries the parameters of a change set
/// that never ran, and a CREATE change set must give every value).
#[derive(Clone, Debug)]
pub struct Start {
    /// CREATE or UPDATE.
    pub kind: ChangeSetKind,
    /// The stack an UPDATE changes.
    pub deployed: Option<StackInfo>,
}

/// The deployed template and parameters against the new ones.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Every template parameter with its value for the change set.
    pub parameters: Vec<ParameterValue>,
    /// The deployed template (`None` on create).
    pub old_template: Option<Value>,
    /// Parameter values after the deploy.
    pub new_values: BTreeMap<String, String>,
}

impl Comparison {
    /// Whether the deploy would change nothing (the no-op deploy makes no change set).
    pub fn unchanged(&self, plan: &StackDeployment, deployed: Option<&StackInfo>) -> bool {
        match (&self.old_template, deployed) {
            (Some(old), Some(d)) => *old == plan.template && d.parameters == self.new_values,
            _ => false,
        }
    }

    /// The template diff the review shows (security, replacements).
    pub fn diff(&self, plan: &StackDeployment, deployed: Option<&StackInfo>) -> TemplateDiff {
        diff_templates(self.old_template.as_ref(), &plan.template).with_parameter_values(
            &deployed.map(|d| d.parameters.clone()).unwrap_or_default(),
            &self.new_values,
        )
    }
}

impl<C: CloudFormation, S: ObjectStore> Engine<'_, C, S> {
    /// Deploys one stack: start, compare, publish, change set, review, execute.
    pub async fn deploy(
        &mut self,
        plan: &StackDeployment,
        opts: &DeployOptions,
    ) -> Result<DeployReport> {
        let name = plan.stack_name.as_str();
        let Start { kind, deployed } = self.start(plan, opts).await?;
        let bucket = if plan.assets.is_empty() && plan.template_body.len() <= INLINE_TEMPLATE_LIMIT
        {
            None
        } else {
            Some(assets_bucket(self.cfn, plan.expected_account.as_deref()).await?)
        };
        let comparison = self
            .compare(plan, kind, deployed.as_ref(), bucket.as_deref())
            .await?;
        let report = |outcome, change_set: Option<String>, status| DeployReport {
            stack: name.to_owned(),
            outcome,
            change_set,
            changes: Vec::new(),
            outputs: Vec::new(),
            status,
            change_set_id: None,
            fingerprint: None,
        };
        if comparison.unchanged(plan, deployed.as_ref()) {
            let d = deployed.as_ref().expect("an unchanged stack is deployed");
            return Ok(DeployReport {
                outputs: d.outputs.clone(),
                ..report(Outcome::NoChanges, None, Some(d.status.clone()))
            });
        }
        let diff = comparison.diff(plan, deployed.as_ref());
        let template = self.publish(plan, bucket.as_deref()).await?;
        let request = ChangeSetRequest::new(
            name,
            &opts.change_set_name,
            kind,
            template,
            comparison.parameters,
            format!("cdkrs {} deploy", env!("CARGO_PKG_VERSION")),
        );
        let Some(ReadyChangeSet {
            info: change_set,
            stack_id,
        }) = self.change_set(&request, opts.backoff).await?
        else {
            return Ok(DeployReport {
                outputs: deployed.map(|d| d.outputs).unwrap_or_default(),
                ..report(Outcome::NoChanges, None, None)
            });
        };
        self.ui
            .info(&render_change_set(name, &change_set, Some(&diff)));
        if !opts.execute {
            let fingerprint = self.review_fingerprint(&stack_id, &change_set).await?;
            return Ok(DeployReport {
                change_set_id: Some(change_set.id.clone()),
                fingerprint: Some(fingerprint.to_string()),
                changes: change_set.changes,
                ..report(
                    Outcome::ChangeSetCreated,
                    Some(opts.change_set_name.clone()),
                    None,
                )
            });
        }
        if !self.review(&diff, opts.approval)? {
            self.cfn
                .delete_change_set(name, &opts.change_set_name)
                .await?;
            return Ok(report(Outcome::Declined, None, None));
        }
        let target = Target {
            name,
            id: &stack_id,
        };
        let done = self
            .execute(target, kind, &opts.change_set_name, &change_set, opts)
            .await?;
        Ok(DeployReport {
            changes: change_set.changes,
            outputs: done.stack.map(|s| s.outputs).unwrap_or_default(),
            ..report(Outcome::Deployed, None, Some(done.status))
        })
    }

    /// Where the deploy starts: waits out a running operation, refuses a stuck stack, and
    /// deletes a ROLLBACK_COMPLETE one (it cannot be updated) to create it again.
    pub async fn start(&mut self, plan: &StackDeployment, opts: &DeployOptions) -> Result<Start> {
        let name = plan.stack_name.as_str();
        let described = self.cfn.describe_stack(name).await?;
        let deployed = watch::settle(self.cfn, self.ui, opts.backoff, described).await?;
        let state = classify(deployed.as_ref());
        if let Some(why) = deployed
            .as_ref()
            .and_then(|d| state.refusal(d, opts.rollback))
        {
            bail!(why);
        }
        let kind = match state {
            StackState::Missing | StackState::ReviewInProgress => ChangeSetKind::Create,
            // A paused stack (only with --no-rollback: refused above otherwise) is updated from
            // where the failure left it, as the CDK CLI does.
            StackState::Stable | StackState::Paused => ChangeSetKind::Update,
            StackState::Blocked(_) | StackState::UpdateRollbackFailed => {
                unreachable!("refused above")
            }
            StackState::Busy => unreachable!("settle waits out a busy stack"),
            StackState::RollbackComplete => {
                self.ui.info(&format!(
                    "{name} is ROLLBACK_COMPLETE: its creation failed and was rolled back, so \
                     it cannot be updated. Deleting it (retained resources stay) and creating \
                     it again"
                ));
                let stack = deployed.as_ref().expect("a rolled-back stack exists");
                let baseline = self.newest_event(&stack.id).await?;
                self.cfn.delete_stack(&stack.id).await?;
                watch::until_success(
                    self.cfn,
                    self.ui,
                    opts.backoff,
                    Target::of(stack),
                    baseline,
                    "deleting",
                    0,
                )
                .await?;
                ChangeSetKind::Create
            }
        };
        Ok(Start {
            kind,
            deployed: deployed.filter(|_| kind == ChangeSetKind::Update),
        })
    }

    /// The parameters for the change set and, for an update, the deployed template to compare
    /// with.
    pub async fn compare(
        &mut self,
        plan: &StackDeployment,
        kind: ChangeSetKind,
        deployed: Option<&StackInfo>,
        bucket: Option<&str>,
    ) -> Result<Comparison> {
        let parameters = resolve_parameters(plan, deployed, bucket);
        let old_template = match (kind, deployed) {
            (ChangeSetKind::Update, Some(d)) => {
                let text = self.cfn.get_template(&d.name).await?;
                Some(serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)))
            }
            _ => None,
        };
        let new_values: BTreeMap<String, String> = parameters
            .iter()
            .map(|p| {
                let v = p.value.clone().unwrap_or_else(|| {
                    deployed
                        .and_then(|d| d.parameters.get(&p.key).cloned())
                        .unwrap_or_default()
                });
                (p.key.clone(), v)
            })
            .collect();
        Ok(Comparison {
            parameters,
            old_template,
            new_values,
        })
    }

    /// Publishes the assets that are missing and, when it is too big to send inline, the
    /// template; answers where the change set reads the template from.
    pub async fn publish(
        &mut self,
        plan: &StackDeployment,
        bucket: Option<&str>,
    ) -> Result<TemplateSource> {
        let Some(bucket) = bucket else {
            return Ok(TemplateSource::Body(plan.template_body.clone()));
        };
        for asset in &plan.assets {
            if self.s3.object_exists(bucket, &asset.key).await? {
                self.ui.info(&format!(
                    "{}: s3://{bucket}/{} is already published",
                    asset.id, asset.key
                ));
            } else {
                self.ui.info(&format!(
                    "{}: publishing {} bytes to s3://{bucket}/{}",
                    asset.id,
                    asset.bytes.len(),
                    asset.key
                ));
                self.s3
                    .put_object(bucket, &asset.key, asset.bytes.clone())
                    .await?;
            }
        }
        if plan.template_body.len() <= INLINE_TEMPLATE_LIMIT {
            return Ok(TemplateSource::Body(plan.template_body.clone()));
        }
        let key = format!(
            "templates/{}-{}.json",
            plan.stack_name,
            sha256(&plan.template_body)
        );
        self.s3
            .put_object(bucket, &key, plan.template_body.clone().into_bytes())
            .await?;
        Ok(TemplateSource::Url(self.s3.object_url(bucket, &key)))
    }

    /// Asks before executing when the approval level says so; `false`: declined.
    pub fn review(&mut self, diff: &TemplateDiff, approval: Approval) -> Result<bool> {
        let ask = match approval {
            Approval::Never => false,
            Approval::Broadening => diff.broadens_security(),
            Approval::Any => true,
        };
        if !ask {
            return Ok(true);
        }
        let why = if approval == Approval::Broadening {
            "This change broadens security (see above). Deploy it?"
        } else {
            "Deploy these changes?"
        };
        self.ui.confirm(why, "--require-approval never")
    }

    /// Executes a ready change set and watches it to success (an error names the root cause).
    pub async fn execute(
        &mut self,
        target: Target<'_>,
        kind: ChangeSetKind,
        change_set_name: &str,
        change_set: &ChangeSetInfo,
        opts: &DeployOptions,
    ) -> Result<watch::Finished> {
        if !opts.rollback {
            // CloudFormation refuses to replace a resource while rollback is disabled and the
            // stack is left UPDATE_FAILED; the AWS CDK CLI refuses the combination up front
            // (`replacement-requires-rollback` in deploy-stack.ts, aws/aws-cdk-cli issue 1931).
            let replaced: Vec<String> = change_set
                .changes
                .iter()
                .filter(|c| c.replacement.as_deref() == Some("True"))
                .map(|c| format!("{} ({})", c.logical_id, c.resource_type))
                .collect();
            if !replaced.is_empty() {
                bail!(
                    "change set {change_set_name} of {} replaces {}, and CloudFormation cannot \
                     replace a resource with rollback disabled: deploy without --no-rollback \
                     (from a paused stack, run `cdkrs rollback` first)",
                    target.name,
                    replaced.join(", ")
                );
            }
        }
        let baseline = match kind {
            ChangeSetKind::Update | ChangeSetKind::Import => self.newest_event(target.id).await?,
            // A new stack's only events so far are its REVIEW_IN_PROGRESS ones.
            ChangeSetKind::Create => None,
        };
        self.cfn
            .execute_change_set(&ExecuteRequest {
                stack: target.id.to_owned(),
                change_set: change_set_name.to_owned(),
                disable_rollback: !opts.rollback,
                // A failed operation deletes what it created, retained or not: a failed first
                // deploy leaves no bucket or key behind to collide with the retry.
                retain_except_on_create: true,
                client_token: Some(client_token(&change_set.id, change_set_name)),
            })
            .await?;
        let label = if kind == ChangeSetKind::Create {
            "creating"
        } else {
            "updating"
        };
        watch::until_success(
            self.cfn,
            self.ui,
            opts.backoff,
            target,
            baseline,
            label,
            change_set.changes.len(),
        )
        .await
        .map_err(|e| {
            if opts.rollback {
                e
            } else {
                // Rollback was disabled: the stack is paused (CREATE_FAILED / UPDATE_FAILED).
                anyhow::anyhow!(
                    "{e:#}\nthe stack is paused with what was provisioned: fix the cause and run \
                     `cdkrs deploy --no-rollback` again, or return it to its last stable state \
                     with `cdkrs rollback`"
                )
            }
        })
    }

    /// The id of the stack's newest event (the point after which an operation's events start).
    pub async fn newest_event(&self, stack_id: &str) -> Result<Option<String>> {
        Ok(self
            .cfn
            .stack_events(stack_id, None)
            .await?
            .first()
            .map(|e| e.id.clone()))
    }

    /// Creates a change set and waits for it. `None`: it would change nothing (it is deleted).
    pub async fn change_set(
        &mut self,
        request: &ChangeSetRequest,
        backoff: Backoff,
    ) -> Result<Option<ReadyChangeSet>> {
        let (stack, cs) = (&request.stack_name, &request.change_set_name);
        let created = match self.cfn.create_change_set(request).await {
            Ok(created) => created,
            Err(e) if e.downcast_ref::<AlreadyExists>().is_some() => {
                // A change set of this name is left from an earlier run: replace it.
                self.ui
                    .info(&format!("replacing the earlier change set {cs} of {stack}"));
                self.cfn.delete_change_set(stack, cs).await?;
                self.cfn
                    .create_change_set(request)
                    .await
                    .with_context(|| format!("creating change set {cs} for {stack}"))?
            }
            Err(e) => return Err(e.context(format!("creating change set {cs} for {stack}"))),
        };
        let mut delay = backoff.initial;
        let mut info = self.cfn.describe_change_set(stack, cs).await?;
        while matches!(
            info.status.as_str(),
            "CREATE_PENDING" | "CREATE_IN_PROGRESS"
        ) {
            tokio::time::sleep(delay).await;
            delay = backoff.next(delay);
            info = self.cfn.describe_change_set(stack, cs).await?;
        }
        match info.status.as_str() {
            // An empty but complete change set still changes parameter values (moto also
            // reports condition toggles this way): it is executed.
            "CREATE_COMPLETE" => Ok(Some(ReadyChangeSet {
                info,
                stack_id: created.stack_id,
            })),
            _ => {
                let reason = info.status_reason.clone().unwrap_or_default();
                if errors::is_no_changes_reason(&reason) {
                    self.cfn.delete_change_set(stack, cs).await?;
                    return Ok(None);
                }
                bail!(
                    "change set {cs} for {stack} is {}: {}\n(it is kept for inspection: `aws \
                     cloudformation describe-change-set --stack-name {stack} --change-set-name \
                     {cs}`; the next deploy replaces it)",
                    info.status,
                    if reason.is_empty() {
                        "no reason given"
                    } else {
                        &reason
                    }
                )
            }
        }
    }
}

/// Every template parameter with its value for the change set: assets from the bucket and keys,
/// the rest as the plan says. Parameters the template declares but the plan does not fill keep
/// their deployed value (or the template default on create).
pub fn resolve_parameters(
    plan: &StackDeployment,
    deployed: Option<&StackInfo>,
    bucket: Option<&str>,
) -> Vec<ParameterValue> {
    let mut values: BTreeMap<String, Option<String>> = BTreeMap::new();
    let declared = plan
        .template
        .get("Parameters")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    let has_deployed = |key: &str| deployed.is_some_and(|d| d.parameters.contains_key(key));
    for key in &declared {
        if has_deployed(key) {
            values.insert(key.clone(), None);
        }
    }
    for (key, desired) in &plan.parameters {
        let v = match desired {
            Desired::Value(v) => Some(v.clone()),
            Desired::KeepDeployed(_) if has_deployed(key) => None,
            Desired::KeepDeployed(v) => Some(v.clone()),
        };
        values.insert(key.clone(), v);
    }
    if let Some(bucket) = bucket {
        for a in &plan.assets {
            values.insert(a.bucket_parameter.clone(), Some(bucket.to_owned()));
            values.insert(a.key_parameter.clone(), Some(a.key.clone()));
        }
    }
    values
        .into_iter()
        .map(|(key, value)| ParameterValue { key, value })
        .collect()
}

/// The `ClientRequestToken` of executing a change set: the same for every retry of that call
/// (the SDK resends the same input), different for every change set (its ARN is new each time).
pub fn client_token(change_set_id: &str, change_set_name: &str) -> String {
    let seed = if change_set_id.is_empty() {
        change_set_name
    } else {
        change_set_id
    };
    format!("cdkrs-exec-{}", &sha256(seed)[..32])
}

/// The SHA-256 of a text, in hex.
pub(crate) fn sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// The change set as a table (action, logical id, type, replacement) and the security section.
/// CloudFormation's replacement answer is shown when it gave one; else the offline prediction
/// from the create-only properties, marked as predicted.
pub fn render_change_set(stack: &str, cs: &ChangeSetInfo, diff: Option<&TemplateDiff>) -> String {
    let predicted: BTreeMap<&str, String> = diff
        .map(TemplateDiff::resource_changes)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c.logical_id.as_str(),
                replacement_word(c.replacement).to_owned(),
            )
        })
        .collect();
    let rows: Vec<[String; 4]> = cs
        .changes
        .iter()
        .map(|c| {
            let replacement = match (&c.replacement, predicted.get(c.logical_id.as_str())) {
                (Some(r), _) => r.clone(),
                (None, Some(p)) if c.action == "Modify" => format!("{p} (predicted)"),
                _ => String::new(),
            };
            [
                c.action.clone(),
                c.logical_id.clone(),
                c.resource_type.clone(),
                replacement,
            ]
        })
        .collect();
    let header = ["Action", "Logical ID", "Type", "Replacement"];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: [&str; 4]| {
        let mut s = String::from(" ");
        for (cell, w) in cells.iter().zip(widths) {
            s.push_str(&format!(" {cell:<w$} "));
        }
        s.trim_end().to_owned()
    };
    let mut out = format!("Change set for {stack}: {} changes\n", cs.changes.len());
    out.push_str(&line(header));
    out.push('\n');
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3]]));
        out.push('\n');
    }
    let security = diff
        .map(|d| d.render_security_text(false))
        .unwrap_or_default();
    if !security.is_empty() {
        out.push('\n');
        out.push_str(&security);
    }
    out
}

/// CloudFormation's words for a replacement.
fn replacement_word(r: Replacement) -> &'static str {
    match r {
        Replacement::Never => "False",
        Replacement::Conditional => "Conditional",
        Replacement::Always => "True",
    }
}

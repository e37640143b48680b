//! `deploy`: compare, publish, change set, review, execute, watch.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;

use super::adopt;
use super::api::{
    fresh_seed, request_token, stack_operation_token, AlreadyExists, ChangeSetInfo, ChangeSetKind,
    ChangeSetRequest, CloudFormation, DeleteStackRequest, ExecuteRequest, ObjectStore,
    ParameterValue, ResourceChangeInfo, StackInfo, StackOutput, TemplateSource,
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

/// When deploy asks before executing a change set (`--require-approval`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// Never ask.
    Never,
    /// Ask when the change broadens security: new or wider IAM statements, key or bucket
    /// policies, security-group rules.
    Broadening,
    /// Ask when the change destroys or orphans state: a removal or replacement of a stateful
    /// resource (bucket, key, log group, table, …, the Databricks workspace) or of a retained
    /// one.
    Destruction,
    /// Ask for broadening or destruction (the default).
    #[default]
    Risky,
    /// Ask for every change.
    Any,
}

impl Approval {
    /// The question to ask about `diff`, or `None` when this level lets it through.
    pub fn question(self, diff: &TemplateDiff) -> Option<String> {
        let broadens =
            matches!(self, Approval::Broadening | Approval::Risky) && diff.broadens_security();
        let destroys = matches!(self, Approval::Destruction | Approval::Risky) && diff.destroys();
        let what = match (broadens, destroys) {
            (true, true) => "This change broadens security and destroys or orphans state",
            (true, false) => "This change broadens security",
            (false, true) => "This change destroys or orphans state",
            (false, false) if self == Approval::Any => return Some("Deploy these changes?".into()),
            (false, false) => return None,
        };
        Some(format!("{what} (see above). Deploy it?"))
    }
}

/// How deploy fills a parameter, and the bootstrap stack an asset-publishing stack relies on:
/// declared by the stack ([`cdkrs_constructs::deployment`]), consumed here as they are.
pub use cdkrs_constructs::deployment::{BootstrapContract, ParameterFill};

/// A file published to the assets bucket under a content-hashed key (a declared
/// [`FileAsset`](cdkrs_constructs::deployment::FileAsset) with its bytes read).
#[derive(Clone, Debug)]
pub struct Asset {
    /// Its declared id (parameters filled from it name it; messages show it).
    pub id: String,
    /// The S3 key: content-hashed, so a changed file is a new key and an unchanged one is never
    /// uploaded twice.
    pub key: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// One stack to deploy: the synthesized template and its declared deployment (how to fill its
/// parameters, the assets with their bytes, the bootstrap stack).
#[derive(Clone, Debug)]
pub struct StackDeployment {
    /// Stack name.
    pub stack_name: String,
    /// The template as sent (compact JSON).
    pub template_body: String,
    /// The same template, parsed (for the comparison and the diff).
    pub template: Value,
    /// How deploy fills each parameter (the others keep their deployed value).
    pub parameters: BTreeMap<String, ParameterFill>,
    /// Files to publish first.
    pub assets: Vec<Asset>,
    /// The bootstrap stack whose bucket receives the assets and a template over the inline
    /// limit (`None`: the stack publishes nothing).
    pub bootstrap: Option<BootstrapContract>,
    /// The stack's tags (`Tags` of its change sets; CloudFormation propagates them to the
    /// resources that take tags).
    pub tags: BTreeMap<String, String>,
    /// Turn termination protection on once the stack is created (DeleteStack is then refused
    /// until `cdkrs destroy` turns it off after its confirmation).
    pub termination_protection: bool,
}

impl StackDeployment {
    /// A synthesized template with nothing to fill: no parameters, assets, tags or termination
    /// protection.
    pub fn new(stack_name: &str, template: &cdkrs_constructs::Template) -> StackDeployment {
        StackDeployment {
            stack_name: stack_name.to_owned(),
            template_body: template.to_json_compact().to_owned(),
            template: template.as_json().clone(),
            parameters: BTreeMap::new(),
            assets: Vec::new(),
            bootstrap: None,
            tags: BTreeMap::new(),
            termination_protection: false,
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
    /// `--role-arn`: the CloudFormation service role of the change sets and deletions.
    pub role_arn: Option<String>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            change_set_name: "cdkrs-deploy".into(),
            approval: Approval::default(),
            execute: true,
            backoff: Backoff::default(),
            rollback: true,
            role_arn: None,
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

impl DeployReport {
    /// How `stack`'s deploy ended, with nothing else to report yet.
    pub fn new(stack: &str, outcome: Outcome) -> DeployReport {
        DeployReport {
            stack: stack.to_owned(),
            outcome,
            change_set: None,
            changes: Vec::new(),
            outputs: Vec::new(),
            status: None,
            change_set_id: None,
            fingerprint: None,
        }
    }
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

/// Counts of the API calls a command made (README's benchmark; the no-op target is 4, the
/// identity check included).
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

/// The assets bucket as the plan's bootstrap stack names it (its output, else the bucket
/// resource's physical id).
pub async fn assets_bucket<C: CloudFormation>(cfn: &C, plan: &StackDeployment) -> Result<String> {
    let Some(BootstrapContract {
        stack_name: boot,
        bucket_output,
        bucket_id,
    }) = &plan.bootstrap
    else {
        bail!(
            "stack {} publishes assets or a template over {INLINE_TEMPLATE_LIMIT} bytes, but \
             its deployment declares no bootstrap stack to publish them to",
            plan.stack_name
        );
    };
    let Some(stack) = cfn.describe_stack(boot).await? else {
        bail!(
            "the {boot} stack does not exist in this account and region: run `cdkrs bootstrap` \
             first (it creates the bucket deploy publishes the assets to)"
        );
    };
    if !watch::is_success(&stack.status) && stack.status != "UPDATE_ROLLBACK_COMPLETE" {
        bail!(
            "the {boot} stack is {}: run `cdkrs bootstrap` again and check its events",
            stack.status
        );
    }
    if let Some(bucket) = stack.output(bucket_output) {
        return Ok(bucket.to_owned());
    }
    // Outputs can be missing (moto drops them after change-set deploys): the bucket resource's
    // physical id is the same name.
    let resources = cfn.stack_resources(boot).await?;
    resources
        .iter()
        .find(|r| &r.logical_id == bucket_id)
        .and_then(|r| r.physical_id.clone())
        .with_context(|| {
            format!(
                "the {boot} stack has neither the {bucket_output} output nor a {bucket_id} \
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
        let Start {
            mut kind,
            mut deployed,
        } = self.start(plan, opts).await?;
        if kind == ChangeSetKind::Create {
            let adoption = adopt::find(self.cfn, plan).await?;
            for note in &adoption.left_alone {
                self.ui.info(note);
            }
            if !adoption.adopted.is_empty() {
                if let Some(report) = self.import(plan, &adoption, opts).await? {
                    return Ok(report);
                }
                deployed = self.cfn.describe_stack(name).await?;
                kind = ChangeSetKind::Update;
            }
        }
        let bucket = if plan.assets.is_empty() && plan.template_body.len() <= INLINE_TEMPLATE_LIMIT
        {
            None
        } else {
            Some(assets_bucket(self.cfn, plan).await?)
        };
        let comparison = self
            .compare(plan, kind, deployed.as_ref(), bucket.as_deref())
            .await?;
        if comparison.unchanged(plan, deployed.as_ref()) {
            let d = deployed.as_ref().expect("an unchanged stack is deployed");
            return Ok(DeployReport {
                outputs: d.outputs.clone(),
                status: Some(d.status.clone()),
                ..DeployReport::new(name, Outcome::NoChanges)
            });
        }
        let diff = comparison.diff(plan, deployed.as_ref());
        let template = self.publish(plan, bucket.as_deref()).await?;
        let request = plan_request(
            plan,
            opts,
            ChangeSetRequest::new(
                name,
                &opts.change_set_name,
                kind,
                template,
                comparison.parameters,
                format!("cdkrs {} deploy", env!("CARGO_PKG_VERSION")),
            ),
        );
        let Some(ReadyChangeSet {
            info: change_set,
            stack_id,
        }) = self.change_set(&request, opts.backoff).await?
        else {
            return Ok(DeployReport {
                outputs: deployed.map(|d| d.outputs).unwrap_or_default(),
                ..DeployReport::new(name, Outcome::NoChanges)
            });
        };
        self.ui
            .info(&render_change_set(name, &change_set, Some(&diff)));
        if !opts.execute {
            let fingerprint = self.review_fingerprint(&stack_id, &change_set).await?;
            return Ok(DeployReport {
                change_set: Some(opts.change_set_name.clone()),
                change_set_id: Some(change_set.id.clone()),
                fingerprint: Some(fingerprint.to_string()),
                changes: change_set.changes,
                ..DeployReport::new(name, Outcome::ChangeSetCreated)
            });
        }
        if !self.review(&diff, opts.approval)? {
            self.cfn
                .delete_change_set(name, &opts.change_set_name)
                .await?;
            return Ok(DeployReport::new(name, Outcome::Declined));
        }
        let target = Target {
            name,
            id: &stack_id,
        };
        let done = self
            .execute(target, kind, &opts.change_set_name, &change_set, opts)
            .await?;
        if plan.termination_protection {
            self.protect(target, done.stack.as_ref()).await?;
        }
        Ok(DeployReport {
            changes: change_set.changes,
            outputs: done.stack.map(|s| s.outputs).unwrap_or_default(),
            status: Some(done.status),
            ..DeployReport::new(name, Outcome::Deployed)
        })
    }

    /// Turns termination protection on when the stack lacks it: declared protection converges
    /// after a create, an import, or a stack created by `cdkrs execute`.
    pub async fn protect(&mut self, target: Target<'_>, stack: Option<&StackInfo>) -> Result<()> {
        if stack.is_some_and(|s| s.termination_protection) {
            return Ok(());
        }
        let name = target.name;
        self.cfn
            .update_termination_protection(target.id, true)
            .await
            .with_context(|| {
                format!(
                    "{name} is deployed, but its termination protection is not on: turn it on \
                     with `aws cloudformation update-termination-protection \
                     --enable-termination-protection --stack-name {name}`"
                )
            })?;
        self.ui
            .info(&format!("{name}: termination protection is on"));
        Ok(())
    }

    /// Adopts what a deleted stack of this name retained ([`adopt`]) through an IMPORT change
    /// set, reviewed and executed like any other. `Some`: the deploy stops here (`--no-execute`,
    /// or declined); `None`: imported, the stack now exists.
    pub async fn import(
        &mut self,
        plan: &StackDeployment,
        adoption: &adopt::Adoption,
        opts: &DeployOptions,
    ) -> Result<Option<DeployReport>> {
        let name = plan.stack_name.as_str();
        let mut lines = format!(
            "{} resources that an earlier {name} retained are adopted by import first; then the \
             rest is created:",
            adoption.adopted.len()
        );
        for a in &adoption.adopted {
            lines.push_str(&format!(
                "\n  {:<28} {:<22} {}",
                a.logical_id, a.resource_type, a.physical_id
            ));
        }
        self.ui.info(&lines);
        let change_set_name = import_change_set_name(&opts.change_set_name);
        let body = adopt::import_template(&plan.template, adoption).to_string();
        // The same service role and stack tags as the change set that follows: the import
        // creates the stack, and a stack's tags are given when it is created.
        let request = plan_request(
            plan,
            opts,
            ChangeSetRequest {
                resources_to_import: adoption.resources_to_import(),
                ..ChangeSetRequest::new(
                    name,
                    &change_set_name,
                    ChangeSetKind::Import,
                    TemplateSource::Body(body),
                    Vec::new(),
                    format!(
                        "cdkrs {}: adopt retained resources",
                        env!("CARGO_PKG_VERSION")
                    ),
                )
            },
        );
        let Some(ready) = self
            .change_set(&request, opts.backoff)
            .await
            .with_context(|| {
                format!(
                    "importing the resources an earlier {name} retained (if one of them was \
                     deleted by hand since, CloudFormation's reason above names it)"
                )
            })?
        else {
            bail!("CloudFormation found nothing to import into {name}, yet {} resources were retained: check them in the console", adoption.adopted.len());
        };
        self.ui.info(&render_change_set(name, &ready.info, None));
        if !opts.execute {
            let fingerprint = self
                .review_fingerprint(&ready.stack_id, &ready.info)
                .await?;
            return Ok(Some(DeployReport {
                change_set: Some(change_set_name.clone()),
                change_set_id: Some(ready.info.id.clone()),
                fingerprint: Some(fingerprint.to_string()),
                changes: ready.info.changes.clone(),
                ..DeployReport::new(name, Outcome::ChangeSetCreated)
            }));
        }
        if opts.approval == Approval::Any
            && !self.ui.confirm(
                "Import these retained resources?",
                "--require-approval never",
            )?
        {
            self.cfn.delete_change_set(name, &change_set_name).await?;
            return Ok(Some(DeployReport {
                changes: ready.info.changes.clone(),
                ..DeployReport::new(name, Outcome::Declined)
            }));
        }
        let target = Target {
            name,
            id: &ready.stack_id,
        };
        self.execute(
            target,
            ChangeSetKind::Import,
            &change_set_name,
            &ready.info,
            opts,
        )
        .await?;
        Ok(None)
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
                self.cfn
                    .delete_stack(&delete_request(
                        &stack.id,
                        baseline.as_deref(),
                        opts.role_arn.as_deref(),
                    ))
                    .await?;
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
        let parameters = resolve_parameters(plan, deployed, bucket)?;
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
        match approval.question(diff) {
            Some(question) => self.ui.confirm(&question, "--require-approval never"),
            None => Ok(true),
        }
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
        let label = match kind {
            ChangeSetKind::Create => "creating",
            ChangeSetKind::Update => "updating",
            ChangeSetKind::Import => "importing",
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
    /// Each CreateChangeSet carries its own `ClientToken` (an SDK retry of it is the same
    /// request). A change set of the same name left from an earlier run is deleted, and the
    /// deletion awaited (CloudFormation deletes asynchronously), before it is created again.
    pub async fn change_set(
        &mut self,
        request: &ChangeSetRequest,
        backoff: Backoff,
    ) -> Result<Option<ReadyChangeSet>> {
        let (stack, cs) = (&request.stack_name, &request.change_set_name);
        let with_token = || ChangeSetRequest {
            client_token: Some(request_token(
                "changeset",
                &fresh_seed(&format!("{stack}/{cs}")),
            )),
            ..request.clone()
        };
        let created = match self.cfn.create_change_set(&with_token()).await {
            Ok(created) => created,
            Err(e) if e.downcast_ref::<AlreadyExists>().is_some() => {
                // A change set of this name is left from an earlier run: replace it.
                self.ui
                    .info(&format!("replacing the earlier change set {cs} of {stack}"));
                self.cfn.delete_change_set(stack, cs).await?;
                watch::change_set_deleted(self.cfn, backoff, stack, cs).await?;
                self.cfn
                    .create_change_set(&with_token())
                    .await
                    .with_context(|| format!("creating change set {cs} for {stack}"))?
            }
            Err(e) => return Err(e.context(format!("creating change set {cs} for {stack}"))),
        };
        let info = watch::change_set_created(self.cfn, backoff, stack, cs).await?;
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

/// Every template parameter with its value for the change set (`None`: UsePreviousValue), as
/// the plan's fills say: a value; the deployed value kept (the fill's on-create value when there
/// is none); an asset's bucket or key. Parameters the template declares but the plan does not
/// fill keep their deployed value (or the template default on create).
pub fn resolve_parameters(
    plan: &StackDeployment,
    deployed: Option<&StackInfo>,
    bucket: Option<&str>,
) -> Result<Vec<ParameterValue>> {
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
    let asset = |key: &str, id: &str| {
        plan.assets.iter().find(|a| a.id == id).with_context(|| {
            format!(
                "stack {}: parameter {key} is filled from asset {id}, which the deployment does \
                 not publish",
                plan.stack_name
            )
        })
    };
    for (key, fill) in &plan.parameters {
        let v = match fill {
            ParameterFill::Fixed(v) => Some(v.clone()),
            ParameterFill::KeepDeployed { .. } if has_deployed(key) => None,
            ParameterFill::KeepDeployed { on_create, .. } => Some(on_create.clone()),
            ParameterFill::AssetBucket(id) => {
                asset(key, id)?;
                Some(
                    bucket
                        .with_context(|| {
                            format!("parameter {key}: no assets bucket was looked up for {id}")
                        })?
                        .to_owned(),
                )
            }
            ParameterFill::AssetKey(id) => Some(asset(key, id)?.key.clone()),
        };
        values.insert(key.clone(), v);
    }
    Ok(values
        .into_iter()
        .map(|(key, value)| ParameterValue { key, value })
        .collect())
}

/// A change set of `plan` as deploy sends it: with the deploy's service role and the stack's
/// tags.
fn plan_request(
    plan: &StackDeployment,
    opts: &DeployOptions,
    request: ChangeSetRequest,
) -> ChangeSetRequest {
    ChangeSetRequest {
        role_arn: opts.role_arn.clone(),
        tags: plan.tags.clone(),
        ..request
    }
}

/// The import change set's name: the deploy's, marked (at most 128 characters).
pub fn import_change_set_name(change_set_name: &str) -> String {
    let mut name: String = change_set_name
        .chars()
        .take(128 - "-import".len())
        .collect();
    name.push_str("-import");
    name
}

/// The `ClientRequestToken` of executing a change set: the same for every retry of that call
/// (the SDK resends the same input), different for every change set (its ARN is new each time).
pub fn client_token(change_set_id: &str, change_set_name: &str) -> String {
    let seed = if change_set_id.is_empty() {
        change_set_name
    } else {
        change_set_id
    };
    request_token("exec", seed)
}

/// A `DeleteStack` request with its `ClientRequestToken` ([`stack_operation_token`]: a retried
/// call is the same request; a later deletion of the same stack, after a DELETE_FAILED, is
/// another).
pub fn delete_request(
    stack_id: &str,
    baseline: Option<&str>,
    role_arn: Option<&str>,
) -> DeleteStackRequest {
    DeleteStackRequest {
        stack: stack_id.to_owned(),
        role_arn: role_arn.map(str::to_owned),
        client_token: Some(stack_operation_token("delete", stack_id, baseline)),
        retain_resources: Vec::new(),
    }
}

// The workspace's one content hash (asset keys, template keys, request tokens).
pub(crate) use cdkrs_constructs::deployment::sha256_hex as sha256;

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
    let destructive: Vec<String> = diff
        .map(|d| {
            d.destructive_changes()
                .map(|c| {
                    format!(
                        "  {} ({}) {}",
                        c.logical_id,
                        c.resource_type,
                        c.destroys.as_deref().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if !destructive.is_empty() {
        out.push_str("\nDestroys or orphans state:\n");
        out.push_str(&destructive.join("\n"));
        out.push('\n');
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

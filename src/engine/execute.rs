//! `cdkrs execute`: runs exactly the change set a `deploy --no-execute` showed, or refuses.
//!
//! The reviewed change set is named by its name and a [`Fingerprint`] that proves two things at
//! execute time: the change set is the one reviewed (a later `--no-execute` creates a new one
//! under the same name, with a new ARN), and the stack has not changed since (any operation on
//! a stack adds events). Nothing is synthesized again and the change set is never replaced: the
//! AWS CDK CLI's two-step `cdk deploy --method=prepare-change-set` / `--method=execute-change-set`
//! (aws/aws-cdk-cli pull request 1271) likewise "bypasses synthesis" on the second step.

use std::fmt;

use anyhow::{bail, Context, Result};

use super::api::{ChangeSetInfo, ChangeSetKind, CloudFormation, ObjectStore, StackEvent};
use super::deploy::{sha256, DeployOptions, DeployReport, Engine, Outcome};
use super::watch::{classify, StackState, Target};

/// Hex digits of each half of a fingerprint.
const HALF: usize = 12;

/// What a review saw: `<change set>-<stack>`, each the first 12 hex digits of a SHA-256 over the
/// change set's ARN (new each time a change set is created, even under the same name) and over
/// the stack's ARN and its newest event id at review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// The change set half.
    pub change_set: String,
    /// The stack half.
    pub stack: String,
}

impl Fingerprint {
    /// The fingerprint of a change set over a stack whose newest event is `newest_event`.
    pub fn of(change_set_id: &str, stack_id: &str, newest_event: Option<&str>) -> Fingerprint {
        Fingerprint {
            change_set: Self::change_set_half(change_set_id),
            stack: Self::stack_half(stack_id, newest_event),
        }
    }

    fn change_set_half(change_set_id: &str) -> String {
        sha256(format!("change-set\n{change_set_id}"))[..HALF].to_owned()
    }

    fn stack_half(stack_id: &str, newest_event: Option<&str>) -> String {
        sha256(format!("stack\n{stack_id}\n{}", newest_event.unwrap_or("")))[..HALF].to_owned()
    }

    /// Reads a fingerprint as `deploy --no-execute` printed it.
    pub fn parse(text: &str) -> Result<Fingerprint, String> {
        let hex = |s: &str| s.len() == HALF && s.chars().all(|c| c.is_ascii_hexdigit());
        match text.trim().split_once('-') {
            Some((a, b)) if hex(a) && hex(b) => Ok(Fingerprint {
                change_set: a.to_ascii_lowercase(),
                stack: b.to_ascii_lowercase(),
            }),
            _ => Err(format!(
                "`{text}` is not a fingerprint: use the one `cdkrs deploy --no-execute` printed \
                 ({HALF} hex digits, a hyphen, {HALF} hex digits)"
            )),
        }
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.change_set, self.stack)
    }
}

/// The most events an error lists of what happened since a review.
const SHOWN_EVENTS: usize = 5;

fn describe_event(e: &StackEvent) -> String {
    format!(
        "{} ({}) {}{}",
        e.logical_id,
        e.resource_type,
        e.status,
        e.reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    )
}

impl<C: CloudFormation, S: ObjectStore> Engine<'_, C, S> {
    /// The fingerprint of a change set just created for review (one DescribeStackEvents call).
    pub async fn review_fingerprint(
        &self,
        stack_id: &str,
        change_set: &ChangeSetInfo,
    ) -> Result<Fingerprint> {
        let newest = self.newest_event(stack_id).await?;
        Ok(Fingerprint::of(&change_set.id, stack_id, newest.as_deref()))
    }

    /// Executes the change set `name` of `stack` that a review fingerprinted, after checking
    /// that it is the reviewed one and that the stack did not change since; then watches it to
    /// success like deploy ([`Engine::execute`]: same rollback switch, client token and watch).
    pub async fn execute_reviewed(
        &mut self,
        stack: &str,
        name: &str,
        reviewed: &Fingerprint,
        opts: &DeployOptions,
        termination_protection: bool,
    ) -> Result<DeployReport> {
        let again = "review it again with `cdkrs deploy --no-execute`, then execute the change \
                     set it prints with its fingerprint";
        let Some(info) = self.cfn.describe_stack(stack).await? else {
            bail!("stack {stack} does not exist (deleted since the review?): {again}");
        };
        let state = classify(Some(&info));
        match &state {
            StackState::Missing => {
                bail!("stack {stack} was deleted since the review: {again}")
            }
            StackState::Busy => bail!(
                "stack {stack} is {}: an operation is changing it, so it is no longer the stack \
                 that was reviewed; wait for it to finish, then {again}",
                info.status
            ),
            _ => {}
        }
        if let Some(why) = state.refusal(&info, opts.rollback) {
            bail!(why);
        }
        let change_set = self
            .cfn
            .describe_change_set(&info.id, name)
            .await
            .with_context(|| {
                format!(
                    "reading the reviewed change set {name} of {stack} (CloudFormation deletes a \
                     stack's change sets when one of them is executed; if it is gone, {again})"
                )
            })?;
        if Fingerprint::change_set_half(&change_set.id) != reviewed.change_set {
            bail!(
                "change set {name} of {stack} is not the one reviewed (fingerprint {reviewed}): \
                 it was created again since (its ARN is now {}), e.g. by a later `cdkrs deploy \
                 --no-execute`. Execute the new one with the fingerprint that run printed, or \
                 {again}",
                change_set.id
            );
        }
        if change_set.status != "CREATE_COMPLETE"
            || change_set.execution_status.as_deref() != Some("AVAILABLE")
        {
            bail!(
                "change set {name} of {stack} is {} with execution status {}: it can no longer \
                 be executed (CloudFormation marks a change set OBSOLETE when its stack changed \
                 after it was made); {again}",
                change_set.status,
                change_set.execution_status.as_deref().unwrap_or("(none)")
            );
        }
        let events = self.cfn.stack_events(&info.id, None).await?;
        let now = Fingerprint::stack_half(&info.id, events.first().map(|e| e.id.as_str()));
        if now != reviewed.stack {
            let since = events
                .iter()
                .position(|e| Fingerprint::stack_half(&info.id, Some(&e.id)) == reviewed.stack);
            let what = match since {
                Some(n) => {
                    let mut lines: Vec<String> = events[..n]
                        .iter()
                        .take(SHOWN_EVENTS)
                        .map(|e| format!("\n  {}", describe_event(e)))
                        .collect();
                    if n > SHOWN_EVENTS {
                        lines.push(format!("\n  … and {} earlier", n - SHOWN_EVENTS));
                    }
                    format!(
                        "{n} events since the review, newest first:{}",
                        lines.concat()
                    )
                }
                None => format!(
                    "it is now {} and its recent events do not reach the reviewed state (or \
                     the fingerprint is from another stack)",
                    info.status
                ),
            };
            bail!("stack {stack} changed since the review: {what}\n{again}");
        }
        let kind = if state == StackState::ReviewInProgress {
            ChangeSetKind::Create
        } else {
            ChangeSetKind::Update
        };
        let done = self
            .execute(Target::of(&info), kind, name, &change_set, opts)
            .await?;
        if termination_protection {
            self.protect(Target::of(&info), done.stack.as_ref()).await?;
        }
        Ok(DeployReport {
            change_set: Some(name.to_owned()),
            changes: change_set.changes,
            outputs: done.stack.map(|s| s.outputs).unwrap_or_default(),
            status: Some(done.status),
            change_set_id: Some(change_set.id),
            fingerprint: Some(reviewed.to_string()),
            ..DeployReport::new(stack, Outcome::Deployed)
        })
    }
}

//! Waiting for CloudFormation: stack states, event polling with backoff and progress, and the
//! root cause of a failure.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Result};

use super::api::{CloudFormation, StackEvent, StackInfo};
use super::ui::Ui;

/// How polling waits: from `initial`, doubling up to `max`; back to `initial` when something
/// happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s doubling to 10 s: a 20-minute stack costs about 150 polls, a no-op none.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The delay after `delay`.
    pub fn next(&self, delay: Duration) -> Duration {
        (delay * 2).min(self.max).max(self.initial)
    }
}

/// What the engine can do with a stack in a given state. Every status of CloudFormation's
/// `StackStatus` has one ([`classify`]; the list:
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html>, the
/// SDK's `aws_sdk_cloudformation::types::StackStatus::values()`; a unit test walks it):
///
/// | status | state | deploy | rollback | destroy | sleep/wake |
/// |---|---|---|---|---|---|
/// | (none), DELETE_COMPLETE | Missing | create | nothing to do | nothing to do | refuse: deploy first |
/// | REVIEW_IN_PROGRESS | ReviewInProgress | create | nothing to do | delete (no GetTemplate) | refuse: deploy first |
/// | ROLLBACK_COMPLETE | RollbackComplete | delete, then create | nothing to do | delete | refuse: deploy |
/// | CREATE/UPDATE/IMPORT_COMPLETE, UPDATE/IMPORT_ROLLBACK_COMPLETE | Stable | update | nothing to do | delete | update |
/// | CREATE_FAILED, UPDATE_FAILED | Paused | `--no-rollback`: update; else refuse | RollbackStack | delete | refuse |
/// | UPDATE_ROLLBACK_FAILED | UpdateRollbackFailed | refuse | ContinueUpdateRollback | delete | refuse |
/// | ROLLBACK_FAILED, DELETE_FAILED, IMPORT_ROLLBACK_FAILED, unknown | Blocked | refuse | refuse | delete | refuse |
/// | `*_IN_PROGRESS` | Busy | wait, then as above | wait | wait | wait |
///
/// `diff` compares with the deployed template except for Missing, ReviewInProgress and
/// RollbackComplete (deploy creates those from nothing); `status` prints the status, its reason
/// and, for the states that need one, the command to run next ([`StackState::next_step`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackState {
    /// No such stack (or only a deleted one).
    Missing,
    /// Created by a change set that was never executed: it has no resources; deploy creates.
    ReviewInProgress,
    /// A create failed and was rolled back: the stack cannot be updated, only deleted.
    RollbackComplete,
    /// An operation is running: wait for it.
    Busy,
    /// CREATE_FAILED / UPDATE_FAILED: an operation executed with rollback disabled
    /// (`--no-rollback`) failed and CloudFormation paused it, keeping what it had provisioned
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html>).
    /// Another `--no-rollback` deploy retries or updates from there; `RollbackStack` returns it to
    /// its last stable state. An update with rollback enabled is refused by CloudFormation.
    Paused,
    /// UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback. CloudFormation refuses
    /// updates ("is in UPDATE_ROLLBACK_FAILED state and can not be updated",
    /// org-formation/org-formation-cli issue 455) until `ContinueUpdateRollback` finishes it.
    UpdateRollbackFailed,
    /// Stuck: a human must act first; the text says how.
    Blocked(String),
    /// Deployed and settled: deploy updates.
    Stable,
}

impl StackState {
    /// Why deploy, execute, sleep and wake refuse a stack in this state, and what to run instead
    /// (`None`: they may go on, or the state has its own handling).
    pub fn refusal(&self, info: &StackInfo, rollback: bool) -> Option<String> {
        let (stack, status) = (&info.name, &info.status);
        match self {
            StackState::Paused if !rollback => None,
            StackState::Paused => Some(format!(
                "stack {stack} is {status}: an operation with rollback disabled (`--no-rollback`) \
                 failed and left it paused, its resources as the failure left them, and \
                 CloudFormation refuses an update with rollback enabled from there. Either retry with `cdkrs deploy --no-rollback` (once \
                 the cause is fixed), or return it to its last stable state with `cdkrs rollback` \
                 and deploy again"
            )),
            StackState::UpdateRollbackFailed => Some(format!(
                "stack {stack} is UPDATE_ROLLBACK_FAILED: an update failed and so did its \
                 rollback, and CloudFormation refuses updates until the rollback finishes. Fix the \
                 cause (see the stack's events), then run `cdkrs rollback` (add `--orphan \
                 LOGICAL_ID` for a resource that cannot roll back) and deploy again"
            )),
            StackState::Blocked(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// Whether deploy changes the deployed template (so `diff` compares with it) rather than
    /// creating the stack from nothing (missing, under review, or a rolled-back create that
    /// deploy deletes first).
    pub fn compares_with_deployed(&self) -> bool {
        !matches!(
            self,
            StackState::Missing | StackState::ReviewInProgress | StackState::RollbackComplete
        )
    }

    /// The command to run next, for `status` (`None`: none is needed).
    pub fn next_step(&self) -> Option<&'static str> {
        match self {
            StackState::Paused => Some("`cdkrs rollback`, or `cdkrs deploy --no-rollback`"),
            StackState::UpdateRollbackFailed => {
                Some("`cdkrs rollback` (with `--orphan LOGICAL_ID` for what cannot roll back)")
            }
            StackState::RollbackComplete => Some("`cdkrs deploy` (deletes and creates it again)"),
            StackState::Blocked(_) => Some("`cdkrs destroy`, then `cdkrs deploy`"),
            _ => None,
        }
    }
}

/// Classifies a stack status.
pub fn classify(stack: Option<&StackInfo>) -> StackState {
    let Some(stack) = stack else {
        return StackState::Missing;
    };
    let name = &stack.name;
    match stack.status.as_str() {
        "DELETE_COMPLETE" => StackState::Missing,
        "REVIEW_IN_PROGRESS" => StackState::ReviewInProgress,
        "ROLLBACK_COMPLETE" => StackState::RollbackComplete,
        // The last known stable states RollbackStack returns to (API_RollbackStack.html).
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "IMPORT_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => StackState::Stable,
        "CREATE_FAILED" | "UPDATE_FAILED" => StackState::Paused,
        "UPDATE_ROLLBACK_FAILED" => StackState::UpdateRollbackFailed,
        "ROLLBACK_FAILED" => StackState::Blocked(format!(
            "stack {name} is ROLLBACK_FAILED: its creation failed and the rollback could not \
             delete everything; no API resumes it. Run `cdkrs destroy` (retained resources stay), \
             then deploy again"
        )),
        "DELETE_FAILED" => StackState::Blocked(format!(
            "stack {name} is DELETE_FAILED: a destroy did not finish. Run `cdkrs destroy` again \
             (its output names the resource that blocks it), then deploy"
        )),
        // ContinueUpdateRollback takes only UPDATE_ROLLBACK_FAILED and RollbackStack only
        // CREATE_FAILED / UPDATE_FAILED (their API reference pages); the CDK CLI offers no
        // rollback for it either (`rollbackChoice` in aws-cdk's stack-status.ts).
        "IMPORT_ROLLBACK_FAILED" => StackState::Blocked(format!(
            "stack {name} is IMPORT_ROLLBACK_FAILED: an import failed and so did its rollback; \
             no API resumes it. Check the stack's events in the CloudFormation console, fix the \
             resources they name, then run `cdkrs destroy` (retained resources stay) and deploy \
             again"
        )),
        s if s.ends_with("_IN_PROGRESS") => StackState::Busy,
        // A status this version does not know: nothing is changed on a guess.
        other => StackState::Blocked(format!(
            "stack {name} is {other}, a status this version of cdkrs does not know: check the \
             stack in the CloudFormation console, or upgrade cdkrs"
        )),
    }
}

/// Whether a stack status ends an operation (anything not `…_IN_PROGRESS`).
pub fn is_terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

/// Whether a stack status means the operation succeeded.
pub fn is_success(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" | "DELETE_COMPLETE"
    )
}

/// A failed resource whose reason is only that CloudFormation cancelled it because another
/// resource failed.
fn is_cascade(e: &StackEvent) -> bool {
    e.reason.as_deref().is_some_and(|r| {
        let r = r.to_ascii_lowercase();
        r.contains("cancelled") || r.contains("canceled")
    })
}

/// The first failure of an operation: the earliest resource `…_FAILED` event that is not a
/// cancellation, else the earliest failure of any kind. `events` are in the order they happened.
pub fn root_cause(events: &[StackEvent]) -> Option<&StackEvent> {
    let failed = |e: &&StackEvent| e.status.ends_with("_FAILED");
    events
        .iter()
        .filter(failed)
        .find(|e| !e.is_stack() && !is_cascade(e))
        .or_else(|| events.iter().filter(failed).find(|e| !e.is_stack()))
        .or_else(|| events.iter().find(failed))
}

/// The end of an operation: the final status and every event it produced, oldest first.
#[derive(Debug)]
pub struct Finished {
    /// Final stack status (`DELETE_COMPLETE` when the stack is gone).
    pub status: String,
    /// The stack as last described (`None` when it is gone).
    pub stack: Option<StackInfo>,
    /// The operation's events, oldest first.
    pub events: Vec<StackEvent>,
}

impl Finished {
    /// The failure in words: the root-cause event, or the stack's own reason.
    pub fn failure(&self) -> String {
        let name = self
            .stack
            .as_ref()
            .map(|s| s.name.as_str())
            .unwrap_or("stack");
        let mut text = format!("{name} ended in {}", self.status);
        match root_cause(&self.events) {
            Some(e) => {
                text.push_str(&format!(
                    "\n  root cause: {} ({}) {}: {}",
                    e.logical_id,
                    e.resource_type,
                    e.status,
                    e.reason.as_deref().unwrap_or("no reason given")
                ));
                let cascade = self
                    .events
                    .iter()
                    .filter(|x| x.status.ends_with("_FAILED") && !x.is_stack() && x.id != e.id)
                    .count();
                if cascade > 0 {
                    text.push_str(&format!(
                        "\n  ({cascade} more failed or cancelled resources followed from it)"
                    ));
                }
            }
            None => {
                if let Some(r) = self.stack.as_ref().and_then(|s| s.status_reason.as_deref()) {
                    text.push_str(&format!("\n  reason: {r}"));
                }
            }
        }
        text
    }
}

/// A stack to follow: its name (its own events carry it as their logical id) and the ARN to ask
/// by (unambiguous when a name is reused, and still answering after a delete).
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// Stack name.
    pub name: &'a str,
    /// Stack ARN.
    pub id: &'a str,
}

impl<'a> Target<'a> {
    /// The target of a described stack.
    pub fn of(stack: &'a StackInfo) -> Target<'a> {
        Target {
            name: &stack.name,
            id: &stack.id,
        }
    }
}

/// Polls the stack's events after the event `baseline` until the stack reaches a terminal
/// status, reporting progress over `total` resources. A stack that disappears counts as
/// `DELETE_COMPLETE`.
pub async fn watch<C: CloudFormation>(
    cfn: &C,
    ui: &mut dyn Ui,
    backoff: Backoff,
    target: Target<'_>,
    baseline: Option<String>,
    label: &str,
    total: usize,
) -> Result<Finished> {
    let (stack, id) = (target.name, target.id);
    ui.progress_start(label, total);
    let mut seen = baseline;
    let mut events: Vec<StackEvent> = Vec::new();
    let mut latest: BTreeMap<String, String> = BTreeMap::new();
    let mut delay = backoff.initial;
    let mut quiet_polls = 0u32;
    let result = loop {
        tokio::time::sleep(delay).await;
        let mut fresh = cfn.stack_events(id, seen.as_deref()).await?;
        fresh.reverse(); // oldest first
        let mut terminal = None;
        for e in &fresh {
            if e.is_stack() {
                if e.logical_id == stack && is_terminal(&e.status) {
                    terminal = Some(e.status.clone());
                }
            } else {
                latest.insert(e.logical_id.clone(), e.status.clone());
            }
            let done = latest.values().filter(|s| is_terminal(s)).count();
            let in_progress: Vec<String> = latest
                .iter()
                .filter(|(_, s)| !is_terminal(s))
                .map(|(id, _)| id.clone())
                .collect();
            if e.status != "REVIEW_IN_PROGRESS" {
                ui.progress_event(e, done, &in_progress);
            }
        }
        if let Some(last) = fresh.last() {
            seen = Some(last.id.clone());
        }
        let had_news = !fresh.is_empty();
        events.extend(fresh);
        if let Some(status) = terminal {
            let info = cfn.describe_stack(id).await?;
            break Finished {
                status,
                stack: info,
                events,
            };
        }
        if had_news {
            delay = backoff.initial;
            quiet_polls = 0;
        } else {
            delay = backoff.next(delay);
            quiet_polls += 1;
            // Events can lag or be missing (emulators emit none for resources): every fourth
            // quiet poll asks the stack itself.
            if quiet_polls % 4 == 0 {
                let info = cfn.describe_stack(id).await?;
                match &info {
                    None => {
                        break Finished {
                            status: "DELETE_COMPLETE".into(),
                            stack: None,
                            events,
                        }
                    }
                    Some(s) if is_terminal(&s.status) => {
                        break Finished {
                            status: s.status.clone(),
                            stack: info.clone(),
                            events,
                        }
                    }
                    Some(_) => {}
                }
            }
        }
    };
    ui.progress_finish();
    Ok(result)
}

/// [`watch`], then an error naming the root cause unless the operation succeeded.
pub async fn until_success<C: CloudFormation>(
    cfn: &C,
    ui: &mut dyn Ui,
    backoff: Backoff,
    target: Target<'_>,
    baseline: Option<String>,
    label: &str,
    total: usize,
) -> Result<Finished> {
    let done = watch(cfn, ui, backoff, target, baseline, label, total).await?;
    if !is_success(&done.status) {
        bail!("{}", done.failure());
    }
    Ok(done)
}

/// The stack once no operation runs on it: as described when it is not busy, else as it is
/// after waiting (`None` when that operation deleted it). Never [`StackState::Busy`].
pub async fn settle<C: CloudFormation>(
    cfn: &C,
    ui: &mut dyn Ui,
    backoff: Backoff,
    described: Option<StackInfo>,
) -> Result<Option<StackInfo>> {
    let stack = match described {
        Some(s) if classify(Some(&s)) == StackState::Busy => s,
        other => return Ok(other),
    };
    ui.info(&format!(
        "{} is {}: waiting for that operation to finish before going on",
        stack.name, stack.status
    ));
    let mut delay = backoff.initial;
    for _ in 0..2000 {
        tokio::time::sleep(delay).await;
        let now = cfn.describe_stack(&stack.id).await?;
        if classify(now.as_ref()) == StackState::Busy {
            delay = backoff.next(delay);
        } else {
            return Ok(now);
        }
    }
    bail!(
        "{} stayed {} through 2000 polls: check it in the CloudFormation console",
        stack.name,
        stack.status
    )
}

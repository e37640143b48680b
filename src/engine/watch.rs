//! Waiting for CloudFormation: stack states, event polling with backoff and progress, and the
//! root cause of a failure.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Result};

use super::api::{ChangeSetInfo, ChangeSetNotFound, CloudFormation, StackEvent, StackInfo};
use super::ui::Ui;

/// How polling waits: from `initial`, doubling up to `max`; back to `initial` when something
/// happened; and for how long at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// The longest wait for a stack operation (create, update, delete, or one already running).
    pub operation_limit: Duration,
    /// The longest wait for a change set to be created or deleted.
    pub change_set_limit: Duration,
}

/// [`Backoff::operation_limit`] by default: two hours, beyond the 5–20 minutes a workspace takes
/// and the one hour CloudFormation gives a custom resource before it times out.
pub const OPERATION_LIMIT: Duration = Duration::from_secs(2 * 60 * 60);

/// [`Backoff::change_set_limit`] by default: ten minutes (a change set takes seconds).
pub const CHANGE_SET_LIMIT: Duration = Duration::from_secs(10 * 60);

impl Default for Backoff {
    /// 1 s doubling to 10 s: a 20-minute stack costs about 150 polls, a no-op none.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            operation_limit: OPERATION_LIMIT,
            change_set_limit: CHANGE_SET_LIMIT,
        }
    }
}

/// The end of a wait that ran out of time: the operation may still run, and how to look.
fn gave_up(what: &str, state: &str, limit: Duration, look: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{what} is still {state} after {} minutes: cdkrs stopped waiting, but the operation may \
         still be running in CloudFormation; follow it with `{look}` (or in the console), then \
         run the command again",
        limit.as_secs() / 60
    )
}

/// [`gave_up`] for a change set still `state` after [`Backoff::change_set_limit`].
fn change_set_gave_up(
    stack: &str,
    change_set: &str,
    state: &str,
    backoff: Backoff,
) -> anyhow::Error {
    gave_up(
        &format!("change set {change_set} of {stack}"),
        state,
        backoff.change_set_limit,
        &format!(
            "aws cloudformation describe-change-set --stack-name {stack} --change-set-name \
             {change_set}"
        ),
    )
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

/// The whole status reason CloudFormation gives a resource it cancelled because another
/// resource of the operation failed: exactly these texts, nothing after them (a reason that goes
/// on, such as "Resource creation cancelled: Resource creation timed out after 60 minutes", is a
/// cause of its own). The texts as CloudFormation writes them: panther-labs/panther's
/// `LogResourceFailures` skips exactly `"Resource update cancelled"` and `"Resource creation
/// cancelled"` when it reports a failed deploy, and AWS's own troubleshooting pages quote them.
const CASCADE_REASONS: &[&str] = &["Resource creation cancelled", "Resource update cancelled"];

/// A failed resource whose reason is only that CloudFormation cancelled it because another
/// resource failed.
fn is_cascade(e: &StackEvent) -> bool {
    e.reason
        .as_deref()
        .is_some_and(|r| CASCADE_REASONS.contains(&r.trim()))
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

/// A nested stack the watch follows: the parent's logical id of it, its ARN, the newest of its
/// events already seen, and the time from which its events belong to this operation.
struct Nested {
    logical_id: String,
    id: String,
    seen: Option<String>,
    since: f64,
    /// Its own terminal event came: no more polls for it.
    done: bool,
}

/// Polls the stack's events after the event `baseline` until the stack reaches a terminal
/// status, reporting progress over `total` resources. A stack that disappears counts as
/// `DELETE_COMPLETE`. Nested stacks (an `AWS::CloudFormation::Stack` resource: its physical id
/// is its ARN) are followed too, their events shown and kept as `NESTED/RESOURCE`, so that a
/// root cause inside one is named. Gives up after [`Backoff::operation_limit`].
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
    let started = tokio::time::Instant::now();
    let mut seen = baseline;
    let mut events: Vec<StackEvent> = Vec::new();
    let mut latest: BTreeMap<String, String> = BTreeMap::new();
    let mut nested: Vec<Nested> = Vec::new();
    let mut delay = backoff.initial;
    let mut quiet_polls = 0u32;
    let result = loop {
        tokio::time::sleep(delay).await;
        let mut fresh = cfn.stack_events(id, seen.as_deref()).await?;
        fresh.reverse(); // oldest first
        if let Some(last) = fresh.last() {
            seen = Some(last.id.clone());
        }
        let mut terminal = None;
        for e in &fresh {
            if e.is_stack() && (e.logical_id == stack || e.physical_id.as_deref() == Some(id)) {
                if is_terminal(&e.status) {
                    terminal = Some(e.status.clone());
                }
                continue;
            }
            follow_nested(&mut nested, e);
            latest.insert(e.logical_id.clone(), e.status.clone());
        }
        for n in nested.iter_mut().filter(|n| !n.done) {
            let mut news = cfn.stack_events(&n.id, n.seen.as_deref()).await?;
            news.reverse();
            if let Some(last) = news.last() {
                n.seen = Some(last.id.clone());
            }
            n.done = news.iter().any(|e| {
                e.is_stack() && e.physical_id.as_deref() == Some(&n.id) && is_terminal(&e.status)
            });
            for mut e in news.into_iter().filter(|e| e.timestamp >= n.since) {
                e.logical_id = format!("{}/{}", n.logical_id, e.logical_id);
                fresh.push(e);
            }
        }
        let inner: Vec<StackEvent> = fresh
            .iter()
            .filter(|e| e.logical_id.contains('/'))
            .cloned()
            .collect();
        for e in &inner {
            follow_nested(&mut nested, e);
        }
        for e in &fresh {
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
        if started.elapsed() >= backoff.operation_limit {
            ui.progress_finish();
            return Err(gave_up(
                &format!("stack {stack}"),
                label,
                backoff.operation_limit,
                &format!("aws cloudformation describe-stack-events --stack-name {id}"),
            ));
        }
    };
    ui.progress_finish();
    let mut result = result;
    // Nested stacks' events arrive a poll later than their parent's: in time order, the root
    // cause is the first failure wherever it happened.
    result
        .events
        .sort_by(|a, b| a.timestamp.total_cmp(&b.timestamp));
    Ok(result)
}

/// Starts following a nested stack when `e` is about one: a stack resource whose physical id
/// is the ARN of a stack not followed yet (a nested stack's own events carry its ARN: it is
/// followed already). The first event with the ARN marks where its events of this operation
/// begin.
fn follow_nested(nested: &mut Vec<Nested>, e: &StackEvent) {
    let Some(arn) = e.physical_id.as_deref() else {
        return;
    };
    if !e.is_stack() || !arn.starts_with("arn:") || nested.iter().any(|n| n.id == arn) {
        return;
    }
    nested.push(Nested {
        logical_id: e.logical_id.clone(),
        id: arn.to_owned(),
        seen: None,
        since: e.timestamp,
        done: false,
    });
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
        return Err(OperationFailed {
            stack: target.name.to_owned(),
            status: done.status.clone(),
            root_cause: root_cause(&done.events).cloned(),
            text: done.failure(),
        }
        .into());
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
    let started = tokio::time::Instant::now();
    let mut delay = backoff.initial;
    while started.elapsed() < backoff.operation_limit {
        tokio::time::sleep(delay).await;
        let now = cfn.describe_stack(&stack.id).await?;
        if classify(now.as_ref()) == StackState::Busy {
            delay = backoff.next(delay);
        } else {
            return Ok(now);
        }
    }
    Err(gave_up(
        &format!("stack {}", stack.name),
        &stack.status,
        backoff.operation_limit,
        &format!(
            "aws cloudformation describe-stack-events --stack-name {}",
            stack.id
        ),
    ))
}

/// Polls a change set just created until it leaves CREATE_PENDING / CREATE_IN_PROGRESS; gives
/// up after [`Backoff::change_set_limit`].
pub async fn change_set_created<C: CloudFormation>(
    cfn: &C,
    backoff: Backoff,
    stack: &str,
    change_set: &str,
) -> Result<ChangeSetInfo> {
    let started = tokio::time::Instant::now();
    let mut delay = backoff.initial;
    let mut info = cfn.describe_change_set(stack, change_set).await?;
    while matches!(
        info.status.as_str(),
        "CREATE_PENDING" | "CREATE_IN_PROGRESS"
    ) {
        if started.elapsed() >= backoff.change_set_limit {
            return Err(change_set_gave_up(stack, change_set, &info.status, backoff));
        }
        tokio::time::sleep(delay).await;
        delay = backoff.next(delay);
        info = cfn.describe_change_set(stack, change_set).await?;
    }
    Ok(info)
}

/// Waits until a deleted change set is gone: CloudFormation deletes change sets
/// asynchronously (DescribeChangeSet answers DELETE_PENDING, then DELETE_IN_PROGRESS, then
/// ChangeSetNotFound: the `ChangeSetStatus` values of the API reference,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html),
/// and a CreateChangeSet of the same name meanwhile answers AlreadyExists. Gives up after
/// [`Backoff::change_set_limit`]; DELETE_FAILED is an error.
pub async fn change_set_deleted<C: CloudFormation>(
    cfn: &C,
    backoff: Backoff,
    stack: &str,
    change_set: &str,
) -> Result<()> {
    let started = tokio::time::Instant::now();
    let mut delay = backoff.initial;
    loop {
        let status = match cfn.describe_change_set(stack, change_set).await {
            Err(e) if e.downcast_ref::<ChangeSetNotFound>().is_some() => return Ok(()),
            Err(e) => return Err(e),
            Ok(info) if info.status == "DELETE_COMPLETE" => return Ok(()),
            Ok(info) if info.status == "DELETE_FAILED" => bail!(
                "change set {change_set} of {stack} could not be deleted ({}): delete it in the \
                 console, or deploy with another --change-set-name",
                info.status_reason.as_deref().unwrap_or("no reason given")
            ),
            Ok(info) => info.status,
        };
        if started.elapsed() >= backoff.change_set_limit {
            return Err(change_set_gave_up(stack, change_set, &status, backoff));
        }
        tokio::time::sleep(delay).await;
        delay = backoff.next(delay);
    }
}

/// A stack operation that ended in a status other than success: the error [`until_success`]
/// returns, with what `--output json` reports of it.
#[derive(Clone, Debug, serde::Serialize, thiserror::Error)]
#[error("{text}")]
pub struct OperationFailed {
    /// Stack name.
    pub stack: String,
    /// The final status (`ROLLBACK_COMPLETE`, `UPDATE_ROLLBACK_COMPLETE`, `DELETE_FAILED`, …).
    pub status: String,
    /// The first failure that was not a cancellation ([`root_cause`]).
    pub root_cause: Option<StackEvent>,
    /// The failure in words ([`Finished::failure`]).
    #[serde(skip)]
    text: String,
}

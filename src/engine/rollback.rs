//! `cdkrs rollback`: returns a stack that a failure left paused (CREATE_FAILED / UPDATE_FAILED,
//! after `deploy --no-rollback`) or whose rollback failed (UPDATE_ROLLBACK_FAILED) to its last
//! stable state, as the AWS CDK CLI's `cdk rollback [--orphan ID] [--force]` does
//! (`Deployments.rollbackStack` in aws/aws-cdk `packages/aws-cdk/lib/api/deployments/deployments.ts`):
//! `RollbackStack` for a paused stack, `ContinueUpdateRollback` with `ResourcesToSkip` for a
//! failed rollback.

use std::fmt;

use anyhow::{bail, Result};
use serde::Serialize;

use super::api::{
    stack_operation_token, CloudFormation, ContinueRollbackRequest, ObjectStore, RollbackRequest,
};
use super::deploy::Engine;
use super::watch::{self, classify, Backoff, StackState, Target};

/// How `cdkrs rollback` runs.
#[derive(Clone, Debug, Default)]
pub struct RollbackOptions {
    /// `--orphan`: resources whose failed rollback is skipped (`ResourcesToSkip`; only for a
    /// stack in UPDATE_ROLLBACK_FAILED, only resources in UPDATE_FAILED).
    pub orphan: Vec<String>,
    /// `--force`: skip every resource whose rollback failed.
    pub force: bool,
    /// `RoleARN`: the service role CloudFormation acts as (`None`: the caller's credentials).
    pub role_arn: Option<String>,
    /// Polling.
    pub backoff: Backoff,
}

/// The result of `cdkrs rollback`.
#[derive(Clone, Debug, Serialize)]
pub struct RollbackReport {
    /// Stack name.
    pub stack: String,
    /// Whether a rollback ran (false: there was nothing to roll back).
    pub rolled_back: bool,
    /// `RollbackStack` or `ContinueUpdateRollback`, when one ran.
    pub operation: Option<String>,
    /// The resources skipped (orphaned): their real state may differ from the template.
    pub orphaned: Vec<String>,
    /// The stack's status afterwards (`None`: it does not exist).
    pub status: Option<String>,
}

impl fmt::Display for RollbackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status.as_deref().unwrap_or("not deployed");
        if !self.rolled_back {
            return writeln!(f, "{}: nothing to roll back ({status})", self.stack);
        }
        writeln!(f, "{}: rolled back ({status})", self.stack)?;
        if !self.orphaned.is_empty() {
            writeln!(
                f,
                "orphaned (skipped; their real state may differ from the template until the next \
                 deploy): {}",
                self.orphaned.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Whether a rollback reached a stable state: ROLLBACK_COMPLETE (a create rolled back) or
/// UPDATE_ROLLBACK_COMPLETE (`isRollbackSuccess` in aws-cdk's stack-status.ts); or the stack is
/// gone ("This operation will delete a stack if it doesn't contain a last known stable state",
/// API_RollbackStack.html).
pub fn is_rollback_success(status: &str) -> bool {
    matches!(
        status,
        "ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "DELETE_COMPLETE"
    )
}

impl<C: CloudFormation, S: ObjectStore> Engine<'_, C, S> {
    /// Rolls `stack` back to its last stable state, or says there is nothing to roll back.
    pub async fn rollback(
        &mut self,
        stack: &str,
        opts: &RollbackOptions,
    ) -> Result<RollbackReport> {
        if opts.force && !opts.orphan.is_empty() {
            bail!(
                "--force skips every resource whose rollback failed; name resources with \
                 --orphan or use --force, not both"
            );
        }
        let described = self.cfn.describe_stack(stack).await?;
        let settled = watch::settle(self.cfn, self.ui, opts.backoff, described).await?;
        let state = classify(settled.as_ref());
        let nothing = |status: Option<String>| RollbackReport {
            stack: stack.to_owned(),
            rolled_back: false,
            operation: None,
            orphaned: Vec::new(),
            status,
        };
        let info = match (state.clone(), settled) {
            (StackState::Paused | StackState::UpdateRollbackFailed, Some(info)) => info,
            (StackState::Blocked(why), _) => bail!("stack {stack} cannot be rolled back: {why}"),
            (_, info) => {
                if !opts.orphan.is_empty() {
                    bail!(
                        "--orphan skips resources of a failed rollback, but stack {stack} is {}: \
                         there is nothing to roll back",
                        info.as_ref().map_or("not deployed", |i| i.status.as_str())
                    );
                }
                let status = info.map(|i| i.status);
                self.ui.info(&format!(
                    "{stack} does not need a rollback: it is {}",
                    status.as_deref().unwrap_or("not deployed")
                ));
                return Ok(nothing(status));
            }
        };
        let baseline = self.newest_event(&info.id).await?;
        let (operation, orphaned) = if state == StackState::Paused {
            if !opts.orphan.is_empty() {
                bail!(
                    "--orphan skips resources of a failed rollback (UPDATE_ROLLBACK_FAILED), but \
                     stack {stack} is {}: its rollback has not started, and `cdkrs rollback` \
                     without --orphan rolls back every resource",
                    info.status
                );
            }
            self.ui.info(&format!(
                "{stack} is {}: rolling it back to its last stable state",
                info.status
            ));
            self.cfn
                .rollback_stack(&RollbackRequest {
                    stack: info.id.clone(),
                    role_arn: opts.role_arn.clone(),
                    client_token: Some(stack_operation_token(
                        "rollback",
                        &info.id,
                        baseline.as_deref(),
                    )),
                    // As `cdk rollback`: what the failed operation created is deleted, retained
                    // or not (a failed first deploy leaves nothing to collide with the retry).
                    retain_except_on_create: true,
                })
                .await?;
            ("RollbackStack", Vec::new())
        } else {
            let skip = self.resources_to_skip(&info.id, stack, opts).await?;
            self.ui.info(&format!(
                "{stack} is UPDATE_ROLLBACK_FAILED: continuing its rollback{}",
                if skip.is_empty() {
                    String::new()
                } else {
                    format!(" (orphaning: {})", skip.join(", "))
                }
            ));
            self.cfn
                .continue_update_rollback(&ContinueRollbackRequest {
                    stack: info.id.clone(),
                    role_arn: opts.role_arn.clone(),
                    resources_to_skip: skip.clone(),
                    client_token: Some(stack_operation_token(
                        "continue",
                        &info.id,
                        baseline.as_deref(),
                    )),
                })
                .await?;
            ("ContinueUpdateRollback", skip)
        };
        let done = watch::watch(
            self.cfn,
            self.ui,
            opts.backoff,
            Target::of(&info),
            baseline,
            "rolling back",
            0,
        )
        .await?;
        if !is_rollback_success(&done.status) {
            let mut text = done.failure();
            if done.status == "UPDATE_ROLLBACK_FAILED" {
                let failed = self.failed_resources(&info.id).await?;
                text.push_str(&format!(
                    "\nfix the cause and run `cdkrs rollback` again, or skip what cannot roll \
                     back with `--orphan LOGICAL_ID` (failed now: {})",
                    if failed.is_empty() {
                        "none listed".to_owned()
                    } else {
                        failed.join(", ")
                    }
                ));
            }
            bail!("{text}");
        }
        Ok(RollbackReport {
            stack: stack.to_owned(),
            rolled_back: true,
            operation: Some(operation.to_owned()),
            orphaned,
            status: done.stack.map(|s| s.status).or(Some(done.status)),
        })
    }

    /// The logical ids of the resources whose rollback failed (UPDATE_FAILED).
    async fn failed_resources(&self, stack_id: &str) -> Result<Vec<String>> {
        Ok(self
            .cfn
            .stack_resources(stack_id)
            .await?
            .into_iter()
            .filter(|r| r.status == "UPDATE_FAILED")
            .map(|r| r.logical_id)
            .collect())
    }

    /// `ResourcesToSkip`: the `--orphan` ids, each checked to be a resource whose rollback failed
    /// ("You can specify only resources that are in the UPDATE_FAILED state because a rollback
    /// failed", API_ContinueUpdateRollback.html), or with `--force` every such resource.
    async fn resources_to_skip(
        &self,
        stack_id: &str,
        stack: &str,
        opts: &RollbackOptions,
    ) -> Result<Vec<String>> {
        if opts.orphan.is_empty() && !opts.force {
            return Ok(Vec::new());
        }
        let resources = self.cfn.stack_resources(stack_id).await?;
        let failed: Vec<String> = resources
            .iter()
            .filter(|r| r.status == "UPDATE_FAILED")
            .map(|r| r.logical_id.clone())
            .collect();
        if opts.force {
            return Ok(failed);
        }
        let listed = if failed.is_empty() {
            "none".to_owned()
        } else {
            failed.join(", ")
        };
        for id in &opts.orphan {
            match resources.iter().find(|r| &r.logical_id == id) {
                None => bail!(
                    "--orphan {id}: stack {stack} has no resource {id} (resources whose rollback \
                     failed: {listed})"
                ),
                Some(r) if r.status != "UPDATE_FAILED" => bail!(
                    "--orphan {id}: {id} is {}, not UPDATE_FAILED; only a resource whose rollback \
                     failed can be skipped (failed: {listed})",
                    r.status
                ),
                Some(_) => {}
            }
        }
        let mut skip: Vec<String> = Vec::new();
        for id in &opts.orphan {
            if !skip.contains(id) {
                skip.push(id.clone());
            }
        }
        Ok(skip)
    }
}

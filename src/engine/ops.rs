//! `sleep` / `wake` (parameter-only updates with the previous template), `destroy` and
//! `status`.

use std::fmt;

use anyhow::{bail, Result};
use serde::Serialize;
use serde_json::Value;

use super::api::{
    ChangeSetKind, ChangeSetRequest, CloudFormation, DeleteStackRequest, ExecuteRequest,
    ObjectStore, ParameterValue, StackInfo, StackResource, TemplateSource,
};
use super::deploy::{client_token, delete_request, render_change_set, Engine, ReadyChangeSet};
use super::watch::{self, classify, Backoff, StackState, Target};

/// The result of `sleep` / `wake`.
#[derive(Clone, Debug, Serialize)]
pub struct ParameterReport {
    /// Stack name.
    pub stack: String,
    /// The parameter.
    pub parameter: String,
    /// Its value now.
    pub value: String,
    /// Whether an update ran (false: it already had that value).
    pub changed: bool,
    /// Final stack status.
    pub status: String,
}

impl fmt::Display for ParameterReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changed {
            writeln!(
                f,
                "{}: {} = {} ({})",
                self.stack, self.parameter, self.value, self.status
            )
        } else {
            writeln!(
                f,
                "{}: {} is already {}; nothing to do",
                self.stack, self.parameter, self.value
            )
        }
    }
}

/// A resource that outlives the stack (its DeletionPolicy keeps it).
#[derive(Clone, Debug, Serialize)]
pub struct Retained {
    /// Logical id.
    pub logical_id: String,
    /// Type.
    pub resource_type: String,
    /// Physical id (bucket name, key id, …) when known.
    pub physical_id: Option<String>,
    /// `Retain`, `RetainExceptOnCreate` or `Snapshot`.
    pub policy: String,
}

/// The result of `destroy`.
#[derive(Clone, Debug, Serialize)]
pub struct DestroyReport {
    /// Stack name.
    pub stack: String,
    /// `false`: the stack did not exist, or the user declined.
    pub deleted: bool,
    /// What stays in the account.
    pub retained: Vec<Retained>,
}

impl fmt::Display for DestroyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.deleted {
            return writeln!(f, "{}: not deleted", self.stack);
        }
        writeln!(f, "{}: deleted", self.stack)?;
        if !self.retained.is_empty() {
            writeln!(f, "{}", retained_text(&self.retained))?;
        }
        Ok(())
    }
}

/// The retained resources as lines.
pub fn retained_text(retained: &[Retained]) -> String {
    let mut out = format!(
        "Retained by their deletion policy ({}), still in the account afterwards:",
        retained.len()
    );
    for r in retained {
        out.push_str(&format!(
            "\n  {:<28} {:<28} {}",
            r.logical_id,
            r.resource_type,
            r.physical_id.as_deref().unwrap_or("(no physical id)")
        ));
    }
    out
}

/// The resources of a template that its DeletionPolicy keeps.
pub fn retained_in(template: &Value) -> Vec<(String, String, String)> {
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Vec::new();
    };
    resources
        .iter()
        .filter_map(|(id, r)| {
            let policy = r.get("DeletionPolicy")?.as_str()?;
            matches!(policy, "Retain" | "RetainExceptOnCreate" | "Snapshot").then(|| {
                (
                    id.clone(),
                    r.get("Type")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned(),
                    policy.to_owned(),
                )
            })
        })
        .collect()
}

impl<C: CloudFormation, S: ObjectStore> Engine<'_, C, S> {
    /// Sets one parameter with the previous template and every other parameter unchanged.
    pub async fn set_parameter(
        &mut self,
        stack: &str,
        key: &str,
        value: &str,
        change_set_name: &str,
        backoff: Backoff,
        role_arn: Option<&str>,
    ) -> Result<ParameterReport> {
        let deployed = self.settled(stack, backoff).await?;
        let Some(current) = deployed.parameters.get(key) else {
            bail!(
                "stack {stack} has no parameter {key}: deploy it with this version of cdkrs first"
            );
        };
        if current == value {
            return Ok(ParameterReport {
                stack: stack.to_owned(),
                parameter: key.to_owned(),
                value: value.to_owned(),
                changed: false,
                status: deployed.status,
            });
        }
        let parameters = deployed
            .parameters
            .keys()
            .map(|k| ParameterValue {
                key: k.clone(),
                value: (k == key).then(|| value.to_owned()),
            })
            .collect();
        let mut request = ChangeSetRequest::new(
            stack,
            change_set_name,
            ChangeSetKind::Update,
            TemplateSource::Previous,
            parameters,
            format!("cdkrs: {key}={value}"),
        );
        // No tags: an update without them keeps the stack's tags.
        request.role_arn = role_arn.map(str::to_owned);
        let Some(ReadyChangeSet { info: cs, stack_id }) =
            self.change_set(&request, backoff).await?
        else {
            bail!(
                "CloudFormation found nothing to change in {stack}, yet {key} is `{current}`, not \
                 `{value}`: check the stack in the console (its last operation may not have \
                 finished recording)"
            );
        };
        self.ui.info(&render_change_set(stack, &cs, None));
        let baseline = self.newest_event(&stack_id).await?;
        self.cfn
            .execute_change_set(&ExecuteRequest {
                stack: stack_id.clone(),
                change_set: change_set_name.to_owned(),
                disable_rollback: false,
                retain_except_on_create: true,
                client_token: Some(client_token(&cs.id, change_set_name)),
            })
            .await?;
        let done = watch::until_success(
            self.cfn,
            self.ui,
            backoff,
            Target {
                name: stack,
                id: &stack_id,
            },
            baseline,
            "updating",
            cs.changes.len(),
        )
        .await?;
        Ok(ParameterReport {
            stack: stack.to_owned(),
            parameter: key.to_owned(),
            value: value.to_owned(),
            changed: true,
            status: done.status,
        })
    }

    /// Deletes a stack after listing what it retains; asks first unless `assume_yes`. Its
    /// termination protection is turned off only after that confirmation.
    pub async fn destroy(
        &mut self,
        stack: &str,
        assume_yes: bool,
        backoff: Backoff,
        role_arn: Option<&str>,
    ) -> Result<DestroyReport> {
        let described = self.cfn.describe_stack(stack).await?;
        let deployed = watch::settle(self.cfn, self.ui, backoff, described).await?;
        let Some(deployed) = deployed.filter(|d| classify(Some(d)) != StackState::Missing) else {
            self.ui
                .info(&format!("{stack} does not exist: nothing to destroy"));
            return Ok(DestroyReport {
                stack: stack.to_owned(),
                deleted: false,
                retained: Vec::new(),
            });
        };
        // A stack under review (a first deploy declined, or its change set failed) has no
        // template and no resources: CloudFormation refuses GetTemplate for it, and there is
        // nothing to list; deleting it removes the stack and its change sets.
        let template: Value = if classify(Some(&deployed)) == StackState::ReviewInProgress {
            Value::Null
        } else {
            let text = self.cfn.get_template(&deployed.id).await?;
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        let kept = retained_in(&template);
        let failed_before = deployed.status == "DELETE_FAILED";
        let physical = if kept.is_empty() && !failed_before {
            Vec::new()
        } else {
            self.cfn.stack_resources(&deployed.id).await?
        };
        // A destroy that failed (DELETE_FAILED: a bucket that is not empty, say) would fail the
        // same way again: what the last delete could not remove is kept this time
        // (RetainResources), so the stack goes and the next deploy can adopt what its template
        // retains. Nothing is deleted that the last attempt did not already try to delete.
        let stuck: Vec<&StackResource> = physical
            .iter()
            .filter(|r| failed_before && r.status == "DELETE_FAILED")
            .collect();
        let mut retained: Vec<Retained> = kept
            .into_iter()
            .map(|(logical_id, resource_type, policy)| Retained {
                physical_id: physical
                    .iter()
                    .find(|r| r.logical_id == logical_id)
                    .and_then(|r| r.physical_id.clone()),
                logical_id,
                resource_type,
                policy,
            })
            .collect();
        for r in &stuck {
            if !retained.iter().any(|k| k.logical_id == r.logical_id) {
                retained.push(Retained {
                    logical_id: r.logical_id.clone(),
                    resource_type: r.resource_type.clone(),
                    physical_id: r.physical_id.clone(),
                    policy: "RetainResources".into(),
                });
            }
        }
        if !stuck.is_empty() {
            self.ui.info(&format!(
                "{stack} is DELETE_FAILED: the last delete could not remove {}; they are kept \
                 now (RetainResources) so the stack can go (empty or delete them yourself \
                 afterwards if they should not stay)",
                stuck
                    .iter()
                    .map(|r| r.logical_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !retained.is_empty() {
            self.ui.info(&retained_text(&retained));
        }
        if !assume_yes
            && !self.ui.confirm(
                &format!("Delete stack {stack} and every resource it does not retain?"),
                "--yes",
            )?
        {
            return Ok(DestroyReport {
                stack: stack.to_owned(),
                deleted: false,
                retained,
            });
        }
        if deployed.termination_protection {
            self.cfn
                .update_termination_protection(&deployed.id, false)
                .await?;
            self.ui
                .info(&format!("{stack}: termination protection turned off"));
        }
        let baseline = self.newest_event(&deployed.id).await?;
        self.cfn
            .delete_stack(&DeleteStackRequest {
                retain_resources: stuck.iter().map(|r| r.logical_id.clone()).collect(),
                ..delete_request(&deployed.id, baseline.as_deref(), role_arn)
            })
            .await?;
        watch::until_success(
            self.cfn,
            self.ui,
            backoff,
            Target::of(&deployed),
            baseline,
            "deleting",
            template
                .get("Resources")
                .and_then(Value::as_object)
                .map_or(0, |r| r.len()),
        )
        .await
        .map_err(|e| {
            let failed = e
                .downcast_ref::<watch::OperationFailed>()
                .is_some_and(|f| f.status == "DELETE_FAILED");
            if failed {
                e.context(format!(
                    "{stack} is DELETE_FAILED: run `cdkrs destroy` again to keep what could not \
                     be deleted (RetainResources) and delete the rest"
                ))
            } else {
                e
            }
        })?;
        Ok(DestroyReport {
            stack: stack.to_owned(),
            deleted: true,
            retained,
        })
    }

    /// The stack, settled: waits out a running operation; an error when it is missing or stuck.
    async fn settled(&mut self, stack: &str, backoff: Backoff) -> Result<StackInfo> {
        let described = self.cfn.describe_stack(stack).await?;
        let deployed = watch::settle(self.cfn, self.ui, backoff, described).await?;
        let state = classify(deployed.as_ref());
        // A parameter update runs with rollback enabled: a paused stack refuses it.
        if let Some(why) = deployed.as_ref().and_then(|d| state.refusal(d, true)) {
            bail!(why);
        }
        match state {
            StackState::Missing | StackState::ReviewInProgress => {
                bail!("stack {stack} is not deployed: run `cdkrs deploy` first")
            }
            StackState::Stable => Ok(deployed.expect("a stable stack exists")),
            StackState::Blocked(_) | StackState::Paused | StackState::UpdateRollbackFailed => {
                unreachable!("refused above")
            }
            StackState::RollbackComplete => bail!(
                "stack {stack} is ROLLBACK_COMPLETE (its creation failed): run `cdkrs deploy` \
                 to delete and create it again"
            ),
            StackState::Busy => unreachable!("settle waits out a busy stack"),
        }
    }
}

/// One stack in `cdkrs status`.
#[derive(Clone, Debug, Serialize)]
pub struct StackStatus {
    /// Stack name.
    pub stack: String,
    /// The stack, or `None` when it is not deployed.
    pub deployed: Option<StackInfo>,
}

impl fmt::Display for StackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(s) = &self.deployed else {
            return writeln!(f, "{}: not deployed", self.stack);
        };
        writeln!(f, "{}: {}", self.stack, s.status)?;
        writeln!(
            f,
            "  termination protection: {}",
            if s.termination_protection {
                "on"
            } else {
                "off"
            }
        )?;
        if let Some(r) = s.status_reason.as_deref().filter(|r| !r.is_empty()) {
            writeln!(f, "  reason: {r}")?;
        }
        if let Some(next) = classify(Some(s)).next_step() {
            writeln!(f, "  next: {next}")?;
        }
        if !s.parameters.is_empty() {
            writeln!(f, "  parameters:")?;
            for (k, v) in &s.parameters {
                writeln!(f, "    {k} = {v}")?;
            }
        }
        if !s.outputs.is_empty() {
            writeln!(f, "  outputs:")?;
            for o in &s.outputs {
                writeln!(f, "    {} = {}", o.key, o.value)?;
            }
        }
        Ok(())
    }
}

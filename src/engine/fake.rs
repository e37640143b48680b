//! A scripted CloudFormation and S3 for the engine's tests: stacks, change sets and events held
//! in memory, with the answers moto cannot give (per-resource events, failures and rollbacks,
//! stacks busy with another operation, change sets that take time or fail).

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

use anyhow::{anyhow, bail, Result};

use super::api::*;

/// A stack in the fake.
#[derive(Clone, Debug, Default)]
pub struct FakeStack {
    pub info: StackInfo,
    pub template: String,
    /// Newest first, as DescribeStackEvents lists them.
    pub events: Vec<StackEvent>,
    /// Describe calls before a busy stack settles into `settles_to`.
    pub busy_for: usize,
    pub settles_to: Option<String>,
    /// Physical ids adopted by import (logical id → id), instead of made-up ones.
    pub imported: BTreeMap<String, String>,
    /// Resources a rollback kept (DELETE_SKIPPED), recorded when the stack is deleted.
    pub skipped: Vec<StackResource>,
    /// `RetainResources` of the delete under way: kept (DELETE_SKIPPED) instead of deleted.
    pub retain_on_delete: Vec<String>,
    /// The template and parameters of its last stable state (what a rollback returns to).
    pub stable: Option<(String, BTreeMap<String, String>)>,
    /// Resource statuses as the events left them (ListStackResources; default CREATE_COMPLETE).
    pub resource_status: BTreeMap<String, String>,
}

/// What executing the next change set does.
#[derive(Clone, Debug)]
pub struct Execution {
    /// `(logical id, type, status, reason)`, in order; released a few per poll.
    pub events: Vec<(String, String, String, Option<String>)>,
    /// The stack's final status.
    pub final_status: String,
}

#[derive(Debug, Default)]
pub struct FakeCloud {
    pub stacks: RefCell<BTreeMap<String, FakeStack>>,
    pub objects: RefCell<BTreeMap<(String, String), Vec<u8>>>,
    pub change_sets: RefCell<BTreeMap<(String, String), (ChangeSetRequest, ChangeSetInfo)>>,
    /// Every CreateChangeSet request, as sent.
    pub requests: RefCell<Vec<ChangeSetRequest>>,
    /// Every call, as "Operation target".
    pub calls: RefCell<Vec<String>>,
    /// Answers DescribeChangeSet gives before the computed one (pending states, failures).
    pub change_set_script: RefCell<VecDeque<ChangeSetInfo>>,
    /// Every ExecuteChangeSet request, as sent.
    pub executions: RefCell<Vec<ExecuteRequest>>,
    /// The next execution's script; default: every change completes.
    pub execution: RefCell<Option<Execution>>,
    /// Events not yet visible: released `events_per_poll` at a time.
    pending: RefCell<VecDeque<(String, StackEvent)>>,
    pub events_per_poll: usize,
    /// DescribeStackEvents polls that see nothing new before events are released (backoff).
    pub hold_polls: std::cell::Cell<usize>,
    /// The (virtual) time of every DescribeStackEvents call.
    pub event_poll_times: RefCell<Vec<tokio::time::Instant>>,
    next_id: RefCell<u64>,
    /// Deleted stacks CloudFormation still lists, oldest first, with their resources as
    /// `ListStackResources` answers them by ARN (retained ones DELETE_SKIPPED).
    pub deleted: RefCell<Vec<(DeletedStack, Vec<StackResource>)>>,
    /// Named physical resources that exist (bucket names, key ids, …) → the ARN of the stack
    /// that holds them (`None`: retained by a deleted stack, or made outside CloudFormation).
    pub world: RefCell<BTreeMap<String, Option<String>>>,
    /// The next CREATE fails in this resource with this reason (a Databricks custom resource,
    /// say), and rolls back.
    pub fail_create: RefCell<Option<(String, String)>>,
    /// How many stacks were created (their ARNs are unique).
    created: std::cell::Cell<u64>,
    /// The account GetCallerIdentity answers (`None`: 123456789012, the fake's stacks' account).
    pub caller_account: RefCell<Option<String>>,
    /// Every DeleteStack request, as sent.
    pub deletions: RefCell<Vec<DeleteStackRequest>>,
    /// Change sets being deleted, with the DescribeChangeSet answers (DELETE_IN_PROGRESS) left
    /// before they are gone.
    pub deleting_change_sets: RefCell<BTreeMap<(String, String), usize>>,
    /// Nested stacks made by executions: `(name, ARN)`; created in `stacks` when their first
    /// event is released.
    pub nested_stacks: RefCell<Vec<(String, String)>>,
    /// What a nested stack does when the execution reaches the `AWS::CloudFormation::Stack`
    /// resource of this logical id: its own events, released after the parent's first event of
    /// it (which then carries the nested stack's ARN as physical id).
    pub nested_script: RefCell<BTreeMap<String, Execution>>,
    /// Every RollbackStack request, as sent.
    pub rollbacks: RefCell<Vec<RollbackRequest>>,
    /// Every ContinueUpdateRollback request, as sent.
    pub continues: RefCell<Vec<ContinueRollbackRequest>>,
}

impl FakeCloud {
    pub fn new() -> Self {
        FakeCloud {
            events_per_poll: 3,
            ..Default::default()
        }
    }

    pub fn with_stack(
        self,
        name: &str,
        status: &str,
        template: &str,
        params: &[(&str, &str)],
    ) -> Self {
        self.stacks.borrow_mut().insert(
            name.to_owned(),
            FakeStack {
                info: StackInfo {
                    name: name.to_owned(),
                    id: format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/1"),
                    status: status.to_owned(),
                    parameters: params
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    ..Default::default()
                },
                template: template.to_owned(),
                events: vec![self.event(name, "AWS::CloudFormation::Stack", status, None)],
                ..Default::default()
            },
        );
        self
    }

    pub fn call_names(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    pub fn count(&self, op: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.starts_with(op))
            .count()
    }

    /// The stack's name for a name or an ARN (CloudFormation accepts both).
    fn name_of(&self, name_or_id: &str) -> String {
        let stacks = self.stacks.borrow();
        if stacks.contains_key(name_or_id) {
            return name_or_id.to_owned();
        }
        stacks
            .values()
            .find(|s| s.info.id == name_or_id)
            .map(|s| s.info.name.clone())
            .unwrap_or_else(|| name_or_id.to_owned())
    }

    fn log(&self, call: String) {
        self.calls.borrow_mut().push(call);
    }

    fn event(&self, id: &str, ty: &str, status: &str, reason: Option<String>) -> StackEvent {
        let mut n = self.next_id.borrow_mut();
        *n += 1;
        StackEvent {
            id: format!("ev-{n}"),
            logical_id: id.to_owned(),
            resource_type: ty.to_owned(),
            status: status.to_owned(),
            reason,
            timestamp: *n as f64,
            physical_id: None,
        }
    }
}

/// The statuses in which a stack is paused after a failure with rollback disabled.
const PAUSED: [&str; 2] = ["CREATE_FAILED", "UPDATE_FAILED"];

impl FakeCloud {
    /// Queues a stack operation's events (`first` on the stack, then `events`, then `last`) and
    /// marks the stack busy until they are read.
    fn operate(
        &self,
        stack: &str,
        first: &str,
        events: Vec<(String, String, String, Option<String>)>,
        last: &str,
    ) {
        let mut pending = self.pending.borrow_mut();
        pending.push_back((
            stack.to_owned(),
            self.event(
                stack,
                "AWS::CloudFormation::Stack",
                first,
                Some("User Initiated".into()),
            ),
        ));
        for (id, ty, status, reason) in events {
            let mut event = self.event(&id, &ty, &status, reason);
            let nested = self.nested_script.borrow_mut().remove(&id);
            if let Some(nested) = nested {
                let name = format!("{stack}-{id}-NESTED");
                let arn = format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/9");
                event.physical_id = Some(arn.clone());
                pending.push_back((stack.to_owned(), event));
                self.nested_stacks
                    .borrow_mut()
                    .push((name.clone(), arn.clone()));
                for (nid, nty, nstatus, nreason) in nested.events {
                    pending.push_back((name.clone(), self.event(&nid, &nty, &nstatus, nreason)));
                }
                // A stack's own events carry its ARN as physical id.
                let mut last = self.event(
                    &name,
                    "AWS::CloudFormation::Stack",
                    &nested.final_status,
                    None,
                );
                last.physical_id = Some(arn.clone());
                pending.push_back((name.clone(), last));
                continue;
            }
            pending.push_back((stack.to_owned(), event));
        }
        pending.push_back((
            stack.to_owned(),
            self.event(stack, "AWS::CloudFormation::Stack", last, None),
        ));
        if let Some(s) = self.stacks.borrow_mut().get_mut(stack) {
            s.info.status = first.to_owned();
            s.settles_to = Some(last.to_owned());
        }
    }

    /// A change set "can't be executed" once the stack changed under it: its execution status
    /// becomes OBSOLETE ("a change set might be ... in an OBSOLETE state because the stack was
    /// already updated", ExecutionStatus in
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ChangeSetSummary.html>).
    fn obsolete_change_sets(&self, stack: &str) {
        for ((s, _), (_, info)) in self.change_sets.borrow_mut().iter_mut() {
            if s == stack {
                info.execution_status = Some("OBSOLETE".into());
            }
        }
    }

    /// A finished update rollback returns the stack to its last stable template and values.
    fn restore_if_rolled_back(&self, stack: &str, last: &str) {
        if last != "UPDATE_ROLLBACK_COMPLETE" {
            return;
        }
        if let Some(s) = self.stacks.borrow_mut().get_mut(stack) {
            if let Some((template, parameters)) = s.stable.clone() {
                s.template = template;
                s.info.parameters = parameters;
            }
        }
    }

    /// The refusal of an operation in a state that does not allow it. CloudFormation's words for
    /// updates are "Stack:ARN is in STATE state and can not be updated." (e.g.
    /// org-formation/org-formation-cli issue 455, bitovi/bitops issue 128); the other verbs are
    /// ours in the same form.
    fn refuse(&self, stack: &str, verb: &str) -> anyhow::Error {
        let stacks = self.stacks.borrow();
        let (id, status) = stacks
            .get(stack)
            .map(|s| (s.info.id.clone(), s.info.status.clone()))
            .unwrap_or_else(|| (stack.to_owned(), "DELETE_COMPLETE".into()));
        anyhow!("ValidationError: Stack:{id} is in {status} state and can not be {verb}.")
    }
}

/// The template's resources: logical id → type.
fn resource_ids(template: &str) -> BTreeMap<String, String> {
    resources_of(template)
        .into_iter()
        .map(|(id, r)| (id, r["Type"].as_str().unwrap_or("?").to_owned()))
        .collect()
}

/// The physical id a resource gets in the fake: its name when the template names it (the
/// type's primary identifier, resolved as CloudFormation would), else `<stack>-<logical id>`.
pub fn physical_id(stack: &FakeStack, id: &str, resource: &serde_json::Value) -> String {
    if let Some(p) = stack.imported.get(id) {
        return p.clone();
    }
    let place = super::adopt::Place::of_arn(&stack.info.id);
    let named = resource["Type"]
        .as_str()
        .and_then(cdkrs_constructs::resource_meta)
        .and_then(|m| m.primary_identifier.first())
        .and_then(|p| p.strip_prefix("/properties/"))
        .and_then(|prop| resource["Properties"].get(prop));
    match (named, place) {
        (Some(v), Some(place)) => super::adopt::static_name(v, &place, &stack.info.name)
            .unwrap_or_else(|| format!("{}-{}", stack.info.name, id.to_lowercase())),
        _ => format!("{}-{}", stack.info.name, id.to_lowercase()),
    }
}

fn resources_of(template: &str) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(template)
        .ok()
        .and_then(|t| t.get("Resources").and_then(|r| r.as_object()).cloned())
        .unwrap_or_default()
}

fn retains(resource: &serde_json::Value) -> bool {
    matches!(
        resource["DeletionPolicy"].as_str(),
        Some("Retain" | "RetainExceptOnCreate" | "Snapshot")
    )
}

impl FakeCloud {
    /// A stack's deletion finished: CloudFormation keeps its record (retained resources
    /// DELETE_SKIPPED, which stay in the world without an owner), and the name is free.
    fn retire(&self, stacks: &mut BTreeMap<String, FakeStack>, name: &str) {
        let Some(stack) = stacks.remove(name) else {
            return;
        };
        let mut world = self.world.borrow_mut();
        let mut resources = stack.skipped.clone();
        for (id, r) in resources_of(&stack.template) {
            let physical = physical_id(&stack, &id, &r);
            let status = if retains(&r) || stack.retain_on_delete.contains(&id) {
                world.insert(physical.clone(), None);
                "DELETE_SKIPPED"
            } else {
                world.remove(&physical);
                "DELETE_COMPLETE"
            };
            resources.push(StackResource {
                logical_id: id,
                physical_id: Some(physical),
                resource_type: r["Type"].as_str().unwrap_or("?").to_owned(),
                status: status.into(),
            });
        }
        let deleted_at = *self.next_id.borrow() as f64;
        self.deleted.borrow_mut().push((
            DeletedStack {
                name: name.to_owned(),
                id: stack.info.id.clone(),
                deleted_at,
            },
            resources,
        ));
    }

    /// What a CREATE execution does when a named resource of the template already exists:
    /// that resource fails "already exists", the others are cancelled, and the rollback deletes
    /// what was created, keeping retained resources unless `RetainExceptOnCreate` (then the
    /// stack records them DELETE_SKIPPED). `None`: no collision.
    fn collision(
        &self,
        stack: &FakeStack,
        template: &str,
        retain_except_on_create: bool,
    ) -> Option<(Execution, Vec<StackResource>)> {
        let taken: Vec<(String, String)> = {
            let world = self.world.borrow();
            resources_of(template)
                .iter()
                .map(|(id, r)| (id.clone(), physical_id(stack, id, r)))
                .filter(|(_, p)| world.contains_key(p))
                .collect()
        };
        let (failed_id, failed_name) = taken.first()?.clone();
        Some(self.failed_create(
            stack,
            template,
            &failed_id,
            &format!("{failed_name} already exists"),
            retain_except_on_create,
        ))
    }

    /// A CREATE in which `failed_id` fails with `reason`: the other resources are cancelled,
    /// then the rollback deletes what was created, except retained ones when the execution did
    /// not ask for `RetainExceptOnCreate` (those stay in the world and are recorded
    /// DELETE_SKIPPED). Source: ExecuteChangeSet's `RetainExceptOnCreate`, "when set to true,
    /// newly created resources are deleted when the operation rolls back",
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html>.
    fn failed_create(
        &self,
        stack: &FakeStack,
        template: &str,
        failed_id: &str,
        reason: &str,
        retain_except_on_create: bool,
    ) -> (Execution, Vec<StackResource>) {
        let resources = resources_of(template);
        let mut events = Vec::new();
        let mut kept = Vec::new();
        for (id, r) in &resources {
            let ty = r["Type"].as_str().unwrap_or("?").to_owned();
            if id == failed_id {
                events.push((
                    id.clone(),
                    ty,
                    "CREATE_FAILED".into(),
                    Some(reason.to_owned()),
                ));
                continue;
            }
            events.push((id.clone(), ty.clone(), "CREATE_IN_PROGRESS".into(), None));
            events.push((
                id.clone(),
                ty.clone(),
                "CREATE_FAILED".into(),
                Some("Resource creation cancelled".into()),
            ));
        }
        events.push((
            stack.info.name.clone(),
            "AWS::CloudFormation::Stack".into(),
            "ROLLBACK_IN_PROGRESS".into(),
            Some(format!(
                "The following resource(s) failed to create: [{failed_id}]. Rollback requested by user."
            )),
        ));
        for (id, r) in &resources {
            if id == failed_id {
                continue;
            }
            let ty = r["Type"].as_str().unwrap_or("?").to_owned();
            if retains(r) && !retain_except_on_create {
                events.push((id.clone(), ty.clone(), "DELETE_SKIPPED".into(), None));
                let physical = physical_id(stack, id, r);
                self.world.borrow_mut().insert(physical.clone(), None);
                kept.push(StackResource {
                    logical_id: id.clone(),
                    physical_id: Some(physical),
                    resource_type: ty,
                    status: "DELETE_SKIPPED".into(),
                });
            } else {
                events.push((id.clone(), ty, "DELETE_COMPLETE".into(), None));
            }
        }
        (
            Execution {
                events,
                final_status: "ROLLBACK_COMPLETE".into(),
            },
            kept,
        )
    }

    /// Why CloudFormation refuses an IMPORT change set, if it does (the change set FAILS with
    /// the reason): a resource without a DeletionPolicy, other changes in the same operation,
    /// an identifier that does not exist or that another stack holds.
    fn import_refusal(
        &self,
        r: &ChangeSetRequest,
        template: &str,
        old: &BTreeMap<String, String>,
    ) -> Option<String> {
        let resources = resources_of(template);
        let importing: std::collections::BTreeSet<&str> = r
            .resources_to_import
            .iter()
            .map(|i| i.logical_id.as_str())
            .collect();
        let others: Vec<&String> = resources
            .keys()
            .filter(|id| !importing.contains(id.as_str()) && !old.contains_key(*id))
            .collect();
        if !others.is_empty() {
            return Some(format!(
                "As part of the import operation, you cannot modify or add [{}]",
                others
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let world = self.world.borrow();
        for i in &r.resources_to_import {
            let Some(res) = resources.get(&i.logical_id) else {
                return Some(format!(
                    "Resource {} in ResourcesToImport is not in the template",
                    i.logical_id
                ));
            };
            if res.get("DeletionPolicy").is_none() {
                return Some(format!("The following resources to import [{}] must have DeletionPolicy attribute specified in the template.", i.logical_id));
            }
            let id = i.identifier.values().next().cloned().unwrap_or_default();
            match world.get(&id) {
                None => return Some(format!("Resources [{}] do not exist", i.logical_id)),
                Some(Some(owner)) => {
                    return Some(format!("Resource {id} already belongs to stack {owner}"))
                }
                Some(None) => {}
            }
        }
        None
    }
}

impl CloudFormation for FakeCloud {
    async fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>> {
        self.log(format!("DescribeStacks {name}"));
        let by_name = self.stacks.borrow().contains_key(name);
        let name = &self.name_of(name);
        let mut stacks = self.stacks.borrow_mut();
        let Some(s) = stacks.get_mut(name) else {
            return Ok(None);
        };
        // "Deleted stacks: You must specify the unique stack ID" (StackName in
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html):
        // by name, a deleted stack does not exist.
        if by_name && s.info.status == "DELETE_COMPLETE" {
            return Ok(None);
        }
        if s.busy_for > 0 {
            s.busy_for -= 1;
            if s.busy_for == 0 {
                if let Some(to) = s.settles_to.take() {
                    s.info.status = to;
                }
            }
        }
        Ok(Some(s.info.clone()))
    }

    async fn get_template(&self, name: &str) -> Result<String> {
        self.log(format!("GetTemplate {name}"));
        let name = &self.name_of(name);
        let stacks = self.stacks.borrow();
        let stack = stacks
            .get(name)
            .ok_or_else(|| anyhow!("ValidationError: Stack with id {name} does not exist"))?;
        // A stack under review (created by a CREATE change set that never ran) has no template
        // yet: CloudFormation refuses GetTemplate for it without a change set name (issue 11
        // item 3; LocalStack matched that refusal after users met it, localstack/localstack
        // PR 13139 "validate during get template"). The wording here is ours.
        if stack.info.status == "REVIEW_IN_PROGRESS" {
            bail!("ValidationError: Stack {name} is in REVIEW_IN_PROGRESS state and has no template: name a change set");
        }
        Ok(stack.template.clone())
    }

    async fn create_change_set(&self, r: &ChangeSetRequest) -> Result<ChangeSetCreated> {
        self.log(format!("CreateChangeSet {} {:?}", r.stack_name, r.kind));
        self.requests.borrow_mut().push(r.clone());
        let key = (r.stack_name.clone(), r.change_set_name.clone());
        // A change set being deleted still holds its name.
        if self.change_sets.borrow().contains_key(&key)
            || self.deleting_change_sets.borrow().contains_key(&key)
        {
            return Err(anyhow!(AlreadyExists));
        }
        let mut stacks = self.stacks.borrow_mut();
        // A deleted stack's name is free again (DescribeStacks above).
        if stacks
            .get(&r.stack_name)
            .is_some_and(|s| s.info.status == "DELETE_COMPLETE")
        {
            stacks.remove(&r.stack_name);
        }
        let template = match &r.template {
            TemplateSource::Body(b) => b.clone(),
            TemplateSource::Url(u) => {
                let (bucket, k) = u
                    .trim_start_matches("https://s3.us-east-1.amazonaws.com/")
                    .split_once('/')
                    .ok_or_else(|| anyhow!("bad url {u}"))?;
                let bytes = self
                    .objects
                    .borrow()
                    .get(&(bucket.to_owned(), k.to_owned()))
                    .cloned()
                    .ok_or_else(|| anyhow!("ValidationError: S3 error: Access Denied ({u})"))?;
                String::from_utf8(bytes)?
            }
            TemplateSource::Previous => stacks
                .get(&r.stack_name)
                .map(|s| s.template.clone())
                .ok_or_else(|| anyhow!("no previous template"))?,
        };
        let old = match r.kind {
            ChangeSetKind::Create | ChangeSetKind::Import
                if stacks
                    .get(&r.stack_name)
                    .is_none_or(|s| s.info.status == "REVIEW_IN_PROGRESS") =>
            {
                stacks
                    .entry(r.stack_name.clone())
                    .or_insert_with(|| FakeStack {
                        info: StackInfo {
                            name: r.stack_name.clone(),
                            id: {
                                self.created.set(self.created.get() + 1);
                                format!(
                                    "arn:aws:cloudformation:us-east-1:123456789012:stack/{}/new-{}",
                                    r.stack_name,
                                    self.created.get()
                                )
                            },
                            status: "REVIEW_IN_PROGRESS".into(),
                            ..Default::default()
                        },
                        ..Default::default()
                    });
                BTreeMap::new()
            }
            ChangeSetKind::Create => bail!(
                "ValidationError: Stack [{}] already exists and cannot be created again",
                r.stack_name
            ),
            ChangeSetKind::Update | ChangeSetKind::Import => {
                let s = stacks.get(&r.stack_name).ok_or_else(|| {
                    anyhow!("ValidationError: Stack [{}] does not exist", r.stack_name)
                })?;
                resource_ids(&s.template)
            }
        };
        let new = resource_ids(&template);
        let mut changes = Vec::new();
        let refusal = (r.kind == ChangeSetKind::Import)
            .then(|| self.import_refusal(r, &template, &old))
            .flatten();
        for (id, ty) in &new {
            if !old.contains_key(id) {
                let imported = r.resources_to_import.iter().any(|i| &i.logical_id == id);
                changes.push(ResourceChangeInfo {
                    action: if imported { "Import" } else { "Add" }.into(),
                    logical_id: id.clone(),
                    resource_type: ty.clone(),
                    replacement: None,
                });
            }
        }
        let old_template = stacks
            .get(&r.stack_name)
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let old_json: serde_json::Value = serde_json::from_str(&old_template).unwrap_or_default();
        let new_json: serde_json::Value = serde_json::from_str(&template).unwrap_or_default();
        for id in new.keys().filter(|id| old.contains_key(*id)) {
            if old_json["Resources"][id] != new_json["Resources"][id] {
                changes.push(ResourceChangeInfo {
                    action: "Modify".into(),
                    logical_id: id.clone(),
                    resource_type: new[id].clone(),
                    replacement: Some("False".into()),
                });
            }
        }
        for (id, ty) in &old {
            if !new.contains_key(id) {
                changes.push(ResourceChangeInfo {
                    action: "Remove".into(),
                    logical_id: id.clone(),
                    resource_type: ty.clone(),
                    replacement: None,
                });
            }
        }
        let params_changed = stacks.get(&r.stack_name).is_some_and(|s| {
            r.parameters.iter().any(|p| {
                p.value
                    .as_ref()
                    .is_some_and(|v| s.info.parameters.get(&p.key) != Some(v))
            })
        });
        let info = if let Some(reason) = refusal {
            ChangeSetInfo {
                id: format!("cs-{}-{}", r.change_set_name, self.requests.borrow().len()),
                status: "FAILED".into(),
                status_reason: Some(reason),
                execution_status: Some("UNAVAILABLE".into()),
                changes,
            }
        } else if changes.is_empty() && !params_changed {
            ChangeSetInfo {
                id: format!("cs-{}-{}", r.change_set_name, self.requests.borrow().len()),
                status: "FAILED".into(),
                status_reason: Some("The submitted information didn't contain changes. Submit different information to create a change set.".into()),
                execution_status: Some("UNAVAILABLE".into()),
                changes,
            }
        } else {
            ChangeSetInfo {
                id: format!("cs-{}-{}", r.change_set_name, self.requests.borrow().len()),
                status: "CREATE_COMPLETE".into(),
                status_reason: None,
                execution_status: Some("AVAILABLE".into()),
                changes,
            }
        };
        let mut req = r.clone();
        req.template = TemplateSource::Body(template);
        self.change_sets.borrow_mut().insert(key, (req, info));
        let stack_id = stacks[&r.stack_name].info.id.clone();
        Ok(ChangeSetCreated {
            id: format!("cs-{}", r.change_set_name),
            stack_id,
        })
    }

    async fn describe_change_set(&self, stack: &str, cs: &str) -> Result<ChangeSetInfo> {
        self.log(format!("DescribeChangeSet {stack}"));
        let stack = &self.name_of(stack);
        if let Some(next) = self.change_set_script.borrow_mut().pop_front() {
            return Ok(next);
        }
        let key = (stack.to_owned(), cs.to_owned());
        // DeleteChangeSet is asynchronous in CloudFormation: the change set answers
        // DELETE_PENDING / DELETE_IN_PROGRESS (ChangeSetStatus, API reference of
        // DescribeChangeSet) until it is gone, then ChangeSetNotFound.
        if let Some(left) = self.deleting_change_sets.borrow_mut().get_mut(&key) {
            if *left > 0 {
                *left -= 1;
                return Ok(ChangeSetInfo {
                    status: "DELETE_IN_PROGRESS".into(),
                    ..Default::default()
                });
            }
        }
        if self
            .deleting_change_sets
            .borrow_mut()
            .remove(&key)
            .is_some()
        {
            return Err(anyhow!(ChangeSetNotFound));
        }
        self.change_sets
            .borrow()
            .get(&key)
            .map(|(_, i)| i.clone())
            .ok_or_else(|| anyhow!(ChangeSetNotFound))
    }

    async fn execute_change_set(&self, request: &ExecuteRequest) -> Result<()> {
        let (stack, cs) = (request.stack.as_str(), request.change_set.as_str());
        self.log(format!("ExecuteChangeSet {stack}"));
        self.executions.borrow_mut().push(request.clone());
        let stack = &self.name_of(stack);
        let key = (stack.to_owned(), cs.to_owned());
        let (req, info) = self
            .change_sets
            .borrow()
            .get(&key)
            .cloned()
            .ok_or_else(|| anyhow!("ChangeSetNotFound: {cs}"))?;
        // InvalidChangeSetStatus: "The specified change set can't be used to update the stack"
        // (Errors of
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html).
        let execution_status = info.execution_status.clone().unwrap_or_default();
        if execution_status != "AVAILABLE" {
            bail!(
                "InvalidChangeSetStatus: ChangeSet [{}] cannot be executed in its current \
                 execution status of [{execution_status}]",
                info.id
            );
        }
        let status = self
            .stacks
            .borrow()
            .get(stack)
            .map(|s| s.info.status.clone())
            .unwrap_or_default();
        // A paused stack takes only updates with rollback disabled: "a stack already in a
        // failed state cannot be updated with rollback enabled either - it answers 'This stack
        // is currently in a non-terminal [UPDATE_FAILED] state'" (aws/aws-cdk-cli, deploy-stack
        // tests, verified there against CloudFormation).
        if PAUSED.contains(&status.as_str()) && !request.disable_rollback {
            bail!("ValidationError: This stack is currently in a non-terminal [{status}] state.");
        }
        if matches!(
            status.as_str(),
            "ROLLBACK_COMPLETE"
                | "ROLLBACK_FAILED"
                | "UPDATE_ROLLBACK_FAILED"
                | "IMPORT_ROLLBACK_FAILED"
                | "DELETE_FAILED"
        ) || (status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS")
        {
            return Err(self.refuse(stack, "updated"));
        }
        // "When you execute a change set, CloudFormation deletes all other change sets
        // associated with the stack because they aren't valid for the updated stack"
        // (API_ExecuteChangeSet.html).
        self.change_sets.borrow_mut().retain(|(s, _), _| s != stack);
        let verb = match req.kind {
            ChangeSetKind::Create => "CREATE",
            ChangeSetKind::Update => "UPDATE",
            ChangeSetKind::Import => "IMPORT",
        };
        let template = match &req.template {
            TemplateSource::Body(t) => t.clone(),
            _ => String::new(),
        };
        let scripted = self.execution.borrow_mut().take();
        let failing = self.fail_create.borrow_mut().take();
        let collision = {
            let mut stacks = self.stacks.borrow_mut();
            let s = stacks.get_mut(stack).ok_or_else(|| anyhow!("no stack"))?;
            if req.kind == ChangeSetKind::Import {
                for i in &req.resources_to_import {
                    if let Some(id) = i.identifier.values().next() {
                        s.imported.insert(i.logical_id.clone(), id.clone());
                    }
                }
            }
            let collision = match (&scripted, req.kind, failing) {
                (None, ChangeSetKind::Create, Some((id, reason))) => Some(self.failed_create(
                    s,
                    &template,
                    &id,
                    &reason,
                    request.retain_except_on_create,
                )),
                (None, ChangeSetKind::Create, None) => {
                    self.collision(s, &template, request.retain_except_on_create)
                }
                _ => None,
            };
            if let Some((_, kept)) = &collision {
                s.skipped = kept.clone();
            }
            collision
        };
        let mut exec = scripted
            .or(collision.map(|(e, _)| e))
            .unwrap_or_else(|| Execution {
                events: info
                    .changes
                    .iter()
                    .flat_map(|c| {
                        [
                            (
                                c.logical_id.clone(),
                                c.resource_type.clone(),
                                format!("{verb}_IN_PROGRESS"),
                                None,
                            ),
                            (
                                c.logical_id.clone(),
                                c.resource_type.clone(),
                                format!("{verb}_COMPLETE"),
                                None,
                            ),
                        ]
                    })
                    .collect(),
                final_status: format!("{verb}_COMPLETE"),
            });
        // DisableRollback: a failure pauses the stack in CREATE_FAILED / UPDATE_FAILED and keeps
        // what was provisioned ("Preserve successfully provisioned resources",
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html):
        // the script's rollback never happens.
        if request.disable_rollback {
            let paused = match exec.final_status.as_str() {
                "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" => Some("CREATE_FAILED"),
                "UPDATE_ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_FAILED" => Some("UPDATE_FAILED"),
                _ => None,
            };
            if let Some(paused) = paused {
                let rollback_starts = exec
                    .events
                    .iter()
                    .position(|(_, ty, st, _)| {
                        ty == "AWS::CloudFormation::Stack" && st.contains("ROLLBACK")
                    })
                    .unwrap_or(exec.events.len());
                exec.events.truncate(rollback_starts);
                exec.events
                    .retain(|(_, _, st, _)| !st.starts_with("DELETE_"));
                exec.final_status = paused.to_owned();
            }
        }
        {
            let mut stacks = self.stacks.borrow_mut();
            let s = stacks.get_mut(stack).ok_or_else(|| anyhow!("no stack"))?;
            if matches!(
                status.as_str(),
                "CREATE_COMPLETE"
                    | "UPDATE_COMPLETE"
                    | "IMPORT_COMPLETE"
                    | "UPDATE_ROLLBACK_COMPLETE"
                    | "IMPORT_ROLLBACK_COMPLETE"
            ) {
                s.stable = Some((s.template.clone(), s.info.parameters.clone()));
            }
            let applied = (exec.final_status.ends_with("_COMPLETE")
                && !exec.final_status.contains("ROLLBACK"))
                || PAUSED.contains(&exec.final_status.as_str());
            if let TemplateSource::Body(t) = &req.template {
                if applied {
                    s.template = t.clone();
                    let mut world = self.world.borrow_mut();
                    for (id, r) in resources_of(t) {
                        world.insert(physical_id(s, &id, &r), Some(s.info.id.clone()));
                    }
                    for p in &req.parameters {
                        if let Some(v) = &p.value {
                            s.info.parameters.insert(p.key.clone(), v.clone());
                        }
                    }
                }
            }
        }
        self.operate(
            stack,
            &format!("{verb}_IN_PROGRESS"),
            exec.events,
            &exec.final_status,
        );
        Ok(())
    }

    async fn delete_change_set(&self, stack: &str, cs: &str) -> Result<()> {
        self.log(format!("DeleteChangeSet {stack}"));
        let stack = &self.name_of(stack);
        let key = (stack.to_owned(), cs.to_owned());
        if self.change_sets.borrow_mut().remove(&key).is_some() {
            // Gone after two more describes (see describe_change_set).
            self.deleting_change_sets.borrow_mut().insert(key, 2);
        }
        Ok(())
    }

    async fn delete_stack(&self, request: &DeleteStackRequest) -> Result<()> {
        let name = request.stack.as_str();
        self.log(format!("DeleteStack {name}"));
        self.deletions.borrow_mut().push(request.clone());
        let name = &self.name_of(name);
        // DeleteStack of a protected stack fails and the stack stays (UpdateTerminationProtection,
        // API reference); the answer is a ValidationError "Stack [NAME] cannot be deleted while
        // TerminationProtection is enabled", as quoted in rackspace/runway PR 199.
        if self
            .stacks
            .borrow()
            .get(name)
            .is_some_and(|s| s.info.termination_protection)
        {
            bail!("ValidationError: Stack [{name}] cannot be deleted while TerminationProtection is enabled");
        }
        // "RetainResources: for stacks in the DELETE_FAILED state, a list of resource logical
        // IDs that are associated with the resources you want to retain" (API_DeleteStack.html);
        // CloudFormation refuses it for a stack in any other state.
        if !request.retain_resources.is_empty() {
            let mut stacks = self.stacks.borrow_mut();
            if let Some(s) = stacks.get_mut(name) {
                if s.info.status != "DELETE_FAILED" {
                    bail!(
                        "ValidationError: Invalid operation on stack [{}]: resources can be \
                         retained only if the stack is in DELETE_FAILED state",
                        s.info.id
                    );
                }
                s.retain_on_delete = request.retain_resources.clone();
            }
        }
        let exec = self.execution.borrow_mut().take();
        let mut pending = self.pending.borrow_mut();
        pending.push_back((
            name.to_owned(),
            self.event(
                name,
                "AWS::CloudFormation::Stack",
                "DELETE_IN_PROGRESS",
                None,
            ),
        ));
        let final_status = match exec {
            Some(e) => {
                for (id, ty, status, reason) in e.events {
                    pending.push_back((name.to_owned(), self.event(&id, &ty, &status, reason)));
                }
                e.final_status
            }
            None => "DELETE_COMPLETE".into(),
        };
        pending.push_back((
            name.to_owned(),
            self.event(name, "AWS::CloudFormation::Stack", &final_status, None),
        ));
        if let Some(s) = self.stacks.borrow_mut().get_mut(name) {
            s.info.status = "DELETE_IN_PROGRESS".into();
            s.settles_to = Some(final_status);
        }
        Ok(())
    }

    async fn stack_events(&self, name: &str, until: Option<&str>) -> Result<Vec<StackEvent>> {
        self.log(format!("DescribeStackEvents {name}"));
        let name = &self.name_of(name);
        self.event_poll_times
            .borrow_mut()
            .push(tokio::time::Instant::now());
        // Release a few pending events, as a slow CloudFormation would.
        let mut released = 0;
        if self.hold_polls.get() > 0 {
            self.hold_polls.set(self.hold_polls.get() - 1);
            released = self.events_per_poll;
        }
        while released < self.events_per_poll {
            let Some((stack, e)) = self.pending.borrow_mut().pop_front() else {
                break;
            };
            let mut stacks = self.stacks.borrow_mut();
            if let Some((name, arn)) = self
                .nested_stacks
                .borrow()
                .iter()
                .find(|(name, _)| *name == stack)
            {
                stacks.entry(name.clone()).or_insert_with(|| FakeStack {
                    info: StackInfo {
                        name: name.clone(),
                        id: arn.clone(),
                        status: "CREATE_IN_PROGRESS".into(),
                        ..Default::default()
                    },
                    ..Default::default()
                });
            }
            if let Some(s) = stacks.get_mut(&stack) {
                let terminal = e.is_stack() && !e.status.ends_with("_IN_PROGRESS");
                if !e.is_stack() {
                    s.resource_status
                        .insert(e.logical_id.clone(), e.status.clone());
                }
                s.events.insert(0, e.clone());
                if terminal {
                    if e.status == "DELETE_COMPLETE" {
                        self.retire(&mut stacks, &stack);
                    } else {
                        s.info.status = e.status.clone();
                        s.settles_to = None;
                    }
                }
            }
            released += 1;
        }
        let stacks = self.stacks.borrow();
        let events = match stacks.get(name) {
            Some(s) => s.events.clone(),
            // Deleted: CloudFormation answers "does not exist" by name.
            None => return Ok(Vec::new()),
        };
        Ok(match until {
            Some(id) => events.into_iter().take_while(|e| e.id != id).collect(),
            None => events.into_iter().take(100).collect(),
        })
    }

    async fn stack_resources(&self, name: &str) -> Result<Vec<StackResource>> {
        self.log(format!("ListStackResources {name}"));
        let name = &self.name_of(name);
        if let Some((_, resources)) = self.deleted.borrow().iter().find(|(d, _)| d.id == *name) {
            return Ok(resources.clone());
        }
        let stacks = self.stacks.borrow();
        let s = stacks
            .get(name)
            .ok_or_else(|| anyhow!("ValidationError: Stack with id {name} does not exist"))?;
        Ok(resources_of(&s.template)
            .into_iter()
            .map(|(id, r)| StackResource {
                physical_id: Some(physical_id(s, &id, &r)),
                resource_type: r["Type"].as_str().unwrap_or("?").to_owned(),
                status: s
                    .resource_status
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| "CREATE_COMPLETE".into()),
                logical_id: id,
            })
            .collect())
    }

    async fn deleted_stacks(&self, name: &str) -> Result<Vec<DeletedStack>> {
        self.log(format!("ListStacks {name}"));
        Ok(self
            .deleted
            .borrow()
            .iter()
            .rev()
            .filter(|(d, _)| d.name == name)
            .map(|(d, _)| d.clone())
            .collect())
    }

    async fn update_termination_protection(&self, stack: &str, enable: bool) -> Result<()> {
        self.log(format!("UpdateTerminationProtection {stack} {enable}"));
        let name = &self.name_of(stack);
        let mut stacks = self.stacks.borrow_mut();
        let s = stacks
            .get_mut(name)
            .ok_or_else(|| anyhow!("ValidationError: Stack [{name}] does not exist"))?;
        s.info.termination_protection = enable;
        Ok(())
    }

    async fn rollback_stack(&self, request: &RollbackRequest) -> Result<()> {
        self.log(format!("RollbackStack {}", request.stack));
        self.rollbacks.borrow_mut().push(request.clone());
        let stack = &self.name_of(&request.stack);
        let (status, template) = self
            .stacks
            .borrow()
            .get(stack)
            .map(|s| (s.info.status.clone(), s.template.clone()))
            .ok_or_else(|| anyhow!("ValidationError: Stack with id {stack} does not exist"))?;
        // "Rolls back the specified stack to the last known stable state from CREATE_FAILED or
        // UPDATE_FAILED stack statuses"
        // (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackStack.html).
        if !PAUSED.contains(&status.as_str()) {
            return Err(self.refuse(stack, "rolled back"));
        }
        let resources = resource_ids(&template);
        let (first, events, last) = if status == "CREATE_FAILED" {
            // No stable state to return to: what the create made is deleted (with
            // RetainExceptOnCreate, retained resources too) and the stack is ROLLBACK_COMPLETE.
            (
                "ROLLBACK_IN_PROGRESS",
                resources
                    .into_iter()
                    .map(|(id, ty)| (id, ty, "DELETE_COMPLETE".to_owned(), None))
                    .collect::<Vec<_>>(),
                "ROLLBACK_COMPLETE".to_owned(),
            )
        } else {
            (
                "UPDATE_ROLLBACK_IN_PROGRESS",
                resources
                    .into_iter()
                    .map(|(id, ty)| (id, ty, "UPDATE_COMPLETE".to_owned(), None))
                    .collect(),
                "UPDATE_ROLLBACK_COMPLETE".to_owned(),
            )
        };
        let (events, last) = match self.execution.borrow_mut().take() {
            Some(script) => (script.events, script.final_status),
            None => (events, last),
        };
        self.restore_if_rolled_back(stack, &last);
        self.obsolete_change_sets(stack);
        self.operate(stack, first, events, &last);
        Ok(())
    }

    async fn continue_update_rollback(&self, request: &ContinueRollbackRequest) -> Result<()> {
        self.log(format!("ContinueUpdateRollback {}", request.stack));
        self.continues.borrow_mut().push(request.clone());
        let stack = &self.name_of(&request.stack);
        let (status, template, resource_status) = self
            .stacks
            .borrow()
            .get(stack)
            .map(|s| {
                (
                    s.info.status.clone(),
                    s.template.clone(),
                    s.resource_status.clone(),
                )
            })
            .ok_or_else(|| anyhow!("ValidationError: Stack with id {stack} does not exist"))?;
        // "For a specified stack that's in the UPDATE_ROLLBACK_FAILED state, continues rolling
        // it back" (API_ContinueUpdateRollback.html).
        if status != "UPDATE_ROLLBACK_FAILED" {
            return Err(self.refuse(stack, "continued to roll back"));
        }
        // ResourcesToSkip: "You can specify only resources that are in the UPDATE_FAILED state
        // because a rollback failed" (same page; the error's wording is ours).
        let types = resource_ids(&template);
        let mut events = Vec::new();
        for id in &request.resources_to_skip {
            let now = resource_status.get(id).map(String::as_str);
            if now != Some("UPDATE_FAILED") {
                bail!(
                    "ValidationError: Resource {id} cannot be skipped: only resources in \
                     UPDATE_FAILED state can be ({id} is {})",
                    now.unwrap_or("not in the stack")
                );
            }
            // "CloudFormation sets the status of the specified resources to UPDATE_COMPLETE and
            // continues to roll back the stack" (same page).
            let ty = types.get(id).cloned().unwrap_or_default();
            events.push((id.clone(), ty, "UPDATE_COMPLETE".to_owned(), None));
        }
        let (events, last) = match self.execution.borrow_mut().take() {
            Some(script) => (script.events, script.final_status),
            None => (events, "UPDATE_ROLLBACK_COMPLETE".to_owned()),
        };
        self.restore_if_rolled_back(stack, &last);
        self.obsolete_change_sets(stack);
        self.operate(stack, "UPDATE_ROLLBACK_IN_PROGRESS", events, &last);
        Ok(())
    }
}

impl ObjectStore for FakeCloud {
    async fn object_exists(&self, bucket: &str, key: &str) -> Result<bool> {
        self.log(format!("HeadObject {key}"));
        Ok(self
            .objects
            .borrow()
            .contains_key(&(bucket.to_owned(), key.to_owned())))
    }

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<()> {
        self.log(format!("PutObject {key}"));
        self.objects
            .borrow_mut()
            .insert((bucket.to_owned(), key.to_owned()), body);
        Ok(())
    }

    fn object_url(&self, bucket: &str, key: &str) -> String {
        format!("https://s3.us-east-1.amazonaws.com/{bucket}/{key}")
    }
}

impl Identity for FakeCloud {
    async fn caller_identity(&self) -> Result<CallerIdentity> {
        self.log("GetCallerIdentity".into());
        let account = self
            .caller_account
            .borrow()
            .clone()
            .unwrap_or_else(|| "123456789012".into());
        Ok(CallerIdentity {
            arn: format!("arn:aws:iam::{account}:user/tester"),
            account,
        })
    }
}

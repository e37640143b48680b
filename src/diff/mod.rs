//! Template diff: what a change to a synthesized template does, resource by resource.
//!
//! [`diff_templates`] compares an old template (deployed, or a committed synth output) with a
//! newly synthesized one, offline:
//!
//! - every section: Parameters (declarations), parameter values (with
//!   [`TemplateDiff::with_parameter_values`]), Conditions, Mappings, Resources, Outputs, and the
//!   other top-level keys (Description, Metadata, Transform, …);
//! - resources are added, removed or modified by logical id, with one [`PropertyChange`] per
//!   top-level property (`Properties.X`) or attribute (`DeletionPolicy`, `DependsOn`, …);
//! - [`Replacement`] is predicted from the registry metadata of the generated L1 types
//!   ([`cdkrs_constructs::resource_meta`]): a change under a create-only pointer replaces, any
//!   other change does not. A custom resource has no registry entry; its provider's create-only
//!   pointers travel in the template itself, in the resource's `Metadata` as
//!   `cdkrs.CreateOnlyProperties` (written by `cdkrs_constructs::custom_resource::CustomResource`
//!   from the property type's `CustomResourceProperties::CREATE_ONLY`, the same list the
//!   provider decides by), so the diff stays generic (it imports no stack) and works for any
//!   app's custom resources. The new template's list is read. A custom resource that publishes
//!   no list may replace ([`Replacement::Conditional`]). A custom resource's
//!   `cdkrs.ReplacementWarning` (from `CustomResourceProperties::REPLACEMENT_WARNING`: for a
//!   Databricks workspace, that it and everything in it are deleted) becomes a warning when it
//!   is replaced (`replaced: …`) or removed (`deleted: …`). A removed resource for which the
//!   new template keeps a note (`Metadata.cdkrs.RemovalNotes`, written with
//!   `cdkrs_constructs::metadata::add_removal_note`: what users must change when a stack drops
//!   it) gets the warning `removed: …`. A replaced resource changes the values of
//!   `Ref`/`Fn::GetAtt` to it, so the resources that use them change too (and are replaced when
//!   the use is create-only); the same goes for parameter values and conditions that change;
//! - the security section lists IAM statements, managed policies, boundaries, instance profile
//!   roles, Lambda permissions and security group rules as `+` / `-` rows ([`SecurityChange`]).
//!
//! Order is deterministic and independent of the order of the template: every list is sorted by
//! name (resources by logical id, properties by path); security rows follow their resource, `-`
//! rows before `+` rows. The JSON form (`serde::Serialize`) is the `--format json` output: every
//! field is always present, names are snake_case, enums are lower-case strings.
//!
//! The JSON shape (`TemplateDiff`):
//!
//! ```text
//! { "new_stack": bool,
//!   "parameters" | "parameter_values" | "conditions" | "mappings" | "outputs" | "other":
//!       [ { "name", "action": "add|remove|modify", "old": json|null, "new": json|null } ],
//!   "resources": [ { "logical_id", "resource_type", "old_resource_type": string|null,
//!                    "action", "replacement": "never|conditional|always",
//!                    "property_changes": [ { "path", "old", "new", "replacement", "note" } ],
//!                    "notes": [string], "warnings": [string],
//!                    "destroys": string|null } ],
//!   "security": [ { "action": "add|remove", "logical_id", "resource_type", "broadens": bool,
//!                   "kind": "iam_statement", "source", "effect", "principals": [..],
//!                           "actions": [..], "resources": [..], "condition": [..]
//!                 | "kind": "managed_policy" | "permissions_boundary", "policy_arn"
//!                 | "kind": "instance_profile_role", "role"
//!                 | "kind": "lambda_permission", "function", "action", "principal", "condition"
//!                 | "kind": "security_group_rule", "group", "direction", "protocol", "ports",
//!                           "peer" } ],
//!   "broadens_security": bool,
//!   "summary": { "add", "change", "remove", "replace", "may_replace" } }
//! ```
//!
//! ```
//! use serde_json::json;
//! let old = json!({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "a"}}}});
//! let new = json!({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}}}});
//! let diff = cdkrs::diff::diff_templates(Some(&old), &new);
//! assert_eq!(diff.resource_changes()[0].replacement, cdkrs::diff::Replacement::Always);
//! assert!(diff.render_text("demo", false).contains("[~] AWS::S3::Bucket B (replace)"));
//! ```

mod intrinsics;
mod render;
mod resources;
mod security;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

pub use security::{
    LambdaPermission, SecurityChange, SecurityDetail, SecurityGroupRule, Statement,
};

/// What happens to an entry (a resource, a parameter, a security row, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// It is new.
    Add,
    /// It goes away.
    Remove,
    /// It stays, changed.
    Modify,
}

/// Whether an update replaces a resource (creates a new one, then deletes the old one).
/// Ordered: `Never < Conditional < Always`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    /// Updated in place.
    #[default]
    Never,
    /// May be replaced: the type has no registry metadata (custom resources that publish no
    /// create-only list: the provider decides).
    Conditional,
    /// Replaced: a create-only property or the type changes.
    Always,
}

/// A change to a named entry of a section other than Resources (a parameter, a condition, a
/// mapping, an output, a parameter value, a top-level key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryChange {
    /// The entry's name (the logical id, or the top-level key).
    pub name: String,
    /// Added, removed or modified.
    pub action: Action,
    /// The old value (`None` when added).
    pub old: Option<Value>,
    /// The new value (`None` when removed).
    pub new: Option<Value>,
}

/// A changed resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceChange {
    /// Its logical id.
    pub logical_id: String,
    /// Its type (the new one when it changes).
    pub resource_type: String,
    /// The old type, when the type changes (a type change is a replacement).
    pub old_resource_type: Option<String>,
    /// Added, removed or modified.
    pub action: Action,
    /// The largest replacement of its property changes (`never` for additions and removals).
    pub replacement: Replacement,
    /// What changes, sorted by path; empty for additions and removals.
    pub property_changes: Vec<PropertyChange>,
    /// Why the prediction is what it is (custom resource, condition flips, …).
    pub notes: Vec<String>,
    /// What a reviewer must not miss: retained or snapshotted old resources, an old resource
    /// deleted on replacement despite `DeletionPolicy: Retain`, a replacement that fails on a
    /// custom name.
    pub warnings: Vec<String>,
    /// Why this change destroys or orphans state, when it does: a removal or a (possible)
    /// replacement of a stateful resource (one that holds data: [`STATEFUL_TYPES`], or a custom
    /// resource publishing a replacement warning, like the Databricks workspace) or of a
    /// retained one (its policy orphans the old resource). `deploy --require-approval
    /// destruction` asks for these.
    pub destroys: Option<String>,
}

/// Types whose resources hold data that their deletion loses (or, retained, leaves behind):
/// buckets and their objects, keys and what they encrypt, log groups, tables, databases, file
/// systems, secrets, queues and streams.
pub const STATEFUL_TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::EFS::FileSystem",
    "AWS::SecretsManager::Secret",
    "AWS::SQS::Queue",
    "AWS::Kinesis::Stream",
    "AWS::ECR::Repository",
    "AWS::Backup::BackupVault",
];

/// A changed property (`Properties.Tags`) or resource attribute (`DeletionPolicy`, `Type`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyChange {
    /// `Properties.<Name>`, an attribute name, or `Type`.
    pub path: String,
    /// The old value (`None` when added).
    pub old: Option<Value>,
    /// The new value (`None` when removed). Equal to `old` when the template text is the same
    /// but the value it resolves to changes (see `note`).
    pub new: Option<Value>,
    /// Whether this change replaces the resource.
    pub replacement: Replacement,
    /// Why, when it is not obvious: a create-only value computed at deploy time, a referenced
    /// resource that is replaced, a parameter value that changes.
    pub note: Option<String>,
}

/// Counts of resource changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Resources to add.
    pub add: usize,
    /// Resources to modify (replaced or not).
    pub change: usize,
    /// Resources to remove.
    pub remove: usize,
    /// Modified resources that are replaced.
    pub replace: usize,
    /// Modified resources that may be replaced.
    pub may_replace: usize,
}

/// The differences between two templates. Build it with [`diff_templates`].
#[derive(Debug, Clone, Serialize)]
pub struct TemplateDiff {
    /// The stack does not exist yet (no old template).
    new_stack: bool,
    /// `Parameters` declarations.
    parameters: Vec<EntryChange>,
    /// Parameter values (deployed vs. to be deployed); empty unless given.
    parameter_values: Vec<EntryChange>,
    conditions: Vec<EntryChange>,
    mappings: Vec<EntryChange>,
    resources: Vec<ResourceChange>,
    outputs: Vec<EntryChange>,
    /// Other top-level keys: `Description`, `Metadata`, `Transform`, `AWSTemplateFormatVersion`.
    other: Vec<EntryChange>,
    security: Vec<SecurityChange>,
    broadens_security: bool,
    summary: Summary,
    #[serde(skip)]
    inputs: Inputs,
}

/// The templates and parameter values a diff was computed from (kept so
/// [`TemplateDiff::with_parameter_values`] can recompute).
#[derive(Clone)]
struct Inputs {
    old: Option<Value>,
    new: Value,
    values: Option<(BTreeMap<String, String>, BTreeMap<String, String>)>,
}

impl fmt::Debug for Inputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inputs")
            .field("old", &self.old.as_ref().map(|_| "<template>"))
            .field("new", &"<template>")
            .field("values", &self.values)
            .finish()
    }
}

/// Compares two templates. `old = None`: the stack does not exist yet (everything is an
/// addition). Never panics, whatever the JSON: a missing or non-object section is empty.
pub fn diff_templates(old: Option<&Value>, new: &Value) -> TemplateDiff {
    TemplateDiff::compute(Inputs {
        old: old.cloned(),
        new: new.clone(),
        values: None,
    })
}

/// The top-level keys with a section of their own.
const SECTIONS: &[&str] = &[
    "Conditions",
    "Mappings",
    "Outputs",
    "Parameters",
    "Resources",
];

/// Shown instead of the value of a `NoEcho` parameter.
const HIDDEN: &str = "****";

impl TemplateDiff {
    /// Adds the parameter VALUES (deployed vs. to be deployed); a changed value is a change.
    /// A parameter missing from a map takes its template `Default`. `NoEcho` values show as
    /// `****`. With values known, conditions are evaluated: a resource whose condition flips is
    /// added or removed, and properties that use a changed parameter or condition are changes.
    pub fn with_parameter_values(
        self,
        old: &BTreeMap<String, String>,
        new: &BTreeMap<String, String>,
    ) -> Self {
        let mut inputs = self.inputs;
        inputs.values = Some((old.clone(), new.clone()));
        Self::compute(inputs)
    }

    /// Nothing differs at all.
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty()
            && self.parameter_values.is_empty()
            && self.conditions.is_empty()
            && self.mappings.is_empty()
            && self.resources.is_empty()
            && self.outputs.is_empty()
            && self.other.is_empty()
            && self.security.is_empty()
    }

    /// The changed resources, sorted by logical id.
    pub fn resource_changes(&self) -> &[ResourceChange] {
        &self.resources
    }

    /// The security rows, in resource order, removals before additions.
    pub fn security_changes(&self) -> &[SecurityChange] {
        &self.security
    }

    /// Whether any row widens access: an added `Allow` statement (unless a removed one allowed
    /// as much), principal, managed policy, instance profile role, Lambda permission or
    /// security group rule, or a removed `Deny` statement or permissions boundary. For
    /// `--require-approval broadening`.
    pub fn broadens_security(&self) -> bool {
        self.broadens_security
    }

    /// The resource changes that destroy or orphan state ([`ResourceChange::destroys`]).
    pub fn destructive_changes(&self) -> impl Iterator<Item = &ResourceChange> {
        self.resources.iter().filter(|c| c.destroys.is_some())
    }

    /// Whether any change destroys or orphans state.
    pub fn destroys(&self) -> bool {
        self.destructive_changes().next().is_some()
    }

    /// The stack does not exist yet.
    pub fn is_new_stack(&self) -> bool {
        self.new_stack
    }

    /// Changes to `Parameters` declarations.
    pub fn parameter_changes(&self) -> &[EntryChange] {
        &self.parameters
    }

    /// Changes of parameter values (empty unless [`Self::with_parameter_values`] was called).
    pub fn parameter_value_changes(&self) -> &[EntryChange] {
        &self.parameter_values
    }

    /// Changes to `Conditions`.
    pub fn condition_changes(&self) -> &[EntryChange] {
        &self.conditions
    }

    /// Changes to `Mappings`.
    pub fn mapping_changes(&self) -> &[EntryChange] {
        &self.mappings
    }

    /// Changes to `Outputs`.
    pub fn output_changes(&self) -> &[EntryChange] {
        &self.outputs
    }

    /// Changes to the other top-level keys (`Description`, `Metadata`, `Transform`, …).
    pub fn other_changes(&self) -> &[EntryChange] {
        &self.other
    }

    /// Resource counts.
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// The diff for a terminal, like `cdk diff`: a header, the sections, the security tables
    /// and a one-line summary. `color` adds ANSI colors (never when false).
    pub fn render_text(&self, stack_name: &str, color: bool) -> String {
        render::text(self, stack_name, color)
    }

    /// Only the security tables and the broadening warning, for the change-set review of
    /// `deploy`; empty when nothing security-relevant changes.
    pub fn render_security_text(&self, color: bool) -> String {
        render::security_text(self, color)
    }

    /// The diff as Markdown for a pull-request comment: a heading, a summary, a resource table,
    /// property details in `<details>` and the security tables.
    pub fn render_markdown(&self, stack_name: &str) -> String {
        render::markdown(self, stack_name)
    }

    fn compute(inputs: Inputs) -> Self {
        let old = inputs.old.as_ref();
        let new = &inputs.new;
        let no_values = BTreeMap::new();
        let (old_given, new_given) = match &inputs.values {
            Some((o, n)) => (o, n),
            None => (&no_values, &no_values),
        };
        let (old_params, new_params) = match &inputs.values {
            Some(_) => (
                intrinsics::effective_parameters(old, old_given),
                intrinsics::effective_parameters(Some(new), new_given),
            ),
            None => (BTreeMap::new(), BTreeMap::new()),
        };
        let old_conditions = old
            .map(|t| intrinsics::evaluate_conditions(t, &old_params))
            .unwrap_or_default();
        let new_conditions = intrinsics::evaluate_conditions(new, &new_params);

        let mut dynamic = resources::Dynamic::default();
        if old.is_some() {
            for (name, value) in &new_params {
                if old_params.get(name).is_some_and(|o| o != value) {
                    dynamic
                        .names
                        .insert(name.clone(), format!("parameter {name} changes value"));
                }
            }
            for (name, value) in &new_conditions {
                if let (Some(Some(before)), Some(after)) = (old_conditions.get(name), value) {
                    if before != after {
                        dynamic.conditions.insert(
                            name.clone(),
                            format!("condition {name} changes ({before} → {after})"),
                        );
                    }
                }
            }
        }

        let old_side = resources::Side::new(old, &old_conditions);
        let new_side = resources::Side::new(Some(new), &new_conditions);
        let resource_changes = resources::diff(&old_side, &new_side, dynamic);
        let security = security::diff(&old_side, &new_side, &resource_changes);

        let parameter_values = match &inputs.values {
            Some(_) => parameter_values(old, new, &old_params, &new_params),
            None => Vec::new(),
        };
        let section = |name: &str| entries(old.and_then(|t| t.get(name)), new.get(name));
        let mut summary = Summary::default();
        for c in &resource_changes {
            match (c.action, c.replacement) {
                (Action::Add, _) => summary.add += 1,
                (Action::Remove, _) => summary.remove += 1,
                (Action::Modify, r) => {
                    summary.change += 1;
                    summary.replace += usize::from(r == Replacement::Always);
                    summary.may_replace += usize::from(r == Replacement::Conditional);
                }
            }
        }
        Self {
            new_stack: old.is_none(),
            parameters: section("Parameters"),
            parameter_values,
            conditions: section("Conditions"),
            mappings: section("Mappings"),
            outputs: section("Outputs"),
            other: other_keys(old, new),
            broadens_security: security.iter().any(|s| s.broadens),
            resources: resource_changes,
            security,
            summary,
            inputs,
        }
    }
}

/// The entries of one section (an object of named entries), sorted by name.
fn entries(old: Option<&Value>, new: Option<&Value>) -> Vec<EntryChange> {
    let empty = Map::new();
    let (o, n) = (
        old.and_then(Value::as_object).unwrap_or(&empty),
        new.and_then(Value::as_object).unwrap_or(&empty),
    );
    let names: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| entry(name, o.get(name), n.get(name)))
        .collect()
}

fn entry(name: &str, old: Option<&Value>, new: Option<&Value>) -> Option<EntryChange> {
    let action = match (old, new) {
        (None, None) => return None,
        (Some(o), Some(n)) if o == n => return None,
        (None, Some(_)) => Action::Add,
        (Some(_), None) => Action::Remove,
        (Some(_), Some(_)) => Action::Modify,
    };
    Some(EntryChange {
        name: name.to_owned(),
        action,
        old: old.cloned(),
        new: new.cloned(),
    })
}

/// The top-level keys other than the sections (a non-object template has none).
fn other_keys(old: Option<&Value>, new: &Value) -> Vec<EntryChange> {
    let empty = Map::new();
    let o = old.and_then(Value::as_object).unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let names: BTreeSet<&String> = o
        .keys()
        .chain(n.keys())
        .filter(|k| !SECTIONS.contains(&k.as_str()))
        .collect();
    names
        .into_iter()
        .filter_map(|name| entry(name, o.get(name), n.get(name)))
        .collect()
}

/// Parameter values that differ (effective values: given, else the default), `NoEcho` masked.
fn parameter_values(
    old: Option<&Value>,
    new: &Value,
    old_params: &BTreeMap<String, String>,
    new_params: &BTreeMap<String, String>,
) -> Vec<EntryChange> {
    let none = BTreeMap::new();
    let old_params = if old.is_some() { old_params } else { &none };
    let names: BTreeSet<&String> = old_params.keys().chain(new_params.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let (o, n) = (old_params.get(name), new_params.get(name));
        let action = match (o, n) {
            (Some(o), Some(n)) if o == n => continue,
            (None, None) => continue,
            (None, Some(_)) => Action::Add,
            (Some(_), None) => Action::Remove,
            (Some(_), Some(_)) => Action::Modify,
        };
        let hidden = [old, Some(new)]
            .into_iter()
            .flatten()
            .any(|t| no_echo(t, name));
        let shown = |v: Option<&String>| {
            v.map(|v| Value::String(if hidden { HIDDEN.to_owned() } else { v.clone() }))
        };
        out.push(EntryChange {
            name: name.clone(),
            action,
            old: shown(o),
            new: shown(n),
        });
    }
    out
}

/// Whether a template declares a parameter `NoEcho` (`true` or `"true"`).
fn no_echo(template: &Value, name: &str) -> bool {
    match template
        .get("Parameters")
        .and_then(|p| p.get(name))
        .and_then(|d| d.get("NoEcho"))
    {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

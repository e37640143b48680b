//! Rendering a [`TemplateDiff`]: the model both renderers share (value changes as lines,
//! security tables), then [`text`] for terminals and [`markdown`] for pull requests.

mod markdown;
mod text;

use serde_json::{Map, Value};
use similar::{ChangeTag, TextDiff};

use super::intrinsics::compact_json;
use super::security::{SecurityChange, SecurityDetail};
use super::{Action, EntryChange, Replacement, Summary, TemplateDiff};

pub(crate) use markdown::markdown;
pub(crate) use text::{security as security_text, text};

/// Values whose compact JSON is at most this long are shown inline: `old → new`.
const INLINE_MAX: usize = 60;
/// Unchanged lines shown around each changed block of a line diff.
const CONTEXT_LINES: usize = 3;

/// One change of a value, ready to print.
pub(crate) struct ValueChange {
    /// `[+]`, `[-]` or `[~]`.
    pub action: Action,
    /// `Properties.CidrBlock`, `Parameter ProviderCodeKey`, …
    pub label: String,
    /// `replace`, `may replace`, or empty.
    pub tag: &'static str,
    /// The whole change on one line (`"a" → "b"`), when it is small.
    pub inline: Option<String>,
    /// Otherwise: diff lines (`-`, `+`, ` `; `…` between far-apart blocks).
    pub body: Vec<(char, String)>,
    /// Why (a computed create-only value, a replaced reference, …).
    pub note: Option<String>,
}

/// The tag a replacement shows after a label.
pub(crate) fn replacement_tag(r: Replacement) -> &'static str {
    match r {
        Replacement::Never => "",
        Replacement::Conditional => "may replace",
        Replacement::Always => "replace",
    }
}

impl ValueChange {
    pub fn new(label: String, old: Option<&Value>, new: Option<&Value>) -> Self {
        let action = match (old, new) {
            (None, _) => Action::Add,
            (_, None) => Action::Remove,
            _ => Action::Modify,
        };
        let mut change = Self {
            action,
            label,
            tag: "",
            inline: None,
            body: Vec::new(),
            note: None,
        };
        let small = |v: Option<&Value>| v.is_none_or(is_small);
        if old == new {
            // The text is the same; what it resolves to changes (the note says why).
            change.inline = Some(match old {
                Some(v) if is_small(v) => compact_json(v),
                _ => "(same template text)".to_owned(),
            });
        } else if small(old) && small(new) {
            change.inline = Some(match (old, new) {
                (Some(o), Some(n)) => format!("{} → {}", compact_json(o), compact_json(n)),
                (Some(v), None) | (None, Some(v)) => compact_json(v),
                (None, None) => String::new(),
            });
        } else {
            change.body = line_diff(old, new);
        }
        change
    }

    pub fn with(mut self, tag: &'static str, note: Option<&str>) -> Self {
        self.tag = tag;
        self.note = note.map(str::to_owned);
        self
    }
}

fn is_small(v: &Value) -> bool {
    !matches!(v, Value::String(s) if s.contains('\n'))
        && compact_json(v).chars().count() <= INLINE_MAX
}

/// The text a value is diffed as: a multi-line string as its lines, anything else as pretty
/// JSON with sorted keys.
fn diff_text(v: &Value) -> String {
    match v {
        Value::String(s) if s.contains('\n') => s.clone(),
        other => serde_json::to_string_pretty(&sorted(other)).unwrap_or_default(),
    }
}

/// The value with object keys sorted (stable output whatever serde_json's map order).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect::<Map<_, _>>(),
            )
        }
        other => other.clone(),
    }
}

/// A line diff of two values, with context; `…` marks skipped unchanged lines.
fn line_diff(old: Option<&Value>, new: Option<&Value>) -> Vec<(char, String)> {
    let old_text = old.map(diff_text).unwrap_or_default();
    let new_text = new.map(diff_text).unwrap_or_default();
    if old == new {
        return new_text.lines().map(|l| (' ', l.to_owned())).collect();
    }
    let diff = TextDiff::from_lines(&old_text, &new_text);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(CONTEXT_LINES).iter().enumerate() {
        let first_old = group.first().map_or(0, |op| op.old_range().start);
        if i > 0 || first_old > 0 {
            out.push((' ', "…".to_owned()));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let tag = match change.tag() {
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                    ChangeTag::Equal => ' ',
                };
                out.push((
                    tag,
                    change.value().trim_end_matches(['\n', '\r']).to_owned(),
                ));
            }
        }
    }
    let shown_to = diff
        .grouped_ops(CONTEXT_LINES)
        .last()
        .and_then(|g| g.last())
        .map_or(0, |op| op.old_range().end);
    if shown_to < old_text.lines().count() {
        out.push((' ', "…".to_owned()));
    }
    out
}

/// The changes of an entry section, labelled `<kind> <name>`.
pub(crate) fn entry_changes(kind: &str, entries: &[EntryChange]) -> Vec<ValueChange> {
    entries
        .iter()
        .map(|e| {
            let label = if kind.is_empty() {
                e.name.clone()
            } else {
                format!("{kind} {}", e.name)
            };
            ValueChange::new(label, e.old.as_ref(), e.new.as_ref())
        })
        .collect()
}

/// The entry sections in display order: title and changes.
pub(crate) fn sections(diff: &TemplateDiff) -> Vec<(&'static str, Vec<ValueChange>)> {
    [
        ("Parameters", entry_changes("Parameter", &diff.parameters)),
        (
            "Parameter values",
            entry_changes("", &diff.parameter_values),
        ),
        ("Conditions", entry_changes("Condition", &diff.conditions)),
        ("Mappings", entry_changes("Mapping", &diff.mappings)),
    ]
    .into_iter()
    .filter(|(_, c)| !c.is_empty())
    .collect()
}

/// The entry sections shown after the resources.
pub(crate) fn trailing_sections(diff: &TemplateDiff) -> Vec<(&'static str, Vec<ValueChange>)> {
    [
        ("Outputs", entry_changes("Output", &diff.outputs)),
        ("Other changes", entry_changes("", &diff.other)),
    ]
    .into_iter()
    .filter(|(_, c)| !c.is_empty())
    .collect()
}

/// A security table: title, column headers, rows (sign, broadens, cells of lines).
pub(crate) struct Table {
    pub title: &'static str,
    pub headers: &'static [&'static str],
    pub rows: Vec<Row>,
}

/// One row of a security table.
pub(crate) struct Row {
    pub action: Action,
    pub cells: Vec<Vec<String>>,
}

/// The security rows grouped into tables like `cdk diff`'s (only non-empty tables).
pub(crate) fn security_tables(changes: &[SecurityChange]) -> Vec<Table> {
    let mut statements = Table {
        title: "IAM Statement Changes",
        headers: &[
            "",
            "Logical ID",
            "Effect",
            "Principal",
            "Action",
            "Resource",
            "Condition",
        ],
        rows: Vec::new(),
    };
    let mut policies = Table {
        title: "IAM Policy Changes",
        headers: &["", "Logical ID", "Kind", "Value"],
        rows: Vec::new(),
    };
    let mut lambda = Table {
        title: "Lambda Permission Changes",
        headers: &[
            "",
            "Logical ID",
            "Function",
            "Principal",
            "Action",
            "Condition",
        ],
        rows: Vec::new(),
    };
    let mut groups = Table {
        title: "Security Group Changes",
        headers: &[
            "",
            "Logical ID",
            "Group",
            "Direction",
            "Protocol",
            "Ports",
            "Peer",
        ],
        rows: Vec::new(),
    };
    let one = |s: &str| vec![s.to_owned()];
    for c in changes {
        let sign = one(if c.action == Action::Add { "+" } else { "-" });
        let id = one(&c.logical_id);
        let (table, cells) = match &c.detail {
            SecurityDetail::IamStatement(s) => (
                &mut statements,
                vec![
                    vec![c.logical_id.clone(), format!("({})", s.source)],
                    one(&s.effect),
                    s.principals.clone(),
                    s.actions.clone(),
                    s.resources.clone(),
                    s.condition.clone(),
                ],
            ),
            SecurityDetail::ManagedPolicy { policy_arn } => (
                &mut policies,
                vec![id, one("managed policy"), one(policy_arn)],
            ),
            SecurityDetail::PermissionsBoundary { policy_arn } => (
                &mut policies,
                vec![id, one("permissions boundary"), one(policy_arn)],
            ),
            SecurityDetail::InstanceProfileRole { role } => (
                &mut policies,
                vec![id, one("instance profile role"), one(role)],
            ),
            SecurityDetail::LambdaPermission(p) => (
                &mut lambda,
                vec![
                    id,
                    one(&p.function),
                    one(&p.principal),
                    one(&p.action),
                    p.condition.clone(),
                ],
            ),
            SecurityDetail::SecurityGroupRule(r) => (
                &mut groups,
                vec![
                    id,
                    one(&r.group),
                    one(&r.direction),
                    one(&r.protocol),
                    one(&r.ports),
                    one(&r.peer),
                ],
            ),
        };
        let mut all = vec![sign];
        all.extend(cells);
        table.rows.push(Row {
            action: c.action,
            cells: all,
        });
    }
    [statements, policies, lambda, groups]
        .into_iter()
        .filter(|t| !t.rows.is_empty())
        .collect()
}

/// The warning shown when security broadens, with the number of rows that do.
pub(crate) fn broadening_line(diff: &TemplateDiff) -> String {
    let n = diff.security.iter().filter(|s| s.broadens).count();
    let rows = if n == 1 {
        "1 row widens".to_owned()
    } else {
        format!("{n} rows widen")
    };
    format!(
        "This change broadens security: {rows} access (added allows, principals, policies, permissions or rules; removed denials or boundaries). Review the security tables."
    )
}

/// `3 to add, 1 to change (1 replacement), 0 to remove`.
pub(crate) fn summary_line(s: Summary) -> String {
    let mut change = format!("{} to change", s.change);
    let mut extra = Vec::new();
    if s.replace > 0 {
        let plural = if s.replace == 1 { "" } else { "s" };
        extra.push(format!("{} replacement{plural}", s.replace));
    }
    if s.may_replace > 0 {
        extra.push(format!("{} may be replaced", s.may_replace));
    }
    if !extra.is_empty() {
        change = format!("{change} ({})", extra.join(", "));
    }
    format!("{} to add, {change}, {} to remove", s.add, s.remove)
}

/// What else changes besides resources, for the summary: `2 outputs, 1 parameter value`.
pub(crate) fn other_counts(diff: &TemplateDiff) -> Option<String> {
    let parts: Vec<String> = [
        (diff.parameters.len(), "parameter"),
        (diff.parameter_values.len(), "parameter value"),
        (diff.conditions.len(), "condition"),
        (diff.mappings.len(), "mapping"),
        (diff.outputs.len(), "output"),
        (diff.other.len(), "top-level key"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}{}", if n == 1 { "" } else { "s" }))
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_values_are_inline_and_large_ones_a_line_diff_with_context() {
        let c = ValueChange::new("X".into(), Some(&json!("a")), Some(&json!("b")));
        assert_eq!(c.inline.as_deref(), Some("\"a\" → \"b\""));
        let old: Vec<Value> = (0..20)
            .map(|i| json!({ "Key": format!("k{i}"), "Value": "v" }))
            .collect();
        let mut new = old.clone();
        new[10] = json!({"Key": "k10", "Value": "changed"});
        let c = ValueChange::new("Tags".into(), Some(&json!(old)), Some(&json!(new)));
        assert!(c.inline.is_none());
        let body: Vec<String> = c.body.iter().map(|(t, l)| format!("{t}{l}")).collect();
        assert!(
            body.contains(&"-    \"Value\": \"v\"".to_owned()),
            "{body:#?}"
        );
        assert!(
            body.contains(&"+    \"Value\": \"changed\"".to_owned()),
            "{body:#?}"
        );
        assert_eq!(body.first().map(String::as_str), Some(" …"));
        assert_eq!(body.last().map(String::as_str), Some(" …"));
        assert!(
            body.len() < 15,
            "only the change and its context: {body:#?}"
        );
    }

    #[test]
    fn multi_line_strings_are_diffed_by_line() {
        let c = ValueChange::new(
            "Code".into(),
            Some(&json!("a\nb\nc")),
            Some(&json!("a\nB\nc")),
        );
        let body: Vec<String> = c.body.iter().map(|(t, l)| format!("{t}{l}")).collect();
        assert_eq!(body, [" a", "-b", "+B", " c"]);
    }

    #[test]
    fn summary_line_counts_replacements() {
        let s = Summary {
            add: 3,
            change: 1,
            remove: 0,
            replace: 1,
            may_replace: 0,
        };
        assert_eq!(
            summary_line(s),
            "3 to add, 1 to change (1 replacement), 0 to remove"
        );
    }
}

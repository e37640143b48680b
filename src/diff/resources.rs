//! The Resources section: add / remove / modify by logical id, per-property changes, replacement
//! predicted from the registry metadata, and the changes that follow from a replaced resource, a
//! changed parameter value or a flipped condition (CloudFormation's "dynamic" changes).

use std::collections::{BTreeMap, BTreeSet};

use cdkrs_constructs::ResourceMeta;
use serde_json::{Map, Value};

use super::intrinsics::{compact, contains_intrinsic, References};
use super::{Action, PropertyChange, Replacement, ResourceChange};

/// Resource attributes that never replace a resource and are compared as a whole.
const NO_REPLACE_ATTRIBUTES: &[&str] = &[
    "Condition",
    "CreationPolicy",
    "DeletionPolicy",
    "DependsOn",
    "Metadata",
    "UpdatePolicy",
    "UpdateReplacePolicy",
];

/// The resources of one template, with those whose condition is known to be false set aside.
pub(crate) struct Side<'a> {
    present: BTreeMap<&'a str, &'a Value>,
    /// Logical id → the condition that is false.
    excluded: BTreeMap<&'a str, &'a str>,
    /// Logical id → what users must know when it is removed (`Metadata.cdkrs.RemovalNotes`
    /// of the template, see `cdkrs_constructs::metadata::add_removal_note`).
    removal_notes: BTreeMap<&'a str, &'a str>,
}

impl<'a> Side<'a> {
    /// Reads `Resources` (an absent or non-object section is empty).
    pub fn new(template: Option<&'a Value>, conditions: &BTreeMap<String, Option<bool>>) -> Self {
        let mut present = BTreeMap::new();
        let mut excluded = BTreeMap::new();
        let resources = template
            .and_then(|t| t.get("Resources"))
            .and_then(Value::as_object);
        for (id, r) in resources.into_iter().flatten() {
            match r.get("Condition").and_then(Value::as_str) {
                Some(c) if conditions.get(c) == Some(&Some(false)) => {
                    excluded.insert(id.as_str(), c);
                }
                _ => {
                    present.insert(id.as_str(), r);
                }
            }
        }
        let removal_notes = template
            .and_then(|t| t.get("Metadata"))
            .and_then(|m| m.get(PUBLISHED))
            .and_then(|c| c.get(cdkrs_constructs::metadata::REMOVAL_NOTES_KEY))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(id, note)| Some((id.as_str(), note.as_str()?)))
            .collect();
        Self {
            present,
            excluded,
            removal_notes,
        }
    }

    /// The resource, if the template creates it.
    pub fn get(&self, id: &str) -> Option<&'a Value> {
        self.present.get(id).copied()
    }

    fn ids(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.present.keys().chain(self.excluded.keys()).copied()
    }
}

/// The type of a resource (`""` when missing or not a string).
pub(crate) fn type_of(r: &Value) -> &str {
    r.get("Type").and_then(Value::as_str).unwrap_or_default()
}

/// Whether a type is a custom resource (its provider decides what an update does).
fn is_custom(type_name: &str) -> bool {
    type_name.starts_with("Custom::") || type_name == "AWS::CloudFormation::CustomResource"
}

/// The `Metadata` key under which a custom resource publishes what its provider does on an
/// update (written by `cdkrs_constructs::custom_resource::CustomResource`).
const PUBLISHED: &str = "cdkrs";
/// The create-only JSON pointers of a custom resource (`Metadata.cdkrs.CreateOnlyProperties`).
const CREATE_ONLY_KEY: &str = "CreateOnlyProperties";
/// What a replacement (or removal) destroys (`Metadata.cdkrs.ReplacementWarning`).
const WARNING_KEY: &str = "ReplacementWarning";

/// What the diff knows of a type's replacement rules.
pub(crate) enum Rules<'a> {
    /// The registry metadata of a generated L1 type.
    Registry(&'static ResourceMeta),
    /// The create-only pointers a custom resource publishes in its `Metadata`.
    Published(Vec<&'a str>),
}

impl<'a> Rules<'a> {
    /// The rules of `resource` (its type's registry metadata, or for a custom resource the
    /// list it publishes); `None` when nothing is known.
    pub(crate) fn of(resource: &'a Value) -> Option<Rules<'a>> {
        let type_name = type_of(resource);
        if let Some(meta) = cdkrs_constructs::resource_meta(type_name) {
            return Some(Rules::Registry(meta));
        }
        if !is_custom(type_name) {
            return None;
        }
        let list = published(resource, CREATE_ONLY_KEY)?.as_array()?;
        let pointers: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
        pointers.map(Rules::Published)
    }

    fn create_only(&self) -> Vec<&str> {
        match self {
            Rules::Registry(meta) => meta.create_only.to_vec(),
            Rules::Published(list) => list.clone(),
        }
    }

    fn registry(&self) -> Option<&'static ResourceMeta> {
        match self {
            Rules::Registry(meta) => Some(meta),
            Rules::Published(_) => None,
        }
    }
}

/// `Metadata.cdkrs.<key>` of a resource.
fn published<'v>(resource: &'v Value, key: &str) -> Option<&'v Value> {
    resource.get("Metadata")?.get(PUBLISHED)?.get(key)
}

/// The replacement warning a custom resource publishes, if any.
fn replacement_warning(resource: &Value) -> Option<&str> {
    if !is_custom(type_of(resource)) {
        return None;
    }
    published(resource, WARNING_KEY)?
        .as_str()
        .filter(|w| !w.is_empty())
}

/// What else changes when a value is not the same: resources that are replaced, parameters whose
/// value changes, conditions that flip (name → why).
#[derive(Debug, Default)]
pub(crate) struct Dynamic {
    pub names: BTreeMap<String, String>,
    pub conditions: BTreeMap<String, String>,
}

/// Diffs the resources of two sides. The result is sorted by logical id.
pub(crate) fn diff(old: &Side, new: &Side, mut dynamic: Dynamic) -> Vec<ResourceChange> {
    let ids: BTreeSet<&str> = old.ids().chain(new.ids()).collect();
    let mut changes = BTreeMap::new();
    for id in ids {
        let change = match (old.get(id), new.get(id)) {
            (None, None) => None,
            (None, Some(n)) => {
                let mut c = bare(id, type_of(n), Action::Add);
                if let Some(cond) = old.excluded.get(id) {
                    c.notes
                        .push(format!("created: condition {cond} becomes true"));
                }
                Some(c)
            }
            (Some(o), None) => {
                let mut c = bare(id, type_of(o), Action::Remove);
                if let Some(cond) = new.excluded.get(id) {
                    c.notes
                        .push(format!("deleted: condition {cond} becomes false"));
                }
                if let Some(note) = new.removal_notes.get(id) {
                    c.warnings.push(format!("removed: {note}"));
                }
                Some(c)
            }
            (Some(o), Some(n)) if o == n => None,
            // Differences that mean nothing (`DependsOn: A` vs `[A]`) are no change.
            (Some(o), Some(n)) => Some(modify(id, o, n)).filter(|c| !c.property_changes.is_empty()),
        };
        if let Some(c) = change {
            changes.insert(id.to_owned(), c);
        }
    }
    cascade(&mut changes, old, new, &mut dynamic);
    changes
        .into_values()
        .map(|mut c| {
            let (o, n) = (old.get(&c.logical_id), new.get(&c.logical_id));
            finalize(&mut c, o, n);
            c
        })
        .collect()
}

fn bare(id: &str, type_name: &str, action: Action) -> ResourceChange {
    ResourceChange {
        logical_id: id.to_owned(),
        resource_type: type_name.to_owned(),
        old_resource_type: None,
        action,
        replacement: Replacement::Never,
        property_changes: Vec::new(),
        notes: Vec::new(),
        warnings: Vec::new(),
        destroys: None,
    }
}

/// The property and attribute changes of a resource present on both sides (they differ).
fn modify(id: &str, old: &Value, new: &Value) -> ResourceChange {
    let (old_type, new_type) = (type_of(old), type_of(new));
    let mut change = bare(id, new_type, Action::Modify);
    let rules = Rules::of(new);
    let meta = rules.as_ref();
    if old_type != new_type {
        change.old_resource_type = Some(old_type.to_owned());
        change.property_changes.push(PropertyChange {
            path: "Type".to_owned(),
            old: old.get("Type").cloned(),
            new: new.get("Type").cloned(),
            replacement: Replacement::Always,
            note: Some("a new type is a new resource".to_owned()),
        });
    }
    let empty = Map::new();
    let (old_obj, new_obj) = (
        old.as_object().unwrap_or(&empty),
        new.as_object().unwrap_or(&empty),
    );
    let keys: BTreeSet<&String> = old_obj.keys().chain(new_obj.keys()).collect();
    for key in keys {
        let (o, n) = (old_obj.get(key), new_obj.get(key));
        match key.as_str() {
            "Type" => {}
            "Properties" => properties(&mut change, meta, o, n),
            "DependsOn" if depends_on(o) == depends_on(n) => {}
            _ if o == n => {}
            attribute => change.property_changes.push(PropertyChange {
                path: attribute.to_owned(),
                old: o.cloned(),
                new: n.cloned(),
                // Attributes never replace; an unknown top-level key is reported the same way.
                replacement: Replacement::Never,
                note: (!NO_REPLACE_ATTRIBUTES.contains(&attribute))
                    .then(|| "not a CloudFormation resource attribute".to_owned()),
            }),
        }
    }
    change
}

/// `DependsOn` as a set: a string and a one-element list are the same, order does not matter.
fn depends_on(v: Option<&Value>) -> Option<BTreeSet<String>> {
    match v? {
        Value::Array(items) => Some(items.iter().map(compact).collect()),
        other => Some(BTreeSet::from([compact(other)])),
    }
}

fn properties(
    change: &mut ResourceChange,
    meta: Option<&Rules>,
    old: Option<&Value>,
    new: Option<&Value>,
) {
    let empty = Map::new();
    let (Some(old_props), Some(new_props)) = (as_map(old, &empty), as_map(new, &empty)) else {
        // `Properties` is not an object on one side (an intrinsic, or invalid): one change.
        if old != new {
            change.property_changes.push(PropertyChange {
                path: "Properties".to_owned(),
                old: old.cloned(),
                new: new.cloned(),
                replacement: if meta.is_some() {
                    Replacement::Always
                } else {
                    Replacement::Conditional
                },
                note: Some("Properties is not an object on one side".to_owned()),
            });
        }
        return;
    };
    let keys: BTreeSet<&String> = old_props.keys().chain(new_props.keys()).collect();
    for key in keys {
        let (o, n) = (old_props.get(key), new_props.get(key));
        if o == n {
            continue;
        }
        let (replacement, note) = predict(meta, key, o, n);
        change.property_changes.push(PropertyChange {
            path: format!("Properties.{key}"),
            old: o.cloned(),
            new: n.cloned(),
            replacement,
            note,
        });
    }
}

/// `Properties` as an object: missing is empty, anything else is not an object.
fn as_map<'v>(
    v: Option<&'v Value>,
    empty: &'v Map<String, Value>,
) -> Option<&'v Map<String, Value>> {
    match v {
        None => Some(empty),
        Some(v) => v.as_object(),
    }
}

/// The create-only pointers of a type that start at property `key`, as the path below it
/// (empty: the whole property).
fn create_only_paths(meta: &Rules, key: &str) -> Vec<Vec<String>> {
    meta.create_only()
        .into_iter()
        .filter_map(|p| p.strip_prefix("/properties/"))
        .map(|p| p.split('/').map(unescape).collect::<Vec<_>>())
        .filter(|segs| segs.first().is_some_and(|s| s == key))
        .map(|segs| segs[1..].to_vec())
        .collect()
}

/// JSON pointer unescaping (`~1` is `/`, `~0` is `~`).
fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

/// The values at `path` below `v` (`*` matches every array element or object member). A missing
/// step yields `None`; an intrinsic on the way is returned as it is (its result is unknown).
fn select<'v>(v: Option<&'v Value>, path: &[String]) -> Vec<Option<&'v Value>> {
    let Some((first, rest)) = path.split_first() else {
        return vec![v];
    };
    match v {
        None => vec![None],
        Some(Value::Object(m)) if intrinsic_object(m) => vec![v],
        Some(Value::Object(m)) if first == "*" => {
            let keys: BTreeSet<&String> = m.keys().collect();
            keys.into_iter()
                .flat_map(|k| select(m.get(k), rest))
                .collect()
        }
        Some(Value::Object(m)) => select(m.get(first), rest),
        Some(Value::Array(items)) if first == "*" => {
            items.iter().flat_map(|i| select(Some(i), rest)).collect()
        }
        Some(Value::Array(items)) => {
            select(first.parse::<usize>().ok().and_then(|i| items.get(i)), rest)
        }
        Some(_) => vec![None],
    }
}

fn intrinsic_object(m: &Map<String, Value>) -> bool {
    super::intrinsics::intrinsic(m).is_some()
}

/// Replacement of one changed property: `Always` when a create-only value differs, `Never` when
/// none does, `Conditional` for types without metadata (custom resources that publish no
/// create-only list, types we have no L1 for).
fn predict(
    meta: Option<&Rules>,
    key: &str,
    old: Option<&Value>,
    new: Option<&Value>,
) -> (Replacement, Option<String>) {
    let Some(meta) = meta else {
        return (Replacement::Conditional, None);
    };
    for path in create_only_paths(meta, key) {
        let (o, n) = (select(old, &path), select(new, &path));
        if o != n {
            let computed = o.iter().chain(&n).flatten().any(|v| contains_intrinsic(v));
            let note = computed.then(|| {
                "create-only and computed at deploy time: replaced unless old and new resolve to the same value"
                    .to_owned()
            });
            return (Replacement::Always, note);
        }
    }
    (Replacement::Never, None)
}

/// Adds the changes that follow from replaced resources, changed parameter values and flipped
/// conditions, until nothing more changes (a replacement can force another one).
fn cascade(
    changes: &mut BTreeMap<String, ResourceChange>,
    old: &Side,
    new: &Side,
    dynamic: &mut Dynamic,
) {
    loop {
        for (id, c) in changes.iter() {
            if c.action == Action::Modify && max_replacement(c) == Replacement::Always {
                dynamic
                    .names
                    .entry(id.clone())
                    .or_insert_with(|| format!("{id} is replaced"));
            }
        }
        let mut grew = false;
        for (id, n) in &new.present {
            let (Some(o), Some(props)) =
                (old.get(id), n.get("Properties").and_then(Value::as_object))
            else {
                continue;
            };
            let old_props = o.get("Properties").and_then(Value::as_object);
            let rules = Rules::of(n);
            let meta = rules.as_ref();
            for (key, value) in props {
                let Some(reason) = References::of(value)
                    .first_hit(&dynamic.names, &dynamic.conditions)
                    .map(str::to_owned)
                else {
                    continue;
                };
                let replacement = match meta {
                    None => Replacement::Conditional,
                    Some(meta) if create_only_moves(meta, key, value, dynamic) => {
                        Replacement::Always
                    }
                    Some(_) => Replacement::Never,
                };
                let note = format!("may resolve to a new value: {reason}");
                let path = format!("Properties.{key}");
                let known = changes
                    .get_mut(*id)
                    .and_then(|c| c.property_changes.iter_mut().find(|p| p.path == path));
                if let Some(known) = known {
                    // Changed in the text too: what it refers to may still force a replacement.
                    if replacement > known.replacement {
                        known.replacement = replacement;
                        known.note.get_or_insert(note);
                        grew = true;
                    }
                    continue;
                }
                if old_props.and_then(|p| p.get(key)) != Some(value) {
                    continue;
                }
                let change = changes
                    .entry((*id).to_owned())
                    .or_insert_with(|| bare(id, type_of(n), Action::Modify));
                change.property_changes.push(PropertyChange {
                    path,
                    old: Some(value.clone()),
                    new: Some(value.clone()),
                    replacement,
                    note: Some(note),
                });
                grew = true;
            }
        }
        if !grew {
            return;
        }
    }
}

/// Whether a value under a create-only pointer of property `key` refers to something that
/// changes.
fn create_only_moves(meta: &Rules, key: &str, value: &Value, dynamic: &Dynamic) -> bool {
    create_only_paths(meta, key)
        .iter()
        .flat_map(|path| select(Some(value), path))
        .flatten()
        .any(|v| {
            References::of(v)
                .first_hit(&dynamic.names, &dynamic.conditions)
                .is_some()
        })
}

fn max_replacement(c: &ResourceChange) -> Replacement {
    c.property_changes
        .iter()
        .map(|p| p.replacement)
        .max()
        .unwrap_or(Replacement::Never)
}

/// Why a removal or (possible) replacement destroys or orphans state; `None` for additions,
/// in-place updates, and stateless resources that nothing retains.
fn destruction(c: &ResourceChange, old: Option<&Value>, new: Option<&Value>) -> Option<String> {
    let old = old?;
    let verb = match (c.action, c.replacement) {
        (Action::Remove, _) => "removed",
        (Action::Modify, Replacement::Always) => "replaced",
        (Action::Modify, Replacement::Conditional) => "may be replaced",
        _ => return None,
    };
    let type_name = type_of(old);
    let why = if let Some(warning) = new
        .and_then(replacement_warning)
        .or_else(|| replacement_warning(old))
    {
        warning.to_owned()
    } else if super::STATEFUL_TYPES.contains(&type_name) {
        format!("a {type_name} holds data")
    } else {
        let attribute = if c.action == Action::Remove {
            "DeletionPolicy"
        } else {
            "UpdateReplacePolicy"
        };
        match policy(old, attribute).as_deref() {
            Some(p @ ("Retain" | "RetainExceptOnCreate" | "Snapshot")) => {
                format!("its {attribute} {p} leaves the old resource behind")
            }
            _ => return None,
        }
    };
    Some(format!("{verb}: {why}"))
}

/// Sorts the property changes and sets the resource's replacement, notes and warnings.
fn finalize(c: &mut ResourceChange, old: Option<&Value>, new: Option<&Value>) {
    finish(c, old, new);
    c.destroys = destruction(c, old, new);
}

fn finish(c: &mut ResourceChange, old: Option<&Value>, new: Option<&Value>) {
    c.property_changes.sort_by(|a, b| a.path.cmp(&b.path));
    if c.action != Action::Modify {
        if let (Action::Remove, Some(old)) = (c.action, old) {
            if let Some(warning) = replacement_warning(old) {
                c.warnings.push(format!("deleted: {warning}"));
            }
            match policy(old, "DeletionPolicy").as_deref() {
                Some("Retain") => c.warnings.push(
                    "retained: the old resource stays in the account (DeletionPolicy: Retain)"
                        .to_owned(),
                ),
                Some("Snapshot") => c.warnings.push(
                    "deleted after a final snapshot (DeletionPolicy: Snapshot)".to_owned(),
                ),
                Some("RetainExceptOnCreate") => c.warnings.push(
                    "retained: the old resource stays in the account (DeletionPolicy: RetainExceptOnCreate)"
                        .to_owned(),
                ),
                _ => {}
            }
        }
        return;
    }
    c.replacement = max_replacement(c);
    let rules = new.and_then(Rules::of);
    let meta = rules.as_ref().and_then(Rules::registry);
    if c.replacement == Replacement::Conditional {
        if is_custom(&c.resource_type) {
            c.notes.push(
                "custom resource: its provider decides whether this update replaces it".to_owned(),
            );
        } else if rules.is_none() {
            c.notes.push(format!(
                "no registry metadata for {}: cdkrs cannot tell whether this update replaces it",
                c.resource_type
            ));
        }
    }
    if c.replacement == Replacement::Never {
        return;
    }
    let (Some(old), Some(new)) = (old, new) else {
        return;
    };
    if c.replacement == Replacement::Always {
        if let Some(warning) = replacement_warning(new).or_else(|| replacement_warning(old)) {
            c.warnings.push(format!("replaced: {warning}"));
        }
    }
    let maybe = if c.replacement == Replacement::Conditional {
        "if replaced, "
    } else {
        ""
    };
    let update_replace = policy(old, "UpdateReplacePolicy");
    match update_replace.as_deref() {
        Some(p @ ("Retain" | "RetainExceptOnCreate")) => c.warnings.push(format!(
            "{maybe}retained: the old resource stays in the account (UpdateReplacePolicy: {p})"
        )),
        Some("Snapshot") => c.warnings.push(format!(
            "{maybe}the old resource is deleted after a final snapshot (UpdateReplacePolicy: Snapshot)"
        )),
        other => {
            if let Some(p @ ("Retain" | "Snapshot" | "RetainExceptOnCreate")) =
                policy(old, "DeletionPolicy").as_deref()
            {
                let urp = other.unwrap_or("not set, so Delete");
                c.warnings.push(format!(
                    "{maybe}the old resource is deleted: DeletionPolicy {p} does not apply to replacements (UpdateReplacePolicy: {urp})"
                ));
            }
        }
    }
    if c.replacement == Replacement::Always && c.old_resource_type.is_none() {
        if let Some(warning) = meta.and_then(|m| fixed_name(m, old, new)) {
            c.warnings.push(warning);
        }
    }
}

/// A `DeletionPolicy` / `UpdateReplacePolicy` value as text.
fn policy(r: &Value, attribute: &str) -> Option<String> {
    r.get(attribute).map(compact)
}

/// A replaced resource whose custom name (its only identifier) stays the same: CloudFormation
/// cannot create the new one next to the old one, so the update fails.
fn fixed_name(meta: &ResourceMeta, old: &Value, new: &Value) -> Option<String> {
    let [id] = meta.primary_identifier else {
        return None;
    };
    if meta.read_only.contains(id) {
        return None;
    }
    let name = id.strip_prefix("/properties/")?;
    let value = new.get("Properties")?.get(name)?;
    (old.get("Properties")?.get(name) == Some(value)).then(|| {
        format!(
            "{name} stays {}: CloudFormation cannot replace a resource with a custom name, so the update fails",
            compact(value)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn select_follows_nested_and_wildcard_pointers() {
        let v = json!({"Rules": [{"Prefix": "a"}, {"Prefix": "b"}, {}]});
        let path: Vec<String> = ["Rules", "*", "Prefix"].map(String::from).to_vec();
        let got = select(Some(&v), &path);
        assert_eq!(got, [Some(&json!("a")), Some(&json!("b")), None]);
        let intrinsic = json!({"Fn::If": ["C", {}, {}]});
        assert_eq!(select(Some(&intrinsic), &path), [Some(&intrinsic)]);
    }

    #[test]
    fn a_nested_create_only_pointer_replaces_only_when_its_value_changes() {
        let meta = Rules::Registry(
            cdkrs_constructs::resource_meta("AWS::EC2::VPCEndpoint").expect("generated"),
        );
        let meta = &meta;
        let old = json!({"PrivateDnsPreference": "a", "Other": 1});
        let only_other = json!({"PrivateDnsPreference": "a", "Other": 2});
        let pref = json!({"PrivateDnsPreference": "b", "Other": 1});
        assert_eq!(
            predict(Some(meta), "DnsOptions", Some(&old), Some(&only_other)).0,
            Replacement::Never
        );
        assert_eq!(
            predict(Some(meta), "DnsOptions", Some(&old), Some(&pref)).0,
            Replacement::Always
        );
    }

    #[test]
    fn depends_on_string_and_one_element_list_are_the_same() {
        assert_eq!(
            depends_on(Some(&json!("A"))),
            depends_on(Some(&json!(["A"])))
        );
    }
}

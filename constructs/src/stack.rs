//! `Stack` and `App`: adding resources, parameters, conditions, mappings and outputs, and synth
//! with whole-template validation.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use crate::error::{SynthError, SynthErrors};
use crate::resource::{ErasedResource, Handle, Resource, ResourceMeta, ResourceOptions};
use crate::template::Template;
use crate::value::{collect, ConditionExpr, Expr, Issue, StackRef, Target, TargetKind};
use crate::Value;

/// Writing a small serializable value into a string (resource attributes at synth).
mod erased_json {
    /// A value that writes itself as compact JSON.
    pub(super) trait Json {
        fn write(&self, out: &mut String);
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, out: &mut String) {
            // Serializing plain data into a String cannot fail.
            out.push_str(&serde_json::to_string(self).expect("plain data serializes"));
        }
    }
}

/// CloudFormation's limits, checked at synth.
pub mod limits {
    /// Resources per stack.
    pub const RESOURCES: usize = 500;
    /// Parameters per stack.
    pub const PARAMETERS: usize = 200;
    /// Outputs per stack.
    pub const OUTPUTS: usize = 200;
    /// Mappings per stack.
    pub const MAPPINGS: usize = 200;
    /// Template body size in bytes (from S3; inline bodies are limited to 51,200 bytes).
    pub const BODY_BYTES: usize = 1_048_576;
    /// Logical ID length.
    pub const LOGICAL_ID_LEN: usize = 255;
}

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// FNV-1a: logical ids are short, trusted keys, so a cheap hash beats SipHash here (synth looks
/// an id up for every reference).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A parameter declaration; `T` is what a `Ref` to it yields.
#[derive(Clone, Debug)]
pub struct Parameter<T> {
    decl: Map<String, Json>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Parameter<T> {
    fn of(type_name: &str) -> Self {
        let mut decl = Map::new();
        decl.insert("Type".into(), Json::String(type_name.into()));
        Parameter {
            decl,
            _type: PhantomData,
        }
    }

    fn set(mut self, key: &str, v: Json) -> Self {
        self.decl.insert(key.into(), v);
        self
    }

    /// `Description`.
    pub fn description(self, text: &str) -> Self {
        self.set("Description", json!(text))
    }

    /// `NoEcho: true`: the value is masked in the console and API answers.
    pub fn no_echo(self) -> Self {
        self.set("NoEcho", json!(true))
    }

    /// `ConstraintDescription`: shown when a constraint fails.
    pub fn constraint_description(self, text: &str) -> Self {
        self.set("ConstraintDescription", json!(text))
    }
}

impl Parameter<String> {
    /// A `String` parameter.
    pub fn string() -> Self {
        Parameter::of("String")
    }

    /// An AWS-specific or SSM parameter type that yields a string (`AWS::EC2::VPC::Id`,
    /// `AWS::SSM::Parameter::Value<String>`).
    pub fn aws_type(type_name: &str) -> Self {
        Parameter::of(type_name)
    }

    /// `Default`.
    pub fn default_value(self, v: &str) -> Self {
        self.set("Default", json!(v))
    }

    /// `AllowedValues`.
    pub fn allowed_values<'a>(self, values: impl IntoIterator<Item = &'a str>) -> Self {
        let v: Vec<Json> = values.into_iter().map(|s| json!(s)).collect();
        self.set("AllowedValues", Json::Array(v))
    }

    /// `AllowedPattern` (a Java regular expression).
    pub fn allowed_pattern(self, pattern: &str) -> Self {
        self.set("AllowedPattern", json!(pattern))
    }

    /// `MinLength`.
    pub fn min_length(self, n: u32) -> Self {
        self.set("MinLength", json!(n))
    }

    /// `MaxLength`.
    pub fn max_length(self, n: u32) -> Self {
        self.set("MaxLength", json!(n))
    }
}

impl Parameter<i64> {
    /// A `Number` parameter used as an integer.
    pub fn integer() -> Self {
        Parameter::of("Number")
    }

    /// `Default`.
    pub fn default_value(self, v: i64) -> Self {
        self.set("Default", json!(v))
    }

    /// `MinValue`.
    pub fn min_value(self, v: i64) -> Self {
        self.set("MinValue", json!(v))
    }

    /// `MaxValue`.
    pub fn max_value(self, v: i64) -> Self {
        self.set("MaxValue", json!(v))
    }

    /// `AllowedValues`.
    pub fn allowed_values(self, values: impl IntoIterator<Item = i64>) -> Self {
        let v: Vec<Json> = values.into_iter().map(|n| json!(n)).collect();
        self.set("AllowedValues", Json::Array(v))
    }
}

impl Parameter<Vec<String>> {
    /// A `CommaDelimitedList` parameter.
    pub fn comma_delimited_list() -> Self {
        Parameter::of("CommaDelimitedList")
    }

    /// A list-valued AWS-specific type (`List<AWS::EC2::Subnet::Id>`).
    pub fn aws_list_type(type_name: &str) -> Self {
        Parameter::of(type_name)
    }

    /// `Default` (written comma-separated, as CloudFormation expects).
    pub fn default_value<'a>(self, values: impl IntoIterator<Item = &'a str>) -> Self {
        let joined: Vec<&str> = values.into_iter().collect();
        self.set("Default", json!(joined.join(",")))
    }
}

/// A handle to a parameter: `value()` is its `Ref`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamHandle<T> {
    target: Target,
    _type: PhantomData<fn() -> T>,
}

impl<T> ParamHandle<T> {
    /// `Ref` of the parameter.
    pub fn value(&self) -> Value<T> {
        Value::from_expr(Expr::Ref(self.target.clone()))
    }

    /// The logical ID.
    pub fn logical_id(&self) -> &str {
        &self.target.id
    }
}

/// A handle to a named condition, for `Condition:` attributes and `Fn::If`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionHandle {
    target: Target,
}

impl ConditionHandle {
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// The logical ID.
    pub fn logical_id(&self) -> &str {
        &self.target.id
    }
}

/// A mapping's contents: top-level key -> second-level key -> value.
pub type MappingTable = BTreeMap<String, BTreeMap<String, Json>>;

/// A handle to a mapping, for `Fn::FindInMap`.
#[derive(Clone, Debug, PartialEq)]
pub struct MappingHandle {
    target: Target,
}

impl MappingHandle {
    /// `Fn::FindInMap` with the given top-level and second-level keys.
    pub fn find(
        &self,
        top_key: impl Into<Value<String>>,
        second_key: impl Into<Value<String>>,
    ) -> Value<String> {
        Value::from_expr(Expr::FindInMap(
            self.target.clone(),
            Box::new(top_key.into().into_expr()),
            Box::new(second_key.into().into_expr()),
        ))
    }
}

/// A stack output.
#[derive(Clone, Debug)]
pub struct Output {
    value: Expr,
    description: Option<String>,
    export: Option<Expr>,
    condition: Option<ConditionHandle>,
}

impl Output {
    /// An output of the given value.
    pub fn new<T>(value: Value<T>) -> Self {
        Output {
            value: value.into_expr(),
            description: None,
            export: None,
            condition: None,
        }
    }

    /// `Description`.
    pub fn description(mut self, text: &str) -> Self {
        self.description = Some(text.to_owned());
        self
    }

    /// `Export.Name`: other stacks can `Fn::ImportValue` it.
    pub fn export(mut self, name: impl Into<Value<String>>) -> Self {
        self.export = Some(name.into().into_expr());
        self
    }

    /// `Condition`: the output exists only when the condition holds.
    pub fn condition(mut self, c: &ConditionHandle) -> Self {
        self.condition = Some(c.clone());
        self
    }
}

struct Entry {
    id: Arc<str>,
    resource: Box<dyn ErasedResource>,
    options: ResourceOptions,
}

/// A CloudFormation stack under construction: a plain value that synthesizes into a template.
pub struct Stack {
    me: StackRef,
    description: Option<String>,
    metadata: BTreeMap<String, Json>,
    resources: Vec<Entry>,
    index: HashMap<Arc<str>, usize, BuildHasherDefault<Fnv>>,
    parameters: Vec<(Arc<str>, Map<String, Json>)>,
    conditions: Vec<(Arc<str>, ConditionExpr)>,
    mappings: Vec<(Arc<str>, MappingTable)>,
    outputs: Vec<(String, Output)>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("name", &self.me.name)
            .field("resources", &self.resources.len())
            .finish()
    }
}

impl Stack {
    /// An empty stack with the given CloudFormation stack name.
    pub fn new(name: &str) -> Self {
        Stack {
            me: StackRef {
                serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
                name: Arc::from(name),
            },
            description: None,
            metadata: BTreeMap::new(),
            resources: Vec::new(),
            index: HashMap::default(),
            parameters: Vec::new(),
            conditions: Vec::new(),
            mappings: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// The stack name.
    pub fn name(&self) -> &str {
        &self.me.name
    }

    /// Sets the template `Description`.
    pub fn set_description(&mut self, text: &str) {
        self.description = Some(text.to_owned());
    }

    /// Sets a top-level `Metadata` entry.
    pub fn set_metadata(&mut self, key: &str, value: Json) {
        self.metadata.insert(key.to_owned(), value);
    }

    /// The template's `Metadata` entry `key`, if set.
    pub fn metadata(&self, key: &str) -> Option<&Json> {
        self.metadata.get(key)
    }

    /// Adds a resource under `logical_id` and returns its typed handle. A duplicate or invalid
    /// id is reported by [`Stack::synth`].
    pub fn add<R: Resource>(&mut self, logical_id: &str, resource: R) -> Handle<R> {
        self.add_with(logical_id, resource, ResourceOptions::default())
    }

    /// Adds a resource with `DependsOn`, `Condition`, policies or metadata.
    pub fn add_with<R: Resource>(
        &mut self,
        logical_id: &str,
        resource: R,
        options: ResourceOptions,
    ) -> Handle<R> {
        let id: Arc<str> = Arc::from(logical_id);
        self.index.entry(id.clone()).or_insert(self.resources.len());
        self.resources.push(Entry {
            id: id.clone(),
            resource: Box::new(resource),
            options,
        });
        Handle::new(self.me.clone(), id)
    }

    fn entry_index<R>(&self, handle: &Handle<R>) -> Option<usize> {
        if handle.target().stack != self.me {
            return None;
        }
        self.index.get(handle.logical_id()).copied()
    }

    /// The resource behind a handle of this stack, to change it after adding it.
    ///
    /// Returns `None` for a handle of another stack.
    pub fn resource_mut<R: Resource>(&mut self, handle: &Handle<R>) -> Option<&mut R> {
        let i = self.entry_index(handle)?;
        self.resources[i].resource.as_any_mut().downcast_mut::<R>()
    }

    /// The resource behind a handle of this stack.
    pub fn resource<R: Resource>(&self, handle: &Handle<R>) -> Option<&R> {
        let i = self.entry_index(handle)?;
        self.resources[i].resource.as_any().downcast_ref::<R>()
    }

    /// The handle of the resource of type `R` with this logical id, if there is one.
    pub(crate) fn find_handle<R: Resource>(&self, logical_id: &str) -> Option<Handle<R>> {
        let &i = self.index.get(logical_id)?;
        let e = &self.resources[i];
        e.resource.as_any().downcast_ref::<R>()?;
        Some(Handle::new(self.me.clone(), e.id.clone()))
    }

    /// The attributes (`DependsOn`, `Condition`, policies, metadata) of a resource of this stack.
    pub fn options_mut<R>(&mut self, handle: &Handle<R>) -> Option<&mut ResourceOptions> {
        let i = self.entry_index(handle)?;
        Some(&mut self.resources[i].options)
    }

    /// Adds a parameter and returns its handle.
    pub fn add_parameter<T>(
        &mut self,
        logical_id: &str,
        parameter: Parameter<T>,
    ) -> ParamHandle<T> {
        let id: Arc<str> = Arc::from(logical_id);
        self.parameters.push((id.clone(), parameter.decl));
        ParamHandle {
            target: self.target(id, TargetKind::Parameter),
            _type: PhantomData,
        }
    }

    /// Adds a named condition and returns its handle.
    pub fn add_condition(&mut self, logical_id: &str, expr: ConditionExpr) -> ConditionHandle {
        let id: Arc<str> = Arc::from(logical_id);
        self.conditions.push((id.clone(), expr));
        ConditionHandle {
            target: self.target(id, TargetKind::Condition),
        }
    }

    /// Adds a mapping (`top key -> second key -> value`) and returns its handle.
    pub fn add_mapping(&mut self, logical_id: &str, map: MappingTable) -> MappingHandle {
        let id: Arc<str> = Arc::from(logical_id);
        self.mappings.push((id.clone(), map));
        MappingHandle {
            target: self.target(id, TargetKind::Mapping),
        }
    }

    /// Adds an output.
    pub fn add_output(&mut self, logical_id: &str, output: Output) {
        self.outputs.push((logical_id.to_owned(), output));
    }

    fn target(&self, id: Arc<str>, kind: TargetKind) -> Target {
        Target {
            stack: self.me.clone(),
            id,
            kind,
        }
    }

    /// Number of resources added so far.
    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }

    /// Validates the whole stack and produces its template. Every problem is reported at once.
    pub fn synth(&self) -> Result<Template, SynthErrors> {
        Synth::new(self).run()
    }
}

/// The state of one synth run.
struct Synth<'a> {
    stack: &'a Stack,
    name: String,
    errors: Vec<SynthError>,
}

impl<'a> Synth<'a> {
    fn new(stack: &'a Stack) -> Self {
        Synth {
            stack,
            name: stack.me.name.to_string(),
            errors: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Template, SynthErrors> {
        let s = self.stack;
        self.check_ids();
        self.check_limits();

        let mut root = Map::new();
        root.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        if let Some(d) = &s.description {
            root.insert("Description".into(), json!(d));
        }
        if !s.metadata.is_empty() {
            root.insert("Metadata".into(), json!(s.metadata));
        }
        if !s.parameters.is_empty() {
            let params: Map<String, Json> = s
                .parameters
                .iter()
                .map(|(id, decl)| (id.to_string(), Json::Object(decl.clone())))
                .collect();
            root.insert("Parameters".into(), Json::Object(params));
        }
        if !s.mappings.is_empty() {
            let maps: Map<String, Json> = s
                .mappings
                .iter()
                .map(|(id, m)| (id.to_string(), json!(m)))
                .collect();
            root.insert("Mappings".into(), Json::Object(maps));
        }
        if !s.conditions.is_empty() {
            let mut conds = Map::new();
            for (id, expr) in &s.conditions {
                let user = format!("condition {id}");
                if let Some(v) = self.serialize(&user, expr) {
                    conds.insert(id.to_string(), v);
                }
            }
            root.insert("Conditions".into(), Json::Object(conds));
        }

        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        // Each resource is written straight to compact JSON, sorted by logical id.
        let mut resources: BTreeMap<&str, String> = BTreeMap::new();
        for e in &s.resources {
            let user = e.id.to_string();
            let (props, found) = collect(|| e.resource.to_json_string());
            let props = match props {
                Ok(p) => p,
                Err(err) => {
                    self.errors.push(SynthError::Serialize {
                        stack: self.name.clone(),
                        user,
                        message: err.to_string(),
                    });
                    continue;
                }
            };
            let deps = edges.entry(&e.id).or_default();
            for t in &found.targets {
                if self.check_target(&user, t) && t.kind == TargetKind::Resource {
                    if let Some(&i) = s.index.get(&t.id) {
                        deps.insert(&s.resources[i].id);
                    }
                }
            }
            for d in &e.options.depends_on {
                if self.check_target(&user, &d.0) {
                    if let Some(&i) = s.index.get(&d.0.id) {
                        deps.insert(&s.resources[i].id);
                    }
                }
            }
            if let Some(c) = &e.options.condition {
                self.check_target(&user, c.target());
            }
            let mut metadata = e.options.metadata.clone();
            if !e.options.depends_on_if.is_empty() {
                let mut by_condition = Map::new();
                for (condition, handles) in &e.options.depends_on_if {
                    for h in handles {
                        if self.check_target(&user, &h.0) {
                            if let Some(&i) = s.index.get(&h.0.id) {
                                deps.insert(&s.resources[i].id);
                            }
                        }
                    }
                    let refs: Value<Vec<String>> = Value::list(
                        handles
                            .iter()
                            .map(|h| Value::<String>::from_expr(Expr::Ref(h.0.clone()))),
                    );
                    let when = crate::if_(condition, refs, Value::<Vec<String>>::list([]));
                    if let Some(j) = self.serialize(&user, &when) {
                        by_condition.insert(condition.logical_id().to_owned(), j);
                    }
                }
                match metadata.get_or_insert_with(|| json!({})).as_object_mut() {
                    Some(m) => {
                        // Beside what else the resource publishes under `cdkrs` (a custom
                        // resource's create-only list, for one).
                        let cdkrs = m.entry("cdkrs").or_insert_with(|| json!({}));
                        match cdkrs.as_object_mut() {
                            Some(c) => {
                                c.insert("DependsOnIf".into(), json!(by_condition));
                            }
                            None => *cdkrs = json!({ "DependsOnIf": by_condition }),
                        }
                    }
                    None => self.errors.push(SynthError::Serialize {
                        stack: self.name.clone(),
                        user: user.clone(),
                        message: "Metadata is not an object, so the conditional dependencies cannot be added to it".into(),
                    }),
                }
            }
            self.report_issues(&user, &found.issues);
            let meta = e.resource.meta();
            self.check_required(&user, &meta, &props);

            // A DependsOn that a Ref or GetAtt of the resource already implies is left out
            // (cfn-lint W3005): the order is the same either way.
            let mut ids: Vec<&str> =
                e.options
                    .depends_on
                    .iter()
                    .map(|d| d.logical_id())
                    .filter(|id| {
                        !found.targets.iter().any(|t| {
                            t.kind == TargetKind::Resource && t.stack == s.me && &*t.id == *id
                        })
                    })
                    .collect();
            ids.sort_unstable();
            ids.dedup();
            // The attributes in sorted key order, as every map of the template.
            let mut r = String::with_capacity(props.len() + 128);
            let field = |r: &mut String, key: &str, value: &dyn erased_json::Json| {
                r.push(if r.is_empty() { '{' } else { ',' });
                r.push('"');
                r.push_str(key);
                r.push_str("\":");
                value.write(r);
            };
            if let Some(c) = &e.options.condition {
                field(&mut r, "Condition", &&*c.target().id);
            }
            if let Some(p) = e.options.deletion_policy {
                field(&mut r, "DeletionPolicy", &p);
            }
            if !ids.is_empty() {
                field(&mut r, "DependsOn", &ids);
            }
            if let Some(m) = &metadata {
                field(&mut r, "Metadata", m);
            }
            if props != "{}" {
                r.push_str(if r.is_empty() { "{" } else { "," });
                r.push_str("\"Properties\":");
                r.push_str(&props);
            }
            field(&mut r, "Type", &meta.type_name);
            if let Some(p) = e.options.update_replace_policy {
                field(&mut r, "UpdateReplacePolicy", &p);
            }
            r.push('}');
            resources.insert(&e.id, r);
        }
        self.check_cycles(&edges);

        if !s.outputs.is_empty() {
            let mut outs = Map::new();
            for (id, o) in &s.outputs {
                let user = format!("output {id}");
                let mut m = Map::new();
                if let Some(d) = &o.description {
                    m.insert("Description".into(), json!(d));
                }
                if let Some(v) = self.serialize(&user, &o.value) {
                    m.insert("Value".into(), v);
                }
                if let Some(x) = &o.export {
                    if let Some(v) = self.serialize(&user, x) {
                        m.insert("Export".into(), json!({ "Name": v }));
                    }
                }
                if let Some(c) = &o.condition {
                    self.check_target(&user, c.target());
                    m.insert("Condition".into(), json!(&*c.target().id));
                }
                outs.insert(id.clone(), Json::Object(m));
            }
            root.insert("Outputs".into(), Json::Object(outs));
        }

        // Every other top-level key sorts before `Resources`, so it is written last.
        let size_hint: usize = resources.values().map(String::len).sum();
        let mut compact = String::with_capacity(size_hint + 4096);
        compact.push('{');
        for (k, v) in &root {
            compact.push_str(&serde_json::to_string(k).expect("a string serializes"));
            compact.push(':');
            compact.push_str(&serde_json::to_string(v).expect("a JSON value serializes"));
            compact.push(',');
        }
        compact.push_str("\"Resources\":{");
        for (i, (id, r)) in resources.iter().enumerate() {
            if i > 0 {
                compact.push(',');
            }
            compact.push_str(&serde_json::to_string(id).expect("a string serializes"));
            compact.push(':');
            compact.push_str(r);
        }
        compact.push_str("}}");
        let size = compact.len();
        if size > limits::BODY_BYTES {
            self.errors.push(SynthError::TemplateTooLarge {
                stack: self.name.clone(),
                size,
                limit: limits::BODY_BYTES,
            });
        }
        if self.errors.is_empty() {
            Ok(Template::from_compact(compact))
        } else {
            // The same problem met twice (a foreign handle used in two places of one resource)
            // is listed once.
            let mut seen = Vec::new();
            self.errors.retain(|e| {
                let new = !seen.contains(e);
                if new {
                    seen.push(e.clone());
                }
                new
            });
            Err(SynthErrors(self.errors))
        }
    }

    /// A required property must be present, neither `null` nor `AWS::NoValue`. Only the top
    /// level of the written JSON is read (borrowed, nothing nested is parsed).
    fn check_required(&mut self, user: &str, meta: &ResourceMeta, props: &str) {
        if meta.required.is_empty() {
            return;
        }
        let top = top_level_members(props);
        for &required in meta.required {
            let present = top.iter().any(|(k, raw)| {
                *k == required && *raw != "null" && *raw != r#"{"Ref":"AWS::NoValue"}"#
            });
            if !present {
                self.errors.push(SynthError::MissingRequired {
                    stack: self.name.clone(),
                    id: user.to_owned(),
                    type_name: meta.type_name,
                    property: required,
                });
            }
        }
    }

    /// Turns the problems an intrinsic reported while being written into synth errors.
    fn report_issues(&mut self, user: &str, issues: &[Issue]) {
        let s = self.stack;
        for issue in issues {
            let error = match issue {
                Issue::UnboundSub(name) => SynthError::UnboundSubVariable {
                    stack: self.name.clone(),
                    user: user.to_owned(),
                    name: name.clone(),
                },
                Issue::Arity(function, count) => SynthError::ConditionArity {
                    stack: self.name.clone(),
                    user: user.to_owned(),
                    function,
                    count: *count,
                },
                Issue::RawRef { kind, id } => {
                    let known = match *kind {
                        "condition" => s.conditions.iter().any(|(c, _)| &**c == id),
                        "resource" => s.index.contains_key(id.as_str()),
                        _ => {
                            s.index.contains_key(id.as_str())
                                || s.parameters.iter().any(|(p, _)| &**p == id)
                        }
                    };
                    if known {
                        continue;
                    }
                    SynthError::DanglingReference {
                        stack: self.name.clone(),
                        user: user.to_owned(),
                        kind,
                        id: id.clone(),
                    }
                }
            };
            self.errors.push(error);
        }
    }

    /// Serializes a small value (a condition, an output), checking the references and
    /// intrinsics inside it.
    fn serialize(&mut self, user: &str, v: &impl serde::Serialize) -> Option<Json> {
        let (json, found) = collect(|| serde_json::to_value(v));
        for t in &found.targets {
            self.check_target(user, t);
        }
        self.report_issues(user, &found.issues);
        match json {
            Ok(j) => Some(j),
            Err(err) => {
                self.errors.push(SynthError::Serialize {
                    stack: self.name.clone(),
                    user: user.to_owned(),
                    message: err.to_string(),
                });
                None
            }
        }
    }

    /// A reference must point into this stack, at something that exists.
    fn check_target(&mut self, user: &str, t: &Target) -> bool {
        if t.stack != self.stack.me {
            self.errors.push(SynthError::ForeignReference {
                stack: self.name.clone(),
                user: user.to_owned(),
                kind: t.kind.noun(),
                id: t.id.to_string(),
                other: t.stack.name.to_string(),
            });
            return false;
        }
        true
    }

    fn check_ids(&mut self) {
        let s = self.stack;
        let name = self.name.clone();
        if !valid_stack_name(&name) {
            self.errors
                .push(SynthError::InvalidStackName { name: name.clone() });
        }
        let seen_ids = |errors: &mut Vec<SynthError>, what: &'static str, ids: Vec<&str>| {
            let mut seen = BTreeSet::new();
            let mut reported = BTreeSet::new();
            for id in ids {
                if !valid_logical_id(id) && reported.insert(("invalid", id)) {
                    errors.push(SynthError::InvalidId {
                        stack: name.clone(),
                        id: id.to_owned(),
                    });
                }
                if !seen.insert(id) && reported.insert(("dup", id)) {
                    errors.push(SynthError::DuplicateId {
                        stack: name.clone(),
                        what,
                        id: id.to_owned(),
                    });
                }
            }
        };
        let mut shared: Vec<&str> = s.resources.iter().map(|e| &*e.id).collect();
        shared.extend(s.parameters.iter().map(|(id, _)| &**id));
        seen_ids(&mut self.errors, "resource or parameter", shared);
        seen_ids(
            &mut self.errors,
            "condition",
            s.conditions.iter().map(|(id, _)| &**id).collect(),
        );
        seen_ids(
            &mut self.errors,
            "mapping",
            s.mappings.iter().map(|(id, _)| &**id).collect(),
        );
        seen_ids(
            &mut self.errors,
            "output",
            s.outputs.iter().map(|(id, _)| id.as_str()).collect(),
        );
    }

    fn check_limits(&mut self) {
        let s = self.stack;
        for (what, count, limit) in [
            ("resources", s.resources.len(), limits::RESOURCES),
            ("parameters", s.parameters.len(), limits::PARAMETERS),
            ("outputs", s.outputs.len(), limits::OUTPUTS),
            ("mappings", s.mappings.len(), limits::MAPPINGS),
        ] {
            if count > limit {
                self.errors.push(SynthError::Limit {
                    stack: self.name.clone(),
                    what,
                    count,
                    limit,
                });
            }
        }
    }

    /// Reports dependency cycles as the paths that close them: at least one for every group of
    /// resources that depend on each other, each path once. (Two cycles that share resources
    /// may be reported as one; breaking it shows the next.)
    fn check_cycles(&mut self, edges: &BTreeMap<&str, BTreeSet<&str>>) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let mut mark: BTreeMap<&str, Mark> = edges.keys().map(|k| (*k, Mark::New)).collect();
        let mut cycles: BTreeSet<Vec<&str>> = BTreeSet::new();
        for &start in edges.keys() {
            if mark[start] != Mark::New {
                continue;
            }
            // Iterative DFS: (node, remaining neighbours).
            let mut path: Vec<&str> = vec![start];
            let mut stack: Vec<std::collections::btree_set::Iter<'_, &str>> =
                vec![edges[start].iter()];
            mark.insert(start, Mark::Active);
            while let Some(iter) = stack.last_mut() {
                match iter.next() {
                    Some(&next) => match mark.get(next).copied().unwrap_or(Mark::Done) {
                        Mark::New => {
                            mark.insert(next, Mark::Active);
                            path.push(next);
                            stack.push(edges[next].iter());
                        }
                        Mark::Active => {
                            let pos = path.iter().position(|n| *n == next).unwrap_or(0);
                            let mut cycle: Vec<&str> = path[pos..].to_vec();
                            // Rotate to start at the smallest id, so each cycle is reported once.
                            let min = cycle
                                .iter()
                                .enumerate()
                                .min_by_key(|(_, id)| **id)
                                .map(|(i, _)| i)
                                .unwrap_or(0);
                            cycle.rotate_left(min);
                            cycles.insert(cycle);
                        }
                        Mark::Done => {}
                    },
                    None => {
                        stack.pop();
                        if let Some(done) = path.pop() {
                            mark.insert(done, Mark::Done);
                        }
                    }
                }
            }
        }
        for cycle in cycles {
            let mut p = cycle.join(" -> ");
            p.push_str(" -> ");
            p.push_str(cycle[0]);
            self.errors.push(SynthError::Cycle {
                stack: self.name.clone(),
                path: p,
            });
        }
    }
}

/// The members of a compact JSON object as `(key, raw value text)`, read at the top level only:
/// one pass over the bytes, nothing nested is parsed or allocated. Keys are taken as written
/// (property names have no escapes). Malformed input yields the members read so far.
fn top_level_members(json: &str) -> Vec<(&str, &str)> {
    let b = json.as_bytes();
    let mut out = Vec::new();
    let mut i = match b.first() {
        Some(b'{') => 1,
        _ => return out,
    };
    // The end of the string literal starting at `start` (the index after its closing quote).
    let string_end = |start: usize| -> Option<usize> {
        let mut j = start + 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return Some(j + 1),
                _ => j += 1,
            }
        }
        None
    };
    while i < b.len() && b[i] == b'"' {
        let Some(key_end) = string_end(i) else { break };
        let key = &json[i + 1..key_end - 1];
        let value_start = key_end + 1; // past ':'
        let mut depth = 0usize;
        let mut j = value_start;
        while j < b.len() {
            match b[j] {
                b'"' => match string_end(j) {
                    Some(e) => {
                        j = e;
                        continue;
                    }
                    None => return out,
                },
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth > 0 => depth -= 1,
                b',' | b'}' if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        if j > b.len() || value_start > j {
            break;
        }
        out.push((key, &json[value_start..j]));
        if b.get(j) == Some(&b',') {
            i = j + 1;
        } else {
            break;
        }
    }
    out
}

/// CloudFormation's logical-ID rule: 1 to 255 ASCII alphanumerics.
pub fn valid_logical_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= limits::LOGICAL_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// CloudFormation's stack-name rule: a letter, then letters, digits and hyphens; 128 at most.
pub fn valid_stack_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 128
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Several stacks synthesized together.
#[derive(Debug, Default)]
pub struct App {
    stacks: Vec<Stack>,
}

impl App {
    /// An empty app.
    pub fn new() -> Self {
        App::default()
    }

    /// Adds a stack.
    pub fn add_stack(&mut self, stack: Stack) {
        self.stacks.push(stack);
    }

    /// The stacks, in the order added.
    pub fn stacks(&self) -> &[Stack] {
        &self.stacks
    }

    /// Synthesizes every stack: `(stack name, template)` pairs, or every problem of every stack.
    pub fn synth(&self) -> Result<Vec<(String, Template)>, SynthErrors> {
        let mut errors = Vec::new();
        let mut out = Vec::new();
        let mut names = BTreeSet::new();
        for s in &self.stacks {
            if !names.insert(s.name()) {
                errors.push(SynthError::DuplicateStack {
                    name: s.name().to_owned(),
                });
            }
            match s.synth() {
                Ok(t) => out.push((s.name().to_owned(), t)),
                Err(SynthErrors(e)) => errors.extend(e),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(SynthErrors(errors))
        }
    }
}
#[cfg(test)]
#[path = "stack_tests.rs"]
mod tests;

//! `Value<T>`: a CloudFormation value that is either a literal or an intrinsic function.
//!
//! Values are typed at the API (`Value<String>`, `Value<i64>`, `Value<Vec<String>>`, `Value<Json>`)
//! and untyped inside (an [`Expr`] tree), so one serializer writes every intrinsic's JSON shape.
//! References (`Ref`, `Fn::GetAtt`, conditions, mappings) can only be made from handles that a
//! [`Stack`](crate::Stack) hands out, so a dangling reference cannot be written.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// The identity of a stack, carried by every handle so a reference used in the wrong stack is
/// detected at synth.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StackRef {
    pub(crate) serial: u64,
    pub(crate) name: Arc<str>,
}

/// What a reference points at inside a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TargetKind {
    Resource,
    Parameter,
    Condition,
    Mapping,
}

impl TargetKind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            TargetKind::Resource => "resource",
            TargetKind::Parameter => "parameter",
            TargetKind::Condition => "condition",
            TargetKind::Mapping => "mapping",
        }
    }
}

/// A reference target: a logical ID in a given stack.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    pub(crate) stack: StackRef,
    pub(crate) id: Arc<str>,
    pub(crate) kind: TargetKind,
}

/// A pseudo parameter (`Ref: AWS::Region` and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pseudo {
    /// `AWS::AccountId`
    AccountId,
    /// `AWS::NotificationARNs` (a list)
    NotificationArns,
    /// `AWS::Partition`
    Partition,
    /// `AWS::Region`
    Region,
    /// `AWS::StackId`
    StackId,
    /// `AWS::StackName`
    StackName,
    /// `AWS::URLSuffix`
    UrlSuffix,
}

impl Pseudo {
    /// The name CloudFormation uses (`AWS::Region`).
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }

    /// `Ref` of this pseudo parameter as a string value.
    ///
    /// `AWS::NotificationARNs` is a list: use [`Pseudo::notification_arns`] for it.
    pub fn value(self) -> Value<String> {
        Value::from_expr(Expr::Pseudo(self))
    }

    /// `Ref: AWS::NotificationARNs`, the list of the stack's notification topics.
    pub fn notification_arns() -> Value<Vec<String>> {
        Value::from_expr(Expr::Pseudo(Pseudo::NotificationArns))
    }
}

/// Every pseudo parameter name: what `Fn::Sub` may use without a variable.
pub(crate) const PSEUDO_NAMES: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// The untyped expression tree behind a [`Value`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    Lit(serde_json::Value),
    /// An IAM policy document, kept as statements so grants append without rebuilding it.
    Policy(Box<crate::policy::PolicyDocument>),
    List(Vec<Expr>),
    Map(BTreeMap<String, Expr>),
    Ref(Target),
    GetAtt(Target, &'static str),
    Pseudo(Pseudo),
    NoValue,
    Sub(String, BTreeMap<String, Expr>),
    Join(String, Box<Expr>),
    Select(Box<Expr>, Box<Expr>),
    GetAzs(Box<Expr>),
    If(Target, Box<Expr>, Box<Expr>),
    ImportValue(Box<Expr>),
    Split(String, Box<Expr>),
    Cidr(Box<Expr>, Box<Expr>, Box<Expr>),
    Base64(Box<Expr>),
    FindInMap(Target, Box<Expr>, Box<Expr>),
    Equals(Box<Expr>, Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Condition(Target),
}

/// A problem of an intrinsic, found while serializing it (synth turns it into a
/// [`SynthError`](crate::SynthError) naming where it sits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Issue {
    /// A `${name}` of a `Fn::Sub` with no variable of that name.
    UnboundSub(String),
    /// `Fn::And` / `Fn::Or` with a count outside 2 to 10.
    Arity(&'static str, usize),
    /// A reference written as raw JSON inside a literal: synth checks that the stack defines it.
    RawRef {
        /// `resource or parameter`, `resource` or `condition`.
        kind: &'static str,
        /// The referenced id.
        id: String,
    },
}

/// What one serialization met: the handle-made references and the problems of intrinsics.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) targets: Vec<Target>,
    pub(crate) issues: Vec<Issue>,
}

thread_local! {
    /// What the current serialization met; see [`collect`].
    static COLLECTOR: RefCell<Option<Collected>> = const { RefCell::new(None) };
}

/// Runs `f` (a serialization) and returns its result together with every reference target the
/// serialized values contained and every problem of their intrinsics. Synth uses this to find
/// dependencies, foreign-stack handles and bad intrinsics, whatever struct they sit in, while
/// writing the JSON once.
pub(crate) fn collect<R>(f: impl FnOnce() -> R) -> (R, Collected) {
    let previous = COLLECTOR.with(|c| c.borrow_mut().replace(Collected::default()));
    let out = f();
    let found = COLLECTOR.with(|c| {
        let mut slot = c.borrow_mut();
        let found = slot.take().unwrap_or_default();
        *slot = previous;
        found
    });
    (out, found)
}

fn record(target: &Target) {
    COLLECTOR.with(|c| {
        if let Some(v) = c.borrow_mut().as_mut() {
            v.targets.push(target.clone());
        }
    });
}

fn report(issue: Issue) {
    COLLECTOR.with(|c| {
        if let Some(v) = c.borrow_mut().as_mut() {
            if !v.issues.contains(&issue) {
                v.issues.push(issue);
            }
        }
    });
}

fn check_sub(text: &str, mut has_var: impl FnMut(&str) -> bool) {
    for name in sub_placeholders(text) {
        if !has_var(name) {
            report(Issue::UnboundSub(name.to_owned()));
        }
    }
}

fn check_arity(function: &'static str, count: usize) {
    if !(2..=10).contains(&count) {
        report(Issue::Arity(function, count));
    }
}

/// Finds the intrinsics spelled inside a raw JSON literal and reports their problems; the
/// references are reported for synth to resolve against the stack.
fn check_literal(v: &serde_json::Value) {
    use serde_json::Value as J;
    match v {
        J::Array(items) => items.iter().for_each(check_literal),
        J::Object(m) => {
            if m.len() == 1 {
                if let Some((key, arg)) = m.iter().next() {
                    let first = || arg.get(0).and_then(J::as_str);
                    let raw = |kind: &'static str, id: &str| Issue::RawRef {
                        kind,
                        id: id.to_owned(),
                    };
                    match key.as_str() {
                        "Ref" => {
                            if let Some(id) = arg.as_str() {
                                if !PSEUDO_NAMES.contains(&id) {
                                    report(raw("resource or parameter", id));
                                }
                            }
                        }
                        "Fn::GetAtt" => {
                            if let Some(id) = first() {
                                report(raw("resource", id));
                            }
                        }
                        "Fn::If" => {
                            if let Some(id) = first() {
                                report(raw("condition", id));
                            }
                        }
                        "Condition" => {
                            if let Some(id) = arg.as_str() {
                                report(raw("condition", id));
                            }
                        }
                        "Fn::Sub" => match arg {
                            J::String(t) => check_sub(t, |_| false),
                            J::Array(a) => {
                                let text = a.first().and_then(J::as_str).unwrap_or("");
                                let vars = a.get(1).and_then(J::as_object);
                                check_sub(text, |n| vars.is_some_and(|vs| vs.contains_key(n)));
                            }
                            _ => {}
                        },
                        "Fn::And" => check_arity("Fn::And", arg.as_array().map_or(0, Vec::len)),
                        "Fn::Or" => check_arity("Fn::Or", arg.as_array().map_or(0, Vec::len)),
                        _ => {}
                    }
                }
            }
            m.values().for_each(check_literal);
        }
        _ => {}
    }
}

struct One<'a, K: Serialize + ?Sized>(&'a str, &'a K);

impl<K: Serialize + ?Sized> Serialize for One<'_, K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Expr::Lit(v) => {
                if v.is_object() || v.is_array() {
                    check_literal(v);
                }
                v.serialize(s)
            }
            Expr::Policy(d) => d.serialize(s),
            Expr::List(items) => items.serialize(s),
            Expr::Map(m) => m.serialize(s),
            Expr::Ref(t) => {
                record(t);
                One("Ref", &*t.id).serialize(s)
            }
            Expr::GetAtt(t, attr) => {
                record(t);
                One("Fn::GetAtt", &[&*t.id, attr]).serialize(s)
            }
            Expr::Pseudo(p) => One("Ref", p.name()).serialize(s),
            Expr::NoValue => One("Ref", "AWS::NoValue").serialize(s),
            Expr::Sub(text, vars) => {
                check_sub(text, |n| vars.contains_key(n));
                if vars.is_empty() {
                    One("Fn::Sub", text).serialize(s)
                } else {
                    One("Fn::Sub", &(text, vars)).serialize(s)
                }
            }
            Expr::Join(delim, list) => One("Fn::Join", &(delim, list)).serialize(s),
            Expr::Select(index, list) => One("Fn::Select", &(index, list)).serialize(s),
            Expr::GetAzs(region) => One("Fn::GetAZs", region).serialize(s),
            Expr::If(cond, a, b) => {
                record(cond);
                let id: &str = &cond.id;
                One("Fn::If", &(&id, a, b)).serialize(s)
            }
            Expr::ImportValue(name) => One("Fn::ImportValue", name).serialize(s),
            Expr::Split(delim, src) => One("Fn::Split", &(delim, src)).serialize(s),
            Expr::Cidr(block, count, bits) => One("Fn::Cidr", &(block, count, bits)).serialize(s),
            Expr::Base64(v) => One("Fn::Base64", v).serialize(s),
            Expr::FindInMap(map, k1, k2) => {
                record(map);
                let id: &str = &map.id;
                One("Fn::FindInMap", &(&id, k1, k2)).serialize(s)
            }
            Expr::Equals(a, b) => One("Fn::Equals", &(a, b)).serialize(s),
            Expr::And(items) => {
                check_arity("Fn::And", items.len());
                One("Fn::And", items).serialize(s)
            }
            Expr::Or(items) => {
                check_arity("Fn::Or", items.len());
                One("Fn::Or", items).serialize(s)
            }
            Expr::Not(c) => One("Fn::Not", &[c]).serialize(s),
            Expr::Condition(t) => {
                record(t);
                One("Condition", &*t.id).serialize(s)
            }
        }
    }
}

/// Marker for JSON-typed values (policy documents, free-form objects).
///
/// A `Value<Json>` may hold intrinsics anywhere inside it (see [`Value::json_object`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Json {}

/// A type that can stand as a literal in a template: it serializes to the JSON CloudFormation
/// expects for it.
pub trait Literal: Serialize {}

impl Literal for String {}
impl Literal for bool {}
impl Literal for i64 {}
impl Literal for f64 {}
impl<T: Literal> Literal for Vec<T> {}

/// A CloudFormation value of type `T`: a literal, or an intrinsic function that yields a `T`.
pub struct Value<T> {
    expr: Expr,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Value<T> {
    fn clone(&self) -> Self {
        Value::from_expr(self.expr.clone())
    }
}

impl<T> PartialEq for Value<T> {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl<T> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(&self.expr) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{:?}", self.expr),
        }
    }
}

impl<T> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.expr.serialize(s)
    }
}

impl<T> Value<T> {
    pub(crate) fn from_expr(expr: Expr) -> Self {
        Value {
            expr,
            _type: PhantomData,
        }
    }

    pub(crate) fn expr_mut(&mut self) -> &mut Expr {
        &mut self.expr
    }

    pub(crate) fn into_expr(self) -> Expr {
        self.expr
    }

    /// `Ref: AWS::NoValue`: removes the property it is assigned to (useful inside [`if_`]).
    pub fn no_value() -> Self {
        Value::from_expr(Expr::NoValue)
    }

    /// True when this value is a plain literal (no intrinsic anywhere inside).
    pub fn is_literal(&self) -> bool {
        fn lit(e: &Expr) -> bool {
            match e {
                Expr::Lit(_) => true,
                Expr::Policy(d) => d.is_literal(),
                Expr::List(items) => items.iter().all(lit),
                Expr::Map(m) => m.values().all(lit),
                _ => false,
            }
        }
        lit(&self.expr)
    }

    /// The literal as JSON, when this value is a plain literal.
    pub fn as_literal_json(&self) -> Option<serde_json::Value> {
        if self.is_literal() {
            serde_json::to_value(&self.expr).ok()
        } else {
            None
        }
    }
}

impl<T: Literal> From<T> for Value<T> {
    fn from(v: T) -> Self {
        // A `Literal` serializes to JSON by contract; a failure here is a bug in that impl.
        let json = serde_json::to_value(&v).expect("a Literal serializes to JSON");
        Value::from_expr(Expr::Lit(json))
    }
}

impl From<&str> for Value<String> {
    fn from(v: &str) -> Self {
        Value::from_expr(Expr::Lit(serde_json::Value::String(v.to_owned())))
    }
}

impl From<&String> for Value<String> {
    fn from(v: &String) -> Self {
        Value::from(v.as_str())
    }
}

impl From<Vec<&str>> for Value<Vec<String>> {
    fn from(v: Vec<&str>) -> Self {
        Value::list(v.into_iter().map(Value::from))
    }
}

impl From<serde_json::Value> for Value<Json> {
    fn from(v: serde_json::Value) -> Self {
        Value::from_expr(Expr::Lit(v))
    }
}

impl<T> Value<Vec<T>> {
    /// A list whose elements may each be a literal or an intrinsic.
    pub fn list(items: impl IntoIterator<Item = Value<T>>) -> Self {
        Value::from_expr(Expr::List(items.into_iter().map(|v| v.expr).collect()))
    }
}

impl Value<Json> {
    /// A JSON object whose members may be intrinsics (`{"Key": {"Ref": ...}}`).
    pub fn json_object<T>(members: impl IntoIterator<Item = (String, Value<T>)>) -> Self {
        Value::from_expr(Expr::Map(
            members.into_iter().map(|(k, v)| (k, v.expr)).collect(),
        ))
    }

    /// Any typed value seen as JSON, to place it inside a [`Value::json_object`] or a policy.
    pub fn from_value<T>(v: Value<T>) -> Self {
        Value::from_expr(v.expr)
    }

    /// A JSON array whose elements may be intrinsics.
    pub fn json_array(items: impl IntoIterator<Item = Value<Json>>) -> Self {
        Value::from_expr(Expr::List(items.into_iter().map(|v| v.expr).collect()))
    }
}

/// A condition expression: `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not` or a named condition.
///
/// It is what [`Stack::add_condition`](crate::Stack::add_condition) takes; a named condition in
/// the template is then used through its [`ConditionHandle`](crate::ConditionHandle).
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionExpr(pub(crate) Expr);

impl Serialize for ConditionExpr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// `Fn::Equals`: true when both values are equal.
pub fn equals<T>(a: impl Into<Value<T>>, b: impl Into<Value<T>>) -> ConditionExpr {
    ConditionExpr(Expr::Equals(
        Box::new(a.into().expr),
        Box::new(b.into().expr),
    ))
}

/// `Fn::And` of 2 to 10 conditions (checked at synth).
pub fn and(conds: impl IntoIterator<Item = ConditionExpr>) -> ConditionExpr {
    ConditionExpr(Expr::And(conds.into_iter().map(|c| c.0).collect()))
}

/// `Fn::Or` of 2 to 10 conditions (checked at synth).
pub fn or(conds: impl IntoIterator<Item = ConditionExpr>) -> ConditionExpr {
    ConditionExpr(Expr::Or(conds.into_iter().map(|c| c.0).collect()))
}

/// `Fn::Not`.
pub fn not(cond: ConditionExpr) -> ConditionExpr {
    ConditionExpr(Expr::Not(Box::new(cond.0)))
}

/// `Fn::Join`: the parts joined with `delimiter`.
pub fn join(delimiter: &str, parts: impl IntoIterator<Item = Value<String>>) -> Value<String> {
    Value::from_expr(Expr::Join(
        delimiter.to_owned(),
        Box::new(Expr::List(parts.into_iter().map(|v| v.expr).collect())),
    ))
}

/// `Fn::Join` over a value that is already a list (a `Fn::Split`, a list parameter).
pub fn join_list(delimiter: &str, list: Value<Vec<String>>) -> Value<String> {
    Value::from_expr(Expr::Join(delimiter.to_owned(), Box::new(list.expr)))
}

/// `Fn::Select`: the `index`-th element of a list.
pub fn select<T>(index: u32, list: Value<Vec<T>>) -> Value<T> {
    Value::from_expr(Expr::Select(
        Box::new(Expr::Lit(serde_json::Value::from(index))),
        Box::new(list.expr),
    ))
}

/// `Fn::GetAZs` of the stack's own region (`Fn::GetAZs: ""`).
pub fn get_azs() -> Value<Vec<String>> {
    Value::from_expr(Expr::GetAzs(Box::new(Expr::Lit(
        serde_json::Value::String(String::new()),
    ))))
}

/// `Fn::GetAZs` of a named region.
pub fn get_azs_in(region: impl Into<Value<String>>) -> Value<Vec<String>> {
    Value::from_expr(Expr::GetAzs(Box::new(region.into().expr)))
}

/// `Fn::ImportValue` of an export of another stack.
pub fn import_value(export_name: impl Into<Value<String>>) -> Value<String> {
    Value::from_expr(Expr::ImportValue(Box::new(export_name.into().expr)))
}

/// `Fn::Split`: a string split on `delimiter`.
pub fn split(delimiter: &str, source: impl Into<Value<String>>) -> Value<Vec<String>> {
    Value::from_expr(Expr::Split(
        delimiter.to_owned(),
        Box::new(source.into().expr),
    ))
}

/// `Fn::Cidr`: `count` CIDR blocks of `2^cidr_bits` addresses each, carved from `ip_block`.
pub fn cidr(
    ip_block: impl Into<Value<String>>,
    count: impl Into<Value<i64>>,
    cidr_bits: impl Into<Value<i64>>,
) -> Value<Vec<String>> {
    Value::from_expr(Expr::Cidr(
        Box::new(ip_block.into().expr),
        Box::new(count.into().expr),
        Box::new(cidr_bits.into().expr),
    ))
}

/// `Fn::Base64` of a string.
pub fn base64(v: impl Into<Value<String>>) -> Value<String> {
    Value::from_expr(Expr::Base64(Box::new(v.into().expr)))
}

/// `Fn::Sub` builder. Every `${Name}` in the text must be a pseudo parameter (`${AWS::Region}`)
/// or a variable given with [`Sub::var`]; anything else is a synth error, so a `Fn::Sub` cannot
/// hide a dangling reference. `${!Literal}` escapes as in CloudFormation.
#[derive(Clone, Debug)]
pub struct Sub {
    text: String,
    vars: BTreeMap<String, Expr>,
}

/// Starts a `Fn::Sub` with the given text.
pub fn sub(text: impl Into<String>) -> Sub {
    Sub {
        text: text.into(),
        vars: BTreeMap::new(),
    }
}

impl Sub {
    /// Binds `${name}` to a value (a handle's attribute, a parameter, a literal).
    pub fn var(mut self, name: &str, value: impl Into<Value<String>>) -> Self {
        self.vars.insert(name.to_owned(), value.into().expr);
        self
    }

    /// The finished `Fn::Sub` value.
    pub fn build(self) -> Value<String> {
        Value::from_expr(Expr::Sub(self.text, self.vars))
    }
}

impl From<Sub> for Value<String> {
    fn from(s: Sub) -> Self {
        s.build()
    }
}

/// The `${...}` placeholders of a `Fn::Sub` text that are neither pseudo parameters nor escaped.
pub(crate) fn sub_placeholders(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || loop {
        // `find` on a byte is fast; most texts have no placeholder at all.
        let start = rest.find('$')?;
        let after = &rest[start + 1..];
        if !after.starts_with('{') {
            rest = after;
            continue;
        }
        let Some(end) = after.find('}') else {
            rest = "";
            return None;
        };
        let name = &after[1..end];
        rest = &after[end + 1..];
        if !name.starts_with('!') && !PSEUDO_NAMES.contains(&name) {
            return Some(name);
        }
    })
}

/// `Fn::If`: `if_true` when the condition holds, else `if_false`.
pub fn if_<T>(
    condition: &crate::ConditionHandle,
    if_true: impl Into<Value<T>>,
    if_false: impl Into<Value<T>>,
) -> Value<T> {
    Value::from_expr(Expr::If(
        condition.target().clone(),
        Box::new(if_true.into().expr),
        Box::new(if_false.into().expr),
    ))
}

/// A named condition used inside another condition (`{"Condition": "Name"}`).
pub fn condition(handle: &crate::ConditionHandle) -> ConditionExpr {
    ConditionExpr(Expr::Condition(handle.target().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn j<T>(v: &Value<T>) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }

    #[test]
    fn literals_serialize_as_plain_json() {
        assert_eq!(j(&Value::<String>::from("a")), json!("a"));
        assert_eq!(j(&Value::<i64>::from(5)), json!(5));
        assert_eq!(j(&Value::<bool>::from(true)), json!(true));
        assert_eq!(
            j(&Value::<Vec<String>>::from(vec!["a", "b"])),
            json!(["a", "b"])
        );
    }

    #[test]
    fn pseudo_parameters_are_refs() {
        assert_eq!(j(&Pseudo::Region.value()), json!({"Ref": "AWS::Region"}));
        assert_eq!(
            j(&Pseudo::AccountId.value()),
            json!({"Ref": "AWS::AccountId"})
        );
        assert_eq!(
            j(&Pseudo::Partition.value()),
            json!({"Ref": "AWS::Partition"})
        );
        assert_eq!(
            j(&Pseudo::StackName.value()),
            json!({"Ref": "AWS::StackName"})
        );
        assert_eq!(j(&Pseudo::StackId.value()), json!({"Ref": "AWS::StackId"}));
        assert_eq!(
            j(&Pseudo::UrlSuffix.value()),
            json!({"Ref": "AWS::URLSuffix"})
        );
        assert_eq!(
            j(&Pseudo::notification_arns()),
            json!({"Ref": "AWS::NotificationARNs"})
        );
        assert_eq!(
            j(&Value::<String>::no_value()),
            json!({"Ref": "AWS::NoValue"})
        );
    }

    #[test]
    fn sub_without_variables_is_a_string_and_with_variables_a_pair() {
        assert_eq!(
            j(&sub("arn:${AWS::Partition}:s3:::x").build()),
            json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::x"})
        );
        assert_eq!(
            j(&sub("${Name}-x")
                .var("Name", Pseudo::StackName.value())
                .build()),
            json!({"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "AWS::StackName"}}]})
        );
    }

    #[test]
    fn sub_placeholders_skip_pseudo_and_escapes() {
        assert_eq!(
            sub_placeholders("${AWS::Region}-${A}-${!B}-$x-${C}").collect::<Vec<_>>(),
            vec!["A", "C"]
        );
    }

    #[test]
    fn list_functions_have_their_shapes() {
        assert_eq!(
            j(&join("-", [Value::from("a"), Pseudo::Region.value()])),
            json!({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}]]})
        );
        assert_eq!(
            j(&select(1, get_azs())),
            json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]})
        );
        assert_eq!(
            j(&get_azs_in("eu-west-1")),
            json!({"Fn::GetAZs": "eu-west-1"})
        );
        assert_eq!(j(&split(",", "a,b")), json!({"Fn::Split": [",", "a,b"]}));
        assert_eq!(
            j(&join_list(":", split(",", "a,b"))),
            json!({"Fn::Join": [":", {"Fn::Split": [",", "a,b"]}]})
        );
        assert_eq!(
            j(&cidr("10.0.0.0/16", 3, 8)),
            json!({"Fn::Cidr": ["10.0.0.0/16", 3, 8]})
        );
        assert_eq!(j(&base64("x")), json!({"Fn::Base64": "x"}));
        assert_eq!(
            j(&import_value("Shared-VpcId")),
            json!({"Fn::ImportValue": "Shared-VpcId"})
        );
    }

    #[test]
    fn condition_functions_have_their_shapes() {
        let e = equals(Pseudo::Region.value(), "us-east-1");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]})
        );
        let both = and([e.clone(), not(e.clone())]);
        assert_eq!(
            serde_json::to_value(&both).unwrap(),
            json!({"Fn::And": [
                {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
                {"Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]}
            ]})
        );
        assert_eq!(
            serde_json::to_value(or([e.clone(), e])).unwrap()["Fn::Or"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn json_objects_may_hold_intrinsics() {
        let v = Value::json_object([("Region".to_owned(), Pseudo::Region.value())]);
        assert_eq!(j(&v), json!({"Region": {"Ref": "AWS::Region"}}));
        assert!(!v.is_literal());
        assert!(Value::<Json>::from(json!({"a": 1})).is_literal());
    }
}

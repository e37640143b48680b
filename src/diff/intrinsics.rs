//! Reading CloudFormation intrinsics offline: a compact rendering for humans
//! (`${RawBucket.Arn}/*`), the names a value refers to, and condition evaluation from known
//! parameter values.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Conditions nest through `{"Condition": name}`; deeper than this is a cycle.
const MAX_CONDITION_DEPTH: usize = 32;

/// Renders a value compactly for a table cell: strings as they are, numbers and booleans as
/// text, intrinsics in `${…}` form (`${RawBucket.Arn}`, `${AWS::AccountId}`), other objects as
/// compact JSON.
pub(crate) fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => format!("[{}]", join(items, ", ")),
        Value::Object(m) => match intrinsic(m) {
            Some((name, arg)) => compact_intrinsic(name, arg),
            None => compact_json(v),
        },
    }
}

/// Compact JSON text of a value (never fails: serializing a `Value` cannot).
pub(crate) fn compact_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn join(items: &[Value], sep: &str) -> String {
    items.iter().map(compact).collect::<Vec<_>>().join(sep)
}

/// `{"Ref": x}` or `{"Fn::…": x}`: the function name and its argument.
pub(crate) fn intrinsic(m: &Map<String, Value>) -> Option<(&str, &Value)> {
    if m.len() != 1 {
        return None;
    }
    let (k, v) = m.iter().next()?;
    (k == "Ref" || k.starts_with("Fn::")).then_some((k.as_str(), v))
}

/// Whether a value is, or contains, an intrinsic function (its deployed value is computed).
pub(crate) fn contains_intrinsic(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(contains_intrinsic),
        Value::Object(m) => intrinsic(m).is_some() || m.values().any(contains_intrinsic),
        _ => false,
    }
}

fn compact_intrinsic(name: &str, arg: &Value) -> String {
    match (name, arg) {
        ("Ref", Value::String(target)) if target == "AWS::NoValue" => "(no value)".to_owned(),
        ("Ref", Value::String(target)) => format!("${{{target}}}"),
        ("Fn::GetAtt", Value::String(dotted)) => format!("${{{dotted}}}"),
        ("Fn::GetAtt", Value::Array(parts)) if parts.len() == 2 => {
            format!("${{{}.{}}}", compact(&parts[0]), compact(&parts[1]))
        }
        ("Fn::Sub", Value::String(text)) => text.clone(),
        ("Fn::Sub", Value::Array(parts)) => match (parts.first(), parts.get(1)) {
            (Some(Value::String(text)), Some(Value::Object(vars))) if parts.len() == 2 => {
                substitute(text, vars)
            }
            (Some(Value::String(text)), None) => text.clone(),
            _ => generic(name, arg),
        },
        ("Fn::Join", Value::Array(parts)) => match (parts.first(), parts.get(1)) {
            (Some(Value::String(sep)), Some(Value::Array(items))) if parts.len() == 2 => {
                join(items, sep)
            }
            _ => generic(name, arg),
        },
        ("Fn::ImportValue", _) => format!("${{Import:{}}}", compact(arg)),
        _ => generic(name, arg),
    }
}

/// `If(NetworkAwake, a, b)`, `Select(0, ${Subnets})`, `Base64(…)`.
fn generic(name: &str, arg: &Value) -> String {
    let short = name.strip_prefix("Fn::").unwrap_or(name);
    let args = match arg {
        Value::Array(items) => join(items, ", "),
        other => compact(other),
    };
    format!("{short}({args})")
}

/// `Fn::Sub` with a variable map: each `${var}` becomes the variable's compact rendering.
fn substitute(text: &str, vars: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        match vars.get(name.trim()) {
            Some(value) if !name.starts_with('!') => out.push_str(&compact(value)),
            _ => {
                out.push_str("${");
                out.push_str(name);
                out.push('}');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The names a value refers to: `Ref` and `Fn::GetAtt` targets and `${…}` names in `Fn::Sub`
/// (resources or parameters, never pseudo parameters), and the conditions of `Fn::If` and
/// `{"Condition": …}`.
#[derive(Debug, Default)]
pub(crate) struct References {
    /// Logical ids of resources and parameters.
    pub names: BTreeSet<String>,
    /// Condition names.
    pub conditions: BTreeSet<String>,
}

impl References {
    /// Collects the references of one value.
    pub fn of(v: &Value) -> Self {
        let mut refs = Self::default();
        refs.collect(v);
        refs
    }

    fn name(&mut self, target: &str) {
        if !target.is_empty() && !target.starts_with("AWS::") {
            self.names.insert(target.to_owned());
        }
    }

    fn collect(&mut self, v: &Value) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| self.collect(i)),
            Value::Object(m) => {
                if let Some((name, arg)) = intrinsic(m) {
                    self.intrinsic(name, arg);
                } else if let (1, Some(Value::String(c))) = (m.len(), m.get("Condition")) {
                    self.conditions.insert(c.clone());
                } else {
                    m.values().for_each(|i| self.collect(i));
                }
            }
            _ => {}
        }
    }

    fn intrinsic(&mut self, name: &str, arg: &Value) {
        match (name, arg) {
            ("Ref", Value::String(target)) => self.name(target),
            ("Fn::GetAtt", Value::String(dotted)) => {
                self.name(dotted.split('.').next().unwrap_or_default())
            }
            ("Fn::GetAtt", Value::Array(parts)) => {
                if let Some(Value::String(target)) = parts.first() {
                    self.name(target);
                }
                parts.iter().skip(1).for_each(|p| self.collect(p));
            }
            ("Fn::Sub", Value::String(text)) => self.sub(text, None),
            ("Fn::Sub", Value::Array(parts)) => {
                let vars = parts.get(1).and_then(Value::as_object);
                if let Some(Value::String(text)) = parts.first() {
                    self.sub(text, vars);
                }
                parts.iter().skip(1).for_each(|p| self.collect(p));
            }
            ("Fn::If", Value::Array(parts)) => {
                if let Some(Value::String(c)) = parts.first() {
                    self.conditions.insert(c.clone());
                }
                parts.iter().skip(1).for_each(|p| self.collect(p));
            }
            _ => self.collect(arg),
        }
    }

    fn sub(&mut self, text: &str, vars: Option<&Map<String, Value>>) {
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { return };
            let inner = after[..end].trim();
            if !inner.starts_with('!') && !vars.is_some_and(|v| v.contains_key(inner)) {
                self.name(inner.split('.').next().unwrap_or_default());
            }
            rest = &after[end + 1..];
        }
    }

    /// Whether any reference is in `names` (by name) or `conditions` (by condition).
    pub fn first_hit<'a>(
        &self,
        names: &'a BTreeMap<String, String>,
        conditions: &'a BTreeMap<String, String>,
    ) -> Option<&'a str> {
        self.names
            .iter()
            .find_map(|n| names.get(n))
            .or_else(|| self.conditions.iter().find_map(|c| conditions.get(c)))
            .map(String::as_str)
    }
}

/// Evaluates the `Conditions` of one template from known parameter values. A condition that
/// depends on anything unknown (a pseudo parameter, a parameter without a value) is `None`.
pub(crate) fn evaluate_conditions(
    template: &Value,
    params: &BTreeMap<String, String>,
) -> BTreeMap<String, Option<bool>> {
    let empty = Map::new();
    let conditions = template
        .get("Conditions")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let eval = ConditionEval { conditions, params };
    conditions
        .iter()
        .map(|(name, expr)| (name.clone(), eval.expr(expr, 0)))
        .collect()
}

struct ConditionEval<'a> {
    conditions: &'a Map<String, Value>,
    params: &'a BTreeMap<String, String>,
}

impl ConditionEval<'_> {
    fn expr(&self, v: &Value, depth: usize) -> Option<bool> {
        if depth > MAX_CONDITION_DEPTH {
            return None;
        }
        let m = v.as_object()?;
        if let (1, Some(Value::String(name))) = (m.len(), m.get("Condition")) {
            return self.expr(self.conditions.get(name)?, depth + 1);
        }
        let (name, arg) = intrinsic(m)?;
        let args = arg.as_array()?;
        match name {
            "Fn::Equals" if args.len() == 2 => {
                Some(self.scalar(&args[0])? == self.scalar(&args[1])?)
            }
            "Fn::Not" if args.len() == 1 => self.expr(&args[0], depth + 1).map(|b| !b),
            "Fn::And" => self.fold(args, depth, false),
            "Fn::Or" => self.fold(args, depth, true),
            _ => None,
        }
    }

    /// `And` (short-circuits on false) and `Or` (short-circuits on true); unknown otherwise.
    fn fold(&self, args: &[Value], depth: usize, short: bool) -> Option<bool> {
        let mut unknown = false;
        for a in args {
            match self.expr(a, depth + 1) {
                Some(b) if b == short => return Some(short),
                Some(_) => {}
                None => unknown = true,
            }
        }
        (!unknown).then_some(!short)
    }

    fn scalar(&self, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(m) => match intrinsic(m)? {
                ("Ref", Value::String(p)) => self.params.get(p).cloned(),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The value a parameter takes: the given value, else the template's `Default`.
pub(crate) fn effective_parameters(
    template: Option<&Value>,
    given: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let declared = template
        .and_then(|t| t.get("Parameters"))
        .and_then(Value::as_object);
    for (name, decl) in declared.into_iter().flatten() {
        let default = decl.get("Default").map(|d| match d {
            Value::Array(items) => join(items, ","),
            other => compact(other),
        });
        if let Some(v) = given.get(name).cloned().or(default) {
            out.insert(name.clone(), v);
        }
    }
    // Values for parameters the template does not declare still count (the caller knows best).
    for (name, v) in given {
        out.entry(name.clone()).or_insert_with(|| v.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_renders_sub_with_variables_like_cdk() {
        let v = json!({"Fn::Sub": ["${Arn}/*", {"Arn": {"Fn::GetAtt": ["RawBucket", "Arn"]}}]});
        assert_eq!(compact(&v), "${RawBucket.Arn}/*");
        let v = json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"});
        assert_eq!(
            compact(&v),
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
        );
    }

    #[test]
    fn compact_renders_join_ref_getatt_and_other_functions() {
        let v = json!({"Fn::Join": ["", ["s3://", {"Ref": "Logs"}, "/x"]]});
        assert_eq!(compact(&v), "s3://${Logs}/x");
        assert_eq!(compact(&json!({"Fn::GetAtt": "Role.Arn"})), "${Role.Arn}");
        assert_eq!(
            compact(&json!({"Fn::If": ["Awake", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]})),
            "If(Awake, ${A}, (no value))"
        );
        assert_eq!(compact(&json!({"Fn::Join": "bad"})), "Join(bad)");
    }

    #[test]
    fn references_find_ref_getatt_sub_and_conditions_but_not_pseudo_parameters() {
        let v = json!({
            "A": {"Ref": "Vpc"},
            "B": {"Fn::GetAtt": "Key.Arn"},
            "C": {"Fn::Sub": ["${Bucket.Arn}/${X}/${AWS::Region}/${!Literal}", {"X": {"Ref": "P"}}]},
            "D": {"Fn::If": ["Awake", 1, 2]},
            "E": {"Ref": "AWS::AccountId"}
        });
        let r = References::of(&v);
        let names: Vec<_> = r.names.iter().map(String::as_str).collect();
        assert_eq!(names, ["Bucket", "Key", "P", "Vpc"]);
        assert!(r.conditions.contains("Awake"));
    }

    #[test]
    fn conditions_evaluate_from_parameter_values_and_stay_unknown_otherwise() {
        let t = json!({"Conditions": {
            "Awake": {"Fn::Equals": [{"Ref": "Asleep"}, "false"]},
            "Both": {"Fn::And": [{"Condition": "Awake"}, {"Fn::Equals": [{"Ref": "AWS::Region"}, "x"]}]},
            "Loop": {"Condition": "Loop"}
        }});
        let params = BTreeMap::from([("Asleep".to_owned(), "true".to_owned())]);
        let c = evaluate_conditions(&t, &params);
        assert_eq!(c["Awake"], Some(false));
        assert_eq!(
            c["Both"],
            Some(false),
            "And short-circuits on a known false"
        );
        assert_eq!(c["Loop"], None);
        let c = evaluate_conditions(&t, &BTreeMap::new());
        assert_eq!(c["Awake"], None);
    }
}

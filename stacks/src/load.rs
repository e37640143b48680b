//! Reading a config file: YAML shapes first (unknown fields, wrong types), then every rule.
//!
//! [`parse`] walks the YAML alongside the config's JSON Schema ([`Config::json_schema`]) and
//! reports every unknown field, missing field and wrongly typed value at once, each with its
//! path. The walk reads only the shapes of the schema (types, fields, enums, integer widths),
//! never the rules in its `allOf`: those are validation's, which explains them with the fix.
//! Only a document that passes that walk is deserialized (with `serde_path_to_error`, as a last
//! line of defence). [`load`] then runs [`validate`](crate::validate::validate), which returns
//! the typed [`Environment`].

use std::sync::OnceLock;

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

use crate::config::{Config, ALIASES};
use crate::error::{and_list, field_path, index_path, or_list, suggest, ConfigError, ConfigErrors};
use crate::model::Environment;

/// Parses and validates a YAML config into the environment it describes: [`parse`], then
/// [`validate`](crate::validate::validate). Every problem is reported at once (shape problems
/// first: rules are only checked on a config that has the right shape).
pub fn load(yaml: &str) -> Result<Environment, ConfigErrors> {
    crate::validate::validate(&parse(yaml)?)
}

/// Parses a YAML config. Shape problems (invalid YAML, unknown fields, missing fields, wrong
/// types) come back with their path, all at once; see [`crate::validate::validate`] for the
/// rules.
pub fn parse(yaml: &str) -> Result<Config, ConfigErrors> {
    let doc: Yaml =
        serde_yaml::from_str(yaml).map_err(|e| ConfigErrors::one(yaml_error(yaml, &e)))?;
    match &doc {
        Yaml::Mapping(_) => {}
        Yaml::Null => {
            return Err(ConfigErrors::one(ConfigError::new(
                "",
                "",
                format!(
                    "the config is empty; it needs at least {}",
                    and_list(&required_top_level())
                ),
            )))
        }
        other => {
            return Err(ConfigErrors::one(ConfigError::new(
                "",
                "",
                format!(
                    "the config must be a mapping of fields (`prefix: …`, `region: …`), not {}",
                    kind(other)
                ),
            )))
        }
    }

    let schema = schema();
    let mut walker = Walker {
        root: schema,
        errors: Vec::new(),
    };
    walker.check(
        "",
        &doc,
        schema,
        Ctx {
            depth: 0,
            strict: false,
        },
    );
    if !walker.errors.is_empty() {
        return Err(ConfigErrors(walker.errors));
    }

    let de = serde_yaml::Deserializer::from_str(yaml);
    serde_path_to_error::deserialize(de).map_err(|e| ConfigErrors::one(serde_error(&e)))
}

/// The config's JSON Schema, computed once.
fn schema() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(Config::json_schema)
}

fn required_top_level() -> Vec<String> {
    schema()
        .get("required")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(|s| format!("`{s}`"))
                .collect()
        })
        .unwrap_or_default()
}

/// How a YAML value reads in a message (`a list`, `a number`).
fn kind(v: &Yaml) -> &'static str {
    match v {
        Yaml::Null => "nothing",
        Yaml::Bool(_) => "true or false",
        Yaml::Number(n) if n.is_f64() => "a decimal number",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "text",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

/// A scalar as written (empty for lists, mappings and null).
fn scalar_text(v: &Yaml) -> String {
    match v {
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::String(s) => s.clone(),
        Yaml::Tagged(t) => scalar_text(&t.value),
        Yaml::Null | Yaml::Sequence(_) | Yaml::Mapping(_) => String::new(),
    }
}

/// Walks the YAML alongside the JSON Schema, collecting every shape problem.
struct Walker<'s> {
    root: &'s Json,
    errors: Vec<ConfigError>,
}

/// How deep `$ref` chains and nested schemas may go before the walk gives up (the config's own
/// schema is a few levels deep; this only guards against a malformed schema).
const MAX_DEPTH: usize = 64;

/// Where the walk is: how deep, and whether serde reads this value strictly. Inside an
/// untagged enum (`anyOf`) serde buffers the value first, so a number is no longer accepted as
/// text there.
#[derive(Clone, Copy)]
struct Ctx {
    depth: usize,
    strict: bool,
}

impl Ctx {
    fn deeper(self) -> Ctx {
        Ctx {
            depth: self.depth + 1,
            ..self
        }
    }
}

/// What a key of a mapping stands for.
enum Key<'s> {
    /// A field of the schema (by its canonical name) with its schema.
    Field(&'s str, &'s Json),
    /// A value of an open mapping (`tags`).
    Extra(&'s Json),
    /// An unknown field, and the field it may be a typo of.
    Unknown(Option<&'s str>),
    /// A value of an open mapping without a schema: anything goes.
    Free,
    /// Not a scalar: already reported.
    Invalid,
}

impl<'s> Walker<'s> {
    fn push(&mut self, path: &str, value: impl Into<String>, rule: impl Into<String>) {
        self.errors.push(ConfigError::new(path, value, rule));
    }

    /// Follows `$ref`s into `$defs`.
    fn resolve(&self, mut schema: &'s Json) -> &'s Json {
        for _ in 0..MAX_DEPTH {
            let Some(target) = schema.get("$ref").and_then(Json::as_str) else {
                return schema;
            };
            let Some(found) = target
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer))
            else {
                return schema;
            };
            schema = found;
        }
        schema
    }

    fn check(&mut self, path: &str, value: &Yaml, schema: &'s Json, ctx: Ctx) {
        if ctx.depth > MAX_DEPTH {
            return;
        }
        let schema = self.resolve(schema);
        if let Yaml::Tagged(tagged) = value {
            // A YAML tag (`!!str 10`) is serde's business, except where serde buffers the value
            // (an untagged enum, which refuses every tag).
            if ctx.strict || schema.get("anyOf").is_some() {
                self.push(
                    path,
                    scalar_text(value),
                    format!("YAML tags (`{}`) are not accepted here", tagged.tag),
                );
            }
            return;
        }
        if let Some(branches) = schema.get("anyOf").and_then(Json::as_array) {
            let branches: Vec<&Json> = branches.iter().map(|b| self.resolve(b)).collect();
            self.check_union(path, value, &branches, ctx, true);
            return;
        }
        if let Some(branches) = schema.get("oneOf").and_then(Json::as_array) {
            let branches: Vec<&Json> = branches.iter().map(|b| self.resolve(b)).collect();
            self.check_union(path, value, &branches, ctx, false);
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Json::as_array) {
            if allowed.iter().all(Json::is_string) {
                let names: Vec<&str> = allowed.iter().filter_map(Json::as_str).collect();
                self.check_enum(path, value, &names);
            } else {
                self.check_mixed_enum(path, value, allowed);
            }
            return;
        }
        if let Some(c) = schema.get("const").and_then(Json::as_str) {
            self.check_enum(path, value, &[c]);
            return;
        }
        let types = types(schema);
        if types.is_empty() {
            return;
        }
        if !accepts(&types, value, ctx.strict) {
            self.push(path, scalar_text(value), expected(&types, value));
            return;
        }
        match value {
            Yaml::Mapping(map) if types.contains(&"object") => {
                self.check_object(path, map, schema, ctx);
            }
            Yaml::Sequence(items) if types.contains(&"array") => {
                if let Some(item) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.check(&index_path(path, i), v, item, ctx.deeper());
                    }
                }
            }
            Yaml::Number(n) if types.contains(&"integer") => {
                let min = schema.get("minimum").and_then(Json::as_i64);
                let max = schema.get("maximum").and_then(Json::as_i64);
                let fits = n
                    .as_i64()
                    .is_some_and(|i| min.is_none_or(|m| i >= m) && max.is_none_or(|m| i <= m));
                if !fits {
                    let rule = match (min, max) {
                        (Some(lo), Some(hi)) => {
                            format!("expected a whole number from {lo} to {hi}")
                        }
                        _ => "the number is too large".to_owned(),
                    };
                    self.push(path, n.to_string(), rule);
                }
            }
            _ => {}
        }
    }

    fn check_enum(&mut self, path: &str, value: &Yaml, allowed: &[&str]) {
        if let Yaml::String(s) = value {
            if allowed.contains(&s.as_str()) {
                return;
            }
        }
        let listed: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
        let text = scalar_text(value);
        let rule = match suggest(&text, allowed.iter().copied()) {
            Some(close) if !text.is_empty() => {
                format!("unknown value; did you mean `{close}`?")
            }
            _ if text.is_empty() => format!("expected one of {}", or_list(&listed)),
            _ => format!("unknown value; expected one of {}", or_list(&listed)),
        };
        self.push(path, text, rule);
    }

    /// An enum of scalars of several types: booleans that may also be written as strings
    /// (`true`, `"true"`), as serde reads them.
    fn check_mixed_enum(&mut self, path: &str, value: &Yaml, allowed: &[Json]) {
        let matches = allowed.iter().any(|a| match (a, value) {
            (Json::Bool(a), Yaml::Bool(v)) => a == v,
            (Json::String(a), Yaml::String(v)) => a == v,
            (Json::Number(a), Yaml::Number(v)) => a.as_i64().is_some() && a.as_i64() == v.as_i64(),
            _ => false,
        });
        if matches {
            return;
        }
        // Named by the non-text members' types: the strings only spell them.
        let mut wanted: Vec<&str> = allowed
            .iter()
            .filter_map(|a| match a {
                Json::Bool(_) => Some("boolean"),
                Json::Number(_) => Some("integer"),
                _ => None,
            })
            .collect();
        wanted.dedup();
        self.push(path, scalar_text(value), expected(&wanted, value));
    }

    /// `oneOf`/`anyOf`: constants (a unit enum), objects (an enum of mappings) or differently
    /// typed alternatives (an untagged enum). `untagged` marks an `anyOf`, which serde reads
    /// strictly; a `null` branch only makes the value optional.
    fn check_union(
        &mut self,
        path: &str,
        value: &Yaml,
        branches: &[&'s Json],
        ctx: Ctx,
        untagged: bool,
    ) {
        let consts: Option<Vec<&str>> = branches
            .iter()
            .map(|b| b.get("const").and_then(Json::as_str))
            .collect();
        if let Some(names) = consts {
            self.check_enum(path, value, &names);
            return;
        }
        let nullable = branches.iter().any(|b| types(b) == ["null"]);
        let branches: Vec<&Json> = branches
            .iter()
            .copied()
            .filter(|b| types(b) != ["null"])
            .collect();
        if nullable && matches!(value, Yaml::Null) {
            return;
        }
        let ctx = Ctx {
            strict: ctx.strict || (untagged && branches.len() > 1),
            ..ctx
        };
        if let [only] = branches.as_slice() {
            self.check(path, value, only, ctx.deeper());
            return;
        }
        let objects = branches.iter().filter(|b| types(b) == ["object"]).count();
        if objects == branches.len() {
            self.check_variants(path, value, &branches, ctx);
            return;
        }
        match branches
            .iter()
            .find(|b| accepts(&types(b), value, ctx.strict))
        {
            Some(branch) => self.check(path, value, branch, ctx.deeper()),
            None => {
                let all: Vec<&str> = branches.iter().flat_map(|b| types(b)).collect();
                self.push(path, scalar_text(value), expected(&all, value));
            }
        }
    }

    /// An enum of mappings (one key per variant): a mapping with exactly one of the keys.
    fn check_variants(&mut self, path: &str, value: &Yaml, variants: &[&'s Json], ctx: Ctx) {
        let mut known: Vec<(&str, &'s Json)> = Vec::new();
        for v in variants {
            if let Some(props) = v.get("properties").and_then(Json::as_object) {
                known.extend(props.iter().map(|(k, s)| (k.as_str(), s)));
            }
        }
        let names: Vec<String> = known.iter().map(|(k, _)| format!("`{k}`")).collect();
        let Yaml::Mapping(map) = value else {
            let rule = format!("expected a mapping with one of {}", or_list(&names));
            self.push(path, scalar_text(value), rule);
            return;
        };
        let mut present = Vec::new();
        let mut strangers = false;
        for (k, v) in map {
            let Some(key) = self.key(path, k) else {
                strangers = true;
                continue;
            };
            match known.iter().find(|(name, _)| *name == key) {
                Some((name, schema)) => {
                    present.push(*name);
                    self.check(&field_path(path, &key), v, schema, ctx.deeper());
                }
                None => {
                    strangers = true;
                    let close = suggest(&key, known.iter().map(|(n, _)| *n));
                    self.unknown(path, &key, close, known.iter().map(|(n, _)| *n));
                }
            }
        }
        match present.as_slice() {
            [_] => {}
            [] if strangers => {}
            [] => self.push(path, "", format!("expected one of {}", or_list(&names))),
            _ => {
                let given: Vec<String> = present.iter().map(|p| format!("`{p}`")).collect();
                self.push(path, "", format!("give only one of {}", and_list(&given)));
            }
        }
    }

    /// A mapping key as text, or an error (keys must be scalars).
    fn key(&mut self, path: &str, key: &Yaml) -> Option<String> {
        match key {
            Yaml::String(s) => Some(s.clone()),
            Yaml::Null => Some("~".to_owned()),
            Yaml::Bool(_) | Yaml::Number(_) => Some(scalar_text(key)),
            Yaml::Sequence(_) | Yaml::Mapping(_) | Yaml::Tagged(_) => {
                self.push(
                    path,
                    "",
                    format!("a key is {}; keys must be plain names", kind(key)),
                );
                None
            }
        }
    }

    /// Reports an unknown field, with the close field if there is one, else the known ones.
    fn unknown<'a>(
        &mut self,
        path: &str,
        key: &str,
        close: Option<&str>,
        known: impl IntoIterator<Item = &'a str>,
    ) {
        let rule = match close {
            Some(close) => match ALIASES.iter().find(|(alias, _)| *alias == close) {
                Some((alias, field)) => {
                    format!("unknown field; did you mean `{alias}` (the old name of `{field}`)?")
                }
                None => format!("unknown field; did you mean `{close}`?"),
            },
            None => {
                let fields: Vec<String> = known
                    .into_iter()
                    .filter(|k| !ALIASES.iter().any(|(alias, _)| alias == k))
                    .map(|k| format!("`{k}`"))
                    .collect();
                format!("unknown field; expected {}", or_list(&fields))
            }
        };
        self.push(&field_path(path, key), "", rule);
    }

    fn check_object(&mut self, path: &str, map: &serde_yaml::Mapping, schema: &'s Json, ctx: Ctx) {
        let props = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        let closed = additional.is_some_and(|a| a == &Json::Bool(false));
        let extra = additional.filter(|a| a.is_object());
        // Field names and the old names they accept.
        let mut names: Vec<&'s str> = props
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let aliases: Vec<(&'s str, &'s str)> = ALIASES
            .iter()
            .filter_map(|(alias, field)| names.iter().find(|n| *n == field).map(|f| (*alias, *f)))
            .collect();
        names.extend(aliases.iter().map(|(alias, _)| *alias));

        // What each key stands for.
        let mut keys: Vec<(String, Key<'s>, &Yaml)> = Vec::new();
        for (k, v) in map {
            let Some(key) = self.key(path, k) else {
                keys.push((String::new(), Key::Invalid, v));
                continue;
            };
            let field = aliases
                .iter()
                .find(|(alias, _)| *alias == key)
                .map(|(_, field)| *field)
                .or_else(|| names.iter().copied().find(|n| *n == key));
            let meaning = match (field, props) {
                (Some(field), Some(p)) => match p.get_key_value(field) {
                    Some((name, sub)) => Key::Field(name.as_str(), sub),
                    None => Key::Unknown(None),
                },
                _ if closed => Key::Unknown(suggest(&key, names.iter().copied())),
                _ => extra.map_or(Key::Free, Key::Extra),
            };
            keys.push((key, meaning, v));
        }

        // Missing fields first (unless a misspelt key stands for one).
        let required = schema.get("required").and_then(Json::as_array);
        for r in required.into_iter().flatten().filter_map(Json::as_str) {
            let given = keys.iter().any(|(_, meaning, _)| match meaning {
                Key::Field(field, _) => *field == r,
                Key::Unknown(Some(close)) => *close == r || ALIASES.contains(&(*close, r)),
                _ => false,
            });
            if !given {
                self.push(&field_path(path, r), "", "required field is missing");
            }
        }

        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (key, meaning, v) in &keys {
            let child = field_path(path, key);
            match meaning {
                Key::Field(field, sub) => {
                    if let Some((other, _)) = seen.iter().find(|(_, f)| f == field) {
                        let which = if other == field { "new" } else { "old" };
                        self.push(
                            &child,
                            "",
                            format!(
                                "`{key}` and `{other}` name the same field (`{other}` is the \
                                 {which} name); give it once"
                            ),
                        );
                    } else {
                        seen.push((key.as_str(), field));
                    }
                    self.check(&child, v, sub, ctx.deeper());
                }
                Key::Extra(sub) => self.check(&child, v, sub, ctx.deeper()),
                Key::Unknown(close) => self.unknown(path, key, *close, names.iter().copied()),
                Key::Free | Key::Invalid => {}
            }
        }
    }
}

/// The `type` of a schema, as a list.
fn types(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether serde (reading YAML text) accepts `value` for a field of these JSON types. Text
/// fields take any scalar (`name: 2024` is the text "2024"); booleans also take the strings
/// "true" and "false" (the seed's tfvars wrote them so). Null is left to serde where it can
/// mean "empty" (an omitted mapping). `strict`: inside an untagged enum, where serde takes
/// each YAML type only for itself.
fn accepts(types: &[&str], value: &Yaml, strict: bool) -> bool {
    let has = |t: &str| types.contains(&t);
    if strict {
        return match value {
            Yaml::Null => has("null"),
            Yaml::Bool(_) => has("boolean"),
            Yaml::Number(n) => has("number") || (has("integer") && (n.is_i64() || n.is_u64())),
            Yaml::String(_) => has("string"),
            Yaml::Sequence(_) => has("array"),
            Yaml::Mapping(_) => has("object"),
            Yaml::Tagged(_) => false,
        };
    }
    match value {
        Yaml::Null => has("null") || has("string") || has("object") || has("array"),
        Yaml::Bool(_) => has("boolean") || has("string"),
        Yaml::Number(n) => {
            has("string") || has("number") || (has("integer") && (n.is_i64() || n.is_u64()))
        }
        Yaml::String(s) => has("string") || (has("boolean") && (s == "true" || s == "false")),
        Yaml::Sequence(_) => has("array"),
        Yaml::Mapping(_) => has("object"),
        Yaml::Tagged(_) => true,
    }
}

/// The rule for a value of the wrong type. Where text is expected, numbers and booleans are
/// text too (YAML scalars), so only "text" is named.
fn expected(types: &[&str], value: &Yaml) -> String {
    let text = types.contains(&"string");
    let mut wanted: Vec<String> = Vec::new();
    for t in types
        .iter()
        .filter(|t| !(text && matches!(**t, "integer" | "number" | "boolean")))
    {
        let w = match *t {
            "integer" => "a whole number",
            "number" => "a number",
            "boolean" => "true or false",
            "string" => "text",
            "array" => "a list",
            "object" => "a mapping of fields",
            _ => continue,
        };
        if !wanted.iter().any(|x| x == w) {
            wanted.push(w.to_owned());
        }
    }
    let mut rule = format!("expected {}, not {}", or_list(&wanted), kind(value));
    if let Yaml::String(s) = value {
        if types.contains(&"integer") && s.trim().parse::<i64>().is_ok() {
            rule.push_str(": remove the quotes");
        }
    }
    rule
}

/// A YAML syntax error, located at the faulty line: where an unclosed `[`, `{` or quote was
/// opened (libyaml notices only at the end of the scan), else where the scan stopped; with the
/// line's text and a hint for the usual mistakes.
fn yaml_error(yaml: &str, e: &serde_yaml::Error) -> ConfigError {
    let raw = e.to_string();
    let message = strip_locations(&raw);
    // Some messages start with the path of the mapping they are about (`tags: duplicate …`).
    let (path, message) = match message.split_once(": ") {
        Some((path, rest))
            if !path.contains(' ')
                && (rest.starts_with("duplicate entry") || rest.starts_with("invalid type")) =>
        {
            (path.to_owned(), rest.to_owned())
        }
        _ => (String::new(), message),
    };
    if let Some(key) = message.strip_prefix("duplicate entry with key ") {
        let key = key.trim_matches('"');
        let rule = match e.location() {
            Some(at) => match duplicate_lines(yaml, at.line(), at.column(), key) {
                Some((first, second)) => {
                    format!("the key appears twice, at lines {first} and {second}; keep one")
                }
                None => format!(
                    "the key appears twice in the mapping that starts at line {}; keep one",
                    at.line()
                ),
            },
            None => "the key appears twice in one mapping; keep one".to_owned(),
        };
        return ConfigError::new(field_path(&path, key), "", rule);
    }
    if message.contains("as u128") || message.contains("as i128") {
        let rule = match e.location() {
            Some(at) => format!(
                "the number is too large (line {}, column {})",
                at.line(),
                at.column()
            ),
            None => "the number is too large".to_owned(),
        };
        return ConfigError::new(path, "", rule);
    }
    if message.contains("more than one document") {
        return ConfigError::new(
            path,
            "",
            "not valid YAML: the file holds more than one YAML document (`---`); keep one",
        );
    }
    let Some(at) = e.location() else {
        return ConfigError::new(path, "", format!("not valid YAML: {message}"));
    };
    let (problem, context) = match raw.split_once(", while ") {
        Some((problem, context)) => (problem, Some(context)),
        None => (raw.as_str(), None),
    };
    let problem_text = strip_locations(problem);
    // An unclosed bracket or quote: the line that opened it is the faulty one.
    let opened = context.and_then(|c| {
        let what = [
            "parsing a flow sequence",
            "parsing a flow mapping",
            "scanning a quoted scalar",
        ]
        .into_iter()
        .find(|w| c.starts_with(w))?;
        let (line, column) = location_in(c)?;
        Some((what, line, column))
    });
    let rule = match opened {
        Some((what, line, column)) => {
            let opener = char_at(yaml, line, column).unwrap_or('"');
            let thing = match what {
                "scanning a quoted scalar" => format!("the quote `{opener}` opened here"),
                _ => format!("the `{opener}` opened here"),
            };
            format!(
                "not valid YAML at line {line}, column {column} ({}): {thing} is never closed \
                 ({problem_text} at line {}, column {})",
                line_text(yaml, line),
                at.line(),
                at.column()
            )
        }
        None if problem_text.starts_with("mapping values are not allowed") => {
            match missing_space(yaml, at.line()) {
                Some((line, column, fixed)) => format!(
                    "not valid YAML at line {line}, column {column} ({}): a key needs a space \
                     after its colon: `{fixed}`",
                    line_text(yaml, line)
                ),
                None => {
                    let hint = match over_indented(yaml, at.line()) {
                        Some(above) => format!(
                            "this line is indented deeper than the key at line {above}, so it \
                             reads as more of that key's value; indent it like that key"
                        ),
                        None => "quote a value that holds `: `, and write keys as `key: value` \
                                 (with a space)"
                            .to_owned(),
                    };
                    format!(
                        "not valid YAML at line {}, column {} ({}): {problem_text}; {hint}",
                        at.line(),
                        at.column(),
                        line_text(yaml, at.line())
                    )
                }
            }
        }
        None => {
            let context = context.map(strip_locations);
            let while_ = context.map(|c| format!(" while {c}")).unwrap_or_default();
            let hint = yaml_hint(&problem_text, char_at(yaml, at.line(), at.column()));
            format!(
                "not valid YAML at line {}, column {} ({}): {problem_text}{while_}{hint}",
                at.line(),
                at.column(),
                line_text(yaml, at.line())
            )
        }
    };
    ConfigError::new(path, "", rule)
}

/// What to do about the usual syntax mistakes.
fn yaml_hint(problem: &str, at: Option<char>) -> &'static str {
    if at == Some('\t') {
        "; YAML indents with spaces, not tabs"
    } else if problem.starts_with("did not find expected key") {
        "; indent this line like the keys above it"
    } else if problem.starts_with("block sequence entries are not allowed") {
        "; indent the `- ` items of a list under their key"
    } else {
        ""
    }
}

/// `key:value` on the line before `line` (or on it): libyaml reads it as the start of a plain
/// text that runs into the next key, and complains only there. The line, the column after the
/// colon and the line as it should read.
fn missing_space(yaml: &str, line: usize) -> Option<(usize, usize, String)> {
    let lines: Vec<&str> = yaml.lines().collect();
    [line.checked_sub(1)?, line].into_iter().find_map(|n| {
        let text = *lines.get(n.checked_sub(1)?)?;
        let body = text.trim_start();
        if body.starts_with('#') || body.starts_with(['"', '\'']) {
            return None;
        }
        let colon = body.find(':')?;
        let (key, rest) = (&body[..colon], &body[colon + 1..]);
        let plain_key = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
        let glued = rest.starts_with(|c: char| !c.is_whitespace() && c != ':');
        (plain_key && glued && !rest.contains(": ")).then(|| {
            let indent = text.len() - body.len();
            (
                n,
                indent + colon + 2,
                format!("{}{key}: {rest}", &text[..indent])
                    .trim()
                    .to_owned(),
            )
        })
    })
}

/// The line of the `key: value` above `line` when `line` is indented deeper than it (so YAML
/// reads `line` as a continuation of that value).
fn over_indented(yaml: &str, line: usize) -> Option<usize> {
    let lines: Vec<&str> = yaml.lines().collect();
    let indent = |t: &str| t.len() - t.trim_start_matches(' ').len();
    let here = *lines.get(line.checked_sub(1)?)?;
    let (n, above) = lines[..line - 1]
        .iter()
        .enumerate()
        .rev()
        .find(|(_, t)| !t.trim().is_empty() && !t.trim_start().starts_with('#'))?;
    let value = above.split_once(": ").map(|(_, v)| v.trim())?;
    (indent(here) > indent(above) && !value.is_empty() && !value.starts_with(['|', '>', '&']))
        .then_some(n + 1)
}

/// `at line N column M` in a libyaml message part.
fn location_in(part: &str) -> Option<(usize, usize)> {
    let rest = &part[part.find(" at line ")? + " at line ".len()..];
    let (line, rest) = rest.split_once(" column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// The character at a 1-based line and column.
fn char_at(yaml: &str, line: usize, column: usize) -> Option<char> {
    yaml.lines()
        .nth(line.checked_sub(1)?)?
        .chars()
        .nth(column.checked_sub(1)?)
}

/// A line as shown in a message: in backticks, tabs visible, long lines cut.
fn line_text(yaml: &str, line: usize) -> String {
    const MAX: usize = 60;
    let text = line
        .checked_sub(1)
        .and_then(|i| yaml.lines().nth(i))
        .unwrap_or_default()
        .trim_end();
    let shown: String = text.chars().take(MAX).collect();
    let cut = if text.chars().count() > MAX {
        "…"
    } else {
        ""
    };
    format!("`{}{cut}`", shown.replace('\t', "\\t"))
}

/// The lines of the first two keys `key` of the block mapping that starts at `line`, `column`
/// (1-based), if the text shows them plainly.
fn duplicate_lines(yaml: &str, line: usize, column: usize, key: &str) -> Option<(usize, usize)> {
    let indent = column.checked_sub(1)?;
    let key_of = |text: &str| -> Option<String> {
        let (k, rest) = text.split_once(':')?;
        (rest.is_empty() || rest.starts_with([' ', '\t']))
            .then(|| k.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
    };
    let mut found = Vec::new();
    for (i, text) in yaml.lines().enumerate().skip(line.checked_sub(1)?) {
        let number = i + 1;
        let body = if number == line {
            text.get(indent..)?
        } else {
            let trimmed = text.trim_start_matches(' ');
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let here = text.len() - trimmed.len();
            if here < indent {
                break;
            }
            if here > indent {
                continue;
            }
            trimmed
        };
        if key_of(body).as_deref() == Some(key) {
            found.push(number);
            if let [first, second] = found[..] {
                return Some((first, second));
            }
        }
    }
    None
}

/// Drops serde_yaml's ` at line N column M` (the location is reported once, separately) and a
/// leading `path: ` (the path is reported separately).
fn strip_locations(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + " at line ".len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n = digits(tail);
        match tail[n..].strip_prefix(" column ") {
            Some(col) if n > 0 => {
                let m = digits(col);
                rest = &col[m..];
            }
            _ => {
                out.push_str(" at line ");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A serde error that got past the schema walk, in plain words.
fn serde_error(e: &serde_path_to_error::Error<serde_yaml::Error>) -> ConfigError {
    let path = e.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let inner = e.inner();
    let mut message = strip_locations(&inner.to_string());
    if let Some(rest) = message.strip_prefix(&format!("{path}: ")) {
        message = rest.to_owned();
    }
    let (path, rule) = if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        (
            field_path(&path, field),
            "required field is missing".to_owned(),
        )
    } else if message.starts_with("data did not match any variant of untagged enum") {
        (
            path,
            "the value matches none of the accepted forms (see `cdkrs schema`)".to_owned(),
        )
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        (path, plain_expectation(rest))
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        (path, plain_expectation(rest))
    } else {
        (path, message)
    };
    let rule = match inner.location() {
        Some(at) => format!("{rule} (line {}, column {})", at.line(), at.column()),
        None => rule,
    };
    ConfigError::new(path, "", rule)
}

/// `string "x", expected i64` → `expected a whole number, not string "x"`.
fn plain_expectation(message: &str) -> String {
    match message.split_once(", expected ") {
        Some((found, wanted)) => {
            let wanted = match wanted {
                "i64" | "i32" | "u64" | "u32" => "a whole number",
                "u8" => "a whole number from 0 to 255",
                "a boolean" | "bool" => "true or false",
                "a string" => "text",
                "a sequence" => "a list",
                "a map" => "a mapping",
                w if w.starts_with("struct ") => "a mapping of fields",
                other => other,
            };
            let found = match found {
                "unit value" => "an empty value",
                "sequence" => "a list",
                "map" => "a mapping",
                other => other,
            };
            format!("expected {wanted}, not {found}")
        }
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_stripped_once() {
        assert_eq!(
            strip_locations(
                "did not find x at line 2 column 1, while parsing y at line 1 column 1"
            ),
            "did not find x, while parsing y"
        );
        assert_eq!(strip_locations("at line x"), "at line x");
        assert_eq!(strip_locations("a at line 3"), "a at line 3");
    }

    #[test]
    fn serde_errors_read_plainly() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            a: i64,
        }
        let de = serde_yaml::Deserializer::from_str("a: x\n");
        let err = serde_path_to_error::deserialize::<_, T>(de).expect_err("x is no number");
        assert_eq!(
            serde_error(&err).to_string(),
            "a: expected a whole number, not string \"x\" (line 1, column 4)"
        );
        let de = serde_yaml::Deserializer::from_str("{}");
        let err = serde_path_to_error::deserialize::<_, T>(de).expect_err("a is missing");
        assert_eq!(
            serde_error(&err).to_string(),
            "a: required field is missing (line 1, column 1)"
        );
    }

    #[test]
    fn syntax_errors_find_their_line() {
        assert_eq!(
            location_in("parsing a flow sequence at line 4 column 15"),
            Some((4, 15))
        );
        assert_eq!(location_in("parsing a block mapping"), None);
        // A mapping that is a list item starts after its `- `.
        let yaml = "groups:\n  - name: a\n    access: read\n    name: b\n";
        assert_eq!(duplicate_lines(yaml, 2, 5, "name"), Some((2, 4)));
        assert_eq!(duplicate_lines(yaml, 2, 5, "access"), None);
        assert_eq!(line_text("a\n\tb\n", 2), "`\\tb`");
        assert_eq!(
            missing_space("a: 1\nkey:value\nb: 2\n", 3),
            Some((2, 5, "key: value".to_owned()))
        );
        assert_eq!(over_indented("a: 1\n  b: 2\n", 2), Some(1));
        assert_eq!(over_indented("a:\n  b: 2\n", 2), None);
    }

    #[test]
    fn tags_are_refused_where_serde_refuses_them() {
        let yaml = "prefix: acme\nregion: eu-west-1\nnetwork: {azs: !n 3}\n";
        let errors = parse(yaml).expect_err("a tagged zone count");
        let shown: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "databricks: required field is missing",
                "network.azs: `3`: YAML tags (`!n`) are not accepted here",
            ]
        );
    }
}

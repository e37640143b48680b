//! A synthesized template and its renderings.

use std::sync::OnceLock;

use serde_json::Value as Json;

/// A synthesized CloudFormation template. Rendering is deterministic: the same stack gives
/// byte-identical output (keys in a stable order, no timestamps).
#[derive(Clone, Debug)]
pub struct Template {
    /// The compact rendering: what synth writes and checks the size of, what deploy sends.
    compact: String,
    /// The parsed form, made on first use (pretty JSON, YAML, lookups).
    json: OnceLock<Json>,
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.as_json() == other.as_json()
    }
}

impl Template {
    #[cfg(test)]
    pub(crate) fn new(json: Json) -> Self {
        let compact = serde_json::to_string(&json).expect("a serde_json::Value always serializes");
        let t = Template::from_compact(compact);
        let _ = t.json.set(json);
        t
    }

    /// A template from the compact JSON synth wrote (valid JSON by construction).
    pub(crate) fn from_compact(compact: String) -> Self {
        Template {
            compact,
            json: OnceLock::new(),
        }
    }

    /// The template as a JSON value (maps sorted by key).
    pub fn as_json(&self) -> &Json {
        self.json
            .get_or_init(|| serde_json::from_str(&self.compact).expect("synth writes valid JSON"))
    }

    /// Compact JSON: what the CloudFormation API is sent.
    pub fn to_json_compact(&self) -> &str {
        &self.compact
    }

    /// Pretty JSON (two-space indent, trailing newline): for files and snapshots.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self.as_json())
            .expect("a serde_json::Value always serializes");
        s.push('\n');
        s
    }

    /// YAML with long-form intrinsics (`Fn::GetAtt: [...]`, never `!GetAtt`).
    ///
    /// Every string value is double-quoted: CloudFormation reads YAML 1.1, where a bare `yes`,
    /// `off` or `2010-09-09` is not a string, and common emitters (serde_yaml among them) follow
    /// YAML 1.2 and leave those bare.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        yaml::block(&mut out, self.as_json(), 0);
        out
    }

    /// The logical IDs of the resources, sorted.
    pub fn resource_ids(&self) -> Vec<&str> {
        self.as_json()
            .get("Resources")
            .and_then(Json::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The resource with the given logical ID.
    pub fn resource(&self, logical_id: &str) -> Option<&Json> {
        self.as_json().get("Resources")?.get(logical_id)
    }

    /// Count of resources per type, sorted by type.
    pub fn resource_type_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        if let Some(m) = self.as_json().get("Resources").and_then(Json::as_object) {
            for r in m.values() {
                if let Some(t) = r.get("Type").and_then(Json::as_str) {
                    *counts.entry(t.to_owned()).or_insert(0) += 1;
                }
            }
        }
        counts
    }
}

/// A small YAML emitter for JSON values: block style, quoted strings, sorted input order kept.
mod yaml {
    use serde_json::Value as Json;

    fn indent(out: &mut String, n: usize) {
        out.extend(std::iter::repeat_n(' ', n));
    }

    fn scalar(v: &Json) -> String {
        match v {
            // A JSON string literal is a valid YAML double-quoted scalar.
            Json::String(s) => serde_json::to_string(s).expect("a string serializes"),
            Json::Array(a) if a.is_empty() => "[]".to_owned(),
            Json::Object(m) if m.is_empty() => "{}".to_owned(),
            other => other.to_string(),
        }
    }

    fn key(k: &str) -> String {
        let plain = !k.is_empty()
            && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_' || c == '-' || c == '.')
            && !k.ends_with(':');
        if plain {
            k.to_owned()
        } else {
            serde_json::to_string(k).expect("a string serializes")
        }
    }

    /// Writes `v` as the contents of a block at indentation `level`. With `inline_first`, the
    /// first line continues the current line (after `- `).
    pub(super) fn block(out: &mut String, v: &Json, level: usize) {
        entries(out, v, level, false);
    }

    fn entries(out: &mut String, v: &Json, level: usize, inline_first: bool) {
        let mut first = inline_first;
        let mut start_line = |out: &mut String| {
            if !std::mem::take(&mut first) {
                indent(out, level);
            }
        };
        match v {
            Json::Object(m) if !m.is_empty() => {
                for (k, val) in m {
                    start_line(out);
                    out.push_str(&key(k));
                    out.push(':');
                    value_after(out, val, level + 2);
                }
            }
            Json::Array(a) if !a.is_empty() => {
                for item in a {
                    start_line(out);
                    out.push_str("- ");
                    match item {
                        Json::Object(m) if !m.is_empty() => entries(out, item, level + 2, true),
                        Json::Array(a) if !a.is_empty() => entries(out, item, level + 2, true),
                        scalar_item => {
                            out.push_str(&scalar(scalar_item));
                            out.push('\n');
                        }
                    }
                }
            }
            other => {
                start_line(out);
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }

    /// After `key:`, a scalar on the same line or a block below.
    fn value_after(out: &mut String, v: &Json, level: usize) {
        match v {
            Json::Object(m) if !m.is_empty() => {
                out.push('\n');
                entries(out, v, level, false);
            }
            Json::Array(a) if !a.is_empty() => {
                out.push('\n');
                entries(out, v, level, false);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_nests_maps_in_lists_compactly_and_reads_back() {
        let t = Template::new(json!({
            "Resources": {"A": {"Type": "X", "Properties": {
                "List": [{"Ref": "B"}, ["x", "y"], "z", [], {}],
                "Empty": {},
                "N": 3, "T": true, "S": "on"
            }}}
        }));
        let yaml = t.to_yaml();
        assert_eq!(
            yaml,
            "Resources:\n  A:\n    Properties:\n      Empty: {}\n      List:\n        - Ref: \"B\"\n        - - \"x\"\n          - \"y\"\n        - \"z\"\n        - []\n        - {}\n      N: 3\n      S: \"on\"\n      T: true\n    Type: \"X\"\n"
        );
        let back: Json = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(&back, t.as_json());
    }
}

//! A synthesized template and its renderings.

use serde_json::Value as Json;

/// A synthesized CloudFormation template. Rendering is deterministic: the same stack gives
/// byte-identical output (keys in a stable order, no timestamps).
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    json: Json,
}

impl Template {
    pub(crate) fn new(json: Json) -> Self {
        Template { json }
    }

    /// The template as a JSON value.
    pub fn as_json(&self) -> &Json {
        &self.json
    }

    /// Pretty JSON (two-space indent, trailing newline): for files and snapshots.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.json)
            .expect("a serde_json::Value always serializes");
        s.push('\n');
        s
    }

    /// Compact JSON: what the CloudFormation API is sent.
    pub fn to_json_compact(&self) -> String {
        serde_json::to_string(&self.json).expect("a serde_json::Value always serializes")
    }

    /// YAML with long-form intrinsics (`Fn::GetAtt: [...]`, never `!GetAtt`).
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(&self.json).expect("a serde_json::Value always serializes to YAML")
    }

    /// The logical IDs of the resources, sorted.
    pub fn resource_ids(&self) -> Vec<&str> {
        self.json
            .get("Resources")
            .and_then(Json::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The resource with the given logical ID.
    pub fn resource(&self, logical_id: &str) -> Option<&Json> {
        self.json.get("Resources")?.get(logical_id)
    }

    /// Count of resources per type, sorted by type.
    pub fn resource_type_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        if let Some(m) = self.json.get("Resources").and_then(Json::as_object) {
            for r in m.values() {
                if let Some(t) = r.get("Type").and_then(Json::as_str) {
                    *counts.entry(t.to_owned()).or_insert(0) += 1;
                }
            }
        }
        counts
    }
}

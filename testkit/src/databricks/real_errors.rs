//! The real server's failure bodies (`testkit/fixtures/databricks_errors.json`): status, content
//! type and body exactly as Databricks sends them, each with its public source. The fake answers
//! with these bodies, so the provider's tests classify what the real server says, not what we
//! believe it says.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::wire::raw;

/// One recorded failure.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RealError {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body, byte for byte.
    pub body: String,
    /// Where this body is shown publicly (issue thread, doc page, SDK file).
    pub source: String,
}

impl RealError {
    /// The answer the fake sends.
    pub(crate) fn response(&self) -> Response {
        raw(
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST),
            &self.content_type,
            self.body.clone(),
        )
    }
}

/// Every recorded failure by name (the `_about` key is not one).
pub fn all() -> &'static BTreeMap<String, RealError> {
    static ALL: OnceLock<BTreeMap<String, RealError>> = OnceLock::new();
    ALL.get_or_init(|| {
        let text = include_str!("../../fixtures/databricks_errors.json");
        let mut map: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(text).expect("databricks_errors.json is a JSON object");
        map.remove("_about");
        map.into_iter()
            .map(|(name, v)| {
                let e: RealError = serde_json::from_value(v)
                    .unwrap_or_else(|err| panic!("databricks_errors.json entry {name}: {err}"));
                (name, e)
            })
            .collect()
    })
}

/// The recorded failure `name`.
///
/// # Panics
/// When the fixtures file has no such entry (a bug in the fake, found by its first test).
pub fn get(name: &str) -> &'static RealError {
    all()
        .get(name)
        .unwrap_or_else(|| panic!("testkit/fixtures/databricks_errors.json has no entry {name}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_recorded_failure_names_a_public_source_and_a_real_status() {
        let all = super::all();
        assert!(!all.is_empty());
        for (name, e) in all {
            assert!(e.source.contains("http"), "{name} has no public source");
            assert!(
                (400..600).contains(&e.status),
                "{name}: status {}",
                e.status
            );
            assert!(!e.body.is_empty(), "{name} has no body");
        }
    }
}

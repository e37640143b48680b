//! `Custom::DatabricksExternalLocation`: an S3 path and the storage credential that reaches it
//! (databricks-sdk 0.167 `catalog.ExternalLocationsAPI`: `POST
//! /api/2.1/unity-catalog/external-locations` with `name`, `url`, `credential_name`,
//! `comment`; `PATCH …/{name}` for the URL, the credential and the comment; `DELETE …/{name}`
//! without `force`), one [`UcObject`]. Attributes: its name and URL.
//!
//! It has no tags or properties: the comment carries the stable mark (see
//! `handlers::storage_credential`). A location that is a catalog's managed storage or holds
//! external tables is kept on Delete (`handlers::uc_object`). Its validation right after the
//! credential's role was created fails for a while as the credential's does, and is retried
//! the same way (`client::error`, `UC_ROLE_RACE_MESSAGES`).

use cdkrs_databricks::{self as db, ExternalLocationAttr, Runtime};
use serde_json::{json, Value};

use super::uc_object::UcObject;
use super::{data, mark, text, Data, HandlerError};

/// The kind.
pub(crate) struct ExternalLocation;

type Props = db::ExternalLocation<Runtime>;

/// A URL without its trailing slashes (Databricks may echo `s3://b` as `s3://b/`).
fn trimmed(url: &str) -> &str {
    url.trim_end_matches('/')
}

impl UcObject for ExternalLocation {
    type Props = Props;
    type Attr = ExternalLocationAttr;
    const ATTRS: &'static [ExternalLocationAttr] = ExternalLocationAttr::ALL;
    const WHAT: &'static str = "external location";
    const PATH: &'static str = "/api/2.1/unity-catalog/external-locations";

    fn workspace_url(p: &Props) -> &str {
        &p.workspace_url
    }

    fn name(p: &Props) -> &str {
        &p.name
    }

    fn create_body(p: &Props, mark: &str) -> Value {
        json!({
            "name": p.name,
            "url": p.url,
            "credential_name": p.credential_name,
            "comment": mark::with_comment_mark(p.comment.as_deref(), mark),
        })
    }

    fn update_body(p: &Props, mark: &str, current: &Value) -> Result<Option<Value>, HandlerError> {
        let comment = mark::with_comment_mark(p.comment.as_deref(), mark);
        let mut body = serde_json::Map::new();
        if text(current, "url").as_deref().map(trimmed) != Some(trimmed(&p.url)) {
            body.insert("url".into(), json!(p.url));
        }
        if text(current, "credential_name").as_deref() != Some(p.credential_name.as_str()) {
            body.insert("credential_name".into(), json!(p.credential_name));
        }
        if text(current, "comment").as_deref() != Some(comment.as_str()) {
            body.insert("comment".into(), json!(comment));
        }
        Ok((!body.is_empty()).then_some(Value::Object(body)))
    }

    fn mark_of(object: &Value) -> Option<String> {
        let comment = text(object, "comment")?;
        mark::comment_mark(&comment).0.map(str::to_owned)
    }

    fn data(p: &Props, _: &Value) -> Data {
        data([
            (ExternalLocationAttr::Name, p.name.clone()),
            (ExternalLocationAttr::Url, p.url.clone()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echoed_trailing_slash_is_no_difference() {
        let p: Props = serde_json::from_value(json!({
            "WorkspaceUrl": "https://w", "Name": "t-raw", "Url": "s3://t-raw",
            "CredentialName": "t-cred"
        }))
        .expect("props");
        let mut current = ExternalLocation::create_body(&p, "cdkrs-000000000001");
        current["url"] = json!("s3://t-raw/");
        assert_eq!(
            ExternalLocation::update_body(&p, "cdkrs-000000000001", &current).unwrap(),
            None
        );
        current["credential_name"] = json!("other");
        assert_eq!(
            ExternalLocation::update_body(&p, "cdkrs-000000000001", &current).unwrap(),
            Some(json!({"credential_name": "t-cred"}))
        );
    }
}

//! `Custom::DatabricksStorageCredential`: a Unity Catalog storage credential for an IAM role
//! (databricks-sdk 0.167 `catalog.StorageCredentialsAPI`: `POST
//! /api/2.1/unity-catalog/storage-credentials` with `name`, `aws_iam_role.role_arn`,
//! `comment`; `PATCH …/{name}` for the role and the comment; `DELETE …/{name}` without
//! `force`), one [`UcObject`]. Attributes: its name, `id` and the external id Unity Catalog
//! assumes the role with (`aws_iam_role.external_id`, `AwsIamRoleResponse`).
//!
//! It has no tags or properties: the comment carries the stable mark (the configured comment
//! and ` [cdkrs-owner: <mark>]`, see `handlers::mark::with_comment_mark`), stripped when
//! comparing. A credential still used by external locations or tables is kept on Delete
//! (`handlers::uc_object`).
//!
//! The validation race: Databricks checks that it can assume the role and that the role can
//! assume itself, which fails for a while after the role was created (IAM propagation). Those
//! errors are classified as eventually consistent (`client::error`, `UC_ROLE_RACE_MESSAGES`)
//! and retried by the client within the eventual-consistency budget, as the credential
//! configuration's validation race is: the create surely did not happen, so repeating it
//! makes no duplicate.

use cdkrs_databricks::{self as db, Runtime, StorageCredentialAttr};
use serde_json::{json, Value};

use super::uc_object::UcObject;
use super::{data, mark, text, Data, HandlerError};

/// The kind.
pub(crate) struct StorageCredential;

type Props = db::StorageCredential<Runtime>;

/// The role ARN of a credential.
fn role_arn(c: &Value) -> Option<&str> {
    c.pointer("/aws_iam_role/role_arn").and_then(Value::as_str)
}

impl UcObject for StorageCredential {
    type Props = Props;
    type Attr = StorageCredentialAttr;
    const ATTRS: &'static [StorageCredentialAttr] = StorageCredentialAttr::ALL;
    const WHAT: &'static str = "storage credential";
    const PATH: &'static str = "/api/2.1/unity-catalog/storage-credentials";

    fn workspace_url(p: &Props) -> &str {
        &p.workspace_url
    }

    fn name(p: &Props) -> &str {
        &p.name
    }

    fn create_body(p: &Props, mark: &str) -> Value {
        json!({
            "name": p.name,
            "aws_iam_role": {"role_arn": p.role_arn},
            "comment": mark::with_comment_mark(p.comment.as_deref(), mark),
        })
    }

    fn update_body(p: &Props, mark: &str, current: &Value) -> Result<Option<Value>, HandlerError> {
        let comment = mark::with_comment_mark(p.comment.as_deref(), mark);
        let mut body = serde_json::Map::new();
        if role_arn(current) != Some(p.role_arn.as_str()) {
            body.insert("aws_iam_role".into(), json!({"role_arn": p.role_arn}));
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

    fn data(p: &Props, object: &Value) -> Data {
        data([
            (StorageCredentialAttr::Name, p.name.clone()),
            (
                StorageCredentialAttr::StorageCredentialId,
                text(object, "id").unwrap_or_default(),
            ),
            (
                StorageCredentialAttr::ExternalId,
                object
                    .pointer("/aws_iam_role/external_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(comment: Option<&str>) -> Props {
        let mut p = json!({"WorkspaceUrl": "https://w", "Name": "t-cred", "RoleArn": "arn:aws:iam::1:role/uc"});
        if let Some(c) = comment {
            p["Comment"] = json!(c);
        }
        serde_json::from_value(p).expect("props")
    }

    #[test]
    fn the_mark_rides_in_the_comment_and_only_differences_are_patched() {
        let p = props(Some("raw"));
        let body = StorageCredential::create_body(&p, "cdkrs-000000000001");
        assert_eq!(body["comment"], "raw [cdkrs-owner: cdkrs-000000000001]");
        assert_eq!(
            body["aws_iam_role"],
            json!({"role_arn": "arn:aws:iam::1:role/uc"})
        );
        assert_eq!(
            StorageCredential::mark_of(&body).as_deref(),
            Some("cdkrs-000000000001")
        );
        assert_eq!(
            StorageCredential::update_body(&p, "cdkrs-000000000001", &body).unwrap(),
            None
        );
        let other = props(None);
        assert_eq!(
            StorageCredential::update_body(&other, "cdkrs-000000000001", &body).unwrap(),
            Some(json!({"comment": "[cdkrs-owner: cdkrs-000000000001]"}))
        );
        assert_eq!(StorageCredential::mark_of(&json!({"comment": "raw"})), None);
    }
}

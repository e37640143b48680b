//! `Custom::DatabricksCredentials`: a credential configuration (reference §2.1), one
//! [`AccountObject`]. The API has no update, so any change makes a new configuration
//! (replacement). Its name is the configured one with the resource's mark appended
//! (`<CredentialsName>-cdkrs-…`, see [`super::mark`]); names are unique in the account.

use cdkrs_databricks::{self as db, CredentialsAttr, Runtime};
use serde_json::{json, Value};

use super::account_object::AccountObject;
use super::HandlerError;

/// The handler.
pub(crate) struct Credentials;

type Props = db::Credentials<Runtime>;

/// The role ARN of a configuration.
fn role_arn(c: &Value) -> &str {
    c.pointer("/aws_credentials/sts_role/role_arn")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl AccountObject for Credentials {
    type Props = Props;
    type Attr = CredentialsAttr;
    const ID_ATTR: CredentialsAttr = CredentialsAttr::CredentialsId;
    const ATTRS: &'static [CredentialsAttr] = CredentialsAttr::ALL;
    const WHAT: &'static str = "credential configuration";
    const PATH: &'static str = "/credentials";
    const LIST_KEY: &'static str = "credentials";
    const ID_FIELD: &'static str = "credentials_id";
    const NAME_FIELD: Option<&'static str> = Some("credentials_name");

    fn account_id(p: &Props) -> &str {
        &p.account_id
    }

    fn name(p: &Props) -> Option<&str> {
        Some(&p.credentials_name)
    }

    fn body(p: &Props, name: Option<&str>) -> Result<Value, HandlerError> {
        Ok(json!({
            "credentials_name": name,
            "aws_credentials": {"sts_role": {"role_arn": p.role_arn}},
        }))
    }

    fn matches(c: &Value, p: &Props) -> bool {
        role_arn(c) == p.role_arn
    }
}

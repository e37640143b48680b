//! `Custom::DatabricksCustomerManagedKey`: a KMS key configuration (reference §2.4), one
//! [`AccountObject`]. The API has no update, so any change makes a new configuration
//! (replacement).
//!
//! A key configuration has neither a name nor tags, so it cannot carry the ownership mark. Its
//! key is a resource of the stack (the environment creates it), and a key ARN carries a random
//! id, so a configuration of that key was made for this stack: a Create adopts a configuration
//! with the same key ARN and use cases, but only when the key is in the stack's own AWS account
//! and region. Any other configuration of the same key ARN (other use cases, or a key of
//! another account, whose configurations this stack cannot tell from somebody else's) fails the
//! Create naming it, and nothing is changed.

use cdkrs_databricks::{self as db, CustomerManagedKeyAttr, Runtime};
use serde_json::{json, Value};

use super::account_object::{AccountObject, Owner};
use super::{mark, same_set, strings, text, HandlerError};
use crate::event::Request;

/// The handler.
pub(crate) struct Key;

type Props = db::CustomerManagedKey<Runtime>;

/// The key ARN of a configuration.
fn key_arn(k: &Value) -> &str {
    k.pointer("/aws_key_info/key_arn")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl AccountObject for Key {
    type Props = Props;
    type Attr = CustomerManagedKeyAttr;
    const ID_ATTR: CustomerManagedKeyAttr = CustomerManagedKeyAttr::CustomerManagedKeyId;
    const ATTRS: &'static [CustomerManagedKeyAttr] = CustomerManagedKeyAttr::ALL;
    const WHAT: &'static str = "key configuration";
    const PATH: &'static str = "/customer-managed-keys";
    const LIST_KEY: &'static str = "customer_managed_keys";
    const ID_FIELD: &'static str = "customer_managed_key_id";
    const NAME_FIELD: Option<&'static str> = None;

    fn account_id(p: &Props) -> &str {
        &p.account_id
    }

    fn name(_: &Props) -> Option<&str> {
        None
    }

    fn body(p: &Props, _: Option<&str>) -> Result<Value, HandlerError> {
        let mut key_info = json!({"key_arn": p.key_arn});
        if let Some(alias) = &p.key_alias {
            key_info["key_alias"] = json!(alias);
        }
        if let Some(reuse) = p.reuse_key_for_cluster_volumes {
            key_info["reuse_key_for_cluster_volumes"] = json!(*reuse);
        }
        Ok(json!({"use_cases": p.use_cases, "aws_key_info": key_info}))
    }

    fn matches(k: &Value, p: &Props) -> bool {
        key_arn(k) == p.key_arn && same_set(&strings(k, "use_cases"), &p.use_cases)
    }

    fn owner(request: &Request, p: &Props, k: &Value) -> Owner {
        if key_arn(k) != p.key_arn {
            Owner::Unrelated
        } else if Self::matches(k, p)
            && mark::same_account_and_region(&p.key_arn, &request.common().stack_id)
        {
            Owner::Ours
        } else {
            Owner::Foreign
        }
    }

    fn foreign(k: &Value) -> HandlerError {
        mark::foreign_with_fix(
            Self::WHAT,
            key_arn(k),
            &text(k, Self::ID_FIELD).unwrap_or_default(),
            "a key configuration of this key already exists with other use cases, or the key \
             is not in the stack's AWS account and region; use a key of this stack, or delete \
             that configuration if it is unused",
        )
    }
}

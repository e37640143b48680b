//! `Custom::DatabricksNetwork`: a customer-managed VPC configuration (reference §2.3), one
//! [`AccountObject`]. The API has no update, so any change makes a new configuration
//! (replacement); Databricks refuses a replacement that reuses a subnet or security group of
//! the current one. Its name is the configured one with the resource's mark appended.

use cdkrs_databricks::{self as db, NetworkAttr, Runtime};
use serde_json::{json, Value};

use super::account_object::AccountObject;
use super::{same_set, strings, text, HandlerError};

/// The handler.
pub(crate) struct Network;

type Props = db::Network<Runtime>;

impl AccountObject for Network {
    type Props = Props;
    type Attr = NetworkAttr;
    const ID_ATTR: NetworkAttr = NetworkAttr::NetworkId;
    const ATTRS: &'static [NetworkAttr] = NetworkAttr::ALL;
    const WHAT: &'static str = "network configuration";
    const PATH: &'static str = "/networks";
    const LIST_KEY: &'static str = "networks";
    const ID_FIELD: &'static str = "network_id";
    const NAME_FIELD: Option<&'static str> = Some("network_name");

    fn account_id(p: &Props) -> &str {
        &p.account_id
    }

    fn name(p: &Props) -> Option<&str> {
        Some(&p.network_name)
    }

    fn body(p: &Props, name: Option<&str>) -> Result<Value, HandlerError> {
        Ok(json!({
            "network_name": name,
            "vpc_id": p.vpc_id,
            "subnet_ids": p.subnet_ids,
            "security_group_ids": p.security_group_ids,
        }))
    }

    fn matches(n: &Value, p: &Props) -> bool {
        text(n, "vpc_id").as_deref() == Some(p.vpc_id.as_str())
            && same_set(&strings(n, "subnet_ids"), &p.subnet_ids)
            && same_set(&strings(n, "security_group_ids"), &p.security_group_ids)
    }
}

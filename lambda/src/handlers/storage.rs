//! `Custom::DatabricksStorageConfiguration`: the workspace's root bucket (reference §2.2), one
//! [`AccountObject`]. The API has no update, so any change makes a new configuration
//! (replacement). Its name is the configured one with the resource's mark appended.

use cdkrs_databricks::{self as db, Runtime, StorageConfigurationAttr};
use serde_json::{json, Value};

use super::account_object::AccountObject;
use super::HandlerError;

/// The handler.
pub(crate) struct Storage;

type Props = db::StorageConfiguration<Runtime>;

impl AccountObject for Storage {
    type Props = Props;
    type Attr = StorageConfigurationAttr;
    const ID_ATTR: StorageConfigurationAttr = StorageConfigurationAttr::StorageConfigurationId;
    const ATTRS: &'static [StorageConfigurationAttr] = StorageConfigurationAttr::ALL;
    const WHAT: &'static str = "storage configuration";
    const PATH: &'static str = "/storage-configurations";
    const LIST_KEY: &'static str = "storage_configurations";
    const ID_FIELD: &'static str = "storage_configuration_id";
    const NAME_FIELD: Option<&'static str> = Some("storage_configuration_name");

    fn account_id(p: &Props) -> &str {
        &p.account_id
    }

    fn name(p: &Props) -> Option<&str> {
        Some(&p.storage_configuration_name)
    }

    fn body(p: &Props, name: Option<&str>) -> Result<Value, HandlerError> {
        Ok(json!({
            "storage_configuration_name": name,
            "root_bucket_info": {"bucket_name": p.bucket_name},
        }))
    }

    fn matches(c: &Value, p: &Props) -> bool {
        c.pointer("/root_bucket_info/bucket_name")
            .and_then(Value::as_str)
            == Some(p.bucket_name.as_str())
    }
}

//! The CloudFormation custom-resource request, as the Lambda receives it.
//!
//! Properties arrive with every scalar as a string (`"30"`, `"true"`); the typed property structs
//! of `cdkrs_databricks` read them in their `Runtime` form, which accepts both.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The fields every request carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Common {
    /// Unique per request (CloudFormation retries reuse it).
    pub request_id: String,
    /// The presigned S3 URL the answer is PUT to.
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    /// The stack's ARN.
    pub stack_id: String,
    /// The resource's logical id.
    pub logical_resource_id: String,
    /// `Custom::Databricks…`.
    pub resource_type: String,
    /// The provider's ARN (the template's `ServiceToken`).
    #[serde(default)]
    pub service_token: Option<String>,
    /// The template's properties, scalars as strings.
    #[serde(default = "empty_object")]
    pub resource_properties: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// A custom-resource request: Create, Update or Delete.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "RequestType")]
pub enum Request {
    /// A new resource.
    Create {
        /// The common fields.
        #[serde(flatten)]
        common: Common,
    },
    /// A change of properties.
    Update {
        /// The common fields.
        #[serde(flatten)]
        common: Common,
        /// The id the resource has now.
        #[serde(rename = "PhysicalResourceId")]
        physical_resource_id: String,
        /// The properties before the change.
        #[serde(rename = "OldResourceProperties", default = "empty_object")]
        old_resource_properties: serde_json::Value,
    },
    /// The resource leaves the stack (or a failed Create is rolled back).
    Delete {
        /// The common fields.
        #[serde(flatten)]
        common: Common,
        /// The id to delete (for a failed Create, whatever that answer carried).
        #[serde(rename = "PhysicalResourceId")]
        physical_resource_id: String,
    },
}

/// Why an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The properties do not fit the resource type's struct.
    #[error("properties of {resource_type} do not fit: {source}")]
    Properties {
        /// The resource type.
        resource_type: String,
        /// serde's reason (names the field and the value).
        source: serde_json::Error,
    },
}

impl Request {
    /// The fields every request carries.
    pub fn common(&self) -> &Common {
        match self {
            Request::Create { common }
            | Request::Update { common, .. }
            | Request::Delete { common, .. } => common,
        }
    }

    /// `Create`, `Update` or `Delete`.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Create { .. } => "Create",
            Request::Update { .. } => "Update",
            Request::Delete { .. } => "Delete",
        }
    }

    /// The physical id the resource has (Update, Delete).
    pub fn physical_resource_id(&self) -> Option<&str> {
        match self {
            Request::Create { .. } => None,
            Request::Update {
                physical_resource_id,
                ..
            }
            | Request::Delete {
                physical_resource_id,
                ..
            } => Some(physical_resource_id),
        }
    }

    /// The properties read as `P` (a `…<Runtime>` struct of `cdkrs_databricks`).
    pub fn properties<P: DeserializeOwned>(&self) -> Result<P, EventError> {
        read(
            &self.common().resource_properties,
            &self.common().resource_type,
        )
    }

    /// The properties before an Update, read as `P`.
    pub fn old_properties<P: DeserializeOwned>(&self) -> Result<Option<P>, EventError> {
        match self {
            Request::Update {
                old_resource_properties,
                common,
                ..
            } => read(old_resource_properties, &common.resource_type).map(Some),
            _ => Ok(None),
        }
    }
}

fn read<P: DeserializeOwned>(v: &serde_json::Value, resource_type: &str) -> Result<P, EventError> {
    P::deserialize(v).map_err(|source| EventError::Properties {
        resource_type: resource_type.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdkrs_databricks::{Cluster, Credentials, Runtime};

    const CREATE: &str = include_str!("../tests/fixtures/create_credentials.json");
    const UPDATE: &str = include_str!("../tests/fixtures/update_cluster.json");
    const DELETE: &str = include_str!("../tests/fixtures/delete_credentials.json");

    #[test]
    fn create_event_parses_with_typed_properties() {
        let r: Request = serde_json::from_str(CREATE).unwrap();
        assert_eq!(r.kind(), "Create");
        assert_eq!(r.common().logical_resource_id, "DatabricksCredentials");
        assert_eq!(r.physical_resource_id(), None);
        let p: Credentials<Runtime> = r.properties().unwrap();
        assert_eq!(p.credentials_name, "cm-vpc-credentials");
        assert_eq!(
            p.role_arn,
            "arn:aws:iam::123456789012:role/cm-vpc-cross-account"
        );
    }

    #[test]
    fn update_event_reads_numbers_and_booleans_from_strings() {
        let r: Request = serde_json::from_str(UPDATE).unwrap();
        assert_eq!(r.kind(), "Update");
        assert_eq!(r.physical_resource_id(), Some("0123-456789-abcdefgh"));
        let new: Cluster<Runtime> = r.properties().unwrap();
        let old: Cluster<Runtime> = r.old_properties().unwrap().unwrap();
        assert_eq!(*new.autoscale.max_workers, 4);
        assert_eq!(*old.autoscale.max_workers, 2);
        assert_eq!(*new.autotermination_minutes, 30);
    }

    #[test]
    fn delete_event_carries_the_physical_id() {
        let r: Request = serde_json::from_str(DELETE).unwrap();
        assert_eq!(r.kind(), "Delete");
        assert_eq!(
            r.physical_resource_id(),
            Some("c0ffee00-0000-4000-8000-000000000001")
        );
    }

    #[test]
    fn properties_of_the_wrong_shape_name_the_type_and_field() {
        let r: Request = serde_json::from_str(CREATE).unwrap();
        let e = r.properties::<Cluster<Runtime>>().unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("properties of Custom::DatabricksCredentials do not fit: missing field `WorkspaceUrl`"),
            "{text}"
        );
    }

    #[test]
    fn an_unknown_request_type_is_an_error() {
        let bad = CREATE.replace("\"Create\"", "\"Rename\"");
        assert!(serde_json::from_str::<Request>(&bad).is_err());
    }
}

//! # databricks-provider
//!
//! The custom-resource Lambda of a cdkrs Databricks environment. This crate holds the
//! CloudFormation protocol: reading events ([`event`]), building the one answer each event gets
//! ([`response`]), delivering it ([`sender`]) and bounding the handler in time and against
//! panics ([`dispatch`]). The Databricks handlers plug into [`dispatch::respond`].
#![warn(missing_docs)]

pub mod aws;
pub mod dispatch;
pub mod event;
pub mod response;
pub mod sender;

use event::Request;
use response::Outcome;

/// The provider's handler: routes a request to its resource type. No Databricks resource type
/// is handled yet, so each answers FAILED with that cause (issue 4 adds the handlers).
pub async fn handle(request: Request, _progress: Option<serde_json::Value>) -> Outcome {
    let resource_type = request.common().resource_type.clone();
    let known = cdkrs_constructs::databricks::resource_type::ALL.contains(&resource_type.as_str());
    Outcome::Failed {
        reason: if known {
            format!("{resource_type}: this provider build has no handler for it yet")
        } else {
            format!("{resource_type} is not a resource type of this provider")
        },
    }
}

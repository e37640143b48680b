//! The answer CloudFormation reads from the `ResponseURL`: built once per event, at most
//! 4096 bytes, with every known secret removed from the text.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::event::Request;

/// CloudFormation's limit on the response body.
pub const MAX_BODY_BYTES: usize = 4096;

/// Physical ids this provider gives a resource whose Create failed: a later Delete of such an
/// id succeeds without calling Databricks (there is nothing to delete).
pub const FAILED_CREATE_PREFIX: &str = "cdkrs-failed-create-";

/// What a handler decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Done: the physical id (a new one on Update means replacement) and the `Fn::GetAtt` data.
    Success {
        /// The resource's physical id.
        physical_resource_id: String,
        /// The attributes the template reads.
        data: BTreeMap<String, String>,
    },
    /// Failed, with the cause in plain words.
    Failed {
        /// Why.
        reason: String,
    },
    /// A long operation goes on (a workspace provisioning, a cluster starting): call the
    /// handler again with `progress` after `retry_after`, in this invocation or a later one.
    InProgress {
        /// What the handler needs to pick up where it was (ids it created, the phase).
        progress: serde_json::Value,
        /// How long to wait before asking again.
        retry_after: std::time::Duration,
    },
}

/// The response body (field names as CloudFormation documents them).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    /// `SUCCESS` or `FAILED`.
    pub status: &'static str,
    /// Short cause, shown in the stack events.
    pub reason: String,
    /// The resource's physical id.
    pub physical_resource_id: String,
    /// Echoed from the request.
    pub stack_id: String,
    /// Echoed from the request.
    pub request_id: String,
    /// Echoed from the request.
    pub logical_resource_id: String,
    /// Mask `Data` in CloudFormation's output (never needed: no secret is returned).
    pub no_echo: bool,
    /// The `Fn::GetAtt` attributes.
    pub data: BTreeMap<String, String>,
}

/// Removes secrets from text before it leaves the function (reasons, data, logs).
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Knows `secret` from now on (ignored when shorter than 4 characters: too common to mask).
    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
        }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn clean(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

/// The physical id of the request, or the failed-create marker for a Create.
fn current_physical_id(request: &Request) -> String {
    request
        .physical_resource_id()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{FAILED_CREATE_PREFIX}{}", request.common().request_id))
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    const MARK: &str = " …(truncated)";
    let mut end = max.saturating_sub(MARK.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &text[..end])
}

impl Response {
    /// The response to `request` for `outcome`: secrets removed, body within 4096 bytes (the
    /// reason is shortened first; data too large to fit turns the answer into a failure).
    pub fn new(request: &Request, outcome: Outcome, redactor: &Redactor) -> Response {
        let c = request.common();
        let mut r = match outcome {
            Outcome::Success {
                physical_resource_id,
                data,
            } => Response {
                status: "SUCCESS",
                reason: String::new(),
                physical_resource_id,
                stack_id: c.stack_id.clone(),
                request_id: c.request_id.clone(),
                logical_resource_id: c.logical_resource_id.clone(),
                no_echo: false,
                data: data
                    .into_iter()
                    .map(|(k, v)| (k, redactor.clean(&v)))
                    .collect(),
            },
            Outcome::InProgress { .. } => {
                return Response::new(
                    request,
                    Outcome::Failed {
                        reason: "the provider answered before its operation finished (a bug: please report it)".into(),
                    },
                    redactor,
                )
            }
            Outcome::Failed { reason } => Response {
                status: "FAILED",
                reason: redactor.clean(&reason),
                physical_resource_id: current_physical_id(request),
                stack_id: c.stack_id.clone(),
                request_id: c.request_id.clone(),
                logical_resource_id: c.logical_resource_id.clone(),
                no_echo: false,
                data: BTreeMap::new(),
            },
        };
        let overflow = r.body().len().saturating_sub(MAX_BODY_BYTES);
        if overflow > 0 {
            let keep = r.reason.len().saturating_sub(overflow);
            r.reason = truncate(&r.reason, keep);
        }
        if r.body().len() > MAX_BODY_BYTES {
            let size = r.body().len();
            r.status = "FAILED";
            r.data.clear();
            r.physical_resource_id = current_physical_id(request);
            r.reason = format!(
                "the provider's answer is {size} bytes, over CloudFormation's {MAX_BODY_BYTES}: its data was dropped"
            );
        }
        r
    }

    /// The JSON body to PUT.
    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("a response serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create() -> Request {
        serde_json::from_str(include_str!("../tests/fixtures/create_credentials.json")).unwrap()
    }

    #[test]
    fn success_echoes_the_request_and_carries_the_data() {
        let mut data = BTreeMap::new();
        data.insert("CredentialsId".to_owned(), "abc".to_owned());
        let r = Response::new(
            &create(),
            Outcome::Success {
                physical_resource_id: "abc".into(),
                data,
            },
            &Redactor::default(),
        );
        let v: serde_json::Value = serde_json::from_str(&r.body()).unwrap();
        assert_eq!(v["Status"], "SUCCESS");
        assert_eq!(v["PhysicalResourceId"], "abc");
        assert_eq!(v["RequestId"], "b1a8c1f0-0000-4000-8000-000000000001");
        assert_eq!(v["LogicalResourceId"], "DatabricksCredentials");
        assert_eq!(v["Data"]["CredentialsId"], "abc");
        assert_eq!(v["NoEcho"], false);
    }

    #[test]
    fn a_failed_create_gets_the_marker_id_and_the_secret_is_masked() {
        let mut redactor = Redactor::default();
        redactor.add("s3cr3t-value");
        let r = Response::new(
            &create(),
            Outcome::Failed {
                reason: "token request with s3cr3t-value refused".into(),
            },
            &redactor,
        );
        assert_eq!(r.status, "FAILED");
        assert_eq!(r.reason, "token request with *** refused");
        assert_eq!(
            r.physical_resource_id,
            format!("{FAILED_CREATE_PREFIX}b1a8c1f0-0000-4000-8000-000000000001")
        );
    }

    #[test]
    fn a_long_reason_is_cut_to_fit_4096_bytes() {
        let r = Response::new(
            &create(),
            Outcome::Failed {
                reason: "é".repeat(5000),
            },
            &Redactor::default(),
        );
        assert!(r.body().len() <= MAX_BODY_BYTES, "{}", r.body().len());
        assert!(r.reason.ends_with("…(truncated)"));
    }

    #[test]
    fn data_too_large_turns_into_a_failure() {
        let mut data = BTreeMap::new();
        data.insert("Big".to_owned(), "x".repeat(5000));
        let r = Response::new(
            &create(),
            Outcome::Success {
                physical_resource_id: "id".into(),
                data,
            },
            &Redactor::default(),
        );
        assert_eq!(r.status, "FAILED");
        assert!(r.data.is_empty());
        assert!(
            r.reason.contains("over CloudFormation's 4096"),
            "{}",
            r.reason
        );
        assert!(r.body().len() <= MAX_BODY_BYTES);
    }
}

//! # cdkrs-constructs
//!
//! A typed model of AWS CloudFormation templates. A [`Stack`] is a plain Rust value: adding a
//! resource returns a typed [`Handle`], and every reference between resources goes through a
//! handle, so a template with a dangling `Ref` or a misspelt attribute cannot be built.
//! [`Stack::synth`] validates the whole stack (duplicate ids, cycles, foreign handles, limits,
//! required properties) and renders a deterministic [`Template`].
//!
//! - L1 resources (`s3::CfnBucket`, `ec2::CfnVpc`, …) are generated from the CloudFormation
//!   registry schemas into [`generated`]: exactly CloudFormation, no opinions.
//! - L2 constructs ([`bucket::Bucket`], [`key::Key`], [`vpc::Vpc`], …) wrap them with secure
//!   defaults.
//! - [`policy`] builds IAM policy documents with typed statements and conditions.
//! - [`deployment`] declares how a stack is deployed: parameter fills, assets, bootstrap needs.
//!
//! ```
//! use cdkrs_constructs::{ec2::CfnVpc, Stack, Output};
//!
//! let mut stack = Stack::new("demo");
//! let vpc = stack.add("Vpc", CfnVpc {
//!     cidr_block: Some("10.0.0.0/16".into()),
//!     enable_dns_support: Some(true.into()),
//!     ..Default::default()
//! });
//! stack.add_output("VpcId", Output::new(vpc.attr_vpc_id()));
//! let template = stack.synth().unwrap();
//! assert_eq!(template.as_json()["Outputs"]["VpcId"]["Value"]["Fn::GetAtt"][0], "Vpc");
//! ```
#![warn(missing_docs)]

pub mod bucket;
pub mod custom_resource;
pub mod deployment;
pub mod endpoint;
mod error;
pub mod flow_log;
pub mod function;
pub mod key;
pub mod log_group;
pub mod metadata;
pub mod policy;
mod resource;
pub mod role;
pub mod security_group;
mod stack;
mod tag;
mod template;
mod value;
pub mod vpc;

/// Generated L1 resources (see the crate docs).
#[allow(missing_docs, clippy::all)]
pub mod generated;

pub use error::{ConstructError, SynthError, SynthErrors};
pub use generated::{ec2, iam, kms, lambda, logs, s3, secretsmanager, ssm};
pub use resource::{AnyHandle, Handle, Policy, Resource, ResourceMeta, ResourceOptions};
pub use stack::{
    limits, valid_logical_id, valid_stack_name, App, ConditionHandle, MappingHandle, Output,
    ParamHandle, Parameter, Stack,
};
pub use tag::{tags, Tag};
pub use template::Template;
pub use value::{
    and, base64, cidr, condition, equals, get_azs, get_azs_in, if_, import_value, join, join_list,
    not, or, select, split, sub, ConditionExpr, Json, Literal, Pseudo, Sub, Value,
};

/// The registry facts of a generated resource type, by CloudFormation type name.
pub fn resource_meta(type_name: &str) -> Option<&'static ResourceMeta> {
    generated::ALL_META
        .iter()
        .find(|m| m.type_name == type_name)
}

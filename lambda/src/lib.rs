//! # databricks-provider
//!
//! The custom-resource Lambda of a cdkrs Databricks environment. This crate holds the
//! CloudFormation protocol: reading events ([`event`]), building the one answer each event gets
//! ([`response`]), delivering it ([`sender`]) and bounding the handler in time and against
//! panics ([`dispatch`]). The Databricks handlers plug into [`dispatch::respond`].
#![warn(missing_docs)]

pub mod aws;
pub mod client;
pub mod dispatch;
pub mod event;
pub mod handlers;
pub mod response;
pub mod sender;

//! # cdkrs-stacks
//!
//! The Databricks-on-AWS environment built from one validated [`Config`](config::Config):
//! [`load::load`] reads and checks a YAML config (every problem at once, with its path), and
//! [`environment::build`] turns it into the `<prefix>-databricks` stack.
//!
//! ```
//! let config = cdkrs_stacks::load::load(include_str!("../../examples/databricks.yaml")).unwrap();
//! let stack = cdkrs_stacks::environment::build(&config).unwrap();
//! let template = stack.synth().unwrap();
//! assert!(template.resource("DatabricksWorkspace").is_some());
//! ```
#![warn(missing_docs)]

pub mod bootstrap;
pub mod config;
pub mod environment;
pub mod load;
pub mod regions;
pub mod validate;

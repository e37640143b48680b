//! # cdkrs-stacks
//!
//! The Databricks-on-AWS environment built from one YAML config, parsed first and then
//! validated into a richer type: [`load::parse`] reads the YAML into a [`Config`](config::Config)
//! (shapes only), [`validate::validate`] checks every rule (every problem at once, with its path)
//! and returns the typed [`Environment`], and [`environment::build`] turns
//! that into the `<prefix>-databricks` stack. [`load::load`] does the first two.
//!
//! ```
//! let env = cdkrs_stacks::load::load(include_str!("../../examples/databricks.yaml")).unwrap();
//! assert_eq!(env.stack_name(), "cm-vpc-databricks");
//! assert_eq!(env.region().name, "eu-west-1");
//! let stack = cdkrs_stacks::environment::build(&env).unwrap();
//! let template = stack.synth().unwrap();
//! assert!(template.resource("DatabricksWorkspace").is_some());
//! ```
#![warn(missing_docs)]

pub mod bootstrap;
pub mod config;
pub mod environment;
pub mod error;
pub mod load;
pub mod model;
pub mod regions;
pub mod rules;
pub mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use model::Environment;

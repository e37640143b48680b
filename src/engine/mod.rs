//! The deploy engine: change sets, progress, failure causes, sleep/wake and destroy, over the
//! [`api`] seam.

pub mod adopt;
pub mod api;
pub mod deploy;
pub mod execute;
pub mod ops;
pub mod rollback;
pub mod sdk;
pub mod ui;
pub mod watch;

pub use deploy::{Approval, DeployOptions, DeployReport, Engine, Outcome, StackDeployment};
pub use watch::Backoff;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

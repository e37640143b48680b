//! `cdkrs` as a library: the deploy engine and the template diff behind the CLI.

pub mod aws;
pub mod diff;
pub mod engine;

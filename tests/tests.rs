//! Integration tests of the `cdkrs` binary, driven as a user would: as a process.

mod cli;
mod deploy;
mod migration;

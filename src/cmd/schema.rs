//! `cdkrs schema`: the config file's JSON Schema.

use cdkrs_stacks::config::Config;

use super::{stdout, Failure};

pub fn run() -> Result<(), Failure> {
    let schema = serde_json::to_string_pretty(&Config::json_schema())
        .map_err(|e| Failure::Other(e.into()))?;
    stdout::println(&schema)?;
    Ok(())
}

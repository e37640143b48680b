//! `cdkrs types`: the generated L1 resource types.

use super::{stdout, Failure};

pub fn run() -> Result<(), Failure> {
    let text: String = cdkrs_constructs::generated::ALL_META
        .iter()
        .map(|meta| format!("{}\n", meta.type_name))
        .collect();
    stdout::print(&text)?;
    Ok(())
}

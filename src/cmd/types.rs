//! `cdkrs types`: the generated L1 resource types.

use super::Failure;

pub fn run() -> Result<(), Failure> {
    for meta in cdkrs_constructs::generated::ALL_META {
        println!("{}", meta.type_name);
    }
    Ok(())
}

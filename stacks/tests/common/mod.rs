//! What several test binaries of this crate share.

use cdkrs_constructs::Template;
use cdkrs_stacks::regions::Region;

/// The default environment (`examples/databricks.yaml`) synthesized for `region`: the region
/// replaced everywhere it appears (the stack's region and the secret's ARN), the zone count
/// capped at what one account gets there (us-west-1 shows two zones).
pub fn default_environment_in(region: &Region) -> Template {
    const DEFAULT: &str = include_str!("../../../examples/databricks.yaml");
    let yaml = DEFAULT
        .replace("eu-west-1", region.name)
        .replace("azs: 3 ", &format!("azs: {} ", region.usable_zones.min(3)));
    let config = cdkrs_stacks::load::load(&yaml).unwrap_or_else(|e| panic!("{}: {e}", region.name));
    cdkrs_stacks::environment::build(&config)
        .unwrap_or_else(|e| panic!("{}: {e}", region.name))
        .synth()
        .unwrap_or_else(|e| panic!("{}: {e}", region.name))
}

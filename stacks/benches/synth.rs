//! `cargo bench -p cdkrs-stacks`: build + synth of the default environment, and of 1, 10 and
//! 100 environments in one process. A plain harness (no criterion): it reports the minimum and
//! median of repeated runs, which is what the README quotes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cdkrs_stacks::{environment, load};

#[cfg(feature = "bench-mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT: &str = include_str!("../../examples/databricks.yaml");

fn measure(label: &str, runs: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{label:<44} min {:>9.3} ms  median {:>9.3} ms  ({runs} runs)",
        times[0].as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3
    );
    median
}

/// The default config with `n` groups (`group-0` … `group-<n-1>`, alternately read and write).
fn with_groups(n: usize) -> cdkrs_stacks::config::Config {
    let mut config = load::parse(DEFAULT).expect("the default config parses");
    let template = config.databricks.groups[0].clone();
    config.databricks.groups = (0..n)
        .map(|i| {
            let mut g = template.clone();
            g.name = format!("group-{i}");
            g.access = if i % 2 == 0 {
                cdkrs_stacks::config::Access::Read
            } else {
                cdkrs_stacks::config::Access::Write
            };
            g
        })
        .collect();
    config
}

fn main() {
    let config = load::load(DEFAULT).expect("the default config is valid");
    let parsed = load::parse(DEFAULT).expect("the default config parses");
    // Validation is linear in the config: 10,000 groups (far past what synth allows) must not
    // take long to refuse.
    let many = with_groups(10_000);
    measure("validate a config with 10,000 groups", 5, || {
        black_box(cdkrs_stacks::validate::validate(&many).is_ok());
    });
    let groups: String = (0..10_000)
        .map(|i| format!("    - {{name: group-{i}, access: read}}\n"))
        .collect();
    let yaml = DEFAULT.replace(
        "  groups:\n    - name: Read only\n      access: read\n    - name: All access\n      access: write\n",
        &format!("  groups:\n{groups}"),
    );
    assert_ne!(yaml, DEFAULT, "the default config's groups moved");
    measure("load (parse + validate) 10,000 groups of YAML", 5, || {
        black_box(load::load(&yaml).is_ok());
    });
    measure("parse + validate the default config", 200, || {
        black_box(load::load(DEFAULT).expect("valid"));
    });
    measure("  build the stack value only", 200, || {
        black_box(environment::build(&config).expect("builds"));
    });
    let built = environment::build(&config).expect("builds");
    measure("  synth (validate + render) only", 200, || {
        black_box(built.synth().expect("synthesizes"));
    });
    let synthesized = built.synth().expect("synthesizes");
    measure("  compact JSON of the template only", 200, || {
        black_box(synthesized.to_json_compact());
    });
    measure("build + synth the default environment", 200, || {
        let stack = environment::build(&config).expect("builds");
        black_box(stack.synth().expect("synthesizes").to_json_compact());
    });
    for n in [1usize, 10, 100] {
        let configs: Vec<_> = (0..n)
            .map(|i| {
                let mut c = parsed.clone();
                c.prefix = format!("env{i}");
                cdkrs_stacks::validate::validate(&c).expect("valid")
            })
            .collect();
        let median = measure(&format!("{n} environments in one process"), 20, || {
            for c in &configs {
                let stack = environment::build(c).expect("builds");
                black_box(stack.synth().expect("synthesizes").to_json_compact());
            }
        });
        println!(
            "{:<44} {:>9.3} ms per environment",
            "",
            median.as_secs_f64() * 1e3 / n as f64
        );
    }
    let template = environment::build(&config)
        .expect("builds")
        .synth()
        .expect("synthesizes");
    println!(
        "\nresources of the default environment: {}",
        template.resource_ids().len()
    );
    for (ty, count) in template.resource_type_counts() {
        println!("  {count:>3}  {ty}");
    }
}

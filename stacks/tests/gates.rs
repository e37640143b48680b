//! The lint and security gates on every committed snapshot: the pinned cfn-lint finds nothing
//! (0 errors, 0 warnings) and checkov fails no check. Each finding that cannot be fixed is
//! suppressed in its resource's Metadata with a written reason, which this test also demands.

mod common;

use std::path::PathBuf;

fn snapshot_files(dir: &str) -> (Vec<(String, serde_json::Value)>, Vec<PathBuf>) {
    let templates = testkit::snapshot_templates();
    assert!(
        templates.len() >= 12,
        "expected the sample, the bootstrap and the five environment scenarios in both \
         governance modes, found {}",
        templates.len()
    );
    let files = testkit::write_templates(
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir),
        &templates,
    );
    (templates, files)
}

#[test]
fn every_snapshot_is_cfn_lint_clean() {
    let (_, files) = snapshot_files("lint");
    let run = testkit::cfn_lint(&files);
    assert_eq!(
        run.code,
        Some(0),
        "cfn-lint findings:\n{}{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stdout.trim().is_empty(), "{}", run.stdout);
}

#[test]
fn every_snapshot_passes_checkov() {
    let (_, files) = snapshot_files("checkov");
    let run = testkit::checkov(&files);
    let reports: Vec<serde_json::Value> = match serde_json::from_str(&run.stdout) {
        Ok(serde_json::Value::Array(a)) => a,
        Ok(one) => vec![one],
        Err(e) => panic!(
            "checkov printed no JSON ({e}):\n{}\n{}",
            run.stdout, run.stderr
        ),
    };
    let mut failed = Vec::new();
    let mut passed = 0;
    for report in &reports {
        passed += report["summary"]["passed"].as_u64().unwrap_or(0);
        for c in report["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            failed.push(format!(
                "{} {} in {}",
                c["check_id"].as_str().unwrap_or("?"),
                c["resource"].as_str().unwrap_or("?"),
                c["file_path"].as_str().unwrap_or("?")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "checkov failed checks:\n{}",
        failed.join("\n")
    );
    assert!(
        passed > 100,
        "checkov ran too few checks ({passed}): {}",
        run.stderr
    );
}

#[test]
fn every_checkov_suppression_has_a_reason() {
    let (templates, _) = snapshot_files("reasons");
    for (name, t) in &templates {
        for (id, r) in t["Resources"].as_object().into_iter().flatten() {
            for skip in r["Metadata"]["checkov"]["skip"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let reason = skip["comment"].as_str().unwrap_or_default();
                assert!(
                    reason.split_whitespace().count() >= 6,
                    "{name}: {id} suppresses {} without a real reason: {reason:?}",
                    skip["id"]
                );
            }
        }
    }
}

/// The default environment for every region of [`regions::REGIONS`], written as
/// `<region>.template.json`.
fn every_region(dir: &str) -> Vec<(&'static str, PathBuf)> {
    use cdkrs_stacks::regions;
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    std::fs::create_dir_all(&out).expect("a scratch directory");
    regions::REGIONS
        .iter()
        .map(|r| {
            let template = common::default_environment_in(r);
            let path = out.join(format!("{}.template.json", r.name));
            std::fs::write(&path, template.to_json_pretty()).expect("write a template");
            (r.name, path)
        })
        .collect()
}

/// cfn-lint in every region Databricks supports: each region's template against that
/// region's resource specifications (`--regions`), 0 errors and 0 warnings. One process per
/// region, four at a time (about 20 s on two cores).
///
/// checkov is not run per region: the templates differ only in the region's Databricks bucket
/// names and the secret's ARN, which no checkov check reads, and it would add about 16 s. The
/// default region (eu-west-1) is checked by `every_snapshot_passes_checkov`.
#[test]
fn every_region_is_cfn_lint_clean() {
    let templates = every_region("lint-regions");
    let mut findings = Vec::new();
    for batch in templates.chunks(4) {
        let runs: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|(region, path)| {
                    scope.spawn(move || {
                        let file = path.display().to_string();
                        let run = testkit::run_tool(
                            "cfn-lint",
                            &["--format", "parseable", &file, "--regions", region],
                        );
                        (*region, run)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a cfn-lint thread"))
                .collect()
        });
        for (region, run) in runs {
            if run.code != Some(0) || !run.stdout.trim().is_empty() {
                findings.push(format!(
                    "{region} (exit {:?}):\n{}{}",
                    run.code, run.stdout, run.stderr
                ));
            }
        }
    }
    assert!(
        findings.is_empty(),
        "cfn-lint findings:\n{}",
        findings.join("\n")
    );
}

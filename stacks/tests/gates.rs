//! The lint and security gates on every committed snapshot: the pinned cfn-lint finds nothing
//! (0 errors, 0 warnings) and checkov fails no check. Each finding that cannot be fixed is
//! suppressed in its resource's Metadata with a written reason, which this test also demands.

use std::path::PathBuf;

fn snapshot_files(dir: &str) -> (Vec<(String, serde_json::Value)>, Vec<PathBuf>) {
    let templates = testkit::snapshot_templates();
    assert!(
        templates.len() >= 6,
        "expected the sample and five environment snapshots, found {}",
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

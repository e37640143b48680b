//! Accepted linter findings, recorded on the resource with the reason, where the tools read
//! them: checkov (`Metadata.checkov.skip`) and cfn-lint (`Metadata.cfn-lint.config.ignore_checks`);
//! and what a stack tells the reviewer of a diff about resources it no longer declares
//! ([`add_removal_note`]).

use serde_json::{json, Value as Json};

use crate::{Handle, Stack};

fn entry<'a>(metadata: &'a mut Json, path: &[&str], empty: Json) -> Option<&'a mut Json> {
    let mut node = metadata;
    for (i, key) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        node = node.as_object_mut()?.entry(*key).or_insert_with(|| {
            if last {
                empty.clone()
            } else {
                json!({})
            }
        });
    }
    Some(node)
}

/// Marks checkov checks as accepted on a resource, each with its reason.
pub fn skip_checkov<R>(stack: &mut Stack, handle: &Handle<R>, checks: &[(&str, &str)]) {
    let Some(options) = stack.options_mut(handle) else {
        return;
    };
    let metadata = options.metadata.get_or_insert_with(|| json!({}));
    if let Some(list) =
        entry(metadata, &["checkov", "skip"], json!([])).and_then(Json::as_array_mut)
    {
        for (id, comment) in checks {
            if !list.iter().any(|s| s["id"] == *id) {
                list.push(json!({"id": id, "comment": comment}));
            }
        }
    }
}

/// Makes cfn-lint ignore rules on a resource. The reason is recorded beside them
/// (`Metadata.cfn-lint.reasons`), since cfn-lint has no field for it.
pub fn ignore_cfn_lint<R>(stack: &mut Stack, handle: &Handle<R>, rules: &[(&str, &str)]) {
    let Some(options) = stack.options_mut(handle) else {
        return;
    };
    let metadata = options.metadata.get_or_insert_with(|| json!({}));
    for (rule, reason) in rules {
        if let Some(list) = entry(
            metadata,
            &["cfn-lint", "config", "ignore_checks"],
            json!([]),
        )
        .and_then(Json::as_array_mut)
        {
            if !list.iter().any(|r| r == rule) {
                list.push(json!(rule));
            }
        }
        if let Some(reasons) =
            entry(metadata, &["cfn-lint", "reasons"], json!({})).and_then(Json::as_object_mut)
        {
            reasons.insert((*rule).to_owned(), json!(reason));
        }
    }
}

/// Where a template keeps its removal notes: `Metadata.cdkrs.RemovalNotes`.
pub const REMOVAL_NOTES_KEY: &str = "RemovalNotes";

/// Records what users must know when the resource `logical_id` (one this stack declared in an
/// earlier shape and no longer declares) is removed: `cdkrs diff` shows `note` as a warning on
/// that removal. The note lives in the new template (`Metadata.cdkrs.RemovalNotes`), so it
/// reaches stacks deployed before the note was written; it is inert when nothing of that id is
/// deployed.
pub fn add_removal_note(stack: &mut Stack, logical_id: &str, note: &str) {
    let mut cdkrs = stack
        .metadata("cdkrs")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(notes) =
        entry(&mut cdkrs, &[REMOVAL_NOTES_KEY], json!({})).and_then(Json::as_object_mut)
    {
        notes.insert(logical_id.to_owned(), Json::from(note));
    }
    stack.set_metadata("cdkrs", cdkrs);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::CfnBucket;

    #[test]
    fn skips_and_ignores_merge_into_the_resource_metadata() {
        let mut stack = Stack::new("t");
        let b = stack.add("B", CfnBucket::default());
        skip_checkov(&mut stack, &b, &[("CKV_AWS_18", "it is the log target")]);
        skip_checkov(
            &mut stack,
            &b,
            &[
                ("CKV_AWS_18", "again"),
                ("CKV_AWS_21", "no versioning here"),
            ],
        );
        ignore_cfn_lint(&mut stack, &b, &[("W3010", "zones named by the config")]);
        let t = stack.synth().unwrap();
        assert_eq!(
            t.resource("B").unwrap()["Metadata"],
            json!({
                "checkov": {"skip": [
                    {"id": "CKV_AWS_18", "comment": "it is the log target"},
                    {"id": "CKV_AWS_21", "comment": "no versioning here"}
                ]},
                "cfn-lint": {
                    "config": {"ignore_checks": ["W3010"]},
                    "reasons": {"W3010": "zones named by the config"}
                }
            })
        );
    }
}

//! Text artifacts rendered with handlebars: the SSE-KMS cluster init script.

use std::sync::OnceLock;

use handlebars::Handlebars;
use serde::Serialize;

/// The init script template (a workspace file the cluster runs at start).
pub const SSE_KMS_INIT_TEMPLATE: &str = include_str!("../templates/sse-kms-init.sh.hbs");

/// Where the init script lives in the workspace.
pub const SSE_KMS_INIT_PATH: &str = "/Shared/cdkrs/init/sse-kms.sh";

/// The Hadoop S3A (core-site) settings that make writes request SSE-KMS with `key_arn`.
pub fn s3a_sse_kms_properties(key_arn: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "fs.s3a.server-side-encryption-algorithm",
            "SSE-KMS".to_owned(),
        ),
        ("fs.s3a.server-side-encryption.key", key_arn.to_owned()),
    ]
}

const SSE_KMS_INIT: &str = "sse-kms-init";

/// The templates, parsed once per process (synth of many environments reuses them).
fn registry() -> Result<&'static Handlebars<'static>, String> {
    static REGISTRY: OnceLock<Result<Handlebars<'static>, String>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let mut hb = Handlebars::new();
            hb.set_strict_mode(true);
            // Shell scripts, not HTML: no entity escaping.
            hb.register_escape_fn(handlebars::no_escape);
            hb.register_template_string(SSE_KMS_INIT, SSE_KMS_INIT_TEMPLATE)
                .map_err(|e| format!("the SSE-KMS init script template does not parse: {e}"))?;
            Ok(hb)
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[derive(Serialize)]
struct Property<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct InitScript<'a> {
    stack_name: &'a str,
    properties: Vec<Property<'a>>,
}

/// Renders the init script. `key_arn` may be a `Fn::Sub` placeholder (`${StorageKeyArn}`): the
/// script has no other `${`, so the stack can bind it at deploy time.
pub fn render_sse_kms_init(stack_name: &str, key_arn: &str) -> Result<String, String> {
    let props = s3a_sse_kms_properties(key_arn);
    let data = InitScript {
        stack_name,
        properties: props
            .iter()
            .map(|(name, value)| Property { name, value })
            .collect(),
    };
    registry()?
        .render(SSE_KMS_INIT, &data)
        .map_err(|e| format!("rendering the SSE-KMS init script: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_script_writes_both_s3a_settings_for_the_driver() {
        let s = render_sse_kms_init("cm-vpc-databricks", "${StorageKeyArn}").unwrap();
        assert!(s.starts_with("#!/bin/bash\n"), "{s}");
        assert!(
            s.contains("\"spark.hadoop.fs.s3a.server-side-encryption-algorithm\" = \"SSE-KMS\""),
            "{s}"
        );
        assert!(
            s.contains("\"spark.hadoop.fs.s3a.server-side-encryption.key\" = \"${StorageKeyArn}\""),
            "{s}"
        );
        assert!(s.contains("[driver] {"), "{s}");
        // The only `${` is the placeholder the stack binds with Fn::Sub.
        assert_eq!(s.matches("${").count(), 1, "{s}");
    }

    #[test]
    fn init_script_is_deterministic() {
        assert_eq!(
            render_sse_kms_init("a", "k").unwrap(),
            render_sse_kms_init("a", "k").unwrap()
        );
    }
}

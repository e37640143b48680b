//! The ownership mark: what the provider puts on every object it creates so that a retried
//! Create adopts only its own object, never a same-named one somebody else made (names are not
//! unique in a real account, and a workspace, group or configuration found by name alone may
//! belong to another team).
//!
//! The mark is derived from the stack's ARN (which carries the stack's GUID, so a stack deleted
//! and created again under the same name gets a new mark) and the resource's logical id. It is
//! carried as a tag ([`TAG_KEY`]) where the API has tags, as a name part or an external id
//! otherwise; each handler's docs say which:
//!
//! - **Name part** ([`named`]): credential, storage, network and log-delivery configurations
//!   have no tags, so the provider names them `<configured name>-<mark>` (a replacement made by
//!   an Update: `<configured name>-<mark>-<token of the event>`, since the old object still holds
//!   the first name while CloudFormation has not deleted it). An object is this resource's when
//!   its name is such a name ([`is_named`]); one named exactly as configured without the mark
//!   is somebody else's, and Create fails naming it ([`foreign`]).
//! - **External id**: workspace SCIM groups carry the mark in `externalId` (databricks-sdk
//!   0.167 `iam.Group.external_id`; terraform-provider-databricks `docs/resources/group.md`
//!   `external_id`), their display name stays as configured (it is unique in the workspace).
//! - **Key configurations** have neither name nor tags: a configuration is adopted only when it
//!   is of this stack's own key (a key ARN in the stack's AWS account and region, see
//!   [`same_account_and_region`]) with the same use cases; any other configuration of that key
//!   is somebody else's.
//! - **Tags** ([`TAG_KEY`]): workspaces and clusters.
//! - **Stable mark** ([`stable`]) for the Unity Catalog objects that hold data (storage
//!   credentials, external locations, catalogs): derived from the stack ARN *without* its GUID
//!   and the logical id, so a later stack of the same name adopts what an earlier one kept
//!   (the provider keeps a catalog that still holds schemas instead of deleting it). Catalogs
//!   carry it in `properties` under [`TAG_KEY`]; credentials and locations have only a
//!   `comment`, which carries it as a suffix ([`with_comment_mark`], read back with
//!   [`comment_mark`]).
//!
//!   Why this is safe: a stack name is unique among the live stacks of one AWS account and
//!   region (CloudFormation refuses a second `CreateStack` of a live name: "AlreadyExistsException",
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html>),
//!   so at most one live stack has a given stable mark; the one that adopts is the successor
//!   of the stack that kept the object, in the same account, region and name, deploying the same
//!   logical id. Another team's stack has another name (or account, or region) and never
//!   matches; a same-named object without the mark is still refused.

use crate::event::Request;

use super::HandlerError;

/// The tag key (workspace and cluster `custom_tags`) whose value is the mark.
pub(crate) const TAG_KEY: &str = "cdkrs-owner";

/// The mark's prefix: every mark is `cdkrs-` and 12 hex digits.
pub(crate) const PREFIX: &str = "cdkrs-";

/// The mark of the resource `request` is about: `cdkrs-` and 12 hex digits of a hash of the
/// stack ARN and the logical id. Stable for the life of the stack; different for every
/// resource of every stack.
pub(crate) fn mark(request: &Request) -> String {
    let common = request.common();
    of(&common.stack_id, &common.logical_resource_id)
}

/// The stack ARN without its GUID: `arn:aws:cloudformation:<region>:<account>:stack/<name>`
/// (an ARN of another form is returned as it is).
pub(crate) fn stack_without_guid(stack_id: &str) -> &str {
    match stack_id.split_once(":stack/") {
        Some((_, rest)) => match rest.find('/') {
            Some(slash) => &stack_id[..stack_id.len() - rest.len() + slash],
            None => stack_id,
        },
        None => stack_id,
    }
}

/// The stable mark of the resource `request` is about (see the module docs): the same for
/// every stack of this name in this AWS account and region, different for every logical id.
pub(crate) fn stable(request: &Request) -> String {
    let common = request.common();
    of(
        stack_without_guid(&common.stack_id),
        &common.logical_resource_id,
    )
}

/// The opening of the mark carried at the end of a comment: `[cdkrs-owner: <mark>]`.
const COMMENT_OPEN: &str = "[cdkrs-owner: ";

/// The comment an object carrying `mark` gets: the configured `comment` (if any) and
/// ` [cdkrs-owner: <mark>]`.
pub(crate) fn with_comment_mark(comment: Option<&str>, mark: &str) -> String {
    match comment.map(str::trim_end).filter(|c| !c.is_empty()) {
        Some(c) => format!("{c} {COMMENT_OPEN}{mark}]"),
        None => format!("{COMMENT_OPEN}{mark}]"),
    }
}

/// The mark a comment carries (see [`with_comment_mark`]) and the configured comment without
/// it; `(None, comment)` when it carries none.
pub(crate) fn comment_mark(comment: &str) -> (Option<&str>, &str) {
    let Some(start) = comment.rfind(COMMENT_OPEN) else {
        return (None, comment);
    };
    let rest = &comment[start + COMMENT_OPEN.len()..];
    match rest.strip_suffix(']') {
        Some(mark) if mark.starts_with(PREFIX) && !mark.contains(' ') => {
            (Some(mark), comment[..start].trim_end())
        }
        _ => (None, comment),
    }
}

/// The custom tags `tags` (a resource's declared ones) with the mark under [`TAG_KEY`]: what
/// the provider sends as `custom_tags` of the objects that have tags (workspaces, clusters).
pub(crate) fn tagged(
    tags: Option<&std::collections::BTreeMap<String, String>>,
    mark: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut tags = tags.cloned().unwrap_or_default();
    tags.insert(TAG_KEY.to_owned(), mark.to_owned());
    tags
}

/// The mark of `logical_id` in the stack `stack_id`.
pub(crate) fn of(stack_id: &str, logical_id: &str) -> String {
    // FNV-1a, 64 bits: an identity, not a secret (nothing here needs to resist forgery: the
    // mark keeps the provider from taking over objects by mistake).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stack_id.bytes().chain([b'/']).chain(logical_id.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{PREFIX}{:012x}", hash >> 16)
}

/// The longest name given to a named account configuration: `config_name` takes at most 255
/// characters and `network_name` 256 (reference §2.3, §2.8; the others state no limit, so the
/// same bound keeps them readable).
pub(crate) const NAME_MAX: usize = 255;

/// The longest token of an event in a name (see `handlers::request_token`).
pub(crate) const TOKEN_MAX: usize = 8;

/// The name an object of this resource gets: `base` then `-` and `mark` (and `-` and `token`,
/// at most [`TOKEN_MAX`] characters, when given), with `base` shortened (at a character
/// boundary, the same with or without a token) so the whole stays within [`NAME_MAX`]
/// characters.
pub(crate) fn named(base: &str, mark: &str, token: Option<&str>) -> String {
    let room = NAME_MAX.saturating_sub(mark.chars().count() + 2 + TOKEN_MAX);
    let base: String = base.chars().take(room).collect();
    match token {
        Some(t) => format!(
            "{base}-{mark}-{}",
            t.chars().take(TOKEN_MAX).collect::<String>()
        ),
        None => format!("{base}-{mark}"),
    }
}

/// Whether `name` is a name [`named`] gives for `base` and `mark` (with or without a token):
/// the object is this resource's, made for the configured name `base`.
pub(crate) fn is_named(name: &str, base: &str, mark: &str) -> bool {
    let plain = named(base, mark, None);
    name == plain
        || name
            .strip_prefix(&plain)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|token| {
                !token.is_empty() && token.chars().all(|c| c.is_ascii_alphanumeric())
            })
}

/// Whether an ARN (`arn:aws:<service>:<region>:<account>:…`) is in the region and AWS account
/// of the stack `stack_id` (a CloudFormation stack ARN of the same form).
pub(crate) fn same_account_and_region(arn: &str, stack_id: &str) -> bool {
    let parts = |a: &str| -> Option<(String, String)> {
        let mut it = a.split(':');
        let (_, _, _, region, account) =
            (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
        (!region.is_empty() && !account.is_empty()).then(|| (region.to_owned(), account.to_owned()))
    };
    matches!((parts(arn), parts(stack_id)), (Some(a), Some(b)) if a == b)
}

/// The error of a Create that found an object with the wanted name that is not this
/// resource's: names what was found and how to go on. Nothing is changed or deleted.
pub(crate) fn foreign(what: &str, name: &str, id: &str) -> HandlerError {
    HandlerError::Invalid(format!(
        "{what} {name:?} already exists ({id}) and was not created by this stack resource; \
         cdkrs does not adopt or change objects it did not create: choose another name in the \
         config, or delete that object if it is unused"
    ))
}

/// As [`foreign`], with the way out written by the caller (for objects that cannot be
/// deleted, such as log-delivery configurations).
pub(crate) fn foreign_with_fix(what: &str, name: &str, id: &str, fix: &str) -> HandlerError {
    HandlerError::Invalid(format!(
        "{what} {name:?} already exists ({id}) and was not created by this stack resource; \
         cdkrs does not adopt or change objects it did not create: {fix}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_stable_per_resource_and_differs_between_resources_and_stacks() {
        let stack = "arn:aws:cloudformation:eu-west-1:123456789012:stack/acme-databricks/6f1c0a2e-0000-4000-8000-000000000001";
        let again = "arn:aws:cloudformation:eu-west-1:123456789012:stack/acme-databricks/6f1c0a2e-0000-4000-8000-000000000002";
        let m = of(stack, "DatabricksWorkspace");
        assert_eq!(m, of(stack, "DatabricksWorkspace"));
        assert_eq!(m.len(), PREFIX.len() + 12);
        assert!(m.starts_with(PREFIX));
        assert_ne!(m, of(stack, "DatabricksCredentials"));
        assert_ne!(m, of(again, "DatabricksWorkspace"));
    }

    #[test]
    fn a_marked_name_keeps_the_configured_name_readable_and_within_the_limit() {
        let m = of("arn:aws:cloudformation:eu-west-1:1:stack/s/g", "Creds");
        let name = named("acme-xacct", &m, None);
        assert_eq!(name, format!("acme-xacct-{m}"));
        assert!(is_named(&name, "acme-xacct", &m));
        assert!(!is_named("acme-xacct", "acme-xacct", &m));
        assert!(!is_named(&name, "acme", &m));
        assert!(!is_named(&name, "acme-xacct", &of("arn:other", "Creds")));
        let replaced = named("acme-xacct", &m, Some("0000abcd"));
        assert_eq!(replaced, format!("acme-xacct-{m}-0000abcd"));
        assert!(is_named(&replaced, "acme-xacct", &m));
        assert!(!is_named(&format!("{name}-x y"), "acme-xacct", &m));
        let long = named(&"é".repeat(400), &m, Some("0000abcd"));
        assert_eq!(long.chars().count(), NAME_MAX);
        assert!(named(&"é".repeat(400), &m, None).chars().count() < NAME_MAX);
        assert!(long.ends_with(&format!("-{m}-0000abcd")));
        assert!(is_named(&long, &"é".repeat(400), &m));
    }

    #[test]
    fn a_stable_mark_survives_a_new_stack_of_the_same_name_only() {
        let first = "arn:aws:cloudformation:eu-west-1:123456789012:stack/acme-databricks/6f1c0a2e-0000-4000-8000-000000000001";
        let second = "arn:aws:cloudformation:eu-west-1:123456789012:stack/acme-databricks/6f1c0a2e-0000-4000-8000-000000000002";
        assert_eq!(
            stack_without_guid(first),
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/acme-databricks"
        );
        let m = of(stack_without_guid(first), "RawCatalog");
        assert_eq!(m, of(stack_without_guid(second), "RawCatalog"));
        assert_ne!(m, of(first, "RawCatalog"), "not the per-stack mark");
        for other in [
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/acme-databricks-2/g",
            "arn:aws:cloudformation:eu-west-1:210987654321:stack/acme-databricks/g",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/acme-databricks/g",
        ] {
            assert_ne!(m, of(stack_without_guid(other), "RawCatalog"), "{other}");
        }
        assert_ne!(m, of(stack_without_guid(first), "TrustedCatalog"));
        assert_eq!(stack_without_guid("not-an-arn"), "not-an-arn");
    }

    #[test]
    fn a_comment_carries_the_mark_and_reads_back_without_it() {
        let m = of("s", "L");
        let c = with_comment_mark(Some("raw data"), &m);
        assert_eq!(c, format!("raw data [cdkrs-owner: {m}]"));
        assert_eq!(comment_mark(&c), (Some(m.as_str()), "raw data"));
        let bare = with_comment_mark(None, &m);
        assert_eq!(comment_mark(&bare), (Some(m.as_str()), ""));
        assert_eq!(with_comment_mark(Some("  "), &m), bare);
        assert_eq!(comment_mark("raw data"), (None, "raw data"));
        assert_eq!(
            comment_mark("x [cdkrs-owner: someone else]"),
            (None, "x [cdkrs-owner: someone else]")
        );
    }

    #[test]
    fn only_an_arn_of_the_stack_account_and_region_is_the_stack_s() {
        let stack = "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/g";
        assert!(same_account_and_region(
            "arn:aws:kms:eu-west-1:123456789012:key/k",
            stack
        ));
        assert!(!same_account_and_region(
            "arn:aws:kms:eu-west-1:210987654321:key/k",
            stack
        ));
        assert!(!same_account_and_region(
            "arn:aws:kms:us-east-1:123456789012:key/k",
            stack
        ));
        assert!(!same_account_and_region("not-an-arn", stack));
    }
}

//! The ownership mark: what the provider puts on every object it creates so that a retried
//! Create adopts only its own object, never a same-named one somebody else made (names are not
//! unique in a real account, and a workspace, group or configuration found by name alone may
//! belong to another team).
//!
//! The mark is derived from the stack's ARN (which carries the stack's GUID, so a stack deleted
//! and created again under the same name gets a new mark) and the resource's logical id. It is
//! carried as a tag ([`TAG_KEY`]) where the API has tags, as a name part or an external id
//! otherwise; each handler's docs say which.

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

/// The error of a Create that found an object with the wanted name that is not this
/// resource's: names what was found and how to go on. Nothing is changed or deleted.
pub(crate) fn foreign(what: &str, name: &str, id: &str) -> HandlerError {
    HandlerError::Invalid(format!(
        "{what} {name:?} already exists ({id}) and was not created by this stack resource; \
         cdkrs does not adopt or change objects it did not create: choose another name in the \
         config, or delete that object if it is unused"
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
}

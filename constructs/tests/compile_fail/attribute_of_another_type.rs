// A key has no `DomainName` attribute: attributes belong to their resource type.
use cdkrs_constructs::{kms::CfnKey, Stack};

fn main() {
    let mut stack = Stack::new("demo");
    let key = stack.add("Key", CfnKey::default());
    let _ = key.attr_domain_name();
}

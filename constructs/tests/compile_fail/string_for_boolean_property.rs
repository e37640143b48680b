// Property values are typed: a string value is no boolean value.
use cdkrs_constructs::{ec2::CfnVpc, Value};

fn main() {
    let yes: Value<String> = Value::from("yes");
    let _ = CfnVpc {
        enable_dns_support: Some(yes),
        ..Default::default()
    };
}

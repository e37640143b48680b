// Property values are typed: a string is no boolean.
use cdkrs_constructs::ec2::CfnVpc;

fn main() {
    let _ = CfnVpc {
        enable_dns_support: Some("yes".into()),
        ..Default::default()
    };
}

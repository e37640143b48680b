// A handle knows its resource type: a VPC handle cannot read back as a bucket.
use cdkrs_constructs::{ec2::CfnVpc, s3::CfnBucket, Handle, Stack};

fn main() {
    let mut stack = Stack::new("demo");
    let vpc: Handle<CfnVpc> = stack.add("Vpc", CfnVpc::default());
    let _: Option<&mut CfnBucket> = stack.resource_mut(&vpc);
}

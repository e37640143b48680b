// A GetAtt attribute the type does not have is a missing method.
use cdkrs_constructs::{s3::CfnBucket, Stack};

fn main() {
    let mut stack = Stack::new("demo");
    let bucket = stack.add("Bucket", CfnBucket::default());
    let _ = bucket.attr_arm();
}

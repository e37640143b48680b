// The string-typed GetAtt is private: user code cannot name an attribute by hand.
use cdkrs_constructs::{s3::CfnBucket, Stack, Value};

fn main() {
    let mut stack = Stack::new("demo");
    let bucket = stack.add("Bucket", CfnBucket::default());
    let _: Value<String> = bucket.get_att("Arm");
}

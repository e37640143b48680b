// An instance profile needs a Role; a Bucket handle does not fit.
use cdkrs_constructs::bucket::{Bucket, BucketEncryption, BucketProps};
use cdkrs_constructs::role::{InstanceProfile, InstanceProfileProps};
use cdkrs_constructs::Stack;

fn main() {
    let mut stack = Stack::new("demo");
    let bucket =
        Bucket::new(&mut stack, "Logs", BucketEncryption::S3Managed, BucketProps::default())
            .unwrap();
    let _ = InstanceProfile::new(&mut stack, "Profile", &bucket, InstanceProfileProps::default());
}

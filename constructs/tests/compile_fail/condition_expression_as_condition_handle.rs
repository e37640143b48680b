// Fn::If takes a named condition's handle, not a bare expression that no template defines.
use cdkrs_constructs::{equals, if_, Pseudo, Value};

fn main() {
    let cond = equals(Pseudo::Region.value(), "us-east-1");
    let _: Value<String> = if_(&cond, "a", "b");
}

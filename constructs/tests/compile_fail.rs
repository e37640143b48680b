//! Compile-fail tests: the type system refuses broken templates. Each case's `.stderr` holds
//! the compiler error it must fail with, so a case that fails for another reason fails here.

#[test]
fn broken_references_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}

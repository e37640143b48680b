//! Unit tests of `Stack::synth` validation and rendering, and of `App::synth`.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::resource::{Policy, ResourceMeta};
use crate::value::{and, condition, equals, if_, or, sub, Pseudo};
use crate::{ec2, kms, s3, Tag};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Synthesizes a stack that must be valid, printing every problem otherwise.
fn ok(stack: &Stack) -> Template {
    match stack.synth() {
        Ok(t) => t,
        Err(e) => panic!("expected a valid stack, got:\n{e}"),
    }
}

/// The problems of a stack that must be invalid.
fn errors(stack: &Stack) -> Vec<SynthError> {
    match stack.synth() {
        Ok(t) => panic!("expected synth errors, got:\n{}", t.to_json_pretty()),
        Err(SynthErrors(e)) => e,
    }
}

/// The messages of a stack's problems, in synth order.
fn messages(stack: &Stack) -> Vec<String> {
    errors(stack).iter().map(ToString::to_string).collect()
}

/// The message of a stack with exactly one problem.
fn only_message(stack: &Stack) -> String {
    let mut m = messages(stack);
    assert_eq!(m.len(), 1, "expected exactly one problem, got {m:#?}");
    m.remove(0)
}

/// A one-entry mapping `{top: {second: value}}`.
fn mapping(top: &str, second: &str, value: Json) -> BTreeMap<String, BTreeMap<String, Json>> {
    BTreeMap::from([(top.to_owned(), BTreeMap::from([(second.to_owned(), value)]))])
}

/// A condition expression that references nothing.
fn is_us_east_1() -> ConditionExpr {
    equals(Pseudo::Region.value(), "us-east-1")
}

/// A resource with no required property, for tests that only need some resource.
fn vpc() -> ec2::CfnVpc {
    ec2::CfnVpc::default()
}

/// Adds `depends_on` edges from `from` to each of `to`.
fn depend(stack: &mut Stack, from: &Handle<ec2::CfnVpc>, to: &[&Handle<ec2::CfnVpc>]) {
    let opts = stack.options_mut(from).expect("handle of this stack");
    opts.depends_on.extend(to.iter().map(|h| h.erase()));
}

/// A test-only resource whose required `Name` is left out of the JSON when `None`.
#[derive(Clone, Debug, serde::Serialize)]
struct Skipped {
    #[serde(rename = "Name", skip_serializing_if = "Option::is_none")]
    name: Option<Value<String>>,
}

impl Resource for Skipped {
    const META: ResourceMeta = ResourceMeta {
        type_name: "Test::Custom::Skipped",
        required: &["Name"],
        create_only: &[],
        read_only: &[],
        write_only: &[],
        primary_identifier: &[],
    };
}

/// A test-only resource whose required `Name` serializes as `null` when `None`.
#[derive(Clone, Debug, serde::Serialize)]
struct Nullable {
    #[serde(rename = "Name")]
    name: Option<Value<String>>,
}

impl Resource for Nullable {
    const META: ResourceMeta = ResourceMeta {
        type_name: "Test::Custom::Nullable",
        required: &["Name"],
        create_only: &[],
        read_only: &[],
        write_only: &[],
        primary_identifier: &[],
    };
}

/// A test-only resource whose `Serialize` always fails.
#[derive(Clone, Debug)]
struct Broken;

impl serde::Serialize for Broken {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("broken on purpose"))
    }
}

impl Resource for Broken {
    const META: ResourceMeta = ResourceMeta {
        type_name: "Test::Custom::Broken",
        required: &[],
        create_only: &[],
        read_only: &[],
        write_only: &[],
        primary_identifier: &[],
    };
}

// ---------------------------------------------------------------------------------------------
// Duplicate ids
// ---------------------------------------------------------------------------------------------

#[test]
fn duplicate_resource_id_is_one_error_however_often_it_repeats() {
    let mut stack = Stack::new("dup");
    stack.add("Vpc", vpc());
    stack.add("Vpc", vpc());
    stack.add("Vpc", vpc());
    assert_eq!(
        errors(&stack),
        vec![SynthError::DuplicateId {
            stack: "dup".into(),
            what: "resource or parameter",
            id: "Vpc".into(),
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack `dup`: resource or parameter logical id `Vpc` is used twice; give each one its own id"
    );
}

#[test]
fn resource_and_parameter_sharing_an_id_is_a_duplicate() {
    let mut stack = Stack::new("dup");
    stack.add("Shared", vpc());
    stack.add_parameter("Shared", Parameter::string());
    assert_eq!(
        only_message(&stack),
        "stack `dup`: resource or parameter logical id `Shared` is used twice; give each one its own id"
    );
}

#[test]
fn two_parameters_sharing_an_id_are_a_duplicate() {
    let mut stack = Stack::new("dup");
    stack.add_parameter("Env", Parameter::string());
    stack.add_parameter("Env", Parameter::integer());
    assert_eq!(
        only_message(&stack),
        "stack `dup`: resource or parameter logical id `Env` is used twice; give each one its own id"
    );
}

#[test]
fn duplicate_condition_id_is_reported_as_condition() {
    let mut stack = Stack::new("dup");
    stack.add_condition("IsUsEast1", is_us_east_1());
    stack.add_condition("IsUsEast1", is_us_east_1());
    assert_eq!(
        errors(&stack),
        vec![SynthError::DuplicateId {
            stack: "dup".into(),
            what: "condition",
            id: "IsUsEast1".into(),
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack `dup`: condition logical id `IsUsEast1` is used twice; give each one its own id"
    );
}

#[test]
fn duplicate_output_id_is_reported_as_output() {
    let mut stack = Stack::new("dup");
    stack.add_output("Name", Output::new(Pseudo::StackName.value()));
    stack.add_output("Name", Output::new(Pseudo::Region.value()));
    assert_eq!(
        only_message(&stack),
        "stack `dup`: output logical id `Name` is used twice; give each one its own id"
    );
}

#[test]
fn duplicate_mapping_id_is_reported_as_mapping() {
    let mut stack = Stack::new("dup");
    stack.add_mapping("Amis", mapping("us-east-1", "Id", json!("ami-1")));
    stack.add_mapping("Amis", mapping("eu-west-1", "Id", json!("ami-2")));
    assert_eq!(
        only_message(&stack),
        "stack `dup`: mapping logical id `Amis` is used twice; give each one its own id"
    );
}

#[test]
fn output_may_share_the_id_of_a_resource() {
    // Outputs are their own namespace (SAM's templates name an output after its function).
    let mut stack = Stack::new("ok");
    let v = stack.add("Vpc", vpc());
    stack.add_output("Vpc", Output::new(v.attr_vpc_id()));
    let t = ok(&stack);
    assert_eq!(
        t.as_json()["Outputs"]["Vpc"]["Value"],
        json!({"Fn::GetAtt": ["Vpc", "VpcId"]})
    );
}

// ---------------------------------------------------------------------------------------------
// Logical ids and stack names
// ---------------------------------------------------------------------------------------------

#[test]
fn logical_id_rule_accepts_1_to_255_ascii_alphanumerics() {
    assert!(valid_logical_id("A"));
    assert!(valid_logical_id("PrivateSubnet2"));
    assert!(valid_logical_id(&"A".repeat(255)));
    assert!(!valid_logical_id(""));
    assert!(!valid_logical_id(&"A".repeat(256)));
    assert!(!valid_logical_id("my-bucket"));
    assert!(!valid_logical_id("my_bucket"));
    assert!(!valid_logical_id("My Bucket"));
    assert!(!valid_logical_id("Bücket"));
}

#[test]
fn resource_id_with_a_hyphen_is_invalid() {
    let mut stack = Stack::new("ids");
    stack.add("my-bucket", s3::CfnBucket::default());
    assert_eq!(
        errors(&stack),
        vec![SynthError::InvalidId {
            stack: "ids".into(),
            id: "my-bucket".into(),
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack `ids`: logical id `my-bucket` is invalid: use 1 to 255 ASCII letters and digits only"
    );
}

#[test]
fn empty_resource_id_is_invalid() {
    let mut stack = Stack::new("ids");
    stack.add("", vpc());
    assert_eq!(
        only_message(&stack),
        "stack `ids`: logical id `` is invalid: use 1 to 255 ASCII letters and digits only"
    );
}

#[test]
fn non_ascii_resource_id_is_invalid() {
    let mut stack = Stack::new("ids");
    stack.add("Bücket", vpc());
    assert_eq!(
        only_message(&stack),
        "stack `ids`: logical id `Bücket` is invalid: use 1 to 255 ASCII letters and digits only"
    );
}

#[test]
fn resource_id_of_255_chars_is_valid_and_256_is_not() {
    let mut fine = Stack::new("ids");
    fine.add(&"A".repeat(255), vpc());
    assert_eq!(ok(&fine).resource_ids(), vec!["A".repeat(255)]);

    let long = "B".repeat(256);
    let mut too_long = Stack::new("ids");
    too_long.add(&long, vpc());
    assert_eq!(
        only_message(&too_long),
        format!(
            "stack `ids`: logical id `{long}` is invalid: use 1 to 255 ASCII letters and digits only"
        )
    );
}

#[test]
fn invalid_ids_of_parameters_conditions_mappings_and_outputs_are_reported() {
    let mut stack = Stack::new("ids");
    stack.add_parameter("Param_1", Parameter::string());
    stack.add_condition("Cond-1", is_us_east_1());
    stack.add_mapping("Map 1", mapping("a", "b", json!("c")));
    stack.add_output("Out.1", Output::new(Pseudo::Region.value()));
    let mut bad: Vec<String> = errors(&stack)
        .into_iter()
        .map(|e| match e {
            SynthError::InvalidId { stack, id } => {
                assert_eq!(stack, "ids");
                id
            }
            other => panic!("unexpected {other}"),
        })
        .collect();
    bad.sort();
    assert_eq!(bad, vec!["Cond-1", "Map 1", "Out.1", "Param_1"]);
}

#[test]
fn id_both_invalid_and_duplicated_gets_one_error_of_each_kind() {
    let mut stack = Stack::new("ids");
    stack.add("bad-id", vpc());
    stack.add("bad-id", vpc());
    stack.add("bad-id", vpc());
    assert_eq!(
        messages(&stack),
        vec![
            "stack `ids`: logical id `bad-id` is invalid: use 1 to 255 ASCII letters and digits only",
            "stack `ids`: resource or parameter logical id `bad-id` is used twice; give each one its own id",
        ]
    );
}

#[test]
fn stack_name_rule_is_letter_then_letters_digits_hyphens_up_to_128() {
    assert!(valid_stack_name("a"));
    assert!(valid_stack_name("dev-databricks"));
    assert!(valid_stack_name("Stack2-B"));
    assert!(valid_stack_name(&format!("a{}", "b".repeat(127))));
    assert!(!valid_stack_name(&format!("a{}", "b".repeat(128))));
    assert!(!valid_stack_name(""));
    assert!(!valid_stack_name("1stack"));
    assert!(!valid_stack_name("-stack"));
    assert!(!valid_stack_name("my_stack"));
    assert!(!valid_stack_name("my stack"));
    assert!(!valid_stack_name("stäck"));
}

#[test]
fn invalid_stack_name_is_reported_with_its_message() {
    let stack = Stack::new("my_stack");
    assert_eq!(
        errors(&stack),
        vec![SynthError::InvalidStackName {
            name: "my_stack".into()
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack name `my_stack` is invalid: start with a letter, then letters, digits and hyphens, 128 characters at most"
    );
}

#[test]
fn stack_name_of_129_chars_is_reported() {
    let name = format!("s{}", "x".repeat(128));
    let stack = Stack::new(&name);
    assert_eq!(
        only_message(&stack),
        format!("stack name `{name}` is invalid: start with a letter, then letters, digits and hyphens, 128 characters at most")
    );
}

// ---------------------------------------------------------------------------------------------
// Handles of another stack
// ---------------------------------------------------------------------------------------------

const FOREIGN_HINT: &str = "a handle only works in the stack that made it (export an output there and use Fn::ImportValue here)";

#[test]
fn resource_handle_of_another_stack_in_a_property_is_reported_naming_both_stacks() {
    let mut network = Stack::new("network");
    let v = network.add("Vpc", vpc());
    let mut app = Stack::new("app");
    app.add("Subnet", ec2::CfnSubnet::new(v.attr_vpc_id()));
    assert_eq!(
        errors(&app),
        vec![SynthError::ForeignReference {
            stack: "app".into(),
            user: "Subnet".into(),
            kind: "resource",
            id: "Vpc".into(),
            other: "network".into(),
        }]
    );
    assert_eq!(
        only_message(&app),
        format!("stack `app`: `Subnet` uses resource `Vpc` of stack `network`; {FOREIGN_HINT}")
    );
    // The stack that made the handle is unaffected.
    ok(&network);
}

#[test]
fn ref_of_another_stack_in_an_optional_property_is_reported() {
    let mut network = Stack::new("network");
    let v = network.add("Vpc", vpc());
    let mut app = Stack::new("app");
    app.add(
        "Sg",
        ec2::CfnSecurityGroup {
            vpc_id: Some(v.reference()),
            ..ec2::CfnSecurityGroup::new("web")
        },
    );
    assert_eq!(
        only_message(&app),
        format!("stack `app`: `Sg` uses resource `Vpc` of stack `network`; {FOREIGN_HINT}")
    );
}

#[test]
fn handle_of_another_stack_in_depends_on_is_reported() {
    let mut network = Stack::new("network");
    let v = network.add("Vpc", vpc());
    let mut app = Stack::new("app");
    app.add_with(
        "Bucket",
        s3::CfnBucket::default(),
        ResourceOptions {
            depends_on: vec![v.erase()],
            ..Default::default()
        },
    );
    assert_eq!(
        only_message(&app),
        format!("stack `app`: `Bucket` uses resource `Vpc` of stack `network`; {FOREIGN_HINT}")
    );
}

#[test]
fn foreign_handle_is_reported_even_when_its_id_exists_in_this_stack() {
    // Identity is the stack, not the id: a local `Vpc` does not make another stack's `Vpc` valid.
    let mut network = Stack::new("network");
    let foreign = network.add("Vpc", vpc());
    let mut app = Stack::new("app");
    app.add("Vpc", vpc());
    app.add("Subnet", ec2::CfnSubnet::new(foreign.attr_vpc_id()));
    assert_eq!(
        only_message(&app),
        format!("stack `app`: `Subnet` uses resource `Vpc` of stack `network`; {FOREIGN_HINT}")
    );
}

#[test]
fn foreign_handle_is_reported_between_two_stacks_of_the_same_name() {
    let mut first = Stack::new("same");
    let v = first.add("Vpc", vpc());
    let mut second = Stack::new("same");
    second.add("Subnet", ec2::CfnSubnet::new(v.attr_vpc_id()));
    assert_eq!(
        only_message(&second),
        format!("stack `same`: `Subnet` uses resource `Vpc` of stack `same`; {FOREIGN_HINT}")
    );
}

#[test]
fn resource_handle_of_another_stack_in_an_output_is_reported() {
    let mut network = Stack::new("network");
    let v = network.add("Vpc", vpc());
    let mut app = Stack::new("app");
    app.add_output("VpcId", Output::new(v.attr_vpc_id()));
    assert_eq!(
        errors(&app),
        vec![SynthError::ForeignReference {
            stack: "app".into(),
            user: "output VpcId".into(),
            kind: "resource",
            id: "Vpc".into(),
            other: "network".into(),
        }]
    );
    assert_eq!(
        only_message(&app),
        format!(
            "stack `app`: `output VpcId` uses resource `Vpc` of stack `network`; {FOREIGN_HINT}"
        )
    );
}

#[test]
fn handle_of_another_stack_in_an_output_export_name_is_reported() {
    let mut network = Stack::new("network");
    let v = network.add("Vpc", vpc());
    let mut app = Stack::new("app");
    app.add_output(
        "Region",
        Output::new(Pseudo::Region.value()).export(v.reference()),
    );
    assert_eq!(
        only_message(&app),
        format!(
            "stack `app`: `output Region` uses resource `Vpc` of stack `network`; {FOREIGN_HINT}"
        )
    );
}

#[test]
fn condition_of_another_stack_as_resource_condition_is_reported() {
    let mut network = Stack::new("network");
    let c = network.add_condition("IsUsEast1", is_us_east_1());
    let mut app = Stack::new("app");
    app.add_with(
        "Vpc",
        vpc(),
        ResourceOptions {
            condition: Some(c),
            ..Default::default()
        },
    );
    assert_eq!(
        errors(&app),
        vec![SynthError::ForeignReference {
            stack: "app".into(),
            user: "Vpc".into(),
            kind: "condition",
            id: "IsUsEast1".into(),
            other: "network".into(),
        }]
    );
    assert_eq!(
        only_message(&app),
        format!("stack `app`: `Vpc` uses condition `IsUsEast1` of stack `network`; {FOREIGN_HINT}")
    );
}

#[test]
fn condition_of_another_stack_in_fn_if_is_reported() {
    let mut network = Stack::new("network");
    let c = network.add_condition("IsUsEast1", is_us_east_1());
    let mut app = Stack::new("app");
    app.add(
        "Sg",
        ec2::CfnSecurityGroup::new(if_::<String>(&c, "east", "elsewhere")),
    );
    assert_eq!(
        only_message(&app),
        format!("stack `app`: `Sg` uses condition `IsUsEast1` of stack `network`; {FOREIGN_HINT}")
    );
}

#[test]
fn condition_of_another_stack_on_an_output_is_reported() {
    let mut network = Stack::new("network");
    let c = network.add_condition("IsUsEast1", is_us_east_1());
    let mut app = Stack::new("app");
    app.add_output("Region", Output::new(Pseudo::Region.value()).condition(&c));
    assert_eq!(
        only_message(&app),
        format!(
            "stack `app`: `output Region` uses condition `IsUsEast1` of stack `network`; {FOREIGN_HINT}"
        )
    );
}

#[test]
fn condition_of_another_stack_inside_a_condition_is_reported() {
    let mut network = Stack::new("network");
    let c = network.add_condition("IsUsEast1", is_us_east_1());
    let mut app = Stack::new("app");
    app.add_condition("Both", and([condition(&c), is_us_east_1()]));
    assert_eq!(
        only_message(&app),
        format!(
            "stack `app`: `condition Both` uses condition `IsUsEast1` of stack `network`; {FOREIGN_HINT}"
        )
    );
}

#[test]
fn parameter_of_another_stack_is_reported() {
    let mut network = Stack::new("network");
    let p = network.add_parameter("Cidr", Parameter::string());
    let mut app = Stack::new("app");
    app.add(
        "Vpc",
        ec2::CfnVpc {
            cidr_block: Some(p.value()),
            ..Default::default()
        },
    );
    assert_eq!(
        errors(&app),
        vec![SynthError::ForeignReference {
            stack: "app".into(),
            user: "Vpc".into(),
            kind: "parameter",
            id: "Cidr".into(),
            other: "network".into(),
        }]
    );
    assert_eq!(
        only_message(&app),
        format!("stack `app`: `Vpc` uses parameter `Cidr` of stack `network`; {FOREIGN_HINT}")
    );
}

#[test]
fn mapping_of_another_stack_is_reported() {
    let mut network = Stack::new("network");
    let m = network.add_mapping("Cidrs", mapping("us-east-1", "Vpc", json!("10.0.0.0/16")));
    let mut app = Stack::new("app");
    app.add(
        "Vpc",
        ec2::CfnVpc {
            cidr_block: Some(m.find(Pseudo::Region.value(), "Vpc")),
            ..Default::default()
        },
    );
    assert_eq!(
        only_message(&app),
        format!("stack `app`: `Vpc` uses mapping `Cidrs` of stack `network`; {FOREIGN_HINT}")
    );
}

#[test]
fn foreign_handle_used_twice_in_one_resource_is_reported_once() {
    let mut network = Stack::new("network");
    let v = network.add("Vpc", vpc());
    let mut app = Stack::new("app");
    app.add(
        "Sg",
        ec2::CfnSecurityGroup {
            vpc_id: Some(v.reference()),
            ..ec2::CfnSecurityGroup::new(v.attr_cidr_block())
        },
    );
    let expected =
        format!("stack `app`: `Sg` uses resource `Vpc` of stack `network`; {FOREIGN_HINT}");
    assert_eq!(messages(&app), vec![expected]);
}

#[test]
fn foreign_reference_creates_no_dependency_edge() {
    // `A` refers to another stack's `B`, and the local `B` depends on `A`: that is not a cycle.
    let mut other = Stack::new("other");
    let foreign_b = other.add("B", vpc());
    let mut stack = Stack::new("s");
    let a = stack.add(
        "A",
        ec2::CfnVpc {
            cidr_block: Some(foreign_b.attr_cidr_block()),
            ..Default::default()
        },
    );
    let b = stack.add("B", vpc());
    depend(&mut stack, &b, &[&a]);
    assert_eq!(
        messages(&stack),
        vec![format!(
            "stack `s`: `A` uses resource `B` of stack `other`; {FOREIGN_HINT}"
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// Dependency cycles
// ---------------------------------------------------------------------------------------------

#[test]
fn two_resources_referencing_each_other_are_a_cycle() {
    let mut stack = Stack::new("s");
    let v = stack.add("Vpc", vpc());
    let subnet = stack.add("Subnet", ec2::CfnSubnet::new(v.attr_vpc_id()));
    stack.resource_mut(&v).expect("own handle").tags =
        Some(vec![Tag::new("Subnet", subnet.reference())]);
    assert_eq!(
        errors(&stack),
        vec![SynthError::Cycle {
            stack: "s".into(),
            path: "Subnet -> Vpc -> Subnet".into(),
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack `s`: dependency cycle Subnet -> Vpc -> Subnet; break it by removing a reference or a DependsOn"
    );
}

#[test]
fn cycle_through_required_constructor_arguments_is_reported() {
    let mut stack = Stack::new("s");
    let a = stack.add("SgA", ec2::CfnSecurityGroup::new("placeholder"));
    let b = stack.add("SgB", ec2::CfnSecurityGroup::new(a.attr_group_id()));
    stack
        .resource_mut(&a)
        .expect("own handle")
        .group_description = b.attr_group_id();
    assert_eq!(
        only_message(&stack),
        "stack `s`: dependency cycle SgA -> SgB -> SgA; break it by removing a reference or a DependsOn"
    );
}

#[test]
fn three_node_cycle_through_depends_on_starts_at_the_smallest_id() {
    // Charlie -> Alpha -> Bravo -> Charlie, added in an order that is not the sorted one.
    let mut stack = Stack::new("s");
    let charlie = stack.add("Charlie", vpc());
    let bravo = stack.add("Bravo", vpc());
    let alpha = stack.add("Alpha", vpc());
    depend(&mut stack, &charlie, &[&alpha]);
    depend(&mut stack, &alpha, &[&bravo]);
    depend(&mut stack, &bravo, &[&charlie]);
    assert_eq!(
        only_message(&stack),
        "stack `s`: dependency cycle Alpha -> Bravo -> Charlie -> Alpha; break it by removing a reference or a DependsOn"
    );
}

#[test]
fn cycle_entered_from_outside_is_rotated_to_its_smallest_id() {
    // The search starts at `A` (outside the cycle) and enters the cycle at `Z`.
    let mut stack = Stack::new("s");
    let a = stack.add("A", vpc());
    let z = stack.add("Z", vpc());
    let m = stack.add("M", vpc());
    let b = stack.add("B", vpc());
    depend(&mut stack, &a, &[&z]);
    depend(&mut stack, &z, &[&m]);
    depend(&mut stack, &m, &[&b]);
    depend(&mut stack, &b, &[&z]);
    assert_eq!(
        only_message(&stack),
        "stack `s`: dependency cycle B -> Z -> M -> B; break it by removing a reference or a DependsOn"
    );
}

#[test]
fn cycle_reachable_from_several_resources_is_reported_once() {
    let mut stack = Stack::new("s");
    let x = stack.add("X", vpc());
    let y = stack.add("Y", vpc());
    let a = stack.add("A", vpc());
    let b = stack.add("B", vpc());
    let c = stack.add("C", vpc());
    depend(&mut stack, &x, &[&b]);
    depend(&mut stack, &y, &[&c]);
    depend(&mut stack, &a, &[&b]);
    depend(&mut stack, &b, &[&c]);
    depend(&mut stack, &c, &[&b]);
    assert_eq!(
        messages(&stack),
        vec![
            "stack `s`: dependency cycle B -> C -> B; break it by removing a reference or a DependsOn"
        ]
    );
}

#[test]
fn two_separate_cycles_are_both_reported_in_order() {
    let mut stack = Stack::new("s");
    let q = stack.add("Q", vpc());
    let p = stack.add("P", vpc());
    let d = stack.add("D", vpc());
    let e = stack.add("E", vpc());
    depend(&mut stack, &q, &[&p]);
    depend(&mut stack, &p, &[&q]);
    depend(&mut stack, &e, &[&d]);
    depend(&mut stack, &d, &[&e]);
    assert_eq!(
        messages(&stack),
        vec![
            "stack `s`: dependency cycle D -> E -> D; break it by removing a reference or a DependsOn",
            "stack `s`: dependency cycle P -> Q -> P; break it by removing a reference or a DependsOn",
        ]
    );
}

#[test]
fn resource_depending_on_itself_is_a_cycle_of_one() {
    let mut stack = Stack::new("s");
    let a = stack.add("Loner", vpc());
    depend(&mut stack, &a, &[&a]);
    assert_eq!(
        only_message(&stack),
        "stack `s`: dependency cycle Loner -> Loner; break it by removing a reference or a DependsOn"
    );
}

#[test]
fn cycle_mixing_a_reference_and_a_depends_on_is_reported() {
    let mut stack = Stack::new("s");
    let v = stack.add("Vpc", vpc());
    let sg = stack.add(
        "Sg",
        ec2::CfnSecurityGroup {
            vpc_id: Some(v.attr_vpc_id()),
            ..ec2::CfnSecurityGroup::new("web")
        },
    );
    stack
        .options_mut(&v)
        .expect("own handle")
        .depends_on
        .push(sg.erase());
    assert_eq!(
        only_message(&stack),
        "stack `s`: dependency cycle Sg -> Vpc -> Sg; break it by removing a reference or a DependsOn"
    );
}

#[test]
fn conditional_dependency_is_a_reference_in_metadata_under_its_condition() {
    let mut stack = Stack::new("s");
    let awake = stack.add_condition("Awake", equals("a", "a"));
    let nat = stack.add_with(
        "Nat",
        vpc(),
        ResourceOptions {
            condition: Some(awake.clone()),
            ..Default::default()
        },
    );
    let other = stack.add_with(
        "Other",
        vpc(),
        ResourceOptions {
            condition: Some(awake.clone()),
            ..Default::default()
        },
    );
    let app = stack.add_with(
        "App",
        vpc(),
        ResourceOptions {
            depends_on_if: vec![(awake.clone(), vec![nat.erase(), other.erase()])],
            metadata: Some(json!({"checkov": {"skip": []}})),
            ..Default::default()
        },
    );
    let t = stack.synth().unwrap();
    let r = t.resource("App").unwrap();
    assert!(r.get("DependsOn").is_none());
    assert_eq!(
        r["Metadata"],
        json!({
            "checkov": {"skip": []},
            "cdkrs": {"DependsOnIf": {"Awake": {
                "Fn::If": ["Awake", [{"Ref": "Nat"}, {"Ref": "Other"}], []]
            }}}
        })
    );
    // The reference orders the resources: a way back is a cycle.
    stack
        .options_mut(&nat)
        .expect("own handle")
        .depends_on
        .push(app.erase());
    assert_eq!(
        only_message(&stack),
        "stack `s`: dependency cycle App -> Nat -> App; break it by removing a reference or a DependsOn"
    );
}

#[test]
fn conditional_dependency_on_another_stack_is_reported() {
    let mut network = Stack::new("network");
    let v = network.add("Vpc", vpc());
    let mut app = Stack::new("app");
    let awake = app.add_condition("Awake", equals("a", "a"));
    app.add_with(
        "Bucket",
        s3::CfnBucket::default(),
        ResourceOptions {
            depends_on_if: vec![(awake, vec![v.erase()])],
            ..Default::default()
        },
    );
    assert_eq!(
        only_message(&app),
        format!("stack `app`: `Bucket` uses resource `Vpc` of stack `network`; {FOREIGN_HINT}")
    );
}

#[test]
fn diamond_of_dependencies_is_not_a_cycle() {
    // Top -> Left -> Bottom, Top -> Right -> Bottom, through both references and DependsOn.
    let mut stack = Stack::new("s");
    let bottom = stack.add("Bottom", vpc());
    let left = stack.add("Left", ec2::CfnSubnet::new(bottom.attr_vpc_id()));
    let right = stack.add("Right", vpc());
    depend(&mut stack, &right, &[&bottom]);
    stack.add_with(
        "Top",
        ec2::CfnSubnet::new(left.attr_vpc_id()),
        ResourceOptions {
            depends_on: vec![right.erase(), bottom.erase()],
            ..Default::default()
        },
    );
    let t = ok(&stack);
    assert_eq!(t.resource_ids(), vec!["Bottom", "Left", "Right", "Top"]);
}

#[test]
fn reference_to_a_parameter_or_condition_is_not_a_dependency() {
    let mut stack = Stack::new("s");
    let p = stack.add_parameter("Cidr", Parameter::string());
    let c = stack.add_condition("IsUsEast1", is_us_east_1());
    stack.add(
        "Vpc",
        ec2::CfnVpc {
            cidr_block: Some(if_(&c, p.value(), Value::from("10.0.0.0/16"))),
            ..Default::default()
        },
    );
    ok(&stack);
}

#[test]
fn cycle_sharing_an_edge_with_a_reported_cycle_is_not_reported() {
    // A -> B -> C -> A and A -> C -> A are two cycles; the depth-first search only closes the
    // first one, because `C` is finished by the time `A` tries its edge to `C`.
    let mut stack = Stack::new("s");
    let a = stack.add("A", vpc());
    let b = stack.add("B", vpc());
    let c = stack.add("C", vpc());
    depend(&mut stack, &a, &[&b, &c]);
    depend(&mut stack, &b, &[&c]);
    depend(&mut stack, &c, &[&a]);
    // FIXME: `check_cycles` claims to report "each dependency cycle once", but it reports one
    // cycle per back edge of the search: `A -> C -> A` is missing here.
    assert_eq!(
        messages(&stack),
        vec![
            "stack `s`: dependency cycle A -> B -> C -> A; break it by removing a reference or a DependsOn"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Required properties
// ---------------------------------------------------------------------------------------------

#[test]
fn required_property_set_to_no_value_is_missing() {
    let mut stack = Stack::new("s");
    stack.add("Alias", kms::CfnAlias::new(Value::no_value(), "x"));
    assert_eq!(
        errors(&stack),
        vec![SynthError::MissingRequired {
            stack: "s".into(),
            id: "Alias".into(),
            type_name: "AWS::KMS::Alias",
            property: "AliasName",
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack `s`: resource `Alias` (AWS::KMS::Alias) is missing required property `AliasName`"
    );
}

#[test]
fn every_missing_required_property_is_reported_in_schema_order() {
    let mut stack = Stack::new("s");
    stack.add(
        "Alias",
        kms::CfnAlias::new(Value::no_value(), Value::no_value()),
    );
    assert_eq!(
        messages(&stack),
        vec![
            "stack `s`: resource `Alias` (AWS::KMS::Alias) is missing required property `AliasName`",
            "stack `s`: resource `Alias` (AWS::KMS::Alias) is missing required property `TargetKeyId`",
        ]
    );
}

#[test]
fn required_property_left_out_of_the_json_is_missing() {
    let mut stack = Stack::new("s");
    stack.add("Thing", Skipped { name: None });
    assert_eq!(
        only_message(&stack),
        "stack `s`: resource `Thing` (Test::Custom::Skipped) is missing required property `Name`"
    );
}

#[test]
fn required_property_serialized_as_null_is_missing() {
    let mut stack = Stack::new("s");
    stack.add("Thing", Nullable { name: None });
    assert_eq!(
        only_message(&stack),
        "stack `s`: resource `Thing` (Test::Custom::Nullable) is missing required property `Name`"
    );
}

#[test]
fn required_property_that_is_no_value_in_one_branch_of_fn_if_is_present() {
    let mut stack = Stack::new("s");
    let c = stack.add_condition("IsUsEast1", is_us_east_1());
    stack.add(
        "Alias",
        kms::CfnAlias::new(if_(&c, Value::no_value(), Value::from("alias/x")), "key"),
    );
    ok(&stack);
}

#[test]
fn required_property_that_is_an_empty_string_is_present() {
    let mut stack = Stack::new("s");
    stack.add(
        "Thing",
        Skipped {
            name: Some("".into()),
        },
    );
    ok(&stack);
}

// ---------------------------------------------------------------------------------------------
// Serialization failures
// ---------------------------------------------------------------------------------------------

#[test]
fn resource_that_fails_to_serialize_is_reported_with_serde_message() {
    let mut stack = Stack::new("s");
    stack.add("Broken", Broken);
    assert_eq!(
        errors(&stack),
        vec![SynthError::Serialize {
            stack: "s".into(),
            user: "Broken".into(),
            message: "broken on purpose".into(),
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Broken` does not serialize: broken on purpose"
    );
}

#[test]
fn dependency_on_a_resource_that_fails_to_serialize_does_not_break_cycle_search() {
    let mut stack = Stack::new("s");
    let broken = stack.add("Broken", Broken);
    stack.add_with(
        "Vpc",
        vpc(),
        ResourceOptions {
            depends_on: vec![broken.erase()],
            ..Default::default()
        },
    );
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Broken` does not serialize: broken on purpose"
    );
}

// ---------------------------------------------------------------------------------------------
// CloudFormation limits
// ---------------------------------------------------------------------------------------------

#[test]
fn exactly_at_every_count_limit_is_valid() {
    let mut stack = Stack::new("s");
    for i in 0..limits::RESOURCES {
        stack.add(&format!("Vpc{i}"), vpc());
    }
    for i in 0..limits::PARAMETERS {
        stack.add_parameter(&format!("Param{i}"), Parameter::string());
    }
    for i in 0..limits::OUTPUTS {
        stack.add_output(&format!("Out{i}"), Output::new(Pseudo::Region.value()));
    }
    for i in 0..limits::MAPPINGS {
        stack.add_mapping(&format!("Map{i}"), mapping("a", "b", json!(i)));
    }
    let t = ok(&stack);
    assert_eq!(t.resource_ids().len(), 500);
    assert_eq!(
        t.as_json()["Parameters"].as_object().map(Map::len),
        Some(200)
    );
    assert_eq!(t.as_json()["Outputs"].as_object().map(Map::len), Some(200));
    assert_eq!(t.as_json()["Mappings"].as_object().map(Map::len), Some(200));
}

#[test]
fn resource_501_is_over_the_limit() {
    let mut stack = Stack::new("s");
    for i in 0..501 {
        stack.add(&format!("Vpc{i}"), vpc());
    }
    assert_eq!(stack.resource_count(), 501);
    assert_eq!(
        errors(&stack),
        vec![SynthError::Limit {
            stack: "s".into(),
            what: "resources",
            count: 501,
            limit: 500,
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack `s` has 501 resources; CloudFormation allows at most 500"
    );
}

#[test]
fn parameter_201_is_over_the_limit() {
    let mut stack = Stack::new("s");
    for i in 0..201 {
        stack.add_parameter(&format!("Param{i}"), Parameter::string());
    }
    assert_eq!(
        only_message(&stack),
        "stack `s` has 201 parameters; CloudFormation allows at most 200"
    );
}

#[test]
fn output_201_is_over_the_limit() {
    let mut stack = Stack::new("s");
    for i in 0..201 {
        stack.add_output(&format!("Out{i}"), Output::new(Pseudo::Region.value()));
    }
    assert_eq!(
        only_message(&stack),
        "stack `s` has 201 outputs; CloudFormation allows at most 200"
    );
}

#[test]
fn mapping_201_is_over_the_limit() {
    let mut stack = Stack::new("s");
    for i in 0..201 {
        stack.add_mapping(&format!("Map{i}"), mapping("a", "b", json!(i)));
    }
    assert_eq!(
        only_message(&stack),
        "stack `s` has 201 mappings; CloudFormation allows at most 200"
    );
}

/// A stack whose only content is a description of `len` bytes.
fn stack_with_description(len: usize) -> Stack {
    let mut stack = Stack::new("big");
    stack.set_description(&"d".repeat(len));
    stack
}

#[test]
fn template_of_exactly_1_mib_is_valid_and_one_byte_more_is_not() {
    let overhead = ok(&stack_with_description(0)).to_json_compact().len();
    let fits = stack_with_description(limits::BODY_BYTES - overhead);
    assert_eq!(ok(&fits).to_json_compact().len(), 1_048_576);

    let over = stack_with_description(limits::BODY_BYTES - overhead + 1);
    assert_eq!(
        errors(&over),
        vec![SynthError::TemplateTooLarge {
            stack: "big".into(),
            size: 1_048_577,
            limit: 1_048_576,
        }]
    );
    assert_eq!(
        only_message(&over),
        "stack `big`: the template is 1048577 bytes; CloudFormation accepts at most 1048576 bytes: split the stack"
    );
}

#[test]
fn template_over_1_mib_of_tags_is_too_large() {
    let mut stack = Stack::new("big");
    let value = "v".repeat(60_000);
    let tags: Vec<Tag> = (0..20)
        .map(|i| Tag::new(format!("Tag{i}").as_str(), value.as_str()))
        .collect();
    stack.add(
        "Vpc",
        ec2::CfnVpc {
            tags: Some(tags),
            ..Default::default()
        },
    );
    match errors(&stack).as_slice() {
        [SynthError::TemplateTooLarge { stack, size, limit }] => {
            assert_eq!(stack, "big");
            assert!(*size > 1_200_000, "size {size}");
            assert_eq!(*limit, limits::BODY_BYTES);
        }
        other => panic!("expected one TemplateTooLarge, got {other:#?}"),
    }
    let m = only_message(&stack);
    assert!(m.starts_with("stack `big`: the template is 12"), "{m}");
    assert!(
        m.ends_with(" bytes; CloudFormation accepts at most 1048576 bytes: split the stack"),
        "{m}"
    );
}

// ---------------------------------------------------------------------------------------------
// Fn::Sub
// ---------------------------------------------------------------------------------------------

#[test]
fn sub_with_an_unbound_placeholder_is_reported() {
    let mut stack = Stack::new("s");
    stack.add("Sg", ec2::CfnSecurityGroup::new(sub("${X}").build()));
    assert_eq!(
        errors(&stack),
        vec![SynthError::UnboundSubVariable {
            stack: "s".into(),
            user: "Sg".into(),
            name: "X".into(),
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::Sub` in `Sg` uses `${X}`, which is neither a pseudo parameter nor a variable of it; bind it with `.var(\"X\", …)`"
    );
}

#[test]
fn sub_with_a_bound_variable_is_valid() {
    let mut stack = Stack::new("s");
    let v = stack.add("Vpc", vpc());
    stack.add(
        "Sg",
        ec2::CfnSecurityGroup::new(sub("sg of ${X}").var("X", v.attr_vpc_id())),
    );
    let t = ok(&stack);
    assert_eq!(
        t.resource("Sg").expect("Sg")["Properties"]["GroupDescription"],
        json!({"Fn::Sub": ["sg of ${X}", {"X": {"Fn::GetAtt": ["Vpc", "VpcId"]}}]})
    );
}

#[test]
fn sub_variable_bound_to_a_handle_is_a_dependency() {
    let mut stack = Stack::new("s");
    let v = stack.add("Vpc", vpc());
    let sg = stack.add(
        "Sg",
        ec2::CfnSecurityGroup::new(sub("${X}").var("X", v.attr_vpc_id())),
    );
    stack
        .options_mut(&v)
        .expect("own handle")
        .depends_on
        .push(sg.erase());
    assert_eq!(
        only_message(&stack),
        "stack `s`: dependency cycle Sg -> Vpc -> Sg; break it by removing a reference or a DependsOn"
    );
}

#[test]
fn sub_with_pseudo_parameters_and_escaped_literals_is_valid() {
    let mut stack = Stack::new("s");
    stack.add(
        "Sg",
        ec2::CfnSecurityGroup::new(
            sub("${AWS::Region}-${AWS::AccountId}-${!Literal}-${AWS::StackName}").build(),
        ),
    );
    let t = ok(&stack);
    assert_eq!(
        t.resource("Sg").expect("Sg")["Properties"]["GroupDescription"],
        json!({"Fn::Sub": "${AWS::Region}-${AWS::AccountId}-${!Literal}-${AWS::StackName}"})
    );
}

#[test]
fn sub_reports_each_unbound_placeholder_and_skips_bound_ones() {
    let mut stack = Stack::new("s");
    stack.add(
        "Sg",
        ec2::CfnSecurityGroup::new(
            sub("${A}-${Bound}-${AWS::Region}-${C}")
                .var("Bound", "x")
                .build(),
        ),
    );
    let names: Vec<String> = errors(&stack)
        .into_iter()
        .map(|e| match e {
            SynthError::UnboundSubVariable { name, .. } => name,
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(names, vec!["A", "C"]);
}

#[test]
fn sub_placeholder_repeated_is_reported_once() {
    let mut stack = Stack::new("s");
    stack.add("Sg", ec2::CfnSecurityGroup::new(sub("${X}-${X}").build()));
    assert_eq!(
        messages(&stack),
        vec![
            "stack `s`: `Fn::Sub` in `Sg` uses `${X}`, which is neither a pseudo parameter nor a variable of it; bind it with `.var(\"X\", …)`",
        ]
    );
}

#[test]
fn sub_with_a_misspelt_pseudo_parameter_is_reported() {
    let mut stack = Stack::new("s");
    stack.add(
        "Sg",
        ec2::CfnSecurityGroup::new(sub("${AWS::Regoin}").build()),
    );
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::Sub` in `Sg` uses `${AWS::Regoin}`, which is neither a pseudo parameter nor a variable of it; bind it with `.var(\"AWS::Regoin\", …)`"
    );
}

#[test]
fn unbound_sub_in_an_output_names_the_output() {
    let mut stack = Stack::new("s");
    stack.add_output("Name", Output::new(sub("${Missing}-x").build()));
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::Sub` in `output Name` uses `${Missing}`, which is neither a pseudo parameter nor a variable of it; bind it with `.var(\"Missing\", …)`"
    );
}

#[test]
fn unbound_sub_in_a_condition_names_the_condition() {
    let mut stack = Stack::new("s");
    stack.add_condition("Named", equals(sub("${Env}").build(), "prod"));
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::Sub` in `condition Named` uses `${Env}`, which is neither a pseudo parameter nor a variable of it; bind it with `.var(\"Env\", …)`"
    );
}

#[test]
fn sub_inside_a_raw_json_literal_is_checked_too() {
    let mut stack = Stack::new("s");
    stack.add(
        "Key",
        kms::CfnKey {
            key_policy: Some(Value::from(json!({"Resource": {"Fn::Sub": "${Hidden}"}}))),
            ..Default::default()
        },
    );
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::Sub` in `Key` uses `${Hidden}`, which is neither a pseudo parameter nor a variable of it; bind it with `.var(\"Hidden\", …)`"
    );
}

#[test]
fn dangling_ref_inside_a_raw_json_literal_is_reported() {
    let mut stack = Stack::new("s");
    stack.add(
        "Key",
        kms::CfnKey {
            key_policy: Some(Value::from(json!({
                "Resource": {"Ref": "Missing"},
                "Arn": {"Fn::GetAtt": ["AlsoMissing", "Arn"]},
            }))),
            ..Default::default()
        },
    );
    // A `Value<Json>` literal may spell any intrinsic, so synth checks the names it uses.
    assert_eq!(
        messages(&stack),
        vec![
            "stack `s`: `Key` refers to resource `AlsoMissing`, which this stack does not define; use a handle instead of raw JSON",
            "stack `s`: `Key` refers to resource or parameter `Missing`, which this stack does not define; use a handle instead of raw JSON",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Fn::And / Fn::Or arity
// ---------------------------------------------------------------------------------------------

fn conditions(n: usize) -> Vec<ConditionExpr> {
    (0..n)
        .map(|i| equals(Pseudo::Region.value(), format!("region-{i}").as_str()))
        .collect()
}

#[test]
fn and_with_one_condition_is_reported() {
    let mut stack = Stack::new("s");
    stack.add_condition("Both", and(conditions(1)));
    assert_eq!(
        errors(&stack),
        vec![SynthError::ConditionArity {
            stack: "s".into(),
            user: "condition Both".into(),
            function: "Fn::And",
            count: 1,
        }]
    );
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::And` in `condition Both` takes 2 to 10 conditions, not 1"
    );
}

#[test]
fn and_with_eleven_conditions_is_reported() {
    let mut stack = Stack::new("s");
    stack.add_condition("All", and(conditions(11)));
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::And` in `condition All` takes 2 to 10 conditions, not 11"
    );
}

#[test]
fn or_with_one_condition_is_reported() {
    let mut stack = Stack::new("s");
    stack.add_condition("Either", or(conditions(1)));
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::Or` in `condition Either` takes 2 to 10 conditions, not 1"
    );
}

#[test]
fn or_with_eleven_conditions_is_reported() {
    let mut stack = Stack::new("s");
    stack.add_condition("Any", or(conditions(11)));
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::Or` in `condition Any` takes 2 to 10 conditions, not 11"
    );
}

#[test]
fn and_or_with_zero_conditions_are_reported() {
    let mut stack = Stack::new("s");
    stack.add_condition("NoAnd", and([]));
    stack.add_condition("NoOr", or([]));
    assert_eq!(
        messages(&stack),
        vec![
            "stack `s`: `Fn::And` in `condition NoAnd` takes 2 to 10 conditions, not 0",
            "stack `s`: `Fn::Or` in `condition NoOr` takes 2 to 10 conditions, not 0",
        ]
    );
}

#[test]
fn and_or_with_2_and_10_conditions_are_valid() {
    let mut stack = Stack::new("s");
    stack.add_condition("And2", and(conditions(2)));
    stack.add_condition("And10", and(conditions(10)));
    stack.add_condition("Or2", or(conditions(2)));
    stack.add_condition("Or10", or(conditions(10)));
    let t = ok(&stack);
    assert_eq!(
        t.as_json()["Conditions"]["And10"]["Fn::And"]
            .as_array()
            .map(Vec::len),
        Some(10)
    );
}

#[test]
fn arity_of_a_nested_or_is_checked() {
    let mut stack = Stack::new("s");
    stack.add_condition(
        "Nested",
        and([is_us_east_1(), or(conditions(1)), is_us_east_1()]),
    );
    assert_eq!(
        only_message(&stack),
        "stack `s`: `Fn::Or` in `condition Nested` takes 2 to 10 conditions, not 1"
    );
}

// ---------------------------------------------------------------------------------------------
// Reporting every problem at once
// ---------------------------------------------------------------------------------------------

/// One stack with a duplicate id, a missing required property and an unbound `Fn::Sub`.
fn stack_with_three_problems() -> Stack {
    let mut stack = Stack::new("many");
    stack.add("Vpc", vpc());
    stack.add("Vpc", vpc());
    stack.add("Alias", kms::CfnAlias::new(Value::no_value(), "key"));
    stack.add("Sg", ec2::CfnSecurityGroup::new(sub("${Nope}").build()));
    stack
}

#[test]
fn every_problem_of_a_stack_is_listed_at_once_in_a_stable_order() {
    let stack = stack_with_three_problems();
    let expected = vec![
        SynthError::DuplicateId {
            stack: "many".into(),
            what: "resource or parameter",
            id: "Vpc".into(),
        },
        SynthError::MissingRequired {
            stack: "many".into(),
            id: "Alias".into(),
            type_name: "AWS::KMS::Alias",
            property: "AliasName",
        },
        SynthError::UnboundSubVariable {
            stack: "many".into(),
            user: "Sg".into(),
            name: "Nope".into(),
        },
    ];
    assert_eq!(errors(&stack), expected);
    // Synth is a pure function of the stack: a second run gives the same list.
    assert_eq!(errors(&stack), expected);
}

#[test]
fn synth_errors_display_counts_and_lists_each_problem() {
    let err = stack_with_three_problems().synth().expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "synth found 3 problems:\n\
         \x20 - stack `many`: resource or parameter logical id `Vpc` is used twice; give each one its own id\n\
         \x20 - stack `many`: resource `Alias` (AWS::KMS::Alias) is missing required property `AliasName`\n\
         \x20 - stack `many`: `Fn::Sub` in `Sg` uses `${Nope}`, which is neither a pseudo parameter nor a variable of it; bind it with `.var(\"Nope\", …)`\n"
    );
}

#[test]
fn synth_errors_display_of_one_problem_is_singular() {
    let err = Stack::new("bad_name").synth().expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "synth found 1 problem:\n  - stack name `bad_name` is invalid: start with a letter, then letters, digits and hyphens, 128 characters at most\n"
    );
    let as_error: &dyn std::error::Error = &err;
    assert!(as_error.source().is_none());
}

// ---------------------------------------------------------------------------------------------
// App
// ---------------------------------------------------------------------------------------------

#[test]
fn app_with_two_stacks_of_one_name_reports_the_duplicate() {
    let mut app = App::new();
    app.add_stack(Stack::new("dup"));
    app.add_stack(Stack::new("dup"));
    app.add_stack(Stack::new("other"));
    let err = app.synth().expect_err("duplicate stack names");
    assert_eq!(
        err.0,
        vec![SynthError::DuplicateStack { name: "dup".into() }]
    );
    assert_eq!(
        err.0[0].to_string(),
        "stack name `dup` is used by two stacks of the app"
    );
}

#[test]
fn app_synth_of_two_valid_stacks_returns_both_in_order() {
    let mut network = Stack::new("network");
    let v = network.add("Vpc", vpc());
    network.add_output(
        "VpcId",
        Output::new(v.attr_vpc_id()).export("network-VpcId"),
    );
    let mut data = Stack::new("data");
    data.add("Bucket", s3::CfnBucket::default());
    let expected_network = ok(&network);
    let expected_data = ok(&data);

    let mut app = App::new();
    app.add_stack(network);
    app.add_stack(data);
    assert_eq!(app.stacks().len(), 2);
    let out = app.synth().expect("both stacks are valid");
    let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["network", "data"]);
    assert_eq!(out[0].1, expected_network);
    assert_eq!(out[1].1, expected_data);
}

#[test]
fn app_synth_collects_the_problems_of_every_stack() {
    let mut a = Stack::new("a");
    a.add("bad-id", vpc());
    let mut b = Stack::new("b");
    b.add("Alias", kms::CfnAlias::new("alias/x", Value::no_value()));
    let mut app = App::new();
    app.add_stack(a);
    app.add_stack(b);
    let err = app.synth().expect_err("both stacks are invalid");
    let m: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        m,
        vec![
            "stack `a`: logical id `bad-id` is invalid: use 1 to 255 ASCII letters and digits only",
            "stack `b`: resource `Alias` (AWS::KMS::Alias) is missing required property `TargetKeyId`",
        ]
    );
}

#[test]
fn empty_app_synthesizes_to_nothing() {
    assert_eq!(App::new().synth(), Ok(Vec::new()));
}

// ---------------------------------------------------------------------------------------------
// Determinism and renderings
// ---------------------------------------------------------------------------------------------

/// A stack touching every section, built the same way each time.
fn rich_stack() -> Stack {
    let mut stack = Stack::new("rich");
    stack.set_description("A stack with everything");
    stack.set_metadata("Owner", json!({"team": "data", "ids": [3, 1, 2]}));
    let env = stack.add_parameter(
        "Env",
        Parameter::string()
            .allowed_values(["dev", "prod"])
            .default_value("dev"),
    );
    let prod = stack.add_condition("IsProd", equals(env.value(), "prod"));
    let cidrs = stack.add_mapping("Cidrs", mapping("dev", "Vpc", json!("10.0.0.0/16")));
    let v = stack.add(
        "Vpc",
        ec2::CfnVpc {
            cidr_block: Some(cidrs.find(env.value(), "Vpc")),
            tags: Some(vec![
                Tag::new("Name", sub("${AWS::StackName}-vpc")),
                Tag::new("Env", env.value()),
            ]),
            ..Default::default()
        },
    );
    let key = stack.add_with(
        "Key",
        kms::CfnKey {
            enable_key_rotation: Some(true.into()),
            ..Default::default()
        },
        ResourceOptions::retained(),
    );
    let subnet = stack.add(
        "Subnet",
        ec2::CfnSubnet {
            cidr_block: Some(if_(&prod, "10.0.1.0/24", "10.0.2.0/24")),
            ..ec2::CfnSubnet::new(v.attr_vpc_id())
        },
    );
    stack.add_with(
        "Bucket",
        s3::CfnBucket {
            bucket_name: Some(
                sub("${Prefix}-data")
                    .var("Prefix", key.attr_key_id())
                    .build(),
            ),
            ..Default::default()
        },
        ResourceOptions {
            depends_on: vec![subnet.erase()],
            ..ResourceOptions::retained()
        },
    );
    stack.add_output(
        "VpcId",
        Output::new(v.attr_vpc_id())
            .description("The VPC")
            .export(sub("${AWS::StackName}-VpcId")),
    );
    stack.add_output("KeyArn", Output::new(key.attr_arn()).condition(&prod));
    stack
}

#[test]
fn same_stack_built_twice_renders_byte_identical_json_and_yaml() {
    let first = ok(&rich_stack());
    let second = ok(&rich_stack());
    assert_eq!(first.to_json_pretty(), second.to_json_pretty());
    assert_eq!(first.to_json_compact(), second.to_json_compact());
    assert_eq!(first.to_yaml(), second.to_yaml());
    assert_eq!(first, second);
}

#[test]
fn synth_twice_of_one_stack_gives_the_same_template() {
    let stack = rich_stack();
    assert_eq!(ok(&stack).to_json_compact(), ok(&stack).to_json_compact());
}

#[test]
fn insertion_order_of_resources_does_not_change_the_template() {
    let mut ab = Stack::new("s");
    ab.add("A", vpc());
    ab.add("B", s3::CfnBucket::default());
    let mut ba = Stack::new("s");
    ba.add("B", s3::CfnBucket::default());
    ba.add("A", vpc());
    assert_eq!(ok(&ab).to_json_pretty(), ok(&ba).to_json_pretty());
}

#[test]
fn pretty_json_ends_with_a_newline_and_compact_json_has_no_whitespace() {
    let t = ok(&rich_stack());
    let pretty = t.to_json_pretty();
    assert!(pretty.ends_with("}\n"));
    assert!(pretty.starts_with("{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n"));
    let compact = t.to_json_compact();
    assert!(!compact.contains('\n'));
    assert!(compact.starts_with("{\"AWSTemplateFormatVersion\":\"2010-09-09\","));
    let reparsed: Json = serde_json::from_str(compact).expect("valid JSON");
    assert_eq!(&reparsed, t.as_json());
}

#[test]
fn yaml_uses_long_form_intrinsics_without_tags() {
    let t = ok(&rich_stack());
    let yaml = t.to_yaml();
    assert!(yaml.contains("Fn::GetAtt:"), "{yaml}");
    assert!(yaml.contains("Ref: \"Env\""), "{yaml}");
    assert!(yaml.contains("Fn::Sub:"), "{yaml}");
    assert!(yaml.contains("Fn::FindInMap:"), "{yaml}");
    assert!(yaml.contains("Fn::If:"), "{yaml}");
    assert!(yaml.contains("Fn::Equals:"), "{yaml}");
    for line in yaml.lines() {
        let value = line.trim_start().trim_start_matches("- ");
        assert!(!value.starts_with('!'), "short-form tag in line {line:?}");
        assert!(!line.contains(": !"), "short-form tag in line {line:?}");
    }
    let reparsed: Json = serde_yaml::from_str(&yaml).expect("valid YAML");
    assert_eq!(&reparsed, t.as_json());
}

#[test]
fn yaml_quotes_yaml_1_1_booleans_and_dates() {
    // CloudFormation reads YAML 1.1 scalars: unquoted `yes`, `no`, `on`, `off`, `y`, `n` become
    // booleans there (aws/aws-cli#5257 quotes them for this reason).
    let mut stack = Stack::new("s");
    stack.add(
        "Vpc",
        ec2::CfnVpc {
            tags: Some(crate::tags([("A", "yes"), ("B", "off"), ("C", "true")])),
            ..Default::default()
        },
    );
    let yaml = ok(&stack).to_yaml();
    assert!(yaml.contains("Value: \"true\""), "{yaml}");
    assert!(yaml.contains("Value: \"yes\"\n"), "{yaml}");
    assert!(yaml.contains("Value: \"off\"\n"), "{yaml}");
    assert!(
        yaml.contains("AWSTemplateFormatVersion: \"2010-09-09\"\n"),
        "{yaml}"
    );
}

// ---------------------------------------------------------------------------------------------
// What the template contains
// ---------------------------------------------------------------------------------------------

#[test]
fn depends_on_already_implied_by_a_reference_is_left_out() {
    let mut stack = Stack::new("s");
    let a = stack.add("A", vpc());
    let b = stack.add("B", vpc());
    stack.add_with(
        "Sg",
        ec2::CfnSecurityGroup {
            vpc_id: Some(a.reference()),
            ..ec2::CfnSecurityGroup::new("x")
        },
        ResourceOptions {
            depends_on: vec![a.erase(), b.erase()],
            ..Default::default()
        },
    );
    let t = ok(&stack);
    assert_eq!(t.resource("Sg").expect("Sg")["DependsOn"], json!(["B"]));
    let mut only = Stack::new("s");
    let a = only.add("A", vpc());
    only.add_with(
        "Sg",
        ec2::CfnSecurityGroup {
            vpc_id: Some(a.reference()),
            ..ec2::CfnSecurityGroup::new("x")
        },
        ResourceOptions {
            depends_on: vec![a.erase()],
            ..Default::default()
        },
    );
    assert!(ok(&only)
        .resource("Sg")
        .expect("Sg")
        .get("DependsOn")
        .is_none());
}

#[test]
fn resource_attributes_are_rendered() {
    let mut stack = Stack::new("s");
    let c = stack.add_condition("IsUsEast1", is_us_east_1());
    let b = stack.add("B", vpc());
    let a = stack.add("A", vpc());
    let target = stack.add_with(
        "Target",
        vpc(),
        ResourceOptions {
            depends_on: vec![b.erase(), a.erase(), (&b).into(), a.erase()],
            condition: Some(c.clone()),
            metadata: Some(json!({"checkov": {"skip": [{"id": "CKV_AWS_1"}]}})),
            ..ResourceOptions::retained()
        },
    );
    assert_eq!(target.logical_id(), "Target");
    assert_eq!(target.stack_name(), "s");
    let t = ok(&stack);
    assert_eq!(
        t.resource("Target").expect("Target"),
        &json!({
            "Type": "AWS::EC2::VPC",
            "Condition": "IsUsEast1",
            "DependsOn": ["A", "B"],
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_1"}]}},
        })
    );
}

#[test]
fn retained_sets_both_policies_to_retain() {
    let o = ResourceOptions::retained();
    assert_eq!(o.deletion_policy, Some(Policy::Retain));
    assert_eq!(o.update_replace_policy, Some(Policy::Retain));
    assert!(o.depends_on.is_empty());
    assert!(o.condition.is_none());
    assert!(o.metadata.is_none());
}

#[test]
fn other_deletion_policies_render_their_names() {
    let mut stack = Stack::new("s");
    stack.add_with(
        "Snap",
        vpc(),
        ResourceOptions {
            deletion_policy: Some(Policy::Snapshot),
            update_replace_policy: Some(Policy::RetainExceptOnCreate),
            ..Default::default()
        },
    );
    stack.add_with(
        "Del",
        vpc(),
        ResourceOptions {
            deletion_policy: Some(Policy::Delete),
            ..Default::default()
        },
    );
    let t = ok(&stack);
    assert_eq!(
        t.resource("Snap").expect("Snap")["DeletionPolicy"],
        "Snapshot"
    );
    assert_eq!(
        t.resource("Snap").expect("Snap")["UpdateReplacePolicy"],
        "RetainExceptOnCreate"
    );
    assert_eq!(t.resource("Del").expect("Del")["DeletionPolicy"], "Delete");
    assert!(t
        .resource("Del")
        .expect("Del")
        .get("UpdateReplacePolicy")
        .is_none());
}

#[test]
fn resource_without_properties_omits_properties_and_attributes() {
    let mut stack = Stack::new("s");
    stack.add("Vpc", vpc());
    stack.add("Bucket", s3::CfnBucket::default());
    let t = ok(&stack);
    assert_eq!(t.resource("Vpc"), Some(&json!({"Type": "AWS::EC2::VPC"})));
    assert_eq!(
        t.resource("Bucket"),
        Some(&json!({"Type": "AWS::S3::Bucket"}))
    );
    assert_eq!(
        t.resource_type_counts(),
        BTreeMap::from([
            ("AWS::EC2::VPC".to_owned(), 1),
            ("AWS::S3::Bucket".to_owned(), 1)
        ])
    );
}

#[test]
fn references_render_as_ref_and_get_att() {
    let mut stack = Stack::new("s");
    let v = stack.add("Vpc", vpc());
    stack.add(
        "Sg",
        ec2::CfnSecurityGroup {
            vpc_id: Some(v.reference()),
            ..ec2::CfnSecurityGroup::new(v.attr_cidr_block())
        },
    );
    let t = ok(&stack);
    assert_eq!(
        t.resource("Sg").expect("Sg"),
        &json!({
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": {"Fn::GetAtt": ["Vpc", "CidrBlock"]},
                "VpcId": {"Ref": "Vpc"},
            },
        })
    );
}

#[test]
fn string_parameter_renders_every_constraint() {
    let mut stack = Stack::new("s");
    let p = stack.add_parameter(
        "Password",
        Parameter::string()
            .description("The admin password")
            .no_echo()
            .allowed_pattern("[a-zA-Z0-9]+")
            .min_length(8)
            .max_length(64)
            .constraint_description("letters and digits, 8 to 64"),
    );
    assert_eq!(p.logical_id(), "Password");
    stack.add_parameter(
        "Env",
        Parameter::string()
            .allowed_values(["dev", "prod"])
            .default_value("dev"),
    );
    stack.add_parameter("VpcId", Parameter::aws_type("AWS::EC2::VPC::Id"));
    let t = ok(&stack);
    assert_eq!(
        t.as_json()["Parameters"],
        json!({
            "Env": {"Type": "String", "AllowedValues": ["dev", "prod"], "Default": "dev"},
            "Password": {
                "Type": "String",
                "Description": "The admin password",
                "NoEcho": true,
                "AllowedPattern": "[a-zA-Z0-9]+",
                "MinLength": 8,
                "MaxLength": 64,
                "ConstraintDescription": "letters and digits, 8 to 64",
            },
            "VpcId": {"Type": "AWS::EC2::VPC::Id"},
        })
    );
}

#[test]
fn number_parameter_renders_min_max_default_and_allowed_values() {
    let mut stack = Stack::new("s");
    stack.add_parameter(
        "Count",
        Parameter::integer()
            .min_value(1)
            .max_value(10)
            .default_value(3),
    );
    stack.add_parameter("Size", Parameter::integer().allowed_values([8, 16]));
    let t = ok(&stack);
    assert_eq!(
        t.as_json()["Parameters"],
        json!({
            "Count": {"Type": "Number", "MinValue": 1, "MaxValue": 10, "Default": 3},
            "Size": {"Type": "Number", "AllowedValues": [8, 16]},
        })
    );
}

#[test]
fn comma_delimited_list_default_is_joined_with_commas() {
    let mut stack = Stack::new("s");
    let azs = stack.add_parameter(
        "Azs",
        Parameter::comma_delimited_list().default_value(["us-east-1a", "us-east-1b"]),
    );
    stack.add_parameter(
        "Subnets",
        Parameter::aws_list_type("List<AWS::EC2::Subnet::Id>"),
    );
    stack.add_output("FirstAz", Output::new(crate::select(0, azs.value())));
    let t = ok(&stack);
    assert_eq!(
        t.as_json()["Parameters"],
        json!({
            "Azs": {"Type": "CommaDelimitedList", "Default": "us-east-1a,us-east-1b"},
            "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>"},
        })
    );
    assert_eq!(
        t.as_json()["Outputs"]["FirstAz"]["Value"],
        json!({"Fn::Select": [0, {"Ref": "Azs"}]})
    );
}

#[test]
fn mapping_renders_and_find_in_map_refers_to_it() {
    let mut stack = Stack::new("s");
    let mut regions = mapping("us-east-1", "Cidr", json!("10.0.0.0/16"));
    regions.insert(
        "eu-west-1".into(),
        BTreeMap::from([("Cidr".to_owned(), json!("10.1.0.0/16"))]),
    );
    let m = stack.add_mapping("Regions", regions);
    stack.add(
        "Vpc",
        ec2::CfnVpc {
            cidr_block: Some(m.find(Pseudo::Region.value(), "Cidr")),
            ..Default::default()
        },
    );
    let t = ok(&stack);
    assert_eq!(
        t.as_json()["Mappings"],
        json!({"Regions": {
            "eu-west-1": {"Cidr": "10.1.0.0/16"},
            "us-east-1": {"Cidr": "10.0.0.0/16"},
        }})
    );
    assert_eq!(
        t.resource("Vpc").expect("Vpc")["Properties"]["CidrBlock"],
        json!({"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Cidr"]})
    );
}

#[test]
fn outputs_render_description_export_and_condition() {
    let mut stack = Stack::new("s");
    let c = stack.add_condition("IsUsEast1", is_us_east_1());
    let b = stack.add("Bucket", s3::CfnBucket::default());
    stack.add_output(
        "BucketArn",
        Output::new(b.attr_arn())
            .description("The bucket")
            .export(sub("${AWS::StackName}-BucketArn"))
            .condition(&c),
    );
    stack.add_output("Plain", Output::new(b.reference()));
    let t = ok(&stack);
    assert_eq!(
        t.as_json()["Outputs"],
        json!({
            "BucketArn": {
                "Description": "The bucket",
                "Value": {"Fn::GetAtt": ["Bucket", "Arn"]},
                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-BucketArn"}},
                "Condition": "IsUsEast1",
            },
            "Plain": {"Value": {"Ref": "Bucket"}},
        })
    );
}

#[test]
fn conditions_render_with_named_condition_references() {
    let mut stack = Stack::new("s");
    let east = stack.add_condition("IsUsEast1", is_us_east_1());
    stack.add_condition(
        "EastAndNamed",
        and([condition(&east), equals(Pseudo::StackName.value(), "x")]),
    );
    let t = ok(&stack);
    assert_eq!(
        t.as_json()["Conditions"],
        json!({
            "EastAndNamed": {"Fn::And": [
                {"Condition": "IsUsEast1"},
                {"Fn::Equals": [{"Ref": "AWS::StackName"}, "x"]},
            ]},
            "IsUsEast1": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
        })
    );
}

#[test]
fn template_description_and_metadata_are_rendered() {
    let mut stack = Stack::new("s");
    stack.set_description("Demo stack");
    stack.set_metadata("cfn-lint", json!({"config": {"ignore_checks": ["W3005"]}}));
    stack.set_metadata("Owner", json!("data-team"));
    let t = ok(&stack);
    assert_eq!(
        t.as_json(),
        &json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "Demo stack",
            "Metadata": {
                "Owner": "data-team",
                "cfn-lint": {"config": {"ignore_checks": ["W3005"]}},
            },
            "Resources": {},
        })
    );
}

#[test]
fn empty_stack_renders_only_the_version_and_empty_resources() {
    let stack = Stack::new("empty");
    assert_eq!(stack.name(), "empty");
    let t = ok(&stack);
    assert_eq!(
        t.to_json_compact(),
        r#"{"AWSTemplateFormatVersion":"2010-09-09","Resources":{}}"#
    );
    assert!(t.resource_ids().is_empty());
}

#[test]
fn resource_mut_and_resource_see_only_handles_of_this_stack() {
    let mut stack = Stack::new("s");
    let v = stack.add("Vpc", vpc());
    stack.resource_mut(&v).expect("own handle").cidr_block = Some("10.0.0.0/16".into());
    assert_eq!(
        stack.resource(&v).and_then(|r| r.cidr_block.clone()),
        Some(Value::from("10.0.0.0/16"))
    );
    let mut other = Stack::new("other");
    assert!(other.resource(&v).is_none());
    assert!(other.resource_mut(&v).is_none());
    assert!(other.options_mut(&v).is_none());
}

#[test]
fn resource_meta_of_bucket_lists_arn_as_read_only() {
    let meta = crate::resource_meta("AWS::S3::Bucket").expect("generated type");
    assert_eq!(meta.type_name, "AWS::S3::Bucket");
    assert!(meta.read_only.contains(&"/properties/Arn"), "{meta:?}");
    assert_eq!(meta, &<s3::CfnBucket as Resource>::META);
    assert!(crate::resource_meta("AWS::S3::Nothing").is_none());
}

#[test]
fn top_level_members_reads_only_the_outer_object() {
    let members = super::top_level_members(
        r#"{"A":"x,}","B":{"C":[1,{"D":"}"}]},"E":null,"F":{"Ref":"AWS::NoValue"},"G":"q\\"}"#,
    );
    assert_eq!(
        members,
        vec![
            ("A", r#""x,}""#),
            ("B", r#"{"C":[1,{"D":"}"}]}"#),
            ("E", "null"),
            ("F", r#"{"Ref":"AWS::NoValue"}"#),
            ("G", r#""q\\""#),
        ]
    );
    assert!(super::top_level_members("{}").is_empty());
    assert!(super::top_level_members("[1]").is_empty());
    assert_eq!(super::top_level_members(r#"{"A":1"#), vec![("A", "1")]);
}

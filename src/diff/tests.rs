//! Diffs of real templates: the default environment (`examples/databricks.yaml`) synthesized
//! before and after a config change, or edited as JSON where no config knob exists.

use std::collections::BTreeMap;

use cdkrs_stacks::config::Config;
use cdkrs_stacks::{environment, load, validate};
use serde_json::{json, Value};

use super::*;

const DEFAULT: &str = include_str!("../../examples/legacy-passthrough.yaml");
const STACK: &str = "cm-vpc-databricks";

/// The default config as written (tests change it, then [`synth`] validates it).
fn config() -> Config {
    load::parse(DEFAULT).unwrap_or_else(|e| panic!("{e}"))
}

fn synth(config: &Config) -> Value {
    let env = validate::validate(config).unwrap_or_else(|e| panic!("{e}"));
    environment::build(&env)
        .unwrap_or_else(|e| panic!("build: {e}"))
        .synth()
        .unwrap_or_else(|e| panic!("{e}"))
        .as_json()
        .clone()
}

/// The default template and the template after `change` to the config.
fn templates(change: impl FnOnce(&mut Config)) -> (Value, Value) {
    let old = config();
    let mut new = old.clone();
    change(&mut new);
    (synth(&old), synth(&new))
}

fn diff_config(change: impl FnOnce(&mut Config)) -> TemplateDiff {
    let (old, new) = templates(change);
    diff_templates(Some(&old), &new)
}

/// The default template, and a copy edited by `edit`.
fn diff_edit(edit: impl FnOnce(&mut Value)) -> TemplateDiff {
    let old = synth(&config());
    let mut new = old.clone();
    edit(&mut new);
    diff_templates(Some(&old), &new)
}

fn resource<'a>(diff: &'a TemplateDiff, id: &str) -> &'a ResourceChange {
    diff.resource_changes()
        .iter()
        .find(|r| r.logical_id == id)
        .unwrap_or_else(|| panic!("no change for {id}: {:#?}", ids(diff)))
}

fn ids(diff: &TemplateDiff) -> Vec<(&str, Action, Replacement)> {
    diff.resource_changes()
        .iter()
        .map(|r| (r.logical_id.as_str(), r.action, r.replacement))
        .collect()
}

fn property<'a>(change: &'a ResourceChange, path: &str) -> &'a PropertyChange {
    change
        .property_changes
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("no {path} in {change:#?}"))
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The parameter values `cdkrs deploy` passes for the default config.
fn deployed() -> BTreeMap<String, String> {
    values(&[
        ("NetworkAsleep", "false"),
        ("ProviderCodeBucket", "cdkrs-assets"),
        ("ProviderCodeKey", "provider/aaaa.zip"),
    ])
}

#[test]
fn identical_templates_have_no_differences() {
    let t = synth(&config());
    let diff = diff_templates(Some(&t), &t).with_parameter_values(&deployed(), &deployed());
    assert!(diff.is_empty());
    assert!(!diff.broadens_security());
    assert_eq!(
        diff.render_text(STACK, true),
        format!("Stack {STACK}: no differences\n")
            .replace(STACK, &format!("\u{1b}[1m{STACK}\u{1b}[0m"))
    );
    assert_eq!(
        diff.render_text(STACK, false),
        format!("Stack {STACK}: no differences\n")
    );
    assert!(diff.render_markdown(STACK).ends_with("No differences.\n"));
}

#[test]
fn a_tag_change_modifies_aws_resources_in_place() {
    let diff = diff_config(|c| {
        c.tags.insert("environment".into(), "prod".into());
    });
    for id in ["Vpc", "RawBucket", "StorageKey", "MetaRole"] {
        let r = resource(&diff, id);
        assert_eq!(
            (r.action, r.replacement),
            (Action::Modify, Replacement::Never),
            "{id}"
        );
        let tags = property(r, "Properties.Tags");
        assert_eq!(tags.replacement, Replacement::Never);
    }
    assert_eq!(diff.summary().replace, 0);
    assert!(diff.security_changes().is_empty(), "tags grant nothing");
    let text = diff.render_text(STACK, false);
    assert!(text.contains("[~] AWS::EC2::VPC Vpc\n"), "{text}");
    assert!(
        text.contains("        -     \"Value\": \"test\"\n"),
        "{text}"
    );
    assert!(
        text.contains("        +     \"Value\": \"prod\"\n"),
        "{text}"
    );
}

#[test]
fn a_vpc_cidr_change_replaces_the_vpc_its_subnets_and_what_depends_on_the_vpc() {
    let vpc = cdkrs_constructs::resource_meta("AWS::EC2::VPC").expect("generated");
    assert!(vpc.create_only.contains(&"/properties/CidrBlock"));
    let diff = diff_config(|c| c.network.vpc_cidr = "10.1.0.0/16".into());

    let v = resource(&diff, "Vpc");
    assert_eq!(v.replacement, Replacement::Always);
    let cidr = property(v, "Properties.CidrBlock");
    assert_eq!(cidr.replacement, Replacement::Always);
    assert_eq!(cidr.new, Some(json!("10.1.0.0/16")));
    for subnet in ["VpcPrivateSubnet1", "VpcPrivateSubnet3", "VpcPublicSubnet1"] {
        assert_eq!(
            resource(&diff, subnet).replacement,
            Replacement::Always,
            "{subnet}"
        );
    }
    // Not changed in the template, but its VpcId resolves to the new VPC: replaced too.
    let rt = resource(&diff, "VpcPrivateRouteTable");
    let vpc_id = property(rt, "Properties.VpcId");
    assert_eq!(vpc_id.old, vpc_id.new);
    assert_eq!(vpc_id.replacement, Replacement::Always);
    assert_eq!(
        vpc_id.note.as_deref(),
        Some("may resolve to a new value: Vpc is replaced")
    );
    // … and so on down the chain.
    assert_eq!(
        resource(&diff, "VpcPrivateSubnet1RouteTableAssociation").replacement,
        Replacement::Always
    );
    assert_eq!(
        resource(&diff, "WorkspaceSecurityGroup").replacement,
        Replacement::Always
    );
    // The network configuration publishes its create-only list: its VpcId and SubnetIds
    // resolve to new values, so it is replaced (not "may replace").
    let network = resource(&diff, "DatabricksNetwork");
    assert_eq!(network.replacement, Replacement::Always);
    assert_eq!(
        property(network, "Properties.VpcId").replacement,
        Replacement::Always
    );
    let text = diff.render_text(STACK, false);
    assert!(text.contains("[~] AWS::EC2::VPC Vpc (replace)\n"), "{text}");
    assert!(
        text.contains("[~] Properties.CidrBlock (replace): \"10.0.0.0/16\" → \"10.1.0.0/16\""),
        "{text}"
    );
}

#[test]
fn a_cluster_size_change_is_in_place_and_a_first_on_demand_change_replaces_it() {
    // The cluster publishes its create-only list: the provider edits a resized cluster …
    let diff = diff_config(|c| c.databricks.cluster.autoscale.max_workers = 8);
    assert_eq!(
        ids(&diff),
        [("DatabricksCluster", Action::Modify, Replacement::Never)]
    );
    let cluster = resource(&diff, "DatabricksCluster");
    assert_eq!(
        property(cluster, "Properties.Autoscale").replacement,
        Replacement::Never
    );
    assert!(cluster.notes.is_empty(), "{:?}", cluster.notes);
    let text = diff.render_text(STACK, false);
    assert!(
        text.contains("[~] Custom::DatabricksCluster DatabricksCluster\n"),
        "{text}"
    );
    assert!(
        text.ends_with("0 to add, 1 to change, 0 to remove\n"),
        "{text}"
    );
    // … and replaces one whose on-demand count changes (the API cannot change it in place).
    let diff = diff_config(|c| c.databricks.cluster.first_on_demand = 2);
    assert_eq!(
        ids(&diff),
        [("DatabricksCluster", Action::Modify, Replacement::Always)]
    );
    let text = diff.render_text(STACK, false);
    assert!(
        text.contains("[~] Custom::DatabricksCluster DatabricksCluster (replace)"),
        "{text}"
    );
}

#[test]
fn a_published_create_only_property_replaces_and_an_in_place_one_modifies() {
    // The group publishes its create-only list (`Metadata.cdkrs.CreateOnlyProperties`):
    // a new display name is a new group, new roles are PATCHed in place.
    let diff = diff_edit(|t| {
        let group = &mut t["Resources"]["DatabricksGroup1"]["Properties"];
        group["DisplayName"] = json!("renamed");
        let creds = &mut t["Resources"]["DatabricksCredentials"]["Properties"];
        creds["RoleArn"] = json!("arn:aws:iam::123456789012:role/other");
    });
    let group = resource(&diff, "DatabricksGroup1");
    assert_eq!(group.replacement, Replacement::Always);
    assert_eq!(
        property(group, "Properties.DisplayName").replacement,
        Replacement::Always
    );
    assert!(group.notes.is_empty(), "{:?}", group.notes);
    let creds = resource(&diff, "DatabricksCredentials");
    assert_eq!(creds.replacement, Replacement::Always);
    let text = diff.render_text(STACK, false);
    assert!(
        text.contains("[~] Custom::DatabricksGroup DatabricksGroup1 (replace)"),
        "{text}"
    );
    assert!(
        text.contains("[~] Custom::DatabricksCredentials DatabricksCredentials (replace)"),
        "{text}"
    );

    let diff = diff_edit(|t| {
        t["Resources"]["DatabricksGroup1"]["Properties"]["AllowClusterCreate"] = json!(true);
    });
    let group = resource(&diff, "DatabricksGroup1");
    assert_eq!(group.replacement, Replacement::Never);
    assert!(group.notes.is_empty(), "{:?}", group.notes);
    let text = diff.render_text(STACK, false);
    assert!(
        text.contains("[~] Custom::DatabricksGroup DatabricksGroup1\n"),
        "{text}"
    );
    assert!(
        text.ends_with("0 to add, 1 to change, 0 to remove\n"),
        "{text}"
    );
}

#[test]
fn a_replaced_configuration_replaces_what_uses_it_where_that_use_is_create_only() {
    // A new storage configuration (new bucket) is a new id; the log delivery that names it
    // in a create-only property is replaced too.
    let diff = diff_edit(|t| {
        let log_storage = t["Resources"]
            .as_object()
            .expect("resources")
            .iter()
            .find(|(_, r)| {
                r["Type"] == "Custom::DatabricksStorageConfiguration"
                    && r["Properties"]["StorageConfigurationName"]
                        .as_str()
                        .is_some_and(|n| n.contains("log"))
            })
            .map(|(id, _)| id.clone())
            .expect("the log-delivery storage configuration");
        t["Resources"][&log_storage]["Properties"]["StorageConfigurationName"] = json!("renamed");
    });
    let audit = resource(&diff, "DatabricksAuditLogDelivery");
    assert_eq!(audit.replacement, Replacement::Always);
    let change = property(audit, "Properties.StorageConfigurationId");
    assert_eq!(change.replacement, Replacement::Always);
    assert!(
        change
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("may resolve to a new value")),
        "{change:?}"
    );
}

#[test]
fn replacing_or_removing_the_workspace_warns_that_it_and_its_contents_are_deleted() {
    let warning = cdkrs_databricks::WORKSPACE_REPLACEMENT_WARNING;
    let diff = diff_edit(|t| {
        let ws = &mut t["Resources"]["DatabricksWorkspace"];
        // The list the workspace publishes (its provider's), at least the deployment name.
        ws["Metadata"]["cdkrs"]["CreateOnlyProperties"] = json!(["/properties/DeploymentName"]);
        ws["Properties"]["DeploymentName"] = json!("renamed");
    });
    let ws = resource(&diff, "DatabricksWorkspace");
    assert_eq!(ws.replacement, Replacement::Always);
    assert!(
        ws.warnings.contains(&format!("replaced: {warning}")),
        "{:?}",
        ws.warnings
    );
    let text = diff.render_text(STACK, false);
    assert!(
        text.contains("[~] Custom::DatabricksWorkspace DatabricksWorkspace (replace)"),
        "{text}"
    );
    assert!(text.contains(&format!("replaced: {warning}")), "{text}");

    let diff = diff_edit(|t| {
        let resources = t["Resources"].as_object_mut().expect("resources");
        resources.remove("DatabricksWorkspace");
    });
    let ws = resource(&diff, "DatabricksWorkspace");
    assert_eq!(ws.action, Action::Remove);
    assert_eq!(ws.warnings, [format!("deleted: {warning}")]);
}

#[test]
fn renaming_the_workspace_in_the_config_says_replace_and_that_its_contents_are_deleted() {
    // The workspace's own published list (the provider's), read from the synthesized template:
    // the account API cannot rename a workspace, so the provider makes a new one.
    let diff = diff_config(|c| c.databricks.workspace.name = "renamed-workspace".into());
    let ws = resource(&diff, "DatabricksWorkspace");
    assert_eq!(ws.replacement, Replacement::Always);
    assert_eq!(
        property(ws, "Properties.WorkspaceName").replacement,
        Replacement::Always
    );
    let warning = cdkrs_databricks::WORKSPACE_REPLACEMENT_WARNING;
    let text = diff.render_text(STACK, false);
    assert!(
        text.contains("[~] Custom::DatabricksWorkspace DatabricksWorkspace (replace)"),
        "{text}"
    );
    assert!(text.contains(&format!("replaced: {warning}")), "{text}");
    assert!(!text.contains("may replace"), "{text}");
}

#[test]
fn a_custom_type_that_publishes_nothing_may_be_replaced() {
    let old = json!({"Resources": {"W": {"Type": "Custom::Widget", "Properties": {"ServiceToken": "arn", "Size": 1}}}});
    let mut new = old.clone();
    new["Resources"]["W"]["Properties"]["Size"] = json!(2);
    let diff = diff_templates(Some(&old), &new);
    let w = resource(&diff, "W");
    assert_eq!(w.replacement, Replacement::Conditional);
    assert_eq!(
        w.notes,
        ["custom resource: its provider decides whether this update replaces it"]
    );
    // The same type publishing its list: the diff knows.
    let published = |t: &mut Value| {
        t["Resources"]["W"]["Metadata"] =
            json!({"cdkrs": {"CreateOnlyProperties": ["/properties/Name"]}});
    };
    let (mut old, mut new) = (old, new);
    published(&mut old);
    published(&mut new);
    let diff = diff_templates(Some(&old), &new);
    assert_eq!(resource(&diff, "W").replacement, Replacement::Never);
    new["Resources"]["W"]["Properties"]["Name"] = json!("n");
    let diff = diff_templates(Some(&old), &new);
    assert_eq!(resource(&diff, "W").replacement, Replacement::Always);
    // A list that is not a list of strings is as good as none.
    new["Resources"]["W"]["Metadata"]["cdkrs"]["CreateOnlyProperties"] = json!("Name");
    let diff = diff_templates(Some(&old), &new);
    assert_eq!(resource(&diff, "W").replacement, Replacement::Conditional);
}

#[test]
fn a_removed_resource_with_retain_says_it_stays_in_the_account() {
    let diff = diff_edit(|t| {
        let resources = t["Resources"].as_object_mut().expect("resources");
        resources.remove("RawBucket");
        resources.remove("RawBucketPolicy");
    });
    assert_eq!(
        ids(&diff),
        [
            ("RawBucket", Action::Remove, Replacement::Never),
            ("RawBucketPolicy", Action::Remove, Replacement::Never)
        ]
    );
    let bucket = resource(&diff, "RawBucket");
    assert_eq!(
        bucket.warnings,
        ["retained: the old resource stays in the account (DeletionPolicy: Retain)"]
    );
    let rows = diff.security_changes();
    assert!(
        !rows.is_empty()
            && rows
                .iter()
                .all(|s| s.action == Action::Remove && s.logical_id == "RawBucketPolicy")
    );
    assert!(
        !diff.broadens_security(),
        "the denials go with the policy that is removed"
    );
    let text = diff.render_text(STACK, false);
    assert!(
        text.contains(
            "[-] AWS::S3::Bucket RawBucket\n    ⚠ retained: the old resource stays in the account"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("0 to add, 0 to change, 2 to remove\n"),
        "{text}"
    );
}

#[test]
fn an_added_role_contributes_security_rows_and_broadens() {
    let new = synth(&config());
    let mut old = new.clone();
    let resources = old["Resources"].as_object_mut().expect("resources");
    resources.remove("LogDeliveryRole");
    resources.remove("LogDeliveryRoleDefaultPolicy");
    let diff = diff_templates(Some(&old), &new);
    assert_eq!(resource(&diff, "LogDeliveryRole").action, Action::Add);
    let rows = diff.security_changes();
    assert!(rows.iter().all(|s| s.action == Action::Add));
    let trust = rows
        .iter()
        .find_map(|s| match &s.detail {
            SecurityDetail::IamStatement(st)
                if s.logical_id == "LogDeliveryRole" && st.source == "trust policy" =>
            {
                Some((s, st))
            }
            _ => None,
        })
        .expect("trust policy row");
    assert!(trust.0.broadens);
    assert_eq!(trust.1.effect, "Allow");
    assert_eq!(trust.1.resources, ["${LogDeliveryRole.Arn}"]);
    let granted = rows.iter().any(|s| {
        matches!(&s.detail, SecurityDetail::IamStatement(st)
            if s.logical_id == "LogDeliveryRoleDefaultPolicy" && st.principals == ["AWS:${LogDeliveryRole}"])
    });
    assert!(
        granted,
        "the policy's statements name the role they are attached to: {rows:#?}"
    );
    assert!(diff.broadens_security());
    let text = diff.render_text(STACK, false);
    assert!(text.contains("IAM Statement Changes"), "{text}");
    assert!(text.contains("This change broadens security"), "{text}");
}

#[test]
fn a_removed_allow_statement_does_not_broaden() {
    let diff = diff_edit(|t| {
        let stmts = t["Resources"]["MetaRoleDefaultPolicy"]["Properties"]["PolicyDocument"]
            ["Statement"]
            .as_array_mut()
            .expect("statements");
        assert!(stmts.len() > 1);
        stmts.remove(0);
    });
    let policy = resource(&diff, "MetaRoleDefaultPolicy");
    assert_eq!(
        (policy.action, policy.replacement),
        (Action::Modify, Replacement::Never)
    );
    let rows = diff.security_changes();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].action, Action::Remove);
    match &rows[0].detail {
        SecurityDetail::IamStatement(s) => assert_eq!(s.principals, ["AWS:${MetaRole}"]),
        other => panic!("{other:?}"),
    }
    assert!(!diff.broadens_security());
}

#[test]
fn a_removed_deny_statement_broadens() {
    let diff = diff_config(|c| c.encryption.enforce_sse_kms_datalake = false);
    let removed_deny = diff.security_changes().iter().find(|s| {
        matches!(&s.detail, SecurityDetail::IamStatement(st) if st.effect == "Deny")
            && s.action == Action::Remove
    });
    assert!(
        removed_deny.is_some_and(|s| s.broadens),
        "{:#?}",
        diff.security_changes()
    );
    assert!(diff.broadens_security());
}

#[test]
fn an_added_security_group_ingress_rule_broadens() {
    let diff = diff_edit(|t| {
        t["Resources"]["WorkspaceSecurityGroup"]["Properties"]["SecurityGroupIngress"] =
            json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]);
    });
    let sg = resource(&diff, "WorkspaceSecurityGroup");
    assert_eq!(sg.replacement, Replacement::Never);
    let rows = diff.security_changes();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].action, Action::Add);
    assert!(rows[0].broadens);
    assert_eq!(
        rows[0].detail,
        SecurityDetail::SecurityGroupRule(SecurityGroupRule {
            group: "${WorkspaceSecurityGroup}".into(),
            direction: "ingress".into(),
            protocol: "tcp".into(),
            ports: "22".into(),
            peer: "0.0.0.0/0".into(),
        })
    );
    assert!(diff.broadens_security());
    let text = diff.render_text(STACK, false);
    assert!(text.contains("Security Group Changes"), "{text}");
    assert!(
        text.contains("│ + │ WorkspaceSecurityGroup │ ${WorkspaceSecurityGroup} │ ingress   │ tcp      │ 22    │ 0.0.0.0/0 │"),
        "{text}"
    );
}

#[test]
fn a_parameter_value_change_alone_is_a_change_and_reaches_the_resources_using_it() {
    let t = synth(&config());
    let mut next = deployed();
    next.insert("ProviderCodeKey".into(), "provider/bbbb.zip".into());
    let diff = diff_templates(Some(&t), &t).with_parameter_values(&deployed(), &next);
    assert!(!diff.is_empty());
    let values = diff.parameter_value_changes();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].name, "ProviderCodeKey");
    assert_eq!(values[0].new, Some(json!("provider/bbbb.zip")));
    let lambda = resource(&diff, "DatabricksProvider");
    let code = property(lambda, "Properties.Code");
    assert_eq!(code.replacement, Replacement::Never);
    assert_eq!(
        code.note.as_deref(),
        Some("may resolve to a new value: parameter ProviderCodeKey changes value")
    );
    let text = diff.render_text(STACK, false);
    assert!(
        text.contains("[~] ProviderCodeKey: \"provider/aaaa.zip\" → \"provider/bbbb.zip\""),
        "{text}"
    );
}

#[test]
fn putting_the_network_to_sleep_removes_the_resources_of_the_flipped_condition() {
    let t = synth(&config());
    let mut asleep = deployed();
    asleep.insert("NetworkAsleep".into(), "true".into());
    let diff = diff_templates(Some(&t), &t).with_parameter_values(&deployed(), &asleep);
    let nat = resource(&diff, "VpcNatGateway");
    assert_eq!(nat.action, Action::Remove);
    assert_eq!(nat.notes, ["deleted: condition NetworkAwake becomes false"]);
    assert_eq!(resource(&diff, "KinesisEndpoint").action, Action::Remove);
    assert_eq!(diff.summary().add, 0);
    // Waking up adds them back.
    let diff = diff_templates(Some(&t), &t).with_parameter_values(&asleep, &deployed());
    assert_eq!(resource(&diff, "VpcNatGateway").action, Action::Add);
}

#[test]
fn a_new_stack_adds_everything() {
    let t = synth(&config());
    let diff = diff_templates(None, &t);
    assert!(diff.is_new_stack());
    let count = t["Resources"].as_object().map_or(0, |r| r.len());
    assert_eq!(diff.resource_changes().len(), count);
    assert!(diff
        .resource_changes()
        .iter()
        .all(|r| r.action == Action::Add));
    assert!(diff
        .security_changes()
        .iter()
        .all(|s| s.action == Action::Add));
    assert!(diff.broadens_security());
    assert_eq!(diff.parameter_changes().len(), 3);
    let text = diff.render_text(STACK, false);
    assert!(
        text.starts_with(&format!("Stack {STACK} (new stack)\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{count} to add, 0 to change, 0 to remove")),
        "{text}"
    );
}

#[test]
fn a_replaced_retained_resource_warns_and_a_kept_custom_name_fails() {
    let diff = diff_edit(|t| {
        t["Resources"]["RawBucket"]["Properties"]["BucketName"] = json!("renamed-raw");
        t["Resources"]["DataReadRole"]["Properties"]["Path"] = json!("/data/");
    });
    let bucket = resource(&diff, "RawBucket");
    assert_eq!(bucket.replacement, Replacement::Always);
    assert_eq!(
        bucket.warnings,
        ["retained: the old resource stays in the account (UpdateReplacePolicy: Retain)"]
    );
    let role = resource(&diff, "DataReadRole");
    assert_eq!(role.replacement, Replacement::Always);
    assert!(
        role.warnings[0].starts_with("RoleName stays cm-vpc-data-read"),
        "{:?}",
        role.warnings
    );
}

#[test]
fn a_create_only_value_computed_at_deploy_time_still_replaces_with_a_note() {
    let diff = diff_edit(|t| {
        t["Resources"]["VpcPublicSubnet1"]["Properties"]["AvailabilityZone"] =
            json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]});
    });
    let subnet = resource(&diff, "VpcPublicSubnet1");
    let az = property(subnet, "Properties.AvailabilityZone");
    assert_eq!(az.replacement, Replacement::Always);
    assert!(
        az.note
            .as_deref()
            .is_some_and(|n| n.contains("computed at deploy time")),
        "{az:?}"
    );
}

#[test]
fn attributes_never_replace_and_equivalent_depends_on_is_no_change() {
    let diff = diff_edit(|t| {
        // A one-element DependsOn list written as a plain string: the same dependency.
        let provider = &mut t["Resources"]["DatabricksProvider"];
        assert_eq!(provider["DependsOn"].as_array().map(Vec::len), Some(1));
        let depends = provider["DependsOn"][0].clone();
        provider["DependsOn"] = depends;
        t["Resources"]["Vpc"]["Metadata"] = json!({"note": "x"});
        t["Resources"]["RawBucket"]["DeletionPolicy"] = json!("Delete");
    });
    assert_eq!(
        ids(&diff),
        [
            ("RawBucket", Action::Modify, Replacement::Never),
            ("Vpc", Action::Modify, Replacement::Never)
        ]
    );
}

#[test]
fn a_type_change_is_a_replacement() {
    let diff = diff_edit(|t| t["Resources"]["Vpc"]["Type"] = json!("AWS::EC2::Vpc2"));
    let vpc = resource(&diff, "Vpc");
    assert_eq!(vpc.replacement, Replacement::Always);
    assert_eq!(vpc.old_resource_type.as_deref(), Some("AWS::EC2::VPC"));
    assert_eq!(property(vpc, "Type").replacement, Replacement::Always);
}

#[test]
fn other_sections_and_top_level_keys_are_compared() {
    let diff = diff_edit(|t| {
        t["Description"] = json!("new description");
        t["Outputs"]["Extra"] = json!({"Value": "x"});
        t["Mappings"] = json!({"M": {"a": {"b": "c"}}});
        t["Conditions"]["Never"] = json!({"Fn::Equals": ["a", "b"]});
        t["Parameters"]["ProviderCodeKey"]["Description"] = json!("changed");
    });
    assert_eq!(diff.other_changes()[0].name, "Description");
    assert_eq!(diff.output_changes()[0].action, Action::Add);
    assert_eq!(diff.mapping_changes()[0].name, "M");
    assert_eq!(diff.condition_changes()[0].name, "Never");
    assert_eq!(diff.parameter_changes()[0].action, Action::Modify);
    let text = diff.render_text(STACK, false);
    for title in [
        "\nParameters\n",
        "\nConditions\n",
        "\nMappings\n",
        "\nOutputs\n",
        "\nOther changes\n",
    ] {
        assert!(text.contains(title), "{title} in {text}");
    }
    assert!(text.ends_with("0 to add, 0 to change, 0 to remove; also changes 1 parameter, 1 condition, 1 mapping, 1 output, 1 top-level key\n"), "{text}");
}

#[test]
fn markdown_escapes_pipes_and_backticks_in_cells() {
    let old = json!({"Resources": {}});
    let new = json!({"Resources": {"A|B": {"Type": "Custom::X`Y|Z", "Properties": {"P": "|`"}}}});
    let md = diff_templates(Some(&old), &new).render_markdown("my|stack");
    assert!(
        md.starts_with("### cdkrs diff: stack `my\\|stack`\n"),
        "{md}"
    );
    assert!(
        md.contains("| add | `A\\|B` | Custom::X\\`Y\\|Z |  |  |\n"),
        "{md}"
    );
}

#[test]
fn markdown_has_a_summary_a_table_details_and_security_tables() {
    let diff = diff_edit(|t| {
        t["Resources"]["Vpc"]["Properties"]["CidrBlock"] = json!("10.9.0.0/16");
        t["Resources"]["WorkspaceSecurityGroup"]["Properties"]["SecurityGroupIngress"] =
            json!([{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]);
    });
    let md = diff.render_markdown(STACK);
    assert!(md.contains("**0 to add, "), "{md}");
    assert!(
        md.contains("| modify | `Vpc` | `AWS::EC2::VPC` | **replace** |  |\n"),
        "{md}"
    );
    assert!(
        md.contains("<details>\n<summary>Details</summary>\n"),
        "{md}"
    );
    assert!(
        md.contains(
            "```diff\n~ Properties.CidrBlock (replace): \"10.0.0.0/16\" → \"10.9.0.0/16\"\n"
        ),
        "{md}"
    );
    assert!(md.contains("> [!WARNING]"), "{md}");
    assert!(md.contains("#### Security Group Changes"), "{md}");
    assert_eq!(md, diff.render_markdown(STACK), "deterministic");
}

#[test]
fn text_without_color_has_no_escape_codes_and_with_color_has_some() {
    let diff = diff_config(|c| c.network.vpc_cidr = "10.1.0.0/16".into());
    assert!(!diff.render_text(STACK, false).contains('\u{1b}'));
    assert!(diff.render_text(STACK, true).contains("\u{1b}["));
}

#[test]
fn the_json_output_is_stable() {
    let (old, mut new) = templates(|c| c.databricks.cluster.autoscale.max_workers = 8);
    new["Resources"]["WorkspaceSecurityGroup"]["Properties"]["SecurityGroupIngress"] =
        json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]);
    let mut next = deployed();
    next.insert("ProviderCodeKey".into(), "provider/bbbb.zip".into());
    let diff = diff_templates(Some(&old), &new).with_parameter_values(&deployed(), &next);
    insta::assert_json_snapshot!("cluster_ingress_and_code_key", diff);
}

#[test]
fn any_json_is_diffed_and_rendered_without_panicking() {
    let odd = [
        json!(null),
        json!([]),
        json!("template"),
        json!({"Resources": 5, "Parameters": [], "Conditions": "x"}),
        json!({"Resources": {"A": 5, "B": null, "C": []}}),
        json!({"Resources": {"A": {"Type": 5, "Properties": [1], "DependsOn": {"x": 1}}}}),
        json!({"Resources": {"A": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [5, {"Effect": {"Fn::If": []}}, {"Principal": 3, "Condition": [1]}]},
            "Policies": [3, {"PolicyDocument": "{not json"}, {"PolicyDocument": {"Statement": {"Action": {"Fn::Sub": [1, 2]}}}}],
            "ManagedPolicyArns": {"Ref": "P"}
        }, "Condition": "Loop"}},
          "Conditions": {"Loop": {"Fn::And": [{"Condition": "Loop"}]}}}),
        json!({"Resources": {"S": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "VpcId": {"Fn::GetAtt": []}, "SecurityGroupIngress": [{"FromPort": "x"}, 7]}}}}),
        json!({"Resources": {"S": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Fn::Sub": "${}${"}},
            "DeletionPolicy": ["Retain"], "UpdateReplacePolicy": {"a": 1}}}}),
        json!({"Resources": {"L": {"Type": "AWS::Lambda::Permission", "Properties": "x"}}}),
    ];
    let params = values(&[("P", "1")]);
    for old in &odd {
        for new in &odd {
            for d in [
                diff_templates(Some(old), new),
                diff_templates(Some(old), new).with_parameter_values(&params, &BTreeMap::new()),
                diff_templates(None, new),
            ] {
                let _ = d.render_text("s", true);
                let _ = d.render_markdown("s");
                let _ = serde_json::to_string(&d);
            }
        }
    }
}

#[test]
fn a_removed_resource_shows_the_note_the_new_template_keeps_for_it() {
    let old = json!({"Resources": {
        "MetaRole": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "m"}},
        "Keep": {"Type": "AWS::SNS::Topic"}
    }});
    let mut stack = cdkrs_constructs::Stack::new("s");
    cdkrs_constructs::metadata::add_removal_note(
        &mut stack,
        "MetaRole",
        "notebooks reading through the instance profile must use Unity Catalog",
    );
    cdkrs_constructs::metadata::add_removal_note(&mut stack, "Other", "unrelated");
    let mut new = json!({"Resources": {"Keep": {"Type": "AWS::SNS::Topic"}}});
    new["Metadata"]["cdkrs"] = stack.metadata("cdkrs").cloned().expect("notes were set");
    assert_eq!(
        new["Metadata"]["cdkrs"]["RemovalNotes"]["Other"], "unrelated",
        "both notes are kept"
    );
    let diff = diff_templates(Some(&old), &new);
    let meta = resource(&diff, "MetaRole");
    assert_eq!(meta.action, Action::Remove);
    assert_eq!(
        meta.warnings,
        ["removed: notebooks reading through the instance profile must use Unity Catalog"]
    );
    assert!(diff
        .render_text(STACK, false)
        .contains("removed: notebooks reading through the instance profile"));
    // A note for something not deployed says nothing.
    assert!(diff.resources.iter().all(|r| r.logical_id != "Other"));
}

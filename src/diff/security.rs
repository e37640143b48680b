//! The security section: IAM statements, managed policies, permissions boundaries, instance
//! profile roles, Lambda permissions and security group rules, as `+` / `-` rows.
//!
//! Each security-relevant resource is read into normalised rows (lists sorted, a string and a
//! one-element list the same, intrinsics rendered compactly); the rows of the old and the new
//! resource are compared as multisets, so only what really changed shows.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::intrinsics::compact;
use super::resources::{type_of, Side};
use super::{Action, ResourceChange};

/// One `+` or `-` row of the security section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityChange {
    /// `add` (the row appears) or `remove` (it goes away).
    pub action: Action,
    /// The template resource holding the row.
    pub logical_id: String,
    /// Its CloudFormation type.
    pub resource_type: String,
    /// Whether this row widens access (see [`TemplateDiff::broadens_security`](super::TemplateDiff::broadens_security)).
    pub broadens: bool,
    /// What the row is, with its fields (`kind` in JSON).
    #[serde(flatten)]
    pub detail: SecurityDetail,
}

/// The kinds of security rows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecurityDetail {
    /// A statement of a policy document.
    IamStatement(Statement),
    /// A managed policy attached to a role, user or group (`ManagedPolicyArns`).
    ManagedPolicy {
        /// The policy ARN, rendered compactly.
        policy_arn: String,
    },
    /// A role's or user's permissions boundary.
    PermissionsBoundary {
        /// The policy ARN, rendered compactly.
        policy_arn: String,
    },
    /// A role in an instance profile (EC2 instances with the profile get the role).
    InstanceProfileRole {
        /// The role, rendered compactly (`${MetaRole}`).
        role: String,
    },
    /// An `AWS::Lambda::Permission`.
    LambdaPermission(LambdaPermission),
    /// A security group rule (inline in `AWS::EC2::SecurityGroup` or a rule resource).
    SecurityGroupRule(SecurityGroupRule),
}

/// A normalised policy statement. `Sid` is left out: renaming a statement grants nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Statement {
    /// Which document: `trust policy`, `inline policy <name>`, `policy`, `managed policy`,
    /// `key policy`, `bucket policy`, `endpoint policy`, `queue policy`, `topic policy`.
    pub source: String,
    /// `Allow`, `Deny`, or the rendered value when it is not a string.
    pub effect: String,
    /// `Service:ec2.amazonaws.com`, `AWS:${MetaRole}`, `*`; `NotPrincipal` entries start with
    /// `NOT `. For identity policies: the roles, users and groups the policy is attached to.
    pub principals: Vec<String>,
    /// Actions; `NotAction` entries start with `NOT `.
    pub actions: Vec<String>,
    /// Resources; `NotResource` entries start with `NOT `. A trust policy's resource is the
    /// role (`${Role.Arn}`).
    pub resources: Vec<String>,
    /// One line per operator and key: `StringEquals sts:ExternalId: 0000…`.
    pub condition: Vec<String>,
}

/// A normalised `AWS::Lambda::Permission`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LambdaPermission {
    /// `FunctionName`, rendered compactly.
    pub function: String,
    /// `Action` (`lambda:InvokeFunction`).
    pub action: String,
    /// `Principal`.
    pub principal: String,
    /// `SourceArn: …`, `SourceAccount: …`, `PrincipalOrgID: …`, `FunctionUrlAuthType: …`.
    pub condition: Vec<String>,
}

/// A normalised security group rule. `Description` is left out: it grants nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecurityGroupRule {
    /// The group (`${WorkspaceSecurityGroup}` for inline rules, the `GroupId` otherwise).
    pub group: String,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `tcp`, `udp`, `icmp`, `all`, or the protocol number.
    pub protocol: String,
    /// `443`, `8443-8451`, or `all`.
    pub ports: String,
    /// The source (ingress) or destination (egress): a CIDR, `sg ${Group.GroupId}`,
    /// `prefix list pl-…`.
    pub peer: String,
}

/// The security rows that differ between the old and the new version of each changed resource.
pub(crate) fn diff(old: &Side, new: &Side, changes: &[ResourceChange]) -> Vec<SecurityChange> {
    let mut out = Vec::new();
    for c in changes {
        let id = c.logical_id.as_str();
        let old_r = old.get(id);
        let new_r = new.get(id);
        let mut old_rows = old_r.map(|r| rows(id, r)).unwrap_or_default();
        let new_rows = new_r.map(|r| rows(id, r)).unwrap_or_default();
        let mut added = Vec::new();
        for row in new_rows {
            match old_rows.iter().position(|o| *o == row) {
                Some(i) => {
                    old_rows.remove(i);
                }
                None => added.push(row),
            }
        }
        let removed = old_rows;
        let resource_type = |r: Option<&Value>| r.map(type_of).unwrap_or_default().to_owned();
        for row in &removed {
            out.push(SecurityChange {
                action: Action::Remove,
                logical_id: id.to_owned(),
                resource_type: resource_type(old_r),
                broadens: c.action == Action::Modify && removal_broadens(row, &added),
                detail: row.clone(),
            });
        }
        for row in &added {
            out.push(SecurityChange {
                action: Action::Add,
                logical_id: id.to_owned(),
                resource_type: resource_type(new_r),
                broadens: addition_broadens(row, &removed),
                detail: row.clone(),
            });
        }
    }
    out
}

/// An added row widens access unless it is a `Deny`, or a row it replaces already allowed as
/// much (same effect and condition, at least its principals, actions and resources; for rules:
/// same group, direction, protocol and peer, and a port range that contains it).
fn addition_broadens(row: &SecurityDetail, removed: &[SecurityDetail]) -> bool {
    match row {
        SecurityDetail::IamStatement(s) if s.effect == "Deny" => false,
        SecurityDetail::IamStatement(s) => !removed.iter().any(|r| match r {
            SecurityDetail::IamStatement(old) => same_document(old, s) && covers(old, s),
            _ => false,
        }),
        SecurityDetail::PermissionsBoundary { .. } => false,
        SecurityDetail::SecurityGroupRule(rule) => !removed.iter().any(|r| match r {
            SecurityDetail::SecurityGroupRule(old) => rule_covers(old, rule),
            _ => false,
        }),
        SecurityDetail::ManagedPolicy { .. }
        | SecurityDetail::InstanceProfileRole { .. }
        | SecurityDetail::LambdaPermission(_) => true,
    }
}

/// A removed row of a resource that stays widens access when it is a `Deny` statement (unless an
/// added `Deny` covers it) or a permissions boundary. (A removed resource takes its denials
/// along with what they protected.)
fn removal_broadens(row: &SecurityDetail, added: &[SecurityDetail]) -> bool {
    match row {
        SecurityDetail::IamStatement(s) if s.effect == "Deny" => !added.iter().any(|a| match a {
            SecurityDetail::IamStatement(new) => same_document(s, new) && covers(new, s),
            _ => false,
        }),
        SecurityDetail::PermissionsBoundary { .. } => true,
        _ => false,
    }
}

/// Two statements of the same kind of document (inline policies of one role count as one).
fn same_document(a: &Statement, b: &Statement) -> bool {
    let class = |s: &str| {
        if s.starts_with("inline policy") {
            "inline policy".to_owned()
        } else {
            s.to_owned()
        }
    };
    class(&a.source) == class(&b.source)
}

/// Whether `wide` applies to everything `narrow` does (plain set inclusion; wildcards are not
/// expanded, so `s3:*` does not cover `s3:GetObject`: the check errs on the side of "broadens").
fn covers(wide: &Statement, narrow: &Statement) -> bool {
    let subset = |a: &[String], b: &[String]| a.iter().all(|x| b.contains(x));
    wide.effect == narrow.effect
        && wide.condition == narrow.condition
        && subset(&narrow.principals, &wide.principals)
        && subset(&narrow.actions, &wide.actions)
        && subset(&narrow.resources, &wide.resources)
}

fn rule_covers(wide: &SecurityGroupRule, narrow: &SecurityGroupRule) -> bool {
    let range = |ports: &str| -> Option<(i64, i64)> {
        if ports == "all" {
            return Some((i64::MIN, i64::MAX));
        }
        match ports.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => ports.parse().ok().map(|p| (p, p)),
        }
    };
    let ports_cover = match (range(&wide.ports), range(&narrow.ports)) {
        (Some((wa, wb)), Some((na, nb))) => wa <= na && nb <= wb,
        _ => wide.ports == narrow.ports,
    };
    wide.group == narrow.group
        && wide.direction == narrow.direction
        && wide.peer == narrow.peer
        && (wide.protocol == narrow.protocol || wide.protocol == "all")
        && (ports_cover || wide.protocol == "all")
}

/// The security rows of one resource (none for types without any).
pub(crate) fn rows(id: &str, r: &Value) -> Vec<SecurityDetail> {
    let props = r.get("Properties").unwrap_or(&Value::Null);
    let prop = |name: &str| props.get(name);
    let identity = vec![format!("AWS:${{{id}}}")];
    let mut out = Vec::new();
    match type_of(r) {
        t @ ("AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group") => {
            if t == "AWS::IAM::Role" {
                let role_arn = format!("${{{id}.Arn}}");
                statements(
                    &mut out,
                    prop("AssumeRolePolicyDocument"),
                    "trust policy",
                    None,
                    Some(&role_arn),
                );
            }
            for policy in list(prop("Policies")) {
                let name = policy.get("PolicyName").map(compact).unwrap_or_default();
                statements(
                    &mut out,
                    policy.get("PolicyDocument"),
                    format!("inline policy {name}").trim_end(),
                    Some(&identity),
                    None,
                );
            }
            for arn in list(prop("ManagedPolicyArns")) {
                out.push(SecurityDetail::ManagedPolicy {
                    policy_arn: compact(arn),
                });
            }
            if let Some(arn) = prop("PermissionsBoundary") {
                out.push(SecurityDetail::PermissionsBoundary {
                    policy_arn: compact(arn),
                });
            }
        }
        t @ ("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy") => {
            let mut principals: Vec<String> = ["Roles", "Users", "Groups"]
                .iter()
                .flat_map(|k| list(prop(k)))
                .map(|x| format!("AWS:{}", compact(x)))
                .collect();
            principals.sort();
            principals.dedup();
            let source = if t == "AWS::IAM::Policy" {
                "policy"
            } else {
                "managed policy"
            };
            statements(
                &mut out,
                prop("PolicyDocument"),
                source,
                Some(&principals),
                None,
            );
        }
        "AWS::IAM::InstanceProfile" => {
            for role in list(prop("Roles")) {
                out.push(SecurityDetail::InstanceProfileRole {
                    role: compact(role),
                });
            }
        }
        "AWS::KMS::Key" => statements(&mut out, prop("KeyPolicy"), "key policy", None, None),
        "AWS::S3::BucketPolicy" => statements(
            &mut out,
            prop("PolicyDocument"),
            "bucket policy",
            None,
            None,
        ),
        "AWS::EC2::VPCEndpoint" => statements(
            &mut out,
            prop("PolicyDocument"),
            "endpoint policy",
            None,
            None,
        ),
        "AWS::SQS::QueuePolicy" => {
            statements(&mut out, prop("PolicyDocument"), "queue policy", None, None)
        }
        "AWS::SNS::TopicPolicy" => {
            statements(&mut out, prop("PolicyDocument"), "topic policy", None, None)
        }
        "AWS::Lambda::Permission" => out.push(lambda_permission(props)),
        "AWS::EC2::SecurityGroup" => {
            let group = format!("${{{id}}}");
            for (key, direction) in [
                ("SecurityGroupIngress", "ingress"),
                ("SecurityGroupEgress", "egress"),
            ] {
                for rule in list(prop(key)) {
                    out.push(sg_rule(&group, direction, rule));
                }
            }
        }
        "AWS::EC2::SecurityGroupIngress" => {
            let group = prop("GroupId").or(prop("GroupName")).map(compact);
            out.push(sg_rule(&group.unwrap_or_default(), "ingress", props));
        }
        "AWS::EC2::SecurityGroupEgress" => {
            let group = prop("GroupId").map(compact).unwrap_or_default();
            out.push(sg_rule(&group, "egress", props));
        }
        _ => {}
    }
    out.sort();
    out
}

/// A value as a list: a list as it is, a missing value empty, anything else one element.
fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
    }
}

/// Sorted, deduplicated compact renderings.
fn strings(v: Option<&Value>, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = list(v)
        .into_iter()
        .map(|x| format!("{prefix}{}", compact(x)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Reads the statements of a policy document (an object, or a JSON string of one).
fn statements(
    out: &mut Vec<SecurityDetail>,
    doc: Option<&Value>,
    source: &str,
    identities: Option<&[String]>,
    default_resource: Option<&str>,
) {
    let Some(doc) = doc else { return };
    let parsed;
    let doc = match doc {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) => doc,
        },
        other => other,
    };
    let stmts = match doc.get("Statement") {
        Some(s) => list(Some(s)),
        // Not a document (an intrinsic, or invalid): one opaque row, so a change still shows.
        None => vec![doc],
    };
    for s in stmts {
        out.push(SecurityDetail::IamStatement(statement(
            s,
            source,
            identities,
            default_resource,
        )));
    }
}

fn statement(
    s: &Value,
    source: &str,
    identities: Option<&[String]>,
    default_resource: Option<&str>,
) -> Statement {
    if !s.is_object() || s.get("Effect").is_none() && s.get("Action").is_none() {
        // An intrinsic (`Fn::If`) or something unreadable: show it whole, count it as an Allow.
        return Statement {
            source: source.to_owned(),
            effect: "(computed)".to_owned(),
            principals: Vec::new(),
            actions: vec![compact(s)],
            resources: Vec::new(),
            condition: Vec::new(),
        };
    }
    let mut principals = principals_of(s.get("Principal"), "");
    principals.extend(principals_of(s.get("NotPrincipal"), "NOT "));
    if let Some(ids) = identities {
        principals.extend(ids.iter().cloned());
    }
    principals.sort();
    principals.dedup();
    let mut actions = strings(s.get("Action"), "");
    actions.extend(strings(s.get("NotAction"), "NOT "));
    let mut resources = strings(s.get("Resource"), "");
    resources.extend(strings(s.get("NotResource"), "NOT "));
    if resources.is_empty() {
        resources.extend(default_resource.map(str::to_owned));
    }
    Statement {
        source: source.to_owned(),
        effect: s.get("Effect").map(compact).unwrap_or_default(),
        principals,
        actions,
        resources,
        condition: condition(s.get("Condition")),
    }
}

/// `"*"` → `*`; `{"AWS": [a, b]}` → `AWS:a`, `AWS:b`.
fn principals_of(v: Option<&Value>, prefix: &str) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Value::Object(m)) if super::intrinsics::intrinsic(m).is_none() => m
            .iter()
            .flat_map(|(kind, ids)| strings(Some(ids), &format!("{prefix}{kind}:")))
            .collect(),
        Some(other) => strings(Some(other), prefix),
    }
}

/// `{"StringEquals": {"k": ["v"]}}` → `StringEquals k: v`, one line per operator and key.
fn condition(v: Option<&Value>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Value::Object(ops)) if super::intrinsics::intrinsic(ops).is_none() => {
            let mut out = Vec::new();
            for (op, keys) in ops {
                match keys.as_object() {
                    Some(keys) if super::intrinsics::intrinsic(keys).is_none() => {
                        for (k, values) in keys {
                            out.push(format!(
                                "{op} {k}: {}",
                                strings(Some(values), "").join(", ")
                            ));
                        }
                    }
                    _ => out.push(format!("{op}: {}", compact(keys))),
                }
            }
            out.sort();
            out
        }
        Some(other) => vec![compact(other)],
    }
}

fn lambda_permission(props: &Value) -> SecurityDetail {
    let get = |k: &str| props.get(k).map(compact).unwrap_or_default();
    let condition = [
        "SourceArn",
        "SourceAccount",
        "PrincipalOrgID",
        "FunctionUrlAuthType",
        "EventSourceToken",
    ]
    .iter()
    .filter_map(|k| props.get(*k).map(|v| format!("{k}: {}", compact(v))))
    .collect();
    SecurityDetail::LambdaPermission(LambdaPermission {
        function: get("FunctionName"),
        action: get("Action"),
        principal: get("Principal"),
        condition,
    })
}

fn sg_rule(group: &str, direction: &str, rule: &Value) -> SecurityDetail {
    let get = |k: &str| rule.get(k).map(compact);
    let protocol = match get("IpProtocol").as_deref() {
        Some("-1") | None => "all".to_owned(),
        Some("6") => "tcp".to_owned(),
        Some("17") => "udp".to_owned(),
        Some("1") => "icmp".to_owned(),
        Some(p) => p.to_ascii_lowercase(),
    };
    let ports = match (get("FromPort"), get("ToPort")) {
        _ if protocol == "all" => "all".to_owned(),
        (None | Some(_), None) | (None, Some(_)) => "all".to_owned(),
        (Some(a), Some(b)) if a == "-1" && b == "-1" => "all".to_owned(),
        (Some(a), Some(b)) if a == b => a,
        (Some(a), Some(b)) => format!("{a}-{b}"),
    };
    let peers: BTreeMap<&str, &str> = BTreeMap::from([
        ("CidrIp", ""),
        ("CidrIpv6", ""),
        ("SourceSecurityGroupId", "sg "),
        ("SourceSecurityGroupName", "sg "),
        ("SourceSecurityGroupOwnerId", "account "),
        ("DestinationSecurityGroupId", "sg "),
        ("SourcePrefixListId", "prefix list "),
        ("DestinationPrefixListId", "prefix list "),
    ]);
    let peer: Vec<String> = peers
        .iter()
        .filter_map(|(k, label)| get(k).map(|v| format!("{label}{v}")))
        .collect();
    SecurityDetail::SecurityGroupRule(SecurityGroupRule {
        group: group.to_owned(),
        direction: direction.to_owned(),
        protocol,
        ports,
        peer: if peer.is_empty() {
            "(none)".to_owned()
        } else {
            peer.join(" ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn statement_of(doc: Value) -> Statement {
        let r = json!({"Type": "AWS::S3::BucketPolicy", "Properties": {"PolicyDocument": doc}});
        match rows("P", &r).into_iter().next() {
            Some(SecurityDetail::IamStatement(s)) => s,
            other => panic!("not a statement: {other:?}"),
        }
    }

    #[test]
    fn a_string_and_a_one_element_list_are_the_same_statement() {
        let a = statement_of(
            json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": {"AWS": "x"}}}),
        );
        let b = statement_of(
            json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"], "Principal": {"AWS": ["x"]}}]}),
        );
        assert_eq!(a, b);
        assert_eq!(a.principals, ["AWS:x"]);
    }

    #[test]
    fn conditions_render_one_line_per_operator_and_key() {
        let s = statement_of(
            json!({"Statement": {"Effect": "Deny", "Action": "s3:*", "Condition": {
                "Bool": {"aws:SecureTransport": "false"},
                "StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}
            }}}),
        );
        assert_eq!(
            s.condition,
            [
                "Bool aws:SecureTransport: false",
                "StringEquals aws:PrincipalAccount: ${AWS::AccountId}"
            ]
        );
    }

    #[test]
    fn a_narrower_replacement_statement_does_not_broaden() {
        let wide = statement_of(
            json!({"Statement": {"Effect": "Allow", "Action": ["a", "b"], "Resource": "*"}}),
        );
        let narrow =
            statement_of(json!({"Statement": {"Effect": "Allow", "Action": "a", "Resource": "*"}}));
        let removed = [SecurityDetail::IamStatement(wide.clone())];
        assert!(!addition_broadens(
            &SecurityDetail::IamStatement(narrow.clone()),
            &removed
        ));
        let removed = [SecurityDetail::IamStatement(narrow)];
        assert!(addition_broadens(
            &SecurityDetail::IamStatement(wide),
            &removed
        ));
    }

    #[test]
    fn security_group_rules_read_protocol_ports_and_peer() {
        let r = json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": [
            {"IpProtocol": "-1", "CidrIp": "10.0.0.0/8"},
            {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8451, "SourceSecurityGroupId": {"Fn::GetAtt": ["Sg", "GroupId"]}}
        ]}});
        let rows = rows("Sg", &r);
        let rules: Vec<_> = rows
            .iter()
            .filter_map(|r| match r {
                SecurityDetail::SecurityGroupRule(rule) => Some(format!(
                    "{} {} {} {}",
                    rule.direction, rule.protocol, rule.ports, rule.peer
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            rules,
            [
                "ingress all all 10.0.0.0/8",
                "ingress tcp 8443-8451 sg ${Sg.GroupId}"
            ]
        );
    }

    #[test]
    fn removing_a_deny_broadens_and_a_wider_rule_replacing_a_narrow_one_broadens() {
        let deny = statement_of(
            json!({"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Principal": "*"}}),
        );
        assert!(removal_broadens(&SecurityDetail::IamStatement(deny), &[]));
        let rule = |ports: &str| SecurityGroupRule {
            group: "g".into(),
            direction: "ingress".into(),
            protocol: "tcp".into(),
            ports: ports.into(),
            peer: "0.0.0.0/0".into(),
        };
        let narrow = [SecurityDetail::SecurityGroupRule(rule("443"))];
        assert!(addition_broadens(
            &SecurityDetail::SecurityGroupRule(rule("1-1000")),
            &narrow
        ));
        let wide = [SecurityDetail::SecurityGroupRule(rule("1-1000"))];
        assert!(!addition_broadens(
            &SecurityDetail::SecurityGroupRule(rule("443")),
            &wide
        ));
    }
}

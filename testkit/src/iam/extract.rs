//! Every policy document of a resolved template (see [`super::resolve`]), labelled and typed by
//! where it sits: role inline policies and trust policies, `AWS::IAM::Policy` and
//! `AWS::IAM::ManagedPolicy`, key policies, bucket policies, VPC endpoint policies and Lambda
//! permissions (as the one-statement resource policy Lambda builds from them).

use serde_json::{json, Value};

/// Which layer of an AWS authorization a policy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyKind {
    /// Attached to an IAM identity (inline, `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`).
    Identity,
    /// A role's `AssumeRolePolicyDocument`.
    Trust,
    /// An `AWS::S3::BucketPolicy`.
    Bucket,
    /// An `AWS::KMS::Key` key policy.
    Key,
    /// An `AWS::EC2::VPCEndpoint` policy.
    VpcEndpoint,
    /// An `AWS::Lambda::Permission`, as a resource policy statement on the function.
    LambdaPermission,
}

/// One policy document of a resolved template.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedPolicy {
    /// Human label: `CrossAccountRole policy databricks-customer-managed-vpc`,
    /// `CrossAccountRole trust`, `RootBucketPolicy`, `StorageKey key policy`, `S3Endpoint`, …
    pub label: String,
    /// The layer it is.
    pub kind: PolicyKind,
    /// The logical id of the resource that holds it.
    pub logical_id: String,
    /// What it governs: the role names it is attached to (identity) or of the role (trust), the
    /// bucket name (bucket), the key's logical id (key), the endpoint's service name (VPC
    /// endpoint), the function name or ARN (Lambda permission).
    pub targets: Vec<String>,
    /// The policy document, resolved (no intrinsics left).
    pub document: Value,
}

/// Every policy of a template resolved by [`super::resolve::resolve`], in logical-id order (a
/// role's trust policy before its inline policies). A key policy's target is the key's logical id.
pub fn policies(resolved: &Value) -> Vec<ExtractedPolicy> {
    let mut out = Vec::new();
    let Some(resources) = resolved.get("Resources").and_then(Value::as_object) else {
        return out;
    };
    for (id, r) in resources {
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or("");
        let props = r.get("Properties").cloned().unwrap_or(Value::Null);
        let mut push = |label: String, kind, targets: Vec<String>, document: Option<&Value>| {
            if let Some(document) = document {
                out.push(ExtractedPolicy {
                    label,
                    kind,
                    logical_id: id.clone(),
                    targets,
                    document: document.clone(),
                });
            }
        };
        match ty {
            "AWS::IAM::Role" => {
                let name = super::strings(props.get("RoleName"));
                let name = if name.is_empty() {
                    vec![id.clone()]
                } else {
                    name
                };
                push(
                    format!("{id} trust"),
                    PolicyKind::Trust,
                    name.clone(),
                    props.get("AssumeRolePolicyDocument"),
                );
                for (pname, document) in inline_policies(&props) {
                    push(
                        format!("{id} policy {pname}"),
                        PolicyKind::Identity,
                        name.clone(),
                        document,
                    );
                }
            }
            "AWS::IAM::User" | "AWS::IAM::Group" => {
                for (pname, document) in inline_policies(&props) {
                    push(
                        format!("{id} policy {pname}"),
                        PolicyKind::Identity,
                        vec![id.clone()],
                        document,
                    );
                }
            }
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => push(
                id.clone(),
                PolicyKind::Identity,
                super::strings(props.get("Roles")),
                props.get("PolicyDocument"),
            ),
            "AWS::KMS::Key" => push(
                format!("{id} key policy"),
                PolicyKind::Key,
                vec![id.clone()],
                props.get("KeyPolicy"),
            ),
            "AWS::S3::BucketPolicy" => push(
                id.clone(),
                PolicyKind::Bucket,
                super::strings(props.get("Bucket")),
                props.get("PolicyDocument"),
            ),
            "AWS::EC2::VPCEndpoint" => push(
                id.clone(),
                PolicyKind::VpcEndpoint,
                super::strings(props.get("ServiceName")),
                props.get("PolicyDocument"),
            ),
            "AWS::Lambda::Permission" => {
                let document = lambda_permission_document(&props);
                push(
                    id.clone(),
                    PolicyKind::LambdaPermission,
                    super::strings(props.get("FunctionName")),
                    Some(&document),
                )
            }
            _ => {}
        }
    }
    out
}

/// The identity policies attached to the role named `role_name` (inline and attached).
pub fn identity_policies_of<'p>(
    policies: &'p [ExtractedPolicy],
    role_name: &str,
) -> Vec<&'p ExtractedPolicy> {
    policies
        .iter()
        .filter(|p| p.kind == PolicyKind::Identity && p.targets.iter().any(|t| t == role_name))
        .collect()
}

/// The policy with this label, if any.
pub fn by_label<'p>(policies: &'p [ExtractedPolicy], label: &str) -> Option<&'p ExtractedPolicy> {
    policies.iter().find(|p| p.label == label)
}

/// The inline `Policies` of a role, user or group: each one's name (its index when unnamed)
/// and document.
fn inline_policies(props: &Value) -> Vec<(String, Option<&Value>)> {
    props
        .get("Policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            let name = p
                .get("PolicyName")
                .and_then(Value::as_str)
                .map_or_else(|| i.to_string(), str::to_owned);
            (name, p.get("PolicyDocument"))
        })
        .collect()
}

/// The statement Lambda adds to the function's resource policy for an `AWS::Lambda::Permission`
/// (Lambda developer guide, "Using resource-based policies for Lambda").
fn lambda_permission_document(props: &Value) -> Value {
    let principal = props.get("Principal").and_then(Value::as_str).unwrap_or("");
    let principal = if principal.ends_with(".amazonaws.com") {
        json!({"Service": principal})
    } else {
        json!({"AWS": principal})
    };
    let mut condition = serde_json::Map::new();
    if let Some(a) = props.get("SourceArn") {
        condition.insert("ArnLike".into(), json!({"AWS:SourceArn": a}));
    }
    if let Some(a) = props.get("SourceAccount") {
        condition.insert("StringEquals".into(), json!({"AWS:SourceAccount": a}));
    }
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": principal,
        "Action": props.get("Action").cloned().unwrap_or(Value::Null),
        "Resource": props.get("FunctionName").cloned().unwrap_or(Value::Null),
    });
    if !condition.is_empty() {
        statement["Condition"] = Value::Object(condition);
    }
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_kind_with_its_label() {
        let t = json!({"Resources": {
            "R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "p-r",
                "AssumeRolePolicyDocument": {"Statement": []},
                "Policies": [{"PolicyName": "inline", "PolicyDocument": {"Statement": []}}]}},
            "RPolicy": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": ["p-r"], "PolicyDocument": {"Statement": []}}},
            "K": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}}},
            "BP": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": "b", "PolicyDocument": {"Statement": []}}},
            "E": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"ServiceName": "com.amazonaws.eu-west-1.s3", "PolicyDocument": {"Statement": []}}},
            "G": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"ServiceName": "x"}},
            "L": {"Type": "AWS::Lambda::Permission", "Properties": {"FunctionName": "f", "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com", "SourceAccount": "111122223333"}}
        }});
        let got: Vec<(String, PolicyKind, Vec<String>)> = policies(&t)
            .into_iter()
            .map(|p| (p.label, p.kind, p.targets))
            .collect();
        let s = |x: &str| x.to_owned();
        assert_eq!(
            got,
            vec![
                (s("BP"), PolicyKind::Bucket, vec![s("b")]),
                (
                    s("E"),
                    PolicyKind::VpcEndpoint,
                    vec![s("com.amazonaws.eu-west-1.s3")]
                ),
                (s("K key policy"), PolicyKind::Key, vec![s("K")]),
                (s("L"), PolicyKind::LambdaPermission, vec![s("f")]),
                (s("R trust"), PolicyKind::Trust, vec![s("p-r")]),
                (s("R policy inline"), PolicyKind::Identity, vec![s("p-r")]),
                (s("RPolicy"), PolicyKind::Identity, vec![s("p-r")]),
            ],
            "one labelled policy per document; an endpoint without a policy has none"
        );
        let all = policies(&t);
        assert_eq!(
            identity_policies_of(&all, "p-r")
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>(),
            vec!["R policy inline", "RPolicy"],
            "a role's identity policies are its inline ones and those attached to it"
        );
    }
}

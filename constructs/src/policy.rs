//! IAM policy documents: typed statements (effect, principals, actions, resources, conditions)
//! and the condition helpers this project needs.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::error::ConstructError;
use crate::value::Expr;
use crate::{sub, Json, Pseudo, Value};

/// `Effect` of a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `Allow`
    Allow,
    /// `Deny`
    Deny,
}

/// A statement principal.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// `{"AWS": <arn or account>}`.
    Aws(Value<String>),
    /// `{"Service": "ec2.amazonaws.com"}`.
    Service(Value<String>),
    /// `{"Federated": ...}`.
    Federated(Value<String>),
    /// `"*"`: everyone. Only for `Deny` statements of resource policies (key policies refuse it).
    Everyone,
}

impl Principal {
    /// The stack's own account root (`arn:${Partition}:iam::${AccountId}:root`).
    pub fn account_root() -> Self {
        Principal::Aws(sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root").build())
    }

    /// Another account's root, by account id.
    pub fn account(account_id: &str) -> Self {
        Principal::Aws(sub(format!("arn:${{AWS::Partition}}:iam::{account_id}:root")).build())
    }

    /// An AWS service principal (`logs.amazonaws.com`).
    pub fn service(name: impl Into<Value<String>>) -> Self {
        Principal::Service(name.into())
    }

    fn kind(&self) -> &'static str {
        match self {
            Principal::Aws(_) | Principal::Everyone => "AWS",
            Principal::Service(_) => "Service",
            Principal::Federated(_) => "Federated",
        }
    }
}

/// Condition blocks: operator -> key -> values.
pub type Conditions = BTreeMap<String, BTreeMap<String, Vec<Value<String>>>>;

/// One condition (an operator, a key and its values), built with the helpers below.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The operator (`StringEquals`, `Bool`, `ArnLike`, …).
    pub operator: String,
    /// The condition key (`aws:SecureTransport`).
    pub key: String,
    /// The values; one value renders as a scalar.
    pub values: Vec<Value<String>>,
}

impl Condition {
    /// Any condition.
    pub fn new(operator: &str, key: &str, values: impl IntoIterator<Item = Value<String>>) -> Self {
        Condition {
            operator: operator.to_owned(),
            key: key.to_owned(),
            values: values.into_iter().collect(),
        }
    }

    /// `Bool aws:SecureTransport`: `secure_transport(false)` matches plain-HTTP requests.
    pub fn secure_transport(secure: bool) -> Self {
        Condition::new("Bool", "aws:SecureTransport", [secure.to_string().into()])
    }

    /// `StringEquals sts:ExternalId` (a cross-account trust's shared secret-less id).
    pub fn external_id(id: impl Into<Value<String>>) -> Self {
        Condition::new("StringEquals", "sts:ExternalId", [id.into()])
    }

    /// `StringEquals kms:ViaService`: the key is used only through these services
    /// (`ec2.${AWS::Region}.amazonaws.com`); pass service prefixes like `"ec2"`.
    pub fn kms_via_service<'a>(services: impl IntoIterator<Item = &'a str>) -> Self {
        Condition::new(
            "StringEquals",
            "kms:ViaService",
            services
                .into_iter()
                .map(|s| sub(format!("{s}.${{AWS::Region}}.amazonaws.com")).build()),
        )
    }

    /// `Bool kms:GrantIsForAWSResource: true`: grants only for AWS services acting for a caller.
    pub fn grant_is_for_aws_resource() -> Self {
        Condition::new("Bool", "kms:GrantIsForAWSResource", ["true".into()])
    }

    /// `StringEquals aws:PrincipalTag/<tag>`.
    pub fn principal_tag(tag: &str, value: impl Into<Value<String>>) -> Self {
        Condition::new(
            "StringEquals",
            &format!("aws:PrincipalTag/{tag}"),
            [value.into()],
        )
    }

    /// `StringEquals aws:SourceAccount` (confused-deputy protection for service principals).
    pub fn source_account(account: impl Into<Value<String>>) -> Self {
        Condition::new("StringEquals", "aws:SourceAccount", [account.into()])
    }

    /// `StringEquals aws:SourceAccount` = this stack's account.
    pub fn source_account_self() -> Self {
        Condition::source_account(Pseudo::AccountId.value())
    }

    /// `ArnLike aws:SourceArn` (confused-deputy protection for service principals).
    pub fn source_arn(arn: impl Into<Value<String>>) -> Self {
        Condition::new("ArnLike", "aws:SourceArn", [arn.into()])
    }
}

/// One policy statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// `Sid`. Default: none.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Principal` (resource policies only). Default: none.
    pub principals: Vec<Principal>,
    /// `Action`.
    pub actions: Vec<String>,
    /// `Resource`. Default: none (`*` must be written explicitly with [`Statement::any_resource`]).
    pub resources: Vec<Value<String>>,
    /// `NotResource`: every resource but these (a statement has `Resource` or `NotResource`,
    /// never both). Default: none.
    pub not_resources: Vec<Value<String>>,
    /// `Condition`.
    pub conditions: Vec<Condition>,
}

impl Statement {
    fn with(effect: Effect) -> Self {
        Statement {
            sid: None,
            effect,
            principals: Vec::new(),
            actions: Vec::new(),
            resources: Vec::new(),
            not_resources: Vec::new(),
            conditions: Vec::new(),
        }
    }

    /// An `Allow` statement.
    pub fn allow() -> Self {
        Statement::with(Effect::Allow)
    }

    /// A `Deny` statement.
    pub fn deny() -> Self {
        Statement::with(Effect::Deny)
    }

    /// Sets `Sid`.
    pub fn sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.to_owned());
        self
    }

    /// Adds a principal.
    pub fn principal(mut self, p: Principal) -> Self {
        self.principals.push(p);
        self
    }

    /// Adds actions.
    pub fn actions<'a>(mut self, actions: impl IntoIterator<Item = &'a str>) -> Self {
        self.actions.extend(actions.into_iter().map(str::to_owned));
        self
    }

    /// Adds resources.
    pub fn resources(mut self, resources: impl IntoIterator<Item = Value<String>>) -> Self {
        self.resources.extend(resources);
        self
    }

    /// Adds one resource.
    pub fn resource(mut self, resource: impl Into<Value<String>>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// `Resource: "*"`, explicitly (key policies, and actions that take no resource).
    pub fn any_resource(self) -> Self {
        self.resource("*")
    }

    /// Adds resources to `NotResource`: the statement applies to every resource but these.
    pub fn not_resources(mut self, resources: impl IntoIterator<Item = Value<String>>) -> Self {
        self.not_resources.extend(resources);
        self
    }

    /// Adds a condition.
    pub fn condition(mut self, c: Condition) -> Self {
        self.conditions.push(c);
        self
    }

    /// True when the statement allows `*` principals.
    pub fn allows_everyone(&self) -> bool {
        self.effect == Effect::Allow && self.principals.contains(&Principal::Everyone)
    }

    fn values(&self) -> impl Iterator<Item = &Value<String>> {
        let principals = self.principals.iter().filter_map(|p| match p {
            Principal::Aws(v) | Principal::Service(v) | Principal::Federated(v) => Some(v),
            Principal::Everyone => None,
        });
        principals
            .chain(&self.resources)
            .chain(&self.not_resources)
            .chain(self.conditions.iter().flat_map(|c| &c.values))
    }
}

/// One value as a scalar, several as a list (IAM's own convention).
struct OneOrList<'a, T: Serialize>(&'a [T]);

impl<T: Serialize> Serialize for OneOrList<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }
}

/// Written straight to JSON, keys in sorted order (as every map of a template).
impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("Action", &OneOrList(&self.actions))?;
        if !self.conditions.is_empty() {
            let mut ops: BTreeMap<&str, BTreeMap<&str, OneOrList<'_, Value<String>>>> =
                BTreeMap::new();
            for c in &self.conditions {
                ops.entry(c.operator.as_str())
                    .or_default()
                    .insert(c.key.as_str(), OneOrList(&c.values));
            }
            m.serialize_entry("Condition", &ops)?;
        }
        m.serialize_entry(
            "Effect",
            match self.effect {
                Effect::Allow => "Allow",
                Effect::Deny => "Deny",
            },
        )?;
        if !self.not_resources.is_empty() {
            m.serialize_entry("NotResource", &OneOrList(&self.not_resources))?;
        }
        if self.principals.contains(&Principal::Everyone) {
            m.serialize_entry("Principal", "*")?;
        } else if !self.principals.is_empty() {
            let mut by_kind: BTreeMap<&str, Vec<&Value<String>>> = BTreeMap::new();
            for p in &self.principals {
                if let Principal::Aws(v) | Principal::Service(v) | Principal::Federated(v) = p {
                    by_kind.entry(p.kind()).or_default().push(v);
                }
            }
            let principal: BTreeMap<&str, OneOrList<'_, &Value<String>>> = by_kind
                .iter()
                .map(|(k, vs)| (*k, OneOrList(vs.as_slice())))
                .collect();
            m.serialize_entry("Principal", &principal)?;
        }
        if !self.resources.is_empty() {
            m.serialize_entry("Resource", &OneOrList(&self.resources))?;
        }
        if let Some(sid) = &self.sid {
            m.serialize_entry("Sid", sid)?;
        }
        m.end()
    }
}

/// An IAM policy document (`Version: 2012-10-17`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyDocument {
    statements: Vec<Statement>,
}

impl PolicyDocument {
    /// An empty document.
    pub fn new() -> Self {
        PolicyDocument::default()
    }

    /// A document with the given statements.
    pub fn of(statements: impl IntoIterator<Item = Statement>) -> Self {
        PolicyDocument {
            statements: statements.into_iter().collect(),
        }
    }

    /// Appends a statement.
    pub fn add(&mut self, statement: Statement) {
        self.statements.push(statement);
    }

    /// The statements.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// True when there is no statement.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The document as a template value.
    pub fn to_value(&self) -> Value<Json> {
        Value::from_expr(Expr::Policy(Box::new(self.clone())))
    }

    /// True when no statement holds an intrinsic.
    pub(crate) fn is_literal(&self) -> bool {
        self.statements
            .iter()
            .all(|s| s.values().all(Value::is_literal))
    }
}

impl From<&PolicyDocument> for Value<Json> {
    fn from(d: &PolicyDocument) -> Self {
        d.to_value()
    }
}

impl From<PolicyDocument> for Value<Json> {
    fn from(d: PolicyDocument) -> Self {
        d.to_value()
    }
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("Statement", &self.statements)?;
        m.serialize_entry("Version", "2012-10-17")?;
        m.end()
    }
}

/// Appends a statement to a policy document value made by [`PolicyDocument::to_value`]. A
/// document that was replaced by hand through the L1 is not edited: the error says so rather
/// than dropping either side.
pub(crate) fn append_statement(
    doc: &mut Value<Json>,
    statement: &Statement,
    construct: &'static str,
    id: &str,
) -> Result<(), ConstructError> {
    if let Expr::Policy(d) = doc.expr_mut() {
        d.add(statement.clone());
        return Ok(());
    }
    Err(ConstructError::new(
        construct,
        id,
        "policy",
        "its policy document was replaced through the L1 resource; add the statement there",
    ))
}

/// What a grant added: the statements, for tests and reviews.
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a Grant lists the statements it added; assert on it or drop it explicitly"]
pub struct Grant {
    /// The statements added to the grantee's policy.
    pub statements: Vec<Statement>,
}

impl Grant {
    /// Every action the grant allows.
    pub fn actions(&self) -> Vec<&str> {
        self.statements
            .iter()
            .flat_map(|s| s.actions.iter().map(String::as_str))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statement_renders_scalars_for_single_values_and_lists_for_many() {
        let doc = PolicyDocument::of([Statement::allow()
            .sid("Read")
            .actions(["s3:GetObject"])
            .resource("arn:aws:s3:::b/*")]);
        assert_eq!(
            serde_json::to_value(&doc).unwrap(),
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
            ]})
        );
        let doc = PolicyDocument::of([Statement::deny()
            .actions(["s3:*", "kms:*"])
            .resources(["a".into(), "b".into()])]);
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(v["Statement"][0]["Action"], json!(["s3:*", "kms:*"]));
        assert_eq!(v["Statement"][0]["Resource"], json!(["a", "b"]));
        assert_eq!(v["Statement"][0]["Effect"], json!("Deny"));
    }

    #[test]
    fn principals_group_by_kind_and_everyone_is_a_star() {
        let s = Statement::allow()
            .principal(Principal::service("ec2.amazonaws.com"))
            .principal(Principal::account_root())
            .principal(Principal::service("lambda.amazonaws.com"))
            .actions(["sts:AssumeRole"]);
        let v = serde_json::to_value(PolicyDocument::of([s])).unwrap();
        assert_eq!(
            v["Statement"][0]["Principal"],
            json!({
                "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"},
                "Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]
            })
        );
        let deny = Statement::deny()
            .principal(Principal::Everyone)
            .actions(["s3:*"]);
        assert!(!deny.allows_everyone());
        let v = serde_json::to_value(PolicyDocument::of([deny])).unwrap();
        assert_eq!(v["Statement"][0]["Principal"], json!("*"));
        assert!(Statement::allow()
            .principal(Principal::Everyone)
            .allows_everyone());
    }

    #[test]
    fn condition_helpers_have_the_documented_keys() {
        let s = Statement::deny()
            .actions(["s3:*"])
            .condition(Condition::secure_transport(false))
            .condition(Condition::external_id("abc"))
            .condition(Condition::kms_via_service(["ec2"]))
            .condition(Condition::principal_tag("DatabricksAccountId", "id-1"))
            .condition(Condition::source_account_self())
            .condition(Condition::source_arn("arn:aws:logs:*"))
            .condition(Condition::grant_is_for_aws_resource());
        let v = serde_json::to_value(PolicyDocument::of([s])).unwrap();
        assert_eq!(
            v["Statement"][0]["Condition"],
            json!({
                "ArnLike": {"aws:SourceArn": "arn:aws:logs:*"},
                "Bool": {"aws:SecureTransport": "false", "kms:GrantIsForAWSResource": "true"},
                "StringEquals": {
                    "aws:PrincipalTag/DatabricksAccountId": "id-1",
                    "aws:SourceAccount": {"Ref": "AWS::AccountId"},
                    "kms:ViaService": {"Fn::Sub": "ec2.${AWS::Region}.amazonaws.com"},
                    "sts:ExternalId": "abc"
                }
            })
        );
    }

    #[test]
    fn not_resource_renders_as_a_list_of_excluded_resources() {
        let v = serde_json::to_value(PolicyDocument::of([Statement::allow()
            .sid("Other")
            .actions(["ec2:RunInstances"])
            .not_resources(["arn:aws:ec2:*:*:image/*".into(), "b".into()])]))
        .unwrap();
        assert_eq!(
            v["Statement"][0],
            json!({"Sid": "Other", "Effect": "Allow", "Action": "ec2:RunInstances", "NotResource": ["arn:aws:ec2:*:*:image/*", "b"]})
        );
    }

    #[test]
    fn account_principal_names_the_account() {
        let v = serde_json::to_value(PolicyDocument::of([Statement::allow()
            .principal(Principal::account("414351767826"))
            .actions(["sts:AssumeRole"])]))
        .unwrap();
        assert_eq!(
            v["Statement"][0]["Principal"]["AWS"],
            json!({"Fn::Sub": "arn:${AWS::Partition}:iam::414351767826:root"})
        );
    }
}

//! An IAM policy evaluator written from AWS's documentation, not from our policies:
//!
//! - single policy: "Policy evaluation logic" and "Determining whether a request is allowed or
//!   denied within an account" (docs.aws.amazon.com/IAM/latest/UserGuide/
//!   reference_policies_evaluation-logic.html): a matching `Deny` statement is an explicit deny,
//!   else a matching `Allow` allows, else the request is implicitly denied;
//! - layers ([`allowed`]): explicit deny in any layer wins; in one account an identity-based or a
//!   resource-based allow suffices; across accounts both must allow (…/
//!   reference_policies_evaluation-logic-cross-account.html); a VPC endpoint policy must allow too
//!   (docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html); a KMS key policy or
//!   a role trust policy must allow, directly or by delegating to the account, even in one
//!   account (docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html; "IAM role
//!   trust policies and KMS key policies are exceptions", reference_policies_evaluation-logic.html);
//! - elements: Action/NotAction (case-insensitive, `*` and `?`), Resource/NotResource (…/
//!   reference_policies_elements_resource.html: wildcards stay inside their colon-separated ARN
//!   segment, except a `*` that ends its segment, which may span colons; `*` spans `/`),
//!   Principal/NotPrincipal (…/reference_policies_elements_principal.html: an account principal
//!   delegates to the account's identity policies);
//! - conditions (…/reference_policies_elements_condition_operators.html and
//!   …/reference_policies_condition-single-vs-multi-valued-context-keys.html): AND across operators
//!   and keys, OR across values; a key missing from the request makes a positive operator false and
//!   a negated one (`…Not…`, `NotIpAddress`) true; `…IfExists` is true on a missing key;
//!   `ForAllValues:` is true on a missing or empty key, `ForAnyValue:` false;
//! - policy variables `${aws:…}` (and `${*}`, `${?}`, `${$}`) in Resource and condition values
//!   (…/reference_policies_variables.html): a variable whose key is missing matches nothing.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

use super::extract::{ExtractedPolicy, PolicyKind};

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's ARN: a user, a role, an assumed-role session
    /// (`arn:aws:sts::111122223333:assumed-role/name/session`), an account root; for a service
    /// principal, the service name.
    pub arn: String,
    /// The caller's account (empty for a service principal).
    pub account: String,
    /// The service principal (`logging.s3.amazonaws.com`), when a service calls.
    pub service: Option<String>,
}

impl Principal {
    /// An IAM principal by ARN; its account is the ARN's account field.
    pub fn aws(arn: &str) -> Principal {
        Principal {
            arn: arn.to_owned(),
            account: arn.split(':').nth(4).unwrap_or("").to_owned(),
            service: None,
        }
    }

    /// A session of role `role_name` in `account` (partition `aws`).
    pub fn assumed_role(account: &str, role_name: &str, session: &str) -> Principal {
        Principal::aws(&format!(
            "arn:aws:sts::{account}:assumed-role/{role_name}/{session}"
        ))
    }

    /// An AWS service principal such as `delivery.logs.amazonaws.com`.
    pub fn service(name: &str) -> Principal {
        Principal {
            arn: name.to_owned(),
            account: String::new(),
            service: Some(name.to_owned()),
        }
    }

    /// `aws:PrincipalArn`: the role ARN for an assumed-role session (path unknown, so `/`),
    /// else the caller's ARN. `None` for a service principal.
    pub fn principal_arn(&self) -> Option<String> {
        if self.service.is_some() {
            return None;
        }
        Some(match assumed_role_parts(&self.arn) {
            Some((partition, account, role)) => {
                format!("arn:{partition}:iam::{account}:role/{role}")
            }
            None => self.arn.clone(),
        })
    }
}

/// `(partition, account, role name)` of an assumed-role session ARN.
fn assumed_role_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sts" {
        return None;
    }
    let rest = parts[5].strip_prefix("assumed-role/")?;
    let role = rest.split('/').next()?;
    Some((parts[1], parts[4], role))
}

/// One request as AWS authorizes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The caller.
    pub principal: Principal,
    /// `service:Action`.
    pub action: String,
    /// The resource ARN (`*` for actions without resource-level permissions).
    pub resource: String,
    /// Request context: condition key → values. Keys compare case-insensitively.
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    /// A request with the keys AWS always sets for the principal: `aws:PrincipalArn` and
    /// `aws:PrincipalAccount` for an IAM principal, `aws:PrincipalServiceName` for a service.
    pub fn new(principal: Principal, action: &str, resource: &str) -> Request {
        let mut context = BTreeMap::new();
        if let Some(arn) = principal.principal_arn() {
            context.insert("aws:PrincipalArn".to_owned(), vec![arn]);
            context.insert(
                "aws:PrincipalAccount".to_owned(),
                vec![principal.account.clone()],
            );
        }
        if let Some(s) = &principal.service {
            context.insert("aws:PrincipalServiceName".to_owned(), vec![s.clone()]);
        }
        Request {
            principal,
            action: action.to_owned(),
            resource: resource.to_owned(),
            context,
        }
    }

    /// The same request with a single-valued context key set (replacing any value).
    pub fn with(self, key: &str, value: &str) -> Request {
        self.with_values(key, &[value])
    }

    /// The same request with a multivalued context key set (replacing any value).
    pub fn with_values(mut self, key: &str, values: &[&str]) -> Request {
        self.context.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self.context.insert(
            key.to_owned(),
            values.iter().map(|v| (*v).to_owned()).collect(),
        );
        self
    }

    /// The same request without a context key.
    pub fn without(mut self, key: &str) -> Request {
        self.context.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self
    }

    /// The values of a context key (case-insensitive), if present.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.context
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// A `Deny` statement matched.
    ExplicitDeny,
    /// No statement allowed it.
    ImplicitDeny,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
        })
    }
}

/// A policy document that is not valid IAM policy grammar, or uses what this evaluator does not
/// implement. Each variant names the policy label and the statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A condition operator that is not one of IAM's.
    #[error("{label} statement {statement}: unknown condition operator `{operator}`")]
    UnknownOperator {
        /// The policy.
        label: String,
        /// Sid or index.
        statement: String,
        /// The operator as written.
        operator: String,
    },
    /// Anything else malformed.
    #[error("{label} statement {statement}: {message}")]
    Invalid {
        /// The policy.
        label: String,
        /// Sid or index.
        statement: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalSpec {
    Everyone,
    Listed(Vec<(String, String)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(std::cmp::Ordering, bool),
    NumericEquals,
    Date(std::cmp::Ordering, bool),
    DateEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    Arn,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    op: Op,
    negated: bool,
    if_exists: bool,
    qualifier: Qualifier,
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    name: String,
    effect: Effect,
    actions: Vec<String>,
    not_action: bool,
    resources: Option<(Vec<String>, bool)>,
    principal: Option<(PrincipalSpec, bool)>,
    conditions: Vec<Condition>,
}

/// How a statement's Principal matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PrincipalMatch {
    No,
    /// Through an account principal: the account must also allow in its identity policies.
    Account,
    Direct,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    label: String,
    kind: Option<PolicyKind>,
    statements: Vec<Statement>,
}

/// One policy's evaluation of a request, with the statements that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision of this policy alone. An allow through an account principal counts as
    /// `Allow` here; [`allowed`] then also demands the account's identity allow.
    pub decision: Decision,
    /// True when every allowing statement matched only through an account principal.
    pub delegated: bool,
    /// The Sids (or `#index`) of the statements that matched with the deciding effect.
    pub statements: Vec<String>,
}

impl Policy {
    /// Parses a policy document (statement object or list, string-or-list elements).
    pub fn parse(label: &str, document: &Value) -> Result<Policy, PolicyError> {
        let err = |statement: &str, message: String| PolicyError::Invalid {
            label: label.to_owned(),
            statement: statement.to_owned(),
            message,
        };
        let raw = match document.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(o @ Value::Object(_)) => vec![o.clone()],
            _ => return Err(err("-", "no Statement".into())),
        };
        let mut statements = Vec::with_capacity(raw.len());
        for (i, s) in raw.iter().enumerate() {
            let obj = s
                .as_object()
                .ok_or_else(|| err(&format!("#{i}"), "not an object".into()))?;
            let name = obj
                .get("Sid")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{i}"));
            let e = |m: &str| err(&name, m.to_owned());
            for k in obj.keys() {
                if ![
                    "Sid",
                    "Effect",
                    "Principal",
                    "NotPrincipal",
                    "Action",
                    "NotAction",
                    "Resource",
                    "NotResource",
                    "Condition",
                ]
                .contains(&k.as_str())
                {
                    return Err(e(&format!("unknown element `{k}`")));
                }
            }
            let effect = match obj.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                other => return Err(e(&format!("Effect must be Allow or Deny, got {other:?}"))),
            };
            let (actions, not_action) = match (obj.get("Action"), obj.get("NotAction")) {
                (Some(a), None) => (string_list(a).ok_or_else(|| e("bad Action"))?, false),
                (None, Some(a)) => (string_list(a).ok_or_else(|| e("bad NotAction"))?, true),
                _ => return Err(e("exactly one of Action and NotAction")),
            };
            let resources = match (obj.get("Resource"), obj.get("NotResource")) {
                (Some(r), None) => Some((string_list(r).ok_or_else(|| e("bad Resource"))?, false)),
                (None, Some(r)) => {
                    Some((string_list(r).ok_or_else(|| e("bad NotResource"))?, true))
                }
                (None, None) => None,
                _ => return Err(e("both Resource and NotResource")),
            };
            let principal = match (obj.get("Principal"), obj.get("NotPrincipal")) {
                (Some(p), None) => {
                    Some((parse_principal(p).ok_or_else(|| e("bad Principal"))?, false))
                }
                (None, Some(p)) => Some((
                    parse_principal(p).ok_or_else(|| e("bad NotPrincipal"))?,
                    true,
                )),
                (None, None) => None,
                _ => return Err(e("both Principal and NotPrincipal")),
            };
            let mut conditions = Vec::new();
            if let Some(c) = obj.get("Condition") {
                let ops = c
                    .as_object()
                    .ok_or_else(|| e("Condition is not an object"))?;
                for (operator, keys) in ops {
                    let (op, negated, if_exists, qualifier) =
                        parse_operator(operator).ok_or_else(|| PolicyError::UnknownOperator {
                            label: label.to_owned(),
                            statement: name.clone(),
                            operator: operator.clone(),
                        })?;
                    let keys = keys
                        .as_object()
                        .ok_or_else(|| e(&format!("{operator} is not an object")))?;
                    for (key, values) in keys {
                        let values = string_list(values)
                            .ok_or_else(|| e(&format!("{operator} {key}: bad values")))?;
                        conditions.push(Condition {
                            op,
                            negated,
                            if_exists,
                            qualifier,
                            key: key.clone(),
                            values,
                        });
                    }
                }
            }
            statements.push(Statement {
                name,
                effect,
                actions,
                not_action,
                resources,
                principal,
                conditions,
            });
        }
        Ok(Policy {
            label: label.to_owned(),
            kind: None,
            statements,
        })
    }

    /// Parses an extracted policy, keeping its label and kind (a key policy then gets KMS's
    /// rule in [`allowed`]).
    pub fn from_extracted(p: &ExtractedPolicy) -> Result<Policy, PolicyError> {
        let mut policy = Policy::parse(&p.label, &p.document)?;
        policy.kind = Some(p.kind);
        Ok(policy)
    }

    /// The label given at parse time.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// This policy's decision alone.
    pub fn evaluate(&self, request: &Request) -> Decision {
        self.explain(request).decision
    }

    /// This policy's decision alone, with the statements that decided it.
    pub fn explain(&self, request: &Request) -> Evaluation {
        let mut denies = Vec::new();
        let mut direct = Vec::new();
        let mut delegated = Vec::new();
        for s in &self.statements {
            let m = s.matches(request);
            if m == PrincipalMatch::No {
                continue;
            }
            match (s.effect, m) {
                (Effect::Deny, _) => denies.push(s.name.clone()),
                (Effect::Allow, PrincipalMatch::Direct) => direct.push(s.name.clone()),
                (Effect::Allow, _) => delegated.push(s.name.clone()),
            }
        }
        if !denies.is_empty() {
            Evaluation {
                decision: Decision::ExplicitDeny,
                delegated: false,
                statements: denies,
            }
        } else if !direct.is_empty() {
            Evaluation {
                decision: Decision::Allow,
                delegated: false,
                statements: direct,
            }
        } else if !delegated.is_empty() {
            Evaluation {
                decision: Decision::Allow,
                delegated: true,
                statements: delegated,
            }
        } else {
            Evaluation {
                decision: Decision::ImplicitDeny,
                delegated: false,
                statements: Vec::new(),
            }
        }
    }
}

impl Statement {
    fn matches(&self, r: &Request) -> PrincipalMatch {
        let action = self
            .actions
            .iter()
            .any(|p| glob(&p.to_ascii_lowercase(), &r.action.to_ascii_lowercase()));
        if action == self.not_action {
            return PrincipalMatch::No;
        }
        if let Some((patterns, not)) = &self.resources {
            let hit = patterns.iter().any(|p| resource_matches(p, &r.resource, r));
            if hit == *not {
                return PrincipalMatch::No;
            }
        }
        let principal = match &self.principal {
            None => PrincipalMatch::Direct,
            Some((spec, false)) => principal_matches(spec, &r.principal),
            Some((spec, true)) => {
                if principal_matches(spec, &r.principal) == PrincipalMatch::No {
                    PrincipalMatch::Direct
                } else {
                    PrincipalMatch::No
                }
            }
        };
        if principal == PrincipalMatch::No {
            return PrincipalMatch::No;
        }
        if self.conditions.iter().all(|c| c.holds(r)) {
            principal
        } else {
            PrincipalMatch::No
        }
    }
}

/// Which statements decided, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The combined decision.
    pub decision: Decision,
    /// Why: the policy label and statements that decided, or what was missing.
    pub reason: String,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.decision, self.reason)
    }
}

/// The decision for a request crossing these layers: the caller's `identity` policies, the
/// resource's policy (bucket, key, trust, Lambda), the VPC endpoint's policy it passes through.
/// `same_account`: whether caller and resource are in one account. See the module docs for the
/// rules and their sources. A service principal has no identity policies: the resource policy
/// alone must allow it.
pub fn allowed(
    request: &Request,
    identity: &[&Policy],
    resource: Option<&Policy>,
    endpoint: Option<&Policy>,
    same_account: bool,
) -> Verdict {
    let layers: Vec<(&Policy, Evaluation)> = identity
        .iter()
        .copied()
        .chain(resource)
        .chain(endpoint)
        .map(|p| (p, p.explain(request)))
        .collect();
    let denies: Vec<String> = layers
        .iter()
        .filter(|(_, e)| e.decision == Decision::ExplicitDeny)
        .map(|(p, e)| format!("{} [{}]", p.label, e.statements.join(", ")))
        .collect();
    if !denies.is_empty() {
        return Verdict {
            decision: Decision::ExplicitDeny,
            reason: format!("explicit deny in {}", denies.join("; ")),
        };
    }
    let implicit = |reason: String| Verdict {
        decision: Decision::ImplicitDeny,
        reason,
    };
    if let Some(ep) = endpoint {
        if ep.evaluate(request) != Decision::Allow {
            return implicit(format!("endpoint policy {} does not allow", ep.label));
        }
    }
    let identity_allow: Vec<String> = identity
        .iter()
        .filter_map(|p| {
            let e = p.explain(request);
            (e.decision == Decision::Allow)
                .then(|| format!("{} [{}]", p.label, e.statements.join(", ")))
        })
        .collect();
    let res = resource.map(|p| (p, p.explain(request)));
    let res_allow = res
        .as_ref()
        .filter(|(_, e)| e.decision == Decision::Allow)
        .map(|(p, e)| {
            (
                format!("{} [{}]", p.label, e.statements.join(", ")),
                e.delegated,
            )
        });
    let identity_labels = identity
        .iter()
        .map(|p| p.label.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let allow = |reason: String| Verdict {
        decision: Decision::Allow,
        reason,
    };
    if request.principal.service.is_some() {
        return match res_allow {
            Some((why, false)) => allow(format!("service principal allowed by {why}")),
            _ => implicit(match resource {
                Some(p) => format!("{} does not allow the service principal", p.label),
                None => "a service principal needs a resource policy".into(),
            }),
        };
    }
    // Key policies and role trust policies must themselves allow, even in one account: "IAM
    // role trust policies and KMS key policies are exceptions to this logic, because they must
    // explicitly allow access for principals" (docs.aws.amazon.com/IAM/latest/UserGuide/
    // reference_policies_evaluation-logic.html, "Identity-based policies with resource-based
    // policies"). A trust policy naming the account delegates to its identity policies as a key
    // policy does (…/reference_policies_elements_principal.html, "AWS account principals").
    let must_allow =
        resource.is_some_and(|p| matches!(p.kind, Some(PolicyKind::Key) | Some(PolicyKind::Trust)));
    let id_ok = !identity_allow.is_empty();
    if must_allow {
        // No access unless the key (trust) policy allows, directly or by delegating to the
        // account (then the account's identity policies must allow too).
        return match res_allow {
            Some((why, false)) if same_account || id_ok => allow(format!("key/trust policy {why}")),
            Some((why, true)) if id_ok => allow(format!(
                "key/trust policy delegates ({why}) and identity allows ({})",
                identity_allow.join("; ")
            )),
            Some(_) => implicit(format!(
                "key/trust policy delegates to the account but no identity policy allows ({identity_labels})"
            )),
            None => implicit("the key/trust policy does not allow".into()),
        };
    }
    if same_account {
        if id_ok {
            return allow(format!("identity {}", identity_allow.join("; ")));
        }
        return match res_allow {
            Some((why, false)) => allow(format!("resource policy {why}")),
            _ => implicit(format!(
                "no identity policy ({identity_labels}) and no resource policy{} allows",
                resource
                    .map(|p| format!(" ({})", p.label))
                    .unwrap_or_default()
            )),
        };
    }
    match (id_ok, res_allow) {
        (true, Some((why, _))) => allow(format!(
            "identity {} and resource policy {why}",
            identity_allow.join("; ")
        )),
        (false, _) => implicit(format!(
            "cross-account: no identity policy ({identity_labels}) allows"
        )),
        (true, None) => implicit(format!(
            "cross-account: the resource policy{} does not allow",
            resource
                .map(|p| format!(" {}", p.label))
                .unwrap_or_default()
        )),
    }
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match v {
        Value::Array(a) => a.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

fn parse_principal(v: &Value) -> Option<PrincipalSpec> {
    match v {
        Value::String(s) if s == "*" => Some(PrincipalSpec::Everyone),
        Value::Object(m) => {
            let mut listed = Vec::new();
            for (k, v) in m {
                if !["AWS", "Service", "Federated", "CanonicalUser"].contains(&k.as_str()) {
                    return None;
                }
                for id in string_list(v)? {
                    if k == "AWS" && id == "*" {
                        return Some(PrincipalSpec::Everyone);
                    }
                    listed.push((k.clone(), id));
                }
            }
            Some(PrincipalSpec::Listed(listed))
        }
        _ => None,
    }
}

fn principal_matches(spec: &PrincipalSpec, p: &Principal) -> PrincipalMatch {
    let listed = match spec {
        PrincipalSpec::Everyone => return PrincipalMatch::Direct,
        PrincipalSpec::Listed(l) => l,
    };
    let mut best = PrincipalMatch::No;
    for (kind, id) in listed {
        let m = match kind.as_str() {
            "Service" => match &p.service {
                Some(s) if s.eq_ignore_ascii_case(id) => PrincipalMatch::Direct,
                _ => PrincipalMatch::No,
            },
            "AWS" if p.service.is_none() => aws_principal_matches(id, p),
            "Federated" | "CanonicalUser" if *id == p.arn => PrincipalMatch::Direct,
            _ => PrincipalMatch::No,
        };
        best = best.max(m);
    }
    best
}

fn aws_principal_matches(id: &str, p: &Principal) -> PrincipalMatch {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        return account_match(id, p);
    }
    let parts: Vec<&str> = id.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "iam" && parts[5] == "root" {
        return account_match(parts[4], p);
    }
    if id == p.arn {
        return PrincipalMatch::Direct;
    }
    // A role ARN (with any path) names every session of the role.
    if parts.len() == 6 && parts[2] == "iam" && parts[5].starts_with("role/") {
        if let Some((partition, account, role)) = assumed_role_parts(&p.arn) {
            let name = parts[5].rsplit('/').next().unwrap_or("");
            if partition == parts[1] && account == parts[4] && role == name {
                return PrincipalMatch::Direct;
            }
        }
    }
    PrincipalMatch::No
}

fn account_match(account: &str, p: &Principal) -> PrincipalMatch {
    if p.account != account {
        PrincipalMatch::No
    } else if p.arn.ends_with(":root") {
        PrincipalMatch::Direct
    } else {
        PrincipalMatch::Account
    }
}

fn parse_operator(name: &str) -> Option<(Op, bool, bool, Qualifier)> {
    let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (Qualifier::ForAnyValue, r)
    } else if let Some(r) = name.strip_prefix("ForAllValues:") {
        (Qualifier::ForAllValues, r)
    } else {
        (Qualifier::None, name)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    use std::cmp::Ordering::{Greater, Less};
    let (op, negated) = match base {
        "StringEquals" => (Op::StringEquals, false),
        "StringNotEquals" => (Op::StringEquals, true),
        "StringEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Op::StringEqualsIgnoreCase, true),
        "StringLike" => (Op::StringLike, false),
        "StringNotLike" => (Op::StringLike, true),
        "NumericEquals" => (Op::NumericEquals, false),
        "NumericNotEquals" => (Op::NumericEquals, true),
        "NumericLessThan" => (Op::Numeric(Less, false), false),
        "NumericLessThanEquals" => (Op::Numeric(Less, true), false),
        "NumericGreaterThan" => (Op::Numeric(Greater, false), false),
        "NumericGreaterThanEquals" => (Op::Numeric(Greater, true), false),
        "DateEquals" => (Op::DateEquals, false),
        "DateNotEquals" => (Op::DateEquals, true),
        "DateLessThan" => (Op::Date(Less, false), false),
        "DateLessThanEquals" => (Op::Date(Less, true), false),
        "DateGreaterThan" => (Op::Date(Greater, false), false),
        "DateGreaterThanEquals" => (Op::Date(Greater, true), false),
        "Bool" => (Op::Bool, false),
        "BinaryEquals" => (Op::BinaryEquals, false),
        "IpAddress" => (Op::IpAddress, false),
        "NotIpAddress" => (Op::IpAddress, true),
        "ArnEquals" | "ArnLike" => (Op::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Op::Arn, true),
        "Null" if !if_exists && qualifier == Qualifier::None => (Op::Null, false),
        _ => return None,
    };
    Some((op, negated, if_exists, qualifier))
}

impl Condition {
    fn holds(&self, r: &Request) -> bool {
        let present = r.get(&self.key).filter(|v| !v.is_empty());
        if self.op == Op::Null {
            return self
                .values
                .iter()
                .any(|v| match v.to_ascii_lowercase().as_str() {
                    "true" => present.is_none(),
                    "false" => present.is_some(),
                    _ => false,
                });
        }
        let Some(values) = present else {
            return match self.qualifier {
                Qualifier::ForAllValues => true,
                Qualifier::ForAnyValue => self.if_exists,
                Qualifier::None => self.if_exists || self.negated,
            };
        };
        // Policy values with their variables substituted; a value whose variable is missing
        // matches nothing.
        let policy: Vec<String> = self
            .values
            .iter()
            .filter_map(|v| substitute(v, r, self.op == Op::StringLike || self.op == Op::Arn))
            .collect();
        let positive = |v: &String| policy.iter().any(|p| self.op.matches(p, v));
        match (self.qualifier, self.negated) {
            (Qualifier::None, false) => values.iter().any(positive),
            (Qualifier::None, true) => !values.iter().any(positive),
            (Qualifier::ForAnyValue, false) => values.iter().any(positive),
            (Qualifier::ForAnyValue, true) => values.iter().any(|v| !positive(v)),
            (Qualifier::ForAllValues, false) => values.iter().all(positive),
            (Qualifier::ForAllValues, true) => values.iter().all(|v| !positive(v)),
        }
    }
}

impl Op {
    /// The positive form of the operator: does request value `v` match policy value `p`?
    fn matches(self, p: &str, v: &str) -> bool {
        match self {
            Op::StringEquals => p == v,
            Op::StringEqualsIgnoreCase => p.to_lowercase() == v.to_lowercase(),
            Op::StringLike => glob(p, v),
            Op::NumericEquals => matches!((num(p), num(v)), (Some(a), Some(b)) if a == b),
            Op::Numeric(ord, eq) => match (num(v), num(p)) {
                (Some(v), Some(p)) => v
                    .partial_cmp(&p)
                    .is_some_and(|o| o == ord || (eq && o.is_eq())),
                _ => false,
            },
            Op::DateEquals => matches!((date(p), date(v)), (Some(a), Some(b)) if a == b),
            Op::Date(ord, eq) => match (date(v), date(p)) {
                (Some(v), Some(p)) => {
                    let o = v.cmp(&p);
                    o == ord || (eq && o.is_eq())
                }
                _ => false,
            },
            Op::Bool => p.eq_ignore_ascii_case(v),
            Op::BinaryEquals => p == v,
            Op::IpAddress => ip_in(p, v),
            Op::Arn => arn_glob(p, v),
            Op::Null => false,
        }
    }
}

/// A pattern token: literal character, `?`, or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Star,
}

/// Substitutes policy variables. In a wildcard context the result keeps `*`/`?` as wildcards
/// and marks `${*}`/`${?}` as literals by escaping them with `\u{0}`; `None` when a variable's
/// key is missing.
fn substitute(p: &str, r: &Request, wildcards: bool) -> Option<String> {
    if !p.contains("${") {
        return Some(p.to_owned());
    }
    let mut out = String::new();
    let mut rest = p;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return Some(out);
        };
        let name = &after[..end];
        let value = match name {
            "*" | "?" | "$" => name.to_owned(),
            _ => {
                let (key, default) = match name.split_once(", '") {
                    Some((k, d)) => (k.trim(), d.strip_suffix('\'').map(str::to_owned)),
                    None => (name, None),
                };
                match r.get(key).and_then(|v| v.first()) {
                    Some(v) => v.clone(),
                    None => default?,
                }
            }
        };
        if wildcards {
            for c in value.chars() {
                if c == '*' || c == '?' {
                    out.push('\u{0}');
                }
                out.push(c);
            }
        } else {
            out.push_str(&value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn tokens(p: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\u{0}' => Tok::Lit(chars.next().unwrap_or('\u{0}')),
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
    }
    out
}

/// `*` any run, `?` any one character; everything else literal (case-sensitive).
fn glob(pattern: &str, value: &str) -> bool {
    let toks = tokens(pattern);
    let v: Vec<char> = value.chars().collect();
    glob_tokens(&toks, &v, |_, _| true, |_| true)
}

/// Glob with predicates deciding whether the star at token `i` may consume char `c`, and
/// whether `?` may.
fn glob_tokens(
    toks: &[Tok],
    v: &[char],
    star_may: impl Fn(usize, char) -> bool,
    one_may: impl Fn(char) -> bool,
) -> bool {
    // reach[j]: the first i tokens can match the first j chars.
    let mut reach = vec![false; v.len() + 1];
    reach[0] = true;
    for (i, t) in toks.iter().enumerate() {
        let mut next = vec![false; v.len() + 1];
        for j in 0..=v.len() {
            match t {
                Tok::Star => {
                    if reach[j] || (j > 0 && next[j - 1] && star_may(i, v[j - 1])) {
                        next[j] = true;
                    }
                }
                Tok::One => {
                    if j > 0 && reach[j - 1] && one_may(v[j - 1]) {
                        next[j] = true;
                    }
                }
                Tok::Lit(c) => {
                    if j > 0 && reach[j - 1] && v[j - 1] == *c {
                        next[j] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[v.len()]
}

/// ARN matching as the Resource element documents it: wildcards match within their
/// colon-separated segment, and may span `/`; a `*` that is the last character of its segment
/// may also span colons.
pub(crate) fn arn_glob(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let toks = tokens(pattern);
    let spans: Vec<bool> = (0..toks.len())
        .map(|i| matches!(toks.get(i + 1), None | Some(Tok::Lit(':'))))
        .collect();
    let v: Vec<char> = value.chars().collect();
    glob_tokens(&toks, &v, |i, c| c != ':' || spans[i], |c| c != ':')
}

fn resource_matches(pattern: &str, resource: &str, r: &Request) -> bool {
    match substitute(pattern, r, true) {
        Some(p) => arn_glob(&p, resource),
        None => false,
    }
}

fn num(s: &str) -> Option<f64> {
    s.trim().parse().ok()
}

/// Seconds since the epoch of an ISO 8601 date-time (`2020-04-01`, `2020-04-01T00:00:00Z`,
/// `…T00:00:00.123+02:00`) or of an epoch number.
fn date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<f64>() {
        return Some(n as i64);
    }
    let (d, t) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = d.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: i64 = dp.next()?.parse().ok()?;
    let day: i64 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut secs = days * 86_400;
    if let Some(t) = t {
        let (clock, offset) = if let Some(c) = t.strip_suffix('Z') {
            (c, 0)
        } else if let Some(i) = t.rfind(['+', '-']) {
            let (c, o) = t.split_at(i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':').unwrap_or((&o[1..], "0"));
            (
                c,
                sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60),
            )
        } else {
            (t, 0)
        };
        let mut cp = clock.split(':');
        let h: i64 = cp.next()?.parse().ok()?;
        let mi: i64 = cp.next().unwrap_or("0").parse().ok()?;
        let sec: f64 = cp.next().unwrap_or("0").parse().ok()?;
        secs += h * 3600 + mi * 60 + sec as i64 - offset;
    }
    Some(secs)
}

/// Whether address `v` is inside `p` (a CIDR block or a single address), IPv4 or IPv6.
fn ip_in(p: &str, v: &str) -> bool {
    let (net, len) = match p.split_once('/') {
        Some((n, l)) => (n, l.parse::<u32>().ok()),
        None => (p, None),
    };
    let (Ok(net), Ok(addr)) = (
        net.parse::<std::net::IpAddr>(),
        v.parse::<std::net::IpAddr>(),
    ) else {
        return false;
    };
    let (n, a, bits) = match (net, addr) {
        (std::net::IpAddr::V4(n), std::net::IpAddr::V4(a)) => (
            u128::from(u32::from(n)) << 96,
            u128::from(u32::from(a)) << 96,
            32,
        ),
        (std::net::IpAddr::V6(n), std::net::IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
        _ => return false,
    };
    let len = len.unwrap_or(bits);
    if len > bits {
        return false;
    }
    if len == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - len);
    (n & mask) == (a & mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(doc: Value) -> Policy {
        Policy::parse("test", &doc).unwrap_or_else(|e| panic!("parses: {e}"))
    }

    fn user() -> Principal {
        Principal::aws("arn:aws:iam::111122223333:user/alice")
    }

    /// One statement allowing `s3:GetObject` on everything under `condition`.
    fn allow_if(condition: Value) -> Policy {
        policy(
            json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "*", "Condition": condition}}),
        )
    }

    fn get() -> Request {
        Request::new(user(), "s3:GetObject", "arn:aws:s3:::b/k")
    }

    #[track_caller]
    fn check(p: &Policy, r: &Request, want: Decision, why: &str) {
        assert_eq!(p.evaluate(r), want, "{why}");
    }

    #[test]
    fn statement_normalisation_effect_and_default_deny() {
        let single = policy(
            json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}),
        );
        check(
            &single,
            &get(),
            Decision::Allow,
            "a single statement object",
        );
        let deny_wins = policy(json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}]}));
        check(
            &deny_wins,
            &get(),
            Decision::ExplicitDeny,
            "an explicit deny overrides an allow",
        );
        let other = policy(
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}),
        );
        check(
            &other,
            &get(),
            Decision::ImplicitDeny,
            "nothing allows: implicit deny",
        );
    }

    #[test]
    fn actions_are_case_insensitive_globs_and_not_action_inverts() {
        let p =
            policy(json!({"Statement": {"Effect": "Allow", "Action": "S3:get*", "Resource": "*"}}));
        check(
            &p,
            &get(),
            Decision::Allow,
            "action names ignore case, `*` matches a run",
        );
        let q = policy(
            json!({"Statement": {"Effect": "Allow", "Action": "s3:Get?bject", "Resource": "*"}}),
        );
        check(&q, &get(), Decision::Allow, "`?` matches one character");
        let not = policy(
            json!({"Statement": {"Effect": "Allow", "NotAction": "s3:Get*", "Resource": "*"}}),
        );
        check(
            &not,
            &get(),
            Decision::ImplicitDeny,
            "NotAction excludes the listed actions",
        );
        check(
            &not,
            &Request::new(user(), "s3:PutObject", "arn:aws:s3:::b/k"),
            Decision::Allow,
            "NotAction matches everything else",
        );
    }

    #[test]
    fn resource_wildcards_follow_the_arn_segments() {
        // reference_policies_elements_resource.html, "Using wildcards in resource ARNs".
        assert!(
            arn_glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c"),
            "`*` spans `/`"
        );
        assert!(
            !arn_glob(
                "arn:aws:ec2:eu-west-1:111122223333:image/*",
                "arn:aws:ec2:eu-west-1::image/ami-1"
            ),
            "an AMI ARN has an empty account field: a policy ARN with an account does not match it"
        );
        assert!(
            arn_glob(
                "arn:aws:ec2:eu-west-1::image/*",
                "arn:aws:ec2:eu-west-1::image/ami-1"
            ),
            "the empty-account form matches"
        );
        assert!(
            arn_glob(
                "arn:aws:ec2:*:*:image/*",
                "arn:aws:ec2:eu-west-1::image/ami-1"
            ),
            "`*` matches an empty segment"
        );
        assert!(
            !arn_glob(
                "arn:aws:ec2:eu-?est-1:1111?2223333:instance/*",
                "arn:aws:ec2:eu-west-1:111122223333:volume/v"
            ),
            "literal text must match"
        );
        assert!(
            arn_glob(
                "arn:aws:logs:eu-west-1:111122223333:log-group:/p/fn:*",
                "arn:aws:logs:eu-west-1:111122223333:log-group:/p/fn:log-stream:s"
            ),
            "a `*` that ends its segment may span colons"
        );
        assert!(
            !arn_glob(
                "arn:aws:iam::111122223333:role/a*b",
                "arn:aws:iam::111122223333:role/a:x:b"
            ),
            "a `*` inside a segment does not span colons"
        );
        assert!(
            !arn_glob("arn:aws:s3:::b", "arn:aws:s3:::b/k"),
            "no wildcard: the bucket ARN is not its objects"
        );
        assert!(
            !arn_glob("arn:aws:s3:::B/*", "arn:aws:s3:::b/k"),
            "ARNs are case-sensitive"
        );
        let not = policy(
            json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}}),
        );
        check(&not, &get(), Decision::Allow, "NotResource: anything else");
        check(
            &not,
            &Request::new(user(), "s3:GetObject", "arn:aws:s3:::secret/k"),
            Decision::ImplicitDeny,
            "NotResource excludes what it lists",
        );
    }

    #[test]
    fn policy_variables_in_resources_and_conditions() {
        // reference_policies_variables.html: home directories per user.
        let p = policy(
            json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/home/${aws:username}/*"}}),
        );
        let r = |k: &str| {
            Request::new(user(), "s3:GetObject", &format!("arn:aws:s3:::b/home/{k}"))
                .with("aws:username", "alice")
        };
        check(
            &p,
            &r("alice/x"),
            Decision::Allow,
            "the variable takes the request's value",
        );
        check(
            &p,
            &r("bob/x"),
            Decision::ImplicitDeny,
            "another user's folder",
        );
        check(
            &p,
            &Request::new(user(), "s3:GetObject", "arn:aws:s3:::b/home/alice/x"),
            Decision::ImplicitDeny,
            "a variable whose key is missing matches nothing",
        );
        let c =
            allow_if(json!({"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}));
        check(
            &c,
            &get().with("aws:ResourceAccount", "111122223333"),
            Decision::Allow,
            "variable in a condition value",
        );
        check(
            &c,
            &get().with("aws:ResourceAccount", "444455556666"),
            Decision::ImplicitDeny,
            "variable differs",
        );
        let lit = policy(
            json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${*}"}}),
        );
        check(
            &lit,
            &Request::new(user(), "s3:GetObject", "arn:aws:s3:::b/*"),
            Decision::Allow,
            "${*} is a literal star",
        );
        check(
            &lit,
            &get(),
            Decision::ImplicitDeny,
            "${*} is not a wildcard",
        );
    }

    #[test]
    fn string_operators() {
        let eq =
            allow_if(json!({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}));
        check(
            &eq,
            &get().with("aws:PrincipalTag/job-category", "iamuser-admin"),
            Decision::Allow,
            "StringEquals exact",
        );
        check(
            &eq,
            &get().with("aws:PrincipalTag/job-category", "IAMUSER-ADMIN"),
            Decision::ImplicitDeny,
            "StringEquals is case-sensitive",
        );
        check(
            &eq,
            &get(),
            Decision::ImplicitDeny,
            "documented: a missing key makes StringEquals false",
        );
        check(
            &eq,
            &get().with("AWS:PRINCIPALTAG/JOB-CATEGORY", "iamuser-admin"),
            Decision::Allow,
            "key names are case-insensitive",
        );
        let ne =
            allow_if(json!({"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}));
        check(
            &ne,
            &get().with("s3:x-amz-server-side-encryption", "AES256"),
            Decision::Allow,
            "StringNotEquals differs",
        );
        check(
            &ne,
            &get().with("s3:x-amz-server-side-encryption", "aws:kms"),
            Decision::ImplicitDeny,
            "StringNotEquals equal",
        );
        check(
            &ne,
            &get(),
            Decision::Allow,
            "documented: a negated operator on a missing key is true",
        );
        let ic = allow_if(json!({"StringEqualsIgnoreCase": {"aws:username": "ALICE"}}));
        check(
            &ic,
            &get().with("aws:username", "alice"),
            Decision::Allow,
            "IgnoreCase",
        );
        let nic = allow_if(json!({"StringNotEqualsIgnoreCase": {"aws:username": "ALICE"}}));
        check(
            &nic,
            &get().with("aws:username", "alice"),
            Decision::ImplicitDeny,
            "NotEqualsIgnoreCase",
        );
        let like = allow_if(json!({"StringLike": {"s3:prefix": ["home/*", "pub/?"]}}));
        check(
            &like,
            &get().with("s3:prefix", "home/alice/x"),
            Decision::Allow,
            "StringLike `*`",
        );
        check(
            &like,
            &get().with("s3:prefix", "pub/a"),
            Decision::Allow,
            "StringLike `?`, values OR",
        );
        check(
            &like,
            &get().with("s3:prefix", "pub/ab"),
            Decision::ImplicitDeny,
            "`?` is one character",
        );
        let nl = allow_if(json!({"StringNotLike": {"s3:prefix": "home/*"}}));
        check(
            &nl,
            &get(),
            Decision::Allow,
            "documented: StringNotLike on a missing key is true",
        );
        check(
            &nl,
            &get().with("s3:prefix", "home/x"),
            Decision::ImplicitDeny,
            "StringNotLike matching",
        );
    }

    #[test]
    fn and_across_keys_and_operators_or_across_values() {
        let p = allow_if(json!({
            "StringEquals": {"aws:RequestTag/Vendor": ["Databricks", "Other"], "ec2:Region": "eu-west-1"},
            "Bool": {"aws:SecureTransport": "true"}}));
        let all = get()
            .with("aws:RequestTag/Vendor", "Other")
            .with("ec2:Region", "eu-west-1")
            .with("aws:SecureTransport", "true");
        check(
            &p,
            &all,
            Decision::Allow,
            "every key of every operator holds, one value suffices",
        );
        check(
            &p,
            &all.clone().with("ec2:Region", "us-east-1"),
            Decision::ImplicitDeny,
            "keys are ANDed",
        );
        check(
            &p,
            &all.without("aws:SecureTransport"),
            Decision::ImplicitDeny,
            "operators are ANDed",
        );
    }

    #[test]
    fn bool_null_and_if_exists() {
        // The documented deny of plain HTTP.
        let tls = policy(json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}));
        check(
            &tls,
            &get().with("aws:SecureTransport", "false"),
            Decision::ExplicitDeny,
            "HTTP is denied",
        );
        check(
            &tls,
            &get().with("aws:SecureTransport", "true"),
            Decision::Allow,
            "HTTPS is not",
        );
        check(
            &tls,
            &get(),
            Decision::Allow,
            "Bool on a missing key is false: no deny",
        );
        let b = allow_if(json!({"Bool": {"aws:MultiFactorAuthPresent": true}}));
        check(
            &b,
            &get().with("aws:MultiFactorAuthPresent", "TRUE"),
            Decision::Allow,
            "Bool ignores case, JSON true",
        );
        // Documented: Null "true" means the key is absent (long-term credentials).
        let null = allow_if(json!({"Null": {"aws:TokenIssueTime": "true"}}));
        check(&null, &get(), Decision::Allow, "Null true: absent");
        check(
            &null,
            &get().with("aws:TokenIssueTime", "2020-01-01T00:00:00Z"),
            Decision::ImplicitDeny,
            "Null true: present",
        );
        let present = allow_if(json!({"Null": {"aws:TokenIssueTime": "false"}}));
        check(
            &present,
            &get().with("aws:TokenIssueTime", "x"),
            Decision::Allow,
            "Null false: present",
        );
        // Documented: StringLikeIfExists on ec2:InstanceType.
        let ie = allow_if(json!({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]}}));
        check(
            &ie,
            &get(),
            Decision::Allow,
            "IfExists: a missing key is true",
        );
        check(
            &ie,
            &get().with("ec2:InstanceType", "t2.micro"),
            Decision::Allow,
            "IfExists: present and matching",
        );
        check(
            &ie,
            &get().with("ec2:InstanceType", "m5.large"),
            Decision::ImplicitDeny,
            "IfExists: present, not matching",
        );
        let nie = allow_if(
            json!({"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "k1"}}),
        );
        check(
            &nie,
            &get(),
            Decision::Allow,
            "negated IfExists on a missing key",
        );
        check(
            &nie,
            &get().with("s3:x-amz-server-side-encryption-aws-kms-key-id", "k1"),
            Decision::ImplicitDeny,
            "negated IfExists equal",
        );
    }

    #[test]
    fn set_qualifiers() {
        // reference_policies_condition-single-vs-multi-valued-context-keys.html
        let all =
            allow_if(json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["Vendor", "Name"]}}));
        check(
            &all,
            &get().with_values("aws:TagKeys", &["Vendor"]),
            Decision::Allow,
            "ForAllValues: every value listed",
        );
        check(
            &all,
            &get().with_values("aws:TagKeys", &["Vendor", "Other"]),
            Decision::ImplicitDeny,
            "ForAllValues: one not listed",
        );
        check(
            &all,
            &get(),
            Decision::Allow,
            "documented: ForAllValues on a missing key is true",
        );
        check(
            &all,
            &get().with_values("aws:TagKeys", &[]),
            Decision::Allow,
            "ForAllValues on an empty set is true",
        );
        let any = allow_if(json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["Vendor"]}}));
        check(
            &any,
            &get().with_values("aws:TagKeys", &["Name", "Vendor"]),
            Decision::Allow,
            "ForAnyValue: one listed",
        );
        check(
            &any,
            &get().with_values("aws:TagKeys", &["Name"]),
            Decision::ImplicitDeny,
            "ForAnyValue: none listed",
        );
        check(
            &any,
            &get(),
            Decision::ImplicitDeny,
            "ForAnyValue on a missing key is false",
        );
        let any_ie =
            allow_if(json!({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["Vendor"]}}));
        check(
            &any_ie,
            &get(),
            Decision::Allow,
            "ForAnyValue…IfExists on a missing key is true",
        );
        let all_not = allow_if(json!({"ForAllValues:StringNotLike": {"aws:TagKeys": ["aws:*"]}}));
        check(
            &all_not,
            &get().with_values("aws:TagKeys", &["Vendor", "Name"]),
            Decision::Allow,
            "ForAllValues negated: none matches",
        );
        check(
            &all_not,
            &get().with_values("aws:TagKeys", &["Vendor", "aws:x"]),
            Decision::ImplicitDeny,
            "ForAllValues negated: one matches",
        );
        let any_not = allow_if(json!({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["Vendor"]}}));
        check(
            &any_not,
            &get().with_values("aws:TagKeys", &["Vendor"]),
            Decision::ImplicitDeny,
            "ForAnyValue negated: all equal",
        );
        check(
            &any_not,
            &get().with_values("aws:TagKeys", &["Vendor", "X"]),
            Decision::Allow,
            "ForAnyValue negated: one differs",
        );
    }

    #[test]
    fn numeric_date_ip_arn_binary_operators() {
        let n = allow_if(json!({"NumericLessThanEquals": {"s3:max-keys": "10"}}));
        check(
            &n,
            &get().with("s3:max-keys", "10"),
            Decision::Allow,
            "documented s3:max-keys ≤ 10",
        );
        check(
            &n,
            &get().with("s3:max-keys", "11"),
            Decision::ImplicitDeny,
            "11 > 10",
        );
        check(
            &n,
            &get().with("s3:max-keys", "ten"),
            Decision::ImplicitDeny,
            "not a number",
        );
        check(&n, &get(), Decision::ImplicitDeny, "missing: false");
        let ne = allow_if(json!({"NumericNotEquals": {"s3:max-keys": 10}}));
        check(
            &ne,
            &get().with("s3:max-keys", "10.0"),
            Decision::ImplicitDeny,
            "numbers compare by value",
        );
        let gt = allow_if(json!({"NumericGreaterThan": {"s3:max-keys": "10"}}));
        check(
            &gt,
            &get().with("s3:max-keys", "11"),
            Decision::Allow,
            "11 > 10",
        );
        let d = allow_if(json!({"DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"}}));
        check(
            &d,
            &get().with("aws:CurrentTime", "2020-04-01T00:00:01Z"),
            Decision::Allow,
            "one second later",
        );
        check(
            &d,
            &get().with("aws:CurrentTime", "2020-04-01T02:00:00+02:00"),
            Decision::ImplicitDeny,
            "same instant with an offset",
        );
        check(
            &d,
            &get().with("aws:CurrentTime", "1585699201"),
            Decision::Allow,
            "epoch seconds",
        );
        let dl = allow_if(json!({"DateLessThanEquals": {"aws:CurrentTime": "2020-04-01"}}));
        check(
            &dl,
            &get().with("aws:CurrentTime", "2020-03-31T23:59:59Z"),
            Decision::Allow,
            "date only",
        );
        let ip = allow_if(
            json!({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}),
        );
        check(
            &ip,
            &get().with("aws:SourceIp", "203.0.113.7"),
            Decision::Allow,
            "documented 203.0.113.0/24",
        );
        check(
            &ip,
            &get().with("aws:SourceIp", "2001:db8:1234:5678::1"),
            Decision::Allow,
            "IPv6 block",
        );
        check(
            &ip,
            &get().with("aws:SourceIp", "198.51.100.1"),
            Decision::ImplicitDeny,
            "outside",
        );
        let nip = allow_if(json!({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}));
        check(
            &nip,
            &get().with("aws:SourceIp", "198.51.100.1"),
            Decision::Allow,
            "NotIpAddress outside",
        );
        check(
            &nip,
            &get(),
            Decision::Allow,
            "NotIpAddress on a missing key is true",
        );
        let arn = allow_if(json!({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::b*"}}));
        check(
            &arn,
            &get().with("aws:SourceArn", "arn:aws:s3:::bucket"),
            Decision::Allow,
            "ArnLike",
        );
        let arn_eq =
            allow_if(json!({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:topic"}}));
        check(
            &arn_eq,
            &get().with("aws:SourceArn", "arn:aws:sns:eu-west-1:123456789012:topic"),
            Decision::Allow,
            "ArnEquals takes wildcards per segment",
        );
        check(
            &arn_eq,
            &get().with("aws:SourceArn", "arn:aws:sns:eu-west-1:444455556666:topic"),
            Decision::ImplicitDeny,
            "another account",
        );
        let arn_not = allow_if(json!({"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::b*"}}));
        check(
            &arn_not,
            &get(),
            Decision::Allow,
            "documented: ArnNotLike on a missing key is true",
        );
        let bin = allow_if(json!({"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}));
        check(
            &bin,
            &get().with("key", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="),
            Decision::Allow,
            "BinaryEquals",
        );
    }

    #[test]
    fn unknown_operators_and_elements_are_errors() {
        let e = Policy::parse(
            "p",
            &json!({"Statement": {"Sid": "S", "Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringEqualz": {"a": "b"}}}}),
        );
        assert_eq!(
            e,
            Err(PolicyError::UnknownOperator {
                label: "p".into(),
                statement: "S".into(),
                operator: "StringEqualz".into()
            }),
            "an unknown operator is an error naming it"
        );
        assert!(
            Policy::parse(
                "p",
                &json!({"Statement": {"Effect": "Allow", "Action": "*", "Resources": "*"}})
            )
            .is_err(),
            "an unknown element (a typo) is an error"
        );
        assert!(
            Policy::parse(
                "p",
                &json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": {"NullIfExists": {"a": "true"}}}})
            )
            .is_err(),
            "Null takes no IfExists"
        );
    }

    #[test]
    fn principals() {
        let p = |spec: Value| {
            policy(
                json!({"Statement": {"Effect": "Allow", "Principal": spec, "Action": "s3:GetObject", "Resource": "*"}}),
            )
        };
        let session = Principal::assumed_role("111122223333", "data", "s1");
        let r = Request::new(session.clone(), "s3:GetObject", "arn:aws:s3:::b/k");
        assert_eq!(
            r.get("aws:PrincipalArn"),
            Some(&["arn:aws:iam::111122223333:role/data".to_owned()][..]),
            "aws:PrincipalArn of a session is its role ARN"
        );
        let e = p(json!({"AWS": "arn:aws:iam::111122223333:role/team/data"})).explain(&r);
        assert_eq!(
            (e.decision, e.delegated),
            (Decision::Allow, false),
            "a role ARN (with path) names its sessions"
        );
        let e = p(json!({"AWS": "111122223333"})).explain(&r);
        assert_eq!(
            (e.decision, e.delegated),
            (Decision::Allow, true),
            "an account principal delegates"
        );
        let e = p(json!({"AWS": "arn:aws:iam::111122223333:root"})).explain(&r);
        assert_eq!(
            (e.decision, e.delegated),
            (Decision::Allow, true),
            "the root ARN is the account"
        );
        check(
            &p(json!({"AWS": "arn:aws:iam::444455556666:root"})),
            &r,
            Decision::ImplicitDeny,
            "another account",
        );
        check(&p(json!("*")), &r, Decision::Allow, "Principal *");
        check(&p(json!({"AWS": ["*"]})), &r, Decision::Allow, "AWS *");
        check(
            &p(json!({"Service": "ec2.amazonaws.com"})),
            &r,
            Decision::ImplicitDeny,
            "not a service",
        );
        let svc = Request::new(
            Principal::service("ec2.amazonaws.com"),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
        );
        check(
            &p(json!({"Service": ["ec2.amazonaws.com"]})),
            &svc,
            Decision::Allow,
            "service principal",
        );
        check(
            &p(json!({"AWS": "111122223333"})),
            &svc,
            Decision::ImplicitDeny,
            "a service is no account's principal",
        );
        let not = policy(
            json!({"Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/data"}, "Action": "*", "Resource": "*"}}),
        );
        check(
            &not,
            &r,
            Decision::ImplicitDeny,
            "NotPrincipal excludes the role's sessions",
        );
        check(
            &not,
            &get(),
            Decision::ExplicitDeny,
            "NotPrincipal applies to everyone else",
        );
    }

    #[test]
    fn layers_combine_as_documented() {
        let allow_all =
            policy(json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}));
        let deny_get = policy(
            json!({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}),
        );
        let grant_alice = policy(
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}, "Action": "s3:*", "Resource": "*"}}),
        );
        let grant_account = policy(
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"}}),
        );
        let none: [&Policy; 0] = [];
        let r = get();
        assert_eq!(
            allowed(&r, &[&allow_all], Some(&deny_get), None, true).decision,
            Decision::ExplicitDeny,
            "an explicit deny in any layer wins"
        );
        assert_eq!(
            allowed(&r, &none, Some(&grant_alice), None, true).decision,
            Decision::Allow,
            "same account: a resource policy naming the principal suffices"
        );
        assert_eq!(
            allowed(&r, &none, Some(&grant_account), None, true).decision,
            Decision::ImplicitDeny,
            "same account: an account principal delegates to identity policies"
        );
        assert_eq!(
            allowed(&r, &[&allow_all], None, None, true).decision,
            Decision::Allow,
            "same account: identity suffices"
        );
        assert_eq!(
            allowed(&r, &[&allow_all], None, None, false).decision,
            Decision::ImplicitDeny,
            "cross account: identity alone does not"
        );
        assert_eq!(
            allowed(&r, &none, Some(&grant_alice), None, false).decision,
            Decision::ImplicitDeny,
            "cross account: resource alone does not"
        );
        assert_eq!(
            allowed(&r, &[&allow_all], Some(&grant_account), None, false).decision,
            Decision::Allow,
            "cross account: both"
        );
        let ep_other = policy(
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "*"}}),
        );
        assert_eq!(
            allowed(&r, &[&allow_all], None, Some(&ep_other), true).decision,
            Decision::ImplicitDeny,
            "the endpoint policy must allow too"
        );
        let mut key = grant_account.clone();
        key.kind = Some(PolicyKind::Key);
        assert_eq!(
            allowed(&r, &none, Some(&key), None, true).decision,
            Decision::ImplicitDeny,
            "KMS: a key policy delegating to the account needs an identity allow"
        );
        assert_eq!(
            allowed(&r, &[&allow_all], Some(&key), None, true).decision,
            Decision::Allow,
            "KMS: key policy delegates and identity allows"
        );
        let mut trust = policy(
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole", "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/only"}}}}),
        );
        trust.kind = Some(PolicyKind::Trust);
        let assume = |who: &str| {
            Request::new(
                Principal::aws(who),
                "sts:AssumeRole",
                "arn:aws:iam::111122223333:role/target",
            )
        };
        assert_eq!(
            allowed(&assume("arn:aws:iam::111122223333:role/admin"), &[&allow_all], Some(&trust), None, true).decision,
            Decision::ImplicitDeny,
            "trust: an identity allow in the same account does not suffice when the trust policy does not allow"
        );
        assert_eq!(
            allowed(
                &assume("arn:aws:iam::111122223333:role/only"),
                &[&allow_all],
                Some(&trust),
                None,
                true
            )
            .decision,
            Decision::Allow,
            "trust: the trust policy delegates to the account and the identity allows"
        );
        assert_eq!(
            allowed(
                &assume("arn:aws:iam::111122223333:role/only"),
                &none,
                Some(&trust),
                None,
                true
            )
            .decision,
            Decision::ImplicitDeny,
            "trust: delegation to the account needs an identity allow"
        );
        let no_key = policy(
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "kms:*", "Resource": "*"}}),
        );
        let mut no_key = no_key;
        no_key.kind = Some(PolicyKind::Key);
        assert_eq!(
            allowed(&r, &[&allow_all], Some(&no_key), None, true).decision,
            Decision::ImplicitDeny,
            "KMS: identity alone never suffices"
        );
        let svc = Request::new(
            Principal::service("logging.s3.amazonaws.com"),
            "s3:PutObject",
            "arn:aws:s3:::b/k",
        );
        let grant_svc = policy(
            json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "*"}}),
        );
        assert_eq!(
            allowed(&svc, &none, Some(&grant_svc), None, false).decision,
            Decision::Allow,
            "a service principal needs the resource policy"
        );
        assert_eq!(
            allowed(&svc, &none, None, None, false).decision,
            Decision::ImplicitDeny,
            "and has nothing else"
        );
    }

    #[test]
    fn date_parsing() {
        assert_eq!(date("1970-01-01T00:00:00Z"), Some(0), "epoch");
        assert_eq!(
            date("2020-04-01T00:00:00Z"),
            Some(1_585_699_200),
            "a known instant"
        );
        assert_eq!(
            date("2020-04-01"),
            Some(1_585_699_200),
            "date only is midnight UTC"
        );
        assert_eq!(date("not a date"), None, "garbage");
    }
}

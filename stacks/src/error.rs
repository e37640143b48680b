//! The problems of a config and how they read: [`ConfigError`] (path, value, rule),
//! [`ConfigErrors`] (all of them), and the helpers both [`load`](crate::load) and
//! [`validate`](crate::validate) write them with: field paths, "did you mean" and prose lists.

use std::fmt;

/// One problem of a config: where, what value, which rule (and the fix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field path (`network.private_subnets[2]`); empty for the whole document.
    pub path: String,
    /// The offending value as written (may be empty when the value is missing).
    pub value: String,
    /// The rule it breaks and how to fix it.
    pub rule: String,
}

impl ConfigError {
    /// A problem at `path` with `value` breaking `rule`.
    pub fn new(path: impl Into<String>, value: impl Into<String>, rule: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            value: value.into(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(config)"
        } else {
            &self.path
        };
        if self.value.is_empty() {
            write!(f, "{path}: {}", self.rule)
        } else {
            write!(f, "{path}: `{}`: {}", self.value, self.rule)
        }
    }
}

/// Every problem of a config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// One problem.
    pub fn one(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the config has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The path of field `key` under `parent`: `parent.key`, or `parent["odd key"]` when the key is
/// not a plain name.
pub fn field_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (plain, parent.is_empty()) {
        (true, true) => key.to_owned(),
        (true, false) => format!("{parent}.{key}"),
        (false, _) => format!("{parent}[{key:?}]"),
    }
}

/// The path of item `index` under `parent`: `parent[index]`.
pub fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// The closest of `candidates` to `word` (ignoring case), if close enough to suggest and closer
/// than every other (`eu-west-1d` is as close to `eu-west-1a` as to `eu-west-1b`: no
/// suggestion).
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    let mut tied = false;
    for c in candidates {
        let score = strsim::jaro_winkler(&lower, &c.to_lowercase());
        if score < 0.8 {
            continue;
        }
        match best {
            Some((b, name)) if b > score || name == c => {}
            Some((b, _)) if b == score => tied = true,
            _ => {
                best = Some((score, c));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(_, c)| c)
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    join_last(items, " and ")
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list(items: &[String]) -> String {
    join_last(items, " or ")
}

/// Each item in backticks: `` `a` ``.
pub fn quoted<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    items.into_iter().map(|i| format!("`{i}`")).collect()
}

fn join_last(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{}{last}{tail}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_odd_keys() {
        assert_eq!(field_path("", "prefix"), "prefix");
        assert_eq!(field_path("tags", "cost-center"), "tags.cost-center");
        assert_eq!(field_path("tags", "a.b"), "tags[\"a.b\"]");
        assert_eq!(index_path("network.azs", 2), "network.azs[2]");
    }

    #[test]
    fn suggestions_need_to_be_close() {
        assert_eq!(suggest("regoin", ["prefix", "region"]), Some("region"));
        assert_eq!(suggest("zzz", ["prefix", "region"]), None);
        assert_eq!(
            suggest("EU-WEST-1B", ["eu-west-1a", "eu-west-1b"]),
            Some("eu-west-1b")
        );
        assert_eq!(suggest("eu-west-1d", ["eu-west-1a", "eu-west-1b"]), None);
    }

    #[test]
    fn lists_read_as_prose() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(or_list(&l(&["a"])), "a");
        assert_eq!(or_list(&l(&["a", "b", "c"])), "a, b or c");
        assert_eq!(and_list(&l(&["a", "b"])), "a and b");
        assert_eq!(quoted(["a", "b"]), ["`a`", "`b`"]);
    }

    #[test]
    fn errors_read_as_path_value_rule() {
        assert_eq!(
            ConfigError::new("region", "x", "bad").to_string(),
            "region: `x`: bad"
        );
        assert_eq!(
            ConfigError::new("", "", "empty").to_string(),
            "(config): empty"
        );
        let all = ConfigErrors(vec![ConfigError::new("a", "", "r")]);
        assert_eq!(all.to_string(), "the config has 1 problem:\n  - a: r\n");
    }
}

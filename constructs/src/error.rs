//! Errors of synth and of construct props.

use std::fmt;

/// One problem found by [`Stack::synth`](crate::Stack::synth). Synth reports all of them at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// Two resources or parameters (or two conditions, outputs, mappings) share a logical ID.
    #[error("stack `{stack}`: {what} logical id `{id}` is used twice; give each one its own id")]
    DuplicateId {
        /// The stack.
        stack: String,
        /// What kind of entry (`resource or parameter`, `condition`, `output`, `mapping`).
        what: &'static str,
        /// The repeated id.
        id: String,
    },
    /// A logical ID outside CloudFormation's charset or length.
    #[error(
        "stack `{stack}`: logical id `{id}` is invalid: use 1 to 255 ASCII letters and digits only"
    )]
    InvalidId {
        /// The stack.
        stack: String,
        /// The id.
        id: String,
    },
    /// A stack name CloudFormation would refuse.
    #[error("stack name `{name}` is invalid: start with a letter, then letters, digits and hyphens, 128 characters at most")]
    InvalidStackName {
        /// The name.
        name: String,
    },
    /// Two stacks of one app share a name.
    #[error("stack name `{name}` is used by two stacks of the app")]
    DuplicateStack {
        /// The name.
        name: String,
    },
    /// A handle of one stack used in another.
    #[error("stack `{stack}`: `{user}` uses {kind} `{id}` of stack `{other}`; a handle only works in the stack that made it (export an output there and use Fn::ImportValue here)")]
    ForeignReference {
        /// The stack being synthesized.
        stack: String,
        /// Where the reference sits (a resource id, `output X`, `condition X`).
        user: String,
        /// `resource`, `parameter`, `condition` or `mapping`.
        kind: &'static str,
        /// The referenced logical id.
        id: String,
        /// The stack that made the handle.
        other: String,
    },
    /// Resources that depend on each other in a circle.
    #[error(
        "stack `{stack}`: dependency cycle {path}; break it by removing a reference or a DependsOn"
    )]
    Cycle {
        /// The stack.
        stack: String,
        /// The cycle, `A -> B -> A`.
        path: String,
    },
    /// A required property is absent or `AWS::NoValue`.
    #[error(
        "stack `{stack}`: resource `{id}` ({type_name}) is missing required property `{property}`"
    )]
    MissingRequired {
        /// The stack.
        stack: String,
        /// The resource.
        id: String,
        /// Its type.
        type_name: &'static str,
        /// The property.
        property: &'static str,
    },
    /// A CloudFormation count limit is exceeded.
    #[error("stack `{stack}` has {count} {what}; CloudFormation allows at most {limit}")]
    Limit {
        /// The stack.
        stack: String,
        /// `resources`, `parameters`, `outputs` or `mappings`.
        what: &'static str,
        /// How many it has.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The template body is larger than CloudFormation accepts.
    #[error("stack `{stack}`: the template is {size} bytes; CloudFormation accepts at most {limit} bytes: split the stack")]
    TemplateTooLarge {
        /// The stack.
        stack: String,
        /// Compact JSON size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A `Ref`, `Fn::GetAtt` or `Fn::If` written as raw JSON that names nothing in the stack.
    #[error("stack `{stack}`: `{user}` refers to {kind} `{id}`, which this stack does not define; use a handle instead of raw JSON")]
    DanglingReference {
        /// The stack.
        stack: String,
        /// Where the reference sits.
        user: String,
        /// `resource or parameter`, `resource` or `condition`.
        kind: &'static str,
        /// The missing id.
        id: String,
    },
    /// A `Fn::Sub` placeholder with no variable behind it.
    #[error("stack `{stack}`: `Fn::Sub` in `{user}` uses `${{{name}}}`, which is neither a pseudo parameter nor a variable of it; bind it with `.var(\"{name}\", …)`")]
    UnboundSubVariable {
        /// The stack.
        stack: String,
        /// Where the Sub sits.
        user: String,
        /// The placeholder.
        name: String,
    },
    /// `Fn::And`/`Fn::Or` with fewer than 2 or more than 10 conditions.
    #[error("stack `{stack}`: `{function}` in `{user}` takes 2 to 10 conditions, not {count}")]
    ConditionArity {
        /// The stack.
        stack: String,
        /// Where it sits.
        user: String,
        /// `Fn::And` or `Fn::Or`.
        function: &'static str,
        /// How many it has.
        count: usize,
    },
    /// A value failed to serialize (a bug in a hand-written `Serialize`).
    #[error("stack `{stack}`: `{user}` does not serialize: {message}")]
    Serialize {
        /// The stack.
        stack: String,
        /// What failed.
        user: String,
        /// serde's message.
        message: String,
    },
}

/// Every problem synth found, in a stable order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthErrors(pub Vec<SynthError>);

impl fmt::Display for SynthErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "synth found {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SynthErrors {}

/// A construct's props contradict each other or break a rule of the service.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{construct} `{id}`: {field}: {message}")]
pub struct ConstructError {
    /// The construct kind (`Vpc`, `Bucket`).
    pub construct: &'static str,
    /// Its logical id.
    pub id: String,
    /// The offending field (`private_subnets[2]`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConstructError {
    /// An error of construct `construct` with logical id `id`.
    pub fn new(
        construct: &'static str,
        id: &str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConstructError {
            construct,
            id: id.to_owned(),
            field: field.into(),
            message: message.into(),
        }
    }
}

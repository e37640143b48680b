//! The resource trait that every L1 type implements, its metadata, and typed handles.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;

use crate::value::{Expr, StackRef, Target, TargetKind};
use crate::Value;

/// Per-type facts from the CloudFormation registry schema, used by synth validation and by the
/// diff (replacement prediction). Property paths are JSON pointers (`/properties/CidrBlock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceMeta {
    /// The CloudFormation type name (`AWS::S3::Bucket`).
    pub type_name: &'static str,
    /// Top-level properties that must be present.
    pub required: &'static [&'static str],
    /// Properties whose change replaces the resource.
    pub create_only: &'static [&'static str],
    /// Properties that only the service sets (the `Fn::GetAtt` attributes).
    pub read_only: &'static [&'static str],
    /// Properties that are written but never read back (secrets, one-time inputs).
    pub write_only: &'static [&'static str],
    /// The properties that identify a live resource.
    pub primary_identifier: &'static [&'static str],
}

/// A CloudFormation resource type: its `Properties` are `Self` serialized.
pub trait Resource: Serialize + Clone + fmt::Debug + 'static {
    /// The registry facts of this type.
    const META: ResourceMeta;
}

/// Object-safe view of a resource stored in a stack.
pub(crate) trait ErasedResource: fmt::Debug {
    fn meta(&self) -> ResourceMeta;
    fn to_json_string(&self) -> Result<String, serde_json::Error>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<R: Resource> ErasedResource for R {
    fn meta(&self) -> ResourceMeta {
        R::META
    }
    fn to_json_string(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A typed handle to a resource in a stack, returned by [`Stack::add`](crate::Stack::add).
///
/// `Ref` and `Fn::GetAtt` come from the handle: the attribute methods (`attr_arn()`, …) are
/// generated per type from the schema's read-only properties, so a misspelt attribute does not
/// compile:
///
/// ```compile_fail
/// use cdkrs_constructs::{Stack, s3::CfnBucket};
/// let mut stack = Stack::new("demo");
/// let bucket = stack.add("Bucket", CfnBucket::default());
/// let _ = bucket.attr_arm(); // no such attribute
/// ```
pub struct Handle<R> {
    target: Target,
    _type: PhantomData<fn() -> R>,
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        Handle {
            target: self.target.clone(),
            _type: PhantomData,
        }
    }
}

impl<R> fmt::Debug for Handle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({}/{})", self.target.stack.name, self.target.id)
    }
}

impl<R> PartialEq for Handle<R> {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target
    }
}

impl<R> Handle<R> {
    pub(crate) fn new(stack: StackRef, id: Arc<str>) -> Self {
        Handle {
            target: Target {
                stack,
                id,
                kind: TargetKind::Resource,
            },
            _type: PhantomData,
        }
    }

    /// The logical ID.
    pub fn logical_id(&self) -> &str {
        &self.target.id
    }

    /// The name of the stack this resource belongs to.
    pub fn stack_name(&self) -> &str {
        &self.target.stack.name
    }

    /// `Ref` of the resource (its physical ID, whatever the type returns for `Ref`).
    pub fn reference(&self) -> Value<String> {
        Value::from_expr(Expr::Ref(self.target.clone()))
    }

    /// `Fn::GetAtt` of an attribute the type is known to have. Only generated code and the
    /// constructs in this crate call this, with names taken from the schema.
    pub(crate) fn get_att<T>(&self, attribute: &'static str) -> Value<T> {
        Value::from_expr(Expr::GetAtt(self.target.clone(), attribute))
    }

    /// The same handle without its type, for `DependsOn`.
    pub fn erase(&self) -> AnyHandle {
        AnyHandle(self.target.clone())
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }
}

/// A handle whose resource type is forgotten: what `DependsOn` lists.
#[derive(Clone, Debug, PartialEq)]
pub struct AnyHandle(pub(crate) Target);

impl AnyHandle {
    /// The logical ID.
    pub fn logical_id(&self) -> &str {
        &self.0.id
    }
}

impl<R> From<&Handle<R>> for AnyHandle {
    fn from(h: &Handle<R>) -> Self {
        h.erase()
    }
}

/// `DeletionPolicy` / `UpdateReplacePolicy` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Policy {
    /// Delete the physical resource.
    Delete,
    /// Keep the physical resource (data is never lost).
    Retain,
    /// Keep it only while the stack is retained on failure (`RetainExceptOnCreate`).
    RetainExceptOnCreate,
    /// Take a snapshot first (types that support it).
    Snapshot,
}

/// The resource attributes besides `Type` and `Properties`.
#[derive(Clone, Debug, Default)]
pub struct ResourceOptions {
    /// `DependsOn`: explicit ordering. Default: none (references already order resources).
    pub depends_on: Vec<AnyHandle>,
    /// `Condition`: the resource exists only when the condition holds. Default: always.
    pub condition: Option<crate::ConditionHandle>,
    /// `DeletionPolicy`. Default: CloudFormation's (`Delete`).
    pub deletion_policy: Option<Policy>,
    /// `UpdateReplacePolicy`. Default: CloudFormation's (`Delete`).
    pub update_replace_policy: Option<Policy>,
    /// `Metadata` (for example checkov suppressions). Default: none.
    pub metadata: Option<serde_json::Value>,
    /// Dependencies that hold only while a condition does: `(condition, resources)`, for
    /// resources that carry that condition while this one exists either way. `DependsOn` takes
    /// no intrinsic, and a `DependsOn` naming a resource whose condition is false fails the
    /// stack, so each pair is written as a reference in this resource's `Metadata`
    /// (`cdkrs.DependsOnIf.<condition>` = `Fn::If [condition, [Ref …], []]`): CloudFormation
    /// orders on references wherever they appear, and the `Fn::If` drops them while the
    /// condition is false. Default: none.
    pub depends_on_if: Vec<(crate::ConditionHandle, Vec<AnyHandle>)>,
}

impl ResourceOptions {
    /// Options that keep the physical resource on stack deletion and on replacement.
    pub fn retained() -> Self {
        ResourceOptions {
            deletion_policy: Some(Policy::Retain),
            update_replace_policy: Some(Policy::Retain),
            ..Default::default()
        }
    }
}

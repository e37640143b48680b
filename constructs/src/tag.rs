//! The `Key`/`Value` tag shared by every taggable resource type.

use serde::Serialize;

use crate::Value;

/// A resource tag (`{"Key": ..., "Value": ...}`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tag {
    /// `Key`.
    #[serde(rename = "Key")]
    pub key: Value<String>,
    /// `Value`.
    #[serde(rename = "Value")]
    pub value: Value<String>,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<Value<String>>, value: impl Into<Value<String>>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Tags from `(key, value)` pairs, in the given order.
pub fn tags<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Tag> {
    pairs.into_iter().map(|(k, v)| Tag::new(k, v)).collect()
}

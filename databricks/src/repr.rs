//! The two representations of a property struct: [`Template`] (what the stack writes) and
//! [`Runtime`] (what the provider receives), and [`Lenient`] scalars for the latter.

use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::ops::Deref;

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use cdkrs_constructs::Value;

/// How a property struct holds its scalars, lists and maps.
pub trait Repr: Clone + Debug + 'static {
    /// A string.
    type Str: Clone + Debug + PartialEq + Serialize;
    /// A 64-bit integer.
    type Int: Clone + Debug + PartialEq + Serialize;
    /// A boolean.
    type Bool: Clone + Debug + PartialEq + Serialize;
    /// A list of strings.
    type StrList: Clone + Debug + PartialEq + Serialize;
    /// A map of strings to strings.
    type StrMap: Clone + Debug + PartialEq + Serialize;
}

/// Template side: values may be intrinsics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {}

impl Repr for Template {
    type Str = Value<String>;
    type Int = Value<i64>;
    type Bool = Value<bool>;
    type StrList = Value<Vec<String>>;
    type StrMap = BTreeMap<String, Value<String>>;
}

/// Provider side: what CloudFormation delivers in the event (every scalar arrives as a string:
/// `"30"`, `"true"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {}

impl Repr for Runtime {
    type Str = String;
    type Int = Lenient<i64>;
    type Bool = Lenient<bool>;
    type StrList = Vec<String>;
    type StrMap = BTreeMap<String, String>;
}

/// A scalar that deserializes from its JSON type or from its string form (`30` or `"30"`,
/// `true` or `"true"`), and serializes as the plain `T`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lenient<T>(pub T);

impl<T> Lenient<T> {
    /// The inner value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Lenient<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Lenient<T> {
    fn from(v: T) -> Self {
        Lenient(v)
    }
}

impl<T: fmt::Display> fmt::Display for Lenient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Reads an `i64` from a JSON integer or a string holding one.
struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = Lenient<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string holding one, such as \"30\"")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Lenient(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(Lenient)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(E::invalid_value(Unexpected::Float(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.parse::<i64>()
            .map(Lenient)
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }
}

impl<'de> Deserialize<'de> for Lenient<i64> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor)
    }
}

/// Reads a `bool` from a JSON boolean or the string `"true"` or `"false"`.
struct BoolVisitor;

impl Visitor<'_> for BoolVisitor {
    type Value = Lenient<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean or the string \"true\" or \"false\"")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Lenient(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v {
            "true" => Ok(Lenient(true)),
            "false" => Ok(Lenient(false)),
            _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }
}

impl<'de> Deserialize<'de> for Lenient<bool> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BoolVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn int(v: serde_json::Value) -> Result<i64, String> {
        serde_json::from_value::<Lenient<i64>>(v)
            .map(Lenient::into_inner)
            .map_err(|e| e.to_string())
    }

    fn boolean(v: serde_json::Value) -> Result<bool, String> {
        serde_json::from_value::<Lenient<bool>>(v)
            .map(Lenient::into_inner)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn lenient_int_accepts_numbers_and_their_strings() {
        assert_eq!(int(json!(30)), Ok(30));
        assert_eq!(int(json!("30")), Ok(30));
        assert_eq!(int(json!("-2")), Ok(-2));
        assert_eq!(int(json!(-2)), Ok(-2));
    }

    #[test]
    fn lenient_int_error_names_the_value() {
        assert_eq!(
            int(json!("abc")),
            Err(
                "invalid value: string \"abc\", expected an integer or a string holding one, such as \"30\""
                    .into()
            )
        );
        assert!(int(json!("1.5")).unwrap_err().contains("\"1.5\""));
        assert!(int(json!(1.5)).unwrap_err().contains("1.5"));
        assert!(int(json!(u64::MAX))
            .unwrap_err()
            .contains(&u64::MAX.to_string()));
        assert!(int(json!(true))
            .unwrap_err()
            .starts_with("invalid type: boolean"));
    }

    #[test]
    fn lenient_bool_accepts_booleans_and_their_strings() {
        assert_eq!(boolean(json!(true)), Ok(true));
        assert_eq!(boolean(json!("true")), Ok(true));
        assert_eq!(boolean(json!(false)), Ok(false));
        assert_eq!(boolean(json!("false")), Ok(false));
        assert_eq!(
            boolean(json!("yes")),
            Err(
                "invalid value: string \"yes\", expected a boolean or the string \"true\" or \"false\""
                    .into()
            )
        );
    }

    #[test]
    fn lenient_serializes_as_the_plain_value() {
        assert_eq!(serde_json::to_value(Lenient(30_i64)).unwrap(), json!(30));
        assert_eq!(serde_json::to_value(Lenient(true)).unwrap(), json!(true));
        let n = Lenient(7_i64);
        assert_eq!(*n + 1, 8);
        assert_eq!(n.to_string(), "7");
        assert_eq!(Lenient::from(false), Lenient(false));
    }
}

//! Custom resources (`Custom::<Name>`) with typed properties and typed attributes.
//!
//! A property type names its CloudFormation type and its attributes:
//!
//! ```
//! use cdkrs_constructs::custom_resource::{CustomAttribute, CustomResourceProperties};
//! #[derive(Clone, Debug, serde::Serialize)]
//! struct Greeting { #[serde(rename = "Name")] name: String }
//! #[derive(Clone, Copy, Debug)]
//! enum GreetingAttr { Message }
//! impl CustomAttribute for GreetingAttr {
//!     fn name(self) -> &'static str { match self { GreetingAttr::Message => "Message" } }
//! }
//! impl CustomResourceProperties for Greeting {
//!     const RESOURCE_TYPE: &'static str = "Custom::Greeting";
//!     type Attribute = GreetingAttr;
//! }
//! ```
//!
//! The provider Lambda deserializes the same struct, so the template and the provider cannot
//! disagree on a field name.
//!
//! What an update does is published in the template, so `cdkrs diff` (which reads templates
//! and knows no provider) can tell: a [`CustomResource`] whose type declares
//! [`CustomResourceProperties::CREATE_ONLY`] pointers writes them to its `Metadata` as
//! `cdkrs.CreateOnlyProperties`, and a [`CustomResourceProperties::REPLACEMENT_WARNING`] as
//! `cdkrs.ReplacementWarning`. A type that declares none is shown as "may replace".

use std::fmt::Debug;

use serde::Serialize;

use crate::error::ConstructError;
use crate::function::Function;
use crate::{Handle, Resource, ResourceMeta, ResourceOptions, Stack, Value};

/// A `Data` key the provider returns, readable with `Fn::GetAtt`.
pub trait CustomAttribute: Copy + Debug {
    /// The attribute name.
    fn name(self) -> &'static str;
}

/// The typed properties of one custom resource type.
pub trait CustomResourceProperties: Serialize + Clone + Debug + 'static {
    /// `Custom::<Name>`.
    const RESOURCE_TYPE: &'static str;
    /// The attributes the provider returns.
    type Attribute: CustomAttribute;
    /// The properties the provider cannot change in place, as JSON pointers into the
    /// resource (`/properties/DeploymentName`, `/properties/AwsAttributes/FirstOnDemand`): a
    /// change of one makes the provider create a new object (a replacement). The provider
    /// decides by this list and `cdkrs diff` reads it, so the two cannot disagree.
    /// Default: none.
    const CREATE_ONLY: &'static [&'static str] = &[];
    /// What a replacement (or a removal) destroys beyond the object itself, in plain words
    /// (`the workspace and everything in it … are deleted`): `cdkrs diff` shows it as a warning.
    /// Default: none.
    const REPLACEMENT_WARNING: Option<&'static str> = None;
}

/// The `Metadata` of a custom resource of type `P`: `options` (the caller's) with what `P`
/// publishes under `cdkrs` (its create-only list and replacement warning), when it publishes
/// anything. A caller's `Metadata` that is not an object is left as it is.
fn published_metadata<P: CustomResourceProperties>(
    options: Option<serde_json::Value>,
) -> Option<serde_json::Value> {
    let mut published = serde_json::Map::new();
    if !P::CREATE_ONLY.is_empty() {
        published.insert("CreateOnlyProperties".into(), P::CREATE_ONLY.into());
    }
    if let Some(warning) = P::REPLACEMENT_WARNING {
        published.insert("ReplacementWarning".into(), warning.into());
    }
    if published.is_empty() {
        return options;
    }
    let mut metadata = options.unwrap_or_else(|| serde_json::json!({}));
    if let Some(m) = metadata.as_object_mut() {
        let cdkrs = m.entry("cdkrs").or_insert_with(|| serde_json::json!({}));
        match cdkrs.as_object_mut() {
            Some(c) => c.extend(published),
            None => *cdkrs = serde_json::Value::Object(published),
        }
    }
    Some(metadata)
}

/// The L1 custom resource: `ServiceToken`, `ServiceTimeout` and the typed properties.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CfnCustomResource<P> {
    /// `ServiceToken`: the provider function's ARN.
    #[serde(rename = "ServiceToken")]
    pub service_token: Value<String>,
    /// `ServiceTimeout` in seconds (1 to 3600): how long CloudFormation waits for an answer.
    #[serde(rename = "ServiceTimeout", skip_serializing_if = "Option::is_none")]
    pub service_timeout: Option<Value<i64>>,
    /// The typed properties, flattened beside the two above.
    #[serde(flatten)]
    pub properties: P,
}

impl<P: CustomResourceProperties> Resource for CfnCustomResource<P> {
    const META: ResourceMeta = ResourceMeta {
        type_name: P::RESOURCE_TYPE,
        required: &["ServiceToken"],
        create_only: P::CREATE_ONLY,
        read_only: &[],
        write_only: &[],
        primary_identifier: &[],
    };
}

impl<P: CustomResourceProperties> Handle<CfnCustomResource<P>> {
    /// `Fn::GetAtt` of one of the attributes the provider returns.
    pub fn attr(&self, attribute: P::Attribute) -> Value<String> {
        self.get_att(attribute.name())
    }
}

/// Props of a [`CustomResource`].
#[derive(Clone, Debug)]
pub struct CustomResourceProps {
    /// `ServiceTimeout` in seconds, 1 to 3600. Default: 3600 (long operations re-invoke the
    /// provider and answer within it).
    pub service_timeout_secs: i64,
    /// Extra attributes (`DependsOn`, `Condition`). Default: none.
    pub options: ResourceOptions,
}

impl Default for CustomResourceProps {
    fn default() -> Self {
        CustomResourceProps {
            service_timeout_secs: 3600,
            options: ResourceOptions::default(),
        }
    }
}

/// A custom resource served by a provider [`Function`].
#[derive(Clone, Debug)]
pub struct CustomResource<P> {
    handle: Handle<CfnCustomResource<P>>,
}

impl<P: CustomResourceProperties> CustomResource<P> {
    /// Adds a custom resource of type `P::RESOURCE_TYPE`.
    pub fn new(
        stack: &mut Stack,
        id: &str,
        provider: &Function,
        properties: P,
        props: CustomResourceProps,
    ) -> Result<CustomResource<P>, ConstructError> {
        let err = |field: &str, msg: String| ConstructError::new("CustomResource", id, field, msg);
        let valid_type = P::RESOURCE_TYPE.strip_prefix("Custom::").is_some_and(|n| {
            !n.is_empty()
                && n.len() <= 60
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_@-".contains(c))
        });
        if !valid_type {
            return Err(err(
                "RESOURCE_TYPE",
                format!(
                    "`{}` is not a custom resource type: use `Custom::` then 1 to 60 letters, digits, `_`, `@` or `-`",
                    P::RESOURCE_TYPE
                ),
            ));
        }
        if !(1..=3600).contains(&props.service_timeout_secs) {
            return Err(err(
                "service_timeout_secs",
                format!(
                    "{} is outside 1 to 3600 seconds",
                    props.service_timeout_secs
                ),
            ));
        }
        let l1 = CfnCustomResource {
            service_token: provider.arn(),
            service_timeout: Some(props.service_timeout_secs.into()),
            properties,
        };
        let mut options = props.options;
        options.metadata = published_metadata::<P>(options.metadata.take());
        Ok(CustomResource {
            handle: stack.add_with(id, l1, options),
        })
    }

    /// `Fn::GetAtt` of an attribute the provider returns.
    pub fn attr(&self, attribute: P::Attribute) -> Value<String> {
        self.handle.attr(attribute)
    }

    /// `Ref` (the physical id the provider chose).
    pub fn physical_id(&self) -> Value<String> {
        self.handle.reference()
    }

    /// The L1 handle.
    pub fn handle(&self) -> &Handle<CfnCustomResource<P>> {
        &self.handle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::{FunctionCode, FunctionProps};
    use crate::role::{service_trust, Role, RoleProps};
    use serde_json::json;

    #[derive(Clone, Debug, Serialize)]
    struct Widget {
        #[serde(rename = "Name")]
        name: Value<String>,
        #[serde(rename = "Size")]
        size: i64,
    }

    #[derive(Clone, Copy, Debug)]
    enum WidgetAttr {
        WidgetId,
    }

    impl CustomAttribute for WidgetAttr {
        fn name(self) -> &'static str {
            match self {
                WidgetAttr::WidgetId => "WidgetId",
            }
        }
    }

    impl CustomResourceProperties for Widget {
        const RESOURCE_TYPE: &'static str = "Custom::Widget";
        type Attribute = WidgetAttr;
    }

    /// A widget whose provider cannot change its `Name` in place.
    #[derive(Clone, Debug, Serialize)]
    struct NamedWidget {
        #[serde(rename = "Name")]
        name: String,
    }

    impl CustomResourceProperties for NamedWidget {
        const RESOURCE_TYPE: &'static str = "Custom::NamedWidget";
        type Attribute = WidgetAttr;
        const CREATE_ONLY: &'static [&'static str] = &["/properties/Name"];
        const REPLACEMENT_WARNING: Option<&'static str> = Some("the widget's data is deleted");
    }

    #[derive(Clone, Debug, Serialize)]
    struct Bad;
    impl CustomResourceProperties for Bad {
        const RESOURCE_TYPE: &'static str = "AWS::S3::Bucket";
        type Attribute = WidgetAttr;
    }

    fn provider(stack: &mut Stack) -> Function {
        let role = Role::new(
            stack,
            "ProviderRole",
            service_trust("lambda.amazonaws.com"),
            RoleProps::default(),
        )
        .unwrap();
        Function::new(
            stack,
            "Provider",
            FunctionCode {
                s3_bucket: "b".into(),
                s3_key: "k.zip".into(),
            },
            &role,
            FunctionProps::default(),
        )
        .unwrap()
    }

    #[test]
    fn custom_resource_has_token_timeout_and_flattened_properties() {
        let mut stack = Stack::new("t");
        let f = provider(&mut stack);
        let w = CustomResource::new(
            &mut stack,
            "Widget",
            &f,
            Widget {
                name: "w".into(),
                size: 3,
            },
            CustomResourceProps::default(),
        )
        .unwrap();
        stack.add_output("WidgetId", crate::Output::new(w.attr(WidgetAttr::WidgetId)));
        let t = stack.synth().unwrap();
        let r = t.resource("Widget").unwrap();
        assert_eq!(r["Type"], "Custom::Widget");
        assert_eq!(
            r["Properties"],
            json!({
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": 3600,
                "Name": "w",
                "Size": 3
            })
        );
        assert_eq!(
            t.as_json()["Outputs"]["WidgetId"]["Value"],
            json!({"Fn::GetAtt": ["Widget", "WidgetId"]})
        );
    }

    #[test]
    fn create_only_properties_and_the_replacement_warning_are_published_in_metadata() {
        let mut stack = Stack::new("t");
        let f = provider(&mut stack);
        CustomResource::new(
            &mut stack,
            "Named",
            &f,
            NamedWidget { name: "n".into() },
            CustomResourceProps {
                options: ResourceOptions {
                    metadata: Some(json!({"checkov": {"skip": []}})),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .unwrap();
        CustomResource::new(
            &mut stack,
            "Plain",
            &f,
            Widget {
                name: "w".into(),
                size: 1,
            },
            CustomResourceProps::default(),
        )
        .unwrap();
        let t = stack.synth().unwrap();
        assert_eq!(
            t.resource("Named").unwrap()["Metadata"],
            json!({
                "checkov": {"skip": []},
                "cdkrs": {
                    "CreateOnlyProperties": ["/properties/Name"],
                    "ReplacementWarning": "the widget's data is deleted"
                }
            })
        );
        // A type that declares nothing publishes nothing (the diff says "may replace").
        assert!(t.resource("Plain").unwrap().get("Metadata").is_none());
    }

    #[test]
    fn custom_resource_type_and_timeout_are_checked() {
        let mut stack = Stack::new("t");
        let f = provider(&mut stack);
        let e = CustomResource::new(&mut stack, "X", &f, Bad, CustomResourceProps::default())
            .unwrap_err();
        assert!(e.to_string().starts_with(
            "CustomResource `X`: RESOURCE_TYPE: `AWS::S3::Bucket` is not a custom resource type"
        ));
        let e = CustomResource::new(
            &mut stack,
            "Y",
            &f,
            Widget {
                name: "w".into(),
                size: 1,
            },
            CustomResourceProps {
                service_timeout_secs: 7200,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "CustomResource `Y`: service_timeout_secs: 7200 is outside 1 to 3600 seconds"
        );
    }
}

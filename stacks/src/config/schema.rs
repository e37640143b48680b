//! The JSON Schema of each config field: its shape (what serde reads) at the top, the rules of
//! [`crate::rules`] a JSON Schema can express in `allOf`.
//!
//! What a JSON Schema cannot express stays with validation alone: a CIDR's host bits, subnets
//! inside the VPC and apart from each other, group names unique ignoring case (`uniqueItems`
//! only refuses identical entries), min_workers below max_workers, the secret's account equal
//! to `aws_account_id`, characters of tags beyond their length (regex dialects disagree on
//! Unicode letters), and the 500-resource limit (it depends on the rest of the environment;
//! validation counts it with the builder).
//!
//! YAML reads any scalar as text, so a text field that validation may accept as `2024` or
//! `true` also allows numbers or booleans here.

use cdkrs_constructs::vpc;
use cdkrs_databricks::{ApiEnum, EbsVolumeType, PricingTier};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value as Json};

use crate::config::ALIASES;
use crate::regions::REGIONS;
use crate::rules;

/// Scalars a YAML text field may be written as.
const TEXT: [&str; 3] = ["string", "number", "boolean"];

/// A shape with its rules in `allOf`.
fn ruled(mut shape: Json, rules: Vec<Json>) -> Schema {
    if let Some(map) = shape.as_object_mut() {
        if !rules.is_empty() {
            map.insert("allOf".into(), Json::Array(rules));
        }
    }
    Schema::try_from(shape).expect("the shape is a JSON object")
}

/// `T`, or nothing (a section left empty takes its default).
pub(super) fn nullable<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    let inner = generator.subschema_for::<T>();
    json_schema!({ "anyOf": [inner, { "type": "null" }] })
}

/// `true`/`false`, or the strings `"true"`/`"false"` (the seed's tfvars).
pub(super) fn lenient_bool(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["boolean", "string"], "enum": [true, false, "true", "false"] })
}

/// A Databricks API enum, by its API spelling.
pub(super) fn api_enum<T: ApiEnum>(_: &mut SchemaGenerator) -> Schema {
    api_enum_shape::<T>(Vec::new())
}

fn api_enum_shape<T: ApiEnum>(rules: Vec<Json>) -> Schema {
    let all: Vec<&str> = T::ALL.iter().map(|v| v.as_str()).collect();
    ruled(json!({ "type": "string", "enum": all }), rules)
}

/// A whole number (i64).
pub(super) fn int(_: &mut SchemaGenerator) -> Schema {
    int_with(Vec::new())
}

fn int_with(rules: Vec<Json>) -> Schema {
    ruled(json!({ "type": "integer", "format": "int64" }), rules)
}

pub(super) fn prefix(_: &mut SchemaGenerator) -> Schema {
    let longest = REGIONS
        .iter()
        .map(|r| rules::max_prefix_len(r.name))
        .max()
        .unwrap_or_default();
    ruled(
        // `true` and `false` read as text are valid prefixes; numbers never are.
        json!({ "type": ["string", "boolean"] }),
        vec![json!({
            "pattern": rules::PREFIX_PATTERN,
            "maxLength": longest,
            "not": { "type": "string", "pattern": rules::RESERVED_BUCKET_PREFIX_PATTERN },
        })],
    )
}

pub(super) fn region(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = REGIONS.iter().map(|r| r.name).collect();
    ruled(json!({ "type": "string" }), vec![json!({ "enum": names })])
}

pub(super) fn account_id(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": ["string", "integer", "null"] }),
        // Unquoted, `012345678901` is a number to JSON but 12 digits to the config.
        vec![json!({ "anyOf": [
            { "type": "string", "pattern": rules::ACCOUNT_ID_PATTERN },
            { "type": "integer", "minimum": 0, "maximum": 999_999_999_999_u64 },
            { "type": "null" },
        ]})],
    )
}

pub(super) fn tags(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({
            "type": ["object", "null"],
            "additionalProperties": {
                "type": ["string", "number", "boolean", "null"],
                "allOf": [{ "maxLength": rules::MAX_TAG_VALUE }],
            },
        }),
        vec![json!({
            "maxProperties": rules::MAX_TAGS,
            "propertyNames": {
                "minLength": 1,
                "maxLength": rules::MAX_TAG_KEY,
                "not": { "pattern": rules::reserved_tag_key_pattern() },
            },
        })],
    )
}

pub(super) fn vpc_cidr(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": "string" }),
        vec![json!({ "pattern": rules::cidr_pattern(vpc::MIN_PREFIX..=vpc::MAX_PREFIX) })],
    )
}

/// Every zone name of the table.
fn all_zones() -> Vec<&'static str> {
    REGIONS
        .iter()
        .flat_map(|r| r.zones.iter().copied())
        .collect()
}

pub(super) fn azs(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "anyOf": [
        {
            "type": "integer",
            "format": "uint8",
            "minimum": 0,
            "maximum": 255,
            "allOf": [{ "minimum": rules::MIN_AZS, "maximum": rules::MAX_AZS }],
        },
        {
            "type": "array",
            "items": { "type": "string", "allOf": [{ "enum": all_zones() }] },
            "allOf": [{
                "minItems": rules::MIN_AZS,
                "maxItems": rules::MAX_AZS,
                "uniqueItems": true,
            }],
        },
    ]})
}

pub(super) fn private_subnets(_: &mut SchemaGenerator) -> Schema {
    let subnet = rules::cidr_pattern(
        rules::DATABRICKS_SUBNET_MIN_PREFIX..=rules::DATABRICKS_SUBNET_MAX_PREFIX,
    );
    ruled(
        json!({
            "type": ["array", "null"],
            "items": { "type": "string", "allOf": [{ "pattern": subnet }] },
        }),
        vec![json!({
            "minItems": rules::MIN_AZS,
            "maxItems": rules::MAX_AZS,
            "uniqueItems": true,
        })],
    )
}

pub(super) fn public_subnet(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": ["string", "null"] }),
        vec![json!({ "pattern": rules::cidr_pattern(vpc::MIN_PREFIX..=vpc::MAX_PREFIX) })],
    )
}

pub(super) fn flow_log_interval(_: &mut SchemaGenerator) -> Schema {
    int_with(vec![json!({ "enum": rules::FLOW_LOG_INTERVALS })])
}

pub(super) fn uuid(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": "string", "format": "uuid" }),
        vec![json!({ "pattern": rules::UUID_PATTERN })],
    )
}

pub(super) fn secret_arn(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = REGIONS.iter().map(|r| r.name).collect();
    ruled(
        json!({ "type": "string" }),
        vec![json!({ "pattern": rules::secret_arn_pattern(&format!("({})", names.join("|"))) })],
    )
}

pub(super) fn ssm_parameter(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": "string" }),
        vec![json!({ "pattern": rules::SSM_NAME_PATTERN, "maxLength": rules::MAX_SSM_NAME })],
    )
}

pub(super) fn workspace_name(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": TEXT }),
        vec![json!({ "pattern": rules::WORKSPACE_NAME_PATTERN })],
    )
}

pub(super) fn pricing_tier(_: &mut SchemaGenerator) -> Schema {
    let allowed: Vec<&str> = rules::CMK_PRICING_TIERS
        .iter()
        .map(|t| t.as_str())
        .collect();
    api_enum_shape::<PricingTier>(vec![json!({ "enum": allowed })])
}

pub(super) fn groups(generator: &mut SchemaGenerator) -> Schema {
    let group = generator.subschema_for::<crate::config::GroupConfig>();
    ruled(
        json!({ "type": "array", "items": group }),
        vec![json!({ "minItems": 1, "uniqueItems": true })],
    )
}

pub(super) fn group_name(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": TEXT }),
        vec![json!({
            "pattern": rules::NOT_BLANK_PATTERN,
            "maxLength": rules::MAX_NAME,
            "not": { "type": "string", "pattern": rules::reserved_group_name_pattern() },
        })],
    )
}

pub(super) fn cluster_name(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": [TEXT[0], TEXT[1], TEXT[2], "null"] }),
        vec![json!({ "pattern": rules::NOT_BLANK_PATTERN, "maxLength": rules::MAX_NAME })],
    )
}

pub(super) fn spark_version(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": ["string", "null"] }),
        vec![json!({ "pattern": rules::SPARK_VERSION_PATTERN })],
    )
}

pub(super) fn node_type(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": "string" }),
        vec![json!({ "pattern": rules::INSTANCE_TYPE_PATTERN })],
    )
}

pub(super) fn driver_node_type(_: &mut SchemaGenerator) -> Schema {
    ruled(
        json!({ "type": ["string", "null"] }),
        vec![json!({ "pattern": rules::INSTANCE_TYPE_PATTERN })],
    )
}

pub(super) fn min_workers(_: &mut SchemaGenerator) -> Schema {
    int_with(vec![json!({ "minimum": 0 })])
}

pub(super) fn max_workers(_: &mut SchemaGenerator) -> Schema {
    int_with(vec![json!({ "maximum": rules::MAX_WORKERS })])
}

pub(super) fn autotermination_minutes(_: &mut SchemaGenerator) -> Schema {
    let range = rules::AUTOTERMINATION_MINUTES;
    int_with(vec![json!({ "anyOf": [
        { "const": 0 },
        { "minimum": range.start(), "maximum": range.end() },
    ]})])
}

pub(super) fn first_on_demand(_: &mut SchemaGenerator) -> Schema {
    int_with(vec![json!({ "minimum": 0 })])
}

pub(super) fn spot_bid_price_percent(_: &mut SchemaGenerator) -> Schema {
    let range = rules::SPOT_BID_PERCENT;
    int_with(vec![
        json!({ "minimum": range.start(), "maximum": range.end() }),
    ])
}

pub(super) fn ebs_volume_count(_: &mut SchemaGenerator) -> Schema {
    let range = rules::EBS_VOLUME_COUNT;
    int_with(vec![
        json!({ "minimum": range.start(), "maximum": range.end() }),
    ])
}

/// Appends `rules` to a schema's `allOf`.
fn add_rules(schema: &mut Schema, rules: impl IntoIterator<Item = Json>) {
    if let Some(map) = schema.as_object_mut() {
        let all = map
            .entry("allOf")
            .or_insert_with(|| Json::Array(Vec::new()));
        if let Some(list) = all.as_array_mut() {
            list.extend(rules);
        }
    }
}

/// EbsVolumes: the size range of the volume type, unless there are no volumes (omitted fields
/// take their defaults: one general-purpose volume).
pub(super) fn ebs_volume_sizes(schema: &mut Schema) {
    let range = |t: EbsVolumeType| {
        let r = rules::ebs_volume_size_gb(t);
        json!({ "properties": { "size_gb": { "minimum": r.start(), "maximum": r.end() } } })
    };
    let mut by_type = range(EbsVolumeType::GeneralPurposeSsd);
    for t in EbsVolumeType::ALL
        .iter()
        .copied()
        .filter(|t| *t != EbsVolumeType::GeneralPurposeSsd)
    {
        by_type = json!({
            "if": {
                "required": ["volume_type"],
                "properties": { "volume_type": { "const": t.as_str() } },
            },
            "then": range(t),
            "else": by_type,
        });
    }
    add_rules(
        schema,
        [json!({
            "if": { "required": ["count"], "properties": { "count": { "const": 0 } } },
            "else": by_type,
        })],
    );
}

/// EncryptionConfig: the old names as deprecated properties with their field's schema, and
/// never an old name together with its new one.
pub(super) fn aliases(schema: &mut Schema) {
    let mut exclusive = Vec::new();
    if let Some(props) = schema
        .as_object_mut()
        .and_then(|m| m.get_mut("properties"))
        .and_then(Json::as_object_mut)
    {
        for (alias, field) in ALIASES {
            let Some(field_schema) = props.get(*field).cloned() else {
                continue;
            };
            let mut alias_schema = field_schema;
            if let Some(m) = alias_schema.as_object_mut() {
                m.insert("deprecated".into(), Json::Bool(true));
                m.insert(
                    "description".into(),
                    Json::String(format!("The old name of `{field}`.")),
                );
            }
            props.insert((*alias).to_owned(), alias_schema);
            exclusive.push(json!({ "not": { "required": [alias, field] } }));
        }
    }
    add_rules(schema, exclusive);
}

/// Config: what each region allows. Its zones (by count, at most the usable ones; by name,
/// only its own), the secret's region, and the prefix length its bucket names leave; a region
/// with fewer usable zones than the default count needs `network.azs`.
pub(super) fn region_rules(schema: &mut Schema) {
    let per_region: Vec<Json> = REGIONS
        .iter()
        .map(|r| {
            let usable = r.usable_zones;
            let mut network = json!({ "properties": { "azs": { "anyOf": [
                { "type": "integer", "maximum": usable },
                { "type": "array", "maxItems": usable, "items": { "enum": r.zones } },
            ]}}});
            let mut then = Map::new();
            if usable < vpc::DEFAULT_AZ_COUNT {
                network["required"] = json!(["azs"]);
                then.insert("required".into(), json!(["network"]));
            }
            then.insert(
                "properties".into(),
                json!({
                    "prefix": { "maxLength": rules::max_prefix_len(r.name) },
                    "network": network,
                    "databricks": { "properties": { "service_principal": { "properties": {
                        "secret": { "properties": { "secrets_manager_arn": {
                            "pattern": rules::secret_arn_pattern(r.name),
                        }}},
                    }}}},
                }),
            );
            json!({
                "if": { "required": ["region"], "properties": { "region": { "const": r.name } } },
                "then": then,
            })
        })
        .collect();
    add_rules(schema, per_region);
}

//! Adopting what an earlier stack of the same name retained.
//!
//! Buckets, keys and log groups are retained when their stack is deleted (a destroy, a
//! ROLLBACK_COMPLETE stack deleted to try again, a deleted bootstrap stack). Created again, the
//! stack would collide with them ("already exists" on the fixed bucket names) and leave the
//! keys that encrypt their data behind. So before a stack is created, the engine looks for
//! them and imports them through CloudFormation's resource import (an `IMPORT` change set,
//! reviewed like any other, its rows shown as `Import`), then updates the stack to the full
//! template.
//!
//! **How the engine decides that a retained resource is this environment's.** It adopts only
//! what CloudFormation itself recorded: a deleted stack of the same name, in the same account
//! and region (its ARN; `ListStacks` keeps deleted stacks for 90 days), lists the resource as
//! `DELETE_SKIPPED` (its DeletionPolicy kept it) under the same logical id and type. The new
//! template must still retain it (import needs a DeletionPolicy), and when the template names
//! it (a bucket name, a log group name) that name must resolve to the retained resource's
//! physical id. Anything else with a colliding name — a bucket made by hand, another stack's,
//! one retained under a name the config no longer gives — is left alone; the create then fails
//! on the name, as it should, and nothing is adopted that this stack did not create.
//!
//! Sources: resource import and its requirements
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-new-stack.html>,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html>:
//! "each resource to import must have a DeletionPolicy", an import operation cannot also
//! create, update or delete resources); resources of deleted stacks
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html>:
//! "you can list information for resources that belong to stacks deleted within the last 90
//! days", by stack ID).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};

use super::api::{CloudFormation, DeletedStack, ResourceToImport};
use super::deploy::StackDeployment;

/// How many of the newest deleted stacks of the name are read (each costs one call).
pub const DELETED_STACKS_READ: usize = 5;

/// A retained resource the new stack adopts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Adopted {
    /// Logical id (the same in the deleted stack and the template).
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// Physical id (bucket name, key id, log group name).
    pub physical_id: String,
    /// The type's primary-identifier property (`BucketName`, `KeyId`, `LogGroupName`).
    pub identifier: String,
    /// The deleted stack that retained it (ARN).
    pub retained_by: String,
}

/// What the search found: resources to adopt, and retained ones left alone (with why).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Adoption {
    /// To import.
    pub adopted: Vec<Adopted>,
    /// Retained by a deleted stack of this name but not adopted, each with the reason.
    pub left_alone: Vec<String>,
}

impl Adoption {
    /// `ResourcesToImport` of the import change set.
    pub fn resources_to_import(&self) -> Vec<ResourceToImport> {
        self.adopted
            .iter()
            .map(|a| ResourceToImport {
                logical_id: a.logical_id.clone(),
                resource_type: a.resource_type.clone(),
                identifier: BTreeMap::from([(a.identifier.clone(), a.physical_id.clone())]),
            })
            .collect()
    }
}

/// Where a stack lives, from its ARN (`arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: String,
    /// Region.
    pub region: String,
    /// Account id.
    pub account: String,
}

impl Place {
    /// The place of a stack ARN; `None` when it is not one.
    pub fn of_arn(arn: &str) -> Option<Place> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, "cloudformation", region, account, _]
                if !region.is_empty() && !account.is_empty() =>
            {
                Some(Place {
                    partition: (*partition).to_owned(),
                    region: (*region).to_owned(),
                    account: (*account).to_owned(),
                })
            }
            _ => None,
        }
    }

    /// The domain suffix of the partition (`AWS::URLSuffix`).
    fn url_suffix(&self) -> &'static str {
        match self.partition.as_str() {
            "aws-cn" => "amazonaws.com.cn",
            "aws-iso" => "c2s.ic.gov",
            "aws-iso-b" => "sc2s.sgov.gov",
            _ => "amazonaws.com",
        }
    }
}

/// A name as the template gives it, resolved where that needs no deployed value: a string, or
/// `Fn::Sub` over pseudo parameters only. `None`: it depends on a parameter or a resource.
pub fn static_name(value: &Value, place: &Place, stack_name: &str) -> Option<String> {
    let text = match value {
        Value::String(s) => return Some(s.clone()),
        Value::Object(o) if o.len() == 1 => o.get("Fn::Sub")?.as_str()?,
        _ => return None,
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let var = &after[..end];
        if let Some(literal) = var.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else {
            out.push_str(match var {
                "AWS::AccountId" => &place.account,
                "AWS::Region" => &place.region,
                "AWS::Partition" => &place.partition,
                "AWS::URLSuffix" => place.url_suffix(),
                "AWS::StackName" => stack_name,
                _ => return None,
            });
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Finds what deleted stacks of the plan's name retained that the plan's template adopts.
/// CloudFormation answers for the caller's account and region only, and every AWS command has
/// checked that account against the config's `aws_account_id` before it gets here.
pub async fn find<C: CloudFormation>(cfn: &C, plan: &StackDeployment) -> Result<Adoption> {
    let name = plan.stack_name.as_str();
    let deleted: Vec<DeletedStack> = cfn
        .deleted_stacks(name)
        .await?
        .into_iter()
        .take(DELETED_STACKS_READ)
        .collect();
    let mut adoption = Adoption::default();
    let mut seen = BTreeSet::new();
    let resources = plan
        .template
        .get("Resources")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for stack in &deleted {
        let Some(place) = Place::of_arn(&stack.id) else {
            continue;
        };
        for r in cfn.stack_resources(&stack.id).await? {
            let Some(physical) = r.physical_id.clone().filter(|p| !p.is_empty()) else {
                continue;
            };
            if r.status != "DELETE_SKIPPED" || !seen.insert(r.logical_id.clone()) {
                continue; // not retained, or a newer deleted stack already decided
            }
            let verdict = decide(
                &r.logical_id,
                &r.resource_type,
                &physical,
                resources.get(&r.logical_id),
                &place,
                name,
            );
            match verdict {
                Ok(identifier) => adoption.adopted.push(Adopted {
                    logical_id: r.logical_id,
                    resource_type: r.resource_type,
                    physical_id: physical,
                    identifier,
                    retained_by: stack.id.clone(),
                }),
                Err(why) => adoption.left_alone.push(format!(
                    "{} ({} {physical}), retained by the deleted stack {}: left alone, {why}",
                    r.logical_id, r.resource_type, stack.id
                )),
            }
        }
    }
    prune(&plan.template, &mut adoption);
    Ok(adoption)
}

/// Leaves alone what cannot be imported without the rest of the stack: a resource whose
/// required or create-only property refers to a resource that is not adopted (the import
/// template may hold the adopted resources alone; a required property cannot be left out, and a
/// create-only one set by the update that follows would replace the adopted resource), and then
/// whatever refers to it in turn.
fn prune(template: &Value, adoption: &mut Adoption) {
    loop {
        let ids: BTreeSet<String> = adoption
            .adopted
            .iter()
            .map(|a| a.logical_id.clone())
            .collect();
        let blocked = adoption
            .adopted
            .iter()
            .position(|a| required_outside(template, a, &ids).is_some());
        let Some(i) = blocked else {
            return;
        };
        let a = adoption.adopted.remove(i);
        let (property, outside) = required_outside(template, &a, &ids).expect("found just above");
        adoption.left_alone.push(format!(
            "{} ({} {}), retained by the deleted stack {}: left alone, its required property \
             {property} refers to {outside}, which is not adopted (an import holds the adopted \
             resources alone, and setting it afterwards would replace the resource)",
            a.logical_id, a.resource_type, a.physical_id, a.retained_by
        ));
    }
}

/// A required or create-only property of `a` in the template that refers to a resource or
/// parameter outside `ids`, and that name.
fn required_outside(
    template: &Value,
    a: &Adopted,
    ids: &BTreeSet<String>,
) -> Option<(String, String)> {
    let meta = cdkrs_constructs::resource_meta(&a.resource_type)?;
    let properties = template
        .get("Resources")?
        .get(&a.logical_id)?
        .get("Properties")?;
    let create_only = meta.create_only.iter().filter_map(|pointer| {
        pointer
            .strip_prefix("/properties/")
            .map(|p| p.split('/').next().unwrap_or(p))
    });
    meta.required
        .iter()
        .copied()
        .chain(create_only)
        .find_map(|name| {
            let outside = references(properties.get(name)?)
                .into_iter()
                .find(|n| !ids.contains(n))?;
            Some((name.to_owned(), outside))
        })
}

/// Whether the template's resource `id` adopts the retained `physical`: the identifier
/// property's name, or why not.
fn decide(
    id: &str,
    resource_type: &str,
    physical: &str,
    resource: Option<&Value>,
    place: &Place,
    stack_name: &str,
) -> Result<String, String> {
    let Some(resource) = resource else {
        return Err("the template no longer has it".into());
    };
    let new_type = resource.get("Type").and_then(Value::as_str).unwrap_or("");
    if new_type != resource_type {
        return Err(format!("the template's {id} is now a {new_type}"));
    }
    match resource.get("DeletionPolicy").and_then(Value::as_str) {
        Some("Retain" | "RetainExceptOnCreate") => {}
        _ => {
            return Err(
                "the template no longer retains it (import needs a DeletionPolicy of Retain)"
                    .into(),
            )
        }
    }
    if resource.get("Condition").is_some() {
        return Err("the template creates it under a condition".into());
    }
    let Some(meta) = cdkrs_constructs::resource_meta(resource_type) else {
        return Err(format!(
            "cdkrs knows no import identifier for {resource_type}"
        ));
    };
    let [pointer] = meta.primary_identifier else {
        return Err(format!("{resource_type} has a compound identifier"));
    };
    let Some(identifier) = pointer
        .strip_prefix("/properties/")
        .filter(|p| !p.contains('/'))
    else {
        return Err(format!(
            "{resource_type}'s identifier {pointer} is not a property"
        ));
    };
    if let Some(named) = resource.get("Properties").and_then(|p| p.get(identifier)) {
        match static_name(named, place, stack_name) {
            Some(n) if n == physical => {}
            Some(n) => return Err(format!("the template now names it {n}")),
            None => {
                return Err(format!(
                    "its {identifier} depends on a deploy-time value, so cdkrs cannot tell it is \
                     the same"
                ))
            }
        }
    }
    Ok(identifier.to_owned())
}

/// The template of the import change set: the adopted resources alone (an import may not
/// create, change or delete anything else), each with its policies and the properties that
/// refer to nothing outside the import; the update that follows sets the rest.
pub fn import_template(template: &Value, adoption: &Adoption) -> Value {
    let ids: BTreeSet<&str> = adoption
        .adopted
        .iter()
        .map(|a| a.logical_id.as_str())
        .collect();
    let mut resources = Map::new();
    for id in &ids {
        let Some(r) = template.get("Resources").and_then(|r| r.get(*id)) else {
            continue;
        };
        let mut out = Map::new();
        for key in ["Type", "DeletionPolicy", "UpdateReplacePolicy"] {
            if let Some(v) = r.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
        let properties: Map<String, Value> = r
            .get("Properties")
            .and_then(Value::as_object)
            .map(|p| {
                p.iter()
                    .filter(|(_, v)| references(v).iter().all(|n| ids.contains(n.as_str())))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if !properties.is_empty() {
            out.insert("Properties".into(), Value::Object(properties));
        }
        resources.insert((*id).to_owned(), Value::Object(out));
    }
    let mut t = Map::new();
    if let Some(v) = template.get("AWSTemplateFormatVersion") {
        t.insert("AWSTemplateFormatVersion".into(), v.clone());
    }
    t.insert(
        "Description".into(),
        Value::String("cdkrs: retained resources adopted by import".into()),
    );
    t.insert("Resources".into(), Value::Object(resources));
    Value::Object(t)
}

/// The names a template fragment refers to (`Ref`, `Fn::GetAtt`, `Fn::Sub` variables), pseudo
/// parameters excluded.
fn references(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect(value, &mut found);
    found.retain(|n| !n.starts_with("AWS::"));
    found
}

fn collect(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("Ref", Value::String(n)) => {
                        found.insert(n.clone());
                    }
                    ("Fn::GetAtt", Value::Array(a)) => {
                        if let Some(n) = a.first().and_then(Value::as_str) {
                            found.insert(n.to_owned());
                        }
                    }
                    ("Fn::GetAtt", Value::String(s)) => {
                        found.insert(s.split('.').next().unwrap_or_default().to_owned());
                    }
                    ("Fn::Sub", sub) => {
                        let (text, vars) = match sub {
                            Value::Array(a) => (a.first(), a.get(1)),
                            other => (Some(other), None),
                        };
                        let locals: BTreeSet<String> = vars
                            .and_then(Value::as_object)
                            .map(|m| m.keys().cloned().collect())
                            .unwrap_or_default();
                        if let Some(text) = text.and_then(Value::as_str) {
                            for var in sub_variables(text) {
                                let name = var.split('.').next().unwrap_or_default();
                                if !locals.contains(name) {
                                    found.insert(name.to_owned());
                                }
                            }
                        }
                        if let Some(vars) = vars {
                            collect(vars, found);
                        }
                    }
                    _ => collect(v, found),
                }
            }
        }
        _ => {}
    }
}

/// The `${…}` variables of an `Fn::Sub` string (`${!Literal}` excluded).
fn sub_variables(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if !var.starts_with('!') {
            out.push(var);
        }
        rest = &after[end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn place() -> Place {
        Place::of_arn("arn:aws:cloudformation:eu-west-1:123456789012:stack/env/abc").unwrap()
    }

    #[test]
    fn a_stack_arn_gives_partition_region_and_account() {
        let p =
            Place::of_arn("arn:aws-cn:cloudformation:cn-north-1:111122223333:stack/s/1").unwrap();
        assert_eq!(
            (p.partition.as_str(), p.region.as_str(), p.account.as_str()),
            ("aws-cn", "cn-north-1", "111122223333")
        );
        assert_eq!(Place::of_arn("not-an-arn"), None);
    }

    #[test]
    fn names_resolve_over_pseudo_parameters_only() {
        let p = place();
        assert_eq!(
            static_name(
                &json!({"Fn::Sub": "raw-${AWS::AccountId}-${AWS::Region}"}),
                &p,
                "env"
            ),
            Some("raw-123456789012-eu-west-1".into())
        );
        assert_eq!(
            static_name(&json!("fixed"), &p, "env"),
            Some("fixed".into())
        );
        assert_eq!(
            static_name(&json!({"Fn::Sub": "${Prefix}-raw"}), &p, "env"),
            None
        );
        assert_eq!(static_name(&json!({"Ref": "Name"}), &p, "env"), None);
        assert_eq!(
            static_name(&json!({"Fn::Sub": "a-${!Literal}"}), &p, "env"),
            Some("a-${Literal}".into())
        );
    }

    #[test]
    fn a_retained_resource_is_adopted_only_when_the_template_still_retains_and_names_it_so() {
        let p = place();
        let bucket = |name: &str, policy: Option<&str>| {
            let mut r = json!({"Type": "AWS::S3::Bucket",
                               "Properties": {"BucketName": {"Fn::Sub": name}}});
            if let Some(policy) = policy {
                r["DeletionPolicy"] = json!(policy);
            }
            r
        };
        let same = bucket("raw-${AWS::AccountId}", Some("Retain"));
        assert_eq!(
            decide(
                "Raw",
                "AWS::S3::Bucket",
                "raw-123456789012",
                Some(&same),
                &p,
                "env"
            ),
            Ok("BucketName".into())
        );
        let renamed = bucket("new-raw-${AWS::AccountId}", Some("Retain"));
        let err = decide(
            "Raw",
            "AWS::S3::Bucket",
            "raw-123456789012",
            Some(&renamed),
            &p,
            "env",
        )
        .unwrap_err();
        assert!(err.contains("now names it new-raw-123456789012"), "{err}");
        let not_retained = bucket("raw-${AWS::AccountId}", None);
        let err = decide(
            "Raw",
            "AWS::S3::Bucket",
            "raw-123456789012",
            Some(&not_retained),
            &p,
            "env",
        )
        .unwrap_err();
        assert!(err.contains("no longer retains it"), "{err}");
        let err = decide(
            "Raw",
            "AWS::KMS::Key",
            "raw-123456789012",
            Some(&same),
            &p,
            "env",
        )
        .unwrap_err();
        assert!(err.contains("is now a AWS::S3::Bucket"), "{err}");
        let err = decide("Raw", "AWS::S3::Bucket", "raw", None, &p, "env").unwrap_err();
        assert!(err.contains("no longer has it"), "{err}");
        // A key is named by nothing in the template: the record decides.
        let key = json!({"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "Properties": {}});
        assert_eq!(
            decide(
                "Key",
                "AWS::KMS::Key",
                "1234abcd-12ab",
                Some(&key),
                &p,
                "env"
            ),
            Ok("KeyId".into())
        );
    }

    #[test]
    fn a_resource_whose_required_property_needs_a_resource_not_adopted_is_left_alone() {
        // An alias requires its key (TargetKeyId): with the key not adopted, neither is it.
        let template = json!({"Resources": {
            "Alias": {"Type": "AWS::KMS::Alias", "DeletionPolicy": "Retain",
                      "Properties": {"AliasName": "alias/x", "TargetKeyId": {"Ref": "Key"}}},
            "Log": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {}}
        }});
        let adopted = |id: &str, ty: &str| Adopted {
            logical_id: id.into(),
            resource_type: ty.into(),
            physical_id: format!("{id}-1"),
            identifier: String::new(),
            retained_by: "arn:old".into(),
        };
        let mut adoption = Adoption {
            adopted: vec![
                adopted("Alias", "AWS::KMS::Alias"),
                adopted("Log", "AWS::Logs::LogGroup"),
            ],
            left_alone: Vec::new(),
        };
        prune(&template, &mut adoption);
        assert_eq!(adoption.adopted.len(), 1);
        assert_eq!(adoption.adopted[0].logical_id, "Log");
        assert!(
            adoption.left_alone[0].contains("required property TargetKeyId refers to Key"),
            "{:?}",
            adoption.left_alone
        );
    }

    #[test]
    fn a_create_only_property_that_needs_a_resource_not_adopted_leaves_the_resource_alone() {
        // A bucket named by a prefix taken from a parameter: imported without it, the update
        // that sets it would replace the bucket.
        let template = json!({"Resources": {
            "Raw": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
                    "Properties": {"BucketNamePrefix": {"Fn::Sub": "${Prefix}-raw"}}}
        }});
        let mut adoption = Adoption {
            adopted: vec![Adopted {
                logical_id: "Raw".into(),
                resource_type: "AWS::S3::Bucket".into(),
                physical_id: "team-raw-abc".into(),
                identifier: "BucketName".into(),
                retained_by: "arn:old".into(),
            }],
            left_alone: Vec::new(),
        };
        prune(&template, &mut adoption);
        assert!(adoption.adopted.is_empty());
        assert!(
            adoption.left_alone[0].contains("property BucketNamePrefix refers to Prefix"),
            "{:?}",
            adoption.left_alone
        );
    }

    #[test]
    fn the_import_template_holds_the_adopted_resources_without_references_to_the_rest() {
        let template = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": {"Prefix": {"Type": "String"}},
            "Resources": {
                "Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain",
                        "UpdateReplacePolicy": "Retain",
                        "Properties": {"EnableKeyRotation": true,
                                       "KeyPolicy": {"Statement": [{"Principal": {"AWS": {"Fn::GetAtt": ["Role", "Arn"]}}}]}}},
                "Raw": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
                        "DependsOn": "Role",
                        "Properties": {
                            "BucketName": {"Fn::Sub": "raw-${AWS::AccountId}"},
                            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                                {"ServerSideEncryptionByDefault": {"KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}}}]},
                            "Tags": [{"Key": "p", "Value": {"Ref": "Prefix"}}]}},
                "Role": {"Type": "AWS::IAM::Role", "Properties": {}}
            }
        });
        let adoption = Adoption {
            adopted: ["Key", "Raw"]
                .iter()
                .map(|id| Adopted {
                    logical_id: (*id).into(),
                    resource_type: String::new(),
                    physical_id: String::new(),
                    identifier: String::new(),
                    retained_by: String::new(),
                })
                .collect(),
            left_alone: Vec::new(),
        };
        let t = import_template(&template, &adoption);
        assert_eq!(
            t["Resources"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["Key", "Raw"]
        );
        assert!(t.get("Parameters").is_none());
        let key = &t["Resources"]["Key"];
        assert_eq!(key["DeletionPolicy"], "Retain");
        assert_eq!(key["UpdateReplacePolicy"], "Retain");
        assert_eq!(key["Properties"], json!({"EnableKeyRotation": true}));
        let raw = &t["Resources"]["Raw"]["Properties"];
        assert!(
            raw.get("BucketEncryption").is_some(),
            "refers to the adopted key"
        );
        assert!(raw.get("BucketName").is_some(), "pseudo parameters only");
        assert!(raw.get("Tags").is_none(), "refers to a parameter");
        assert!(t["Resources"]["Raw"].get("DependsOn").is_none());
    }
}

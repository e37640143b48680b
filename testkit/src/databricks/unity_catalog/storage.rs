//! Storage credentials (and their role check) and external locations (and their URL
//! rules).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

use super::*;
use crate::databricks::account::race;
use crate::databricks::metastores::UNITY_CATALOG_MASTER_ROLE;
use crate::databricks::real_errors;
use crate::databricks::state::Store;
use crate::databricks::wire::{opt_str, parse_body, required_str, ApiError};
use crate::databricks::{permissions, Inner, Shared};

// ---------------------------------------------------------------------------------------------
// Storage credentials

/// `arn:aws:iam::<12 digits>:role/<path/name>`: the role of `aws_iam_role.role_arn`.
pub(super) fn valid_role_arn(arn: &str) -> bool {
    let Some(rest) = arn
        .strip_prefix("arn:aws:iam::")
        .or_else(|| arn.strip_prefix("arn:aws-us-gov:iam::"))
    else {
        return false;
    };
    let Some((account, name)) = rest.split_once(":role/") else {
        return false;
    };
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
}

/// Checks `aws_iam_role.role_arn` and, unless `skip_validation`, that Databricks can assume
/// the role: right after a role or its trust policy is created, Unity Catalog's check fails
/// with the real "non self-assuming" body (fixture `storage_credential_non_self_assuming`) for
/// the first attempts and a short window ([`FakeConfig::storage_credential_propagation`]),
/// keyed by the role, so the external locations using a new role meet it too. A role that is
/// not an IAM role ARN is refused with 400 `INVALID_PARAMETER_VALUE` (wording
/// **\[unverified\]**).
pub(super) fn check_role(
    inner: &Inner,
    store: &mut Store,
    body: &Value,
) -> Result<Option<String>, Box<Response>> {
    let Some(role) = body.get("aws_iam_role") else {
        return Ok(None);
    };
    let arn = required_str(role, "role_arn")
        .map_err(|_| ApiError::invalid("Missing required field: aws_iam_role.role_arn"))?;
    if !valid_role_arn(arn) {
        return Err(ApiError::invalid(format!(
            "Invalid IAM role ARN {arn}: expected arn:aws:iam::<account id>:role/<name>"
        ))
        .into());
    }
    if !flag(body, "skip_validation") && role_race(inner, store, arn) {
        return Err(non_self_assuming());
    }
    Ok(Some(arn.to_owned()))
}

/// Whether this attempt to use `arn` fails while its trust propagates.
pub(super) fn role_race(inner: &Inner, store: &mut Store, arn: &str) -> bool {
    race(
        store,
        format!("uc-role:{arn}"),
        inner.config.storage_credential_propagation,
    )
}

pub(super) fn non_self_assuming() -> Box<Response> {
    Box::new(real_errors::get("storage_credential_non_self_assuming").response())
}

/// `aws_iam_role` as the API answers it (`AwsIamRoleResponse`): the role, the external id
/// Databricks passes when it assumes the role, and the Unity Catalog master role that assumes
/// it.
pub(super) fn role_answer(arn: &str, external_id: &str) -> Value {
    json!({
        "role_arn": arn,
        "external_id": external_id,
        "unity_catalog_iam_arn": UNITY_CATALOG_MASTER_ROLE,
    })
}

/// The external id of a new storage credential: "If you are a Databricks account admin …,
/// the external ID is populated with your Databricks account ID. If you are not a Databricks
/// account admin, a new external ID will be created as a random ID" (Databricks knowledge
/// base, "AWS S3 storage credential validation failure due to external ID",
/// https://kb.databricks.com/unity-catalog/aws-s3-storage-credential-validation-failure-due-to-external-id).
/// The fake's main client is the account admin; the other principals are not.
pub(super) fn new_external_id(inner: &Inner, store: &mut Store, who: &permissions::Who) -> String {
    if who.id == inner.config.client_id {
        inner.config.account_id.clone()
    } else {
        store.uuid()
    }
}

pub(super) async fn create_credential(
    State(inner): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = permissions::who(&inner, &headers);
    answer((|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        let metastore = metastore_id(&store)?;
        let name = Kind::Credential.canonical(required_str(&body, "name")?)?;
        if Kind::Credential.find(&store, &name).is_ok() {
            return Err(Kind::Credential.exists(&name).into());
        }
        if body.get("aws_iam_role").is_none() {
            return Err(ApiError::invalid(
                "Missing required field: aws_iam_role (the fake serves AWS workspaces)",
            )
            .into());
        }
        let arn = check_role(&inner, &mut store, &body)?.unwrap_or_default();
        let external_id = new_external_id(&inner, &mut store, &who);
        let mut object = json!({
            "id": store.uuid(),
            "name": name,
            "full_name": name,
            "aws_iam_role": role_answer(&arn, &external_id),
            "read_only": flag(&body, "read_only"),
            "isolation_mode": "ISOLATION_MODE_OPEN",
            "used_for_managed_storage": false,
        });
        copy_fields(&mut object, &body, &["comment"]);
        stamp(&inner, &mut object, &metastore);
        store.storage_credentials.push(object.clone());
        Ok(object)
    })())
}

pub(super) async fn update_credential(
    State(inner): State<Shared>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    answer((|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        metastore_id(&store)?;
        let idx = Kind::Credential.find(&store, &name)?;
        let name = Kind::Credential.name_at(&store, idx);
        let new_name = Kind::Credential.rename_target(&store, &name, &body)?;
        let arn = check_role(&inner, &mut store, &body)?;
        let object = &mut store.storage_credentials[idx];
        if let Some(arn) = arn {
            let external_id = object["aws_iam_role"]["external_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            object["aws_iam_role"] = role_answer(&arn, &external_id);
        }
        copy_fields(
            object,
            &body,
            &["comment", "read_only", "owner", "isolation_mode"],
        );
        if let Some(new) = &new_name {
            object["name"] = json!(new);
            object["full_name"] = json!(new);
        }
        touch(&inner, object);
        let out = object.clone();
        if let Some(new) = &new_name {
            for loc in &mut store.external_locations {
                if loc["credential_name"] == json!(name) {
                    loc["credential_name"] = json!(new);
                }
            }
            rename_grants(&mut store, "STORAGE_CREDENTIAL", &name, new);
        }
        Ok(out)
    })())
}

// ---------------------------------------------------------------------------------------------
// External locations

/// The URL of a create or update, checked: an `s3://bucket[/path]` that overlaps no other
/// external location. "Unity Catalog models identity as a URL prefix and forbids two locations
/// covering overlapping paths in either direction": the same path, a parent or a child. The
/// real refusal is 400 `INVALID_PARAMETER_VALUE` (databrickslabs/ucx
/// `src/databricks/labs/ucx/azure/locations.py` catches it as `InvalidParameterValue` and
/// matches "overlaps with an existing external location"), with the message "Input path url
/// '<url>' overlaps with an existing external location within '<Call>' call. Conflicting
/// location: <name>." as quoted from a live run in public deployment notes; the text in the
/// fixture `external_location_overlap`.
pub(super) fn checked_url(
    store: &Store,
    url: &str,
    call: &str,
    except: Option<&str>,
) -> Result<String, Box<Response>> {
    let Some(url) = s3_url(url) else {
        // Wording [unverified].
        return Err(ApiError::invalid(format!(
            "Invalid url {url}: an external location on AWS is an s3://<bucket>[/<path>] URL"
        ))
        .into());
    };
    for other in &store.external_locations {
        if except.is_some_and(|name| other["name"] == json!(name)) {
            continue;
        }
        let theirs = other["url"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/');
        if within(&url, theirs) || within(theirs, &url) {
            let recorded = real_errors::get("external_location_overlap");
            let mut real = recorded.clone();
            real.body = recorded
                .body
                .replace("$URL", &url)
                .replace("$CALL", call)
                .replace("$NAME", other["name"].as_str().unwrap_or_default());
            return Err(Box::new(real.response()));
        }
    }
    Ok(url)
}

/// The credential `name`, which must exist (404 `STORAGE_CREDENTIAL_DOES_NOT_EXIST`).
pub(super) fn credential_of(store: &Store, name: &str) -> Result<Value, ApiError> {
    let idx = Kind::Credential.find(store, name)?;
    Ok(store.storage_credentials[idx].clone())
}

pub(super) async fn create_location(State(inner): State<Shared>, body: Bytes) -> Response {
    answer((|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        let metastore = metastore_id(&store)?;
        let name = Kind::Location.canonical(required_str(&body, "name")?)?;
        let url = required_str(&body, "url")?;
        let credential_name = required_str(&body, "credential_name")?;
        if Kind::Location.find(&store, &name).is_ok() {
            return Err(Kind::Location.exists(&name).into());
        }
        let credential = credential_of(&store, credential_name)?;
        let url = checked_url(&store, url, "CreateExternalLocation", None)?;
        // Creating a location validates access through the credential's role (unless
        // skip_validation): while the role's trust propagates it fails like the credential
        // (public Terraform notes: "`non self-assuming` on `databricks_external_location` |
        // IAM trust policy was just updated; Databricks validated before AWS propagated").
        let arn = credential["aws_iam_role"]["role_arn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !flag(&body, "skip_validation") && role_race(&inner, &mut store, &arn) {
            return Err(non_self_assuming());
        }
        let mut object = json!({
            "name": name,
            "url": url,
            "credential_name": credential_name,
            "credential_id": credential["id"],
            "read_only": flag(&body, "read_only"),
            "isolation_mode": "ISOLATION_MODE_OPEN",
            "fallback": false,
        });
        copy_fields(&mut object, &body, &["comment"]);
        stamp(&inner, &mut object, &metastore);
        store.external_locations.push(object.clone());
        Ok(object)
    })())
}

pub(super) async fn update_location(
    State(inner): State<Shared>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    answer((|| {
        let body = parse_body(&body)?;
        let mut store = inner.store();
        metastore_id(&store)?;
        let idx = Kind::Location.find(&store, &name)?;
        let name = Kind::Location.name_at(&store, idx);
        let new_name = Kind::Location.rename_target(&store, &name, &body)?;
        let url = match opt_str(&body, "url") {
            Some(url) => Some(checked_url(
                &store,
                url,
                "UpdateExternalLocation",
                Some(&name),
            )?),
            None => None,
        };
        let credential = match opt_str(&body, "credential_name") {
            Some(c) => Some(credential_of(&store, c)?),
            None => None,
        };
        let object = &mut store.external_locations[idx];
        if let Some(url) = url {
            object["url"] = json!(url);
        }
        if let Some(c) = credential {
            object["credential_name"] = c["name"].clone();
            object["credential_id"] = c["id"].clone();
        }
        copy_fields(
            object,
            &body,
            &[
                "comment",
                "read_only",
                "owner",
                "isolation_mode",
                "fallback",
            ],
        );
        if let Some(new) = &new_name {
            object["name"] = json!(new);
        }
        touch(&inner, object);
        let out = object.clone();
        if let Some(new) = &new_name {
            rename_grants(&mut store, "EXTERNAL_LOCATION", &name, new);
        }
        Ok(out)
    })())
}

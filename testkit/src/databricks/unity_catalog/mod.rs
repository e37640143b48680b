//! Unity Catalog on the workspace host (`/api/2.1/unity-catalog/…`): the current metastore
//! assignment, storage credentials, external locations, catalogs, schemas and grants.
//!
//! Paths, request fields and answers are those of databricks-sdk-py 0.167
//! (`service/catalog.py`: `MetastoresAPI.current`, `StorageCredentialsAPI`,
//! `ExternalLocationsAPI`, `CatalogsAPI`, `SchemasAPI.create`, `GrantsAPI.get|update`; the
//! dataclasses `StorageCredentialInfo`, `ExternalLocationInfo`, `CatalogInfo`, `SchemaInfo`,
//! `PermissionsChange`, `PrivilegeAssignment`). Every workspace of the fake shares one store,
//! and these objects belong to the metastore: while no workspace has a metastore assigned,
//! every endpoint answers as a workspace without one does, 404 `METASTORE_DOES_NOT_EXIST`
//! "No metastore assigned for the current workspace." (the body in databricks-sdk-java's error
//! parser test, `handleNullMetadataFieldInErrorResponse`; the 404 status with that code is what
//! the Databricks VS Code extension tests for; terraform-provider-databricks issue 1632 prints
//! the message).
//!
//! Error codes are the API's own catalog (databricks-sdk-py 0.167 `service/ml.py`,
//! `ErrorCode`: `CATALOG_ALREADY_EXISTS`, `CATALOG_DOES_NOT_EXIST`, `CATALOG_NOT_EMPTY`,
//! `EXTERNAL_LOCATION_ALREADY_EXISTS`, `EXTERNAL_LOCATION_DOES_NOT_EXIST`,
//! `PRINCIPAL_DOES_NOT_EXIST`, `SCHEMA_ALREADY_EXISTS`, `STORAGE_CREDENTIAL_ALREADY_EXISTS`,
//! `STORAGE_CREDENTIAL_DOES_NOT_EXIST`, …); statuses follow their names (`*_DOES_NOT_EXIST`
//! 404, `*_ALREADY_EXISTS` 409, the rest 400). Where a message is not publicly shown, the
//! handler says **\[unverified\]**.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::account::respond;
use super::metastores::current_assignment;
use super::state::Store;
use super::wire::{now_millis, opt_str, query_param, ApiError};
use super::{Inner, Shared};

mod catalogs;
mod grants;
mod storage;

pub(crate) use catalogs::add_schema;
pub use catalogs::AUTOMATIC_SCHEMAS;
use catalogs::{create_catalog, create_schema, delete, update_catalog};
use grants::{get_grants, update_grants};
use storage::{create_credential, create_location, update_credential, update_location};

/// The workspace-host routes of Unity Catalog.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/api/2.1/unity-catalog/current-metastore-assignment",
            get(current_metastore),
        )
        .route(
            "/api/2.1/unity-catalog/storage-credentials",
            get(|s: State<Shared>, q: RawQuery| list(s, q, Kind::Credential))
                .post(create_credential),
        )
        .route(
            "/api/2.1/unity-catalog/storage-credentials/{name}",
            get(|s: State<Shared>, p: Path<String>| get_one(s, p, Kind::Credential))
                .patch(update_credential)
                .delete(|s: State<Shared>, p: Path<String>, q: RawQuery| {
                    delete(s, p, q, Kind::Credential)
                }),
        )
        .route(
            "/api/2.1/unity-catalog/external-locations",
            get(|s: State<Shared>, q: RawQuery| list(s, q, Kind::Location)).post(create_location),
        )
        .route(
            "/api/2.1/unity-catalog/external-locations/{name}",
            get(|s: State<Shared>, p: Path<String>| get_one(s, p, Kind::Location))
                .patch(update_location)
                .delete(|s: State<Shared>, p: Path<String>, q: RawQuery| {
                    delete(s, p, q, Kind::Location)
                }),
        )
        .route(
            "/api/2.1/unity-catalog/catalogs",
            get(|s: State<Shared>, q: RawQuery| list(s, q, Kind::Catalog)).post(create_catalog),
        )
        .route(
            "/api/2.1/unity-catalog/catalogs/{name}",
            get(|s: State<Shared>, p: Path<String>| get_one(s, p, Kind::Catalog))
                .patch(update_catalog)
                .delete(|s: State<Shared>, p: Path<String>, q: RawQuery| {
                    delete(s, p, q, Kind::Catalog)
                }),
        )
        .route(
            "/api/2.1/unity-catalog/schemas",
            axum::routing::post(create_schema),
        )
        .route(
            "/api/2.1/unity-catalog/schemas/{full_name}",
            get(|s: State<Shared>, p: Path<String>| get_one(s, p, Kind::Schema)).delete(
                |s: State<Shared>, p: Path<String>, q: RawQuery| delete(s, p, q, Kind::Schema),
            ),
        )
        .route(
            "/api/2.1/unity-catalog/permissions/{securable_type}/{full_name}",
            get(get_grants).patch(update_grants),
        )
}

/// The stored object kinds with a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Credential,
    Location,
    Catalog,
    Schema,
}

impl Kind {
    /// The `new_name` of an update body, canonical, when it renames the object `name`; a name
    /// another object of this kind holds is refused as a create of it would be.
    fn rename_target(
        self,
        store: &Store,
        name: &str,
        body: &Value,
    ) -> Result<Option<String>, ApiError> {
        let Some(new) = opt_str(body, "new_name") else {
            return Ok(None);
        };
        let new = self.canonical(new)?;
        if new == name {
            return Ok(None);
        }
        if self.find(store, &new).is_ok() {
            return Err(self.exists(&new));
        }
        Ok(Some(new))
    }

    fn items(self, store: &Store) -> &Vec<Value> {
        match self {
            Kind::Credential => &store.storage_credentials,
            Kind::Location => &store.external_locations,
            Kind::Catalog => &store.catalogs,
            Kind::Schema => &store.schemas,
        }
    }

    fn items_mut(self, store: &mut Store) -> &mut Vec<Value> {
        match self {
            Kind::Credential => &mut store.storage_credentials,
            Kind::Location => &mut store.external_locations,
            Kind::Catalog => &mut store.catalogs,
            Kind::Schema => &mut store.schemas,
        }
    }

    /// The key of a list answer (`ListStorageCredentialsResponse.storage_credentials`, …).
    fn list_key(self) -> &'static str {
        match self {
            Kind::Credential => "storage_credentials",
            Kind::Location => "external_locations",
            Kind::Catalog => "catalogs",
            Kind::Schema => "schemas",
        }
    }

    /// The name field that identifies an object in paths.
    fn key(self) -> &'static str {
        match self {
            Kind::Schema => "full_name",
            _ => "name",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Credential => "Storage Credential",
            Kind::Location => "External Location",
            Kind::Catalog => "Catalog",
            Kind::Schema => "Schema",
        }
    }

    fn missing_code(self) -> &'static str {
        match self {
            Kind::Credential => "STORAGE_CREDENTIAL_DOES_NOT_EXIST",
            Kind::Location => "EXTERNAL_LOCATION_DOES_NOT_EXIST",
            Kind::Catalog => "CATALOG_DOES_NOT_EXIST",
            Kind::Schema => "SCHEMA_DOES_NOT_EXIST",
        }
    }

    fn exists_code(self) -> &'static str {
        match self {
            Kind::Credential => "STORAGE_CREDENTIAL_ALREADY_EXISTS",
            Kind::Location => "EXTERNAL_LOCATION_ALREADY_EXISTS",
            Kind::Catalog => "CATALOG_ALREADY_EXISTS",
            Kind::Schema => "SCHEMA_ALREADY_EXISTS",
        }
    }

    /// The securable type of its grants.
    fn securable(self) -> &'static str {
        match self {
            Kind::Credential => "STORAGE_CREDENTIAL",
            Kind::Location => "EXTERNAL_LOCATION",
            Kind::Catalog => "CATALOG",
            Kind::Schema => "SCHEMA",
        }
    }

    /// 404 `<KIND>_DOES_NOT_EXIST` "<Label> '<name>' does not exist.": the real schema answer
    /// is "Schema 'mysql.default' does not exist." (terraform-provider-databricks issue
    /// 2621); the other kinds' labels are **\[unverified\]**.
    fn missing(self, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            self.missing_code(),
            format!("{} '{name}' does not exist.", self.label()),
        )
    }

    /// 409 `<KIND>_ALREADY_EXISTS` (wording **\[unverified\]**).
    fn exists(self, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            self.exists_code(),
            format!("{} '{name}' already exists", self.label()),
        )
    }

    /// Whether names of this kind are stored lower-case: "Unity Catalog stores all object
    /// names as lowercase" (docs "Names",
    /// https://docs.databricks.com/aws/sql/language-manual/sql-ref-names); Terraform ignores
    /// case differences in the names of catalogs, schemas and external locations
    /// (`EqualFoldDiffSuppress` in `catalog/resource_catalog.go`, `resource_schema.go`,
    /// `resource_external_location.go`), but not of storage credentials, whose case the fake
    /// keeps (**\[unverified\]**).
    fn lower_case(self) -> bool {
        self != Kind::Credential
    }

    /// A requested name as stored, checked against the rules of the same docs page: at most
    /// 255 characters, no period (except between a schema's catalog and name), space, forward
    /// slash or control character (400 `INVALID_PARAMETER_VALUE`, wording
    /// **\[unverified\]**).
    fn canonical(self, raw: &str) -> Result<String, ApiError> {
        let bad = raw.chars().count() > 255
            || raw.is_empty()
            || raw
                .chars()
                .any(|c| c == '.' || c == ' ' || c == '/' || c.is_control());
        if bad {
            return Err(ApiError::invalid(format!(
                "Invalid {} name '{raw}': at most 255 characters, without periods, spaces, forward slashes or control characters",
                self.label()
            )));
        }
        Ok(if self.lower_case() {
            raw.to_lowercase()
        } else {
            raw.to_owned()
        })
    }

    /// The index of the object named `name` (in any case, for the lower-case kinds).
    fn find(self, store: &Store, name: &str) -> Result<usize, ApiError> {
        let wanted = if self.lower_case() {
            name.to_lowercase()
        } else {
            name.to_owned()
        };
        self.items(store)
            .iter()
            .position(|v| v[self.key()] == json!(wanted))
            .ok_or_else(|| self.missing(name))
    }

    /// The stored name of the object at `idx`.
    fn name_at(self, store: &Store, idx: usize) -> String {
        self.items(store)[idx][self.key()]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The metastore the workspace host serves, or the real answer of a workspace without one.
fn metastore_id(store: &Store) -> Result<String, ApiError> {
    current_assignment(store)
        .and_then(|a| opt_str(a, "metastore_id"))
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "METASTORE_DOES_NOT_EXIST",
                "No metastore assigned for the current workspace.",
            )
        })
}

/// The metastore's stored form.
fn metastore_info(store: &Store, id: &str) -> Value {
    store
        .metastores
        .iter()
        .find(|m| m["metastore_id"] == json!(id))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Every Unity Catalog object of the metastore is gone (a forced metastore delete).
pub(crate) fn forget_all(store: &mut Store) {
    store.storage_credentials.clear();
    store.external_locations.clear();
    store.catalogs.clear();
    store.schemas.clear();
    store.uc_grants.clear();
}

/// Server-set fields of a new object: owner, creation and update stamps, metastore.
fn stamp(inner: &Inner, object: &mut Value, metastore_id: &str) {
    let now = now_millis();
    let me = &inner.config.client_id;
    object["owner"] = json!(me);
    object["created_at"] = json!(now);
    object["created_by"] = json!(me);
    object["updated_at"] = json!(now);
    object["updated_by"] = json!(me);
    object["metastore_id"] = json!(metastore_id);
}

fn touch(inner: &Inner, object: &mut Value) {
    object["updated_at"] = json!(now_millis());
    object["updated_by"] = json!(inner.config.client_id);
}

fn flag(body: &Value, key: &str) -> bool {
    body.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn query_flag(query: Option<&str>, key: &str) -> bool {
    query_param(query, key).as_deref() == Some("true")
}

/// Copies the listed fields present in `body` onto `object`.
fn copy_fields(object: &mut Value, body: &Value, fields: &[&str]) {
    for field in fields {
        if let Some(v) = body.get(*field) {
            object[*field] = v.clone();
        }
    }
}

async fn current_metastore(State(inner): State<Shared>) -> Response {
    let store = inner.store();
    respond(metastore_id(&store).map(|_| {
        current_assignment(&store)
            .cloned()
            .unwrap_or_else(|| json!({}))
    }))
}

/// `GET` of a list, paginated: `max_results` absent or 0 answers everything (the SDK's
/// docstrings: "when not set, all … are returned (not recommended)"), a positive value a page
/// with `next_page_token` while more remain; `page_token` is the previous page's token.
async fn list(State(inner): State<Shared>, RawQuery(query): RawQuery, kind: Kind) -> Response {
    respond((|| {
        let store = inner.store();
        metastore_id(&store)?;
        let all = kind.items(&store);
        let query = query.as_deref();
        let start = match query_param(query, "page_token").filter(|t| !t.is_empty()) {
            Some(token) => token
                .parse::<usize>()
                .map_err(|_| ApiError::invalid(format!("Invalid page_token: {token}")))?,
            None => 0,
        };
        let size = match query_param(query, "max_results") {
            Some(n) => n
                .parse::<usize>()
                .map_err(|_| ApiError::invalid(format!("Invalid max_results: {n}")))?,
            None => 0,
        };
        let end = if size == 0 {
            all.len()
        } else {
            (start + size).min(all.len())
        };
        let page: Vec<Value> = all
            .iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .cloned()
            .collect();
        let mut body = json!({ kind.list_key(): page });
        if end < all.len() {
            body["next_page_token"] = json!(end.to_string());
        }
        Ok(body)
    })())
}

async fn get_one(State(inner): State<Shared>, Path(name): Path<String>, kind: Kind) -> Response {
    respond((|| {
        let store = inner.store();
        metastore_id(&store)?;
        let idx = kind.find(&store, &name)?;
        Ok(kind.items(&store)[idx].clone())
    })())
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the areas

fn answer(result: Result<Value, Box<Response>>) -> Response {
    match result {
        Ok(v) => super::wire::ok(v),
        Err(r) => *r,
    }
}

/// `s3://bucket[/path]` normalised (no trailing `/`), or `None`.
fn s3_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("s3://")?;
    let bucket = rest.split('/').next().unwrap_or_default();
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    valid_bucket.then(|| url.trim_end_matches('/').to_owned())
}

/// Whether one URL is the other or lies under it (on path-segment boundaries).
fn within(inner_url: &str, outer: &str) -> bool {
    inner_url == outer || inner_url.starts_with(&format!("{outer}/"))
}

fn rename_grants(store: &mut Store, kind: &str, old: &str, new: &str) {
    for g in &mut store.uc_grants {
        if g.securable_type == kind && g.full_name == old {
            g.full_name = new.to_owned();
        }
    }
}

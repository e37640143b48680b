//! `Custom::DatabricksCatalog`: a catalog with its own managed storage (databricks-sdk 0.167
//! `catalog.CatalogsAPI`: `POST /api/2.1/unity-catalog/catalogs` with `name`, `storage_root`,
//! `comment`, `properties`; `PATCH …/{name}` for the comment and the properties; `DELETE
//! …/{name}` without `force`), one [`UcObject`]. Attribute: its name.
//!
//! The stable mark rides in `properties` under `cdkrs-owner` (`handlers::mark::TAG_KEY`); other
//! properties somebody set are kept. `storage_root` cannot change after creation
//! (terraform-provider-databricks `catalog/resource_catalog.go`: ForceNew); since the name is
//! unique in the metastore and the old catalog keeps it while it holds data, a new root under
//! the same name is refused with the way out (a new `Name`), before anything is changed.
//!
//! Delete without `force`: a catalog that still holds schemas is kept (its schemas are named
//! in the log) and adopted by the next deploy of a stack of the same name
//! (`handlers::uc_object`).

use cdkrs_databricks::{self as db, CatalogAttr, Runtime};
use serde_json::{json, Value};

use super::uc_object::{path_segment, Refusal, UcObject};
use super::{data, items, mark, text, Ctx, Data, HandlerError};
use crate::client::{with_query, ApiError, Method};

/// The kind.
pub(crate) struct Catalog;

type Props = db::Catalog<Runtime>;

/// The schemas a catalog is created with, which hold nothing of the user's
/// (`information_schema` is read-only system metadata).
const BUILT_IN_SCHEMAS: [&str; 1] = ["information_schema"];

/// A storage root without its trailing slashes (Databricks echoes it with one).
fn trimmed(url: &str) -> &str {
    url.trim_end_matches('/')
}

impl UcObject for Catalog {
    type Props = Props;
    type Attr = CatalogAttr;
    const ATTRS: &'static [CatalogAttr] = CatalogAttr::ALL;
    const WHAT: &'static str = "catalog";
    const PATH: &'static str = "/api/2.1/unity-catalog/catalogs";

    fn workspace_url(p: &Props) -> &str {
        &p.workspace_url
    }

    fn name(p: &Props) -> &str {
        &p.name
    }

    fn create_body(p: &Props, mark: &str) -> Value {
        let mut body = json!({
            "name": p.name,
            "storage_root": p.storage_root,
            "properties": {mark::TAG_KEY: mark},
        });
        if let Some(c) = &p.comment {
            body["comment"] = json!(c);
        }
        body
    }

    fn update_body(p: &Props, mark: &str, current: &Value) -> Result<Option<Value>, HandlerError> {
        let root = text(current, "storage_root").unwrap_or_default();
        if trimmed(&root) != trimmed(&p.storage_root) {
            return Err(HandlerError::Invalid(format!(
                "catalog {} has the storage root {root} and cannot move to {} (a catalog's \
                 storage root is fixed at creation, and the name stays taken while the catalog \
                 holds data): give the catalog a new Name to make a new one on the new root, or \
                 keep StorageRoot {root}",
                p.name, p.storage_root
            )));
        }
        let mut body = serde_json::Map::new();
        let want = p.comment.as_deref().unwrap_or_default();
        if text(current, "comment").unwrap_or_default() != want {
            body.insert("comment".into(), json!(want));
        }
        if Self::mark_of(current).as_deref() != Some(mark) {
            let mut properties = current
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            properties.insert(mark::TAG_KEY.into(), json!(mark));
            body.insert("properties".into(), Value::Object(properties));
        }
        Ok((!body.is_empty()).then_some(Value::Object(body)))
    }

    fn mark_of(object: &Value) -> Option<String> {
        object
            .get("properties")
            .and_then(|p| text(p, mark::TAG_KEY))
    }

    fn data(p: &Props, _: &Value) -> Data {
        data([(CatalogAttr::Name, p.name.clone())])
    }

    /// The schemas the catalog holds decide: only an empty `default` (every catalog is created
    /// with one; terraform-provider-databricks `catalog/resource_catalog.go` deletes it right
    /// after creating a catalog for that reason) is deleted (`DELETE
    /// /api/2.1/unity-catalog/schemas/{catalog}.default`, without `force`: `SchemasAPI.delete`,
    /// refused while it holds anything) and the catalog deleted again; anything else keeps the
    /// catalog, naming its schemas.
    async fn on_refusal(ctx: &Ctx, p: &Props, name: &str, error: &ApiError) -> Refusal {
        let Some(schemas) = schemas(ctx, p, name).await else {
            return Refusal::Keep(error.message.clone());
        };
        match in_the_way(&schemas) {
            InTheWay::Unknown => Refusal::Keep(error.message.clone()),
            InTheWay::Schemas(names) => Refusal::Keep(format!("it holds schemas {names}")),
            InTheWay::OnlyDefault => {
                let path = format!(
                    "/api/2.1/unity-catalog/schemas/{}",
                    path_segment(&format!("{name}.{DEFAULT_SCHEMA}"))
                );
                match ctx
                    .client
                    .workspace(&p.workspace_url, Method::DELETE, &path, None)
                    .await
                {
                    Ok(_) => Refusal::Retry,
                    Err(e) if e.is_not_found() => Refusal::Retry,
                    Err(e) => Refusal::Keep(format!(
                        "it holds schema {DEFAULT_SCHEMA}, which could not be deleted: {e}"
                    )),
                }
            }
        }
    }
}

/// What keeps a catalog from being deleted, by the schemas it holds (built-in ones aside).
#[derive(Debug, PartialEq, Eq)]
enum InTheWay {
    /// No schema: Databricks' own words say why.
    Unknown,
    /// Only the automatic `default`: deleted without `force` (refused if it holds anything),
    /// then the catalog is deleted again.
    OnlyDefault,
    /// Schemas somebody made (named, `default` left out): the catalog is kept.
    Schemas(String),
}

fn in_the_way(schemas: &[String]) -> InTheWay {
    match schemas {
        [] => InTheWay::Unknown,
        [only] if only == DEFAULT_SCHEMA => InTheWay::OnlyDefault,
        _ => InTheWay::Schemas(
            schemas
                .iter()
                .map(String::as_str)
                .filter(|s| *s != DEFAULT_SCHEMA)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

/// The schema every catalog is created with.
const DEFAULT_SCHEMA: &str = "default";

/// The schemas of catalog `name` other than the built-in ones (`GET
/// /api/2.1/unity-catalog/schemas?catalog_name=…`, `SchemasAPI.list`, following
/// `next_page_token`); `None` when they cannot be listed.
async fn schemas(ctx: &Ctx, p: &Props, name: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let mut query = vec![("catalog_name", name)];
        if let Some(t) = &token {
            query.push(("page_token", t));
        }
        let path = with_query("/api/2.1/unity-catalog/schemas", &query);
        let page = ctx
            .client
            .workspace(&p.workspace_url, Method::GET, &path, None)
            .await
            .ok()?;
        let next = text(&page, "next_page_token").filter(|t| !t.is_empty());
        names.extend(
            items(page, "schemas")
                .iter()
                .filter_map(|s| text(s, "name"))
                .filter(|n| !BUILT_IN_SCHEMAS.contains(&n.as_str())),
        );
        if next.is_none() || next == token {
            break;
        }
        token = next;
    }
    names.sort();
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(root: &str) -> Props {
        serde_json::from_value(json!({
            "WorkspaceUrl": "https://w", "Name": "t_raw", "StorageRoot": root
        }))
        .expect("props")
    }

    #[test]
    fn the_mark_rides_in_properties_and_others_properties_are_kept() {
        let p = props("s3://t-raw/catalog");
        let body = Catalog::create_body(&p, "cdkrs-000000000001");
        assert_eq!(
            body["properties"],
            json!({"cdkrs-owner": "cdkrs-000000000001"})
        );
        assert!(body.get("comment").is_none());
        let mut current = body.clone();
        current["storage_root"] = json!("s3://t-raw/catalog/");
        assert_eq!(
            Catalog::update_body(&p, "cdkrs-000000000001", &current).unwrap(),
            None
        );
        current["properties"] = json!({"team": "data"});
        assert_eq!(
            Catalog::update_body(&p, "cdkrs-000000000001", &current).unwrap(),
            Some(json!({"properties": {"team": "data", "cdkrs-owner": "cdkrs-000000000001"}}))
        );
    }

    #[test]
    fn only_an_automatic_default_schema_is_cleared_and_other_schemas_are_named() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(in_the_way(&[]), InTheWay::Unknown);
        assert_eq!(in_the_way(&names(&["default"])), InTheWay::OnlyDefault);
        assert_eq!(
            in_the_way(&names(&["default", "sales", "web"])),
            InTheWay::Schemas("sales, web".into())
        );
        assert_eq!(
            in_the_way(&names(&["sales"])),
            InTheWay::Schemas("sales".into())
        );
    }

    #[test]
    fn a_new_storage_root_under_the_same_name_is_refused_with_the_way_out() {
        let current = Catalog::create_body(&props("s3://t-raw/catalog"), "cdkrs-000000000001");
        let e = Catalog::update_body(&props("s3://t-raw/other"), "cdkrs-000000000001", &current)
            .unwrap_err()
            .to_string();
        assert!(e.contains("catalog t_raw") && e.contains("new Name"), "{e}");
    }
}

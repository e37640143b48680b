//! `Custom::DatabricksStorageConfiguration`: the workspace's root bucket (reference §2.2). The
//! API has no update, so any change makes a new configuration (replacement).

use cdkrs_constructs::databricks::{self as db, Runtime, StorageConfigurationAttr};
use serde_json::{json, Value};

use super::{
    check_account, data, delete_tolerant, deleted, done, find_or_create, items, required, text,
    unchanged_and_present, Context, Ctx, HandlerError, Resource, StepResult,
};
use crate::client::Method;
use crate::event::Request;

/// The handler.
pub(crate) struct Storage;

type Props = db::StorageConfiguration<Runtime>;

/// Finds a configuration with this name and bucket (not `exclude`).
async fn lookup(
    ctx: &Ctx,
    p: &Props,
    exclude: Option<&str>,
) -> Result<Option<Value>, HandlerError> {
    let all = ctx
        .client
        .account(Method::GET, "/storage-configurations", None)
        .await
        .context(|| "listing storage configurations".to_owned())?;
    Ok(items(all, "storage_configurations").into_iter().find(|c| {
        text(c, "storage_configuration_name").as_deref()
            == Some(p.storage_configuration_name.as_str())
            && c.pointer("/root_bucket_info/bucket_name")
                .and_then(Value::as_str)
                == Some(p.bucket_name.as_str())
            && text(c, "storage_configuration_id").as_deref() != exclude
    }))
}

/// The configuration for `p`, adopted or created.
async fn ensure(ctx: &Ctx, p: &Props, exclude: Option<&str>) -> StepResult {
    let body = json!({
        "storage_configuration_name": p.storage_configuration_name,
        "root_bucket_info": {"bucket_name": p.bucket_name},
    });
    let (object, _) = find_or_create(
        ctx,
        || lookup(ctx, p, exclude),
        || async {
            ctx.client
                .account_create("/storage-configurations", &body)
                .await
                .context(|| {
                    format!(
                        "creating storage configuration {}",
                        p.storage_configuration_name
                    )
                })
        },
    )
    .await?;
    let id = required(
        &object,
        "storage_configuration_id",
        "creating a storage configuration",
    )?;
    done(
        id.clone(),
        data([(StorageConfigurationAttr::StorageConfigurationId, id)]),
    )
}

impl Resource for Storage {
    type Props = Props;
    type Attr = StorageConfigurationAttr;
    const ATTRS: &'static [StorageConfigurationAttr] = StorageConfigurationAttr::ALL;

    async fn create(ctx: &Ctx, _: &Request, p: &Props, _: Option<Value>) -> StepResult {
        check_account(ctx, &p.account_id)?;
        ensure(ctx, p, None).await
    }

    async fn update(
        ctx: &Ctx,
        _: &Request,
        id: &str,
        p: &Props,
        old: &Props,
        _: Option<Value>,
    ) -> StepResult {
        check_account(ctx, &p.account_id)?;
        if unchanged_and_present(
            ctx,
            p == old,
            &format!("/storage-configurations/{id}"),
            &format!("storage configuration {id}"),
        )
        .await?
        {
            return done(
                id,
                data([(
                    StorageConfigurationAttr::StorageConfigurationId,
                    id.to_owned(),
                )]),
            );
        }
        ensure(ctx, p, Some(id)).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, _: &Props, _: Option<Value>) -> StepResult {
        delete_tolerant(ctx, || async {
            ctx.client
                .account(
                    Method::DELETE,
                    &format!("/storage-configurations/{id}"),
                    None,
                )
                .await
                .context(|| format!("deleting storage configuration {id}"))
        })
        .await?;
        deleted(id)
    }
}

//! `Custom::DatabricksCustomerManagedKey`: a KMS key configuration (reference §2.4). The API has
//! no update, so any change makes a new configuration (replacement). A retried create adopts the
//! configuration of the same key ARN and use cases.

use cdkrs_constructs::databricks::{self as db, CustomerManagedKeyAttr, Runtime};
use serde_json::{json, Value};

use super::{
    check_account, data, delete_tolerant, deleted, done, find_or_create, items, required, same_set,
    strings, text, unchanged_and_present, Context, Ctx, HandlerError, Resource, StepResult,
};
use crate::client::Method;
use crate::event::Request;

/// The handler.
pub(crate) struct Key;

type Props = db::CustomerManagedKey<Runtime>;

/// Finds a configuration of this key ARN and use cases (not `exclude`).
async fn lookup(
    ctx: &Ctx,
    p: &Props,
    exclude: Option<&str>,
) -> Result<Option<Value>, HandlerError> {
    let all = ctx
        .client
        .account(Method::GET, "/customer-managed-keys", None)
        .await
        .context(|| "listing customer-managed key configurations".to_owned())?;
    Ok(items(all, "customer_managed_keys").into_iter().find(|k| {
        k.pointer("/aws_key_info/key_arn").and_then(Value::as_str) == Some(p.key_arn.as_str())
            && same_set(&strings(k, "use_cases"), &p.use_cases)
            && text(k, "customer_managed_key_id").as_deref() != exclude
    }))
}

/// The configuration for `p`, adopted or created.
async fn ensure(ctx: &Ctx, p: &Props, exclude: Option<&str>) -> StepResult {
    let mut key_info = json!({"key_arn": p.key_arn});
    if let Some(alias) = &p.key_alias {
        key_info["key_alias"] = json!(alias);
    }
    if let Some(reuse) = p.reuse_key_for_cluster_volumes {
        key_info["reuse_key_for_cluster_volumes"] = json!(*reuse);
    }
    let body = json!({"use_cases": p.use_cases, "aws_key_info": key_info});
    let (object, _) = find_or_create(
        ctx,
        || lookup(ctx, p, exclude),
        || async {
            ctx.client
                .account_create("/customer-managed-keys", &body)
                .await
                .context(|| format!("creating the key configuration of {}", p.key_arn))
        },
    )
    .await?;
    let id = required(
        &object,
        "customer_managed_key_id",
        "creating a key configuration",
    )?;
    done(
        id.clone(),
        data([(CustomerManagedKeyAttr::CustomerManagedKeyId, id)]),
    )
}

impl Resource for Key {
    type Props = Props;
    type Attr = CustomerManagedKeyAttr;
    const ATTRS: &'static [CustomerManagedKeyAttr] = CustomerManagedKeyAttr::ALL;

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
            &format!("/customer-managed-keys/{id}"),
            &format!("key configuration {id}"),
        )
        .await?
        {
            return done(
                id,
                data([(CustomerManagedKeyAttr::CustomerManagedKeyId, id.to_owned())]),
            );
        }
        ensure(ctx, p, Some(id)).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, _: &Props, _: Option<Value>) -> StepResult {
        delete_tolerant(ctx, || async {
            ctx.client
                .account(
                    Method::DELETE,
                    &format!("/customer-managed-keys/{id}"),
                    None,
                )
                .await
                .context(|| format!("deleting key configuration {id}"))
        })
        .await?;
        deleted(id)
    }
}

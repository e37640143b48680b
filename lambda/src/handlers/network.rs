//! `Custom::DatabricksNetwork`: a customer-managed VPC configuration (reference §2.3). The API
//! has no update, so any change makes a new configuration (replacement); Databricks refuses a
//! replacement that reuses a subnet or security group of the current one.

use cdkrs_constructs::databricks::{self as db, NetworkAttr, Runtime};
use serde_json::{json, Value};

use super::{
    check_account, data, delete_tolerant, deleted, done, find_or_create, items, required, same_set,
    strings, text, unchanged_and_present, Context, Ctx, HandlerError, Resource, StepResult,
};
use crate::client::Method;
use crate::event::Request;

/// The handler.
pub(crate) struct Network;

type Props = db::Network<Runtime>;

/// Finds a configuration with this name, VPC, subnets and security groups (not `exclude`).
async fn lookup(
    ctx: &Ctx,
    p: &Props,
    exclude: Option<&str>,
) -> Result<Option<Value>, HandlerError> {
    let all = ctx
        .client
        .account(Method::GET, "/networks", None)
        .await
        .context(|| "listing network configurations".to_owned())?;
    Ok(items(all, "networks").into_iter().find(|n| {
        text(n, "network_name").as_deref() == Some(p.network_name.as_str())
            && text(n, "vpc_id").as_deref() == Some(p.vpc_id.as_str())
            && same_set(&strings(n, "subnet_ids"), &p.subnet_ids)
            && same_set(&strings(n, "security_group_ids"), &p.security_group_ids)
            && text(n, "network_id").as_deref() != exclude
    }))
}

/// The configuration for `p`, adopted or created.
async fn ensure(ctx: &Ctx, p: &Props, exclude: Option<&str>) -> StepResult {
    let body = json!({
        "network_name": p.network_name,
        "vpc_id": p.vpc_id,
        "subnet_ids": p.subnet_ids,
        "security_group_ids": p.security_group_ids,
    });
    let (object, _) = find_or_create(
        ctx,
        || lookup(ctx, p, exclude),
        || async {
            ctx.client
                .account_create("/networks", &body)
                .await
                .context(|| format!("creating network configuration {}", p.network_name))
        },
    )
    .await?;
    let id = required(&object, "network_id", "creating a network configuration")?;
    done(id.clone(), data([(NetworkAttr::NetworkId, id)]))
}

impl Resource for Network {
    type Props = Props;
    type Attr = NetworkAttr;
    const ATTRS: &'static [NetworkAttr] = NetworkAttr::ALL;

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
            &format!("/networks/{id}"),
            &format!("network configuration {id}"),
        )
        .await?
        {
            return done(id, data([(NetworkAttr::NetworkId, id.to_owned())]));
        }
        ensure(ctx, p, Some(id)).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, _: &Props, _: Option<Value>) -> StepResult {
        delete_tolerant(ctx, || async {
            ctx.client
                .account(Method::DELETE, &format!("/networks/{id}"), None)
                .await
                .context(|| format!("deleting network configuration {id}"))
        })
        .await?;
        deleted(id)
    }
}

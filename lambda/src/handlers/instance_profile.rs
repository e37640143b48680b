//! `Custom::DatabricksInstanceProfile` (reference §3.2): register an instance profile in a
//! workspace (its ARN is the physical id), edit its role, remove it on delete. Databricks checks
//! the profile with an EC2 dry run that fails for a while after the IAM profile was created; the
//! client retries that (`DRY_RUN_FAILED`) for a bounded time.

use cdkrs_databricks::{self as db, InstanceProfileAttr, Runtime};
use serde_json::{json, Value};

use super::{
    data, deleted, done, find_or_create, items, text, Context, Ctx, HandlerError, Resource,
    StepResult,
};
use crate::client::Method;
use crate::event::Request;

/// The handler.
pub(crate) struct InstanceProfile;

type Props = db::InstanceProfile<Runtime>;

const LIST: &str = "/api/2.0/instance-profiles/list";

/// The registration of `arn`, if any.
async fn lookup(ctx: &Ctx, url: &str, arn: &str) -> Result<Option<Value>, HandlerError> {
    let all = ctx
        .client
        .workspace(url, Method::GET, LIST, None)
        .await
        .context(|| format!("listing the instance profiles of {url}"))?;
    Ok(items(all, "instance_profiles")
        .into_iter()
        .find(|p| text(p, "instance_profile_arn").as_deref() == Some(arn)))
}

/// The `add` body for `p`.
fn add_body(p: &Props) -> Value {
    let mut body = json!({
        "instance_profile_arn": p.instance_profile_arn,
        "is_meta_instance_profile": *p.is_meta_instance_profile,
    });
    if let Some(role) = &p.iam_role_arn {
        body["iam_role_arn"] = json!(role);
    }
    if let Some(skip) = p.skip_validation {
        body["skip_validation"] = json!(*skip);
    }
    body
}

/// Registers `p` (or adopts its registration) and makes the registration match `p`.
async fn ensure(ctx: &Ctx, p: &Props) -> StepResult {
    let url = p.workspace_url.as_str();
    let arn = p.instance_profile_arn.as_str();
    let body = add_body(p);
    let (current, adopted) = find_or_create(
        ctx,
        || lookup(ctx, url, arn),
        || async {
            ctx.client
                .workspace_create(url, "/api/2.0/instance-profiles/add", &body)
                .await
                .context(|| format!("registering instance profile {arn}"))
        },
    )
    .await?;
    if adopted {
        reconcile(ctx, p, &current).await?;
    }
    done(
        arn,
        data([(InstanceProfileAttr::InstanceProfileArn, arn.to_owned())]),
    )
}

/// Brings a registration in line with `p`: `edit` changes the role; the meta flag can only be
/// changed by registering again.
async fn reconcile(ctx: &Ctx, p: &Props, current: &Value) -> Result<(), HandlerError> {
    let url = p.workspace_url.as_str();
    let arn = p.instance_profile_arn.as_str();
    let meta = current
        .get("is_meta_instance_profile")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if meta != *p.is_meta_instance_profile {
        ctx.client
            .workspace(
                url,
                Method::POST,
                "/api/2.0/instance-profiles/remove",
                Some(&json!({"instance_profile_arn": arn})),
            )
            .await
            .context(|| format!("removing instance profile {arn} to change its meta flag"))?;
        ctx.client
            .workspace(
                url,
                Method::POST,
                "/api/2.0/instance-profiles/add",
                Some(&add_body(p)),
            )
            .await
            .context(|| format!("registering instance profile {arn} again"))?;
        return Ok(());
    }
    if text(current, "iam_role_arn") != p.iam_role_arn {
        let mut body = json!({"instance_profile_arn": arn});
        if let Some(role) = &p.iam_role_arn {
            body["iam_role_arn"] = json!(role);
        }
        ctx.client
            .workspace(
                url,
                Method::POST,
                "/api/2.0/instance-profiles/edit",
                Some(&body),
            )
            .await
            .context(|| format!("editing the role of instance profile {arn}"))?;
    }
    Ok(())
}

impl Resource for InstanceProfile {
    type Props = Props;
    type Attr = InstanceProfileAttr;
    const ATTRS: &'static [InstanceProfileAttr] = InstanceProfileAttr::ALL;

    async fn create(ctx: &Ctx, _: &Request, p: &Props, _: Option<Value>) -> StepResult {
        ensure(ctx, p).await
    }

    async fn update(
        ctx: &Ctx,
        _: &Request,
        _: &str,
        p: &Props,
        _: &Props,
        _: Option<Value>,
    ) -> StepResult {
        // A new ARN is a new physical id (CloudFormation removes the old one); the same ARN is
        // brought in line in place (registered again if it went missing).
        ensure(ctx, p).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, p: &Props, _: Option<Value>) -> StepResult {
        match ctx
            .client
            .workspace(
                &p.workspace_url,
                Method::POST,
                "/api/2.0/instance-profiles/remove",
                Some(&json!({"instance_profile_arn": id})),
            )
            .await
        {
            Ok(_) => deleted(id),
            Err(e) if e.is_not_found() => deleted(id),
            Err(e) => Err(e).context(|| format!("removing instance profile {id}")),
        }
    }
}

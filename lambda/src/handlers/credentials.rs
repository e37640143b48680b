//! `Custom::DatabricksCredentials`: a credential configuration (reference §2.1). The API has no
//! update, so any change makes a new configuration (replacement). Names are unique in the
//! account and the old configuration still exists while its replacement is made, so a
//! replacement that keeps the name gets it suffixed with a token of the event.

use cdkrs_constructs::databricks::{self as db, CredentialsAttr, Runtime};
use serde_json::{json, Value};

use super::{
    check_account, data, delete_tolerant, deleted, done, find_or_create, items, request_token,
    required, text, unchanged_and_present, Context, Ctx, HandlerError, Resource, StepResult,
};
use crate::client::Method;
use crate::event::Request;

/// The handler.
pub(crate) struct Credentials;

type Props = db::Credentials<Runtime>;

/// Finds the configuration named `name` (not `exclude`); one with another role is a conflict.
async fn lookup(
    ctx: &Ctx,
    name: &str,
    role_arn: &str,
    exclude: Option<&str>,
) -> Result<Option<Value>, HandlerError> {
    let all = ctx
        .client
        .account(Method::GET, "/credentials", None)
        .await
        .context(|| "listing credential configurations".to_owned())?;
    let found = items(all, "credentials").into_iter().find(|c| {
        text(c, "credentials_name").as_deref() == Some(name)
            && text(c, "credentials_id").as_deref() != exclude
    });
    match found {
        Some(c) => {
            let role = c
                .pointer("/aws_credentials/sts_role/role_arn")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if role == role_arn {
                Ok(Some(c))
            } else {
                Err(HandlerError::Invalid(format!(
                    "a credential configuration named {name} already exists with role {role}, not {role_arn} (names are unique in the account)"
                )))
            }
        }
        None => Ok(None),
    }
}

/// The configuration named `name` for `role_arn`, adopted or created.
async fn ensure(ctx: &Ctx, name: &str, role_arn: &str, exclude: Option<&str>) -> StepResult {
    let body = json!({
        "credentials_name": name,
        "aws_credentials": {"sts_role": {"role_arn": role_arn}},
    });
    let (object, _) = find_or_create(
        ctx,
        || lookup(ctx, name, role_arn, exclude),
        || async {
            ctx.client
                .account_create("/credentials", &body)
                .await
                .context(|| format!("creating credential configuration {name}"))
        },
    )
    .await?;
    let id = required(&object, "credentials_id", "creating credentials")?;
    done(id.clone(), data([(CredentialsAttr::CredentialsId, id)]))
}

impl Resource for Credentials {
    type Props = Props;
    type Attr = CredentialsAttr;
    const ATTRS: &'static [CredentialsAttr] = CredentialsAttr::ALL;

    async fn create(ctx: &Ctx, _: &Request, p: &Props, _: Option<Value>) -> StepResult {
        check_account(ctx, &p.account_id)?;
        ensure(ctx, &p.credentials_name, &p.role_arn, None).await
    }

    async fn update(
        ctx: &Ctx,
        request: &Request,
        id: &str,
        p: &Props,
        old: &Props,
        _: Option<Value>,
    ) -> StepResult {
        check_account(ctx, &p.account_id)?;
        if unchanged_and_present(
            ctx,
            p == old,
            &format!("/credentials/{id}"),
            &format!("credential configuration {id}"),
        )
        .await?
        {
            return done(id, data([(CredentialsAttr::CredentialsId, id.to_owned())]));
        }
        let name = if p.credentials_name == old.credentials_name && p != old {
            format!("{}-{}", p.credentials_name, request_token(request))
        } else {
            p.credentials_name.clone()
        };
        ensure(ctx, &name, &p.role_arn, Some(id)).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, _: &Props, _: Option<Value>) -> StepResult {
        delete_tolerant(ctx, || async {
            ctx.client
                .account(Method::DELETE, &format!("/credentials/{id}"), None)
                .await
                .context(|| format!("deleting credential configuration {id}"))
        })
        .await?;
        deleted(id)
    }
}

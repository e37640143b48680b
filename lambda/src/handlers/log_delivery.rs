//! `Custom::DatabricksLogDelivery` (reference §2.8). A log-delivery configuration cannot be
//! deleted or changed, only disabled: any change makes a new one (replacement) and Delete
//! disables it. Because only two enabled configurations per log type may exist, a retried
//! Create adopts (and re-enables) a configuration with the same name and settings instead of
//! burning another slot.

use cdkrs_constructs::databricks::{self as db, LogDeliveryAttr, Runtime};
use serde_json::{json, Value};

use super::{
    check_account, data, deleted, done, find_or_create, required, text, Context, Ctx, HandlerError,
    Resource, StepResult,
};
use crate::client::{with_query, Method};
use crate::event::Request;

/// The handler.
pub(crate) struct LogDelivery;

type Props = db::LogDelivery<Runtime>;

/// Pages read when listing, at most.
const MAX_PAGES: usize = 50;

/// The workspace ids of the filter, as numbers.
fn workspace_ids(p: &Props) -> Result<Vec<i64>, HandlerError> {
    p.workspace_ids_filter
        .iter()
        .flatten()
        .map(|id| {
            id.trim().parse::<i64>().map_err(|_| {
                HandlerError::Invalid(format!("WorkspaceIdsFilter: {id:?} is not a workspace id"))
            })
        })
        .collect()
}

/// Whether a configuration carries the settings of `p`.
fn matches(c: &Value, p: &Props, ids: &[i64]) -> bool {
    let mut theirs: Vec<i64> = c
        .get("workspace_ids_filter")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let mut mine = ids.to_vec();
    theirs.sort_unstable();
    mine.sort_unstable();
    text(c, "config_name").as_deref() == Some(p.config_name.as_str())
        && text(c, "log_type").as_deref() == Some(p.log_type.as_str())
        && text(c, "output_format").as_deref() == Some(p.output_format.as_str())
        && text(c, "credentials_id").as_deref() == Some(p.credentials_id.as_str())
        && text(c, "storage_configuration_id").as_deref()
            == Some(p.storage_configuration_id.as_str())
        && text(c, "delivery_path_prefix").filter(|s| !s.is_empty())
            == p.delivery_path_prefix.clone().filter(|s| !s.is_empty())
        && theirs == mine
}

/// Finds a configuration with the settings of `p` (not `exclude`), enabling it if needed.
async fn lookup(
    ctx: &Ctx,
    p: &Props,
    ids: &[i64],
    exclude: Option<&str>,
) -> Result<Option<Value>, HandlerError> {
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let path = match &token {
            Some(t) => with_query("/log-delivery", &[("page_token", t)]),
            None => "/log-delivery".to_owned(),
        };
        let page = ctx
            .client
            .account(Method::GET, &path, None)
            .await
            .context(|| "listing log delivery configurations".to_owned())?;
        let found = page
            .get("log_delivery_configurations")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|c| matches(c, p, ids) && text(c, "config_id").as_deref() != exclude)
                    .cloned()
            });
        if let Some(config) = found {
            if text(&config, "status").as_deref() == Some("DISABLED") {
                let id = required(&config, "config_id", "listing log delivery")?;
                ctx.client
                    .account(
                        Method::PATCH,
                        &format!("/log-delivery/{id}"),
                        Some(&json!({"status": "ENABLED"})),
                    )
                    .await
                    .context(|| format!("re-enabling log delivery configuration {id}"))?;
            }
            return Ok(Some(config));
        }
        token = text(&page, "next_page_token").filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    Ok(None)
}

/// The configuration for `p`, adopted or created.
async fn ensure(ctx: &Ctx, p: &Props, exclude: Option<&str>) -> StepResult {
    let ids = workspace_ids(p)?;
    let mut config = json!({
        "config_name": p.config_name,
        "log_type": p.log_type,
        "output_format": p.output_format,
        "credentials_id": p.credentials_id,
        "storage_configuration_id": p.storage_configuration_id,
        "status": "ENABLED",
    });
    if let Some(prefix) = p.delivery_path_prefix.as_ref().filter(|s| !s.is_empty()) {
        config["delivery_path_prefix"] = json!(prefix);
    }
    if !ids.is_empty() {
        config["workspace_ids_filter"] = json!(ids);
    }
    let body = json!({"log_delivery_configuration": config});
    let (object, _) = find_or_create(
        ctx,
        || lookup(ctx, p, &ids, exclude),
        || async {
            ctx.client
                .account_create("/log-delivery", &body)
                .await
                .map(|v| v.get("log_delivery_configuration").cloned().unwrap_or(v))
                .context(|| format!("creating log delivery configuration {}", p.config_name))
        },
    )
    .await?;
    let id = required(
        &object,
        "config_id",
        "creating a log delivery configuration",
    )?;
    done(id.clone(), data([(LogDeliveryAttr::ConfigId, id)]))
}

impl Resource for LogDelivery {
    type Props = Props;
    type Attr = LogDeliveryAttr;
    const ATTRS: &'static [LogDeliveryAttr] = LogDeliveryAttr::ALL;

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
        if p == old {
            return done(id, data([(LogDeliveryAttr::ConfigId, id.to_owned())]));
        }
        ensure(ctx, p, Some(id)).await
    }

    async fn delete(ctx: &Ctx, _: &Request, id: &str, _: &Props, _: Option<Value>) -> StepResult {
        match ctx
            .client
            .account(
                Method::PATCH,
                &format!("/log-delivery/{id}"),
                Some(&json!({"status": "DISABLED"})),
            )
            .await
        {
            Ok(_) => deleted(id),
            Err(e) if e.is_not_found() => deleted(id),
            Err(e) => Err(e).context(|| format!("disabling log delivery configuration {id}")),
        }
    }
}

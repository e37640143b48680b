//! `Custom::DatabricksLogDelivery` (reference §2.8), one [`AccountObject`] with three
//! differences: the list is wrapped and paged (`next_page_token`), a configuration cannot be
//! deleted or changed, only disabled (any change makes a new one, a replacement, and Delete
//! disables it), and because only two enabled configurations per log type may exist, a retried
//! Create adopts (and re-enables) this resource's configuration with the same settings instead
//! of burning another slot. Its name is the configured one with the resource's mark appended.
//! An enabled configuration of somebody else's named exactly as configured fails the Create; a
//! disabled one is inert and cannot be deleted, so it is ignored.

use cdkrs_databricks::{self as db, LogDeliveryAttr, Runtime};
use serde_json::{json, Value};

use super::account_object::{AccountObject, Owner};
use super::{mark, required, text, Context, Ctx, HandlerError};
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

impl AccountObject for LogDelivery {
    type Props = Props;
    type Attr = LogDeliveryAttr;
    const ID_ATTR: LogDeliveryAttr = LogDeliveryAttr::ConfigId;
    const ATTRS: &'static [LogDeliveryAttr] = LogDeliveryAttr::ALL;
    const WHAT: &'static str = "log delivery configuration";
    const PATH: &'static str = "/log-delivery";
    const LIST_KEY: &'static str = "log_delivery_configurations";
    const ID_FIELD: &'static str = "config_id";
    const NAME_FIELD: Option<&'static str> = Some("config_name");

    fn account_id(p: &Props) -> &str {
        &p.account_id
    }

    fn name(p: &Props) -> Option<&str> {
        Some(&p.config_name)
    }

    fn body(p: &Props, name: Option<&str>) -> Result<Value, HandlerError> {
        let ids = workspace_ids(p)?;
        let mut config = json!({
            "config_name": name,
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
        Ok(json!({"log_delivery_configuration": config}))
    }

    fn matches(c: &Value, p: &Props) -> bool {
        let Ok(mut mine) = workspace_ids(p) else {
            return false;
        };
        let mut theirs: Vec<i64> = c
            .get("workspace_ids_filter")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        theirs.sort_unstable();
        mine.sort_unstable();
        text(c, "log_type").as_deref() == Some(p.log_type.as_str())
            && text(c, "output_format").as_deref() == Some(p.output_format.as_str())
            && text(c, "credentials_id").as_deref() == Some(p.credentials_id.as_str())
            && text(c, "storage_configuration_id").as_deref()
                == Some(p.storage_configuration_id.as_str())
            && text(c, "delivery_path_prefix").filter(|s| !s.is_empty())
                == p.delivery_path_prefix.clone().filter(|s| !s.is_empty())
            && theirs == mine
    }

    fn owner(request: &Request, p: &Props, c: &Value) -> Owner {
        let name = text(c, "config_name").unwrap_or_default();
        if mark::is_named(&name, &p.config_name, &mark::mark(request)) {
            Owner::Ours
        } else if name == p.config_name && text(c, "status").as_deref() != Some("DISABLED") {
            Owner::Foreign
        } else {
            Owner::Unrelated
        }
    }

    fn foreign(c: &Value) -> HandlerError {
        mark::foreign_with_fix(
            Self::WHAT,
            &text(c, "config_name").unwrap_or_default(),
            &text(c, "config_id").unwrap_or_default(),
            "choose another ConfigName in the config, or disable that configuration if it is \
             unused (log delivery configurations cannot be deleted)",
        )
    }

    async fn list(ctx: &Ctx) -> Result<Vec<Value>, HandlerError> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let path = match &token {
                Some(t) => with_query(Self::PATH, &[("page_token", t)]),
                None => Self::PATH.to_owned(),
            };
            let page = ctx
                .client
                .account(Method::GET, &path, None)
                .await
                .context(|| "listing log delivery configurations".to_owned())?;
            token = text(&page, "next_page_token").filter(|t| !t.is_empty());
            all.extend(super::items(page, Self::LIST_KEY));
            if token.is_none() {
                break;
            }
        }
        Ok(all)
    }

    fn created(answer: Value) -> Value {
        answer
            .get("log_delivery_configuration")
            .cloned()
            .unwrap_or(answer)
    }

    async fn adopted(ctx: &Ctx, config: &Value) -> Result<(), HandlerError> {
        if text(config, "status").as_deref() == Some("DISABLED") {
            let id = required(config, "config_id", "listing log delivery")?;
            ctx.client
                .account(
                    Method::PATCH,
                    &format!("{}/{id}", Self::PATH),
                    Some(&json!({"status": "ENABLED"})),
                )
                .await
                .context(|| format!("re-enabling log delivery configuration {id}"))?;
        }
        Ok(())
    }

    async fn remove(ctx: &Ctx, id: &str) -> Result<(), HandlerError> {
        match ctx
            .client
            .account(
                Method::PATCH,
                &format!("{}/{id}", Self::PATH),
                Some(&json!({"status": "DISABLED"})),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e).context(|| format!("disabling log delivery configuration {id}")),
        }
    }
}

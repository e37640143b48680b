//! `FlowLog`: VPC flow logs delivered to an S3 bucket, with the bucket policy the log delivery
//! service needs, scoped to this account and its log-delivery source ARNs.

use crate::bucket::Bucket;
use crate::ec2::{flow_log as f, CfnFlowLog};
use crate::error::ConstructError;
use crate::key::KEY_READ_WRITE_ACTIONS;
use crate::policy::{Condition, Principal, Statement};
use crate::vpc::Vpc;
use crate::{sub, Handle, Stack, Tag, Value};

/// Which traffic is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Traffic {
    /// Accepted and rejected traffic.
    #[default]
    All,
    /// Accepted traffic only.
    Accept,
    /// Rejected traffic only.
    Reject,
}

/// The fields of each flow-log record.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// AWS's default format (version 2 fields: account, interface, addresses, ports, protocol,
    /// packets, bytes, start, end, action, log status).
    #[default]
    Default,
    /// These fields, in this order (`subnet-id`, `pkt-srcaddr`, `tcp-flags`, …; see "Flow log
    /// records" in the Amazon VPC user guide), written as `${field} ${field} …`.
    Custom(Vec<String>),
}

impl LogFormat {
    /// The `LogFormat` property value, or `None` for the default.
    fn render(&self) -> Result<Option<String>, String> {
        let LogFormat::Custom(fields) = self else {
            return Ok(None);
        };
        if fields.is_empty() {
            return Err("a custom format needs at least one field".into());
        }
        for (i, f) in fields.iter().enumerate() {
            let ok = !f.is_empty()
                && f.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(format!(
                    "field `{f}` is not a flow-log field name (lowercase letters, digits, `-`)"
                ));
            }
            if fields[..i].contains(f) {
                return Err(format!("field `{f}` is listed twice"));
            }
        }
        Ok(Some(
            fields
                .iter()
                .map(|f| format!("${{{f}}}"))
                .collect::<Vec<_>>()
                .join(" "),
        ))
    }
}

/// Props of a [`FlowLog`].
#[derive(Clone, Debug)]
pub struct FlowLogProps {
    /// Traffic logged. Default: all.
    pub traffic: Traffic,
    /// Key prefix inside the bucket (no leading or trailing `/`). Default: `vpc-flow-logs`.
    pub prefix: String,
    /// Aggregation interval in seconds, 60 or 600. Default: 600.
    pub max_aggregation_interval_secs: i64,
    /// The record format. Default: AWS's default format.
    pub log_format: LogFormat,
    /// Tags. Default: none.
    pub tags: Vec<Tag>,
}

impl Default for FlowLogProps {
    fn default() -> Self {
        FlowLogProps {
            traffic: Traffic::All,
            prefix: "vpc-flow-logs".to_owned(),
            max_aggregation_interval_secs: 600,
            log_format: LogFormat::Default,
            tags: Vec::new(),
        }
    }
}

/// A VPC flow log into S3.
#[derive(Clone, Debug)]
pub struct FlowLog {
    handle: Handle<CfnFlowLog>,
}

impl FlowLog {
    /// Logs `vpc`'s traffic into `bucket` under `props.prefix`.
    pub fn new(
        stack: &mut Stack,
        id: &str,
        vpc: &Vpc,
        bucket: &Bucket,
        props: FlowLogProps,
    ) -> Result<FlowLog, ConstructError> {
        let err = |field: &str, msg: String| ConstructError::new("FlowLog", id, field, msg);
        if ![60, 600].contains(&props.max_aggregation_interval_secs) {
            return Err(err(
                "max_aggregation_interval_secs",
                format!(
                    "{} is neither 60 nor 600",
                    props.max_aggregation_interval_secs
                ),
            ));
        }
        let prefix_ok = !props.prefix.is_empty()
            && !props.prefix.starts_with('/')
            && !props.prefix.ends_with('/')
            && !props.prefix.contains("AWSLogs");
        if !prefix_ok {
            return Err(err(
                "prefix",
                format!(
                    "`{}` must be non-empty, without a leading or trailing `/`, and not contain `AWSLogs`",
                    props.prefix
                ),
            ));
        }
        let log_format = props
            .log_format
            .render()
            .map_err(|m| err("log_format", m))?;
        let source_arn =
            || sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*").build();
        let delivery = || Principal::service("delivery.logs.amazonaws.com");
        bucket.add_to_resource_policy(
            stack,
            Statement::allow()
                .sid(&format!("{id}DeliveryWrite"))
                .principal(delivery())
                .actions(["s3:PutObject"])
                .resource(
                    sub(format!(
                        "${{Arn}}/{}/AWSLogs/${{AWS::AccountId}}/*",
                        props.prefix
                    ))
                    .var("Arn", bucket.arn())
                    .build(),
                )
                .condition(Condition::new(
                    "StringEquals",
                    "s3:x-amz-acl",
                    ["bucket-owner-full-control".into()],
                ))
                .condition(Condition::source_account_self())
                .condition(Condition::source_arn(source_arn())),
        )?;
        bucket.add_to_resource_policy(
            stack,
            Statement::allow()
                .sid(&format!("{id}DeliveryAclCheck"))
                .principal(delivery())
                .actions(["s3:GetBucketAcl", "s3:ListBucket"])
                .resource(bucket.arn())
                .condition(Condition::source_account_self())
                .condition(Condition::source_arn(source_arn())),
        )?;
        if let Some(key) = bucket.key() {
            key.add_to_policy(
                stack,
                Statement::allow()
                    .sid(&format!("{id}DeliveryUsesKey"))
                    .principal(delivery())
                    .actions(KEY_READ_WRITE_ACTIONS.iter().copied())
                    .any_resource()
                    .condition(Condition::source_account_self())
                    .condition(Condition::source_arn(source_arn())),
            )?;
        }
        let mut l1 = CfnFlowLog::new(vpc.id(), f::ResourceType::Vpc);
        l1.log_destination_type = Some(f::LogDestinationType::S3.into());
        l1.log_destination = Some(
            sub(format!("${{Arn}}/{}", props.prefix))
                .var("Arn", bucket.arn())
                .build(),
        );
        l1.traffic_type = Some(
            match props.traffic {
                Traffic::All => f::TrafficType::All,
                Traffic::Accept => f::TrafficType::Accept,
                Traffic::Reject => f::TrafficType::Reject,
            }
            .into(),
        );
        l1.max_aggregation_interval = Some(props.max_aggregation_interval_secs.into());
        l1.log_format = log_format.map(Value::from);
        l1.tags = (!props.tags.is_empty()).then_some(props.tags);
        // Delivery checks the bucket policy when the flow log is created.
        let options = crate::ResourceOptions {
            depends_on: vec![bucket.policy_handle().erase()],
            ..Default::default()
        };
        Ok(FlowLog {
            handle: stack.add_with(id, l1, options),
        })
    }

    /// `Ref` (the flow log id).
    pub fn id(&self) -> Value<String> {
        self.handle.reference()
    }

    /// The L1 handle.
    pub fn handle(&self) -> &Handle<CfnFlowLog> {
        &self.handle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket::{BucketEncryption, BucketProps};
    use crate::vpc::VpcProps;
    use serde_json::json;

    /// A default VPC and an SSE-S3 bucket for its flow logs.
    fn vpc_and_logs(stack: &mut Stack) -> (Vpc, Bucket) {
        let vpc = Vpc::new(stack, "Vpc", VpcProps::default()).unwrap();
        let logs = Bucket::new(
            stack,
            "Logs",
            BucketEncryption::S3Managed,
            BucketProps::default(),
        )
        .unwrap();
        (vpc, logs)
    }

    #[test]
    fn flow_log_delivers_all_traffic_to_the_bucket_with_scoped_permissions() {
        let mut stack = Stack::new("t");
        let (vpc, logs) = vpc_and_logs(&mut stack);
        FlowLog::new(&mut stack, "FlowLog", &vpc, &logs, FlowLogProps::default()).unwrap();
        let t = stack.synth().unwrap();
        let fl = t.resource("FlowLog").unwrap();
        assert_eq!(fl["Properties"]["TrafficType"], "ALL");
        assert_eq!(fl["Properties"]["ResourceType"], "VPC");
        assert_eq!(fl["Properties"]["LogDestinationType"], "s3");
        assert_eq!(fl["DependsOn"], json!(["LogsPolicy"]));
        let st = &t.resource("LogsPolicy").unwrap()["Properties"]["PolicyDocument"]["Statement"];
        assert_eq!(st[1]["Sid"], "FlowLogDeliveryWrite");
        assert_eq!(
            st[1]["Condition"]["StringEquals"],
            json!({"aws:SourceAccount": {"Ref": "AWS::AccountId"}, "s3:x-amz-acl": "bucket-owner-full-control"})
        );
        assert_eq!(st[2]["Action"], json!(["s3:GetBucketAcl", "s3:ListBucket"]));
    }

    #[test]
    fn flow_log_props_are_checked() {
        let mut stack = Stack::new("t");
        let (vpc, logs) = vpc_and_logs(&mut stack);
        let e = FlowLog::new(
            &mut stack,
            "F",
            &vpc,
            &logs,
            FlowLogProps {
                max_aggregation_interval_secs: 300,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "FlowLog `F`: max_aggregation_interval_secs: 300 is neither 60 nor 600"
        );
        let e = FlowLog::new(
            &mut stack,
            "F",
            &vpc,
            &logs,
            FlowLogProps {
                prefix: "/x/".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("FlowLog `F`: prefix: `/x/` must be non-empty"));
        for (fields, why) in [
            (vec![], "a custom format needs at least one field"),
            (
                vec!["srcaddr", "srcaddr"],
                "field `srcaddr` is listed twice",
            ),
            (
                vec!["${srcaddr}"],
                "field `${srcaddr}` is not a flow-log field name (lowercase letters, digits, `-`)",
            ),
        ] {
            let e = FlowLog::new(
                &mut stack,
                "F",
                &vpc,
                &logs,
                FlowLogProps {
                    log_format: LogFormat::Custom(fields.into_iter().map(String::from).collect()),
                    ..Default::default()
                },
            )
            .unwrap_err();
            assert_eq!(e.to_string(), format!("FlowLog `F`: log_format: {why}"));
        }
    }

    #[test]
    fn custom_log_format_lists_the_fields_in_order() {
        let mut stack = Stack::new("t");
        let (vpc, logs) = vpc_and_logs(&mut stack);
        FlowLog::new(
            &mut stack,
            "FlowLog",
            &vpc,
            &logs,
            FlowLogProps {
                log_format: LogFormat::Custom(vec!["subnet-id".into(), "tcp-flags".into()]),
                ..Default::default()
            },
        )
        .unwrap();
        let t = stack.synth().unwrap();
        assert_eq!(
            t.resource("FlowLog").unwrap()["Properties"]["LogFormat"],
            "${subnet-id} ${tcp-flags}"
        );
        let mut plain = Stack::new("p");
        let vpc = Vpc::new(&mut plain, "Vpc", VpcProps::default()).unwrap();
        let logs = Bucket::new(
            &mut plain,
            "Logs",
            BucketEncryption::S3Managed,
            BucketProps::default(),
        )
        .unwrap();
        FlowLog::new(&mut plain, "FlowLog", &vpc, &logs, FlowLogProps::default()).unwrap();
        let t = plain.synth().unwrap();
        assert!(t.resource("FlowLog").unwrap()["Properties"]
            .get("LogFormat")
            .is_none());
    }
}

//! The Databricks provider: the custom-resource Lambda, its role and its log group.

use std::collections::BTreeMap;

use cdkrs_constructs::function::{Function, FunctionCode, FunctionProps};
use cdkrs_constructs::policy::{Condition, PolicyDocument, Principal, Statement};
use cdkrs_constructs::role::{Role, RoleProps};
use cdkrs_constructs::{sub, ConstructError, ParamHandle, Pseudo, Stack, Tag, Value};
use cdkrs_databricks::env as var;

use crate::config::SecretRef;
use crate::environment::storage::Storage;
use crate::environment::suppress;
use crate::model::{Environment, RoleName};

/// The Databricks account API host the provider talks to.
pub const ACCOUNTS_HOST: &str = "https://accounts.cloud.databricks.com";

/// Adds the provider function and its role: it may write its logs, read the service
/// principal's secret and invoke itself (long operations continue in a new invocation).
pub fn add(
    stack: &mut Stack,
    config: &Environment,
    tags: &[Tag],
    storage: &Storage,
    code_bucket: &ParamHandle<String>,
    code_key: &ParamHandle<String>,
) -> Result<Function, ConstructError> {
    let role = Role::new(
        stack,
        "ProviderRole",
        PolicyDocument::of([Statement::allow()
            .principal(Principal::service("lambda.amazonaws.com"))
            .actions(["sts:AssumeRole"])
            .condition(Condition::source_account_self())]),
        RoleProps {
            role_name: Some(config.names().role(RoleName::Provider).into()),
            description: Some("The cdkrs Databricks provider Lambda".into()),
            tags: tags.to_vec(),
            ..Default::default()
        },
    )?;

    let mut env: BTreeMap<String, Value<String>> = BTreeMap::new();
    let sp = &config.databricks().service_principal;
    env.insert(
        var::ACCOUNT_ID.into(),
        config.databricks().account_id.as_str().into(),
    );
    env.insert(var::ACCOUNTS_HOST.into(), ACCOUNTS_HOST.into());
    env.insert(var::CLIENT_ID.into(), sp.client_id.as_str().into());
    let via = |service: &str| {
        Condition::new(
            "StringEquals",
            "kms:ViaService",
            [sub(format!("{service}.${{AWS::Region}}.amazonaws.com")).build()],
        )
    };
    let any_key =
        || sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*").build();
    match &sp.secret {
        SecretRef::SecretsManager {
            secrets_manager_arn: arn,
        } => {
            env.insert(var::CLIENT_SECRET_ARN.into(), arn.as_str().into());
            role.add_to_policy(
                stack,
                Statement::allow()
                    .sid("ReadDatabricksSecret")
                    .actions([
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                    ])
                    .resource(arn.as_str()),
            )?;
            role.add_to_policy(
                stack,
                Statement::allow()
                    .sid("DecryptDatabricksSecret")
                    .actions(["kms:Decrypt"])
                    .resource(any_key())
                    .condition(via("secretsmanager")),
            )?;
        }
        SecretRef::Ssm {
            ssm_parameter: name,
        } => {
            env.insert(
                var::CLIENT_SECRET_SSM_PARAMETER.into(),
                name.as_str().into(),
            );
            let path = name.trim_start_matches('/');
            role.add_to_policy(
                stack,
                Statement::allow()
                    .sid("ReadDatabricksSecret")
                    .actions(["ssm:GetParameter"])
                    .resource(
                        sub(format!(
                            "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/{path}"
                        ))
                        .build(),
                    ),
            )?;
            role.add_to_policy(
                stack,
                Statement::allow()
                    .sid("DecryptDatabricksSecret")
                    .actions(["kms:Decrypt"])
                    .resource(any_key())
                    .condition(via("ssm")),
            )?;
        }
    }
    env.insert("DATABRICKS_REGION".into(), Pseudo::Region.value());
    env.insert("RUST_LOG".into(), "info".into());
    let _ = storage.logging_key.grant_decrypt(stack, &role)?;

    let function = Function::new(
        stack,
        "DatabricksProvider",
        FunctionCode {
            s3_bucket: code_bucket.value(),
            s3_key: code_key.value(),
        },
        &role,
        FunctionProps {
            function_name: Some(config.names().of("databricks-provider").into()),
            description: Some("cdkrs: creates, updates and deletes the Databricks side".into()),
            memory_mb: 256,
            // Long operations re-invoke the function before this runs out.
            timeout_secs: 900,
            environment: env,
            environment_key: Some(&storage.logging_key),
            reserved_concurrency: Some(10),
            log_key: Some(&storage.logging_key),
            tags: tags.to_vec(),
            ..Default::default()
        },
    )?;
    let _ = function.grant_invoke(stack, &role)?;
    suppress(
        stack,
        function.handle(),
        &[
            (
                "CKV_AWS_116",
                "invoked asynchronously, by CloudFormation and by itself to continue long operations, it answers CloudFormation on every path (success, error, panic, approaching deadline) before it returns; an event that still fails is retried by Lambda and then bounded by the resource's ServiceTimeout, so a dead-letter queue would only collect events of stack operations that have already failed, which nobody can replay",
            ),
            (
                "CKV_AWS_117",
                "the provider calls the Databricks REST API on the internet; inside the VPC it would depend on the NAT gateway that network sleep removes",
            ),
        ],
    );
    Ok(function)
}

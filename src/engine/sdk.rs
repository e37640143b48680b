//! The engine's seam implemented with the AWS SDK for Rust.

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetType, Parameter, ResourceToImport, StackStatus, Tag,
};

use super::api::{
    AlreadyExists, CallerIdentity, ChangeSetCreated, ChangeSetInfo, ChangeSetKind,
    ChangeSetNotFound, ChangeSetRequest, CloudFormation, ContinueRollbackRequest,
    DeleteStackRequest, DeletedStack, ExecuteRequest, Identity, ObjectStore, ResourceChangeInfo,
    RollbackRequest, StackEvent, StackInfo, StackOutput, StackResource, TemplateSource,
};
use crate::aws::errors::{self, AwsError, Target};
use crate::aws::Clients;

/// An SDK error as one readable line: what the user must fix when it is theirs (credentials,
/// network, region: [`errors::problem`]); else the service's code and message when it sent them;
/// the HTTP status and the start of the body when it sent neither (an emulator's HTML 500 page);
/// else the error chain. The SDK's full report is kept for `--verbose`.
fn sdk_error<E>(err: SdkError<E, HttpResponse>, target: Target<'_>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = if let Some(problem) = errors::problem(&err) {
        problem.message(target)
    } else {
        match (err.code(), err.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => match err.raw_response() {
                Some(raw) => {
                    let body = raw
                        .body()
                        .bytes()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    let text: String = strip_tags(&body)
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!(
                        "the service answered HTTP {} without an error code: {}",
                        raw.status().as_u16(),
                        text.chars().take(300).collect::<String>()
                    )
                }
                None => errors::one_line(&err),
            },
        }
    };
    anyhow::Error::new(AwsError::new(
        message,
        DisplayErrorContext(&err).to_string(),
    ))
}

/// Drops `<…>` tags from an HTML error page.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The services' names in messages.
const CFN: &str = "CloudFormation";
const S3: &str = "S3";

impl CloudFormation for Clients {
    async fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>> {
        let out = match self.cfn.describe_stacks().stack_name(name).send().await {
            Ok(out) => out,
            Err(e) if errors::is_stack_missing(&e) => return Ok(None),
            Err(e) => {
                return Err(sdk_error(e, self.target(CFN)))
                    .with_context(|| format!("describing stack {name}"))
            }
        };
        let Some(stack) = out.stacks().first() else {
            return Ok(None);
        };
        Ok(Some(StackInfo {
            name: stack.stack_name().unwrap_or(name).to_owned(),
            id: stack.stack_id().unwrap_or_default().to_owned(),
            status: stack
                .stack_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            status_reason: stack.stack_status_reason().map(str::to_owned),
            parameters: stack
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_owned(),
                        p.parameter_value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect(),
            outputs: stack
                .outputs()
                .iter()
                .filter_map(|o| {
                    Some(StackOutput {
                        key: o.output_key()?.to_owned(),
                        value: o.output_value().unwrap_or_default().to_owned(),
                        description: o.description().map(str::to_owned),
                    })
                })
                .collect(),
            termination_protection: stack.enable_termination_protection().unwrap_or(false),
        }))
    }

    async fn get_template(&self, name: &str) -> Result<String> {
        let out = self
            .cfn
            .get_template()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| sdk_error(e, self.target(CFN)))
            .with_context(|| format!("reading the deployed template of {name}"))?;
        out.template_body()
            .map(str::to_owned)
            .with_context(|| format!("GetTemplate of {name} returned no template body"))
    }

    async fn create_change_set(&self, request: &ChangeSetRequest) -> Result<ChangeSetCreated> {
        let mut call = self
            .cfn
            .create_change_set()
            .stack_name(&request.stack_name)
            .change_set_name(&request.change_set_name)
            .change_set_type(match request.kind {
                ChangeSetKind::Create => ChangeSetType::Create,
                ChangeSetKind::Update => ChangeSetType::Update,
                ChangeSetKind::Import => ChangeSetType::Import,
            })
            .description(&request.description)
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam);
        call = match &request.template {
            TemplateSource::Body(body) => call.template_body(body),
            TemplateSource::Url(url) => call.template_url(url),
            TemplateSource::Previous => call.use_previous_template(true),
        };
        for r in &request.resources_to_import {
            call = call.resources_to_import(
                ResourceToImport::builder()
                    .resource_type(&r.resource_type)
                    .logical_resource_id(&r.logical_id)
                    .set_resource_identifier(Some(r.identifier.clone().into_iter().collect()))
                    .build(),
            );
        }
        for (key, value) in &request.tags {
            call = call.tags(Tag::builder().key(key).value(value).build());
        }
        call = call
            .set_role_arn(request.role_arn.clone())
            .set_client_token(request.client_token.clone());
        for p in &request.parameters {
            let param = Parameter::builder().parameter_key(&p.key);
            let param = match &p.value {
                Some(v) => param.parameter_value(v),
                None => param.use_previous_value(true),
            };
            call = call.parameters(param.build());
        }
        let out = call.send().await.map_err(|e| {
            if errors::is_already_exists(&e) {
                anyhow!(AlreadyExists)
            } else {
                sdk_error(e, self.target(CFN))
            }
        })?;
        Ok(ChangeSetCreated {
            id: out.id().unwrap_or(&request.change_set_name).to_owned(),
            stack_id: out.stack_id().unwrap_or(&request.stack_name).to_owned(),
        })
    }

    async fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo> {
        let mut info = ChangeSetInfo::default();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .cfn
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(change_set)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    if e.as_service_error()
                        .is_some_and(|e| e.is_change_set_not_found_exception())
                    {
                        anyhow!(ChangeSetNotFound)
                    } else {
                        sdk_error(e, self.target(CFN))
                    }
                })
                .with_context(|| format!("describing change set {change_set} of {stack}"))?;
            info.id = out.change_set_id().unwrap_or_default().to_owned();
            info.status = out
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            info.status_reason = out.status_reason().map(str::to_owned);
            info.execution_status = out.execution_status().map(|s| s.as_str().to_owned());
            info.changes.extend(
                out.changes()
                    .iter()
                    .filter_map(|c| c.resource_change())
                    .map(|rc| ResourceChangeInfo {
                        action: rc
                            .action()
                            .map(|a| a.as_str().to_owned())
                            .unwrap_or_default(),
                        logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                        resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                        replacement: rc.replacement().map(|r| r.as_str().to_owned()),
                    }),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(info),
            }
        }
    }

    async fn execute_change_set(&self, request: &ExecuteRequest) -> Result<()> {
        let (stack, change_set) = (&request.stack, &request.change_set);
        self.cfn
            .execute_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .disable_rollback(request.disable_rollback)
            .retain_except_on_create(request.retain_except_on_create)
            .set_client_request_token(request.client_token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(e, self.target(CFN)))
            .with_context(|| format!("executing change set {change_set} of {stack}"))?;
        Ok(())
    }

    async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<()> {
        self.cfn
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await
            .map_err(|e| sdk_error(e, self.target(CFN)))
            .with_context(|| format!("deleting change set {change_set} of {stack}"))?;
        Ok(())
    }

    async fn delete_stack(&self, request: &DeleteStackRequest) -> Result<()> {
        let name = &request.stack;
        self.cfn
            .delete_stack()
            .stack_name(name)
            .set_role_arn(request.role_arn.clone())
            .set_client_request_token(request.client_token.clone())
            .set_retain_resources(
                (!request.retain_resources.is_empty()).then(|| request.retain_resources.clone()),
            )
            .send()
            .await
            .map_err(|e| sdk_error(e, self.target(CFN)))
            .with_context(|| format!("deleting stack {name}"))?;
        Ok(())
    }

    async fn stack_events(&self, name: &str, until: Option<&str>) -> Result<Vec<StackEvent>> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = match self
                .cfn
                .describe_stack_events()
                .stack_name(name)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(out) => out,
                // The stack is gone (a finished delete): no more events.
                Err(e) if errors::is_stack_missing(&e) => return Ok(events),
                Err(e) => {
                    return Err(sdk_error(e, self.target(CFN)))
                        .with_context(|| format!("reading events of {name}"))
                }
            };
            for e in out.stack_events() {
                let id = e.event_id().unwrap_or_default();
                if until == Some(id) {
                    return Ok(events);
                }
                events.push(StackEvent {
                    id: id.to_owned(),
                    logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: e.resource_type().unwrap_or_default().to_owned(),
                    status: e
                        .resource_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: e.resource_status_reason().map(str::to_owned),
                    timestamp: e.timestamp().map(|t| t.as_secs_f64()).unwrap_or_default(),
                    physical_id: e.physical_resource_id().map(str::to_owned),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() && until.is_some() => token = Some(t.to_owned()),
                _ => return Ok(events),
            }
        }
    }

    async fn stack_resources(&self, name: &str) -> Result<Vec<StackResource>> {
        let mut resources = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .cfn
                .list_stack_resources()
                .stack_name(name)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error(e, self.target(CFN)))
                .with_context(|| format!("listing the resources of {name}"))?;
            resources.extend(out.stack_resource_summaries().iter().filter_map(|r| {
                Some(StackResource {
                    logical_id: r.logical_resource_id()?.to_owned(),
                    physical_id: r.physical_resource_id().map(str::to_owned),
                    resource_type: r.resource_type().unwrap_or_default().to_owned(),
                    status: r
                        .resource_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                })
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(resources),
            }
        }
    }

    async fn deleted_stacks(&self, name: &str) -> Result<Vec<DeletedStack>> {
        let mut stacks = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .cfn
                .list_stacks()
                .stack_status_filter(StackStatus::DeleteComplete)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error(e, self.target(CFN)))
                .with_context(|| format!("listing the deleted stacks named {name}"))?;
            stacks.extend(
                out.stack_summaries()
                    .iter()
                    .filter(|s| s.stack_name() == Some(name))
                    .map(|s| DeletedStack {
                        name: name.to_owned(),
                        id: s.stack_id().unwrap_or_default().to_owned(),
                        deleted_at: s
                            .deletion_time()
                            .map(|t| t.as_secs_f64())
                            .unwrap_or_default(),
                    }),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        stacks.sort_by(|a, b| b.deleted_at.total_cmp(&a.deleted_at));
        Ok(stacks)
    }

    async fn update_termination_protection(&self, stack: &str, enable: bool) -> Result<()> {
        self.cfn
            .update_termination_protection()
            .stack_name(stack)
            .enable_termination_protection(enable)
            .send()
            .await
            .map_err(|e| sdk_error(e, self.target(CFN)))
            .with_context(|| {
                format!(
                    "turning termination protection of {stack} {}",
                    if enable { "on" } else { "off" }
                )
            })?;
        Ok(())
    }

    async fn rollback_stack(&self, request: &RollbackRequest) -> Result<()> {
        let stack = &request.stack;
        self.cfn
            .rollback_stack()
            .stack_name(stack)
            .set_role_arn(request.role_arn.clone())
            .set_client_request_token(request.client_token.clone())
            .retain_except_on_create(request.retain_except_on_create)
            .send()
            .await
            .map_err(|e| sdk_error(e, self.target(CFN)))
            .with_context(|| format!("rolling back stack {stack}"))?;
        Ok(())
    }

    async fn continue_update_rollback(&self, request: &ContinueRollbackRequest) -> Result<()> {
        let stack = &request.stack;
        self.cfn
            .continue_update_rollback()
            .stack_name(stack)
            .set_role_arn(request.role_arn.clone())
            .set_resources_to_skip(
                (!request.resources_to_skip.is_empty()).then(|| request.resources_to_skip.clone()),
            )
            .set_client_request_token(request.client_token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(e, self.target(CFN)))
            .with_context(|| format!("continuing the rollback of stack {stack}"))?;
        Ok(())
    }
}

impl ObjectStore for Clients {
    async fn object_exists(&self, bucket: &str, key: &str) -> Result<bool> {
        match self
            .s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .set_expected_bucket_owner(self.bucket_owner.clone())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if errors::is_object_missing(&e) => Ok(false),
            Err(e) => Err(self.s3_error(e, bucket))
                .with_context(|| format!("checking s3://{bucket}/{key}")),
        }
    }

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<()> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into())
            .set_expected_bucket_owner(self.bucket_owner.clone())
            .send()
            .await
            .map_err(|e| self.s3_error(e, bucket))
            .with_context(|| format!("uploading s3://{bucket}/{key}"))?;
        Ok(())
    }

    fn object_url(&self, bucket: &str, key: &str) -> String {
        // A region the SDK's partition table cannot place is refused by CloudFormation with
        // the URL in its message: the commercial form is then as good a guess as any.
        object_url(&self.region, bucket, key)
            .unwrap_or_else(|_| format!("https://s3.{}.amazonaws.com/{bucket}/{key}", self.region))
    }
}

impl Clients {
    /// An S3 error; a refusal (HTTP 403) while `ExpectedBucketOwner` is set names the bucket
    /// and the account it must belong to: "If the account ID that you provide does not match the
    /// actual owner of the bucket, the request fails with the HTTP status code 403 Forbidden
    /// (access denied)" (S3 API reference, `ExpectedBucketOwner`; user guide:
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html).
    fn s3_error<E>(&self, err: SdkError<E, HttpResponse>, bucket: &str) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let forbidden = err
            .raw_response()
            .is_some_and(|r| r.status().as_u16() == 403);
        match (&self.bucket_owner, forbidden) {
            (Some(owner), true) => {
                let detail = DisplayErrorContext(&err).to_string();
                anyhow::Error::new(AwsError::new(
                    format!(
                        "the assets bucket {bucket} is not owned by account {owner}, or these \
                         credentials may not use it: S3 refused the request (403 Access Denied) \
                         with ExpectedBucketOwner {owner}; run `cdkrs bootstrap` in this account \
                         and region, or check the credentials' S3 permissions"
                    ),
                    detail,
                ))
            }
            _ => sdk_error(err, self.target(S3)),
        }
    }
}

/// The path-style URL of an object, in the partition of `region` (`amazonaws.com`,
/// `amazonaws.com.cn`, `c2s.ic.gov`, …) as the S3 client's own endpoint rules resolve it: the
/// SDK's partition table is the one source of that fact. An endpoint override (an emulator) is
/// not used: CloudFormation reads the template from the partition's S3, which the emulator
/// stands in for (moto takes the bucket and key from the path of such a URL).
pub fn object_url(region: &str, bucket: &str, key: &str) -> Result<String> {
    use aws_sdk_s3::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let params = Params::builder()
        .region(region)
        .bucket(bucket)
        .force_path_style(true)
        .use_fips(false)
        .use_dual_stack(false)
        .accelerate(false)
        .build()
        .map_err(|e| anyhow!("the S3 endpoint of {region}: {e}"))?;
    let resolver = DefaultResolver::new();
    let mut future = std::pin::pin!(resolver.resolve_endpoint(&params));
    // The default resolver answers at once (its future is ready when made).
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let endpoint = match std::future::Future::poll(future.as_mut(), &mut cx) {
        std::task::Poll::Ready(endpoint) => {
            endpoint.map_err(|e| anyhow!("no S3 endpoint for region {region}: {e}"))?
        }
        std::task::Poll::Pending => bail!("the S3 endpoint rules of {region} did not answer"),
    };
    Ok(format!("{}/{key}", endpoint.url().trim_end_matches('/')))
}

impl Identity for Clients {
    async fn caller_identity(&self) -> Result<CallerIdentity> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            // No context: the line names what is wrong with the credentials, and fits one line.
            .map_err(|e| sdk_error(e, self.target("STS")))?;
        match (out.account(), out.arn()) {
            (Some(account), Some(arn)) => Ok(CallerIdentity {
                account: account.to_owned(),
                arn: arn.to_owned(),
            }),
            _ => bail!("STS GetCallerIdentity answered without the account or the ARN"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::object_url;

    #[test]
    fn object_urls_follow_the_partition_of_the_region() {
        let url = |region| object_url(region, "b", "templates/t.json").unwrap();
        assert_eq!(
            url("eu-west-1"),
            "https://s3.eu-west-1.amazonaws.com/b/templates/t.json"
        );
        assert_eq!(
            url("cn-north-1"),
            "https://s3.cn-north-1.amazonaws.com.cn/b/templates/t.json"
        );
        assert_eq!(
            url("us-gov-west-1"),
            "https://s3.us-gov-west-1.amazonaws.com/b/templates/t.json"
        );
        assert!(
            url("us-iso-east-1").contains(".c2s.ic.gov/b/"),
            "{}",
            url("us-iso-east-1")
        );
    }
}

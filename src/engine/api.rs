//! The seam between the engine and AWS: the few CloudFormation and S3 operations deploy needs,
//! in our own types. [`super::sdk`] implements them with the AWS SDK; the tests use a scripted
//! fake, because moto emits no per-resource events, never rolls back and never leaves a stack
//! half-updated.
#![allow(async_fn_in_trait)] // single-threaded runtime: the futures need not be Send

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

/// A deployed stack as `DescribeStacks` reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StackInfo {
    /// Stack name.
    pub name: String,
    /// Stack ARN (holds the account id).
    pub id: String,
    /// `CREATE_COMPLETE`, `ROLLBACK_COMPLETE`, … (kept as text: new states must not break us).
    pub status: String,
    /// Why it is in that state, when CloudFormation says.
    pub status_reason: Option<String>,
    /// Parameter values as deployed (NoEcho values come back masked).
    pub parameters: BTreeMap<String, String>,
    /// Outputs, in the order CloudFormation lists them.
    pub outputs: Vec<StackOutput>,
    /// `EnableTerminationProtection`: DeleteStack is refused while it is on.
    pub termination_protection: bool,
}

impl StackInfo {
    /// The account id in the stack's ARN (`arn:aws:cloudformation:REGION:ACCOUNT:stack/…`).
    pub fn account_id(&self) -> Option<&str> {
        self.id.split(':').nth(4).filter(|a| !a.is_empty())
    }

    /// An output's value by key.
    pub fn output(&self, key: &str) -> Option<&str> {
        self.outputs
            .iter()
            .find(|o| o.key == key)
            .map(|o| o.value.as_str())
    }
}

/// One stack output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StackOutput {
    /// `OutputKey`.
    pub key: String,
    /// `OutputValue`.
    pub value: String,
    /// `Description`.
    pub description: Option<String>,
}

/// CREATE for a new stack (or one left in REVIEW_IN_PROGRESS), UPDATE otherwise; IMPORT adopts
/// existing resources (and nothing else).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ChangeSetKind {
    /// `ChangeSetType: CREATE`.
    Create,
    /// `ChangeSetType: UPDATE`.
    Update,
    /// `ChangeSetType: IMPORT` with `ResourcesToImport`.
    Import,
}

/// One resource an IMPORT change set adopts (`ResourcesToImport`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceToImport {
    /// `LogicalResourceId` in the template.
    pub logical_id: String,
    /// `ResourceType`.
    pub resource_type: String,
    /// `ResourceIdentifier`: the type's primary-identifier property and its value.
    pub identifier: BTreeMap<String, String>,
}

/// Where the template of a change set comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateSource {
    /// `TemplateBody` (at most 51,200 bytes).
    Body(String),
    /// `TemplateURL` of an uploaded template (up to 1 MB).
    Url(String),
    /// `UsePreviousTemplate` (parameter-only updates: sleep and wake).
    Previous,
}

/// One parameter of a change set.
#[derive(Clone, Debug, PartialEq)]
pub struct ParameterValue {
    /// `ParameterKey`.
    pub key: String,
    /// The value, or `None` for `UsePreviousValue`.
    pub value: Option<String>,
}

/// A `CreateChangeSet` request.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSetRequest {
    /// Stack name.
    pub stack_name: String,
    /// Change set name.
    pub change_set_name: String,
    /// CREATE or UPDATE.
    pub kind: ChangeSetKind,
    /// The template.
    pub template: TemplateSource,
    /// Every parameter of the template.
    pub parameters: Vec<ParameterValue>,
    /// `Description`.
    pub description: String,
    /// `ResourcesToImport` (IMPORT change sets only).
    pub resources_to_import: Vec<ResourceToImport>,
    /// `RoleARN`: the service role CloudFormation acts as (`None`: the caller's credentials).
    pub role_arn: Option<String>,
    /// `Tags` of the stack (CloudFormation propagates them to the resources that take tags).
    pub tags: BTreeMap<String, String>,
    /// `ClientToken`: makes a retried CreateChangeSet safe.
    pub client_token: Option<String>,
}

impl ChangeSetRequest {
    /// A request with no import, role, tags or token.
    pub fn new(
        stack_name: &str,
        change_set_name: &str,
        kind: ChangeSetKind,
        template: TemplateSource,
        parameters: Vec<ParameterValue>,
        description: String,
    ) -> ChangeSetRequest {
        ChangeSetRequest {
            stack_name: stack_name.to_owned(),
            change_set_name: change_set_name.to_owned(),
            kind,
            template,
            parameters,
            description,
            resources_to_import: Vec::new(),
            role_arn: None,
            tags: BTreeMap::new(),
            client_token: None,
        }
    }
}

/// An `ExecuteChangeSet` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecuteRequest {
    /// Stack name or ARN.
    pub stack: String,
    /// Change set name.
    pub change_set: String,
    /// `DisableRollback`: a failure pauses the stack (CREATE_FAILED / UPDATE_FAILED) instead of
    /// rolling back.
    pub disable_rollback: bool,
    /// `RetainExceptOnCreate`: a rollback deletes the resources this operation created even when
    /// their DeletionPolicy retains them (so a failed first deploy leaves nothing behind).
    pub retain_except_on_create: bool,
    /// `ClientRequestToken`: a retried call is recognised as the same request.
    pub client_token: Option<String>,
}

/// What `CreateChangeSet` answers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangeSetCreated {
    /// The change set's ARN.
    pub id: String,
    /// The stack's ARN: the engine follows the stack by it (a name can be reused; an ARN also
    /// answers after a delete).
    pub stack_id: String,
}

/// A change set as `DescribeChangeSet` reports it (all pages).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangeSetInfo {
    /// `ChangeSetId` (its ARN: a new one each time a change set of the same name is created).
    pub id: String,
    /// `CREATE_PENDING`, `CREATE_IN_PROGRESS`, `CREATE_COMPLETE`, `FAILED`, …
    pub status: String,
    /// Why it failed (holds "didn't contain changes" for an empty change set).
    pub status_reason: Option<String>,
    /// `AVAILABLE`, `UNAVAILABLE`, `EXECUTE_IN_PROGRESS`, …
    pub execution_status: Option<String>,
    /// The resource changes.
    pub changes: Vec<ResourceChangeInfo>,
}

/// One resource change of a change set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ResourceChangeInfo {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    /// Logical id.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// `True`, `False`, `Conditional`; `None` when CloudFormation did not say (moto never does).
    pub replacement: Option<String>,
}

/// One stack event.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StackEvent {
    /// `EventId`.
    pub id: String,
    /// Logical id (the stack's own events carry the stack name).
    pub logical_id: String,
    /// Resource type (`AWS::CloudFormation::Stack` for the stack itself).
    pub resource_type: String,
    /// Resource status.
    pub status: String,
    /// Status reason.
    pub reason: Option<String>,
    /// Seconds since the epoch (for display and ordering).
    pub timestamp: f64,
    /// `PhysicalResourceId`: for a nested stack (`AWS::CloudFormation::Stack` other than the
    /// stack itself), its ARN, whose events the watch follows too.
    pub physical_id: Option<String>,
}

impl StackEvent {
    /// Whether the event is about the stack itself rather than one of its resources.
    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }
}

/// One resource of a deployed stack.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StackResource {
    /// Logical id.
    pub logical_id: String,
    /// Physical id (a bucket name, a key id, …), when it has one.
    pub physical_id: Option<String>,
    /// Resource type.
    pub resource_type: String,
    /// Resource status.
    pub status: String,
}

/// `CreateChangeSet` answered that a change set of that name exists (implementations return it
/// inside their `anyhow::Error`; the engine then replaces the old change set).
#[derive(Debug, thiserror::Error)]
#[error("a change set with this name already exists")]
pub struct AlreadyExists;

/// The CloudFormation operations the engine uses.
pub trait CloudFormation {
    /// `DescribeStacks` of one stack; `None` when it does not exist.
    async fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>>;
    /// `GetTemplate` (the original template, as submitted).
    async fn get_template(&self, name: &str) -> Result<String>;
    /// `CreateChangeSet`.
    async fn create_change_set(&self, request: &ChangeSetRequest) -> Result<ChangeSetCreated>;
    /// `DescribeChangeSet`, all pages.
    async fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo>;
    /// `ExecuteChangeSet`.
    async fn execute_change_set(&self, request: &ExecuteRequest) -> Result<()>;
    /// `DeleteChangeSet`.
    async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<()>;
    /// `DeleteStack`.
    async fn delete_stack(&self, request: &DeleteStackRequest) -> Result<()>;
    /// `DescribeStackEvents`, newest first, stopping after the event `until` (exclusive) or
    /// after the first page when `until` is `None`.
    async fn stack_events(&self, name: &str, until: Option<&str>) -> Result<Vec<StackEvent>>;
    /// `ListStackResources`, all pages.
    async fn stack_resources(&self, name: &str) -> Result<Vec<StackResource>>;
    /// `ListStacks` filtered to DELETE_COMPLETE: the deleted stacks named `name` that
    /// CloudFormation still remembers (90 days), newest first.
    async fn deleted_stacks(&self, name: &str) -> Result<Vec<DeletedStack>>;
    /// `UpdateTerminationProtection`.
    async fn update_termination_protection(&self, stack: &str, enable: bool) -> Result<()>;
    /// `RollbackStack`.
    async fn rollback_stack(&self, request: &RollbackRequest) -> Result<()>;
    /// `ContinueUpdateRollback`.
    async fn continue_update_rollback(&self, request: &ContinueRollbackRequest) -> Result<()>;
}

/// A deleted stack CloudFormation still lists: its resources stay readable by its ARN, the
/// retained ones as `DELETE_SKIPPED` with their physical ids.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DeletedStack {
    /// Stack name.
    pub name: String,
    /// Stack ARN (the only way to ask about a deleted stack).
    pub id: String,
    /// `DeletionTime`, seconds since the epoch.
    pub deleted_at: f64,
}

/// The S3 operations the engine uses (asset publishing).
pub trait ObjectStore {
    /// `HeadObject`: whether the key exists.
    async fn object_exists(&self, bucket: &str, key: &str) -> Result<bool>;
    /// `PutObject`.
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<()>;
    /// The URL CloudFormation reads an uploaded template from.
    fn object_url(&self, bucket: &str, key: &str) -> String;
}

/// Counts the calls that go through it: the "N AWS API calls" line and the benchmark.
#[derive(Debug, Default)]
pub struct Counting<T> {
    inner: T,
    calls: std::cell::Cell<usize>,
}

impl<T> Counting<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Counting {
            inner,
            calls: std::cell::Cell::new(0),
        }
    }

    /// Calls so far. A paginated operation counts once, however many pages it read (the
    /// operations deploy makes fit in one page for stacks under 100 changes or events).
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    fn tick(&self) {
        self.calls.set(self.calls.get() + 1);
    }

    /// The wrapped value, to change (the S3 bucket owner, once the identity is checked).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: CloudFormation> CloudFormation for Counting<T> {
    async fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>> {
        self.tick();
        self.inner.describe_stack(name).await
    }
    async fn get_template(&self, name: &str) -> Result<String> {
        self.tick();
        self.inner.get_template(name).await
    }
    async fn create_change_set(&self, request: &ChangeSetRequest) -> Result<ChangeSetCreated> {
        self.tick();
        self.inner.create_change_set(request).await
    }
    async fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo> {
        self.tick();
        self.inner.describe_change_set(stack, change_set).await
    }
    async fn execute_change_set(&self, request: &ExecuteRequest) -> Result<()> {
        self.tick();
        self.inner.execute_change_set(request).await
    }
    async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<()> {
        self.tick();
        self.inner.delete_change_set(stack, change_set).await
    }
    async fn delete_stack(&self, request: &DeleteStackRequest) -> Result<()> {
        self.tick();
        self.inner.delete_stack(request).await
    }
    async fn stack_events(&self, name: &str, until: Option<&str>) -> Result<Vec<StackEvent>> {
        self.tick();
        self.inner.stack_events(name, until).await
    }
    async fn stack_resources(&self, name: &str) -> Result<Vec<StackResource>> {
        self.tick();
        self.inner.stack_resources(name).await
    }
    async fn deleted_stacks(&self, name: &str) -> Result<Vec<DeletedStack>> {
        self.tick();
        self.inner.deleted_stacks(name).await
    }
    async fn update_termination_protection(&self, stack: &str, enable: bool) -> Result<()> {
        self.tick();
        self.inner
            .update_termination_protection(stack, enable)
            .await
    }
    async fn rollback_stack(&self, request: &RollbackRequest) -> Result<()> {
        self.tick();
        self.inner.rollback_stack(request).await
    }
    async fn continue_update_rollback(&self, request: &ContinueRollbackRequest) -> Result<()> {
        self.tick();
        self.inner.continue_update_rollback(request).await
    }
}

impl<T: ObjectStore> ObjectStore for Counting<T> {
    async fn object_exists(&self, bucket: &str, key: &str) -> Result<bool> {
        self.tick();
        self.inner.object_exists(bucket, key).await
    }
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<()> {
        self.tick();
        self.inner.put_object(bucket, key, body).await
    }
    fn object_url(&self, bucket: &str, key: &str) -> String {
        self.inner.object_url(bucket, key)
    }
}

/// A `DeleteStack` request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteStackRequest {
    /// Stack name or ARN.
    pub stack: String,
    /// `RoleARN`: the service role CloudFormation deletes as (`None`: the role the stack was
    /// last operated with, else the caller's credentials).
    pub role_arn: Option<String>,
    /// `ClientRequestToken`: a retried call is recognised as the same request.
    pub client_token: Option<String>,
    /// `RetainResources`: logical ids kept instead of deleted (CloudFormation takes them only
    /// for a stack in DELETE_FAILED: the resources a previous delete could not remove).
    pub retain_resources: Vec<String>,
}

/// Who the credentials belong to, as STS `GetCallerIdentity` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallerIdentity {
    /// `Account`: the 12-digit account id.
    pub account: String,
    /// `Arn` of the caller (`arn:PARTITION:iam::ACCOUNT:user/NAME`, `…:sts::…:assumed-role/…`).
    pub arn: String,
}

impl CallerIdentity {
    /// The partition of the caller's ARN (`aws`, `aws-cn`, `aws-us-gov`, …): the one the
    /// credentials work in.
    pub fn partition(&self) -> &str {
        self.arn
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws")
    }
}

/// The identity check every AWS command makes before any other call.
pub trait Identity {
    /// `GetCallerIdentity`.
    async fn caller_identity(&self) -> Result<CallerIdentity>;
}

impl<T: Identity> Identity for Counting<T> {
    async fn caller_identity(&self) -> Result<CallerIdentity> {
        self.tick();
        self.inner.caller_identity().await
    }
}

/// The identity check: one `GetCallerIdentity`, then the caller's account against the config's
/// `aws_account_id` (required: without it a wrong profile would go unnoticed). An error names
/// both accounts and the fix. The one place of this rule; every AWS command passes it before
/// any other call.
pub async fn checked_identity<I: Identity>(
    identity: &I,
    expected: Option<&str>,
) -> Result<CallerIdentity> {
    let caller = identity.caller_identity().await?;
    match expected {
        None => anyhow::bail!(
            "the config has no aws_account_id: the AWS commands need it to refuse credentials of \
             another account (these reach account {}); add `aws_account_id: \"{}\"` to the \
             config if that is the environment's account",
            caller.account,
            caller.account
        ),
        Some(want) if want != caller.account => anyhow::bail!(
            "the credentials reach AWS account {} ({}), but the config's aws_account_id is \
             {want}: switch credentials (--profile, AWS_PROFILE) or fix aws_account_id",
            caller.account,
            caller.arn
        ),
        Some(_) => Ok(caller),
    }
}

/// A token for one request that changes something (`ClientToken`, `ClientRequestToken`):
/// `cdkrs-OP-` and 32 hex digits of the SHA-256 of `seed`. CloudFormation takes it as "the same
/// request" when a call is retried (the SDK resends the same input), so the seed must differ
/// for every new request: a change set's ARN, a stack's ARN with the operation's baseline
/// event, or [`fresh_seed`]. Tokens match `[a-zA-Z][-a-zA-Z0-9]*` and stay under 128
/// characters, as CloudFormation requires.
pub fn request_token(op: &str, seed: &str) -> String {
    let hash = cdkrs_constructs::deployment::sha256_hex(seed.as_bytes());
    format!("cdkrs-{op}-{}", &hash[..32])
}

/// The token of an operation on a stack (a delete, a rollback): seeded by the stack's ARN and
/// its newest event before the operation, so an SDK retry of the call is the same request and
/// the next attempt (after the failed one added events) another.
pub fn stack_operation_token(operation: &str, stack_id: &str, baseline: Option<&str>) -> String {
    request_token(
        operation,
        &format!("{operation}\n{stack_id}\n{}", baseline.unwrap_or("")),
    )
}

/// A seed no other request of this machine shares: the time in nanoseconds, the process id and
/// a counter (for requests with nothing unique to name them by, such as CreateChangeSet).
pub fn fresh_seed(what: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{what}/{nanos}/{}/{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `DescribeChangeSet` answered that no change set of that name exists (implementations return
/// it inside their `anyhow::Error`; the engine waits for it after deleting a change set).
#[derive(Debug, thiserror::Error)]
#[error("ChangeSetNotFound: no change set of this name")]
pub struct ChangeSetNotFound;
/// A `RollbackStack` request: returns a stack paused after a failure with rollback disabled
/// (CREATE_FAILED / UPDATE_FAILED) to its last stable state
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackStack.html>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackRequest {
    /// Stack name or ARN.
    pub stack: String,
    /// `RoleARN`: the service role CloudFormation acts as (`None`: the caller's credentials).
    pub role_arn: Option<String>,
    /// `ClientRequestToken`: a retried call is recognised as the same request.
    pub client_token: Option<String>,
    /// `RetainExceptOnCreate`: the rollback deletes what the failed operation created, retained
    /// or not.
    pub retain_except_on_create: bool,
}

/// A `ContinueUpdateRollback` request: resumes a rollback that failed (UPDATE_ROLLBACK_FAILED)
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContinueRollbackRequest {
    /// Stack name or ARN.
    pub stack: String,
    /// `RoleARN`: the service role CloudFormation acts as (`None`: the caller's credentials).
    pub role_arn: Option<String>,
    /// `ResourcesToSkip`: logical ids CloudFormation marks UPDATE_COMPLETE instead of rolling
    /// them back (only resources whose rollback failed may be named).
    pub resources_to_skip: Vec<String>,
    /// `ClientRequestToken`: a retried call is recognised as the same request.
    pub client_token: Option<String>,
}

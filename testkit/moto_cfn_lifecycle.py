"""Patches 15 to 24 of moto_launcher.py: CloudFormation's unhappy paths, S3's bucket-owner
condition. moto 5.2.1 runs a change set synchronously inside ExecuteChangeSet, never rolls back,
answers every resource with the stack's status, and knows neither resource import, RollbackStack,
ContinueUpdateRollback nor UpdateTerminationProtection. Each patch cites the AWS page it models.

  15. ExecuteChangeSet is asynchronous (API_ExecuteChangeSet: "After the call successfully
      completes, CloudFormation starts updating the stack. Use DescribeStacks to view the status").
      The call answers at once; a thread runs the change set. The stack shows <OP>_IN_PROGRESS
      (held until one DescribeStacks saw it, at most HOLD_S) before its terminal status.
      Executing deletes the stack's other change sets (same page).
  16. Failures roll back (UserGuide/stack-failure-options.html): a failed CREATE goes
      ROLLBACK_IN_PROGRESS -> ROLLBACK_COMPLETE (ROLLBACK_FAILED when a delete fails), a failed
      UPDATE goes UPDATE_ROLLBACK_IN_PROGRESS -> UPDATE_ROLLBACK_COMPLETE (UPDATE_ROLLBACK_FAILED).
      Resources this operation created are deleted in reverse order, except DeletionPolicy Retain
      (DELETE_SKIPPED) unless RetainExceptOnCreate=true (API_ExecuteChangeSet). DisableRollback=true
      stops in CREATE_FAILED / UPDATE_FAILED with the resources as they are. CreateStack (run
      inside the call, as moto does) rolls back a failure the same way and answers its StackId.
  17. Resource events: <OP>_IN_PROGRESS / _COMPLETE / _FAILED (with the reason) / DELETE_SKIPPED
      for every resource (moto: stack-level events only), with the operation's ClientRequestToken
      (API_StackEvent). DescribeStackResources / ListStackResources / DescribeStackResource answer
      each resource's own status, never create resources lazily while a change set runs, and
      answer a deleted stack by its ARN (API_ListStackResources), retained ones DELETE_SKIPPED.
      A bucket name that exists fails its resource with "<name> already exists" (moto: the whole
      call failed with BucketAlreadyExists).
  18. RollbackStack (API_RollbackStack) for CREATE_FAILED / UPDATE_FAILED, and
      ContinueUpdateRollback with ResourcesToSkip (API_ContinueUpdateRollback) for
      UPDATE_ROLLBACK_FAILED. `--fail-rollback-of LOGICAL_ID` (launcher) makes every rollback
      step of that resource fail, so a test can reach UPDATE_ROLLBACK_FAILED / ROLLBACK_FAILED.
  19. ChangeSetType=IMPORT with ResourcesToImport (UserGuide/resource-import.html) for
      AWS::S3::Bucket, AWS::KMS::Key and AWS::Logs::LogGroup: the change set lists Action Import;
      executing maps the logical ids onto the existing objects (IMPORT_IN_PROGRESS ->
      IMPORT_COMPLETE). Refusals end the change set FAILED with the reason.
  20. DeleteChangeSet is asynchronous (API_DeleteChangeSet): the change set answers
      DELETE_IN_PROGRESS to DescribeChangeSet until DELETE_S passed and one describe saw it, and its
      name is taken meanwhile (AlreadyExistsException); then ChangeSetNotFound. A change set's
      name is unique within its stack, executed ones included (moto: duplicates were accepted,
      and ExecuteChangeSet by name ran the first one).
  21. ClientRequestToken: a retried ExecuteChangeSet with the same token succeeds without running
      again; any other on an executed change set is InvalidChangeSetStatus (API_ExecuteChangeSet).
  22. Termination protection (UserGuide/using-cfn-protect-stacks.html): UpdateTerminationProtection
      and DeleteStack refused while it is on (moto: recorded at CreateStack, never enforced).
  23. Stacks remember: DeletionTime on deleted stacks (API_StackSummary); change-set Tags and
      RoleARN reach the stack on execution (API_CreateChangeSet), and the stack's tags and
      CloudFormation's aws:cloudformation:* tags reach the buckets, keys and EC2 resources it
      makes (aws-properties-resource-tags). UPDATE/IMPORT change sets are refused for a stack in
      ROLLBACK_COMPLETE, ROLLBACK_FAILED, UPDATE_ROLLBACK_FAILED or DELETE_FAILED, or while an
      operation runs; a deleted stack's change sets go with it.
  24. S3 `x-amz-expected-bucket-owner` (userguide/bucket-owner-condition.html): a request naming
      another account than the bucket's answers 403 AccessDenied (moto: ignored).

The pages, under https://docs.aws.amazon.com/AWSCloudFormation/latest/:
  API_ExecuteChangeSet, API_RollbackStack, API_ContinueUpdateRollback, API_DeleteChangeSet,
  API_CreateChangeSet, API_ListStackResources, API_StackEvent, API_StackSummary:
      APIReference/<name>.html
  stack-failure-options, resource-import, resource-import-new-stack,
  resource-import-existing-stack, import-resources-automatically (the import requirements),
  using-cfn-protect-stacks, crpg-ref-requesttypes-delete: UserGuide/<name>.html
  aws-attribute-deletionpolicy, aws-properties-resource-tags, aws-resource-kms-key,
  aws-resource-logs-loggroup: TemplateReference/<name>.html
and https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html.
Messages: InvalidChangeSetStatus "ChangeSet [ARN] cannot be executed in its current execution
status of [S]", "Stack [NAME] cannot be deleted while TerminationProtection is enabled", the
import refusals ("must have DeletionPolicy attribute specified in the template", "You have
modified resources [...] in your template that are not being imported. ...") follow what
CloudFormation answers; the others are this launcher's wording of the same refusal.

`apply(fail_rollback_of)` installs them, after patches 1 to 14.
"""

import json
import sys
import threading
import time

from moto.cloudformation import cloudformation_backends, parsing
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import Change, ChangeSet, CloudFormationBackend, Event, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow

ORIGINAL = {}
HOLD_S = 1.0  # longest wait for a DescribeStacks to see <OP>_IN_PROGRESS before the end (15)
DELETE_S = 1.0  # how long a deleted change set stays DELETE_IN_PROGRESS at least (20)
FAIL_ROLLBACK_OF = set()  # logical ids whose rollback steps fail (18, --fail-rollback-of)
LOCK = threading.RLock()
# Stack statuses no UPDATE or IMPORT change set may start from (UserGuide/stack-failure-options.html,
# troubleshooting.html: ROLLBACK_COMPLETE and ROLLBACK_FAILED stacks can only be deleted;
# UPDATE_ROLLBACK_FAILED needs ContinueUpdateRollback first).
UNUPDATABLE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED")
OPS = {}  # stack id -> the Operation running on it (its thread)
DELETING = {}  # stack id -> stack, while DeleteStack runs (moto takes it out of `stacks` first)


# moto finds an error's service by its class's module, which must be moto's (this file's name
# starts with "moto" too, and moto would take "moto_cfn_lifecycle" apart: HTTP 500).
class ValidationError(CloudFormationError):
    __module__ = "moto.cloudformation.exceptions"
    code = "ValidationError"


class InvalidChangeSetStatus(CloudFormationError):
    __module__ = "moto.cloudformation.exceptions"
    code = "InvalidChangeSetStatus"


class ChangeSetNotFound(CloudFormationError):
    __module__ = "moto.cloudformation.exceptions"
    code = "ChangeSetNotFound"


class AlreadyExists(CloudFormationError):
    __module__ = "moto.cloudformation.exceptions"
    code = "AlreadyExistsException"


class RollbackFailureInjected(Exception):
    """A rollback step of a resource named by --fail-rollback-of."""


def log(message):
    print(f"[moto_launcher] {message}", file=sys.stderr, flush=True)


def retained(body):
    """Whether a template resource is kept when its stack is deleted (aws-attribute-deletionpolicy)."""
    return body.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")


# ---------------------------------------------------------------------------------------------
# Operations and resource events (15, 16, 17)


class Operation:
    """One stack operation: what it created, what failed, what rollback needs."""

    def __init__(self, stack, kind, token=None, retain_except_on_create=False, disable_rollback=False):
        self.kind = kind  # CREATE | UPDATE | IMPORT
        self.token = token
        self.retain_except_on_create = retain_except_on_create
        self.disable_rollback = disable_rollback
        self.created = []  # logical ids this operation created, in order
        self.failed = []  # logical ids that failed
        self.announced = set()  # (status, logical id) already evented (moto retries updates)
        self.rolling_back = False
        self.skip = set()  # ResourcesToSkip of ContinueUpdateRollback
        self.prev_template = stack.template
        self.prev_parameters = dict(stack.parameters or {})
        self.prev_input_parameters = dict(stack.resource_map.input_parameters or {})
        self.new_template = None  # the failed template, for a rollback that is retried
        self.new_input_parameters = None
        self.tags = None  # the stack tags its new resources get (a change set's Tags)
        self.started = time.monotonic()


def stack_of(resource_map):
    backend = cloudformation_backends[resource_map._account_id][resource_map._region_name]
    return backend.stacks.get(resource_map.stack_id) or DELETING.get(resource_map.stack_id)


def records(stack):
    if not hasattr(stack, "resource_records"):
        stack.resource_records = {}
    return stack.resource_records


def physical_of(resource):
    try:
        return str(resource.physical_resource_id or "")
    except Exception:  # moto models compute it; some need state the resource may lack
        return ""


def resource_event(stack, logical_id, resource_type, physical_id, status, reason=None):
    """A resource event (API_StackEvent) and the resource's status, as CloudFormation keeps them."""
    op = OPS.get(stack.stack_id)
    record = records(stack).setdefault(logical_id, {"physical": ""})
    physical_id = physical_id or record["physical"]
    event = Event(stack.stack_id, stack.name, logical_id, physical_id, resource_type, status, reason, None)
    event.client_request_token = op.token if op else None
    stack.events.append(event)
    record.update(type=resource_type, physical=physical_id, status=status, reason=reason, time=utcnow())
    if op and status.endswith("_FAILED") and logical_id not in op.failed:
        op.failed.append(logical_id)


def stack_event(stack, status, reason=None, token=None):
    event = Event(stack.stack_id, stack.name, stack.name, stack.stack_id, "AWS::CloudFormation::Stack", status, reason, None)
    event.client_request_token = token
    stack.events.append(event)
    stack.status = status
    stack.status_reason = reason


def reason_of(error, resource_json):
    name = type(error).__name__
    if name in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
        # What CloudFormation's S3 handler answers for a taken name.
        return f"{resource_json.get('Properties', {}).get('BucketName')} already exists"
    return str(getattr(error, "message", None) or error)


def rollback_injected(op, logical_id, what):
    if op and op.rolling_back and logical_id in FAIL_ROLLBACK_OF and logical_id not in op.skip:
        raise RollbackFailureInjected(f"{what} of {logical_id} failed during rollback (moto_launcher --fail-rollback-of)")


def create_resource(logical_id, resource_json, resources_map, account_id, region_name):
    """17: events around moto's create of one resource; the operation learns what it created."""
    condition = resource_json.get("Condition")
    stack = stack_of(resources_map)
    if stack is None or (condition and not resources_map.lazy_condition_map[condition]):
        return ORIGINAL["create"](logical_id, resource_json, resources_map, account_id, region_name)
    op = OPS.get(stack.stack_id)
    rtype = resource_json["Type"]
    resource_event(stack, logical_id, rtype, "", "CREATE_IN_PROGRESS")
    try:
        rollback_injected(op, logical_id, "Create")
        resource = ORIGINAL["create"](logical_id, resource_json, resources_map, account_id, region_name)
    except Exception as e:
        if not getattr(e, "event_recorded", False):
            resource_event(stack, logical_id, rtype, "", "CREATE_FAILED", reason_of(e, resource_json))
        raise
    if resource is not None:
        tags = op.tags if op and op.tags is not None else stack.tags
        propagate_tags(stack, logical_id, resource, tags, template_tag_keys(resource_json))
        resource_event(stack, logical_id, rtype, physical_of(resource), "CREATE_COMPLETE")
        if op is not None:
            op.created.append(logical_id)
    return resource


def template_tag_keys(stack_or_json, logical_id=None):
    """The tag keys a template gives a resource itself."""
    body = stack_or_json if logical_id is None else stack_or_json.template_dict.get("Resources", {}).get(logical_id, {})
    tags = (body.get("Properties") or {}).get("Tags") or []
    return {t.get("Key") for t in tags if isinstance(t, dict)} if isinstance(tags, list) else set(tags)


def propagate_tags(stack, logical_id, resource, tags, own_keys):
    """23: the stack's tags, and CloudFormation's own `aws:cloudformation:*` tags, on a resource
    of a type that takes tags (UserGuide/aws-properties-resource-tags.html: "tags that you apply
    to the stack are applied to the resources that support tagging"; a tag the template gives the
    resource wins). moto tags EC2 resources of CreateStack only. Here: S3 buckets, KMS keys,
    EC2 resources."""
    all_tags = {k: v for k, v in (tags or {}).items() if k not in own_keys}
    all_tags.update({
        "aws:cloudformation:stack-name": stack.name,
        "aws:cloudformation:stack-id": stack.stack_id,
        "aws:cloudformation:logical-id": logical_id,
    })
    kind = type(resource).__name__
    try:
        if kind == "FakeBucket":
            from moto.s3.models import s3_backends

            tagger = s3_backends[stack.account_id]["aws"].tagger
            tagger.tag_resource(resource.arn, [{"Key": k, "Value": v} for k, v in all_tags.items()])
        elif kind == "Key":
            from moto.kms.models import kms_backends

            tagger = kms_backends[stack.account_id][stack.region_name].tagger
            tagger.tag_resource(resource.id, [{"TagKey": k, "TagValue": v} for k, v in all_tags.items()])
        else:
            from moto.ec2.models import ec2_backends
            from moto.ec2.models.core import TaggedEC2Resource

            if isinstance(resource, TaggedEC2Resource):
                ec2_backends[stack.account_id][stack.region_name].create_tags([resource.id], all_tags)
    except Exception as e:  # tagging is best effort here; the resource exists
        log(f"tagging {logical_id} ({kind}) failed: {e}")


def update_resource(logical_id, resource_json, resources_map, account_id, region_name):
    """17: events around moto's update of one resource (moto retries: one event each)."""
    stack = stack_of(resources_map)
    if stack is None:
        return ORIGINAL["update"](logical_id, resource_json, resources_map, account_id, region_name)
    op = OPS.get(stack.stack_id)
    rtype = resource_json["Type"]
    if op and logical_id in op.skip:
        resource_event(stack, logical_id, rtype, "", "UPDATE_COMPLETE", "Resource skipped during rollback (ResourcesToSkip)")
        return resources_map._parsed_resources.get(logical_id)
    once = op.announced if op else set()
    if ("UPDATE_IN_PROGRESS", logical_id, op and op.rolling_back) not in once:
        once.add(("UPDATE_IN_PROGRESS", logical_id, op and op.rolling_back))
        resource_event(stack, logical_id, rtype, "", "UPDATE_IN_PROGRESS")
    try:
        rollback_injected(op, logical_id, "Update")
        resource = ORIGINAL["update"](logical_id, resource_json, resources_map, account_id, region_name)
    except Exception as e:
        if not getattr(e, "event_recorded", False) and ("UPDATE_FAILED", logical_id, op and op.rolling_back) not in once:
            once.add(("UPDATE_FAILED", logical_id, op and op.rolling_back))
            resource_event(stack, logical_id, rtype, "", "UPDATE_FAILED", reason_of(e, resource_json))
        raise
    resource_event(stack, logical_id, rtype, physical_of(resource) if resource is not None else "", "UPDATE_COMPLETE")
    return resource


def delete_resource(self, parsed_resource, resource_json):
    """17: events around moto's delete of one resource."""
    stack = stack_of(self)
    if stack is None:
        return ORIGINAL["_delete_resource"](self, parsed_resource, resource_json)
    op = OPS.get(stack.stack_id)
    logical_id = getattr(parsed_resource, "logical_resource_id", None) or getattr(parsed_resource, "logical_id", "")
    rtype = resource_json.get("Type", "")
    physical = physical_of(parsed_resource)
    if op and logical_id in op.skip:
        resource_event(stack, logical_id, rtype, physical, "UPDATE_COMPLETE", "Resource skipped during rollback (ResourcesToSkip)")
        return None
    resource_event(stack, logical_id, rtype, physical, "DELETE_IN_PROGRESS")
    try:
        rollback_injected(op, logical_id, "Delete")
        ORIGINAL["_delete_resource"](self, parsed_resource, resource_json)
    except Exception as e:
        if not getattr(e, "event_recorded", False):
            resource_event(stack, logical_id, rtype, physical, "DELETE_FAILED", reason_of(e, resource_json))
        raise
    resource_event(stack, logical_id, rtype, physical, "DELETE_COMPLETE")


def map_delete(self):
    """17: a stack's delete skips its retained resources with DELETE_SKIPPED events."""
    stack = stack_of(self)
    if stack is not None:
        for name, body in self._resource_json_map.items():
            resource = self._parsed_resources.get(name)
            if retained(body) and resource is not None and not isinstance(resource, str):
                resource_event(stack, name, body.get("Type", ""), physical_of(resource), "DELETE_SKIPPED")
    return ORIGINAL["map_delete"](self)


def stack_resources(self):
    """17: the resources made so far; reading never creates one (moto's map is lazy)."""
    rm = self.resource_map
    return [
        r for name, r in list(rm._parsed_resources.items())
        if name in rm._resource_json_map and r is not None and not isinstance(r, str)
    ]


def listed_records(stack):
    """The resources DescribeStackResources answers: those of its template CloudFormation worked
    on; deleted ones only for a stack that is gone or rolled back (the others no longer list them)."""
    template = stack.resource_map._resource_json_map  # the template being worked on, even mid-create
    keep_deleted = stack.status in ("DELETE_COMPLETE", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "ROLLBACK_IN_PROGRESS")
    return [
        (name, rec) for name, rec in list(records(stack).items())
        if name in template and (keep_deleted or rec.get("status") != "DELETE_COMPLETE")
    ]


def resource_summary(stack, name, rec, detail=False):
    out = {
        "LogicalResourceId": name,
        "PhysicalResourceId": rec.get("physical") or None,
        "ResourceType": rec.get("type"),
        "ResourceStatus": rec.get("status"),
        "ResourceStatusReason": rec.get("reason"),
    }
    if detail:
        out.update(StackName=stack.name, StackId=stack.stack_id, Timestamp=rec.get("time"), LastUpdatedTimestamp=rec.get("time"))
    else:
        out["LastUpdatedTimestamp"] = rec.get("time")
    return out


def describe_stack_resources_response(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    only = self._get_param("LogicalResourceId")
    rows = [resource_summary(stack, n, r, detail=True) for n, r in listed_records(stack) if only in (None, n)]
    for row in rows:
        row.pop("LastUpdatedTimestamp")
    return ActionResult({"StackResources": rows})


def describe_stack_resource_response(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    logical_id = self._get_param("LogicalResourceId")
    for name, rec in listed_records(stack):
        if name == logical_id:
            return ActionResult({"StackResourceDetail": resource_summary(stack, name, rec, detail=True)})
    raise ValidationError(f"Resource {logical_id} does not exist for stack {stack.name}")


def list_stack_resources_response(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    return ActionResult({"StackResourceSummaries": [resource_summary(stack, n, r) for n, r in listed_records(stack)]})


# ---------------------------------------------------------------------------------------------
# Execution (15, 16, 21, 23)


def find_change_set(backend, name, stack_name=None, deleting=False):
    purge_deleted(backend)
    for cs in list(backend.change_sets.values()):
        if cs.change_set_id == name or (
            cs.change_set_name == name and stack_name in (None, "", cs.stack_name, cs.stack_id)
        ):
            if getattr(cs, "deleting_until", None) is None or deleting:
                return cs
    # API_DescribeChangeSet: ChangeSetNotFound.
    raise ChangeSetNotFound(f"ChangeSet [{name}] does not exist")


def finish_change_set(backend, change_set, stack):
    """Patch 8 (was in moto_launcher.py): the stack gets the change set's template, parameters,
    Outputs and exports (moto kept the empty template's Outputs and the old parameter values, and
    never registered the exports); and its Tags and RoleARN (23)."""
    stack.template = change_set.template
    if change_set.parameters:
        stack.parameters = change_set.parameters
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()
    for export in stack.exports:
        backend.exports[export.name] = export
    if change_set.tags:
        stack.tags = dict(change_set.tags)
        for name, resource in list(stack.resource_map._parsed_resources.items()):
            if name in stack.resource_map._resource_json_map and resource is not None and not isinstance(resource, str):
                propagate_tags(stack, name, resource, stack.tags, template_tag_keys(stack, name))
    if change_set.role_arn:
        stack.role_arn = change_set.role_arn


def hold(stack, op):
    """15: the terminal status waits until a DescribeStacks saw <OP>_IN_PROGRESS, at most HOLD_S."""
    seen = getattr(stack, "observed", None)
    left = HOLD_S - (time.monotonic() - op.started)
    if seen is not None and left > 0:
        seen.wait(left)


def begin(stack, op, status, reason="User Initiated"):
    stack.observed = threading.Event()
    stack.outputs_during_operation = safe_outputs(stack)
    OPS[stack.stack_id] = op
    stack_event(stack, status, reason, op.token)


def end(stack, op, status, reason=None):
    if not getattr(op, "synchronous", False):
        hold(stack, op)
    with LOCK:
        OPS.pop(stack.stack_id, None)
        stack.outputs_during_operation = None
        stack_event(stack, status, reason, op.token)
    log(f"stack {stack.name}: {status}" + (f" ({reason})" if reason else ""))


def safe_outputs(stack):
    try:
        return ORIGINAL["outputs"].fget(stack)
    except Exception:  # an Output naming a resource that does not exist yet
        return None


def outputs(self):
    during = getattr(self, "outputs_during_operation", None)
    if self.stack_id in OPS:
        return during
    return ORIGINAL["outputs"].fget(self)


def failure_reason(op, verb):
    names = ", ".join(op.failed) or "unknown"
    return f"The following resource(s) failed to {verb}: [{names}]. "


def execute_change_set_response(self):
    backend = self.cloudformation_backend
    token = self._get_param("ClientRequestToken")
    with LOCK:
        cs = find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
        if getattr(cs, "executed", False) or cs.execution_status != "AVAILABLE":
            if token and getattr(cs, "execution_token", None) == token:
                return EmptyResult()  # 21: the retried request is the same one
            raise InvalidChangeSetStatus(
                f"ChangeSet [{cs.change_set_id}] cannot be executed in its current execution status of [{cs.execution_status}]"
            )
        stack = backend.stacks[cs.stack_id]
        if stack.stack_id in OPS:
            raise ValidationError(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
        cs.executed, cs.execution_token = True, token
        cs.execution_status = "EXECUTE_IN_PROGRESS"
        # API_ExecuteChangeSet: "CloudFormation deletes all other change sets associated with the stack".
        for other_id, other in list(backend.change_sets.items()):
            if other.stack_id == cs.stack_id and other is not cs:
                del backend.change_sets[other_id]
        kind = cs.change_set_type
        op = Operation(
            stack, kind, token,
            retain_except_on_create=self._get_bool_param("RetainExceptOnCreate", False),
            disable_rollback=self._get_bool_param("DisableRollback", False),
        )
        op.tags = dict(cs.tags) if cs.tags else dict(stack.tags or {})
        stack.disable_rollback = op.disable_rollback
        stack.retain_except_on_create = op.retain_except_on_create
        begin(stack, op, f"{kind}_IN_PROGRESS")
    threading.Thread(target=run_change_set, args=(backend, cs, stack, op), daemon=True).start()
    return EmptyResult()


def run_change_set(backend, cs, stack, op):
    try:
        if op.kind == "IMPORT":
            run_import(cs, stack, op)
        else:
            cs.apply()
        finish_change_set(backend, cs, stack)
    except Exception as e:
        log(f"change set {cs.change_set_name} of {stack.name} failed: {e}")
        cs.execution_status = "EXECUTE_FAILED"
        op.new_template, op.new_input_parameters = cs.template, dict(cs.parameters or {})
        if op.kind == "CREATE":
            stack.template = cs.template  # GetTemplate answers the template that failed
            stack._parse_template()
        verb = {"CREATE": "create", "UPDATE": "update", "IMPORT": "import"}[op.kind]
        if op.disable_rollback:
            stack.paused_operation = op
            end(stack, op, f"{op.kind}_FAILED", failure_reason(op, verb))
        else:
            roll_back(stack, op, failure_reason(op, verb) + "Rollback requested by user.")
        return
    cs.execution_status = "EXECUTE_COMPLETE"
    end(stack, op, f"{op.kind}_COMPLETE")


def roll_back(stack, op, reason):
    """16: back to the last stable state; runs on the operation's thread."""
    op.rolling_back = True
    OPS[stack.stack_id] = op
    if op.kind == "CREATE":
        stack_event(stack, "ROLLBACK_IN_PROGRESS", reason, op.token)
        try:
            undo_creates(stack, op, op.created)
        except Exception as e:
            log(f"rollback of {stack.name} failed: {e}")
            end(stack, op, "ROLLBACK_FAILED", f"The following resource(s) failed to delete: [{', '.join(op.failed_deletes)}]. ")
            return
        end(stack, op, "ROLLBACK_COMPLETE")
    elif op.kind == "IMPORT":
        stack_event(stack, "IMPORT_ROLLBACK_IN_PROGRESS", reason, op.token)
        for name in op.created:
            stack.resource_map._parsed_resources.pop(name, None)
        end(stack, op, "IMPORT_ROLLBACK_COMPLETE")
    else:
        stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason, op.token)
        undo_update(stack, op)


def undo_creates(stack, op, names):
    """Deletes what the operation created, newest first; Retain keeps a resource (DELETE_SKIPPED)
    unless RetainExceptOnCreate. Raises the first delete failure after trying them all."""
    rm = stack.resource_map
    op.failed_deletes, error = [], None
    for name in list(op.failed):
        if name in names or records(stack).get(name, {}).get("status") != "CREATE_FAILED":
            continue
        custom = getattr(stack, "custom_resources", {}).get(name)
        if custom is not None and getattr(custom, "physical_id", None):
            # CloudFormation sends a custom resource whose Create failed a Delete with the
            # PhysicalResourceId its FAILED answer gave (UserGuide/crpg-ref-requesttypes-delete.html:
            # "CloudFormation sends a Delete request if ... the stack rolls back").
            try:
                rm._delete_resource(custom, rm._resource_json_map.get(name) or {"Type": custom.resource_type})
            except Exception as e:
                op.failed_deletes.append(name)
                error = error or e
        else:
            resource_event(stack, name, records(stack)[name]["type"], "", "DELETE_COMPLETE")  # nothing was made
    for name in reversed(names):
        resource = rm._parsed_resources.get(name)
        body = rm._resource_json_map.get(name) or {}
        if resource is None or isinstance(resource, str):
            continue
        if retained(body) and not (op.retain_except_on_create or body.get("DeletionPolicy") == "RetainExceptOnCreate"):
            resource_event(stack, name, body.get("Type", ""), physical_of(resource), "DELETE_SKIPPED")
            continue
        try:
            rm._delete_resource(resource, body)
            rm._parsed_resources.pop(name, None)
        except Exception as e:
            op.failed_deletes.append(name)
            error = error or e
    if error is not None:
        raise error


def undo_update(stack, op):
    """16: the stack's previous template and parameters, applied as moto can (it re-creates what
    the update removed, updates back what it modified, deletes what it added)."""
    rm = stack.resource_map
    op.failed = []  # the rollback's own failures from here on
    old = Stack.parse_template(op.prev_template) if op.prev_template else {"Resources": {}}
    if op.new_template is not None:  # a retried rollback (ContinueUpdateRollback) starts over
        rm._template = Stack.parse_template(op.new_template)
        rm._resource_json_map = dict(rm._template["Resources"])
        rm.input_parameters = dict(op.new_input_parameters or op.prev_input_parameters)
    for name in reversed(op.created):
        body = rm._resource_json_map.get(name) or {}
        resource = rm._parsed_resources.get(name)
        keep = retained(body) and not (op.retain_except_on_create or body.get("DeletionPolicy") == "RetainExceptOnCreate")
        if name not in old["Resources"] and keep and resource is not None:
            # Retained: it leaves the stack but stays (DELETE_SKIPPED).
            resource_event(stack, name, body.get("Type", ""), physical_of(resource), "DELETE_SKIPPED")
            rm._resource_json_map = {k: v for k, v in rm._resource_json_map.items() if k != name}
            rm._parsed_resources.pop(name, None)
    try:
        rm.update(old, op.prev_input_parameters or None)
    except Exception as e:
        log(f"update rollback of {stack.name} failed: {e}")
        stack.failed_rollback = op
        end(stack, op, "UPDATE_ROLLBACK_FAILED", f"The following resource(s) failed to update: [{', '.join(op.failed) }]. ")
        return
    stack.template = op.prev_template
    stack.parameters = op.prev_parameters
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    stack.failed_rollback = None
    stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None, op.token)
    end(stack, op, "UPDATE_ROLLBACK_COMPLETE")


def rollback_stack_response(self):
    """18: RollbackStack (API_RollbackStack) for a paused stack."""
    backend = self.cloudformation_backend
    with LOCK:
        stack = backend.get_stack(self._get_param("StackName"))
        if stack.status not in ("CREATE_FAILED", "UPDATE_FAILED") or stack.stack_id in OPS:
            raise ValidationError(f"Stack [{stack.name}] is in {stack.status} state and can not be rolled back")
        op = getattr(stack, "paused_operation", None) or Operation(stack, "CREATE" if stack.status == "CREATE_FAILED" else "UPDATE")
        if op.kind == "CREATE" and not op.created:
            op.created = [n for n, r in stack.resource_map._parsed_resources.items() if n in stack.resource_map._resource_json_map and r is not None and not isinstance(r, str)]
        op.token = self._get_param("ClientRequestToken")
        op.retain_except_on_create = self._get_bool_param("RetainExceptOnCreate", op.retain_except_on_create)
        op.started = time.monotonic()
        stack.paused_operation = None
        stack.observed = threading.Event()
        stack.outputs_during_operation = safe_outputs(stack)
        op.rolling_back = True
        OPS[stack.stack_id] = op
    threading.Thread(target=roll_back, args=(stack, op, "Rollback requested by user."), daemon=True).start()
    return ActionResult({"StackId": stack.stack_id})


def continue_update_rollback_response(self):
    """18: ContinueUpdateRollback (API_ContinueUpdateRollback): the failed rollback again, the
    ResourcesToSkip marked UPDATE_COMPLETE without being touched."""
    backend = self.cloudformation_backend
    with LOCK:
        stack = backend.get_stack(self._get_param("StackName"))
        op = getattr(stack, "failed_rollback", None)
        if stack.status != "UPDATE_ROLLBACK_FAILED" or op is None or stack.stack_id in OPS:
            raise ValidationError(
                f"Stack [{stack.name}] is in {stack.status} state; ContinueUpdateRollback needs UPDATE_ROLLBACK_FAILED"
            )
        op.skip = set(self._get_param("ResourcesToSkip", []) or [])
        op.token = self._get_param("ClientRequestToken")
        op.announced = set()
        op.failed = []
        op.started = time.monotonic()
        stack.observed = threading.Event()
        stack.outputs_during_operation = safe_outputs(stack)
        OPS[stack.stack_id] = op
        stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", "Continue update rollback requested by user.", op.token)
    threading.Thread(target=undo_update, args=(stack, op), daemon=True).start()
    return EmptyResult()


def create_resources(self):
    """16 for CreateStack (which moto runs inside the call): a failure rolls back as in a change
    set, and the call answers the StackId (API_CreateStack: OnFailure ROLLBACK is the default)
    instead of failing with moto's error and leaving the stack CREATE_IN_PROGRESS."""
    op = Operation(self, "CREATE")
    op.synchronous = True
    OPS[self.stack_id] = op
    try:
        ORIGINAL["create_resources"](self)
    except Exception as e:
        log(f"CreateStack {self.name} failed: {e}")
        roll_back(self, op, failure_reason(op, "create") + "Rollback requested by user.")
    finally:
        OPS.pop(self.stack_id, None)


def describe_stacks(self, name_or_stack_id):
    """15: a DescribeStacks that shows <OP>_IN_PROGRESS lets the operation end."""
    stacks = ORIGINAL["describe_stacks"](self, name_or_stack_id)
    for stack in stacks:
        seen = getattr(stack, "observed", None)
        if seen is not None and stack.status.endswith("_IN_PROGRESS"):
            seen.set()
    return stacks


# ---------------------------------------------------------------------------------------------
# Import (19)


def import_lookup(account_id, region_name, resource_type, identifier):
    """The existing backend object an import identifier names, or None. Raises ValidationError for a
    type this launcher cannot import (real CloudFormation supports many more: resource-import-supported-resources.html)."""
    if resource_type == "AWS::S3::Bucket":
        from moto.s3.models import s3_backends

        name = identifier.get("BucketName")
        return name, s3_backends[account_id]["aws"].buckets.get(name)
    if resource_type == "AWS::KMS::Key":
        from moto.kms.models import kms_backends

        key_id = str(identifier.get("KeyId", "")).split("key/")[-1]
        return key_id, kms_backends[account_id][region_name].keys.get(key_id)
    if resource_type == "AWS::Logs::LogGroup":
        from moto.logs.models import logs_backends

        name = identifier.get("LogGroupName")
        return name, logs_backends[account_id][region_name].groups.get(name)
    raise ValidationError(
        f"ResourceType {resource_type} cannot be imported by moto_launcher (it imports AWS::S3::Bucket by "
        "BucketName, AWS::KMS::Key by KeyId, AWS::Logs::LogGroup by LogGroupName)"
    )


def import_refusal(backend, stack, template, imports):
    """Why CloudFormation would fail this import change set, or None (resource-import.html:
    DeletionPolicy required, no other change in the operation, the resource exists, and belongs to
    no stack)."""
    resources = template.get("Resources", {})
    names = [i["LogicalResourceId"] for i in imports]
    missing = [n for n in names if n not in resources]
    if missing:
        return f"Resources {missing} to import are not in the template."
    no_policy = [n for n in names if "DeletionPolicy" not in resources[n]]
    if no_policy:
        return f"The following resources to import [{', '.join(no_policy)}] must have DeletionPolicy attribute specified in the template."
    current = stack.resource_map._resource_json_map if stack.status != "REVIEW_IN_PROGRESS" else {}
    others = [
        n for n in set(resources) | set(current)
        if n not in names and (n not in resources or n not in current or resources[n] != current[n])
    ]
    if others:
        return (
            f"You have modified resources [{', '.join(sorted(others))}] in your template that are not being imported. "
            "Update, create or delete operations cannot be executed during import operations."
        )
    for i in imports:
        ident, obj = import_lookup(backend.account_id, backend.region_name, i["ResourceType"], i["ResourceIdentifier"])
        if obj is None:
            return f"Resource {i['LogicalResourceId']} of type {i['ResourceType']} with identifier {ident} does not exist."
        for other in backend.stacks.values():
            for name, res in other.resource_map._parsed_resources.items():
                if name in other.resource_map._resource_json_map and res is obj:
                    return f"Resource {ident} of type {i['ResourceType']} already belongs to stack {other.stack_id}."
    return None


def create_import_change_set(self):
    backend = self.cloudformation_backend
    stack_name, name = self._get_param("StackName"), self._get_param("ChangeSetName")
    body = self._get_param("TemplateBody")
    if self._get_param("TemplateURL"):
        body = self._get_stack_from_s3_url(self._get_param("TemplateURL"))
    imports = []
    for item in self._get_param("ResourcesToImport", []) or []:
        identifier = item.get("ResourceIdentifier") or {}
        if isinstance(identifier, list):  # {key, value} entries
            identifier = {e.get("key", e.get("Key")): e.get("value", e.get("Value")) for e in identifier}
        imports.append(dict(item, ResourceIdentifier=identifier))
        import_lookup(backend.account_id, backend.region_name, item.get("ResourceType"), identifier)  # type check
    if not imports:
        raise ValidationError("ResourcesToImport must name at least one resource for ChangeSetType IMPORT")
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in self._get_param("Parameters", []) or []}
    tags = {t["Key"]: t["Value"] for t in self._get_param("Tags", []) or []}
    live = [s for s in backend.stacks.values() if s.name == stack_name]
    if live and live[0].status != "REVIEW_IN_PROGRESS":
        stack = live[0]
        parameters = parameters or dict(stack.parameters or {})
    else:
        # A new stack (UserGuide/resource-import-new-stack.html): REVIEW_IN_PROGRESS, as for CREATE.
        for s in live:
            del backend.stacks[s.stack_id]
        from moto.cloudformation.utils import generate_stack_id

        stack = Stack(generate_stack_id(stack_name, backend.region_name, backend.account_id), stack_name, {}, parameters,
                      backend.account_id, backend.region_name, tags=tags, role_arn=self._get_param("RoleARN"))
        backend.stacks[stack.stack_id] = stack
        stack.status = "REVIEW_IN_PROGRESS"
        stack._add_stack_event("REVIEW_IN_PROGRESS", resource_status_reason="User Initiated")
    from moto.cloudformation.utils import generate_changeset_id

    cs_id = generate_changeset_id(name, backend.region_name, backend.account_id)
    cs = ChangeSet("IMPORT", cs_id, name, stack, body, parameters, self._get_param("Description"),
                   tags=tags, role_arn=self._get_param("RoleARN"))
    cs.imports = imports
    changes = []
    for i in imports:
        change = Change("Import", i["LogicalResourceId"], i["ResourceType"])
        change.physical_resource_id = next(iter(i["ResourceIdentifier"].values()), None)
        changes.append(change)
    cs.changes = changes
    refusal = import_refusal(backend, stack, cs.template_dict, imports)
    if refusal:
        cs.status, cs.execution_status, cs.status_reason = "FAILED", "UNAVAILABLE", refusal
    else:
        cs.status, cs.execution_status = "CREATE_COMPLETE", "AVAILABLE"
    backend.change_sets[cs_id] = cs
    return ActionResult({"Id": cs_id, "StackId": stack.stack_id})


def run_import(cs, stack, op):
    """19: the logical ids now name the existing objects; nothing is created."""
    rm = stack.resource_map
    backend = cloudformation_backends[stack.account_id][stack.region_name]
    for i in cs.imports:
        name, rtype = i["LogicalResourceId"], i["ResourceType"]
        resource_event(stack, name, rtype, "", "IMPORT_IN_PROGRESS")
        ident, obj = import_lookup(backend.account_id, backend.region_name, rtype, i["ResourceIdentifier"])
        if obj is None:
            resource_event(stack, name, rtype, ident, "IMPORT_FAILED", f"{ident} does not exist")
            raise ValidationError(f"{ident} does not exist")
        obj.cf_resource_type, obj.logical_resource_id = rtype, name
        rm._parsed_resources[name] = obj
        op.created.append(name)
        resource_event(stack, name, rtype, physical_of(obj), "IMPORT_COMPLETE")
    rm._template = cs.template_dict
    rm._resource_json_map = cs.template_dict["Resources"]
    if cs.parameters:
        rm.input_parameters = cs.parameters
    rm.load_mapping()
    rm.load_parameters()
    rm.load_conditions()


def kms_key_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    """19: an imported (or any) key is modified in place (moto: AWS::KMS::Key cannot be updated;
    aws-resource-kms-key.html: KeyPolicy, Description, EnableKeyRotation, Enabled need no
    replacement)."""
    properties = cloudformation_json.get("Properties", {})
    key = original_resource
    if "KeyPolicy" in properties:
        policy = properties["KeyPolicy"]
        key.policy = policy if isinstance(policy, str) else json.dumps(policy)
    if "Description" in properties:
        key.description = properties["Description"]
    if "EnableKeyRotation" in properties:
        key.key_rotation_status = properties["EnableKeyRotation"] in (True, "true")
    if "Enabled" in properties:
        key.enabled = properties["Enabled"] in (True, "true")
    return key


def log_group_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    """19: RetentionInDays changes in place (aws-resource-logs-loggroup.html; moto: no update)."""
    properties = cloudformation_json.get("Properties", {})
    if "RetentionInDays" in properties:
        original_resource.retention_in_days = int(properties["RetentionInDays"])
    return original_resource


# ---------------------------------------------------------------------------------------------
# Change-set bookkeeping (20), stacks (22, 23)


def purge_deleted(backend):
    now = time.monotonic()
    for cs_id, cs in list(backend.change_sets.items()):
        until = getattr(cs, "deleting_until", None)
        if until is not None and ((now >= until and cs.delete_seen) or now >= until + 4 * DELETE_S):
            del backend.change_sets[cs_id]


def delete_change_set_response(self):
    backend = self.cloudformation_backend
    with LOCK:
        cs = find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
        if cs.execution_status == "EXECUTE_IN_PROGRESS":
            raise InvalidChangeSetStatus(f"ChangeSet [{cs.change_set_id}] cannot be deleted in its current execution status of [EXECUTE_IN_PROGRESS]")
        cs.status, cs.execution_status = "DELETE_IN_PROGRESS", "UNAVAILABLE"
        cs.deleting_until, cs.delete_seen = time.monotonic() + DELETE_S, False
    return EmptyResult()


def describe_change_set_response(self):
    backend = self.cloudformation_backend
    with LOCK:
        cs = find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"), deleting=True)
        if getattr(cs, "deleting_until", None) is not None:
            cs.delete_seen = True
    return ActionResult(cs)


def list_change_sets_response(self):
    backend = self.cloudformation_backend
    purge_deleted(backend)
    stack_name = self._get_param("StackName")
    return ActionResult({"Summaries": [cs for cs in backend.change_sets.values() if stack_name in (None, cs.stack_name, cs.stack_id)]})


def create_change_set_response(self):
    backend = self.cloudformation_backend
    with LOCK:
        purge_deleted(backend)
        name, stack_name = self._get_param("ChangeSetName"), self._get_param("StackName")
        live = next((st for st in backend.stacks.values() if stack_name in (st.name, st.stack_id)), None)
        if (
            live is not None
            and self._get_param("ChangeSetType", "UPDATE") in ("UPDATE", "IMPORT")
            and live.status != "REVIEW_IN_PROGRESS"
            and (live.status in UNUPDATABLE or live.stack_id in OPS)
        ):
            # What CloudFormation answers for a stack it cannot update (stack-failure-options.html:
            # a ROLLBACK_COMPLETE stack can only be deleted).
            raise ValidationError(f"Stack:{live.stack_id} is in {live.status} state and can not be updated.")
        for cs in backend.change_sets.values():
            if cs.change_set_name == name and live is not None and cs.stack_id == live.stack_id:
                # Change set names are unique per stack, executed ones included, until deleted
                # (API_CreateChangeSet: AlreadyExistsException); a deletion takes a while (20).
                deleting = getattr(cs, "deleting_until", None) is not None
                raise AlreadyExists(
                    f"ChangeSet [{name}] already exists" + (" and is being deleted" if deleting else f" for stack [{stack_name}]")
                )
        if self._get_param("ChangeSetType") == "IMPORT":
            return create_import_change_set(self)
        return ORIGINAL["create_change_set_response"](self)


def update_termination_protection_response(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def delete_stack(self, name_or_stack_id):
    """22 and 23: termination protection is enforced; a deleted stack keeps its DeletionTime."""
    stack = next((s for s in self.stacks.values() if name_or_stack_id in (s.stack_id, s.name)), None)
    if stack is not None and stack.enable_termination_protection:
        raise ValidationError(f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled")
    if stack is not None and stack.stack_id in OPS:
        raise ValidationError(f"Stack [{stack.name}] is in {stack.status} state and can not be deleted")
    if stack is not None:
        DELETING[stack.stack_id] = stack
    try:
        ORIGINAL["delete_stack"](self, name_or_stack_id)
    finally:
        if stack is not None:
            DELETING.pop(stack.stack_id, None)
    if stack is not None and stack.stack_id in self.deleted_stacks:
        stack.deletion_time = utcnow()
        # Its change sets go with it (API_DeleteStack; a stack of the same name starts afresh).
        for cs_id, cs in list(self.change_sets.items()):
            if cs.stack_id == stack.stack_id:
                del self.change_sets[cs_id]


# ---------------------------------------------------------------------------------------------
# S3 (24)


def expected_owner_check(original):
    def checked(self, request, full_url):
        from moto.s3.exceptions import S3AccessDeniedError

        expected = request.headers.get("x-amz-expected-bucket-owner")
        if expected:
            try:
                bucket = self.backend.get_bucket(self.parse_bucket_name_from_url(request, full_url))
            except Exception:  # no such bucket: S3's own answer follows
                bucket = None
            if bucket is not None and bucket.account_id != expected:
                raise S3AccessDeniedError()
        return original(self, request, full_url)

    return checked


def apply(fail_rollback_of=()):
    from moto.kms.models import Key
    from moto.logs.models import LogGroup
    from moto.s3.responses import S3Response

    FAIL_ROLLBACK_OF.update(fail_rollback_of)
    ORIGINAL["create"] = parsing.parse_and_create_resource
    ORIGINAL["update"] = parsing.parse_and_update_resource
    ORIGINAL["_delete_resource"] = parsing.ResourceMap._delete_resource
    ORIGINAL["map_delete"] = parsing.ResourceMap.delete
    ORIGINAL["outputs"] = Stack.outputs
    ORIGINAL["describe_stacks"] = CloudFormationBackend.describe_stacks
    ORIGINAL["create_resources"] = Stack.create_resources
    ORIGINAL["delete_stack"] = CloudFormationBackend.delete_stack
    ORIGINAL["create_change_set_response"] = CloudFormationResponse.create_change_set
    parsing.parse_and_create_resource = create_resource
    parsing.parse_and_update_resource = update_resource
    parsing.ResourceMap._delete_resource = delete_resource
    parsing.ResourceMap.delete = map_delete
    Stack.stack_resources = property(stack_resources)
    Stack.create_resources = create_resources
    Stack.outputs = property(outputs)
    CloudFormationBackend.describe_stacks = describe_stacks
    CloudFormationBackend.delete_stack = delete_stack
    CloudFormationResponse.execute_change_set = execute_change_set_response
    CloudFormationResponse.create_change_set = create_change_set_response
    CloudFormationResponse.delete_change_set = delete_change_set_response
    CloudFormationResponse.describe_change_set = describe_change_set_response
    CloudFormationResponse.list_change_sets = list_change_sets_response
    CloudFormationResponse.describe_stack_resources = describe_stack_resources_response
    CloudFormationResponse.describe_stack_resource = describe_stack_resource_response
    CloudFormationResponse.list_stack_resources = list_stack_resources_response
    CloudFormationResponse.rollback_stack = rollback_stack_response
    CloudFormationResponse.continue_update_rollback = continue_update_rollback_response
    CloudFormationResponse.update_termination_protection = update_termination_protection_response
    Key.update_from_cloudformation_json = classmethod(kms_key_update)
    LogGroup.update_from_cloudformation_json = classmethod(log_group_update)
    S3Response._key_response = expected_owner_check(S3Response._key_response)
    S3Response._bucket_response = expected_owner_check(S3Response._bucket_response)

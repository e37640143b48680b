"""moto's server for cdkrs's tests, with Lambda and custom resources run by our real provider.

moto 5.2.1 runs Lambda code only in Docker, which the tests do not have, and implements only the
Create half of custom resources (shared/reference/test-tooling.md). This launcher patches moto in
this process, then serves it on 127.0.0.1:

    python -u moto_launcher.py --port 0 --provider target/debug/bootstrap \
        --env DATABRICKS_ACCOUNTS_HOST=http://127.0.0.1:4567 --custom-resource-timeout 300 \
        --exit-on-stdin-eof

The patches, each closing one gap:
  1. `LambdaFunction.invoke` (moto: a Docker container per invocation). Every invocation, from
     moto's Invoke API or from a custom resource, goes to a local provider process through the
     real Lambda Runtime API (`Runtime`, `Function`, `Invocation` below). `InvocationType: Event`
     answers 202 at once and runs in the background: the provider re-invokes itself that way to
     continue a long wait, while its first invocation is still running.
  2. `CustomModel.create_from_cloudformation_json` (moto: invokes in a background thread, with a
     ResponseURL on host.docker.internal, and ignores the answer's PhysicalResourceId). Create
     waits for the provider's answer at `http://127.0.0.1:<port>/cloudformation_<region>/
     cfnresponse?stack=<StackId>`, so `Fn::GetAtt Custom.Attr` of a later resource reads its Data.
  3. `CustomModel.update_from_cloudformation_json` and `CustomModel.delete` (moto: none; a
     modified custom resource became None and Delete was never sent). They send Update (with
     OldResourceProperties) and Delete events; an Update answering a new PhysicalResourceId is a
     replacement, and the old resource gets its Delete right away (CloudFormation's cleanup).
  4. `CloudFormationResponse.process_cfn_response` (moto: drops FAILED answers, so the stack waits
     forever). Answers are matched to the waiting request by RequestId and checked as
     CloudFormation checks them (ids, PhysicalResourceId, 4 KB). A FAILED answer, a rejected one or
     none in time adds a `<OP>_FAILED` event for the resource with the Reason; in a change set's
     execution or a CreateStack the stack then rolls back (patch 16), in UpdateStack and
     DeleteStack the call fails with a ValidationError naming the resource and the Reason.
  5. `CloudFormationBackend.delete_stack` (moto: forgets the stack before deleting its resources,
     so a failed delete made the stack vanish). A failed delete puts the stack back as
     DELETE_FAILED.
  6. `ResourceMap.delete` (moto: deletes in any order, retrying what fails, so the provider
     function could go before the custom resources that need it). Deletes dependents first, as
     CloudFormation does, and keeps what a resource that failed to delete still needs.
  7. `ResourceMap.update` (moto retries a failed modification 4 times). A custom resource that
     failed once in an update call fails again at once, without another event.
  8. Executing a change set (moto: a stack created by a change set keeps the Outputs of the empty
     template it started from, i.e. none; and a change set's parameter values reach the resources
     but not the stack's record, so setting a value back "didn't contain changes"; its exports
     were never registered, so DeleteStack failed unregistering them). Outputs are rebuilt from
     the executed template, their exports registered, the stack keeps the values it was given
     (`finish_change_set` in moto_cfn_lifecycle.py, which runs the execution: patch 15).
  9. `ResourceMap.build_resource_diff` (moto: adds, modifies and removes in template order,
     ignoring `DependsOn`, and modifies a resource for a changed parameter only when it `Ref`s
     it). Additions and updates run in dependency order, removals dependents first, and a resource whose properties hold an
     `Fn::If` on a condition the changed parameters flip is modified (its Update is sent).
  Patches 10 to 14 live in moto_resource_patches.py (resource emulation):
  10. `kms Key.create_from_cloudformation_json` (moto: passes CloudFormation's `Tags`
     `{Key, Value}` to the KMS API, which wants `{TagKey, TagValue}`: KeyError, HTTP 500 on any
     tagged key). Tags are renamed.
  11. `ec2 FlowLogs.create_from_cloudformation_json` (moto: takes everything after the S3 ARN's
     `:::` as the bucket name, so a destination with a prefix, `arn:aws:s3:::bucket/vpc-flow-logs`,
     "does not exist" and the tagging that follows fails with HTTP 500). The prefix is dropped for
     moto's check; moto delivers no logs anyway.
  13. Deletes for the EC2 types moto creates but cannot delete (internet gateway and its
     attachment, Elastic IP, NAT gateway, route, route table, subnet association, VPC endpoint,
     flow log, security-group ingress): without them every VPC stack fails to delete with
     "DependencyViolation: the vpc has dependencies". Each calls the EC2 backend's own delete.
  14. `CloudFormationBackend.create_change_set` (moto: a CREATE change set always makes a new
     stack, so a second CREATE for a stack left in REVIEW_IN_PROGRESS gave two stacks of one
     name, and DescribeStacks by name answered with the stale one forever). The stack under review
     is replaced; a CREATE for a live stack fails as in CloudFormation.
  12. `parsing.parse_and_update_resource` (moto: a modified resource of a type moto cannot update,
     e.g. AWS::KMS::Key after a tag change, becomes None, and every later `Fn::GetAtt` of it fails
     with "references undefined resource"). Such a resource stays as it was.

  Patches 15 to 24 live in moto_cfn_lifecycle.py (CloudFormation's unhappy paths: asynchronous
  execution, rollback, RollbackStack, ContinueUpdateRollback, import, asynchronous DeleteChangeSet,
  request tokens, termination protection, deleted stacks' resources; S3's expected bucket owner);
  its docstring lists them. `--fail-rollback-of LOGICAL_ID` makes every rollback step of that
  resource fail, so a test can reach ROLLBACK_FAILED / UPDATE_ROLLBACK_FAILED.

Prints `moto_launcher ready port=<port>` once moto listens. Stops, with its provider processes,
on SIGTERM or SIGINT, or with --exit-on-stdin-eof when its stdin closes (the test process that
started it is gone, even killed).
"""

import argparse
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from moto.awslambda import lambda_backends
from moto.awslambda.models import LambdaFunction
from moto.cloudformation import cloudformation_backends
from moto.cloudformation.custom_model import CustomModel
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.responses import CloudFormationResponse

import moto_cfn_lifecycle  # patches 15-24, beside this file
import moto_resource_patches  # patches 10-14, beside this file

ARGS = argparse.Namespace()
INIT_TIMEOUT_S = 10
MOTO_URL = ""  # http://127.0.0.1:<port>, set once moto's server is bound


def log(message):
    print(f"[moto_launcher] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Lambda: one provider process per function, fed through the Lambda Runtime API.


class Invocation:
    """One invocation: the payload, then the result the runtime posts back."""

    def __init__(self, payload, timeout_s, function_arn):
        self.id = str(uuid.uuid4())
        self.payload = payload
        self.timeout_s = timeout_s
        self.function_arn = function_arn
        self.done = threading.Event()
        self.error = False
        self.result = b""
        self.on_done = []  # callbacks, called once with this invocation
        self._lock = threading.Lock()

    def finish(self, error, result):
        with self._lock:
            if self.done.is_set():
                return
            self.error, self.result = error, result
            self.done.set()
        for callback in self.on_done:
            callback(self)


def lambda_error(error_type, message):
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class Runtime:
    """A provider process and its own Runtime API endpoint (its AWS_LAMBDA_RUNTIME_API)."""

    def __init__(self, function, env):
        self.function = function
        self.alive = True
        self.polled = False  # the process asked for an invocation at least once
        self.init_error = None
        self.inflight = {}  # request id -> Invocation handed to the process
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
        self.server.daemon_threads = True
        self.server.runtime = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.server.server_address[1]}")
        try:
            self.proc = subprocess.Popen(
                [ARGS.provider],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError:
            self.server.shutdown()
            raise
        log(f"started provider pid={self.proc.pid} for {function.name}")
        threading.Thread(target=self._watch, daemon=True).start()
        init_timer = threading.Timer(INIT_TIMEOUT_S, self._init_deadline)
        init_timer.daemon = True
        init_timer.start()

    def _init_deadline(self):
        # Lambda gives a runtime 10 s to ask for its first invocation.
        if self.alive and not self.polled:
            log(f"provider pid={self.proc.pid} of {self.function.name} did not ask for work within {INIT_TIMEOUT_S} s")
            self.stop()

    def _watch(self):
        # The provider's output goes to this launcher's log, line by line, then its exit.
        for line in self.proc.stdout:
            sys.stderr.write(f"[{self.function.name}] {line.decode(errors='replace')}")
            sys.stderr.flush()
        code = self.proc.wait()
        log(f"provider pid={self.proc.pid} of {self.function.name} exited with {code}")
        self.alive = False
        self.server.shutdown()
        for inv in list(self.inflight.values()):
            inv.finish(True, lambda_error("Runtime.ExitError", f"Runtime exited with error: exit status {code}"))
        self.function.runtime_ended(self, code)

    def stop(self):
        self.alive = False
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def time_out(self, inv):
        # Lambda ends the execution environment at the deadline.
        if not inv.done.is_set():
            log(f"invocation {inv.id} of {self.function.name} timed out after {inv.timeout_s} s")
            inv.finish(True, lambda_error("Sandbox.Timedout", f"Task timed out after {inv.timeout_s:.2f} seconds"))
            self.stop()


class RuntimeApi(BaseHTTPRequestHandler):
    """The Lambda Runtime API (2018-06-01) for one provider process."""

    protocol_version = "HTTP/1.1"
    PREFIX = "/2018-06-01/runtime/"

    def log_message(self, format, *args):  # the provider logs its own work
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        runtime = self.server.runtime
        if self.path != self.PREFIX + "invocation/next":
            return self.reply(404, b'{"errorType":"NotFound"}')
        runtime.polled = True
        while runtime.alive:  # long poll, until an invocation comes or the process is gone
            try:
                inv = runtime.function.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if not runtime.alive:  # stopped while we waited: leave it to the next process
                runtime.function.queue.put(inv)
                break
            deadline_ms = int(time.time() * 1000) + inv.timeout_s * 1000
            runtime.inflight[inv.id] = inv
            timer = threading.Timer(inv.timeout_s + 1, runtime.time_out, [inv])
            timer.daemon = True
            timer.start()
            inv.on_done.append(lambda _inv: timer.cancel())
            try:
                self.reply(
                    200,
                    inv.payload,
                    [
                        ("Lambda-Runtime-Aws-Request-Id", inv.id),
                        ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                        ("Lambda-Runtime-Invoked-Function-Arn", inv.function_arn),
                        ("Lambda-Runtime-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0"),
                    ],
                )
            except OSError:  # the process went away while we handed it over: try again later
                runtime.inflight.pop(inv.id, None)
                timer.cancel()
                runtime.function.queue.put(inv)
            return
        self.close_connection = True

    def do_POST(self):
        runtime = self.server.runtime
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path[len(self.PREFIX):] if self.path.startswith(self.PREFIX) else ""
        if path == "init/error":
            runtime.init_error = body
            log(f"provider of {runtime.function.name} failed to start: {body.decode(errors='replace')}")
            return self.reply(202, b'{"status":"OK"}')
        parts = path.split("/")  # invocation/<id>/response | invocation/<id>/error
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            inv = runtime.inflight.pop(parts[1], None)
            if inv is None:
                return self.reply(400, b'{"errorType":"InvalidRequestID"}')
            if parts[2] == "error":
                log(f"invocation {inv.id} of {runtime.function.name} failed: {body.decode(errors='replace')}")
            inv.finish(parts[2] == "error", body)
            return self.reply(202, b'{"status":"OK"}')
        self.reply(404, b'{"errorType":"NotFound"}')


class Function:
    """A Lambda function of moto's: its invocation queue and, once invoked, its provider process."""

    def __init__(self, name):
        self.name = name
        self.queue = queue.Queue()
        self.lock = threading.Lock()
        self.model = None  # moto's LambdaFunction, as last invoked
        self.runtime = None
        self.env = None

    def env_of(self, fn):
        # Real Lambda's environment: the function's variables, then the reserved ones; then the
        # launcher's --env (the tests' overrides). Nothing of this process's own environment but
        # PATH, so a developer's AWS profile or keys never reach the provider.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
        env.update(
            AWS_LAMBDA_FUNCTION_NAME=fn.function_name,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(fn.memory_size),
            AWS_LAMBDA_FUNCTION_VERSION=str(fn.version),
            AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{fn.function_name}",
            AWS_LAMBDA_LOG_STREAM_NAME="moto-launcher",
            AWS_REGION=fn.region,
            AWS_DEFAULT_REGION=fn.region,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_ENDPOINT_URL=MOTO_URL,  # the provider's own SDK calls (secret, self-invoke)
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        env.update(ARGS.env)
        return env

    def submit(self, fn, payload):
        """Queues an invocation; starts the provider process if none runs."""
        inv = Invocation(payload, int(fn.timeout), fn.function_arn)
        PENDING.track(inv)
        with self.lock:
            self.model = fn
            env = self.env_of(fn)
            if self.runtime and env != self.env and not self.runtime.inflight:
                log(f"configuration of {self.name} changed: restarting its provider")
                self.runtime.stop()
                self.runtime = None
            if not ARGS.provider:
                inv.finish(True, lambda_error("Runtime.InvalidEntrypoint", "moto_launcher runs without --provider"))
                return inv
            self.queue.put(inv)
            self._ensure_runtime()
        return inv

    def _ensure_runtime(self):
        if self.runtime is None or not self.runtime.alive:
            self.env = self.env_of(self.model)
            try:
                self.runtime = Runtime(self, self.env)
            except OSError as e:
                self.runtime = None
                self._fail_queued(lambda_error("Runtime.InvalidEntrypoint", f"cannot start {ARGS.provider}: {e}"))

    def _fail_queued(self, result):
        while True:
            try:
                self.queue.get_nowait().finish(True, result)
            except queue.Empty:
                return

    def runtime_ended(self, runtime, code):
        with self.lock:
            if self.runtime is not runtime:
                return  # replaced already
            self.runtime = None
            if runtime.init_error is not None or not runtime.polled:
                # It died before taking work: fail what waits instead of restarting it forever.
                reason = runtime.init_error or lambda_error("Runtime.ExitError", f"Runtime exited before init: exit status {code}")
                self._fail_queued(reason)
            elif not self.queue.empty():
                self._ensure_runtime()

    def stop(self):
        with self.lock:
            if self.runtime:
                self.runtime.stop()


FUNCTIONS = {}
FUNCTIONS_LOCK = threading.Lock()


def function_of(fn):
    key = f"arn:aws:lambda:{fn.region}:{fn.account_id}:function:{fn.function_name}"
    with FUNCTIONS_LOCK:
        return FUNCTIONS.setdefault(key, Function(fn.function_name))


def lambda_invoke(self, body, request_headers, response_headers):
    """Patch 1: replaces moto's LambdaFunction.invoke (Docker)."""
    payload = body.encode() if isinstance(body, str) else (body or b"{}")
    kind = request_headers.get("X-Amz-Invocation-Type") or request_headers.get("x-amz-invocation-type") or "RequestResponse"
    if kind == "DryRun":
        return b""
    inv = function_of(self).submit(self, payload)
    if kind == "Event":
        return b""  # moto answers 202; the invocation runs in the background
    inv.done.wait()
    if inv.error:
        response_headers["x-amz-function-error"] = "Unhandled"
    return inv.result


# ---------------------------------------------------------------------------------------------
# Custom resources: CloudFormation's request/response protocol against the provider.


class Request:
    """A custom-resource request waiting for its answer at the ResponseURL."""

    def __init__(self, event):
        self.event = event
        self.answer = None
        self.answer_size = 0
        self.outstanding = 0  # invocations carrying this request that have not ended
        self.last_error = None
        self.settled = threading.Event()


class Pending:
    """The requests waiting for an answer, by RequestId."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}

    def open(self, event):
        request = Request(event)
        with self.lock:
            self.requests[event["RequestId"]] = request
        return request

    def close(self, request):
        with self.lock:
            self.requests.pop(request.event["RequestId"], None)

    def track(self, inv):
        # An invocation carrying a waiting request (the first, or a continuation the provider
        # queued): when the last one ends without an answer, the request fails at once instead
        # of waiting for the timeout.
        try:
            request_id = json.loads(inv.payload).get("RequestId")
        except (ValueError, AttributeError):
            return
        with self.lock:
            request = self.requests.get(request_id)
            if request is None:
                return
            request.outstanding += 1
        inv.on_done.append(lambda done: self._ended(request, done))

    def _ended(self, request, inv):
        with self.lock:
            request.outstanding -= 1
            if inv.error:
                request.last_error = inv.result.decode(errors="replace")
            if request.outstanding == 0 and request.answer is None:
                request.settled.set()

    def deliver(self, raw):
        """Records an answer; False when no request waits for it."""
        answer = json.loads(raw)
        if not isinstance(answer, dict):
            raise ValueError("not a JSON object")
        with self.lock:
            request = self.requests.get(answer.get("RequestId"))
            if request is None:
                return False
            if request.answer is not None:
                log(f"a second answer to request {answer.get('RequestId')} is ignored")
                return True
            request.answer, request.answer_size = answer, len(raw)
            request.settled.set()
        return True


PENDING = Pending()
OPERATION = threading.local()  # per API call (one moto request thread): failures already answered


class CustomResourceFailed(CloudFormationError):
    """Raised into moto: the API call that ran the request fails with a 400 ValidationError (or,
    in a change set's execution, the stack rolls back: patch 16)."""

    code = "ValidationError"
    event_recorded = True  # `fail` added the resource's *_FAILED event


def as_delivered(value):
    # CloudFormation hands every scalar property to a custom resource as a string.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [as_delivered(v) for v in value]
    if isinstance(value, dict):
        return {k: as_delivered(v) for k, v in value.items()}
    return value


def request(resource, request_type, old=None):
    """Sends one event to the provider and returns its SUCCESS answer, or fails the resource."""
    properties = resource.properties
    event = {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": f"{MOTO_URL}/cloudformation_{resource.region_name}/cfnresponse?stack={resource.stack.stack_id}",
        "StackId": resource.stack.stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": resource.logical_id,
        "ResourceType": resource.resource_type,
        "ResourceProperties": as_delivered(properties),
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = (old or resource).physical_id
    if old is not None:
        event["OldResourceProperties"] = as_delivered(old.properties)
    # moto's ResourceMap.update retries a failed update up to 4 times: within one API call,
    # answer a retry with the same failure instead of asking the provider again.
    failures = getattr(OPERATION, "failures", {})
    memo_key = (resource.stack.stack_id, resource.logical_id, request_type, json.dumps(properties, sort_keys=True, default=str))
    if memo_key in failures:
        raise CustomResourceFailed(failures[memo_key])

    log(f"{request_type} {resource.logical_id} ({resource.resource_type}) request {event['RequestId']}")
    try:
        fn = lambda_backends[resource.account_id][resource.region_name].get_function(properties["ServiceToken"])
    except Exception as e:
        fn, reason = None, f"ServiceToken {properties['ServiceToken']} is no Lambda function: {e}"
    if fn is not None:
        timeout = min(float(properties.get("ServiceTimeout") or 3600), ARGS.custom_resource_timeout)
        pending = PENDING.open(event)
        try:
            function_of(fn).submit(fn, json.dumps(event).encode())  # CloudFormation invokes with Event
            pending.settled.wait(timeout)
        finally:
            PENDING.close(pending)
        answer = pending.answer
        if answer is not None:
            reason = check_answer(event, answer, pending.answer_size)
        elif pending.settled.is_set():
            reason = f"every invocation of the provider ended without an answer; last error: {pending.last_error}"
        else:
            reason = f"the provider sent no answer within {timeout:g} s"
    if reason is None:
        log(f"{request_type} {resource.logical_id}: SUCCESS, PhysicalResourceId {answer['PhysicalResourceId']}")
        return answer
    if request_type == "Create" and fn is not None and answer is not None and answer.get("PhysicalResourceId"):
        # The rollback's Delete names the id the FAILED answer gave (patch 16).
        resource.physical_id = answer["PhysicalResourceId"]
    message = fail(resource, request_type, reason)
    failures[memo_key] = message
    raise CustomResourceFailed(message)


def check_answer(event, answer, size):
    """The reason CloudFormation would fail this answer for, or None for a SUCCESS."""
    if size > 4096:
        return "Response object is too long."
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        if answer.get(key) != event[key]:
            return f"Invalid {key} in the response: {answer.get(key)!r}, expected {event[key]!r}"
    if answer.get("Status") == "FAILED":
        return answer.get("Reason") or "(the provider gave no Reason)"
    if not answer.get("PhysicalResourceId"):
        return "Invalid PhysicalResourceId"
    if answer.get("Status") != "SUCCESS":
        return f"Invalid Status in the response: {answer.get('Status')!r}"
    return None


def fail(resource, request_type, reason):
    """Makes a failure visible: log, resource event, stack status. Returns the error message."""
    status = request_type.upper() + "_FAILED"
    stack = resource.stack
    log(f"{status} {resource.logical_id} ({resource.resource_type}): {reason}")
    moto_cfn_lifecycle.resource_event(stack, resource.logical_id, resource.resource_type, resource.physical_id or "", status, reason)
    if not getattr(stack, "deleting", False):
        stack.status = "CREATE_FAILED" if request_type == "Create" else "UPDATE_FAILED"
    return f"{resource.logical_id} ({resource.resource_type}) {status}: {reason}"


def custom_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    """Patch 2: Create, waiting for the answer."""
    stack = cloudformation_backends[account_id][region_name].get_stack(kwargs["StackId"])
    resource = cls(region_name, "", kwargs["LogicalId"], resource_name)
    resource.account_id, resource.stack, resource.resource_type = account_id, stack, kwargs["ResourceType"]
    resource.properties = cloudformation_json["Properties"]
    resource.physical_id = None
    stack.add_custom_resource(resource)
    answer = request(resource, "Create")
    resource.physical_id = answer["PhysicalResourceId"]
    resource.set_data(answer.get("Data") or {})
    return resource


def custom_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
    """Patch 3: Update; a new PhysicalResourceId replaces the resource, so the old one is deleted."""
    old = original_resource
    if cloudformation_json["Properties"] == old.properties:
        return old  # CloudFormation sends no Update when the resolved properties are unchanged
    new = cls(region_name, "", old.logical_id, old.resource_name)
    new.account_id, new.stack, new.resource_type = account_id, old.stack, old.resource_type
    new.properties = cloudformation_json["Properties"]
    new.physical_id = old.physical_id
    answer = request(new, "Update", old=old)
    new.physical_id = answer["PhysicalResourceId"]
    new.set_data(answer.get("Data") or {})
    new.stack.add_custom_resource(new)
    if new.physical_id != old.physical_id:
        try:
            request(old, "Delete")
        except CustomResourceFailed as e:  # CloudFormation does not fail an update on cleanup
            log(f"cleanup after replacing {old.logical_id} failed (the update stands): {e}")
    return new


def custom_delete(self, account_id, region_name):
    """Patch 3: Delete (moto calls `resource.delete` for resources it removes)."""
    request(self, "Delete")


def process_cfn_response(self):
    """Patch 4: answers at the ResponseURL go to the request waiting for them."""
    try:
        if PENDING.deliver(self.body if isinstance(self.body, bytes) else self.body.encode()):
            return 200, {"status": 200}, ""
    except ValueError as e:
        log(f"an answer at the ResponseURL is not JSON ({e}): {self.body!r}")
        return 400, {"status": 400}, ""
    log(f"an answer no request waits for (late, or not ours): {self.body!r}")
    return ORIGINAL["process_cfn_response"](self)


def delete_stack(self, name_or_stack_id):
    """Patch 5: a failed delete leaves the stack in DELETE_FAILED instead of losing it."""
    stack = next((s for s in self.stacks.values() if name_or_stack_id in (s.stack_id, s.name)), None)
    if stack is not None:
        stack.deleting = True
    try:
        return ORIGINAL["delete_stack"](self, name_or_stack_id)
    except Exception as e:
        if stack is not None:
            self.stacks[stack.stack_id] = stack
            stack.status = "DELETE_FAILED"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=str(e))
        raise
    finally:
        if stack is not None:
            stack.deleting = False


def references(value):
    """The logical ids a template fragment refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    found = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".")[0])
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", str(text))}
                found |= references(item[1:] if isinstance(item, list) else None)
            else:
                found |= references(item)
    return found


def dependencies(resources):
    """For each resource of a template's Resources, the others it refers to or DependsOn."""
    needs = {}
    for name, body in resources.items():
        depends_on = body.get("DependsOn") or []
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        needs[name] = (references(body) | set(depends_on)) & set(resources) - {name}
    return needs


def dependency_order(resources, names):
    """`names`, each after the resources (among them) it depends on."""
    needs, left, order = dependencies(resources), set(names), []
    while left:
        ready = sorted(n for n in left if not needs.get(n, set()) & left) or sorted(left)  # (a cycle: any order)
        order += ready
        left -= set(ready)
    return order


def resource_map_delete(self):
    """Patch 6: deletes dependents first, as CloudFormation does, and never what a resource that
    failed to delete still needs; no retries within one call."""
    resources = {k: v for k, v in self._resource_json_map.items() if not moto_cfn_lifecycle.retained(v)}
    needs = dependencies(resources)
    kept, error = set(), None
    for name in reversed(dependency_order(resources, resources)):
        resource = self._parsed_resources.get(name)
        if any(name in needs[k] for k in kept):
            kept.add(name)  # still needed by a resource that could not be deleted
            continue
        try:
            if resource is not None and not isinstance(resource, str):
                self._delete_resource(resource, resources[name])
                self._parsed_resources.pop(name)
        except Exception as e:
            kept.add(name)
            error = error or e
    if error is not None:
        # What was deleted leaves the map, else moto's lazy map would create it again on the
        # next read (DescribeStackResources, say); the stack's template keeps it.
        self._resource_json_map = {k: v for k, v in self._resource_json_map.items() if k in kept or k not in resources}
        raise error


def conditions_on(conditions, names):
    """The conditions whose value depends on any of `names` (parameters or conditions)."""
    found, names = set(), set(names)
    while True:
        more = {
            c for c, body in conditions.items()
            if c not in found and names & set(condition_inputs(body))
        }
        if not more:
            return found
        found |= more
        names |= more


def condition_inputs(node):
    """The parameters (`Ref`) and conditions (`{"Condition": …}`, `Fn::If`) a JSON node names."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("Ref", "Condition") and isinstance(value, str):
                yield value
            elif key == "Fn::If" and isinstance(value, list) and value:
                yield value[0]
                yield from condition_inputs(value[1:])
            else:
                yield from condition_inputs(value)
    elif isinstance(node, list):
        for item in node:
            yield from condition_inputs(item)


def build_resource_diff(self, other_template, parameters=None):
    """Patch 9: an update modifies resources in dependency order and removes dependents first
    (moto: template order), so a modified resource reads the new attributes of what it needs.
    A resource whose properties hold an `Fn::If` on a condition that a changed parameter flips is
    modified too (moto: only a direct `Ref` of the parameter counts), as CloudFormation updates a
    resource whose resolved properties change: `cdkrs sleep` flips `NetworkAwake`, and the
    cluster's `StartOnCreate` with it."""
    diff = ORIGINAL["build_resource_diff"](self, other_template, parameters)
    if parameters:
        changed = [p for p in parameters if self.input_parameters.get(p) != parameters[p]]
        flipped = conditions_on(other_template.get("Conditions", {}), changed)
        for name, resource in other_template["Resources"].items():
            if (
                name in self._resource_json_map
                and name not in diff["Modify"]
                and "Condition" not in resource
                and flipped & set(condition_inputs(resource.get("Properties", {})))
            ):
                diff["Modify"].append(name)
    # Additions too (moto: template order, with `DependsOn` ignored and references resolved
    # lazily): CloudFormation creates a resource only after everything it refers to or names in
    # `DependsOn` ("DependsOn attribute", AWS CloudFormation User Guide,
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html:
    # "the resource is created only after the creation of the resource specified in the
    # DependsOn attribute"). A change set that creates a stack runs through here.
    diff["Add"] = dependency_order(other_template["Resources"], diff["Add"])
    diff["Modify"] = dependency_order(other_template["Resources"], diff["Modify"])
    diff["Remove"] = dependency_order(self._resource_json_map, diff["Remove"])[::-1]
    return diff


def resource_map_update(self, template, parameters=None):
    """Patch 7: scopes the failure memo of `request` to one update call."""
    OPERATION.failures = {}
    try:
        return ORIGINAL["update"](self, template, parameters)
    finally:
        OPERATION.failures = {}


ORIGINAL = {}


def patch_moto():
    moto_resource_patches.apply()
    ORIGINAL["process_cfn_response"] = CloudFormationResponse.process_cfn_response
    ORIGINAL["delete_stack"] = CloudFormationBackend.delete_stack
    ORIGINAL["update"] = ResourceMap.update
    ORIGINAL["build_resource_diff"] = ResourceMap.build_resource_diff
    LambdaFunction.invoke = lambda_invoke
    CustomModel.create_from_cloudformation_json = classmethod(custom_create)
    CustomModel.update_from_cloudformation_json = classmethod(custom_update)
    CustomModel.delete = custom_delete
    # Ref to a custom resource is the PhysicalResourceId its provider answered.
    CustomModel.physical_resource_id = property(lambda self: getattr(self, "physical_id", None) or self.resource_name)
    CloudFormationResponse.process_cfn_response = process_cfn_response
    CloudFormationBackend.delete_stack = delete_stack
    ResourceMap.delete = resource_map_delete
    ResourceMap.update = resource_map_update
    ResourceMap.build_resource_diff = build_resource_diff
    moto_cfn_lifecycle.apply(ARGS.fail_rollback_of)


# ---------------------------------------------------------------------------------------------


def main():
    global ARGS, MOTO_URL
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="moto's port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--provider", help="the provider binary every Lambda invocation runs")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="provider environment override (repeatable)")
    parser.add_argument("--custom-resource-timeout", type=float, default=300, help="longest wait for a custom resource's answer, seconds (default 300; ServiceTimeout when shorter)")
    parser.add_argument("--fail-rollback-of", action="append", default=[], metavar="LOGICAL_ID", help="every rollback step of this resource fails (patch 18: reach ROLLBACK_FAILED / UPDATE_ROLLBACK_FAILED; repeatable)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help="stop when stdin closes (the harness passes a pipe)")
    ARGS = parser.parse_args()
    ARGS.env = dict(item.split("=", 1) for item in ARGS.env)

    patch_moto()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", ARGS.port, DomainDispatcherApplication(create_backend_app), threaded=True)
    port = server.server_address[1]
    os.environ["MOTO_PORT"] = str(port)  # moto builds some of its own URLs from it
    MOTO_URL = f"http://127.0.0.1:{port}"

    def stop(*_):
        # Once: a second signal during the cleanup below would cut it short and orphan providers.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_stdin():
        while os.read(0, 4096):  # unbuffered: a buffered read would block interpreter shutdown
            pass
        os.kill(os.getpid(), signal.SIGTERM)  # EOF: whoever started us is gone

    if ARGS.exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, daemon=True).start()
    print(f"moto_launcher ready port={port}", flush=True)
    try:
        server.serve_forever()
    finally:
        for function in list(FUNCTIONS.values()):
            function.stop()
        log("stopped")


if __name__ == "__main__":
    main()

"""Checks the requests the fake Databricks server recorded against the Databricks SDK for Python.

Usage: check_requests.py LOG_DIR [--classifier PATH]

LOG_DIR holds the JSON lines every `FakeDatabricks` writes when CDKRS_DATABRICKS_REQUEST_LOG names
it (testkit/src/databricks/mod.rs); scripts/test sets it for `cargo test`. For every request the
provider (`cdkrs-databricks-provider/…`) or the SDK itself (`cdkrs-sdk-contract/…`, the product
name testkit/python/sdk_contract.py gives it) sent:

1. some SDK service method has the same verb and path template. The table is built from the
   SDK's service modules (the `self._api.do(...)` call of each method, read with `ast`), never
   typed by hand; paths the SDK has no method for fail unless ALLOWLIST names them with a reason;
2. every query name is one that method sends;
3. the JSON body round-trips unchanged through the method: it is turned into the method's typed
   arguments (`X.from_dict`, `Enum(value)`), the method is called against a recording stub of
   `ApiClient.do`, and the body the SDK builds must equal the one recorded. An unknown field, an
   unknown enum value or a missing required field fails.

And for every error answer the fake recorded (whoever asked): the SDK's error parser
(`databricks.sdk.errors._Parser`) and the provider's classification
(`databricks_provider::client::ApiError::from_response`, through the `classify_errors` example
binary) must agree, through the one table KIND_TO_SDK.

Requests from other clients (the fake's own raw-HTTP tests) get the error check only. Exit 0 when
everything agrees; otherwise every failure is printed, grouped, and the status is 1.
"""

from __future__ import annotations

import argparse
import ast
import collections
import enum
import http
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import textwrap
import typing
import urllib.parse
from dataclasses import dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import requests

import databricks.sdk.service as service_pkg
from databricks.sdk import errors
from databricks.sdk.version import __version__ as SDK_VERSION

# The provider, and the SDK itself as sdk_contract.py drives it (its User-Agent product).
CHECKED_CLIENTS = ("cdkrs-databricks-provider/", "cdkrs-sdk-contract/")

# Paths no SDK service method calls, each with why a request to it is right.
ALLOWLIST: List[Tuple[str, re.Pattern, str]] = [
    ("POST", re.compile(r"^/oidc/accounts/[^/]+/v1/token$"),
     "the account OAuth token endpoint: the SDK's oauth.ClientCredentials posts the client-credentials "
     "form here (credentials_provider.oauth_service_principal), not a service method; its body is "
     "never recorded"),
    ("POST", re.compile(r"^/oidc/v1/token$"),
     "the workspace OAuth token endpoint (same as above, for a workspace host)"),
    ("GET", re.compile(r"^/\.well-known/databricks-config$"),
     "the host metadata the SDK reads before authenticating (config.Config._resolve_host_metadata)"),
    ("GET", re.compile(r"^/oidc(/accounts/[^/]+)?/\.well-known/oauth-authorization-server$"),
     "the OAuth discovery document the SDK reads for its token endpoint (oauth.get_endpoints_from_url)"),
]

# ---------------------------------------------------------------------------------------------
# The SDK's methods, read from its service modules.


@dataclass
class Method:
    cls: type
    name: str
    verb: str
    regex: re.Pattern
    path_params: Dict[str, str]  # regex group -> parameter name
    body_keys: Dict[str, Optional[str]] = field(default_factory=dict)  # body key -> parameter
    whole_body: Optional[str] = None  # `body = param.as_dict()`
    query_keys: Dict[str, Optional[str]] = field(default_factory=dict)  # query name -> parameter

    @property
    def label(self) -> str:
        return f"{self.cls.__module__.rsplit('.', 1)[-1]}.{self.cls.__name__}.{self.name}"


def _names(node: ast.AST) -> List[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def _is_api_do(call: ast.Call) -> bool:
    f = call.func
    return (isinstance(f, ast.Attribute) and f.attr == "do" and isinstance(f.value, ast.Attribute)
            and f.value.attr == "_api" and isinstance(f.value.value, ast.Name) and f.value.value.id == "self")


def _template(node: ast.AST) -> Optional[Tuple[re.Pattern, Dict[str, str]]]:
    """The regex of a path argument (an f-string or a constant) and its groups' parameters."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.compile("^" + re.escape(node.value) + "$"), {}
    if not isinstance(node, ast.JoinedStr):
        return None
    pattern, groups = "^", {}
    for part in node.values:
        if isinstance(part, ast.Constant):
            pattern += re.escape(str(part.value))
            continue
        value = part.value
        if isinstance(value, ast.Attribute) and value.attr == "account_id":
            pattern += "(?P<__account_id>[^/]+)"
        elif isinstance(value, ast.Name):
            group = f"g{len(groups)}"
            groups[group] = value.id
            pattern += f"(?P<{group}>[^/]+)"
        else:
            return None
    return re.compile(pattern + "$"), groups


def _methods_of(cls: type) -> List[Method]:
    found = []
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_") or fn.__qualname__.split(".")[0] != cls.__name__:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        except (OSError, SyntaxError):
            continue
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_api_do(n)]
        if len(calls) != 1 or len(calls[0].args) < 2 or not isinstance(calls[0].args[0], ast.Constant):
            continue
        tpl = _template(calls[0].args[1])
        if tpl is None:
            continue
        m = Method(cls, name, calls[0].args[0].value, tpl[0], tpl[1])
        params = set(inspect.signature(fn).parameters) - {"self"}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                        and isinstance(target.slice, ast.Constant)):
                    param = next((n for n in _names(node.value) if n in params), None)
                    if target.value.id == "body":
                        m.body_keys[target.slice.value] = param
                    elif target.value.id == "query":
                        m.query_keys[target.slice.value] = param
                elif isinstance(target, ast.Name) and target.id == "body":
                    # `body = param.as_dict()`: the whole body is one dataclass argument.
                    v = node.value
                    if (isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "as_dict"
                            and isinstance(v.func.value, ast.Name) and v.func.value.id in params):
                        m.whole_body = v.func.value.id
        found.append(m)
    return found


def sdk_methods() -> List[Method]:
    """Every method of every service API class of the SDK that makes one REST call."""
    methods = []
    for info in pkgutil.iter_modules(service_pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"databricks.sdk.service.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and cls.__name__.endswith("API"):
                methods.extend(_methods_of(cls))
    return methods


# ---------------------------------------------------------------------------------------------
# Replaying a recorded request through an SDK method.


class Mismatch(Exception):
    """The recorded request is not one this SDK method builds."""


class _Sent(Exception):
    def __init__(self, verb, path, query, body):
        super().__init__("sent")
        self.sent = (verb, path, query, body)


class _StubApi:
    """A recording stand-in for ApiClient: `do` captures the request and stops the method."""

    def __init__(self, account_id: str):
        self.account_id = account_id
        # Methods read `self._api._cfg.workspace_id` for an optional routing header.
        self._cfg = type("Cfg", (), {"workspace_id": None})()

    def do(self, method, path=None, url=None, query=None, headers=None, body=None, **_):
        raise _Sent(method, path or url, query or {}, body)


def _convert(value: Any, tp: Any, where: str) -> Any:
    """`value` (JSON) as the typed argument `tp`; unknown enum values fail."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(value, args[0], where) if len(args) == 1 else value
    if origin in (list, List):
        if not isinstance(value, list):
            raise Mismatch(f"{where} must be a list, got {json.dumps(value)}")
        (item,) = typing.get_args(tp) or (Any,)
        return [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise Mismatch(f"{where} must be an object, got {json.dumps(value)}")
        args = typing.get_args(tp)
        item = args[1] if len(args) == 2 else Any
        return {k: _convert(v, item, f"{where}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise Mismatch(f"{where}: {json.dumps(value)} is not a value of the SDK's {tp.__name__} "
                           f"({', '.join(str(e.value) for e in tp)})") from None
    if isinstance(tp, type) and is_dataclass(tp):
        if not isinstance(value, dict):
            raise Mismatch(f"{where} must be an object ({tp.__name__}), got {json.dumps(value)}")
        try:
            return tp.from_dict(value)
        except ValueError as e:  # an unknown enum value inside
            raise Mismatch(f"{where}: {e}") from None
    if tp is bool and not isinstance(value, bool):
        raise Mismatch(f"{where} must be a boolean, got {json.dumps(value)}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise Mismatch(f"{where} must be an integer, got {json.dumps(value)}")
    if tp is str and not isinstance(value, str):
        raise Mismatch(f"{where} must be a string, got {json.dumps(value)}")
    return value


def _from_text(text: str, tp: Any, where: str) -> Any:
    """A query or path value (text) as the typed argument `tp`."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if len(args) == 1 else str
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise Mismatch(f"{where}: {text!r} is not an integer") from None
    if tp is bool:
        if text not in ("true", "false"):
            raise Mismatch(f"{where}: {text!r} is not true/false")
        return text == "true"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _convert(text, tp, where)
    return text


def _differences(recorded: Any, built: Any, where: str = "") -> List[str]:
    """Where the SDK-built body differs from the recorded one."""
    if isinstance(recorded, dict) and isinstance(built, dict):
        out = []
        for k in recorded:
            path = f"{where}.{k}" if where else k
            if k not in built:
                out.append(f"{path} (the SDK drops it: a field its type lacks, or an unknown enum value)")
            else:
                out.extend(_differences(recorded[k], built[k], path))
        for k in built:
            if k not in recorded:
                out.append(f"{(where + '.' if where else '') + k} (the SDK adds it)")
        return out
    if isinstance(recorded, list) and isinstance(built, list) and len(recorded) == len(built):
        out = []
        for i, (a, b) in enumerate(zip(recorded, built)):
            out.extend(_differences(a, b, f"{where}[{i}]"))
        return out
    if recorded != built:
        return [f"{where or 'body'}: sent {json.dumps(recorded)}, the SDK builds {json.dumps(built)}"]
    return []


def replay(m: Method, match: re.Match, rec: dict) -> None:
    """Raises Mismatch unless the SDK method builds exactly the recorded request."""
    fn = getattr(m.cls, m.name)
    hints = typing.get_type_hints(fn)
    kwargs: Dict[str, Any] = {}
    for group, param in m.path_params.items():
        kwargs[param] = _from_text(urllib.parse.unquote(match.group(group)), hints.get(param, str),
                                   f"path parameter {param}")
    for name, value in urllib.parse.parse_qsl(rec.get("query") or "", keep_blank_values=True):
        if name not in m.query_keys:
            raise Mismatch(f"query name {name!r} is not one the SDK sends "
                           f"(it sends: {', '.join(sorted(m.query_keys)) or 'none'})")
        param = m.query_keys[name]
        if param:
            kwargs[param] = _from_text(value, hints.get(param, str), f"query {name}")
    body = rec.get("body")
    if body is not None and body != {}:
        if m.whole_body:
            kwargs[m.whole_body] = _convert(body, hints.get(m.whole_body, Any), "body")
        elif not isinstance(body, dict):
            raise Mismatch("the body is not a JSON object")
        else:
            unknown = [k for k in body if k not in m.body_keys]
            if unknown:
                raise Mismatch(f"body field(s) {', '.join(unknown)} unknown to the SDK "
                               f"(it sends: {', '.join(sorted(m.body_keys)) or 'no body'})")
            for key, value in body.items():
                param = m.body_keys[key]
                if param is None:
                    raise Mismatch(f"body field {key} is one the SDK fills itself")
                kwargs[param] = _convert(value, hints.get(param, Any), key)
    account = match.groupdict().get("__account_id") or "-"
    api = m.cls(_StubApi(account))
    try:
        result = getattr(api, m.name)(**kwargs)
        if inspect.isgenerator(result):
            next(result)
    except _Sent as sent:
        verb, path, _, built = sent.sent
    except TypeError as e:  # a required parameter is missing
        raise Mismatch(f"the SDK cannot build it: {e}") from None
    else:
        raise Mismatch("the SDK method made no request")
    if verb != rec["method"] or path != rec["path"]:
        raise Mismatch(f"the SDK sends {verb} {path}")
    # Query values are not compared: the SDK's paginated iterators set `page_token`,
    # `startIndex` and the like themselves, page after page. Names are checked above and every
    # value must parse as the parameter's type.
    recorded = body if body not in (None, {}) else None
    built = json.loads(json.dumps(built)) if built not in (None, {}) else None
    diffs = _differences(recorded, built)
    if diffs:
        raise Mismatch("the body does not round-trip through the SDK: " + "; ".join(diffs))


# ---------------------------------------------------------------------------------------------
# Error answers: the SDK's parser against the provider's classification.


def sdk_family(err: Optional[errors.DatabricksError]) -> str:
    """The provider ErrorKind family of an SDK error class."""
    order = [
        (errors.NotFound, "NotFound"),
        (errors.Aborted, "Aborted"),
        (errors.ResourceConflict, "AlreadyExists"),
        (errors.InvalidState, "InvalidState"),
        (errors.BadRequest, "InvalidParameter"),
        (errors.Unauthenticated, "Unauthenticated"),
        (errors.PermissionDenied, "PermissionDenied"),
        (errors.TooManyRequests, "RateLimited"),
        ((errors.InternalError, errors.TemporarilyUnavailable, errors.DeadlineExceeded), "Transient"),
    ]
    for cls, family in order:
        if isinstance(err, cls):
            return family
    return "Other"


# ErrorKind (lambda/src/client/error.rs) -> the SDK error families it may meet, each row with
# when and why. A row's condition sees (status, error_code the SDK parsed).
KIND_TO_SDK: List[Tuple[str, str, Optional[Callable[[int, str], bool]], str]] = [
    # A missing object: 404 / RESOURCE_DOES_NOT_EXIST, and clusters/get's 400 that the SDK's
    # own override (errors/overrides.py) reads as ResourceDoesNotExist.
    ("NotFound", "NotFound", None, "errors.NotFound and its subclass ResourceDoesNotExist"),
    # 409 and RESOURCE_ALREADY_EXISTS / ALREADY_EXISTS / SCIM 409.
    ("AlreadyExists", "AlreadyExists", None, "errors.ResourceConflict (ResourceAlreadyExists, AlreadyExists)"),
    # INVALID_STATE: in use, busy.
    ("InvalidState", "InvalidState", None, "errors.InvalidState"),
    # INVALID_PARAMETER_VALUE, MALFORMED_REQUEST, other 400s.
    ("InvalidParameter", "InvalidParameter", None, "errors.BadRequest (InvalidParameterValue), not InvalidState"),
    ("Unauthenticated", "Unauthenticated", None, "errors.Unauthenticated (401)"),
    ("PermissionDenied", "PermissionDenied", None, "errors.PermissionDenied (403)"),
    ("RateLimited", "RateLimited", None, "errors.TooManyRequests (429, REQUEST_LIMIT_EXCEEDED)"),
    # SCIM wraps the rate limit in a 500 (reference §4.3): the SDK reads the status
    # (InternalError); both retry it, the provider with the rate limit's longer wait.
    ("RateLimited", "Transient", lambda status, code: status >= 500,
     "errors.InternalError for SCIM's REQUEST_LIMIT_EXCEEDED in a 500"),
    ("Transient", "Transient", None, "errors.InternalError / TemporarilyUnavailable / DeadlineExceeded (5xx)"),
    # Credential and instance-profile validation races (400 MALFORMED_REQUEST / DRY_RUN_FAILED)
    # and not-yet-ready workspaces: the SDK has no class for them, it raises the status's
    # class; the provider retries them for a bounded time, as Terraform does.
    ("EventuallyConsistent", "InvalidParameter", lambda status, code: status == 400,
     "errors.BadRequest for a 400 validation race"),
    ("EventuallyConsistent", "Transient", lambda status, code: status >= 500,
     "a 5xx class for a not-ready workspace"),
    # A wrong path (404 ENDPOINT_NOT_FOUND) is a bug in the caller, never "already deleted":
    # the provider refuses to read it as a missing object although the SDK's class is NotFound.
    ("Other", "NotFound", lambda status, code: code == "ENDPOINT_NOT_FOUND",
     "errors.NotFound for ENDPOINT_NOT_FOUND"),
    ("Other", "Other", None, "errors.DatabricksError of no known family"),
]


def sdk_error(rec: dict) -> Optional[errors.DatabricksError]:
    """What the SDK's error parser makes of a recorded error answer."""
    answer = rec["error"]
    response = requests.Response()
    response.status_code = answer["status"]
    response._content = answer["body"].encode()
    if answer["content_type"]:
        response.headers["Content-Type"] = answer["content_type"]
    try:
        response.reason = http.HTTPStatus(answer["status"]).phrase
    except ValueError:
        response.reason = "Unknown"
    query = f"?{rec['query']}" if rec.get("query") else ""
    response.url = f"http://fake{rec['path']}{query}"
    response.request = requests.Request(rec["method"], response.url).prepare()
    return errors._Parser().get_api_error(response)


def provider_kinds(classifier: str, answers: List[dict]) -> List[str]:
    lines = "".join(json.dumps(a) + "\n" for a in answers)
    done = subprocess.run([classifier], input=lines, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"{classifier} failed ({done.returncode}): {done.stderr}")
    kinds = done.stdout.split()
    if len(kinds) != len(answers):
        raise SystemExit(f"{classifier} printed {len(kinds)} kinds for {len(answers)} answers")
    return kinds


# ---------------------------------------------------------------------------------------------


def read_records(log_dir: Path) -> List[Tuple[str, int, dict]]:
    records = []
    for path in sorted(log_dir.glob("*.jsonl")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                records.append((path.name, n, json.loads(line)))
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log_dir", type=Path)
    parser.add_argument("--classifier", help="the classify_errors example binary (required when an error "
                        "answer was recorded)")
    args = parser.parse_args()
    records = read_records(args.log_dir)
    if not records:
        print(f"check_requests: no request was recorded under {args.log_dir}")
        return 1
    methods = sdk_methods()
    failures: Dict[str, List[str]] = collections.defaultdict(list)
    checked = skipped = allowed = 0
    for file, line, rec in records:
        where = f"{file}:{line}"
        client = rec.get("client") or ""
        if not client.startswith(CHECKED_CLIENTS):
            skipped += 1
            continue
        what = f"{rec['method']} {rec['path']}{'?' + rec['query'] if rec.get('query') else ''}"
        if any(v == rec["method"] and rx.match(rec["path"]) for v, rx, _ in ALLOWLIST):
            allowed += 1
            continue
        checked += 1
        candidates = [(m, mt) for m in methods if m.verb == rec["method"] for mt in [m.regex.match(rec["path"])] if mt]
        if not candidates:
            failures[f"{what}: no SDK method has this verb and path"].append(f"{where} ({client})")
            continue
        problems = []
        for m, mt in candidates:
            try:
                replay(m, mt, rec)
                break
            except Mismatch as e:
                problems.append(f"{m.label}: {e}")
        else:
            key = f"{what} [{client.split('/')[0]}]: " + " | ".join(problems)
            if rec.get("body") is not None:
                key += f"\n      body sent: {json.dumps(rec['body'])[:600]}"
            failures[key].append(where)

    # Error answers, whoever asked.
    errs = [(file, line, rec) for file, line, rec in records if rec.get("error")]
    unique: Dict[Tuple[int, str, str], int] = {}
    answers = []
    for _, _, rec in errs:
        a = rec["error"]
        # The endpoint too: the SDK (and the provider) read some bodies by where they came from
        # (a missing cluster's 400 is absence only on clusters/get).
        key = (rec["method"], rec["path"], a["status"], a["content_type"], a["body"])
        if key not in unique:
            unique[key] = len(answers)
            answers.append({"method": rec["method"], "path": rec["path"], "status": a["status"],
                            "content_type": a["content_type"], "body": a["body"]})
    if answers and not args.classifier:
        print(f"check_requests: {len(answers)} distinct error answers were recorded and no --classifier "
              "was given: build it with `cargo build -p databricks-provider --example classify_errors`")
        return 1
    kinds = provider_kinds(args.classifier, answers) if answers else []
    for file, line, rec in errs:
        a = rec["error"]
        kind = kinds[unique[(rec["method"], rec["path"], a["status"], a["content_type"], a["body"])]]
        err = sdk_error(rec)
        family = sdk_family(err)
        code = getattr(err, "error_code", "") or ""
        ok = any(k == kind and fam == family and (cond is None or cond(a["status"], code))
                 for k, fam, cond, _ in KIND_TO_SDK)
        if not ok:
            key = (f"{rec['method']} {rec['path']} answered {a['status']} {a['content_type'] or '(no type)'} "
                   f"{a['body'][:300]!r}: the provider classifies it {kind}, the SDK raises "
                   f"{type(err).__name__} ({family})")
            failures[key].append(f"{file}:{line}")

    print(f"check_requests: databricks-sdk {SDK_VERSION}, {len(methods)} SDK methods; "
          f"{len(records)} recorded requests: {checked} checked against the SDK, {allowed} allowlisted, "
          f"{skipped} from other clients (error check only); {len(errs)} error answers checked")
    for key, wheres in failures.items():
        print(f"FAIL {key}\n      seen {len(wheres)}x, e.g. {', '.join(wheres[:3])}")
    print(f"check_requests: {len(failures)} distinct failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

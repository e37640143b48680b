"""The official Databricks SDK for Python drives the fake Databricks server.

Started by `testkit/tests/fake_databricks/sdk.rs` (cargo test) with the fake's base URL, account id
and client id (the secret comes in CDKRS_FAKE_CLIENT_SECRET, never on the command line). With
`AccountClient`/`WorkspaceClient` configured for OAuth M2M against the fake, it makes every call
the provider makes (lambda/src/handlers/*.rs), through the SDK's own waiters and paginated
iterators, and checks:

- every answer survives the SDK's `X.from_dict(d).as_dict()` without losing a key (the lost key
  path is reported);
- every error scenario raises the SDK exception class the real API gives.

Fault injection lives beside the fake, in the Rust test: the script prints `@control {json}` and
waits for `ok` on stdin. Exit status 0 when every check passed; otherwise the failures are
listed, one per line, and the status is 1.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import traceback
from datetime import timedelta
from typing import Any, Callable, List, Optional

from databricks.sdk import AccountClient, WorkspaceClient, core
from databricks.sdk import errors
from databricks.sdk.config import Config
from databricks.sdk.service import billing, catalog, compute, iam, provisioning, workspace

# The first User-Agent token of every SDK call here: the fake records it, and
# check_requests.py checks this client's requests against the SDK's own table too.
PRODUCT = "cdkrs-sdk-contract"

FAILURES: List[str] = []
CHECKED = 0

# The real failure bodies the fake answers with (testkit/fixtures/databricks_errors.json).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                       "databricks_errors.json")) as _fixtures:
    REAL_ERRORS = json.load(_fixtures)

# ---------------------------------------------------------------------------------------------
# Raw answers: every ApiClient.do answer, so each typed result can be compared with what the
# fake sent.

_RAW: List[tuple] = []
_original_do = core.ApiClient.do


def _recording_do(self, method, path=None, url=None, query=None, headers=None, body=None, **kw):
    res = _original_do(self, method, path=path, url=url, query=query, headers=headers, body=body, **kw)
    _RAW.append((method, path or url, res))
    return res


core.ApiClient.do = _recording_do


def last_raw(method: str, path_part: str) -> Any:
    """The latest raw answer to `method` on a path containing `path_part`."""
    for m, p, res in reversed(_RAW):
        if m == method and path_part in p:
            return res
    raise AssertionError(f"no {method} call to a path containing {path_part} was answered")


def lost_keys(raw: Any, typed: Any, where: str) -> List[str]:
    """Key paths of `raw` that `typed` (its from_dict/as_dict round trip) does not have."""
    lost = []
    if isinstance(raw, dict):
        if not isinstance(typed, dict):
            return [where or "$"]
        for k, v in raw.items():
            path = f"{where}.{k}" if where else k
            if k not in typed:
                lost.append(path)
            else:
                lost.extend(lost_keys(v, typed[k], path))
    elif isinstance(raw, list):
        if not isinstance(typed, list) or len(typed) != len(raw):
            return [where or "$"]
        for i, (a, b) in enumerate(zip(raw, typed)):
            lost.extend(lost_keys(a, b, f"{where}[{i}]"))
    return lost


def survives(raw: Any, cls: type, what: str) -> None:
    """Checks that `raw` survives `cls.from_dict(raw).as_dict()` without losing keys."""
    global CHECKED
    CHECKED += 1
    if not isinstance(raw, dict):
        FAILURES.append(f"{what}: answer is not a JSON object: {json.dumps(raw)[:300]}")
        return
    typed = cls.from_dict(raw).as_dict()
    lost = lost_keys(raw, typed, "")
    if lost:
        FAILURES.append(
            f"{what}: {cls.__name__}.from_dict().as_dict() loses {', '.join(lost)} "
            f"(the SDK does not know these fields or values) in {json.dumps(raw)[:400]}"
        )


def each_survives(raw: Any, key: Optional[str], cls: type, what: str) -> None:
    """Checks every item of a list answer (`raw[key]`, or `raw` itself when key is None)."""
    items = raw if key is None else (raw or {}).get(key, [])
    if not isinstance(items, list):
        FAILURES.append(f"{what}: {key or 'answer'} is not a list: {json.dumps(raw)[:300]}")
        return
    for i, item in enumerate(items):
        survives(item, cls, f"{what}[{i}]")


def raises(cls: type, what: str, call: Callable[[], Any], cause: bool = False) -> None:
    """Checks that `call` raises the SDK error `cls` (or, with `cause`, fails with it as cause)."""
    global CHECKED
    CHECKED += 1
    try:
        call()
    except Exception as e:  # noqa: BLE001 - the class is what is checked
        err = e.__cause__ if cause else e
        if isinstance(err, cls):
            return
        FAILURES.append(f"{what}: raised {type(e).__name__}"
                        f"{' caused by ' + type(e.__cause__).__name__ if e.__cause__ else ''}: {e}; "
                        f"the real API gives {cls.__name__}")
        return
    FAILURES.append(f"{what}: succeeded; the real API gives {cls.__name__}")


def expect(cond: bool, what: str) -> None:
    global CHECKED
    CHECKED += 1
    if not cond:
        FAILURES.append(what)


def control(**request: Any) -> None:
    """Asks the Rust test to change the fake (faults, tokens) and waits until it has."""
    print("@control " + json.dumps(request), flush=True)
    answer = sys.stdin.readline().strip()
    if answer != "ok":
        raise RuntimeError(f"control {request}: {answer or 'no answer'}")


# ---------------------------------------------------------------------------------------------
# Scenarios


class Env:
    def __init__(self, args: argparse.Namespace, secret: str):
        self.base = args.base_url.rstrip("/")
        self.account_id = args.account_id
        self.client_id = args.client_id
        self.secret = secret

    def account(self, **extra: Any) -> AccountClient:
        return AccountClient(config=Config(
            host=self.base,
            account_id=self.account_id,
            client_id=self.client_id,
            client_secret=self.secret,
            auth_type="oauth-m2m",
            product=PRODUCT,
            product_version=sdk_version(),
            **extra,
        ))

    def workspace(self, **extra: Any) -> WorkspaceClient:
        # The fake's one address plays the account host and every workspace host; its host
        # metadata is the account's, so the workspace document is named (DATABRICKS_DISCOVERY_URL).
        return WorkspaceClient(config=Config(
            host=self.base,
            client_id=self.client_id,
            client_secret=self.secret,
            auth_type="oauth-m2m",
            discovery_url=f"{self.base}/oidc/.well-known/oauth-authorization-server",
            product=PRODUCT,
            product_version=sdk_version(),
            **extra,
        ))

    def non_admin(self) -> Optional[WorkspaceClient]:
        """A workspace client of the fake's non-admin principal (CDKRS_FAKE_NON_ADMIN,
        `id:secret`), None without one."""
        pair = os.environ.get("CDKRS_FAKE_NON_ADMIN", "")
        if ":" not in pair:
            return None
        client_id, secret = pair.split(":", 1)
        return WorkspaceClient(config=Config(
            host=self.base,
            client_id=client_id,
            client_secret=secret,
            auth_type="oauth-m2m",
            discovery_url=f"{self.base}/oidc/.well-known/oauth-authorization-server",
            product=PRODUCT,
            product_version=sdk_version(),
        ))


def account_objects(env: Env, a: AccountClient) -> dict:
    """Credentials, storage, network and key configurations: create, get, list (handlers
    credentials.rs, storage.rs, network.rs, key.rs)."""
    pv = provisioning
    cred = a.credentials.create(
        credentials_name="sdk-cred",
        aws_credentials=pv.CreateCredentialAwsCredentials(
            sts_role=pv.CreateCredentialStsRole(role_arn="arn:aws:iam::123456789012:role/sdk-cross")
        ),
    )
    survives(last_raw("POST", "/credentials"), pv.Credential, "POST credentials")
    a.credentials.get(cred.credentials_id)
    survives(last_raw("GET", f"/credentials/{cred.credentials_id}"), pv.Credential, "GET credentials/{id}")
    expect(any(c.credentials_id == cred.credentials_id for c in a.credentials.list()), "credentials list lacks the new one")
    each_survives(last_raw("GET", "/credentials"), None, pv.Credential, "GET credentials")
    raises(errors.ResourceAlreadyExists, "POST credentials with a taken name", lambda: a.credentials.create(
        credentials_name="sdk-cred",
        aws_credentials=pv.CreateCredentialAwsCredentials(
            sts_role=pv.CreateCredentialStsRole(role_arn="arn:aws:iam::123456789012:role/sdk-cross"))))
    raises(errors.InvalidParameterValue, "POST credentials with a role that is not an ARN", lambda: a.credentials.create(
        credentials_name="sdk-cred-bad",
        aws_credentials=pv.CreateCredentialAwsCredentials(sts_role=pv.CreateCredentialStsRole(role_arn="not-an-arn"))))

    storage = a.storage.create(
        storage_configuration_name="sdk-storage",
        root_bucket_info=pv.RootBucketInfo(bucket_name="sdk-root-bucket"),
    )
    survives(last_raw("POST", "/storage-configurations"), pv.StorageConfiguration, "POST storage-configurations")
    a.storage.get(storage.storage_configuration_id)
    survives(last_raw("GET", f"/storage-configurations/{storage.storage_configuration_id}"),
             pv.StorageConfiguration, "GET storage-configurations/{id}")
    list(a.storage.list())
    each_survives(last_raw("GET", "/storage-configurations"), None, pv.StorageConfiguration, "GET storage-configurations")

    network = a.networks.create(
        network_name="sdk-network",
        vpc_id="vpc-0123456789abcdef0",
        subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        security_group_ids=["sg-0123456789abcdef0"],
    )
    survives(last_raw("POST", "/networks"), pv.Network, "POST networks")
    a.networks.get(network.network_id)
    survives(last_raw("GET", f"/networks/{network.network_id}"), pv.Network, "GET networks/{id}")
    list(a.networks.list())
    each_survives(last_raw("GET", "/networks"), None, pv.Network, "GET networks")

    key = a.encryption_keys.create(
        use_cases=[pv.KeyUseCase.STORAGE, pv.KeyUseCase.MANAGED_SERVICES],
        aws_key_info=pv.CreateAwsKeyInfo(
            key_arn="arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
            key_alias="alias/sdk",
            reuse_key_for_cluster_volumes=True,
        ),
    )
    survives(last_raw("POST", "/customer-managed-keys"), pv.CustomerManagedKey, "POST customer-managed-keys")
    a.encryption_keys.get(key.customer_managed_key_id)
    survives(last_raw("GET", f"/customer-managed-keys/{key.customer_managed_key_id}"),
             pv.CustomerManagedKey, "GET customer-managed-keys/{id}")
    list(a.encryption_keys.list())
    each_survives(last_raw("GET", "/customer-managed-keys"), None, pv.CustomerManagedKey, "GET customer-managed-keys")
    return {"cred": cred, "storage": storage, "network": network, "key": key}


def workspaces(env: Env, a: AccountClient, objs: dict) -> provisioning.Workspace:
    """Workspace create/get/update/list/delete with the SDK's waiters (handlers/workspace.rs)."""
    pv = provisioning
    ws = a.workspaces.create_and_wait(
        workspace_name="sdk-ws",
        deployment_name="sdk-ws",
        aws_region="eu-west-1",
        pricing_tier=pv.PricingTier.ENTERPRISE,
        credentials_id=objs["cred"].credentials_id,
        storage_configuration_id=objs["storage"].storage_configuration_id,
        network_id=objs["network"].network_id,
        managed_services_customer_managed_key_id=objs["key"].customer_managed_key_id,
        custom_tags={"team": "data"},
        timeout=timedelta(seconds=60),
    )
    expect(ws.workspace_status == pv.WorkspaceStatus.RUNNING,
           f"create_and_wait ended with workspace_status {ws.workspace_status}")
    survives(last_raw("POST", "/workspaces"), pv.Workspace, "POST workspaces")
    survives(last_raw("GET", f"/workspaces/{ws.workspace_id}"), pv.Workspace, "GET workspaces/{id}")
    updated = a.workspaces.update_and_wait(
        ws.workspace_id,
        pv.Workspace(custom_tags={"team": "platform"}),
        update_mask="custom_tags",
        timeout=timedelta(seconds=60),
    )
    expect(updated.custom_tags == {"team": "platform"},
           f"update_and_wait: custom_tags after the update are {updated.custom_tags}")
    survives(last_raw("PATCH", f"/workspaces/{ws.workspace_id}"), pv.Workspace, "PATCH workspaces/{id}")
    expect(any(w.workspace_id == ws.workspace_id for w in a.workspaces.list()), "workspaces list lacks the new one")
    each_survives(last_raw("GET", "/workspaces"), None, pv.Workspace, "GET workspaces")
    # An object a workspace uses cannot be deleted (INVALID_STATE).
    raises(errors.InvalidState, "DELETE a credential configuration a workspace uses",
           lambda: a.credentials.delete(objs["cred"].credentials_id))
    raises(errors.NotFound, "GET a workspace that does not exist", lambda: a.workspaces.get(1234567890123456))
    return ws


def log_delivery(env: Env, a: AccountClient, objs: dict, ws: provisioning.Workspace) -> None:
    """Log delivery create, get, list (paginated), patch status (handlers/log_delivery.rs)."""
    created = a.log_delivery.create(
        billing.CreateLogDeliveryConfigurationParams(
            config_name="sdk-audit",
            log_type=billing.LogType.AUDIT_LOGS,
            output_format=billing.OutputFormat.JSON,
            credentials_id=objs["cred"].credentials_id,
            storage_configuration_id=objs["storage"].storage_configuration_id,
            delivery_path_prefix="audit",
            workspace_ids_filter=[ws.workspace_id],
            status=billing.LogDeliveryConfigStatus.ENABLED,
        )
    )
    survives(last_raw("POST", "/log-delivery"), billing.WrappedLogDeliveryConfiguration, "POST log-delivery")
    config_id = created.log_delivery_configuration.config_id
    a.log_delivery.get(config_id)
    survives(last_raw("GET", f"/log-delivery/{config_id}"), billing.GetLogDeliveryConfigurationResponse,
             "GET log-delivery/{id}")
    expect(any(c.config_id == config_id for c in a.log_delivery.list()), "log-delivery list lacks the new one")
    survives(last_raw("GET", "/log-delivery"), billing.WrappedLogDeliveryConfigurations, "GET log-delivery")
    a.log_delivery.patch_status(config_id, billing.LogDeliveryConfigStatus.DISABLED)
    got = a.log_delivery.get(config_id)
    expect(got.log_delivery_configuration.status == billing.LogDeliveryConfigStatus.DISABLED,
           f"patch_status DISABLED left status {got.log_delivery_configuration.status}")
    raises(errors.NotFound, "GET a log delivery configuration that does not exist",
           lambda: a.log_delivery.get("00000000-0000-4000-8000-000000000000"))


def assignments(env: Env, a: AccountClient, ws: provisioning.Workspace, principal_id: int) -> None:
    """Workspace permission assignments (handlers/workspace_assignment.rs), of an account group
    on the identity-federated workspace (the fake checks both, identity_federation_checks)."""
    a.workspace_assignment.update(ws.workspace_id, principal_id, permissions=[iam.WorkspacePermission.USER])
    survives(last_raw("PUT", f"/principals/{principal_id}"), iam.PermissionAssignment,
             "PUT workspaces/{id}/permissionassignments/principals/{id}")
    found = [p for p in a.workspace_assignment.list(ws.workspace_id)
             if p.principal and p.principal.principal_id == principal_id]
    expect(bool(found) and found[0].permissions == [iam.WorkspacePermission.USER],
           f"permission assignments list: {found}")
    survives(last_raw("GET", "/permissionassignments"), iam.PermissionAssignments,
             "GET workspaces/{id}/permissionassignments")
    a.workspace_assignment.delete(ws.workspace_id, principal_id)
    raises(errors.NotFound, "DELETE an assignment that does not exist",
           lambda: a.workspace_assignment.delete(ws.workspace_id, principal_id))
    raises(errors.NotFound, "PUT an assignment of a principal that is not in the account",
           lambda: a.workspace_assignment.update(ws.workspace_id, 4242, permissions=[iam.WorkspacePermission.USER]))


def groups(env: Env, w: WorkspaceClient) -> int:
    """SCIM groups: create, get, list with a filter (paginated), patch roles, delete
    (handlers/group.rs)."""
    group = w.groups.create(display_name="sdk-data-engineers")
    survives(last_raw("POST", "/scim/v2/Groups"), iam.Group, "POST Groups")
    w.groups.get(group.id)
    survives(last_raw("GET", f"/scim/v2/Groups/{group.id}"), iam.Group, "GET Groups/{id}")
    found = list(w.groups.list(filter='displayName eq "sdk-data-engineers"'))
    expect([g.id for g in found] == [group.id], f"Groups filter by displayName found {[g.id for g in found]}")
    survives(last_raw("GET", "/scim/v2/Groups"), iam.ListGroupsResponse, "GET Groups")
    w.groups.patch(
        group.id,
        operations=[iam.Patch(op=iam.PatchOp.ADD, path="roles",
                              value=[{"value": "arn:aws:iam::123456789012:instance-profile/sdk"}])],
        schemas=[iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP],
    )
    raises(errors.ResourceConflict, "POST Groups with a taken displayName",
           lambda: w.groups.create(display_name="sdk-data-engineers"))
    raises(errors.NotFound, "GET a group that does not exist", lambda: w.groups.get("9999999999999"))
    # SCIM wraps the rate limit in a 500 (reference §4.3): the SDK reads it as an internal error.
    control(op="fail", prefix="/api/2.0/preview/scim/v2/Groups", n=1, status=500, body=json.dumps({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": "REQUEST_LIMIT_EXCEEDED: Your request was rejected due to API rate limit.",
        "status": "500",
    }))
    raises(errors.InternalError, "GET Groups/{id} answered by SCIM's rate limit in a 500",
           lambda: w.groups.get(group.id))
    return int(group.id)


def instance_profiles(env: Env, w: WorkspaceClient) -> None:
    """Instance profiles add, list, edit, remove (handlers/instance_profile.rs)."""
    arn = "arn:aws:iam::123456789012:instance-profile/sdk"
    w.instance_profiles.add(arn, iam_role_arn="arn:aws:iam::123456789012:role/sdk", skip_validation=True)
    found = [p for p in w.instance_profiles.list() if p.instance_profile_arn == arn]
    expect(len(found) == 1, f"instance-profiles list: {found}")
    each_survives(last_raw("GET", "/instance-profiles/list"), "instance_profiles", compute.InstanceProfile,
                  "GET instance-profiles/list")
    w.instance_profiles.edit(arn, iam_role_arn="arn:aws:iam::123456789012:role/sdk", is_meta_instance_profile=True)
    raises(errors.ResourceAlreadyExists, "instance-profiles/add of a registered profile",
           lambda: w.instance_profiles.add(arn, skip_validation=True))
    w.instance_profiles.remove(arn)
    expect(all(p.instance_profile_arn != arn for p in w.instance_profiles.list()), "removed profile still listed")


def workspace_files(env: Env, w: WorkspaceClient) -> None:
    """Workspace files: mkdirs, import, get-status, export, permissions, delete (handlers/workspace_file.rs)."""
    w.workspace.mkdirs("/cdkrs/sdk")
    content = base64.b64encode(b"#!/bin/bash\necho sdk\n").decode()
    w.workspace.import_("/cdkrs/sdk/init.sh", content=content, format=workspace.ImportFormat.AUTO, overwrite=True)
    w.workspace.get_status("/cdkrs/sdk/init.sh")
    survives(last_raw("GET", "/workspace/get-status"), workspace.ObjectInfo, "GET workspace/get-status")
    exported = w.workspace.export("/cdkrs/sdk/init.sh", format=workspace.ExportFormat.SOURCE)
    expect(exported.content == content, "workspace/export did not return the imported content")
    survives(last_raw("GET", "/workspace/export"), workspace.ExportResponse, "GET workspace/export")
    raises(errors.ResourceAlreadyExists, "workspace/import over a file without overwrite",
           lambda: w.workspace.import_("/cdkrs/sdk/init.sh", content=content, format=workspace.ImportFormat.AUTO))
    # The file's permissions, as the provider sets and checks them (only admins may change an
    # init script): PUT, GET, PATCH of the folder, and the levels (Permissions API).
    file_id = str(w.workspace.get_status("/cdkrs/sdk/init.sh").object_id)
    folder_id = str(w.workspace.get_status("/cdkrs/sdk").object_id)
    acl = [
        workspace.WorkspaceObjectAccessControlRequest(
            group_name="admins", permission_level=workspace.WorkspaceObjectPermissionLevel.CAN_MANAGE),
        workspace.WorkspaceObjectAccessControlRequest(
            group_name="users", permission_level=workspace.WorkspaceObjectPermissionLevel.CAN_READ),
    ]
    w.workspace.set_permissions("files", file_id, access_control_list=acl)
    survives(last_raw("PUT", "/permissions/files/"), workspace.WorkspaceObjectPermissions, "PUT permissions/files")
    got = w.workspace.get_permissions("files", file_id)
    survives(last_raw("GET", "/permissions/files/"), workspace.WorkspaceObjectPermissions, "GET permissions/files")
    levels = {(a.group_name, p.permission_level) for a in got.access_control_list or []
              for p in a.all_permissions or [] if not p.inherited}
    expect(("users", workspace.WorkspaceObjectPermissionLevel.CAN_READ) in levels,
           f"GET permissions/files lacks the direct users CAN_READ grant: {levels}")
    w.workspace.update_permissions("directories", folder_id, access_control_list=acl[:1])
    survives(last_raw("PATCH", "/permissions/directories/"), workspace.WorkspaceObjectPermissions,
             "PATCH permissions/directories")
    w.workspace.get_permission_levels("files", file_id)
    survives(last_raw("GET", "/permissionLevels"), workspace.GetWorkspaceObjectPermissionLevelsResponse,
             "GET permissions/files/…/permissionLevels")
    raises(errors.NotFound, "GET permissions of a file that does not exist",
           lambda: w.workspace.get_permissions("files", "999999999"))
    w.workspace.delete("/cdkrs/sdk/init.sh")
    raises(errors.NotFound, "workspace/get-status of a deleted file",
           lambda: w.workspace.get_status("/cdkrs/sdk/init.sh"))


def clusters(env: Env, w: WorkspaceClient) -> None:
    """Clusters create/edit/get/list/delete/start/permanent-delete with the SDK's waiters
    (handlers/cluster.rs)."""
    c = compute
    spec = dict(
        spark_version="15.4.x-scala2.12",
        cluster_name="sdk-cluster",
        node_type_id="i3.xlarge",
        num_workers=1,
        autotermination_minutes=30,
        data_security_mode=c.DataSecurityMode.USER_ISOLATION,
        custom_tags={"team": "data"},
        aws_attributes=c.AwsAttributes(
            availability=c.AwsAvailability.SPOT_WITH_FALLBACK,
            first_on_demand=1,
            zone_id="auto",
            ebs_volume_count=1,
            ebs_volume_size=100,
            ebs_volume_type=c.EbsVolumeType.GENERAL_PURPOSE_SSD,
        ),
        spark_conf={"spark.databricks.repl.allowedLanguages": "python,sql"},
        init_scripts=[c.InitScriptInfo(workspace=c.WorkspaceStorageInfo(destination="/cdkrs/init.sh"))],
    )
    cluster = w.clusters.create_and_wait(**spec, timeout=timedelta(seconds=60))
    expect(cluster.state == c.State.RUNNING, f"create_and_wait ended in state {cluster.state}")
    survives(last_raw("POST", "/clusters/create"), c.CreateClusterResponse, "POST clusters/create")
    survives(last_raw("GET", "/clusters/get"), c.ClusterDetails, "GET clusters/get")
    spec["num_workers"] = 2
    edited = w.clusters.edit_and_wait(cluster.cluster_id, **spec, timeout=timedelta(seconds=60))
    expect(edited.num_workers == 2, f"edit_and_wait: num_workers is {edited.num_workers}")
    found = [x for x in w.clusters.list() if x.cluster_id == cluster.cluster_id]
    expect(len(found) == 1, "clusters list lacks the new cluster")
    survives(last_raw("GET", "/clusters/list"), c.ListClustersResponse, "GET clusters/list")
    w.clusters.delete_and_wait(cluster.cluster_id, timeout=timedelta(seconds=60))
    expect(w.clusters.get(cluster.cluster_id).state == c.State.TERMINATED, "delete_and_wait did not terminate")
    w.clusters.start_and_wait(cluster.cluster_id, timeout=timedelta(seconds=60))
    raises(errors.InvalidState, "clusters/start of a running cluster", lambda: w.clusters.start(cluster.cluster_id))
    w.clusters.unpin(cluster.cluster_id)
    w.clusters.permanent_delete(cluster.cluster_id)
    # The SDK's own override: a missing cluster's 400 INVALID_PARAMETER_VALUE is a NotFound.
    raises(errors.ResourceDoesNotExist, "clusters/get of a permanently deleted cluster",
           lambda: w.clusters.get(cluster.cluster_id))


UC_ROLE = "arn:aws:iam::123456789012:role/sdk-uc"


def unity_catalog_account(env: Env, a: AccountClient, ws: provisioning.Workspace) -> dict:
    """Metastores, their assignment to the workspace and account groups (the Unity Catalog
    handlers of the provider)."""
    c = catalog
    created = a.metastores.create(metastore_info=c.CreateAccountsMetastore(
        name="sdk-metastore", region="eu-west-1", storage_root="s3://sdk-metastore/root"))
    survives(last_raw("POST", "/metastores"), c.AccountsCreateMetastoreResponse, "POST metastores")
    ms = created.metastore_info.metastore_id
    a.metastores.get(ms)
    survives(last_raw("GET", f"/metastores/{ms}"), c.AccountsGetMetastoreResponse, "GET metastores/{id}")
    expect(any(m.metastore_id == ms for m in a.metastores.list()), "metastores list lacks the new one")
    survives(last_raw("GET", "/metastores"), c.AccountsListMetastoresResponse, "GET metastores")
    a.metastores.update(ms, metastore_info=c.UpdateAccountsMetastore(owner=env.client_id))
    survives(last_raw("PUT", f"/metastores/{ms}"), c.AccountsUpdateMetastoreResponse, "PUT metastores/{id}")
    raises(errors.InvalidState, "POST a second metastore in a region", lambda: a.metastores.create(
        metastore_info=c.CreateAccountsMetastore(name="sdk-second", region="eu-west-1")))
    raises(errors.NotFound, "GET a metastore that does not exist",
           lambda: a.metastores.get("00000000-0000-4000-8000-000000000000"))
    raises(errors.NotFound, "GET the metastore assignment of a workspace without one",
           lambda: a.metastore_assignments.get(ws.workspace_id))
    a.metastore_assignments.create(ws.workspace_id, ms, metastore_assignment=c.CreateMetastoreAssignment(
        workspace_id=ws.workspace_id, metastore_id=ms, default_catalog_name="main"))
    survives(last_raw("POST", f"/metastores/{ms}"), c.AccountsCreateMetastoreAssignmentResponse,
             "POST workspaces/{id}/metastores/{id}")
    got = a.metastore_assignments.get(ws.workspace_id)
    survives(last_raw("GET", f"/workspaces/{ws.workspace_id}/metastore"), c.AccountsMetastoreAssignment,
             "GET workspaces/{id}/metastore")
    expect(got.metastore_assignment.metastore_id == ms, f"metastore assignment: {got}")
    a.metastore_assignments.update(ws.workspace_id, ms, metastore_assignment=c.UpdateMetastoreAssignment(
        workspace_id=ws.workspace_id, default_catalog_name="sdk_main"))
    survives(last_raw("PUT", f"/metastores/{ms}"), c.AccountsUpdateMetastoreAssignmentResponse,
             "PUT workspaces/{id}/metastores/{id}")

    groups_path = f"/accounts/{env.account_id}/scim/v2/Groups"
    group = a.groups.create(display_name="sdk-readers", external_id="sdk-readers-ext")
    survives(last_raw("POST", groups_path), iam.Group, "POST account Groups")
    got_group = a.groups.get(group.id)
    survives(last_raw("GET", f"{groups_path}/{group.id}"), iam.Group, "GET account Groups/{id}")
    expect(got_group.external_id == "sdk-readers-ext", f"account group externalId: {got_group.external_id}")
    found = list(a.groups.list(filter='displayName eq "sdk-readers"'))
    expect([g.id for g in found] == [group.id], f"account Groups filter found {[g.id for g in found]}")
    survives(last_raw("GET", groups_path), iam.ListGroupsResponse, "GET account Groups")
    raises(errors.ResourceConflict, "POST account Groups with a taken displayName",
           lambda: a.groups.create(display_name="sdk-readers"))
    raises(errors.NotFound, "GET an account group that does not exist", lambda: a.groups.get("9999999999999"))
    return {"metastore": ms, "group": group}


def unity_catalog_workspace(env: Env, a: AccountClient, w: WorkspaceClient, ws: provisioning.Workspace,
                            uc: dict) -> None:
    """Storage credentials, external locations, catalogs, schemas, grants and cluster
    permissions on the workspace host (the Unity Catalog handlers of the provider)."""
    c = catalog
    current = w.metastores.current()
    survives(last_raw("GET", "/current-metastore-assignment"), c.MetastoreAssignment,
             "GET current-metastore-assignment")
    expect(current.metastore_id == uc["metastore"], f"current metastore: {current}")

    cred = w.storage_credentials.create("sdk-cred", aws_iam_role=c.AwsIamRoleRequest(role_arn=UC_ROLE),
                                        comment="sdk")
    survives(last_raw("POST", "/storage-credentials"), c.StorageCredentialInfo, "POST storage-credentials")
    expect(cred.aws_iam_role is not None and cred.aws_iam_role.external_id == env.account_id,
           f"storage credential external id: {cred.aws_iam_role}")
    w.storage_credentials.create("sdk-cred-2", aws_iam_role=c.AwsIamRoleRequest(role_arn=UC_ROLE),
                                 skip_validation=True)
    w.storage_credentials.get("sdk-cred")
    survives(last_raw("GET", "/storage-credentials/sdk-cred"), c.StorageCredentialInfo,
             "GET storage-credentials/{name}")
    w.storage_credentials.update("sdk-cred", comment="sdk, updated")
    survives(last_raw("PATCH", "/storage-credentials/sdk-cred"), c.StorageCredentialInfo,
             "PATCH storage-credentials/{name}")
    names = [x.name for x in w.storage_credentials.list(max_results=1)]
    expect(names == ["sdk-cred", "sdk-cred-2"], f"storage-credentials list, one per page: {names}")
    survives(last_raw("GET", "/storage-credentials"), c.ListStorageCredentialsResponse, "GET storage-credentials")
    raises(errors.InvalidParameterValue, "POST storage-credentials with a role that is not an IAM role ARN",
           lambda: w.storage_credentials.create("sdk-bad", aws_iam_role=c.AwsIamRoleRequest(role_arn="not-an-arn")))
    raises(errors.ResourceConflict, "POST storage-credentials with a taken name",
           lambda: w.storage_credentials.create("sdk-cred", aws_iam_role=c.AwsIamRoleRequest(role_arn=UC_ROLE)))
    raises(errors.NotFound, "GET a storage credential that does not exist",
           lambda: w.storage_credentials.get("sdk-nope"))
    # The role race's real body (the fake answers it while a new role propagates).
    race = REAL_ERRORS["storage_credential_non_self_assuming"]
    control(op="fail", prefix="/api/2.1/unity-catalog/storage-credentials", n=1, status=race["status"],
            body=race["body"])
    raises(errors.InvalidParameterValue, "POST storage-credentials while the role's trust propagates",
           lambda: w.storage_credentials.create("sdk-race", aws_iam_role=c.AwsIamRoleRequest(role_arn=UC_ROLE)))

    loc = w.external_locations.create("sdk-raw", "s3://sdk-raw", "sdk-cred", comment="raw", read_only=False)
    survives(last_raw("POST", "/external-locations"), c.ExternalLocationInfo, "POST external-locations")
    expect(loc.url == "s3://sdk-raw", f"external location url: {loc.url}")
    w.external_locations.get("sdk-raw")
    survives(last_raw("GET", "/external-locations/sdk-raw"), c.ExternalLocationInfo, "GET external-locations/{name}")
    w.external_locations.update("sdk-raw", comment="raw layer")
    survives(last_raw("PATCH", "/external-locations/sdk-raw"), c.ExternalLocationInfo,
             "PATCH external-locations/{name}")
    expect([x.name for x in w.external_locations.list()] == ["sdk-raw"], "external-locations list")
    survives(last_raw("GET", "/external-locations"), c.ListExternalLocationsResponse, "GET external-locations")
    raises(errors.InvalidParameterValue, "POST external-locations overlapping another",
           lambda: w.external_locations.create("sdk-raw-child", "s3://sdk-raw/child", "sdk-cred"))
    raises(errors.NotFound, "POST external-locations on a credential that does not exist",
           lambda: w.external_locations.create("sdk-other", "s3://sdk-other", "sdk-nope"))
    raises(errors.InvalidState, "DELETE a storage credential an external location uses",
           lambda: w.storage_credentials.delete("sdk-cred"))

    cat = w.catalogs.create("sdk_raw", storage_root="s3://sdk-raw/catalog", comment="raw",
                            properties={"layer": "raw"})
    survives(last_raw("POST", "/catalogs"), c.CatalogInfo, "POST catalogs")
    expect(cat.storage_root == "s3://sdk-raw/catalog", f"catalog storage_root: {cat.storage_root}")
    w.catalogs.get("sdk_raw")
    survives(last_raw("GET", "/catalogs/sdk_raw"), c.CatalogInfo, "GET catalogs/{name}")
    w.catalogs.update("sdk_raw", comment="raw layer")
    survives(last_raw("PATCH", "/catalogs/sdk_raw"), c.CatalogInfo, "PATCH catalogs/{name}")
    expect([x.name for x in w.catalogs.list()] == ["sdk_raw"], "catalogs list")
    survives(last_raw("GET", "/catalogs"), c.ListCatalogsResponse, "GET catalogs")
    raises(errors.ResourceConflict, "POST catalogs with a taken name",
           lambda: w.catalogs.create("sdk_raw", storage_root="s3://sdk-raw/catalog"))
    raises(errors.InvalidParameterValue, "POST catalogs with a root outside every external location",
           lambda: w.catalogs.create("sdk_out", storage_root="s3://sdk-elsewhere"))
    raises(errors.NotFound, "GET a catalog that does not exist", lambda: w.catalogs.get("sdk_nope"))
    w.schemas.create("sales", "sdk_raw", comment="sales")
    survives(last_raw("POST", "/unity-catalog/schemas"), c.SchemaInfo, "POST schemas")
    w.schemas.create("scratch", "sdk_raw")
    w.schemas.delete("sdk_raw.scratch")
    raises(errors.NotFound, "DELETE a schema that does not exist", lambda: w.schemas.delete("sdk_raw.scratch"))
    raises(errors.BadRequest, "DELETE a catalog holding a schema without force",
           lambda: w.catalogs.delete("sdk_raw"))
    raises(errors.InvalidState, "DELETE an external location under a catalog without force",
           lambda: w.external_locations.delete("sdk-raw"))

    reader = uc["group"].display_name
    cat_type = c.SecurableType.CATALOG.value
    w.grants.update(cat_type, "sdk_raw", changes=[c.PermissionsChange(
        principal=reader, add=[c.Privilege.USE_CATALOG, c.Privilege.USE_SCHEMA, c.Privilege.SELECT])])
    survives(last_raw("PATCH", "/permissions/CATALOG/sdk_raw"), c.UpdatePermissionsResponse,
             "PATCH permissions/CATALOG/{name}")
    w.grants.update(c.SecurableType.EXTERNAL_LOCATION.value, "sdk-raw", changes=[c.PermissionsChange(
        principal=reader, add=[c.Privilege.READ_FILES])])
    got = w.grants.get(cat_type, "sdk_raw")
    survives(last_raw("GET", "/permissions/CATALOG/sdk_raw"), c.GetPermissionsResponse,
             "GET permissions/CATALOG/{name}")
    privileges = [p for a_ in got.privilege_assignments or [] if a_.principal == reader for p in a_.privileges or []]
    expect(privileges == [c.Privilege.USE_CATALOG, c.Privilege.USE_SCHEMA, c.Privilege.SELECT],
           f"grants of {reader} on the catalog: {privileges}")
    w.grants.update(cat_type, "sdk_raw", changes=[c.PermissionsChange(principal=reader, remove=[c.Privilege.SELECT])])
    # "sdk-data-engineers" is the workspace-local group of the groups step.
    raises(errors.NotFound, "PATCH grants to a workspace-local group",
           lambda: w.grants.update(cat_type, "sdk_raw", changes=[c.PermissionsChange(
               principal="sdk-data-engineers", add=[c.Privilege.USE_CATALOG])]))
    raises(errors.InvalidParameterValue, "PATCH grants of a privilege the securable does not take",
           lambda: w.grants.update(cat_type, "sdk_raw", changes=[c.PermissionsChange(
               principal=reader, add=[c.Privilege.READ_FILES])]))
    raises(errors.NotFound, "GET grants on a catalog that does not exist",
           lambda: w.grants.get(cat_type, "sdk_nope"))

    # Cluster permissions: the account group, once assigned to the workspace, is visible there.
    a.workspace_assignment.update(ws.workspace_id, int(uc["group"].id), permissions=[iam.WorkspacePermission.USER])
    cluster = w.clusters.create(spark_version="15.4.x-scala2.12", cluster_name="sdk-uc", node_type_id="i3.xlarge",
                                num_workers=1, data_security_mode=compute.DataSecurityMode.USER_ISOLATION).cluster_id
    w.clusters.set_permissions(cluster, access_control_list=[compute.ClusterAccessControlRequest(
        group_name=reader, permission_level=compute.ClusterPermissionLevel.CAN_ATTACH_TO)])
    survives(last_raw("PUT", f"/permissions/clusters/{cluster}"), compute.ClusterPermissions,
             "PUT permissions/clusters/{id}")
    w.clusters.update_permissions(cluster, access_control_list=[compute.ClusterAccessControlRequest(
        group_name="users", permission_level=compute.ClusterPermissionLevel.CAN_RESTART)])
    survives(last_raw("PATCH", f"/permissions/clusters/{cluster}"), compute.ClusterPermissions,
             "PATCH permissions/clusters/{id}")
    perms = w.clusters.get_permissions(cluster)
    survives(last_raw("GET", f"/permissions/clusters/{cluster}"), compute.ClusterPermissions,
             "GET permissions/clusters/{id}")
    levels = {(x.group_name, p.permission_level) for x in perms.access_control_list or []
              for p in x.all_permissions or []}
    expect((reader, compute.ClusterPermissionLevel.CAN_ATTACH_TO) in levels
           and ("admins", compute.ClusterPermissionLevel.CAN_MANAGE) in levels,
           f"cluster permissions: {levels}")
    w.clusters.get_permission_levels(cluster)
    survives(last_raw("GET", "/permissionLevels"), compute.GetClusterPermissionLevelsResponse,
             "GET permissions/clusters/{id}/permissionLevels")
    # A member that does not manage the cluster may not change its permissions.
    dev = env.non_admin()
    if dev is not None:
        raises(errors.PermissionDenied, "PUT cluster permissions by a principal that does not manage the cluster",
               lambda: dev.clusters.set_permissions(cluster, access_control_list=[compute.ClusterAccessControlRequest(
                   group_name="users", permission_level=compute.ClusterPermissionLevel.CAN_MANAGE)]))
    else:
        FAILURES.append("CDKRS_FAKE_NON_ADMIN is not set: the PermissionDenied case of cluster permissions did not run")
    raises(errors.InvalidParameterValue, "PUT cluster permissions of a group the workspace does not know",
           lambda: w.clusters.set_permissions(cluster, access_control_list=[compute.ClusterAccessControlRequest(
               group_name="sdk-nobody", permission_level=compute.ClusterPermissionLevel.CAN_RESTART)]))
    w.clusters.permanent_delete(cluster)
    a.workspace_assignment.delete(ws.workspace_id, int(uc["group"].id))

    w.catalogs.delete("sdk_raw", force=True)
    raises(errors.NotFound, "GET a deleted catalog", lambda: w.catalogs.get("sdk_raw"))
    w.external_locations.delete("sdk-raw")
    w.storage_credentials.delete("sdk-cred")
    w.storage_credentials.delete("sdk-cred-2", force=True)
    raises(errors.NotFound, "GET a deleted storage credential", lambda: w.storage_credentials.get("sdk-cred"))


def delete_unity_catalog_account(a: AccountClient, ws: provisioning.Workspace, uc: dict) -> None:
    """The metastore assignment, the metastore and the account group, deleted."""
    c = catalog
    a.metastore_assignments.delete(ws.workspace_id, uc["metastore"])
    survives(last_raw("DELETE", f"/metastores/{uc['metastore']}"), c.AccountsDeleteMetastoreAssignmentResponse,
             "DELETE workspaces/{id}/metastores/{id}")
    raises(errors.NotFound, "GET the metastore assignment after its delete",
           lambda: a.metastore_assignments.get(ws.workspace_id))
    a.metastores.delete(uc["metastore"], force=True)
    raises(errors.NotFound, "GET a deleted metastore", lambda: a.metastores.get(uc["metastore"]))
    a.groups.delete(uc["group"].id)
    raises(errors.NotFound, "GET a deleted account group", lambda: a.groups.get(uc["group"].id))


def auth_and_throttling(env: Env) -> None:
    """401, 403, 429 as the SDK sees them."""
    a = env.account()
    list(a.credentials.list())
    control(op="rate_limit", prefix="/api/2.0/accounts", n=2, retry_after=0)
    started = time.monotonic()
    list(a.credentials.list())  # the SDK waits Retry-After and tries again
    expect(time.monotonic() - started < 20, "two 429s took the SDK more than 20 s")
    impatient = env.account(retry_timeout_seconds=2)
    control(op="rate_limit", prefix="/api/2.0/accounts", n=100, retry_after=0)
    raises(errors.TooManyRequests, "429 REQUEST_LIMIT_EXCEEDED until the SDK gives up",
           lambda: list(impatient.credentials.list()), cause=True)
    control(op="clear_faults")
    control(op="numeric_error_code", prefix="/api/2.0/accounts", n=1)
    raises(errors.PermissionDenied, "403 with a numeric error_code", lambda: list(a.credentials.list()))
    # A wrong secret: the token endpoint's OAuth error, which the SDK's oauth.retrieve_token
    # raises as ValueError("invalid_client: …").
    wrong_secret = Env.__new__(Env)
    wrong_secret.__dict__.update(env.__dict__, secret=env.secret + "-wrong")
    global CHECKED
    CHECKED += 1
    try:
        list(wrong_secret.account().credentials.list())
        FAILURES.append("a wrong client secret: the SDK got a token")
    except ValueError as e:
        if "invalid_client" not in str(e):
            FAILURES.append(f"a wrong client secret: the SDK raised {e!r}, not invalid_client")
    control(op="revoke_tokens")
    raises(errors.Unauthenticated, "a revoked token", lambda: list(a.credentials.list()))
    # A workspace token is refused by the Account API (tokens are audience-specific).
    w = env.workspace()
    w.current_user.me()
    survives(last_raw("GET", "/scim/v2/Me"), iam.User, "GET Me")
    wrong = env.account(discovery_url=f"{env.base}/oidc/.well-known/oauth-authorization-server")
    raises(errors.Unauthenticated, "a workspace token on the Account API", lambda: list(wrong.credentials.list()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--account-id", required=True)
    parser.add_argument("--client-id", required=True)
    args = parser.parse_args()
    secret = os.environ.get("CDKRS_FAKE_CLIENT_SECRET")
    if not secret:
        print("CDKRS_FAKE_CLIENT_SECRET is not set: the fake's client secret comes from the environment")
        return 2
    env = Env(args, secret)
    a = env.account()
    w = env.workspace()
    steps = [
        ("account objects", lambda: state.update(objs=account_objects(env, a))),
        ("workspaces", lambda: state.update(ws=workspaces(env, a, state["objs"]))),
        ("log delivery", lambda: log_delivery(env, a, state["objs"], state["ws"])),
        ("groups", lambda: state.update(group=groups(env, w))),
        ("unity catalog account", lambda: state.update(uc=unity_catalog_account(env, a, state["ws"]))),
        ("assignments", lambda: assignments(env, a, state["ws"], int(state["uc"]["group"].id))),
        ("unity catalog workspace", lambda: unity_catalog_workspace(env, a, w, state["ws"], state["uc"])),
        ("instance profiles", lambda: instance_profiles(env, w)),
        ("workspace files", lambda: workspace_files(env, w)),
        ("clusters", lambda: clusters(env, w)),
        ("unity catalog account delete", lambda: delete_unity_catalog_account(a, state["ws"], state["uc"])),
        ("workspace delete", lambda: delete_workspace(a, state["ws"])),
        ("account objects delete", lambda: delete_account_objects(a, state["objs"])),
        ("group delete", lambda: delete_group(w, state["group"])),
        ("auth and throttling", lambda: auth_and_throttling(env)),
    ]
    state: dict = {}
    for name, step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - one broken step must not hide the others
            FAILURES.append(f"{name}: stopped by an unexpected error:\n{traceback.format_exc()}")
            if name in ("account objects", "workspaces", "groups", "unity catalog account"):
                break
    print(f"sdk_contract: databricks-sdk {sdk_version()}: {CHECKED} calls checked, {len(FAILURES)} failed")
    for f in FAILURES:
        print(f"FAIL {f}")
    return 1 if FAILURES else 0


def delete_workspace(a: AccountClient, ws: provisioning.Workspace) -> None:
    """Workspace delete, then GET answers 404 once it is gone (handlers/workspace.rs)."""
    a.workspaces.delete(ws.workspace_id)
    survives(last_raw("DELETE", f"/workspaces/{ws.workspace_id}"), provisioning.Workspace,
             "DELETE workspaces/{id}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            a.workspaces.get(ws.workspace_id)
        except errors.NotFound:
            expect(True, "")
            return
        time.sleep(0.05)
    expect(False, f"workspace {ws.workspace_id} still answers GET 30 s after DELETE")


def delete_account_objects(a: AccountClient, objs: dict) -> None:
    """Key, network, storage and credential configurations deleted once no workspace uses them
    (the handlers' delete)."""
    pv = provisioning
    a.encryption_keys.delete(objs["key"].customer_managed_key_id)
    survives(last_raw("DELETE", "/customer-managed-keys/"), pv.CustomerManagedKey, "DELETE customer-managed-keys/{id}")
    a.networks.delete(objs["network"].network_id)
    survives(last_raw("DELETE", "/networks/"), pv.Network, "DELETE networks/{id}")
    a.storage.delete(objs["storage"].storage_configuration_id)
    survives(last_raw("DELETE", "/storage-configurations/"), pv.StorageConfiguration,
             "DELETE storage-configurations/{id}")
    a.credentials.delete(objs["cred"].credentials_id)
    survives(last_raw("DELETE", "/credentials/"), pv.Credential, "DELETE credentials/{id}")
    raises(errors.NotFound, "DELETE a credential configuration already deleted",
           lambda: a.credentials.delete(objs["cred"].credentials_id))


def delete_group(w: WorkspaceClient, group_id: int) -> None:
    """SCIM group delete (handlers/group.rs)."""
    w.groups.delete(str(group_id))
    raises(errors.NotFound, "GET a deleted group", lambda: w.groups.get(str(group_id)))


def sdk_version() -> str:
    from databricks.sdk.version import __version__

    return __version__


if __name__ == "__main__":
    sys.exit(main())

//! The fault matrix of issue 4 (extended with the Unity Catalog types of issue 12): every
//! resource type x Create / Update / Delete x the happy path
//! and each fault the fake Databricks server can inject, driven with real event JSON through
//! `dispatch::respond` (the entry point the runtime uses; harness in `common/mod.rs`). The
//! cluster appears twice: awake, and asleep (`StartOnCreate` false: created then terminated,
//! edited while terminated; the write of its Create is the terminate, and no case may start it).
//!
//! A case prepares what the operation needs (dependencies, and for Update / Delete the object
//! itself) with clean calls, then queues the fault on the resource type's API path prefix
//! (`faults().on(prefix)`), so setup calls are never hit, and runs the operation. The fault hits
//! either
//! - **the first call** the operation makes on that prefix (usually a read: a lookup, a GET), or
//! - **the write**: the call that changes something (the create POST, the PATCH, the edit). The
//!   calls before it on the prefix pass through a zero-delay `slow` fault each, so the real
//!   fault lands on the write; the request log then proves it did.
//!
//! Faults: none; a burst of two 503s (empty body); a 429 with `Retry-After`; a slow answer
//! (200 ms, below the 5 s request timeout); a cut (malformed) JSON answer of a processed request;
//! an HTML login page with status 200; a numeric `error_code` that looks transient (503,
//! `{"error_code": 503}`); and the numeric 403 `{"error_code": 403}`, which is not retried.
//!
//! `Retry-After` is 1 s for the first call of every Create (12 cases, which also assert that the
//! operation waited that long) and 0 s elsewhere (honoured: the retry follows at once, without
//! backoff). The 435 cases take about 30 s of wall time with the default two test threads of a
//! 2-core machine.
//!
//! Every case asserts: exactly one answer (checked by `Harness::send`); SUCCESS with exactly the
//! attribute keys of the type's `…Attr::ALL` (nothing for a Delete), or for the numeric 403 a
//! FAILED answer whose reason names the refusal, after a single attempt; the fault was consumed
//! where intended; the final state in the fake (the object exists / reflects the update / is
//! gone, and no duplicate was created by a retry); and that the secret is in no answer and in no
//! captured log line. A failing case is named in its message and prints the requests the fake
//! saw during the operation.

mod common;

use std::time::{Duration, Instant};

use cdkrs_constructs::custom_resource::CustomAttribute;
use cdkrs_databricks as db;
use common::*;
use serde_json::{json, Value};
use testkit::databricks::{
    AutomaticMetastore, FakeConfig, FakeDatabricks, Faults, Propagation, RequestRecord, Snapshot,
};

const ROLE_2: &str = "arn:aws:iam::123456789012:role/t-xacct-2";
const DATA_ROLE_2: &str = "arn:aws:iam::123456789012:role/t-data-2";
const FILE_PATH: &str = "/cdkrs/init/sse.sh";
const PRINCIPAL: &str = "7654321";
const UC_ROLE_2: &str = "arn:aws:iam::123456789012:role/t-uc-access-2";
const UC: &str = "/api/2.1/unity-catalog";
/// The slow fault's delay (the client's request timeout is 5 s).
const SLOW: Duration = Duration::from_millis(200);

/// The fake with short provisioning, start and deletion delays: the matrix is about faults.
fn quick_fake() -> FakeConfig {
    FakeConfig {
        workspace_provisioning_delay: Duration::from_millis(40),
        cluster_start_delay: Duration::from_millis(40),
        deletion_delay: Duration::from_millis(20),
        ..FakeConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The dimensions

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Credentials,
    Storage,
    Network,
    Key,
    Workspace,
    Assignment,
    LogDelivery,
    InstanceProfile,
    Group,
    File,
    Cluster,
    /// The cluster while the network is asleep (`StartOnCreate` false): created, then
    /// terminated; edited while terminated.
    ClusterAsleep,
    /// The metastore assignment, on an account without a regional metastore (made and
    /// assigned by the resource).
    Metastore,
    AccountGroup,
    StorageCredential,
    ExternalLocation,
    Catalog,
    Grants,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Create,
    Update,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    /// Two 503s with an empty body.
    Burst5xx,
    /// One 429 `REQUEST_LIMIT_EXCEEDED` with `Retry-After`.
    RateLimited,
    /// One answer after [`SLOW`].
    Slow,
    /// One processed request whose JSON answer is cut in half.
    Malformed,
    /// One HTML login page with status 200 (request not processed).
    Html200,
    /// One 503 `{"error_code": 503, …}`: numeric, transient-looking.
    Numeric503,
    /// One 403 `{"error_code": 403, "message": "Invalid access token."}`: not retried.
    Numeric403,
}

const FAULTS: [Fault; 8] = [
    Fault::None,
    Fault::Burst5xx,
    Fault::RateLimited,
    Fault::Slow,
    Fault::Malformed,
    Fault::Html200,
    Fault::Numeric503,
    Fault::Numeric403,
];

impl Fault {
    /// How many requests it hits.
    fn hits(self) -> usize {
        match self {
            Fault::None => 0,
            Fault::Burst5xx => 2,
            _ => 1,
        }
    }

    /// Its name in the fake's request log.
    fn log_name(self) -> Option<&'static str> {
        match self {
            Fault::None => None,
            Fault::Burst5xx | Fault::Numeric503 => Some("fail"),
            Fault::RateLimited => Some("rate_limit"),
            Fault::Slow => Some("slow"),
            Fault::Malformed => Some("malformed"),
            Fault::Html200 => Some("html_200"),
            Fault::Numeric403 => Some("numeric_error_code"),
        }
    }

    /// Whether the operation must still succeed.
    fn recoverable(self) -> bool {
        self != Fault::Numeric403
    }

    fn inject(self, faults: &Faults, retry_after_secs: u64) {
        match self {
            Fault::None => {}
            Fault::Burst5xx => faults.fail_next(2, 503, ""),
            Fault::RateLimited => faults.rate_limit_next(1, retry_after_secs),
            Fault::Slow => faults.slow_next(1, SLOW),
            Fault::Malformed => faults.malformed_next(1),
            Fault::Html200 => faults.html_200_next(1),
            Fault::Numeric503 => faults.fail_next(
                1,
                503,
                r#"{"error_code": 503, "message": "The service is temporarily unavailable."}"#,
            ),
            Fault::Numeric403 => faults.numeric_error_code_next(1),
        }
    }
}

/// Which request of the operation the fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// The first request on the resource type's prefix.
    FirstCall,
    /// The request that writes (see [`Type::write_call`]).
    Write,
}

/// The props an object was made from: before or after the Update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Old,
    New,
    /// Log delivery after Delete: it cannot be deleted, only disabled.
    Disabled,
    /// Neither (a half-applied change, a stopped cluster, a workspace not running, …).
    Other,
}

fn names<A: CustomAttribute>(all: &[A]) -> Vec<&'static str> {
    all.iter().map(|a| a.name()).collect()
}

/// What a type's objects need before they can be made.
#[derive(Debug, Default)]
struct Deps {
    credentials: String,
    storage: String,
    network: String,
    workspace: String,
}

impl Type {
    fn resource_type(self) -> &'static str {
        match self {
            Type::Credentials => CREDENTIALS,
            Type::Storage => STORAGE,
            Type::Network => NETWORK,
            Type::Key => KEY,
            Type::Workspace => WORKSPACE,
            Type::Assignment => ASSIGNMENT,
            Type::LogDelivery => LOG_DELIVERY,
            Type::InstanceProfile => INSTANCE_PROFILE,
            Type::Group => GROUP,
            Type::File => FILE,
            Type::Cluster | Type::ClusterAsleep => CLUSTER,
            Type::Metastore => METASTORE_ASSIGNMENT,
            Type::AccountGroup => ACCOUNT_GROUP,
            Type::StorageCredential => STORAGE_CREDENTIAL,
            Type::ExternalLocation => EXTERNAL_LOCATION,
            Type::Catalog => CATALOG,
            Type::Grants => GRANTS,
        }
    }

    /// Whether the type's objects live in a workspace's Unity Catalog metastore.
    fn in_metastore(self) -> bool {
        matches!(
            self,
            Type::StorageCredential | Type::ExternalLocation | Type::Catalog | Type::Grants
        )
    }

    /// The fake for the type: the Unity Catalog objects need a metastore assigned at once, and
    /// no role propagation race (the matrix is about faults).
    fn fake(self) -> FakeConfig {
        if self.in_metastore() {
            FakeConfig {
                automatic_metastore: Some(AutomaticMetastore {
                    region: "eu-west-1".into(),
                    assignment_delay: Duration::ZERO,
                }),
                storage_credential_propagation: Propagation::NONE,
                ..quick_fake()
            }
        } else if self == Type::Metastore {
            // Its eventual-consistency budget is zero (see `policy`): no validation race in
            // the dependencies either.
            FakeConfig {
                credentials_propagation: Propagation::NONE,
                ..quick_fake()
            }
        } else {
            quick_fake()
        }
    }

    /// The retry policy: the metastore assignment waits for an automatic assignment for its
    /// eventual-consistency budget, zero here so that its calls are the same in every case
    /// (`handlers.rs` covers the wait).
    fn policy(self) -> databricks_provider::client::RetryPolicy {
        let mut p = fast_retries();
        if self == Type::Metastore {
            p.eventual_consistency = Duration::ZERO;
        }
        p
    }

    /// Whether the matrix's Update leaves the object as it was (nothing of it changes).
    fn update_keeps(self) -> bool {
        matches!(self, Type::Metastore | Type::AccountGroup)
    }

    /// The keys a success carries: the type's `…Attr::ALL`, sorted.
    fn attributes(self) -> Vec<&'static str> {
        let mut all = match self {
            Type::Credentials => names(db::CredentialsAttr::ALL),
            Type::Storage => names(db::StorageConfigurationAttr::ALL),
            Type::Network => names(db::NetworkAttr::ALL),
            Type::Key => names(db::CustomerManagedKeyAttr::ALL),
            Type::Workspace => names(db::WorkspaceAttr::ALL),
            Type::Assignment => names(db::WorkspaceAssignmentAttr::ALL),
            Type::LogDelivery => names(db::LogDeliveryAttr::ALL),
            Type::InstanceProfile => names(db::InstanceProfileAttr::ALL),
            Type::Group => names(db::GroupAttr::ALL),
            Type::File => names(db::WorkspaceFileAttr::ALL),
            Type::Cluster | Type::ClusterAsleep => names(db::ClusterAttr::ALL),
            Type::Metastore => names(db::MetastoreAssignmentAttr::ALL),
            Type::AccountGroup => names(db::AccountGroupAttr::ALL),
            Type::StorageCredential => names(db::StorageCredentialAttr::ALL),
            Type::ExternalLocation => names(db::ExternalLocationAttr::ALL),
            Type::Catalog => names(db::CatalogAttr::ALL),
            Type::Grants => names(db::GrantsAttr::ALL),
        };
        all.sort_unstable();
        all
    }

    /// The attribute whose value is the physical id.
    fn id_attribute(self) -> Option<&'static str> {
        match self {
            Type::Credentials => Some("CredentialsId"),
            Type::Storage => Some("StorageConfigurationId"),
            Type::Network => Some("NetworkId"),
            Type::Key => Some("CustomerManagedKeyId"),
            Type::Workspace => Some("WorkspaceId"),
            Type::Assignment => None,
            Type::LogDelivery => Some("ConfigId"),
            Type::InstanceProfile => Some("InstanceProfileArn"),
            Type::Group => Some("GroupId"),
            Type::File => Some("Path"),
            Type::Cluster | Type::ClusterAsleep => Some("ClusterId"),
            Type::Metastore | Type::Grants => None,
            Type::AccountGroup => Some("GroupId"),
            Type::StorageCredential | Type::ExternalLocation | Type::Catalog => Some("Name"),
        }
    }

    /// Whether the Update of the matrix makes a new object (CloudFormation deletes the old).
    fn replaces_on_update(self) -> bool {
        matches!(
            self,
            Type::Credentials | Type::Storage | Type::Network | Type::Key | Type::LogDelivery
        )
    }

    /// The write of `op`, as (requests on the prefix before it, its method); `None` when the
    /// first call is the write.
    fn write_call(self, op: Op) -> Option<(usize, &'static str)> {
        use Op::*;
        use Type::*;
        match (self, op) {
            // List, then create.
            (Credentials | Storage | Network | Key | LogDelivery, Create | Update)
            | (Workspace | InstanceProfile | Group | Cluster, Create) => Some((1, "POST")),
            // The workspace is read, then PATCHed (tags: in place).
            (Workspace, Update) => Some((1, "PATCH")),
            // The profiles are listed, then the role edited.
            (InstanceProfile, Update) => Some((1, "POST")),
            // List, create, then the new phase's write: the terminate (the create is the
            // write of the `Cluster` cases).
            (ClusterAsleep, Create) => Some((2, "POST")),
            // The cluster is read (terminated), then edited.
            (ClusterAsleep, Update) => Some((1, "POST")),
            // The group is read, then PATCHed.
            (Group, Update) => Some((1, "PATCH")),
            // mkdirs, export (is it there?), then import without overwrite.
            (File, Create) => Some((2, "POST")),
            // mkdirs, then import with overwrite.
            (File, Update) => Some((1, "POST")),
            // The assignment is read (none), then made: the metastore is listed and created
            // on the account's other paths, then assigned.
            (Metastore, Create) => Some((1, "POST")),
            // The assignment is read and kept; it is removed with one call.
            (Metastore, Update | Delete) => None,
            // The group is looked up, then created; an Update reads it and keeps it.
            (AccountGroup, Create) => Some((1, "POST")),
            (AccountGroup, Update) => None,
            // Read by name, then created / PATCHed / deleted.
            (StorageCredential | ExternalLocation | Catalog, Create) => Some((1, "POST")),
            (StorageCredential | ExternalLocation | Catalog, Update) => Some((1, "PATCH")),
            (StorageCredential | ExternalLocation | Catalog, Delete) => Some((1, "DELETE")),
            // One PATCH of the permissions per securable (one securable here).
            (Grants, _) => None,
            // A PUT, a DELETE, an edit, a remove, a disable, a permanent-delete: one call.
            (Assignment, _) | (Cluster, Update) | (_, Delete) => None,
        }
    }

    /// The API path prefix of the type's own calls.
    fn prefix(self, h: &Harness, deps: &Deps) -> String {
        let account = format!("/api/2.0/accounts/{}", h.account());
        match self {
            Type::Credentials => format!("{account}/credentials"),
            Type::Storage => format!("{account}/storage-configurations"),
            Type::Network => format!("{account}/networks"),
            Type::Key => format!("{account}/customer-managed-keys"),
            Type::Workspace => format!("{account}/workspaces"),
            Type::Assignment => format!(
                "{account}/workspaces/{}/permissionassignments",
                deps.workspace
            ),
            Type::LogDelivery => format!("{account}/log-delivery"),
            Type::InstanceProfile => "/api/2.0/instance-profiles".to_owned(),
            Type::Group => "/api/2.0/preview/scim/v2/Groups".to_owned(),
            Type::File => "/api/2.0/workspace/".to_owned(),
            Type::Cluster | Type::ClusterAsleep => "/api/2.1/clusters".to_owned(),
            // The assignment's read (`…/metastore`) and writes (`…/metastores/{id}`).
            Type::Metastore => format!("{account}/workspaces/{}/metastore", deps.workspace),
            Type::AccountGroup => format!("{account}/scim/v2/Groups"),
            Type::StorageCredential => format!("{UC}/storage-credentials"),
            Type::ExternalLocation => format!("{UC}/external-locations"),
            Type::Catalog => format!("{UC}/catalogs"),
            Type::Grants => format!("{UC}/permissions/"),
        }
    }

    /// Makes what the type's objects refer to (clean calls, before any fault is queued).
    async fn dependencies(self, h: &Harness) -> Deps {
        match self {
            Type::Workspace => {
                let (credentials, storage, network) = prerequisites(h, 1).await;
                Deps {
                    credentials,
                    storage,
                    network,
                    ..Deps::default()
                }
            }
            Type::Metastore => {
                let ids = prerequisites(h, 1).await;
                let (ws, _) = ok(&h.create(WORKSPACE, &workspace(h, "t-ws", &ids)).await);
                Deps {
                    workspace: ws,
                    ..Deps::default()
                }
            }
            t if t.in_metastore() => {
                let ids = prerequisites(h, 1).await;
                let (ws, _) = ok(&h.create(WORKSPACE, &workspace(h, "t-ws", &ids)).await);
                // What the type's object needs, in order (never the object itself).
                let mut chain = Vec::new();
                if t != Type::StorageCredential {
                    chain.push((STORAGE_CREDENTIAL, Type::StorageCredential));
                }
                if matches!(t, Type::Catalog | Type::Grants) {
                    chain.push((EXTERNAL_LOCATION, Type::ExternalLocation));
                }
                if t == Type::Grants {
                    chain.push((CATALOG, Type::Catalog));
                    ok(&h
                        .create(
                            ACCOUNT_GROUP,
                            &json!({"AccountId": h.account(), "DisplayName": "t-readers"}),
                        )
                        .await);
                }
                let deps = Deps {
                    workspace: ws,
                    ..Deps::default()
                };
                for (rt, dep) in chain {
                    ok(&h.create(rt, &dep.props(h, &deps, Version::Old)).await);
                }
                deps
            }
            Type::Assignment => {
                let ids = prerequisites(h, 1).await;
                let (ws, _) = ok(&h.create(WORKSPACE, &workspace(h, "t-ws", &ids)).await);
                Deps {
                    workspace: ws,
                    ..Deps::default()
                }
            }
            Type::LogDelivery => {
                let (credentials, _) = ok(&h.create(CREDENTIALS, &credentials(h, "t-logs")).await);
                let (storage, _) = ok(&h
                    .create(STORAGE, &storage(h, "t-logs", "t-logs-bucket"))
                    .await);
                Deps {
                    credentials,
                    storage,
                    ..Deps::default()
                }
            }
            _ => Deps::default(),
        }
    }

    /// The properties before (`Old`, also those of Create and Delete) or after (`New`) the Update.
    fn props(self, h: &Harness, deps: &Deps, v: Version) -> Value {
        let new = v == Version::New;
        match self {
            Type::Credentials => json!({
                "AccountId": h.account(), "CredentialsName": "t-creds",
                "RoleArn": if new { ROLE_2 } else { ROLE }
            }),
            Type::Storage => storage(
                h,
                "t-root",
                if new {
                    "t-root-bucket-2"
                } else {
                    "t-root-bucket"
                },
            ),
            Type::Network => network(h, "t-net", if new { 2 } else { 1 }),
            Type::Key => json!({
                "AccountId": h.account(), "KeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k1",
                "KeyAlias": "alias/t",
                "UseCases": if new { json!(["MANAGED_SERVICES"]) } else { json!(["STORAGE", "MANAGED_SERVICES"]) },
                "ReuseKeyForClusterVolumes": true
            }),
            Type::Workspace => {
                let ids = (
                    deps.credentials.clone(),
                    deps.storage.clone(),
                    deps.network.clone(),
                );
                let mut p = workspace(h, "t-ws", &ids);
                if new {
                    // Changes in place: a PATCH of custom_tags.
                    p["CustomTags"] = json!({"CostCenter": "43"});
                }
                p
            }
            Type::Assignment => json!({
                "AccountId": h.account(), "WorkspaceId": deps.workspace, "PrincipalId": PRINCIPAL,
                "Permissions": if new { ["ADMIN"] } else { ["USER"] }
            }),
            Type::LogDelivery => json!({
                "AccountId": h.account(), "ConfigName": "t-audit", "LogType": "AUDIT_LOGS",
                "OutputFormat": "JSON", "CredentialsId": deps.credentials,
                "StorageConfigurationId": deps.storage,
                "DeliveryPathPrefix": if new { "audit-2" } else { "audit" },
                "WorkspaceIdsFilter": ["1234567890123456"]
            }),
            Type::InstanceProfile => json!({
                "WorkspaceUrl": h.url(), "InstanceProfileArn": PROFILE,
                "IamRoleArn": if new { DATA_ROLE_2 } else { DATA_ROLE },
                "IsMetaInstanceProfile": false
            }),
            Type::Group => json!({
                "WorkspaceUrl": h.url(), "DisplayName": "t-eng",
                "Roles": if new { json!([]) } else { json!([DATA_ROLE]) },
                "AllowClusterCreate": !new, "AllowInstancePoolCreate": new
            }),
            Type::File => json!({
                "WorkspaceUrl": h.url(), "Path": FILE_PATH,
                "ContentBase64": if new { SCRIPT_TWO } else { SCRIPT_ONE }, "Overwrite": false
            }),
            Type::Cluster => cluster(h, if new { 8 } else { 4 }),
            Type::ClusterAsleep => cluster_asleep(h, if new { 8 } else { 4 }),
            Type::Metastore => json!({
                "AccountId": h.account(), "WorkspaceId": deps.workspace, "Region": "eu-west-1",
                // Concerns creation only: the Update keeps the assignment.
                "MetastoreName": if new { "t-metastore-2" } else { "t-metastore" }
            }),
            Type::AccountGroup => json!({"AccountId": h.account(), "DisplayName": "t-readers"}),
            Type::StorageCredential => json!({
                "WorkspaceUrl": h.url(), "Name": "t-cred",
                "RoleArn": if new { UC_ROLE_2 } else { UC_ROLE }
            }),
            Type::ExternalLocation => json!({
                "WorkspaceUrl": h.url(), "Name": "t-raw", "CredentialName": "t-cred",
                "Url": if new { "s3://t-raw/v2" } else { "s3://t-raw" }
            }),
            Type::Catalog => json!({
                "WorkspaceUrl": h.url(), "Name": "t_raw", "StorageRoot": "s3://t-raw/catalog",
                "Comment": if new { "raw data, v2" } else { "raw data" }
            }),
            Type::Grants => json!({
                "WorkspaceUrl": h.url(), "Principal": "t-readers",
                "Grants": [{
                    "SecurableType": "CATALOG", "FullName": "t_raw",
                    "Privileges": if new { json!(["USE_CATALOG", "SELECT"]) } else { json!(["USE_CATALOG"]) }
                }]
            }),
        }
    }

    /// The type's objects in the fake, by physical id.
    fn objects(self, s: &Snapshot) -> Vec<(String, Value)> {
        let by = |list: &[Value], key: &str| -> Vec<(String, Value)> {
            list.iter().map(|v| (id_text(&v[key]), v.clone())).collect()
        };
        match self {
            Type::Credentials => by(&s.credentials, "credentials_id"),
            Type::Storage => by(&s.storage_configurations, "storage_configuration_id"),
            Type::Network => by(&s.networks, "network_id"),
            Type::Key => by(&s.customer_managed_keys, "customer_managed_key_id"),
            Type::Workspace => by(&s.workspaces, "workspace_id"),
            Type::Assignment => s
                .permission_assignments
                .iter()
                .map(|p| {
                    (
                        format!("{}/{}", p.workspace_id, p.principal_id),
                        json!({"permissions": p.permissions}),
                    )
                })
                .collect(),
            Type::LogDelivery => by(&s.log_delivery, "config_id"),
            Type::InstanceProfile => by(&s.instance_profiles, "instance_profile_arn"),
            Type::Group => by(&s.groups, "id")
                .into_iter()
                .filter(|(_, g)| !matches!(g["displayName"].as_str(), Some("users" | "admins")))
                .collect(),
            Type::File => s
                .workspace_objects
                .values()
                .filter(|o| o.object_type == "FILE")
                .map(|o| {
                    (
                        o.path.clone(),
                        json!({"content": String::from_utf8_lossy(&o.content)}),
                    )
                })
                .collect(),
            Type::Cluster | Type::ClusterAsleep => by(&s.clusters, "cluster_id"),
            Type::Metastore => s
                .metastore_assignments
                .iter()
                .map(|a| {
                    (
                        format!(
                            "{}/{}",
                            id_text(&a["workspace_id"]),
                            id_text(&a["metastore_id"])
                        ),
                        a.clone(),
                    )
                })
                .collect(),
            Type::AccountGroup => by(&s.account_groups, "id"),
            Type::StorageCredential => by(&s.storage_credentials, "name"),
            Type::ExternalLocation => by(&s.external_locations, "name"),
            Type::Catalog => by(&s.catalogs, "name"),
            Type::Grants => {
                let mut privileges = s.privileges("CATALOG", "t_raw", "t-readers");
                privileges.sort();
                if privileges.is_empty() {
                    Vec::new()
                } else {
                    vec![("grants/t-readers".to_owned(), json!(privileges))]
                }
            }
        }
    }

    /// Which properties an object reflects.
    fn version(self, o: &Value) -> Version {
        let pick = |old: bool, new: bool| match (old, new) {
            (true, false) => Version::Old,
            (false, true) => Version::New,
            _ => Version::Other,
        };
        match self {
            Type::Credentials => {
                let role = o.pointer("/aws_credentials/sts_role/role_arn");
                pick(role == Some(&json!(ROLE)), role == Some(&json!(ROLE_2)))
            }
            Type::Storage => {
                let bucket = o.pointer("/root_bucket_info/bucket_name");
                pick(
                    bucket == Some(&json!("t-root-bucket")),
                    bucket == Some(&json!("t-root-bucket-2")),
                )
            }
            Type::Network => pick(
                o["subnet_ids"] == json!(["subnet-1a", "subnet-1b"]),
                o["subnet_ids"] == json!(["subnet-2a", "subnet-2b"]),
            ),
            Type::Key => pick(
                o["use_cases"] == json!(["STORAGE", "MANAGED_SERVICES"]),
                o["use_cases"] == json!(["MANAGED_SERVICES"]),
            ),
            Type::Workspace => {
                if o["workspace_status"] != "RUNNING" {
                    return Version::Other;
                }
                // The provider adds its ownership mark to the tags.
                pick(
                    o["custom_tags"]["CostCenter"] == "42",
                    o["custom_tags"]["CostCenter"] == "43",
                )
            }
            Type::Assignment => pick(
                o["permissions"] == json!(["USER"]),
                o["permissions"] == json!(["ADMIN"]),
            ),
            Type::LogDelivery => {
                if o["status"] == "DISABLED" {
                    return Version::Disabled;
                }
                pick(
                    o["delivery_path_prefix"] == "audit",
                    o["delivery_path_prefix"] == "audit-2",
                )
            }
            Type::InstanceProfile => {
                if o["is_meta_instance_profile"] != false {
                    return Version::Other;
                }
                pick(
                    o["iam_role_arn"] == DATA_ROLE,
                    o["iam_role_arn"] == DATA_ROLE_2,
                )
            }
            Type::Group => {
                let roles = scim_values(o, "roles");
                let entitlements = scim_values(o, "entitlements");
                pick(
                    roles == [DATA_ROLE] && entitlements == ["allow-cluster-create"],
                    roles.is_empty() && entitlements == ["allow-instance-pool-create"],
                )
            }
            Type::File => pick(
                o["content"] == "#!/bin/bash\necho one\n",
                o["content"] == "#!/bin/bash\necho two\n",
            ),
            Type::Cluster | Type::ClusterAsleep => {
                let state = if self == Type::Cluster {
                    "RUNNING"
                } else {
                    "TERMINATED"
                };
                if o["state"] != state {
                    return Version::Other;
                }
                pick(
                    o["autoscale"]["max_workers"] == 4,
                    o["autoscale"]["max_workers"] == 8,
                )
            }
            // Nothing of the object differs between the two properties.
            Type::Metastore | Type::AccountGroup => Version::Old,
            Type::StorageCredential => {
                let role = o.pointer("/aws_iam_role/role_arn");
                pick(
                    role == Some(&json!(UC_ROLE)),
                    role == Some(&json!(UC_ROLE_2)),
                )
            }
            Type::ExternalLocation => {
                let url = o["url"].as_str().unwrap_or_default().trim_end_matches('/');
                pick(url == "s3://t-raw", url == "s3://t-raw/v2")
            }
            Type::Catalog => pick(o["comment"] == "raw data", o["comment"] == "raw data, v2"),
            Type::Grants => pick(
                *o == json!(["USE_CATALOG"]),
                *o == json!(["SELECT", "USE_CATALOG"]),
            ),
        }
    }
}

/// An id field as text (workspace ids are numbers).
fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `value`s of a SCIM multi-valued attribute, sorted.
fn scim_values(o: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = o[key]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// One case

/// Runs one case; panics with the case named in every message.
async fn run_case(t: Type, op: Op, fault: Fault, target: Target) -> Duration {
    let case = format!("[{t:?} {op:?}, fault {fault:?} on the {target:?}]");
    let h = Harness::with_policy(t.fake(), SECRET, t.policy()).await;
    let rt = t.resource_type();
    let deps = t.dependencies(&h).await;
    let old = t.props(&h, &deps, Version::Old);
    let new = t.props(&h, &deps, Version::New);
    let existing = match op {
        Op::Create => None,
        Op::Update | Op::Delete => {
            let answer = h.create(rt, &old).await;
            assert_eq!(answer["Status"], "SUCCESS", "{case} setup: {answer}");
            Some(ok(&answer).0)
        }
    };

    // The fault, on this type's calls only, from here on.
    let prefix = t.prefix(&h, &deps);
    let (skip, write_method) = match target {
        Target::FirstCall => (0, None),
        Target::Write => {
            let (skip, method) = t.write_call(op).expect("a write after the first call");
            (skip, Some(method))
        }
    };
    let retry_after = if op == Op::Create && target == Target::FirstCall {
        1
    } else {
        0
    };
    let faults = h.fake.faults().on(&prefix);
    if skip > 0 {
        // Let the calls before the write through (a zero delay), so the fault hits the write.
        faults.slow_next(skip, Duration::ZERO);
    }
    fault.inject(&faults, retry_after);
    h.fake.clear_requests();
    let _dump = DumpOnPanic {
        case: &case,
        fake: &h.fake,
    };

    let started = Instant::now();
    let answer = match op {
        Op::Create => h.create(rt, &old).await,
        Op::Update => {
            h.update(rt, existing.as_deref().expect("an id"), &new, &old)
                .await
        }
        Op::Delete => {
            h.delete(rt, existing.as_deref().expect("an id"), &old)
                .await
        }
    };
    let elapsed = started.elapsed();

    // The fault was taken where it was meant to be.
    assert_eq!(
        h.fake.faults().pending(),
        0,
        "{case}: a queued fault was never hit"
    );
    let requests = h.fake.requests();
    let faulted: Vec<&RequestRecord> = requests
        .iter()
        .filter(|r| r.path.starts_with(&prefix) && r.fault.is_some())
        .collect();
    assert_eq!(
        faulted.len(),
        skip + fault.hits(),
        "{case}: faulted requests {faulted:?}"
    );
    if let Some(name) = fault.log_name() {
        let hit = faulted[skip];
        assert_eq!(hit.fault, Some(name), "{case}: {hit:?}");
        if let Some(method) = write_method {
            assert_eq!(
                hit.method, method,
                "{case}: the fault missed the write: {hit:?}"
            );
        }
    }
    match fault {
        Fault::RateLimited => {
            let floor = Duration::from_secs(retry_after).saturating_sub(Duration::from_millis(50));
            assert!(
                elapsed >= floor,
                "{case}: Retry-After {retry_after}s not honoured: {elapsed:?}"
            );
        }
        Fault::Slow => assert!(elapsed >= SLOW, "{case}: {elapsed:?}"),
        _ => {}
    }

    // A cluster `edit` whose answer is cut was applied; the client's repeat finds the cluster
    // restarting (INVALID_STATE). The handler reads the cluster before editing again and sees
    // the spec applied: one Update restarts the cluster once.
    if (t, op, fault) == (Type::Cluster, Op::Update, Fault::Malformed) {
        let applied = requests
            .iter()
            .filter(|r| r.path == "/api/2.1/clusters/edit" && r.status == 200)
            .count();
        assert_eq!(applied, 1, "{case}: the edit is applied once");
    }

    // Asleep, no fault makes the provider start the cluster, and the write of a Create is the
    // terminate after the create.
    if t == Type::ClusterAsleep {
        let started: Vec<&RequestRecord> = requests
            .iter()
            .filter(|r| {
                r.path == "/api/2.1/clusters/start" || r.path == "/api/2.1/clusters/restart"
            })
            .collect();
        assert!(started.is_empty(), "{case}: {started:?}");
        if (op, target) == (Op::Create, Target::Write) && fault != Fault::None {
            assert_eq!(faulted[skip].path, "/api/2.1/clusters/delete", "{case}");
        }
    }

    // The answer.
    let id = answer["PhysicalResourceId"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: an answer without a physical id: {answer}"))
        .to_owned();
    if fault.recoverable() {
        assert_eq!(answer["Status"], "SUCCESS", "{case}: {answer}");
        let data = &answer["Data"];
        if op == Op::Delete {
            assert_eq!(data, &json!({}), "{case}: a Delete returns no attributes");
            assert_eq!(Some(&id), existing.as_ref(), "{case}");
        } else {
            assert_eq!(keys(data), t.attributes(), "{case}: {answer}");
            for (k, v) in data.as_object().expect("data") {
                assert!(
                    v.as_str().is_some_and(|s| !s.is_empty()),
                    "{case}: attribute {k} is {v}"
                );
            }
            if let Some(attribute) = t.id_attribute() {
                assert_eq!(data[attribute], id.as_str(), "{case}: {answer}");
            }
            match t {
                Type::Workspace => {
                    // The account's deployment-name prefix is part of the stored name.
                    let prefix = h.fake.config().deployment_name_prefix.clone();
                    let want = prefix.map_or("t-ws".to_owned(), |p| format!("{p}-t-ws"));
                    assert_eq!(data["DeploymentName"], want.as_str(), "{case}");
                    assert_eq!(data["WorkspaceUrl"], h.url(), "{case}");
                }
                Type::Assignment => {
                    assert_eq!(data["PrincipalId"], PRINCIPAL, "{case}");
                    assert_eq!(id, format!("{}/{PRINCIPAL}", deps.workspace), "{case}");
                }
                _ => {}
            }
        }
    } else {
        // The numeric 403: refused once, not retried, answered with the cause.
        assert_eq!(answer["Status"], "FAILED", "{case}: {answer}");
        let reason = failed(&answer);
        assert!(
            reason.contains("403: Invalid access token.") && reason.contains("(HTTP 403)"),
            "{case}: the reason names the refusal: {reason}"
        );
        assert!(
            reason.len() < 600 && !reason.contains('<'),
            "{case}: a short, plain reason: {reason}"
        );
        assert_eq!(answer["Data"], json!({}), "{case}");
        match &existing {
            Some(existing) => assert_eq!(&id, existing, "{case}: the physical id is kept"),
            None => assert!(id.starts_with("cdkrs-failed-create-"), "{case}: {id}"),
        }
        let refused = requests
            .iter()
            .filter(|r| r.path.starts_with(&prefix) && r.status == 403)
            .count();
        assert_eq!(refused, 1, "{case}: a 403 is not retried");
    }

    // The final state in the fake.
    let state = h.fake.state();
    let objects = t.objects(&state);
    let ids: Vec<&str> = objects.iter().map(|(i, _)| i.as_str()).collect();
    let version_of = |wanted: &str| {
        objects
            .iter()
            .find(|(i, _)| i == wanted)
            .map(|(_, o)| t.version(o))
    };
    let success = fault.recoverable();
    match (op, &existing) {
        (Op::Create, _) if success => {
            assert_eq!(ids, [id.as_str()], "{case}: exactly the answered object");
            assert_eq!(version_of(&id), Some(Version::Old), "{case}: {objects:?}");
        }
        (Op::Create, _) => assert!(ids.is_empty(), "{case}: nothing made: {objects:?}"),
        (Op::Update, Some(old_id)) if success && t.replaces_on_update() => {
            assert_ne!(&id, old_id, "{case}: a replacement has a new id");
            let mut want = vec![old_id.as_str(), id.as_str()];
            want.sort_unstable();
            let mut got = ids.clone();
            got.sort_unstable();
            assert_eq!(got, want, "{case}: the old and one new object");
            assert_eq!(
                version_of(old_id),
                Some(Version::Old),
                "{case}: {objects:?}"
            );
            assert_eq!(version_of(&id), Some(Version::New), "{case}: {objects:?}");
        }
        (Op::Update, Some(old_id)) if success => {
            assert_eq!(&id, old_id, "{case}: changed in place");
            assert_eq!(ids, [id.as_str()], "{case}: no other object");
            let want = if t.update_keeps() {
                Version::Old
            } else {
                Version::New
            };
            assert_eq!(version_of(&id), Some(want), "{case}: {objects:?}");
        }
        (Op::Delete, Some(old_id)) if success => {
            if t == Type::LogDelivery {
                assert_eq!(ids, [old_id.as_str()], "{case}: kept, disabled");
                assert_eq!(version_of(old_id), Some(Version::Disabled), "{case}");
            } else {
                assert!(ids.is_empty(), "{case}: gone: {objects:?}");
            }
        }
        (Op::Update | Op::Delete, Some(old_id)) => {
            assert_eq!(ids, [old_id.as_str()], "{case}: untouched: {objects:?}");
            assert_eq!(
                version_of(old_id),
                Some(Version::Old),
                "{case}: {objects:?}"
            );
        }
        (Op::Update | Op::Delete, None) => unreachable!("{case}: no existing object"),
    }

    // The secret: `Harness::send` checked the answer; now every log line.
    let lines = h.logs.lines();
    assert!(!lines.is_empty(), "{case}: the log capture works");
    for line in &lines {
        assert!(
            !line.contains(SECRET),
            "{case}: the secret leaked into a log line: {line}"
        );
    }
    assert!(
        !answer.to_string().contains(SECRET),
        "{case}: the secret leaked into the answer"
    );
    elapsed
}

/// Prints a case's request log when one of its assertions fails.
struct DumpOnPanic<'a> {
    case: &'a str,
    fake: &'a FakeDatabricks,
}

impl Drop for DumpOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}: the requests of the operation:", self.case);
            for r in self.fake.requests() {
                eprintln!(
                    "    {} {}{} -> {} (fault: {})",
                    r.method,
                    r.path,
                    r.query.map(|q| format!("?{q}")).unwrap_or_default(),
                    r.status,
                    r.fault.unwrap_or("none")
                );
            }
        }
    }
}

/// Every fault on every target of one type and operation.
async fn matrix(t: Type, op: Op) {
    let started = Instant::now();
    let mut cases = 0;
    for fault in FAULTS {
        let mut targets = vec![Target::FirstCall];
        if fault != Fault::None && t.write_call(op).is_some() {
            targets.push(Target::Write);
        }
        for target in targets {
            let took = run_case(t, op, fault, target).await;
            cases += 1;
            println!("{t:?} {op:?} {fault:?} on the {target:?}: ok in {took:?}");
        }
    }
    println!("{t:?} {op:?}: {cases} cases in {:?}", started.elapsed());
}

macro_rules! matrix_tests {
    ($($name:ident: $t:ident $op:ident;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                matrix(Type::$t, Op::$op).await;
            }
        )*
    };
}

matrix_tests! {
    credentials_create: Credentials Create;
    credentials_update: Credentials Update;
    credentials_delete: Credentials Delete;
    storage_configuration_create: Storage Create;
    storage_configuration_update: Storage Update;
    storage_configuration_delete: Storage Delete;
    network_create: Network Create;
    network_update: Network Update;
    network_delete: Network Delete;
    customer_managed_key_create: Key Create;
    customer_managed_key_update: Key Update;
    customer_managed_key_delete: Key Delete;
    workspace_create: Workspace Create;
    workspace_update: Workspace Update;
    workspace_delete: Workspace Delete;
    workspace_assignment_create: Assignment Create;
    workspace_assignment_update: Assignment Update;
    workspace_assignment_delete: Assignment Delete;
    log_delivery_create: LogDelivery Create;
    log_delivery_update: LogDelivery Update;
    log_delivery_delete: LogDelivery Delete;
    instance_profile_create: InstanceProfile Create;
    instance_profile_update: InstanceProfile Update;
    instance_profile_delete: InstanceProfile Delete;
    group_create: Group Create;
    group_update: Group Update;
    group_delete: Group Delete;
    workspace_file_create: File Create;
    workspace_file_update: File Update;
    workspace_file_delete: File Delete;
    cluster_create: Cluster Create;
    cluster_update: Cluster Update;
    cluster_delete: Cluster Delete;
    cluster_asleep_create: ClusterAsleep Create;
    cluster_asleep_update: ClusterAsleep Update;
    cluster_asleep_delete: ClusterAsleep Delete;
    metastore_assignment_create: Metastore Create;
    metastore_assignment_update: Metastore Update;
    metastore_assignment_delete: Metastore Delete;
    account_group_create: AccountGroup Create;
    account_group_update: AccountGroup Update;
    account_group_delete: AccountGroup Delete;
    storage_credential_create: StorageCredential Create;
    storage_credential_update: StorageCredential Update;
    storage_credential_delete: StorageCredential Delete;
    external_location_create: ExternalLocation Create;
    external_location_update: ExternalLocation Update;
    external_location_delete: ExternalLocation Delete;
    catalog_create: Catalog Create;
    catalog_update: Catalog Update;
    catalog_delete: Catalog Delete;
    grants_create: Grants Create;
    grants_update: Grants Update;
    grants_delete: Grants Delete;
}

/// The matrix covers every resource type the provider serves.
#[test]
fn the_matrix_covers_every_resource_type() {
    let all = [
        Type::Credentials,
        Type::Storage,
        Type::Network,
        Type::Key,
        Type::Workspace,
        Type::Assignment,
        Type::LogDelivery,
        Type::InstanceProfile,
        Type::Group,
        Type::File,
        Type::Cluster,
        Type::ClusterAsleep,
        Type::Metastore,
        Type::AccountGroup,
        Type::StorageCredential,
        Type::ExternalLocation,
        Type::Catalog,
        Type::Grants,
    ];
    let mut covered: Vec<&str> = all.iter().map(|t| t.resource_type()).collect();
    let mut served: Vec<&str> = db::resource_type::ALL.to_vec();
    covered.sort_unstable();
    covered.dedup();
    served.sort_unstable();
    assert_eq!(covered, served);
}

// ---------------------------------------------------------------------------------------------
// The init script's permissions under faults (issue 10 item 11)

#[tokio::test]
async fn init_script_permission_calls_are_retried_and_a_create_that_cannot_secure_its_file_removes_it(
) {
    let h = Harness::start().await;
    let props = json!({"WorkspaceUrl": h.url(), "Path": FILE_PATH, "ContentBase64": SCRIPT_ONE, "Overwrite": true});
    // A burst of 503 on the PUT is retried; the file ends admin-only.
    h.fake.faults().on("/api/2.0/permissions/files/").fail_next(
        2,
        503,
        r#"{"error_code":"TEMPORARILY_UNAVAILABLE","message":"try again"}"#,
    );
    let (id, _) = ok(&h.create(FILE, &props).await);
    assert_eq!(h.answered("PUT", "/api/2.0/permissions/files/", 200), 1);
    ok(&h.delete(FILE, &id, &props).await);
    // Permissions that cannot be set (a lasting 403): the Create fails, naming the step, and
    // the file it wrote is gone.
    h.fake.faults().on("/api/2.0/permissions/files/").fail_next(
        20,
        403,
        r#"{"error_code":"PERMISSION_DENIED","message":"no"}"#,
    );
    let reason = failed(&h.create(FILE, &props).await);
    assert!(
        reason.contains("setting the permissions of /cdkrs/init/sse.sh"),
        "{reason}"
    );
    assert!(reason.contains("the file was deleted"), "{reason}");
    h.fake.faults().clear();
    assert!(h.fake.state().workspace_object(FILE_PATH).is_none());
}

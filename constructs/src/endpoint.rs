//! VPC endpoints: [`GatewayEndpoint`] (S3, DynamoDB) on the VPC's route tables, and
//! [`InterfaceEndpoint`] (STS, Kinesis, …) in its private subnets behind a security group.
//!
//! An endpoint policy is checked before it is written: a statement that allows every principal
//! (`*`) without any condition is refused, since it would let any caller in the VPC use the
//! endpoint with any credentials. Without a policy, the endpoint gets the service's default
//! (full access).
//!
//! ```
//! use cdkrs_constructs::endpoint::{GatewayEndpoint, GatewayService};
//! use cdkrs_constructs::vpc::{Vpc, VpcProps};
//! use cdkrs_constructs::Stack;
//!
//! let mut stack = Stack::new("demo");
//! let vpc = Vpc::new(&mut stack, "Net", VpcProps::default()).unwrap();
//! GatewayEndpoint::new(&mut stack, "S3Endpoint", &vpc, GatewayService::S3, None).unwrap();
//! stack.synth().unwrap();
//! ```

use crate::ec2::vpc_endpoint::VpcEndpointType;
use crate::ec2::CfnVpcEndpoint;
use crate::error::ConstructError;
use crate::policy::{PolicyDocument, Principal};
use crate::security_group::SecurityGroup;
use crate::vpc::Vpc;
use crate::{sub, ConditionHandle, Handle, ResourceOptions, Stack, Value};

/// A service reachable through a gateway endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayService {
    /// Amazon S3 (`com.amazonaws.<region>.s3`).
    S3,
    /// Amazon DynamoDB (`com.amazonaws.<region>.dynamodb`).
    DynamoDb,
}

impl GatewayService {
    /// The short service name (`s3`, `dynamodb`).
    pub fn name(self) -> &'static str {
        match self {
            GatewayService::S3 => "s3",
            GatewayService::DynamoDb => "dynamodb",
        }
    }
}

/// `com.amazonaws.${AWS::Region}.<service>`.
fn service_name(service: &str) -> Value<String> {
    sub(format!("com.amazonaws.${{AWS::Region}}.{service}")).build()
}

/// Refuses a statement that allows `*` principals with no condition.
fn check_policy(
    construct: &'static str,
    id: &str,
    policy: &PolicyDocument,
) -> Result<(), ConstructError> {
    let star = Value::from("*");
    for (i, statement) in policy.statements().iter().enumerate() {
        let everyone = statement.allows_everyone()
            || statement
                .principals
                .iter()
                .any(|p| matches!(p, Principal::Aws(v) if *v == star));
        if statement.effect == crate::policy::Effect::Allow
            && everyone
            && statement.conditions.is_empty()
        {
            return Err(ConstructError::new(
                construct,
                id,
                format!("policy.statements[{i}]"),
                "allows every principal (`*`) without a condition; add a condition such as \
                 `aws:PrincipalAccount` or name the principals",
            ));
        }
    }
    Ok(())
}

/// A gateway VPC endpoint (S3 or DynamoDB) on every route table of a [`Vpc`].
#[derive(Clone, Debug)]
pub struct GatewayEndpoint {
    handle: Handle<CfnVpcEndpoint>,
}

impl GatewayEndpoint {
    /// Adds the `AWS::EC2::VPCEndpoint` (type `Gateway`, logical id `id`) for `service` on
    /// every route table of `vpc`. `policy: None` keeps the service's default (full access).
    pub fn new(
        stack: &mut Stack,
        id: &str,
        vpc: &Vpc,
        service: GatewayService,
        policy: Option<PolicyDocument>,
    ) -> Result<GatewayEndpoint, ConstructError> {
        if let Some(p) = &policy {
            check_policy("GatewayEndpoint", id, p)?;
        }
        let handle = stack.add(
            id,
            CfnVpcEndpoint {
                vpc_endpoint_type: Some(VpcEndpointType::Gateway.into()),
                service_name: Some(service_name(service.name())),
                route_table_ids: Some(Value::list(vpc.route_table_ids())),
                policy_document: policy.map(|p| p.to_value()),
                ..CfnVpcEndpoint::new(vpc.id())
            },
        );
        Ok(GatewayEndpoint { handle })
    }

    /// The endpoint id (`Ref`).
    pub fn id(&self) -> Value<String> {
        self.handle.reference()
    }

    /// The handle of the `AWS::EC2::VPCEndpoint` resource.
    pub fn handle(&self) -> &Handle<CfnVpcEndpoint> {
        &self.handle
    }
}

/// The props of an [`InterfaceEndpoint`].
#[derive(Clone, Debug, PartialEq)]
pub struct InterfaceEndpointProps {
    /// `PrivateDnsEnabled`: the service's public hostname resolves to the endpoint inside the
    /// VPC, so SDKs use it without configuration. Default: true.
    pub private_dns: bool,
    /// `PolicyDocument`. Default: none (the service's full access).
    pub policy: Option<PolicyDocument>,
    /// `Condition`: the endpoint exists only when the condition holds. Default: always.
    pub condition: Option<ConditionHandle>,
    /// `SubnetIds`, one subnet per zone. Default: the VPC's private subnets.
    pub subnets: Option<Vec<Value<String>>>,
}

impl Default for InterfaceEndpointProps {
    fn default() -> Self {
        InterfaceEndpointProps {
            private_dns: true,
            policy: None,
            condition: None,
            subnets: None,
        }
    }
}

/// An interface VPC endpoint: network interfaces in the VPC's subnets, behind a security group.
#[derive(Clone, Debug)]
pub struct InterfaceEndpoint {
    handle: Handle<CfnVpcEndpoint>,
}

impl InterfaceEndpoint {
    /// Adds the `AWS::EC2::VPCEndpoint` (type `Interface`, logical id `id`) for `service`, the
    /// short service name (`sts`, `kinesis-streams`), written as
    /// `com.amazonaws.${AWS::Region}.<service>`.
    pub fn new(
        stack: &mut Stack,
        id: &str,
        vpc: &Vpc,
        service: &str,
        security_group: &SecurityGroup,
        props: InterfaceEndpointProps,
    ) -> Result<InterfaceEndpoint, ConstructError> {
        const CONSTRUCT: &str = "InterfaceEndpoint";
        if service.is_empty() {
            return Err(ConstructError::new(
                CONSTRUCT,
                id,
                "service",
                "the service name is empty; give the short name such as `sts`",
            ));
        }
        if let Some(c) = service
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
        {
            return Err(ConstructError::new(
                CONSTRUCT,
                id,
                "service",
                format!(
                    "`{service}` contains {c:?}; a service name has lowercase letters, digits, \
                     dots and hyphens only"
                ),
            ));
        }
        if service.starts_with("com.amazonaws.") {
            return Err(ConstructError::new(
                CONSTRUCT,
                id,
                "service",
                format!(
                    "`{service}` is a full service name; give the short name (`sts`): \
                     `com.amazonaws.<region>.` is added"
                ),
            ));
        }
        if let Some(p) = &props.policy {
            check_policy(CONSTRUCT, id, p)?;
        }
        let subnets = match props.subnets {
            Some(list) if list.is_empty() => {
                return Err(ConstructError::new(
                    CONSTRUCT,
                    id,
                    "subnets",
                    "no subnet; give at least one, or None for the VPC's private subnets",
                ));
            }
            Some(list) => list,
            None => vpc.private_subnet_ids(),
        };
        let handle = stack.add_with(
            id,
            CfnVpcEndpoint {
                vpc_endpoint_type: Some(VpcEndpointType::Interface.into()),
                service_name: Some(service_name(service)),
                subnet_ids: Some(Value::list(subnets)),
                security_group_ids: Some(Value::list([security_group.group_id()])),
                private_dns_enabled: Some(props.private_dns.into()),
                policy_document: props.policy.map(|p| p.to_value()),
                ..CfnVpcEndpoint::new(vpc.id())
            },
            ResourceOptions {
                condition: props.condition,
                ..Default::default()
            },
        );
        Ok(InterfaceEndpoint { handle })
    }

    /// The endpoint id (`Ref`).
    pub fn id(&self) -> Value<String> {
        self.handle.reference()
    }

    /// The handle of the `AWS::EC2::VPCEndpoint` resource.
    pub fn handle(&self) -> &Handle<CfnVpcEndpoint> {
        &self.handle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Condition, Statement};
    use crate::security_group::SecurityGroupProps;
    use crate::vpc::VpcProps;
    use crate::{equals, Pseudo};
    use serde_json::{json, Value as Json};

    fn setup() -> (Stack, Vpc, SecurityGroup) {
        let mut stack = Stack::new("demo");
        let vpc = Vpc::new(&mut stack, "Net", VpcProps::default()).unwrap();
        let sg = SecurityGroup::new(
            &mut stack,
            "EndpointSg",
            &vpc,
            SecurityGroupProps::default(),
        )
        .unwrap();
        (stack, vpc, sg)
    }

    fn template(stack: &Stack) -> Json {
        stack.synth().unwrap().as_json().clone()
    }

    fn open_policy() -> PolicyDocument {
        PolicyDocument::of([Statement::allow()
            .principal(Principal::Everyone)
            .actions(["s3:GetObject"])
            .any_resource()])
    }

    fn account_policy() -> PolicyDocument {
        PolicyDocument::of([Statement::allow()
            .principal(Principal::Everyone)
            .actions(["s3:GetObject"])
            .any_resource()
            .condition(Condition::new(
                "StringEquals",
                "aws:PrincipalAccount",
                [Pseudo::AccountId.value()],
            ))])
    }

    fn interface_error(service: &str, props: InterfaceEndpointProps) -> String {
        let (mut stack, vpc, sg) = setup();
        InterfaceEndpoint::new(&mut stack, "Sts", &vpc, service, &sg, props)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn gateway_endpoint_is_on_every_route_table() {
        let (mut stack, vpc, _) = setup();
        let s3 = GatewayEndpoint::new(&mut stack, "S3", &vpc, GatewayService::S3, None).unwrap();
        GatewayEndpoint::new(&mut stack, "Ddb", &vpc, GatewayService::DynamoDb, None).unwrap();
        let t = template(&stack);
        assert_eq!(
            t["Resources"]["S3"],
            json!({
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "RouteTableIds": [{"Ref": "NetPublicRouteTable"}, {"Ref": "NetPrivateRouteTable"}],
                    "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"},
                    "VpcEndpointType": "Gateway",
                    "VpcId": {"Ref": "Net"}
                }
            })
        );
        assert_eq!(
            t["Resources"]["Ddb"]["Properties"]["ServiceName"],
            json!({"Fn::Sub": "com.amazonaws.${AWS::Region}.dynamodb"})
        );
        assert_eq!(serde_json::to_value(s3.id()).unwrap(), json!({"Ref": "S3"}));
        assert_eq!(s3.handle().logical_id(), "S3");
    }

    #[test]
    fn gateway_endpoint_policy_is_written_and_checked() {
        let (mut stack, vpc, _) = setup();
        GatewayEndpoint::new(
            &mut stack,
            "S3",
            &vpc,
            GatewayService::S3,
            Some(account_policy()),
        )
        .unwrap();
        let t = template(&stack);
        assert_eq!(
            t["Resources"]["S3"]["Properties"]["PolicyDocument"],
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}}
                }]
            })
        );
        let err = GatewayEndpoint::new(
            &mut stack,
            "S3Open",
            &vpc,
            GatewayService::S3,
            Some(open_policy()),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "GatewayEndpoint `S3Open`: policy.statements[0]: allows every principal (`*`) \
             without a condition; add a condition such as `aws:PrincipalAccount` or name the \
             principals"
        );
    }

    #[test]
    fn star_principal_written_as_aws_star_is_refused_too() {
        let (mut stack, vpc, _) = setup();
        let policy = PolicyDocument::of([
            Statement::deny()
                .principal(Principal::Everyone)
                .actions(["s3:*"])
                .any_resource(),
            Statement::allow()
                .principal(Principal::Aws("*".into()))
                .actions(["s3:*"])
                .any_resource(),
        ]);
        let err = GatewayEndpoint::new(&mut stack, "S3", &vpc, GatewayService::S3, Some(policy))
            .unwrap_err();
        assert_eq!(err.field, "policy.statements[1]");
    }

    #[test]
    fn interface_endpoint_defaults() {
        let p = InterfaceEndpointProps::default();
        assert!(p.private_dns);
        assert!(p.policy.is_none() && p.condition.is_none() && p.subnets.is_none());

        let (mut stack, vpc, sg) = setup();
        let sts = InterfaceEndpoint::new(&mut stack, "Sts", &vpc, "sts", &sg, p).unwrap();
        let t = template(&stack);
        assert_eq!(
            t["Resources"]["Sts"],
            json!({
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "PrivateDnsEnabled": true,
                    "SecurityGroupIds": [{"Fn::GetAtt": ["EndpointSg", "GroupId"]}],
                    "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.sts"},
                    "SubnetIds": [
                        {"Ref": "NetPrivateSubnet1"},
                        {"Ref": "NetPrivateSubnet2"},
                        {"Ref": "NetPrivateSubnet3"}
                    ],
                    "VpcEndpointType": "Interface",
                    "VpcId": {"Ref": "Net"}
                }
            })
        );
        assert_eq!(
            serde_json::to_value(sts.id()).unwrap(),
            json!({"Ref": "Sts"})
        );
    }

    #[test]
    fn interface_endpoint_options() {
        let (mut stack, vpc, sg) = setup();
        let cond = stack.add_condition("Awake", equals(Pseudo::Region.value(), "eu-west-1"));
        InterfaceEndpoint::new(
            &mut stack,
            "Kinesis",
            &vpc,
            "kinesis-streams",
            &sg,
            InterfaceEndpointProps {
                private_dns: false,
                policy: Some(account_policy()),
                condition: Some(cond),
                subnets: Some(vpc.private_subnet_ids()[..2].to_vec()),
            },
        )
        .unwrap();
        let t = template(&stack);
        let r = &t["Resources"]["Kinesis"];
        assert_eq!(r["Condition"], json!("Awake"));
        assert_eq!(r["Properties"]["PrivateDnsEnabled"], json!(false));
        assert_eq!(
            r["Properties"]["ServiceName"],
            json!({"Fn::Sub": "com.amazonaws.${AWS::Region}.kinesis-streams"})
        );
        assert_eq!(
            r["Properties"]["SubnetIds"],
            json!([{"Ref": "NetPrivateSubnet1"}, {"Ref": "NetPrivateSubnet2"}])
        );
        assert_eq!(
            r["Properties"]["PolicyDocument"]["Statement"][0]["Condition"],
            json!({"StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}})
        );
    }

    #[test]
    fn interface_service_names_are_checked() {
        assert_eq!(
            interface_error("", InterfaceEndpointProps::default()),
            "InterfaceEndpoint `Sts`: service: the service name is empty; give the short name \
             such as `sts`"
        );
        assert_eq!(
            interface_error("STS", InterfaceEndpointProps::default()),
            "InterfaceEndpoint `Sts`: service: `STS` contains 'S'; a service name has lowercase \
             letters, digits, dots and hyphens only"
        );
        assert_eq!(
            interface_error("${AWS::Region}", InterfaceEndpointProps::default()),
            "InterfaceEndpoint `Sts`: service: `${AWS::Region}` contains '$'; a service name \
             has lowercase letters, digits, dots and hyphens only"
        );
        assert_eq!(
            interface_error(
                "com.amazonaws.eu-west-1.sts",
                InterfaceEndpointProps::default()
            ),
            "InterfaceEndpoint `Sts`: service: `com.amazonaws.eu-west-1.sts` is a full service \
             name; give the short name (`sts`): `com.amazonaws.<region>.` is added"
        );
    }

    #[test]
    fn interface_policy_and_subnets_are_checked() {
        assert_eq!(
            interface_error(
                "sts",
                InterfaceEndpointProps {
                    policy: Some(open_policy()),
                    ..Default::default()
                }
            ),
            "InterfaceEndpoint `Sts`: policy.statements[0]: allows every principal (`*`) \
             without a condition; add a condition such as `aws:PrincipalAccount` or name the \
             principals"
        );
        assert_eq!(
            interface_error(
                "sts",
                InterfaceEndpointProps {
                    subnets: Some(Vec::new()),
                    ..Default::default()
                }
            ),
            "InterfaceEndpoint `Sts`: subnets: no subnet; give at least one, or None for the \
             VPC's private subnets"
        );
    }
}

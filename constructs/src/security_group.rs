//! `SecurityGroup`: a VPC security group that allows nothing until rules are added.
//!
//! CloudFormation gives a new group an implicit allow-all egress rule. Unless
//! [`SecurityGroupProps::allow_all_outbound`] is set, the group instead starts with the
//! no-traffic egress rule AWS CDK uses (`icmp 252-86 to 255.255.255.255/32`), which replaces the
//! implicit one and matches no packet; it is dropped when the first real inline egress rule is
//! added.
//!
//! Rules whose peer is an IPv4 range are written inline (`SecurityGroupIngress` /
//! `SecurityGroupEgress` of the group). Rules whose peer is a security group, this one included,
//! are separate `AWS::EC2::SecurityGroupIngress` / `AWS::EC2::SecurityGroupEgress` resources
//! (`{id}Ingress{n}`, `{id}Egress{n}`), so two groups can refer to each other without a cycle.
//!
//! ```
//! use cdkrs_constructs::security_group::{Peer, Port, SecurityGroup, SecurityGroupProps};
//! use cdkrs_constructs::vpc::{Vpc, VpcProps};
//! use cdkrs_constructs::Stack;
//!
//! let mut stack = Stack::new("demo");
//! let vpc = Vpc::new(&mut stack, "Net", VpcProps::default()).unwrap();
//! let mut sg = SecurityGroup::new(&mut stack, "Workers", &vpc, SecurityGroupProps::default()).unwrap();
//! sg.add_ingress(&mut stack, Peer::SelfGroup, Port::AllTraffic, "between workers").unwrap();
//! sg.add_egress(&mut stack, Peer::AnyIpv4, Port::Tcp(443), "HTTPS out").unwrap();
//! stack.synth().unwrap();
//! ```

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::ec2::security_group::{Egress, Ingress};
use crate::ec2::{CfnSecurityGroup, CfnSecurityGroupEgress, CfnSecurityGroupIngress};
use crate::error::ConstructError;
use crate::vpc::Vpc;
use crate::{Handle, Stack, Tag, Value};

const CONSTRUCT: &str = "SecurityGroup";

/// The group description used when none is given.
pub const DEFAULT_DESCRIPTION: &str = "Managed by cdkrs";

/// The longest group or rule description AWS accepts, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 255;

/// The only port [`SecurityGroup::add_ingress`] opens to `0.0.0.0/0`.
pub const PUBLIC_PORT: u16 = 443;

/// Every IPv4 address.
const ANY_IPV4: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::UNSPECIFIED, 0);

/// Besides ASCII letters and digits, the characters AWS accepts in a group description.
const GROUP_DESCRIPTION_CHARS: &str = " ._-:/()#,@[]+=&;{}!$*";

/// Besides ASCII letters and digits, the characters AWS accepts in a rule description.
const RULE_DESCRIPTION_CHARS: &str = " ._-:/()#,@[]+=;{}!$*";

/// The props of a [`SecurityGroup`]. `SecurityGroupProps::default()` allows no traffic at all.
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityGroupProps {
    /// `GroupDescription`: up to 255 letters, digits, spaces and `._-:/()#,@[]+=&;{}!$*`.
    /// Default: `"Managed by cdkrs"`.
    pub description: String,
    /// Allow all outbound traffic (an explicit `-1` egress rule to `0.0.0.0/0`). When false, no
    /// traffic leaves the group until [`SecurityGroup::add_egress`] allows it. Default: false.
    pub allow_all_outbound: bool,
    /// `Tags`. Default: none.
    pub tags: Vec<Tag>,
}

impl Default for SecurityGroupProps {
    fn default() -> Self {
        SecurityGroupProps {
            description: DEFAULT_DESCRIPTION.to_owned(),
            allow_all_outbound: false,
            tags: Vec::new(),
        }
    }
}

/// The other end of a rule.
#[derive(Clone, Copy, Debug)]
pub enum Peer<'a> {
    /// An IPv4 range (written inline).
    Ipv4(Ipv4Net),
    /// `0.0.0.0/0` (written inline).
    AnyIpv4,
    /// This security group itself (a separate rule resource).
    SelfGroup,
    /// Another security group (a separate rule resource).
    Group(&'a SecurityGroup),
}

/// The protocol and ports of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// One TCP port.
    Tcp(u16),
    /// A TCP port range, `from` to `to` inclusive.
    TcpRange(u16, u16),
    /// One UDP port.
    Udp(u16),
    /// A UDP port range, `from` to `to` inclusive.
    UdpRange(u16, u16),
    /// Every TCP port.
    AllTcp,
    /// Every UDP port.
    AllUdp,
    /// Every protocol and port (`IpProtocol: -1`).
    AllTraffic,
}

/// `FromPort` and `ToPort`; none for every protocol.
type PortRange = Option<(u16, u16)>;

impl Port {
    /// The `IpProtocol` and the `FromPort`/`ToPort` pair, or why the port is invalid.
    fn spec(self) -> Result<(&'static str, PortRange), String> {
        let range = |protocol: &'static str, from: u16, to: u16| {
            if from <= to {
                Ok((protocol, Some((from, to))))
            } else {
                Err(format!(
                    "{protocol} range {from}-{to} runs backwards; `from` must be at most `to`"
                ))
            }
        };
        match self {
            Port::Tcp(p) => Ok(("tcp", Some((p, p)))),
            Port::TcpRange(from, to) => range("tcp", from, to),
            Port::Udp(p) => Ok(("udp", Some((p, p)))),
            Port::UdpRange(from, to) => range("udp", from, to),
            Port::AllTcp => Ok(("tcp", Some((0, u16::MAX)))),
            Port::AllUdp => Ok(("udp", Some((0, u16::MAX)))),
            Port::AllTraffic => Ok(("-1", None)),
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Port::Tcp(p) => write!(f, "tcp {p}"),
            Port::TcpRange(from, to) => write!(f, "tcp {from}-{to}"),
            Port::Udp(p) => write!(f, "udp {p}"),
            Port::UdpRange(from, to) => write!(f, "udp {from}-{to}"),
            Port::AllTcp => f.write_str("all tcp"),
            Port::AllUdp => f.write_str("all udp"),
            Port::AllTraffic => f.write_str("all traffic"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// The peer of a rule as it is compared for duplicates.
#[derive(Clone, Debug, PartialEq)]
enum PeerKey {
    Cidr(Ipv4Net),
    Group {
        logical_id: String,
        id: Value<String>,
    },
}

impl fmt::Display for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerKey::Cidr(net) => write!(f, "{net}"),
            PeerKey::Group { logical_id, .. } => write!(f, "security group `{logical_id}`"),
        }
    }
}

/// What makes two rules the same rule for AWS (the description does not count).
#[derive(Clone, Debug, PartialEq)]
struct RuleKey {
    direction: Direction,
    protocol: &'static str,
    ports: PortRange,
    peer: PeerKey,
}

/// A security group in a [`Vpc`], with no ingress and (by default) no egress.
#[derive(Clone, Debug)]
pub struct SecurityGroup {
    id: String,
    handle: Handle<CfnSecurityGroup>,
    rules: Vec<RuleKey>,
    ingress_resources: usize,
    egress_resources: usize,
}

/// The egress rule that matches no traffic (AWS CDK's `MATCH_NO_TRAFFIC`).
fn no_traffic_rule() -> Egress {
    Egress {
        cidr_ip: Some("255.255.255.255/32".into()),
        description: Some("Disallow all traffic".into()),
        from_port: Some(Value::from(252_i64)),
        to_port: Some(Value::from(86_i64)),
        ..Egress::new("icmp")
    }
}

/// The explicit allow-all egress rule of `allow_all_outbound`.
fn allow_all_rule() -> Egress {
    Egress {
        cidr_ip: Some(ANY_IPV4.to_string().into()),
        description: Some("Allow all outbound traffic".into()),
        ..Egress::new("-1")
    }
}

/// Length and charset of a description, or why it is refused.
fn check_description(text: &str, allowed: &str) -> Result<(), String> {
    let len = text.chars().count();
    if len > MAX_DESCRIPTION_LEN {
        return Err(format!(
            "{len} characters; AWS accepts at most {MAX_DESCRIPTION_LEN}"
        ));
    }
    if let Some(c) = text
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !allowed.contains(*c))
    {
        return Err(format!(
            "{c:?} is not allowed; AWS accepts letters, digits, spaces and {}",
            allowed.trim_start()
        ));
    }
    Ok(())
}

impl SecurityGroup {
    /// Checks the props and adds the `AWS::EC2::SecurityGroup` (logical id `id`) to the stack.
    pub fn new(
        stack: &mut Stack,
        id: &str,
        vpc: &Vpc,
        props: SecurityGroupProps,
    ) -> Result<SecurityGroup, ConstructError> {
        if props.description.trim().is_empty() {
            return Err(ConstructError::new(
                CONSTRUCT,
                id,
                "description",
                "the description is empty; AWS requires one",
            ));
        }
        check_description(&props.description, GROUP_DESCRIPTION_CHARS)
            .map_err(|m| ConstructError::new(CONSTRUCT, id, "description", m))?;
        let (egress, rules) = if props.allow_all_outbound {
            let key = RuleKey {
                direction: Direction::Egress,
                protocol: "-1",
                ports: None,
                peer: PeerKey::Cidr(ANY_IPV4),
            };
            (allow_all_rule(), vec![key])
        } else {
            (no_traffic_rule(), Vec::new())
        };
        let tags = (!props.tags.is_empty()).then_some(props.tags);
        let handle = stack.add(
            id,
            CfnSecurityGroup {
                vpc_id: Some(vpc.id()),
                security_group_egress: Some(vec![egress]),
                tags,
                ..CfnSecurityGroup::new(props.description)
            },
        );
        Ok(SecurityGroup {
            id: id.to_owned(),
            handle,
            rules,
            ingress_resources: 0,
            egress_resources: 0,
        })
    }

    /// The group id (`Fn::GetAtt GroupId`).
    pub fn group_id(&self) -> Value<String> {
        self.handle.attr_group_id()
    }

    /// The handle of the `AWS::EC2::SecurityGroup` resource.
    pub fn handle(&self) -> &Handle<CfnSecurityGroup> {
        &self.handle
    }

    /// Allows traffic in from `peer` on `port`. Opening a port other than 443 to `0.0.0.0/0` is
    /// refused: use [`SecurityGroup::add_public_ingress`] for that.
    pub fn add_ingress(
        &mut self,
        stack: &mut Stack,
        peer: Peer<'_>,
        port: Port,
        description: &str,
    ) -> Result<(), ConstructError> {
        self.add_rule(stack, Direction::Ingress, peer, port, description, false)
    }

    /// Allows traffic in from anywhere (`0.0.0.0/0`) on `port`: the explicit opt-out of the
    /// public-ingress check of [`SecurityGroup::add_ingress`].
    pub fn add_public_ingress(
        &mut self,
        stack: &mut Stack,
        port: Port,
        description: &str,
    ) -> Result<(), ConstructError> {
        self.add_rule(
            stack,
            Direction::Ingress,
            Peer::AnyIpv4,
            port,
            description,
            true,
        )
    }

    /// Allows traffic out to `peer` on `port`. The first inline (IPv4) egress rule replaces the
    /// no-traffic placeholder.
    pub fn add_egress(
        &mut self,
        stack: &mut Stack,
        peer: Peer<'_>,
        port: Port,
        description: &str,
    ) -> Result<(), ConstructError> {
        self.add_rule(stack, Direction::Egress, peer, port, description, false)
    }

    fn error(&self, field: String, message: impl Into<String>) -> ConstructError {
        ConstructError::new(CONSTRUCT, &self.id, field, message)
    }

    fn add_rule(
        &mut self,
        stack: &mut Stack,
        direction: Direction,
        peer: Peer<'_>,
        port: Port,
        description: &str,
        public: bool,
    ) -> Result<(), ConstructError> {
        let n = self
            .rules
            .iter()
            .filter(|r| r.direction == direction)
            .count();
        let field = |what: &str| format!("{}[{n}].{what}", direction.name());
        if stack.resource(&self.handle).is_none() {
            return Err(self.error(
                field("stack"),
                format!(
                    "the group belongs to stack `{}`, not `{}`; add rules in its own stack",
                    self.handle.stack_name(),
                    stack.name()
                ),
            ));
        }
        let (protocol, ports) = port.spec().map_err(|m| self.error(field("port"), m))?;
        check_description(description, RULE_DESCRIPTION_CHARS)
            .map_err(|m| self.error(field("description"), m))?;
        let peer = match peer {
            Peer::Ipv4(net) if net.addr() != net.network() => {
                return Err(self.error(
                    field("peer"),
                    format!(
                        "{net} has host bits set; write the network address {}",
                        net.trunc()
                    ),
                ));
            }
            Peer::Ipv4(net) => PeerKey::Cidr(net),
            Peer::AnyIpv4 => PeerKey::Cidr(ANY_IPV4),
            Peer::SelfGroup => PeerKey::Group {
                logical_id: self.id.clone(),
                id: self.group_id(),
            },
            Peer::Group(other) => PeerKey::Group {
                logical_id: other.handle.logical_id().to_owned(),
                id: other.group_id(),
            },
        };
        let single_public_port = ports == Some((PUBLIC_PORT, PUBLIC_PORT));
        if direction == Direction::Ingress
            && !public
            && peer == PeerKey::Cidr(ANY_IPV4)
            && !single_public_port
        {
            return Err(self.error(
                field("peer"),
                format!(
                    "0.0.0.0/0 on {port} opens it to the internet; add_ingress opens only port \
                     {PUBLIC_PORT} to everyone: call add_public_ingress to do it on purpose"
                ),
            ));
        }
        let key = RuleKey {
            direction,
            protocol,
            ports,
            peer,
        };
        if let Some(j) = self
            .rules
            .iter()
            .filter(|r| r.direction == direction)
            .position(|r| *r == key)
        {
            return Err(self.error(
                field("peer"),
                format!(
                    "{port} with {} repeats {}[{j}]; AWS refuses duplicate rules",
                    key.peer,
                    direction.name()
                ),
            ));
        }

        let description = (!description.is_empty()).then(|| Value::from(description));
        let from_port = ports.map(|(from, _)| Value::from(i64::from(from)));
        let to_port = ports.map(|(_, to)| Value::from(i64::from(to)));
        match (&key.peer, direction) {
            (PeerKey::Cidr(net), Direction::Ingress) => {
                let rule = Ingress {
                    cidr_ip: Some(net.to_string().into()),
                    description,
                    from_port,
                    to_port,
                    ..Ingress::new(protocol)
                };
                if let Some(l1) = stack.resource_mut(&self.handle) {
                    l1.security_group_ingress
                        .get_or_insert_with(Vec::new)
                        .push(rule);
                }
            }
            (PeerKey::Cidr(net), Direction::Egress) => {
                let rule = Egress {
                    cidr_ip: Some(net.to_string().into()),
                    description,
                    from_port,
                    to_port,
                    ..Egress::new(protocol)
                };
                if let Some(l1) = stack.resource_mut(&self.handle) {
                    let list = l1.security_group_egress.get_or_insert_with(Vec::new);
                    let placeholder = no_traffic_rule();
                    list.retain(|r| *r != placeholder);
                    list.push(rule);
                }
            }
            (PeerKey::Group { id, .. }, Direction::Ingress) => {
                self.ingress_resources += 1;
                stack.add(
                    &format!("{}Ingress{}", self.id, self.ingress_resources),
                    CfnSecurityGroupIngress {
                        group_id: Some(self.group_id()),
                        source_security_group_id: Some(id.clone()),
                        description,
                        from_port,
                        to_port,
                        ..CfnSecurityGroupIngress::new(protocol)
                    },
                );
            }
            (PeerKey::Group { id, .. }, Direction::Egress) => {
                // The placeholder stays: only an inline rule removes the implicit allow-all.
                self.egress_resources += 1;
                stack.add(
                    &format!("{}Egress{}", self.id, self.egress_resources),
                    CfnSecurityGroupEgress {
                        destination_security_group_id: Some(id.clone()),
                        description,
                        from_port,
                        to_port,
                        ..CfnSecurityGroupEgress::new(self.group_id(), protocol)
                    },
                );
            }
        }
        self.rules.push(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vpc::VpcProps;
    use serde_json::{json, Value as Json};

    fn setup(props: SecurityGroupProps) -> (Stack, SecurityGroup) {
        let mut stack = Stack::new("demo");
        let vpc = Vpc::new(&mut stack, "Net", VpcProps::default()).unwrap();
        let sg = SecurityGroup::new(&mut stack, "Sg", &vpc, props).unwrap();
        (stack, sg)
    }

    fn template(stack: &Stack) -> Json {
        stack.synth().unwrap().as_json().clone()
    }

    fn no_traffic() -> Json {
        json!({
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86
        })
    }

    fn new_error(props: SecurityGroupProps) -> String {
        let mut stack = Stack::new("demo");
        let vpc = Vpc::new(&mut stack, "Net", VpcProps::default()).unwrap();
        SecurityGroup::new(&mut stack, "Sg", &vpc, props)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn default_props() {
        let p = SecurityGroupProps::default();
        assert_eq!(p.description, "Managed by cdkrs");
        assert!(!p.allow_all_outbound);
        assert!(p.tags.is_empty());
    }

    #[test]
    fn default_group_allows_no_traffic() {
        let (stack, sg) = setup(SecurityGroupProps::default());
        let t = template(&stack);
        let r = &t["Resources"]["Sg"];
        assert_eq!(r["Type"], json!("AWS::EC2::SecurityGroup"));
        assert_eq!(
            r["Properties"],
            json!({
                "GroupDescription": "Managed by cdkrs",
                "SecurityGroupEgress": [no_traffic()],
                "VpcId": {"Ref": "Net"}
            })
        );
        assert_eq!(
            serde_json::to_value(sg.group_id()).unwrap(),
            json!({"Fn::GetAtt": ["Sg", "GroupId"]})
        );
        assert_eq!(sg.handle().logical_id(), "Sg");
    }

    #[test]
    fn allow_all_outbound_is_an_explicit_rule() {
        let (stack, _) = setup(SecurityGroupProps {
            allow_all_outbound: true,
            tags: vec![Tag::new("Team", "data")],
            ..Default::default()
        });
        let t = template(&stack);
        let p = &t["Resources"]["Sg"]["Properties"];
        assert_eq!(
            p["SecurityGroupEgress"],
            json!([{
                "CidrIp": "0.0.0.0/0",
                "Description": "Allow all outbound traffic",
                "IpProtocol": "-1"
            }])
        );
        assert_eq!(p["Tags"], json!([{"Key": "Team", "Value": "data"}]));
    }

    #[test]
    fn inline_egress_replaces_the_placeholder() {
        let (mut stack, mut sg) = setup(SecurityGroupProps::default());
        sg.add_egress(&mut stack, Peer::AnyIpv4, Port::Tcp(443), "HTTPS out")
            .unwrap();
        sg.add_egress(
            &mut stack,
            Peer::Ipv4("10.0.0.0/8".parse().unwrap()),
            Port::UdpRange(53, 54),
            "",
        )
        .unwrap();
        let t = template(&stack);
        assert_eq!(
            t["Resources"]["Sg"]["Properties"]["SecurityGroupEgress"],
            json!([
                {"CidrIp": "0.0.0.0/0", "Description": "HTTPS out", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443},
                {"CidrIp": "10.0.0.0/8", "FromPort": 53, "IpProtocol": "udp", "ToPort": 54}
            ])
        );
    }

    #[test]
    fn group_egress_keeps_the_placeholder() {
        let (mut stack, mut sg) = setup(SecurityGroupProps::default());
        sg.add_egress(&mut stack, Peer::SelfGroup, Port::AllTcp, "to peers")
            .unwrap();
        let t = template(&stack);
        assert_eq!(
            t["Resources"]["Sg"]["Properties"]["SecurityGroupEgress"],
            json!([no_traffic()])
        );
        assert_eq!(
            t["Resources"]["SgEgress1"],
            json!({
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "Description": "to peers",
                    "DestinationSecurityGroupId": {"Fn::GetAtt": ["Sg", "GroupId"]},
                    "FromPort": 0,
                    "GroupId": {"Fn::GetAtt": ["Sg", "GroupId"]},
                    "IpProtocol": "tcp",
                    "ToPort": 65535
                }
            })
        );
    }

    #[test]
    fn self_and_group_ingress_are_separate_resources() {
        let mut stack = Stack::new("demo");
        let vpc = Vpc::new(&mut stack, "Net", VpcProps::default()).unwrap();
        let mut sg = SecurityGroup::new(&mut stack, "Sg", &vpc, Default::default()).unwrap();
        let other = SecurityGroup::new(&mut stack, "Other", &vpc, Default::default()).unwrap();
        sg.add_ingress(&mut stack, Peer::SelfGroup, Port::AllTraffic, "peers")
            .unwrap();
        sg.add_ingress(
            &mut stack,
            Peer::Group(&other),
            Port::Tcp(5432),
            "from other",
        )
        .unwrap();
        let t = template(&stack);
        assert!(t["Resources"]["Sg"]["Properties"]
            .get("SecurityGroupIngress")
            .is_none());
        assert_eq!(
            t["Resources"]["SgIngress1"],
            json!({
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {
                    "Description": "peers",
                    "GroupId": {"Fn::GetAtt": ["Sg", "GroupId"]},
                    "IpProtocol": "-1",
                    "SourceSecurityGroupId": {"Fn::GetAtt": ["Sg", "GroupId"]}
                }
            })
        );
        assert_eq!(
            t["Resources"]["SgIngress2"]["Properties"],
            json!({
                "Description": "from other",
                "FromPort": 5432,
                "GroupId": {"Fn::GetAtt": ["Sg", "GroupId"]},
                "IpProtocol": "tcp",
                "SourceSecurityGroupId": {"Fn::GetAtt": ["Other", "GroupId"]},
                "ToPort": 5432
            })
        );
    }

    #[test]
    fn cidr_ingress_is_inline() {
        let (mut stack, mut sg) = setup(SecurityGroupProps::default());
        sg.add_ingress(
            &mut stack,
            Peer::Ipv4("10.0.0.0/16".parse().unwrap()),
            Port::TcpRange(8000, 8080),
            "from the VPC",
        )
        .unwrap();
        sg.add_ingress(&mut stack, Peer::AnyIpv4, Port::Tcp(443), "HTTPS")
            .unwrap();
        sg.add_public_ingress(&mut stack, Port::Udp(51820), "WireGuard on purpose")
            .unwrap();
        let t = template(&stack);
        assert_eq!(
            t["Resources"]["Sg"]["Properties"]["SecurityGroupIngress"],
            json!([
                {"CidrIp": "10.0.0.0/16", "Description": "from the VPC", "FromPort": 8000, "IpProtocol": "tcp", "ToPort": 8080},
                {"CidrIp": "0.0.0.0/0", "Description": "HTTPS", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443},
                {"CidrIp": "0.0.0.0/0", "Description": "WireGuard on purpose", "FromPort": 51820, "IpProtocol": "udp", "ToPort": 51820}
            ])
        );
    }

    #[test]
    fn public_ingress_other_than_443_is_refused() {
        let (mut stack, mut sg) = setup(SecurityGroupProps::default());
        let err = sg
            .add_ingress(&mut stack, Peer::AnyIpv4, Port::Tcp(22), "ssh")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecurityGroup `Sg`: ingress[0].peer: 0.0.0.0/0 on tcp 22 opens it to the internet; \
             add_ingress opens only port 443 to everyone: call add_public_ingress to do it on \
             purpose"
        );
        let err = sg
            .add_ingress(
                &mut stack,
                Peer::Ipv4("0.0.0.0/0".parse().unwrap()),
                Port::AllTraffic,
                "",
            )
            .unwrap_err();
        assert_eq!(err.field, "ingress[0].peer");
        assert!(err.message.starts_with("0.0.0.0/0 on all traffic opens it"));
        let t = template(&stack);
        assert!(t["Resources"]["Sg"]["Properties"]
            .get("SecurityGroupIngress")
            .is_none());
    }

    #[test]
    fn port_ranges_must_not_run_backwards() {
        let (mut stack, mut sg) = setup(SecurityGroupProps::default());
        let err = sg
            .add_egress(&mut stack, Peer::AnyIpv4, Port::TcpRange(8080, 80), "x")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecurityGroup `Sg`: egress[0].port: tcp range 8080-80 runs backwards; `from` must \
             be at most `to`"
        );
        let err = sg
            .add_ingress(&mut stack, Peer::SelfGroup, Port::UdpRange(2, 1), "x")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecurityGroup `Sg`: ingress[0].port: udp range 2-1 runs backwards; `from` must be \
             at most `to`"
        );
    }

    #[test]
    fn rule_descriptions_are_checked() {
        let (mut stack, mut sg) = setup(SecurityGroupProps::default());
        let long = "a".repeat(256);
        let err = sg
            .add_egress(&mut stack, Peer::AnyIpv4, Port::Tcp(443), &long)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecurityGroup `Sg`: egress[0].description: 256 characters; AWS accepts at most 255"
        );
        let err = sg
            .add_egress(&mut stack, Peer::AnyIpv4, Port::Tcp(443), "café")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecurityGroup `Sg`: egress[0].description: 'é' is not allowed; AWS accepts \
             letters, digits, spaces and ._-:/()#,@[]+=;{}!$*"
        );
        sg.add_egress(&mut stack, Peer::AnyIpv4, Port::Tcp(443), &"a".repeat(255))
            .unwrap();
    }

    #[test]
    fn duplicate_rules_and_host_bits_are_refused() {
        let (mut stack, mut sg) = setup(SecurityGroupProps::default());
        sg.add_ingress(&mut stack, Peer::SelfGroup, Port::Tcp(22), "a")
            .unwrap();
        let err = sg
            .add_ingress(&mut stack, Peer::SelfGroup, Port::Tcp(22), "b")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecurityGroup `Sg`: ingress[1].peer: tcp 22 with security group `Sg` repeats \
             ingress[0]; AWS refuses duplicate rules"
        );
        let err = sg
            .add_egress(
                &mut stack,
                Peer::Ipv4("10.1.2.3/16".parse().unwrap()),
                Port::Tcp(22),
                "",
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecurityGroup `Sg`: egress[0].peer: 10.1.2.3/16 has host bits set; write the \
             network address 10.1.0.0/16"
        );
        let (mut stack, mut sg) = setup(SecurityGroupProps {
            allow_all_outbound: true,
            ..Default::default()
        });
        let err = sg
            .add_egress(&mut stack, Peer::AnyIpv4, Port::AllTraffic, "again")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecurityGroup `Sg`: egress[1].peer: all traffic with 0.0.0.0/0 repeats egress[0]; \
             AWS refuses duplicate rules"
        );
    }

    #[test]
    fn group_description_is_checked() {
        assert_eq!(
            new_error(SecurityGroupProps {
                description: String::new(),
                ..Default::default()
            }),
            "SecurityGroup `Sg`: description: the description is empty; AWS requires one"
        );
        assert_eq!(
            new_error(SecurityGroupProps {
                description: "x".repeat(300),
                ..Default::default()
            }),
            "SecurityGroup `Sg`: description: 300 characters; AWS accepts at most 255"
        );
        assert_eq!(
            new_error(SecurityGroupProps {
                description: "tabs\tare not ok".into(),
                ..Default::default()
            }),
            "SecurityGroup `Sg`: description: '\\t' is not allowed; AWS accepts letters, \
             digits, spaces and ._-:/()#,@[]+=&;{}!$*"
        );
    }

    #[test]
    fn rules_go_to_the_stack_of_the_group() {
        let (_, mut sg) = setup(SecurityGroupProps::default());
        let mut other = Stack::new("other");
        let err = sg
            .add_ingress(&mut other, Peer::SelfGroup, Port::Tcp(1), "x")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecurityGroup `Sg`: ingress[0].stack: the group belongs to stack `demo`, not \
             `other`; add rules in its own stack"
        );
        assert_eq!(other.resource_count(), 0);
    }
}

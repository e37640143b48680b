//! `Vpc`: a VPC with one private subnet per availability zone, one public subnet that holds the
//! NAT gateway, an internet gateway, and the routing between them.
//!
//! The layout is computed with [`ipnet`] when it is not given: the VPC range is split into the
//! fewest equal blocks that leave room after the private subnets ([`private_subnet_bits`]:
//! quarters for up to 3 zones, eighths for 4 to 7), the private subnets take the first ones, and
//! the public subnet is the next small block (prefix + 8, at most /28) after them. Every subnet is checked to lie inside the VPC range and
//! not to overlap another before anything is added to the stack.
//!
//! ```
//! use cdkrs_constructs::vpc::{Vpc, VpcProps};
//! use cdkrs_constructs::Stack;
//!
//! let mut stack = Stack::new("demo");
//! let vpc = Vpc::new(&mut stack, "Network", VpcProps::default()).unwrap();
//! assert_eq!(vpc.private_subnet_cidrs()[0].to_string(), "10.0.0.0/18");
//! assert_eq!(vpc.public_subnet_cidr().to_string(), "10.0.192.0/24");
//! stack.synth().unwrap();
//! ```

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::ec2::{
    CfnEip, CfnInternetGateway, CfnNatGateway, CfnRoute, CfnRouteTable, CfnSubnet,
    CfnSubnetRouteTableAssociation, CfnVpc, CfnVpcGatewayAttachment,
};
use crate::error::ConstructError;
use crate::{get_azs, select, sub, ConditionHandle, Handle, ResourceOptions, Stack, Tag, Value};

const CONSTRUCT: &str = "Vpc";

/// The VPC range used when none is given.
pub const DEFAULT_CIDR: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 16);

/// The number of availability zones used when none is given.
pub const DEFAULT_AZ_COUNT: u8 = 3;

/// The largest block (smallest prefix) AWS accepts for a VPC or a subnet.
pub const MIN_PREFIX: u8 = 16;

/// The smallest block (largest prefix) AWS accepts for a VPC or a subnet.
pub const MAX_PREFIX: u8 = 28;

/// The fewest availability zones a `Vpc` spreads its private subnets over.
pub const MIN_AZS: usize = 2;

/// The destination of a default route.
const ANYWHERE: &str = "0.0.0.0/0";

/// Which availability zones the private subnets go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Azs {
    /// The first `n` zones of the stack's region (`Fn::Select` over `Fn::GetAZs ""`).
    Count(u8),
    /// These zones by name (`eu-west-1a`), in this order.
    Names(Vec<String>),
}

impl Default for Azs {
    fn default() -> Self {
        Azs::Count(DEFAULT_AZ_COUNT)
    }
}

impl Azs {
    /// How many zones this is.
    pub fn count(&self) -> usize {
        match self {
            Azs::Count(n) => usize::from(*n),
            Azs::Names(names) => names.len(),
        }
    }
}

/// Whether the private subnets reach the internet through a NAT gateway.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Nat {
    /// One NAT gateway (and its Elastic IP) in the public subnet, always.
    #[default]
    Always,
    /// The NAT gateway, its Elastic IP and the private default route exist only when the
    /// condition holds (to stop paying for the NAT gateway while an environment sleeps).
    When(ConditionHandle),
    /// No NAT gateway: the private subnets have no route to the internet.
    Disabled,
}

/// The props of a [`Vpc`]. `VpcProps::default()` is the recommended layout.
#[derive(Clone, Debug, PartialEq)]
pub struct VpcProps {
    /// The VPC range, `/16` to `/28`. Default: `10.0.0.0/16`.
    pub cidr: Ipv4Net,
    /// The availability zones of the private subnets; at least 2. Default: `Azs::Count(3)`.
    pub azs: Azs,
    /// One private subnet range per zone, in zone order. Default: computed from the VPC
    /// range's start, each VPC prefix + [`private_subnet_bits`] (a quarter of the range for up
    /// to 3 zones: `10.0.0.0/18`, `10.0.64.0/18`, …; an eighth for 4 to 7 zones).
    pub private_subnets: Option<Vec<Ipv4Net>>,
    /// The public subnet range (in the first zone). Default: computed, the first block of
    /// VPC prefix + 8 (at most `/28`) after the private subnets (`10.0.192.0/24` for a `/16`).
    pub public_subnet: Option<Ipv4Net>,
    /// The NAT gateway. Default: `Nat::Always`.
    pub nat: Nat,
    /// Tags for every taggable resource, besides the `Name` tag the Vpc sets on each.
    /// Default: none.
    pub tags: Vec<Tag>,
}

impl Default for VpcProps {
    fn default() -> Self {
        VpcProps {
            cidr: DEFAULT_CIDR,
            azs: Azs::default(),
            private_subnets: None,
            public_subnet: None,
            nat: Nat::default(),
            tags: Vec::new(),
        }
    }
}

/// A VPC with private subnets in every zone, one public subnet, an internet gateway, an
/// optional NAT gateway and route tables.
#[derive(Clone, Debug)]
pub struct Vpc {
    vpc: Handle<CfnVpc>,
    cidr: Ipv4Net,
    private_subnets: Vec<Handle<CfnSubnet>>,
    private_cidrs: Vec<Ipv4Net>,
    public_subnet: Handle<CfnSubnet>,
    public_cidr: Ipv4Net,
    public_route_table: Handle<CfnRouteTable>,
    private_route_table: Handle<CfnRouteTable>,
    nat_gateway: Option<Handle<CfnNatGateway>>,
    private_default_route: Option<Handle<CfnRoute>>,
}

/// The checked address plan of a VPC.
#[derive(Debug)]
struct Layout {
    zones: Vec<Value<String>>,
    private: Vec<Ipv4Net>,
    public: Ipv4Net,
}

fn error(id: &str, field: impl Into<String>, message: impl Into<String>) -> ConstructError {
    ConstructError::new(CONSTRUCT, id, field, message)
}

/// Two CIDR blocks overlap exactly when one contains the other.
fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(b) || b.contains(a)
}

/// A VPC or subnet range: `/16` to `/28`, written as its network address.
fn check_block(id: &str, field: &str, net: &Ipv4Net) -> Result<(), ConstructError> {
    let prefix = net.prefix_len();
    if !(MIN_PREFIX..=MAX_PREFIX).contains(&prefix) {
        return Err(error(
            id,
            field,
            format!("{net} is a /{prefix}; AWS accepts /{MIN_PREFIX} to /{MAX_PREFIX}"),
        ));
    }
    if net.addr() != net.network() {
        return Err(error(
            id,
            field,
            format!(
                "{net} has host bits set; write the network address {}",
                net.trunc()
            ),
        ));
    }
    Ok(())
}

/// A subnet range: a valid block inside the VPC range.
fn check_subnet(id: &str, field: &str, vpc: &Ipv4Net, net: &Ipv4Net) -> Result<(), ConstructError> {
    check_block(id, field, net)?;
    if !vpc.contains(net) {
        return Err(error(
            id,
            field,
            format!("{net} is outside the VPC range {vpc}; every subnet must lie inside it"),
        ));
    }
    Ok(())
}

fn zones(id: &str, azs: &Azs) -> Result<Vec<Value<String>>, ConstructError> {
    if azs.count() < MIN_AZS {
        return Err(error(
            id,
            "azs",
            format!(
                "{} availability zone(s); use at least {MIN_AZS} so the private subnets survive \
                 the loss of a zone",
                azs.count()
            ),
        ));
    }
    match azs {
        Azs::Count(n) => Ok((0..u32::from(*n)).map(|i| select(i, get_azs())).collect()),
        Azs::Names(names) => {
            for (i, name) in names.iter().enumerate() {
                if name.trim().is_empty() {
                    return Err(error(
                        id,
                        format!("azs[{i}]"),
                        "the zone name is empty; name a zone such as `eu-west-1a`",
                    ));
                }
                if let Some(j) = names[..i].iter().position(|n| n == name) {
                    return Err(error(
                        id,
                        format!("azs[{i}]"),
                        format!("`{name}` repeats azs[{j}]; each zone may appear once"),
                    ));
                }
            }
            Ok(names.iter().map(|n| Value::from(n.as_str())).collect())
        }
    }
}

fn private_subnets(
    id: &str,
    vpc: &Ipv4Net,
    zone_count: usize,
    given: Option<&[Ipv4Net]>,
) -> Result<Vec<Ipv4Net>, ConstructError> {
    if let Some(list) = given {
        if list.len() != zone_count {
            return Err(error(
                id,
                "private_subnets",
                format!(
                    "{} subnet(s) for {zone_count} availability zones; give exactly one per zone",
                    list.len()
                ),
            ));
        }
        for (i, net) in list.iter().enumerate() {
            let field = format!("private_subnets[{i}]");
            check_subnet(id, &field, vpc, net)?;
            if let Some(j) = list[..i].iter().position(|other| overlaps(other, net)) {
                return Err(error(
                    id,
                    field,
                    format!(
                        "{net} overlaps private_subnets[{j}] ({}); subnets must not overlap",
                        list[j]
                    ),
                ));
            }
        }
        return Ok(list.to_vec());
    }
    let bits = private_subnet_bits(zone_count);
    let prefix = vpc.prefix_len() + bits;
    if prefix > MAX_PREFIX {
        return Err(error(
            id,
            "private_subnets",
            format!(
                "the default layout splits {vpc} into /{prefix} subnets, smaller than \
                 /{MAX_PREFIX}; use a VPC of /{} or larger, or give private_subnets",
                MAX_PREFIX - bits
            ),
        ));
    }
    let blocks: Vec<Ipv4Net> = vpc
        .subnets(prefix)
        .map_err(|_| {
            error(
                id,
                "private_subnets",
                format!("{vpc} cannot be split into /{prefix}"),
            )
        })?
        .take(zone_count)
        .collect();
    if blocks.len() < zone_count {
        return Err(error(
            id,
            "private_subnets",
            format!(
                "the default layout fits {} subnets of /{prefix} in {vpc}, not {zone_count}; \
                 give private_subnets",
                blocks.len()
            ),
        ));
    }
    Ok(blocks)
}

/// How many bits the default layout adds to the VPC prefix for the private subnets of
/// `zone_count` zones: the VPC is split into the fewest equal blocks (at least 4) that hold one
/// per zone and leave at least one free for the public subnet. 2 (quarters) for up to 3 zones,
/// 3 (eighths) for 4 to 7.
pub fn private_subnet_bits(zone_count: usize) -> u8 {
    let mut bits = 2u8;
    while bits < 32 && (1usize << bits) <= zone_count {
        bits += 1;
    }
    bits
}

fn public_subnet(
    id: &str,
    vpc: &Ipv4Net,
    private: &[Ipv4Net],
    given: Option<&Ipv4Net>,
) -> Result<Ipv4Net, ConstructError> {
    if let Some(net) = given {
        check_subnet(id, "public_subnet", vpc, net)?;
        if let Some(j) = private.iter().position(|p| overlaps(p, net)) {
            return Err(error(
                id,
                "public_subnet",
                format!(
                    "{net} overlaps private_subnets[{j}] ({}); subnets must not overlap",
                    private[j]
                ),
            ));
        }
        return Ok(*net);
    }
    let prefix = (vpc.prefix_len() + 8).min(MAX_PREFIX);
    // The first address after every private subnet (u64: the last block may end the space).
    let next = private
        .iter()
        .map(|p| u64::from(u32::from(p.broadcast())) + 1)
        .max()
        .unwrap_or_else(|| u64::from(u32::from(vpc.network())));
    let size = 1u64 << (32 - u32::from(prefix));
    let start = next.div_ceil(size) * size;
    let candidate = u32::try_from(start)
        .ok()
        .and_then(|s| Ipv4Net::new(Ipv4Addr::from(s), prefix).ok())
        .filter(|c| vpc.contains(c) && !private.iter().any(|p| overlaps(p, c)));
    candidate.ok_or_else(|| {
        error(
            id,
            "public_subnet",
            format!(
                "the default layout needs a free /{prefix} in {vpc} after the private subnets, \
                 which end at {}; give public_subnet or smaller private_subnets",
                Ipv4Addr::from(u32::try_from(next.saturating_sub(1)).unwrap_or(u32::MAX))
            ),
        )
    })
}

fn check_tags(id: &str, tags: &[Tag]) -> Result<(), ConstructError> {
    let name = Value::from("Name");
    for (i, tag) in tags.iter().enumerate() {
        if tag.key == name {
            return Err(error(
                id,
                format!("tags[{i}]"),
                "the Vpc sets the `Name` tag of each resource itself \
                 (`<stack>-<id>-…`); remove it",
            ));
        }
        if let Some(j) = tags[..i].iter().position(|t| t.key == tag.key) {
            return Err(error(
                id,
                format!("tags[{i}]"),
                format!(
                    "key {:?} repeats tags[{j}]; CloudFormation refuses duplicate tag keys",
                    tag.key
                ),
            ));
        }
    }
    Ok(())
}

impl VpcProps {
    /// The address plan these props give (private subnets, public subnet), checked as
    /// [`Vpc::new`] checks it, without adding anything to a stack. Config validation uses it to
    /// report layout problems before synth.
    pub fn subnet_plan(&self) -> Result<(Vec<Ipv4Net>, Ipv4Net), ConstructError> {
        let plan = layout(CONSTRUCT, self)?;
        Ok((plan.private, plan.public))
    }
}

fn layout(id: &str, props: &VpcProps) -> Result<Layout, ConstructError> {
    check_block(id, "cidr", &props.cidr)?;
    let zones = zones(id, &props.azs)?;
    check_tags(id, &props.tags)?;
    let private = private_subnets(
        id,
        &props.cidr,
        zones.len(),
        props.private_subnets.as_deref(),
    )?;
    let public = public_subnet(id, &props.cidr, &private, props.public_subnet.as_ref())?;
    Ok(Layout {
        zones,
        private,
        public,
    })
}

impl Vpc {
    /// Checks the props, then adds the VPC and its subnets, gateways and routes to the stack.
    ///
    /// Logical IDs derive from `id`: `{id}`, `{id}PrivateSubnet1..N`, `{id}PublicSubnet1`,
    /// `{id}InternetGateway`, `{id}GatewayAttachment`, `{id}PublicRouteTable`,
    /// `{id}PublicDefaultRoute`, `{id}PublicSubnet1RouteTableAssociation`, `{id}NatEip`,
    /// `{id}NatGateway`, `{id}PrivateRouteTable`, `{id}PrivateDefaultRoute` and
    /// `{id}PrivateSubnet{n}RouteTableAssociation`.
    pub fn new(stack: &mut Stack, id: &str, props: VpcProps) -> Result<Vpc, ConstructError> {
        let plan = layout(id, &props)?;
        let tags = |suffix: &str| -> Option<Vec<Tag>> {
            let name = sub(format!("${{AWS::StackName}}-{id}{suffix}")).build();
            let mut all = vec![Tag::new("Name", name)];
            all.extend(props.tags.iter().cloned());
            Some(all)
        };

        let vpc = stack.add(
            id,
            CfnVpc {
                cidr_block: Some(props.cidr.to_string().into()),
                enable_dns_hostnames: Some(true.into()),
                enable_dns_support: Some(true.into()),
                tags: tags(""),
                ..Default::default()
            },
        );

        let private_subnets: Vec<Handle<CfnSubnet>> = plan
            .private
            .iter()
            .zip(&plan.zones)
            .enumerate()
            .map(|(i, (net, zone))| {
                let n = i + 1;
                stack.add(
                    &format!("{id}PrivateSubnet{n}"),
                    CfnSubnet {
                        availability_zone: Some(zone.clone()),
                        cidr_block: Some(net.to_string().into()),
                        map_public_ip_on_launch: Some(false.into()),
                        tags: tags(&format!("-private-{n}")),
                        ..CfnSubnet::new(vpc.reference())
                    },
                )
            })
            .collect();

        let first_zone = plan
            .zones
            .first()
            .cloned()
            .unwrap_or_else(|| select(0, get_azs()));
        let public_subnet = stack.add(
            &format!("{id}PublicSubnet1"),
            CfnSubnet {
                availability_zone: Some(first_zone),
                cidr_block: Some(plan.public.to_string().into()),
                map_public_ip_on_launch: Some(false.into()),
                tags: tags("-public-1"),
                ..CfnSubnet::new(vpc.reference())
            },
        );

        if matches!(props.azs, Azs::Names(_)) {
            // Zones named by the caller are a decision, not an accident of copy-paste.
            for subnet in private_subnets.iter().chain([&public_subnet]) {
                crate::metadata::ignore_cfn_lint(
                    stack,
                    subnet,
                    &[(
                        "W3010",
                        "the availability zones are named explicitly by the caller",
                    )],
                );
            }
        }

        let igw = stack.add(
            &format!("{id}InternetGateway"),
            CfnInternetGateway { tags: tags("-igw") },
        );
        let attachment = stack.add(
            &format!("{id}GatewayAttachment"),
            CfnVpcGatewayAttachment {
                internet_gateway_id: Some(igw.reference()),
                ..CfnVpcGatewayAttachment::new(vpc.reference())
            },
        );

        let public_route_table = stack.add(
            &format!("{id}PublicRouteTable"),
            CfnRouteTable {
                tags: tags("-public"),
                ..CfnRouteTable::new(vpc.reference())
            },
        );
        let public_route = stack.add_with(
            &format!("{id}PublicDefaultRoute"),
            CfnRoute {
                destination_cidr_block: Some(ANYWHERE.into()),
                gateway_id: Some(igw.reference()),
                ..CfnRoute::new(public_route_table.reference())
            },
            ResourceOptions {
                depends_on: vec![attachment.erase()],
                ..Default::default()
            },
        );
        let public_association = stack.add(
            &format!("{id}PublicSubnet1RouteTableAssociation"),
            CfnSubnetRouteTableAssociation::new(
                public_route_table.reference(),
                public_subnet.reference(),
            ),
        );

        let private_route_table = stack.add(
            &format!("{id}PrivateRouteTable"),
            CfnRouteTable {
                tags: tags("-private"),
                ..CfnRouteTable::new(vpc.reference())
            },
        );

        let nat_condition = match &props.nat {
            Nat::Always => Some(None),
            Nat::When(condition) => Some(Some(condition.clone())),
            Nat::Disabled => None,
        };
        let nat_gateway = nat_condition.map(|condition| {
            let eip = stack.add_with(
                &format!("{id}NatEip"),
                CfnEip {
                    domain: Some("vpc".into()),
                    tags: tags("-nat"),
                    ..Default::default()
                },
                ResourceOptions {
                    condition: condition.clone(),
                    ..Default::default()
                },
            );
            // The NAT gateway only works once the public subnet routes to the internet.
            let nat = stack.add_with(
                &format!("{id}NatGateway"),
                CfnNatGateway {
                    allocation_id: Some(eip.attr_allocation_id()),
                    subnet_id: Some(public_subnet.reference()),
                    tags: tags("-nat"),
                    ..Default::default()
                },
                ResourceOptions {
                    condition: condition.clone(),
                    depends_on: vec![public_route.erase(), public_association.erase()],
                    ..Default::default()
                },
            );
            let route = stack.add_with(
                &format!("{id}PrivateDefaultRoute"),
                CfnRoute {
                    destination_cidr_block: Some(ANYWHERE.into()),
                    nat_gateway_id: Some(nat.reference()),
                    ..CfnRoute::new(private_route_table.reference())
                },
                ResourceOptions {
                    condition,
                    ..Default::default()
                },
            );
            (nat, route)
        });
        let (nat_gateway, private_default_route) = nat_gateway.unzip();

        for (i, subnet) in private_subnets.iter().enumerate() {
            stack.add(
                &format!("{id}PrivateSubnet{}RouteTableAssociation", i + 1),
                CfnSubnetRouteTableAssociation::new(
                    private_route_table.reference(),
                    subnet.reference(),
                ),
            );
        }

        Ok(Vpc {
            vpc,
            cidr: props.cidr,
            private_subnets,
            private_cidrs: plan.private,
            public_subnet,
            public_cidr: plan.public,
            public_route_table,
            private_route_table,
            nat_gateway,
            private_default_route,
        })
    }

    /// The VPC id (`Ref`).
    pub fn id(&self) -> Value<String> {
        self.vpc.reference()
    }

    /// The VPC range as a template value (`Fn::GetAtt CidrBlock`).
    pub fn cidr_block(&self) -> Value<String> {
        self.vpc.attr_cidr_block()
    }

    /// The VPC range, known at synth (for security group rules).
    pub fn cidr(&self) -> Ipv4Net {
        self.cidr
    }

    /// The ids of the private subnets, in zone order.
    pub fn private_subnet_ids(&self) -> Vec<Value<String>> {
        self.private_subnets.iter().map(Handle::reference).collect()
    }

    /// The ids of the public subnets (one).
    pub fn public_subnet_ids(&self) -> Vec<Value<String>> {
        vec![self.public_subnet.reference()]
    }

    /// The ids of every route table: the public one, then the private one.
    pub fn route_table_ids(&self) -> Vec<Value<String>> {
        vec![
            self.public_route_table.reference(),
            self.private_route_table.reference(),
        ]
    }

    /// The ids of the route tables of the private subnets.
    pub fn private_route_table_ids(&self) -> Vec<Value<String>> {
        vec![self.private_route_table.reference()]
    }

    /// The handle of the `AWS::EC2::VPC` resource.
    pub fn handle(&self) -> &Handle<CfnVpc> {
        &self.vpc
    }

    /// The handles of the private subnets, in zone order.
    pub fn private_subnets(&self) -> &[Handle<CfnSubnet>] {
        &self.private_subnets
    }

    /// The handle of the public subnet.
    pub fn public_subnet(&self) -> &Handle<CfnSubnet> {
        &self.public_subnet
    }

    /// The handle of the NAT gateway, unless it is disabled.
    pub fn nat_gateway(&self) -> Option<&Handle<CfnNatGateway>> {
        self.nat_gateway.as_ref()
    }

    /// The private subnets' default route through the NAT gateway (`{id}PrivateDefaultRoute`,
    /// under the NAT's condition), unless the NAT is disabled: what a resource that needs
    /// egress from the private subnets waits for.
    pub fn private_default_route(&self) -> Option<&Handle<CfnRoute>> {
        self.private_default_route.as_ref()
    }

    /// The ranges of the private subnets, in zone order.
    pub fn private_subnet_cidrs(&self) -> &[Ipv4Net] {
        &self.private_cidrs
    }

    /// The range of the public subnet.
    pub fn public_subnet_cidr(&self) -> Ipv4Net {
        self.public_cidr
    }

    /// The number of availability zones (one private subnet each).
    pub fn az_count(&self) -> usize {
        self.private_subnets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::equals;
    use crate::Pseudo;
    use serde_json::{json, Value as Json};

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<Ipv4Net> {
        list.iter().map(|s| net(s)).collect()
    }

    fn synth(props: VpcProps) -> (Vpc, Json) {
        let mut stack = Stack::new("demo");
        let vpc = Vpc::new(&mut stack, "Net", props).unwrap();
        let json = stack.synth().unwrap().as_json().clone();
        (vpc, json)
    }

    fn error_of(props: VpcProps) -> String {
        let mut stack = Stack::new("demo");
        let err = Vpc::new(&mut stack, "Net", props).unwrap_err();
        assert_eq!(stack.resource_count(), 0, "nothing is added on error");
        err.to_string()
    }

    fn resource<'a>(t: &'a Json, id: &str) -> &'a Json {
        &t["Resources"][id]
    }

    #[test]
    fn default_props_are_the_documented_layout() {
        let p = VpcProps::default();
        assert_eq!(p.cidr, net("10.0.0.0/16"));
        assert_eq!(p.azs, Azs::Count(3));
        assert_eq!(p.nat, Nat::Always);
        assert!(p.private_subnets.is_none() && p.public_subnet.is_none() && p.tags.is_empty());
    }

    #[test]
    fn default_layout_of_a_16() {
        let (vpc, _) = synth(VpcProps::default());
        assert_eq!(
            vpc.private_subnet_cidrs(),
            nets(&["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"])
        );
        assert_eq!(vpc.public_subnet_cidr(), net("10.0.192.0/24"));
        assert_eq!(vpc.az_count(), 3);
        assert_eq!(vpc.cidr(), net("10.0.0.0/16"));
    }

    #[test]
    fn default_layout_of_a_20() {
        let (vpc, t) = synth(VpcProps {
            cidr: net("172.16.16.0/20"),
            azs: Azs::Count(2),
            ..Default::default()
        });
        assert_eq!(
            vpc.private_subnet_cidrs(),
            nets(&["172.16.16.0/22", "172.16.20.0/22"])
        );
        assert_eq!(vpc.public_subnet_cidr(), net("172.16.24.0/28"));
        assert_eq!(
            resource(&t, "NetPublicSubnet1")["Properties"]["CidrBlock"],
            json!("172.16.24.0/28")
        );
        let (vpc, _) = synth(VpcProps {
            cidr: net("10.0.0.0/20"),
            ..Default::default()
        });
        assert_eq!(
            vpc.private_subnet_cidrs(),
            nets(&["10.0.0.0/22", "10.0.4.0/22", "10.0.8.0/22"])
        );
        assert_eq!(vpc.public_subnet_cidr(), net("10.0.12.0/28"));
    }

    #[test]
    fn public_subnet_follows_explicit_private_subnets() {
        let (vpc, _) = synth(VpcProps {
            private_subnets: Some(nets(&["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"])),
            ..Default::default()
        });
        assert_eq!(vpc.public_subnet_cidr(), net("10.0.3.0/24"));
        let (vpc, _) = synth(VpcProps {
            private_subnets: Some(nets(&["10.0.0.0/24", "10.0.1.0/25", "10.0.2.0/24"])),
            public_subnet: Some(net("10.0.1.128/26")),
            ..Default::default()
        });
        assert_eq!(vpc.public_subnet_cidr(), net("10.0.1.128/26"));
    }

    #[test]
    fn resources_have_readable_ids() {
        let (_, t) = synth(VpcProps::default());
        let mut ids: Vec<&str> = t["Resources"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            vec![
                "Net",
                "NetGatewayAttachment",
                "NetInternetGateway",
                "NetNatEip",
                "NetNatGateway",
                "NetPrivateDefaultRoute",
                "NetPrivateRouteTable",
                "NetPrivateSubnet1",
                "NetPrivateSubnet1RouteTableAssociation",
                "NetPrivateSubnet2",
                "NetPrivateSubnet2RouteTableAssociation",
                "NetPrivateSubnet3",
                "NetPrivateSubnet3RouteTableAssociation",
                "NetPublicDefaultRoute",
                "NetPublicRouteTable",
                "NetPublicSubnet1",
                "NetPublicSubnet1RouteTableAssociation",
            ]
        );
    }

    #[test]
    fn vpc_has_dns_enabled() {
        let (_, t) = synth(VpcProps::default());
        let vpc = resource(&t, "Net");
        assert_eq!(vpc["Type"], json!("AWS::EC2::VPC"));
        assert_eq!(vpc["Properties"]["CidrBlock"], json!("10.0.0.0/16"));
        assert_eq!(vpc["Properties"]["EnableDnsSupport"], json!(true));
        assert_eq!(vpc["Properties"]["EnableDnsHostnames"], json!(true));
    }

    #[test]
    fn subnets_never_map_public_ips_and_use_get_azs() {
        let (_, t) = synth(VpcProps::default());
        for (i, id) in [
            "NetPrivateSubnet1",
            "NetPrivateSubnet2",
            "NetPrivateSubnet3",
        ]
        .iter()
        .enumerate()
        {
            let p = &resource(&t, id)["Properties"];
            assert_eq!(p["MapPublicIpOnLaunch"], json!(false));
            assert_eq!(
                p["AvailabilityZone"],
                json!({"Fn::Select": [i, {"Fn::GetAZs": ""}]})
            );
            assert_eq!(p["VpcId"], json!({"Ref": "Net"}));
        }
        let p = &resource(&t, "NetPublicSubnet1")["Properties"];
        assert_eq!(p["MapPublicIpOnLaunch"], json!(false));
        assert_eq!(
            p["AvailabilityZone"],
            json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})
        );
        assert_eq!(p["CidrBlock"], json!("10.0.192.0/24"));
    }

    #[test]
    fn named_zones_are_literals() {
        let (vpc, t) = synth(VpcProps {
            azs: Azs::Names(vec!["eu-west-1b".into(), "eu-west-1c".into()]),
            ..Default::default()
        });
        assert_eq!(vpc.az_count(), 2);
        assert_eq!(
            resource(&t, "NetPrivateSubnet2")["Properties"]["AvailabilityZone"],
            json!("eu-west-1c")
        );
        assert_eq!(
            resource(&t, "NetPublicSubnet1")["Properties"]["AvailabilityZone"],
            json!("eu-west-1b")
        );
        assert_eq!(
            vpc.private_subnet_cidrs(),
            nets(&["10.0.0.0/18", "10.0.64.0/18"])
        );
        assert_eq!(vpc.public_subnet_cidr(), net("10.0.128.0/24"));
    }

    #[test]
    fn public_route_goes_to_the_internet_gateway_after_the_attachment() {
        let (_, t) = synth(VpcProps::default());
        assert_eq!(
            resource(&t, "NetGatewayAttachment")["Properties"],
            json!({"InternetGatewayId": {"Ref": "NetInternetGateway"}, "VpcId": {"Ref": "Net"}})
        );
        let route = resource(&t, "NetPublicDefaultRoute");
        assert_eq!(route["DependsOn"], json!(["NetGatewayAttachment"]));
        assert_eq!(
            route["Properties"],
            json!({
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": {"Ref": "NetInternetGateway"},
                "RouteTableId": {"Ref": "NetPublicRouteTable"}
            })
        );
        assert_eq!(
            resource(&t, "NetPublicSubnet1RouteTableAssociation")["Properties"],
            json!({"RouteTableId": {"Ref": "NetPublicRouteTable"}, "SubnetId": {"Ref": "NetPublicSubnet1"}})
        );
    }

    #[test]
    fn private_subnets_route_through_one_nat_gateway() {
        let (vpc, t) = synth(VpcProps::default());
        assert!(vpc.nat_gateway().is_some());
        assert_eq!(
            resource(&t, "NetNatEip")["Properties"]["Domain"],
            json!("vpc")
        );
        let nat = resource(&t, "NetNatGateway");
        assert_eq!(
            nat["Properties"]["AllocationId"],
            json!({"Fn::GetAtt": ["NetNatEip", "AllocationId"]})
        );
        assert_eq!(
            nat["Properties"]["SubnetId"],
            json!({"Ref": "NetPublicSubnet1"})
        );
        assert_eq!(
            nat["DependsOn"],
            json!([
                "NetPublicDefaultRoute",
                "NetPublicSubnet1RouteTableAssociation"
            ])
        );
        assert!(nat.get("Condition").is_none());
        assert_eq!(
            resource(&t, "NetPrivateDefaultRoute")["Properties"],
            json!({
                "DestinationCidrBlock": "0.0.0.0/0",
                "NatGatewayId": {"Ref": "NetNatGateway"},
                "RouteTableId": {"Ref": "NetPrivateRouteTable"}
            })
        );
        for n in 1..=3 {
            assert_eq!(
                resource(&t, &format!("NetPrivateSubnet{n}RouteTableAssociation"))["Properties"],
                json!({
                    "RouteTableId": {"Ref": "NetPrivateRouteTable"},
                    "SubnetId": {"Ref": format!("NetPrivateSubnet{n}")}
                })
            );
        }
    }

    #[test]
    fn nat_condition_is_on_eip_nat_and_private_route_only() {
        let mut stack = Stack::new("demo");
        let awake = stack.add_condition("Awake", equals(Pseudo::Region.value(), "eu-west-1"));
        Vpc::new(
            &mut stack,
            "Net",
            VpcProps {
                nat: Nat::When(awake),
                ..Default::default()
            },
        )
        .unwrap();
        let t = stack.synth().unwrap().as_json().clone();
        for id in ["NetNatEip", "NetNatGateway", "NetPrivateDefaultRoute"] {
            assert_eq!(resource(&t, id)["Condition"], json!("Awake"), "{id}");
        }
        for id in [
            "Net",
            "NetPublicSubnet1",
            "NetPrivateRouteTable",
            "NetPublicDefaultRoute",
            "NetPrivateSubnet1RouteTableAssociation",
        ] {
            assert!(resource(&t, id).get("Condition").is_none(), "{id}");
        }
    }

    #[test]
    fn disabled_nat_creates_no_eip_nat_or_private_route() {
        let (vpc, t) = synth(VpcProps {
            nat: Nat::Disabled,
            ..Default::default()
        });
        assert!(vpc.nat_gateway().is_none());
        for id in ["NetNatEip", "NetNatGateway", "NetPrivateDefaultRoute"] {
            assert!(t["Resources"].get(id).is_none(), "{id}");
        }
        assert!(t["Resources"].get("NetPrivateRouteTable").is_some());
        assert!(t["Resources"]
            .get("NetPrivateSubnet3RouteTableAssociation")
            .is_some());
    }

    #[test]
    fn every_taggable_resource_gets_a_name_and_the_given_tags() {
        let (_, t) = synth(VpcProps {
            tags: vec![Tag::new("Project", "cdkrs")],
            ..Default::default()
        });
        for (id, name) in [
            ("Net", "${AWS::StackName}-Net"),
            ("NetPrivateSubnet2", "${AWS::StackName}-Net-private-2"),
            ("NetPublicSubnet1", "${AWS::StackName}-Net-public-1"),
            ("NetInternetGateway", "${AWS::StackName}-Net-igw"),
            ("NetPublicRouteTable", "${AWS::StackName}-Net-public"),
            ("NetPrivateRouteTable", "${AWS::StackName}-Net-private"),
            ("NetNatEip", "${AWS::StackName}-Net-nat"),
            ("NetNatGateway", "${AWS::StackName}-Net-nat"),
        ] {
            assert_eq!(
                resource(&t, id)["Properties"]["Tags"],
                json!([
                    {"Key": "Name", "Value": {"Fn::Sub": name}},
                    {"Key": "Project", "Value": "cdkrs"}
                ]),
                "{id}"
            );
        }
    }

    #[test]
    fn getters_reference_the_resources() {
        let (vpc, _) = synth(VpcProps::default());
        let j = |v: &Value<String>| serde_json::to_value(v).unwrap();
        assert_eq!(j(&vpc.id()), json!({"Ref": "Net"}));
        assert_eq!(
            j(&vpc.cidr_block()),
            json!({"Fn::GetAtt": ["Net", "CidrBlock"]})
        );
        assert_eq!(
            vpc.private_subnet_ids().iter().map(j).collect::<Vec<_>>(),
            vec![
                json!({"Ref": "NetPrivateSubnet1"}),
                json!({"Ref": "NetPrivateSubnet2"}),
                json!({"Ref": "NetPrivateSubnet3"})
            ]
        );
        assert_eq!(
            vpc.public_subnet_ids().iter().map(j).collect::<Vec<_>>(),
            vec![json!({"Ref": "NetPublicSubnet1"})]
        );
        assert_eq!(
            vpc.route_table_ids().iter().map(j).collect::<Vec<_>>(),
            vec![
                json!({"Ref": "NetPublicRouteTable"}),
                json!({"Ref": "NetPrivateRouteTable"})
            ]
        );
        assert_eq!(
            vpc.private_route_table_ids()
                .iter()
                .map(j)
                .collect::<Vec<_>>(),
            vec![json!({"Ref": "NetPrivateRouteTable"})]
        );
        assert_eq!(vpc.handle().logical_id(), "Net");
        assert_eq!(vpc.public_subnet().logical_id(), "NetPublicSubnet1");
        assert_eq!(vpc.private_subnets().len(), 3);
    }

    #[test]
    fn vpc_prefix_must_be_16_to_28() {
        assert_eq!(
            error_of(VpcProps {
                cidr: net("10.0.0.0/8"),
                ..Default::default()
            }),
            "Vpc `Net`: cidr: 10.0.0.0/8 is a /8; AWS accepts /16 to /28"
        );
        assert_eq!(
            error_of(VpcProps {
                cidr: net("10.0.0.0/29"),
                ..Default::default()
            }),
            "Vpc `Net`: cidr: 10.0.0.0/29 is a /29; AWS accepts /16 to /28"
        );
        assert_eq!(
            error_of(VpcProps {
                cidr: net("10.0.3.0/16"),
                ..Default::default()
            }),
            "Vpc `Net`: cidr: 10.0.3.0/16 has host bits set; write the network address 10.0.0.0/16"
        );
    }

    #[test]
    fn at_least_two_zones() {
        assert_eq!(
            error_of(VpcProps {
                azs: Azs::Count(1),
                ..Default::default()
            }),
            "Vpc `Net`: azs: 1 availability zone(s); use at least 2 so the private subnets \
             survive the loss of a zone"
        );
        assert_eq!(
            error_of(VpcProps {
                azs: Azs::Names(vec!["eu-west-1a".into()]),
                ..Default::default()
            }),
            "Vpc `Net`: azs: 1 availability zone(s); use at least 2 so the private subnets \
             survive the loss of a zone"
        );
    }

    #[test]
    fn zone_names_are_non_empty_and_unique() {
        assert_eq!(
            error_of(VpcProps {
                azs: Azs::Names(vec!["eu-west-1a".into(), " ".into()]),
                ..Default::default()
            }),
            "Vpc `Net`: azs[1]: the zone name is empty; name a zone such as `eu-west-1a`"
        );
        assert_eq!(
            error_of(VpcProps {
                azs: Azs::Names(vec![
                    "eu-west-1a".into(),
                    "eu-west-1b".into(),
                    "eu-west-1a".into()
                ]),
                ..Default::default()
            }),
            "Vpc `Net`: azs[2]: `eu-west-1a` repeats azs[0]; each zone may appear once"
        );
    }

    #[test]
    fn one_private_subnet_per_zone() {
        assert_eq!(
            error_of(VpcProps {
                private_subnets: Some(nets(&["10.0.0.0/24", "10.0.1.0/24"])),
                ..Default::default()
            }),
            "Vpc `Net`: private_subnets: 2 subnet(s) for 3 availability zones; give exactly one \
             per zone"
        );
    }

    #[test]
    fn private_subnets_are_valid_blocks_inside_the_vpc() {
        assert_eq!(
            error_of(VpcProps {
                private_subnets: Some(nets(&["10.0.0.0/24", "10.0.1.0/24", "10.1.0.0/24"])),
                ..Default::default()
            }),
            "Vpc `Net`: private_subnets[2]: 10.1.0.0/24 is outside the VPC range 10.0.0.0/16; \
             every subnet must lie inside it"
        );
        assert_eq!(
            error_of(VpcProps {
                private_subnets: Some(nets(&["10.0.0.0/24", "10.0.1.0/29", "10.0.2.0/24"])),
                ..Default::default()
            }),
            "Vpc `Net`: private_subnets[1]: 10.0.1.0/29 is a /29; AWS accepts /16 to /28"
        );
        assert_eq!(
            error_of(VpcProps {
                private_subnets: Some(nets(&["10.0.0.1/24", "10.0.1.0/24", "10.0.2.0/24"])),
                ..Default::default()
            }),
            "Vpc `Net`: private_subnets[0]: 10.0.0.1/24 has host bits set; write the network \
             address 10.0.0.0/24"
        );
    }

    #[test]
    fn subnets_must_not_overlap() {
        assert_eq!(
            error_of(VpcProps {
                private_subnets: Some(nets(&["10.0.0.0/22", "10.0.4.0/24", "10.0.2.0/24"])),
                ..Default::default()
            }),
            "Vpc `Net`: private_subnets[2]: 10.0.2.0/24 overlaps private_subnets[0] \
             (10.0.0.0/22); subnets must not overlap"
        );
        assert_eq!(
            error_of(VpcProps {
                public_subnet: Some(net("10.0.64.0/24")),
                ..Default::default()
            }),
            "Vpc `Net`: public_subnet: 10.0.64.0/24 overlaps private_subnets[1] (10.0.64.0/18); \
             subnets must not overlap"
        );
    }

    #[test]
    fn public_subnet_is_a_valid_block_inside_the_vpc() {
        assert_eq!(
            error_of(VpcProps {
                public_subnet: Some(net("192.168.0.0/24")),
                ..Default::default()
            }),
            "Vpc `Net`: public_subnet: 192.168.0.0/24 is outside the VPC range 10.0.0.0/16; \
             every subnet must lie inside it"
        );
        assert_eq!(
            error_of(VpcProps {
                public_subnet: Some(net("10.0.255.240/30")),
                ..Default::default()
            }),
            "Vpc `Net`: public_subnet: 10.0.255.240/30 is a /30; AWS accepts /16 to /28"
        );
    }

    #[test]
    fn computed_layout_must_fit() {
        assert_eq!(
            error_of(VpcProps {
                cidr: net("10.0.0.0/27"),
                ..Default::default()
            }),
            "Vpc `Net`: private_subnets: the default layout splits 10.0.0.0/27 into /29 subnets, \
             smaller than /28; use a VPC of /26 or larger, or give private_subnets"
        );
        assert_eq!(
            error_of(VpcProps {
                cidr: net("10.0.0.0/26"),
                azs: Azs::Count(4),
                ..Default::default()
            }),
            "Vpc `Net`: private_subnets: the default layout splits 10.0.0.0/26 into /29 subnets, \
             smaller than /28; use a VPC of /25 or larger, or give private_subnets"
        );
        assert_eq!(
            error_of(VpcProps {
                private_subnets: Some(nets(&["10.0.0.0/17", "10.0.128.0/18", "10.0.192.0/18"])),
                ..Default::default()
            }),
            "Vpc `Net`: public_subnet: the default layout needs a free /24 in 10.0.0.0/16 after \
             the private subnets, which end at 10.0.255.255; give public_subnet or smaller \
             private_subnets"
        );
    }

    #[test]
    fn private_subnet_bits_leave_a_block_for_the_public_subnet() {
        let bits: Vec<u8> = (0..=9).map(private_subnet_bits).collect();
        assert_eq!(bits, [2, 2, 2, 2, 3, 3, 3, 3, 4, 4]);
    }

    #[test]
    fn default_layout_of_four_to_six_zones() {
        let (vpc, _) = synth(VpcProps {
            azs: Azs::Count(4),
            ..Default::default()
        });
        assert_eq!(
            vpc.private_subnet_cidrs(),
            nets(&[
                "10.0.0.0/19",
                "10.0.32.0/19",
                "10.0.64.0/19",
                "10.0.96.0/19"
            ])
        );
        assert_eq!(vpc.public_subnet_cidr(), net("10.0.128.0/24"));
        let (vpc, t) = synth(VpcProps {
            azs: Azs::Count(6),
            ..Default::default()
        });
        assert_eq!(
            vpc.private_subnet_cidrs(),
            nets(&[
                "10.0.0.0/19",
                "10.0.32.0/19",
                "10.0.64.0/19",
                "10.0.96.0/19",
                "10.0.128.0/19",
                "10.0.160.0/19"
            ])
        );
        assert_eq!(vpc.public_subnet_cidr(), net("10.0.192.0/24"));
        assert_eq!(
            resource(&t, "NetPrivateSubnet6")["Properties"]["AvailabilityZone"],
            json!({"Fn::Select": [5, {"Fn::GetAZs": ""}]})
        );
        // A small VPC still fits six zones and the public subnet.
        let (vpc, _) = synth(VpcProps {
            cidr: net("10.0.0.0/24"),
            azs: Azs::Count(6),
            ..Default::default()
        });
        assert_eq!(vpc.private_subnet_cidrs()[5], net("10.0.0.160/27"));
        assert_eq!(vpc.public_subnet_cidr(), net("10.0.0.192/28"));
    }

    #[test]
    fn tags_must_not_name_resources_or_repeat() {
        assert_eq!(
            error_of(VpcProps {
                tags: vec![Tag::new("Name", "mine")],
                ..Default::default()
            }),
            "Vpc `Net`: tags[0]: the Vpc sets the `Name` tag of each resource itself \
             (`<stack>-<id>-…`); remove it"
        );
        assert_eq!(
            error_of(VpcProps {
                tags: vec![Tag::new("Env", "a"), Tag::new("Env", "b")],
                ..Default::default()
            }),
            "Vpc `Net`: tags[1]: key \"Env\" repeats tags[0]; CloudFormation refuses duplicate \
             tag keys"
        );
    }
}

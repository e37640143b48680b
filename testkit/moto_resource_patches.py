"""Patches 10 to 14 of moto_launcher.py: moto's resource emulation, where the environment's
template meets it (each patch names the gap it closes in moto_launcher.py's docstring).

`apply()` installs them; moto_launcher.py calls it before serving.
"""

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import CloudFormationBackend

ORIGINAL = {}


class ValidationError(CloudFormationError):
    """A 400 ValidationError, as CloudFormation answers. Its module is moto's: moto finds an
    error's service by it, and took this file's name (it starts with "moto") apart: HTTP 500."""

    __module__ = "moto.cloudformation.exceptions"
    code = "ValidationError"


def with_properties(cloudformation_json, **changes):
    """A copy of a resource's JSON with some properties replaced."""
    properties = dict(cloudformation_json.get("Properties", {}), **changes)
    return dict(cloudformation_json, Properties=properties)


def kms_key_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    tags = cloudformation_json.get("Properties", {}).get("Tags")
    if tags:
        renamed = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags]
        cloudformation_json = with_properties(cloudformation_json, Tags=renamed)
    return ORIGINAL["kms_key_create"](cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def flow_log_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    props = cloudformation_json.get("Properties", {})
    destination = props.get("LogDestination")
    if props.get("LogDestinationType") == "s3" and isinstance(destination, str):
        bucket_arn = destination.split("/", 1)[0]
        cloudformation_json = with_properties(cloudformation_json, LogDestination=bucket_arn)
    return ORIGINAL["flow_log_create"](cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
    updated = ORIGINAL["parse_and_update_resource"](logical_id, resource_json, resources_map, account_id, region_name)
    if updated is None:
        resource_class = parsing.resource_class_from_type(resource_json.get("Type", ""))
        cannot_update = resource_class is not None and hasattr(
            resource_class.update_from_cloudformation_json, "__isabstractmethod__"
        )
        if cannot_update:
            return resources_map._parsed_resources.get(logical_id)
    return updated


def ec2_deletes():
    """Patch 13: `delete(account_id, region_name)` for each EC2 model moto cannot delete from a
    stack, calling the backend's API-level delete."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.elastic_ip_addresses import ElasticAddress
    from moto.ec2.models.flow_logs import FlowLogs
    from moto.ec2.models.internet_gateways import InternetGateway, VPCGatewayAttachment
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.route_tables import Route, RouteTable
    from moto.ec2.models.security_groups import SecurityGroupIngress
    from moto.ec2.models.subnets import SubnetRouteTableAssociation
    from moto.ec2.models.vpcs import VPCEndPoint

    def release(address, backend):
        if address.allocation_id:
            backend.release_address(allocation_id=address.allocation_id)
        else:
            backend.release_address(address=address.public_ip)

    deletes = {
        InternetGateway: lambda r, b: b.delete_internet_gateway(r.id),
        VPCGatewayAttachment: lambda r, b: b.detach_internet_gateway(r.gateway_id, r.vpc_id),
        ElasticAddress: release,
        NatGateway: lambda r, b: b.delete_nat_gateway(r.id),
        Route: lambda r, b: b.delete_route(r.route_table.id, r.destination_cidr_block),
        RouteTable: lambda r, b: b.delete_route_table(r.id),
        SubnetRouteTableAssociation: lambda r, b: b.subnet_associations.pop(f"{r.route_table_id}:{r.subnet_id}", None),
        VPCEndPoint: lambda r, b: b.delete_vpc_endpoints([r.id]),
        FlowLogs: lambda r, b: b.delete_flow_logs([r.id]),
        # The rule goes with its group.
        SecurityGroupIngress: lambda r, b: None,
    }
    for cls, delete in deletes.items():
        cls.delete = (lambda d: lambda self, account_id, region_name: d(self, ec2_backends[account_id][region_name]))(delete)


def create_change_set(self, stack_name, change_set_name, template, parameters, description, change_set_type, *args, **kwargs):
    if change_set_type == "CREATE":
        for stack_id, stack in list(self.stacks.items()):
            if stack.name != stack_name:
                continue
            if stack.status == "REVIEW_IN_PROGRESS":
                del self.stacks[stack_id]
            else:
                raise ValidationError(f"Stack [{stack_name}] already exists and cannot be created again with the changeSet [{change_set_name}].")
    return ORIGINAL["create_change_set"](self, stack_name, change_set_name, template, parameters, description, change_set_type, *args, **kwargs)


def apply():
    from moto.ec2.models.flow_logs import FlowLogs
    from moto.kms.models import Key

    ec2_deletes()
    ORIGINAL["create_change_set"] = CloudFormationBackend.create_change_set
    CloudFormationBackend.create_change_set = create_change_set
    ORIGINAL["parse_and_update_resource"] = parsing.parse_and_update_resource
    parsing.parse_and_update_resource = parse_and_update_resource
    ORIGINAL["kms_key_create"] = Key.create_from_cloudformation_json.__func__
    ORIGINAL["flow_log_create"] = FlowLogs.create_from_cloudformation_json.__func__
    Key.create_from_cloudformation_json = classmethod(kms_key_create)
    FlowLogs.create_from_cloudformation_json = classmethod(flow_log_create)

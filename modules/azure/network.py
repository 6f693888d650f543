"""The cluster's VNet: per zone a public subnet (bastion) and a node subnet with its own NAT gateway.

A NAT gateway is zonal, so each zone gets its own (with a zonal public IP) and loses only its own egress if
the zone fails. Node subnets have no default outbound access: egress goes through NAT only. The route table
is associated with the node subnets and starts empty; the Azure cloud controller programs pod routes into it
only if it runs with ``--configure-cloud-routes`` (the CNIs Clouder installs encapsulate instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.nat_gateway import NatGateway
from cdktf_cdktf_provider_azurerm.nat_gateway_public_ip_association import NatGatewayPublicIpAssociation
from cdktf_cdktf_provider_azurerm.public_ip import PublicIp
from cdktf_cdktf_provider_azurerm.route_table import RouteTable
from cdktf_cdktf_provider_azurerm.subnet import Subnet
from cdktf_cdktf_provider_azurerm.subnet_nat_gateway_association import SubnetNatGatewayAssociation
from cdktf_cdktf_provider_azurerm.subnet_route_table_association import SubnetRouteTableAssociation
from cdktf_cdktf_provider_azurerm.virtual_network import VirtualNetwork
from constructs import Construct

from clouder.modules.azure.resource_group import ResourceGroup


@dataclass(frozen=True)
class ZoneSubnets:
    zone: str  # "1", "2" or "3"
    public_cidr: str
    private_cidr: str


@dataclass(frozen=True)
class NetworkProps:
    cluster_name: str  # used in resource names
    resource_group: ResourceGroup
    cidr: str
    zones: Sequence[ZoneSubnets]


@dataclass(frozen=True)
class SubnetRef:
    name: str
    id: str
    cidr: str
    zone: str


class Network(Construct):
    """Attributes: ``vnet_name``, ``vnet_id``, ``cidr``, ``public_subnets``, ``node_subnets`` (one per zone,
    in the props' order), ``nat_public_ips`` (egress addresses), ``route_table_name``, ``route_table_id``."""

    def __init__(self, scope: Construct, id_: str, props: NetworkProps) -> None:
        super().__init__(scope, id_)
        group = props.resource_group
        self.cidr = props.cidr
        vnet = VirtualNetwork(
            self,
            "vnet",
            name=f"vnet-{props.cluster_name}",
            location=group.location,
            resource_group_name=group.name,
            address_space=[props.cidr],
            tags=group.tags,
        )
        self.vnet_id: str = vnet.id
        self.vnet_name: str = vnet.name
        # No inline `route` blocks: the cloud controller's routes must survive the next apply.
        table = RouteTable(
            self,
            "routes",
            name=f"rt-{props.cluster_name}-nodes",
            location=group.location,
            resource_group_name=group.name,
            bgp_route_propagation_enabled=False,
            tags=group.tags,
        )
        self.route_table_id: str = table.id
        self.route_table_name: str = table.name
        self.public_subnets: list[SubnetRef] = []
        self.node_subnets: list[SubnetRef] = []
        self.nat_public_ips: list[str] = []
        for zone in props.zones:
            self.public_subnets.append(
                self._subnet(props, f"public-{zone.zone}", zone.public_cidr, zone.zone)
            )
            nodes = self._subnet(props, f"nodes-{zone.zone}", zone.private_cidr, zone.zone)
            self.node_subnets.append(nodes)
            self.nat_public_ips.append(self._nat(props, zone.zone, nodes))
            SubnetRouteTableAssociation(
                self, f"routes-{zone.zone}", subnet_id=nodes.id, route_table_id=table.id
            )

    def _subnet(self, props: NetworkProps, suffix: str, cidr: str, zone: str) -> SubnetRef:
        name = f"snet-{props.cluster_name}-{suffix}"
        subnet = Subnet(
            self,
            f"subnet-{suffix}",
            name=name,
            resource_group_name=props.resource_group.name,
            virtual_network_name=self.vnet_name,
            address_prefixes=[cidr],
            default_outbound_access_enabled=False,
        )
        return SubnetRef(name=subnet.name, id=subnet.id, cidr=cidr, zone=zone)

    def _nat(self, props: NetworkProps, zone: str, subnet: SubnetRef) -> str:
        group = props.resource_group
        address = PublicIp(
            self,
            f"nat-ip-{zone}",
            name=f"pip-{props.cluster_name}-nat-{zone}",
            location=group.location,
            resource_group_name=group.name,
            allocation_method="Static",
            sku="Standard",
            zones=[zone],
            tags=group.tags,
        )
        gateway = NatGateway(
            self,
            f"nat-{zone}",
            name=f"ng-{props.cluster_name}-{zone}",
            location=group.location,
            resource_group_name=group.name,
            sku_name="Standard",
            zones=[zone],
            idle_timeout_in_minutes=4,
            tags=group.tags,
        )
        NatGatewayPublicIpAssociation(
            self, f"nat-ip-assoc-{zone}", nat_gateway_id=gateway.id, public_ip_address_id=address.id
        )
        SubnetNatGatewayAssociation(self, f"nat-assoc-{zone}", subnet_id=subnet.id, nat_gateway_id=gateway.id)
        return address.ip_address

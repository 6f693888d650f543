"""Network: a VPC with a public and a private subnet per zone, an internet gateway and NAT gateway(s)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from clouder.modules.aws.tags import cluster_tag


@dataclass(frozen=True)
class ZoneSubnets:
    zone: str
    public_cidr: str
    private_cidr: str


@dataclass(frozen=True)
class NetworkProps:
    cluster_name: str
    cidr: str
    zones: Sequence[ZoneSubnets]
    # "single": one NAT gateway for all zones (cheaper); "per-zone": one per zone (no cross-zone dependency).
    nat_gateways: Literal["single", "per-zone"] = "single"
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ZoneAttributes:
    zone: str
    public_subnet_id: str
    private_subnet_id: str


class Network(Construct):
    """The cluster's VPC. Subnets carry the tags the cloud controller and the LB controller look for."""

    vpc_id: str
    cidr: str
    zones: list[ZoneAttributes]
    public_subnet_ids: list[str]
    private_subnet_ids: list[str]
    nat_gateway_ids: list[str]
    nat_public_ips: list[str]  # the NAT gateways' Elastic IPs: what nodes look like on the internet

    def __init__(self, scope: Construct, id_: str, props: NetworkProps) -> None:
        super().__init__(scope, id_)
        name = props.cluster_name
        owned = {**props.tags, **cluster_tag(name)}
        vpc = Vpc(
            self,
            "vpc",
            cidr_block=props.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={**owned, "Name": name},
        )
        igw = InternetGateway(self, "igw", vpc_id=vpc.id, tags={**props.tags, "Name": name})
        public_rt = RouteTable(self, "public", vpc_id=vpc.id, tags={**props.tags, "Name": f"{name}-public"})
        Route(
            self,
            "public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
        )

        self.vpc_id = vpc.id
        self.cidr = props.cidr
        self.zones = []
        self.nat_gateway_ids = []
        self.nat_public_ips = []
        nat_ids: list[str] = []
        for zone in props.zones:
            public = Subnet(
                self,
                f"public-{zone.zone}",
                vpc_id=vpc.id,
                availability_zone=zone.zone,
                cidr_block=zone.public_cidr,
                map_public_ip_on_launch=False,
                tags={**owned, "Name": f"{name}-public-{zone.zone}", "kubernetes.io/role/elb": "1"},
            )
            RouteTableAssociation(
                self, f"public-{zone.zone}-rt", subnet_id=public.id, route_table_id=public_rt.id
            )
            if props.nat_gateways == "per-zone" or not nat_ids:
                eip = Eip(
                    self,
                    f"nat-{zone.zone}-ip",
                    domain="vpc",
                    tags={**props.tags, "Name": f"{name}-nat-{zone.zone}"},
                )
                nat = NatGateway(
                    self,
                    f"nat-{zone.zone}",
                    allocation_id=eip.id,
                    subnet_id=public.id,
                    tags={**props.tags, "Name": f"{name}-{zone.zone}"},
                    depends_on=[igw],
                )
                nat_ids.append(nat.id)
                self.nat_public_ips.append(eip.public_ip)
            private = Subnet(
                self,
                f"private-{zone.zone}",
                vpc_id=vpc.id,
                availability_zone=zone.zone,
                cidr_block=zone.private_cidr,
                map_public_ip_on_launch=False,
                tags={**owned, "Name": f"{name}-private-{zone.zone}", "kubernetes.io/role/internal-elb": "1"},
            )
            private_rt = RouteTable(
                self,
                f"private-{zone.zone}-table",
                vpc_id=vpc.id,
                tags={**owned, "Name": f"{name}-private-{zone.zone}"},
            )
            Route(
                self,
                f"private-{zone.zone}-default",
                route_table_id=private_rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat_ids[-1],
            )
            RouteTableAssociation(
                self, f"private-{zone.zone}-rt", subnet_id=private.id, route_table_id=private_rt.id
            )
            self.zones.append(ZoneAttributes(zone.zone, public.id, private.id))
        self.nat_gateway_ids = nat_ids
        self.public_subnet_ids = [zone.public_subnet_id for zone in self.zones]
        self.private_subnet_ids = [zone.private_subnet_id for zone in self.zones]

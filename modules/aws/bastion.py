"""Bastion: one small SSH jump host in a public subnet, with a fixed Elastic IP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.eip import Eip
from constructs import Construct

from clouder.modules.aws.nodes import Nodes, NodesProps, Placement


@dataclass(frozen=True)
class BastionProps:
    cluster_name: str
    placement: Placement
    security_group_id: str
    image_id: str
    instance_type: str
    user_data: str
    instance_profile_name: str | None = None
    disk_gb: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


class Bastion(Construct):
    """The only host reachable by SSH from the admin CIDRs when access mode is ``bastion``."""

    instance_id: str
    provider_id: str
    public_ip: str
    private_ip: str

    def __init__(self, scope: Construct, id_: str, props: BastionProps) -> None:
        super().__init__(scope, id_)
        # Same launch-template hardening as the nodes (IMDSv2, encrypted root); no public IP at launch:
        # the Elastic IP below is its stable address.
        host = Nodes(
            self,
            "host",
            NodesProps(
                cluster_name=props.cluster_name,
                group="bastion",
                role="bastion",
                count=1,
                instance_type=props.instance_type,
                image_id=props.image_id,
                disk_gb=props.disk_gb,
                placements=[props.placement],
                security_group_ids=[props.security_group_id],
                instance_profile_name=props.instance_profile_name,
                user_data=props.user_data,
                tags=props.tags,
            ),
        ).nodes[0]
        address = Eip(
            self,
            "ip",
            domain="vpc",
            instance=host.instance_id,
            tags={**props.tags, "Name": f"{props.cluster_name}-bastion"},
        )
        self.instance_id = host.instance_id
        self.provider_id = host.provider_id  # aws:///<zone>/<instance-id>, as for the nodes
        self.public_ip = address.public_ip
        self.private_ip = host.private_ip

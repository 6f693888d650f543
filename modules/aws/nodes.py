"""Nodes: one launch template per node group and one EC2 instance per node, spread over the zones.

The launch template carries everything security-relevant (IMDSv2 only, with a hop limit of 2 on control
planes, whose controller pods use the role, and 1 elsewhere, so pods cannot reach it; an encrypted gp3
root volume, the instance profile, the security groups, the cloud-init user-data); instances only pick a
subnet. Instances are individual resources, not an Auto Scaling group: kubeadm joins nodes one by one and
the outputs contract names every node.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cdktf_cdktf_provider_aws.instance import (
    Instance,
    InstanceLaunchTemplate,
    InstanceMetadataOptions,
    InstanceRootBlockDevice,
)
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateIamInstanceProfile,
    LaunchTemplateMetadataOptions,
    LaunchTemplateMonitoring,
    LaunchTemplatePrivateDnsNameOptions,
    LaunchTemplateTagSpecifications,
)
from constructs import Construct

from clouder.modules.aws.tags import cluster_tag

ROOT_DEVICE = "/dev/sda1"  # Ubuntu's root device name on EC2
IMDS_TOKENS = "required"  # IMDSv2 only
IMDS_HOP_LIMIT = 1  # the host only: pods in their own network namespace are one hop further
CONTROLLER_IMDS_HOP_LIMIT = 2  # control planes: the controllers' pods use the role


@dataclass(frozen=True)
class Placement:
    """Where a node may go: a subnet and its zone."""

    zone: str
    subnet_id: str


@dataclass(frozen=True)
class NodesProps:
    cluster_name: str
    group: str  # "control-plane" or the pool's name
    role: Literal["control-plane", "worker", "bastion"]
    count: int
    instance_type: str
    image_id: str
    disk_gb: int
    placements: Sequence[Placement]  # nodes are spread round-robin over these
    security_group_ids: Sequence[str]
    instance_profile_name: str | None
    user_data: str  # the cloud-config document (plain text; encoded here)
    public_ip: bool = False
    imds_hop_limit: int = IMDS_HOP_LIMIT
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeAttributes:
    index: int
    instance_id: str
    private_dns: str
    private_ip: str
    public_ip: str | None
    zone: str

    @property
    def provider_id(self) -> str:
        """The Kubernetes ``spec.providerID`` the AWS cloud controller sets: ``aws:///<zone>/<instance-id>``."""
        return f"aws:///{self.zone}/{self.instance_id}"


class Nodes(Construct):
    """A group of identical nodes (the control planes, or one node pool)."""

    launch_template_id: str
    nodes: list[NodeAttributes]

    def __init__(self, scope: Construct, id_: str, props: NodesProps) -> None:
        super().__init__(scope, id_)
        if not props.placements:
            raise ValueError("Nodes needs at least one placement (subnet)")
        name = f"{props.cluster_name}-{props.group}"
        role_tags = {**props.tags, "clouder.dev/role": props.role, "clouder.dev/pool": props.group}
        if props.role != "bastion":  # the cloud controller manages only what carries the cluster tag
            role_tags |= cluster_tag(props.cluster_name)
        profile = props.instance_profile_name
        template = LaunchTemplate(
            self,
            "template",
            name_prefix=f"{name[:100]}-",
            description=f"Clouder {props.cluster_name}: {props.group} nodes",
            image_id=props.image_id,
            instance_type=props.instance_type,
            ebs_optimized="true",
            update_default_version=True,
            iam_instance_profile=LaunchTemplateIamInstanceProfile(name=profile) if profile else None,
            vpc_security_group_ids=list(props.security_group_ids),
            user_data=base64.b64encode(props.user_data.encode()).decode(),
            metadata_options=LaunchTemplateMetadataOptions(
                http_endpoint="enabled",
                http_tokens=IMDS_TOKENS,
                http_put_response_hop_limit=props.imds_hop_limit,
                instance_metadata_tags="disabled",
            ),
            private_dns_name_options=LaunchTemplatePrivateDnsNameOptions(hostname_type="ip-name"),
            monitoring=LaunchTemplateMonitoring(enabled=True),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name=ROOT_DEVICE,
                    ebs=LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=props.disk_gb,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                LaunchTemplateTagSpecifications(resource_type="volume", tags={**role_tags, "Name": name}),
                LaunchTemplateTagSpecifications(
                    resource_type="network-interface", tags={**role_tags, "Name": name}
                ),
            ],
            tags={**props.tags, "Name": name},
        )
        self.launch_template_id = template.id
        self.nodes = []
        for index in range(props.count):
            placement = props.placements[index % len(props.placements)]
            instance = Instance(
                self,
                f"node-{index}",
                launch_template=InstanceLaunchTemplate(id=template.id, version="$Default"),
                subnet_id=placement.subnet_id,
                associate_public_ip_address=props.public_ip,
                # Repeated from the template so that the instance itself states them (instance-level values
                # win over the template's, and policy checks read the instance).
                ebs_optimized=True,
                monitoring=True,
                iam_instance_profile=profile,
                metadata_options=InstanceMetadataOptions(
                    http_endpoint="enabled",
                    http_tokens=IMDS_TOKENS,
                    http_put_response_hop_limit=props.imds_hop_limit,
                ),
                root_block_device=InstanceRootBlockDevice(
                    volume_size=props.disk_gb, volume_type="gp3", encrypted=True, delete_on_termination=True
                ),
                tags={**role_tags, "Name": f"{name}-{index}"},
            )
            self.nodes.append(
                NodeAttributes(
                    index=index,
                    instance_id=instance.id,
                    private_dns=instance.private_dns,
                    private_ip=instance.private_ip,
                    public_ip=instance.public_ip if props.public_ip else None,
                    zone=placement.zone,
                )
            )

"""A group of cluster nodes (the control planes, or one node pool), spread round-robin across the zones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from constructs import Construct

from clouder.catalog import azure as catalog
from clouder.modules.azure.network import SubnetRef
from clouder.modules.azure.resource_group import ResourceGroup
from clouder.modules.azure.vm import LinuxVm, LinuxVmProps, NodeImage


@dataclass(frozen=True)
class NodesProps:
    name_prefix: str  # node i is "<name_prefix>-<i>"
    role: Literal["control-plane", "worker"]
    pool: str
    count: int
    size: str
    disk_gb: int
    resource_group: ResourceGroup
    subnets: Sequence[SubnetRef]  # one per zone; node i goes to subnets[i % len(subnets)]
    image: NodeImage
    admin_user: str
    ssh_public_key: str
    custom_data: str
    identity_id: str
    application_security_group_ids: Sequence[str]
    backend_pool_id: str | None = None  # the API load balancer's pool, for control planes
    public_ips: bool = False  # only for ssh mode "direct"
    encryption_at_host: bool = True


@dataclass(frozen=True)
class NodeRef:
    name: str
    role: Literal["control-plane", "worker"]
    pool: str
    zone: str  # Azure zone: "1", "2" or "3"
    vm_id: str
    private_ip: str
    public_ip: str | None


class Nodes(Construct):
    """Attributes: ``nodes`` (one ``NodeRef`` per VM, in name order)."""

    def __init__(self, scope: Construct, id_: str, props: NodesProps) -> None:
        super().__init__(scope, id_)
        self.nodes: list[NodeRef] = []
        for index in range(props.count):
            subnet = props.subnets[index % len(props.subnets)]
            name = f"{props.name_prefix}-{index}"
            vm = LinuxVm(
                self,
                name,
                LinuxVmProps(
                    name=name,
                    resource_group=props.resource_group,
                    subnet=subnet,
                    zone=subnet.zone,
                    size=props.size,
                    image=props.image,
                    admin_user=props.admin_user,
                    ssh_public_key=props.ssh_public_key,
                    custom_data=props.custom_data,
                    disk_gb=props.disk_gb,
                    disk_type=catalog.NODE_OS_DISK_TYPE,
                    application_security_group_ids=props.application_security_group_ids,
                    identity_ids=[props.identity_id],
                    backend_pool_id=props.backend_pool_id,
                    public_ip=props.public_ips,
                    encryption_at_host=props.encryption_at_host,
                ),
            )
            self.nodes.append(
                NodeRef(
                    name=name,
                    role=props.role,
                    pool=props.pool,
                    zone=subnet.zone,
                    vm_id=vm.id,
                    private_ip=vm.private_ip,
                    public_ip=vm.public_ip,
                )
            )

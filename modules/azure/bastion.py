"""The optional SSH bastion: a small VM with a public IP in the first public subnet, reachable on port 22
from the admin CIDRs only, forwarding SSH to the nodes (``ssh -J``) and nothing else. It has no managed
identity: a compromised bastion gets no Azure rights."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from clouder.catalog import azure as catalog
from clouder.modules.azure.network import SubnetRef
from clouder.modules.azure.resource_group import ResourceGroup
from clouder.modules.azure.vm import LinuxVm, LinuxVmProps, NodeImage


@dataclass(frozen=True)
class BastionProps:
    name: str
    resource_group: ResourceGroup
    subnet: SubnetRef
    size: str
    image: NodeImage
    admin_user: str
    ssh_public_key: str
    custom_data: str
    application_security_group_id: str
    encryption_at_host: bool = True


class Bastion(Construct):
    """Attributes: ``host`` (public IP address), ``private_ip``, ``user``, ``vm_id``."""

    def __init__(self, scope: Construct, id_: str, props: BastionProps) -> None:
        super().__init__(scope, id_)
        vm = LinuxVm(
            self,
            "bastion",
            LinuxVmProps(
                name=props.name,
                resource_group=props.resource_group,
                subnet=props.subnet,
                zone=props.subnet.zone,
                size=props.size,
                image=props.image,
                admin_user=props.admin_user,
                ssh_public_key=props.ssh_public_key,
                custom_data=props.custom_data,
                disk_gb=catalog.BASTION_OS_DISK_GB,
                disk_type=catalog.BASTION_OS_DISK_TYPE,
                application_security_group_ids=[props.application_security_group_id],
                public_ip=True,
                encryption_at_host=props.encryption_at_host,
            ),
        )
        assert vm.public_ip is not None
        self.host: str = vm.public_ip
        self.private_ip: str = vm.private_ip
        self.user = props.admin_user
        self.vm_id: str = vm.id

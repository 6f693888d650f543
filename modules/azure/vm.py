"""One hardened Linux VM with its NIC: SSH keys only, encrypted managed OS disk, pinned image, no extensions.

Shared by ``Nodes`` and ``Bastion``. Password login is off twice: no password is set and
``disable_password_authentication`` is true (the user-data also turns ``ssh_pwauth`` off). With encryption at
host, the OS disk, its caches and the temp disk are encrypted on the host as well as at rest.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.linux_virtual_machine import (
    LinuxVirtualMachine,
    LinuxVirtualMachineAdminSshKey,
    LinuxVirtualMachineBootDiagnostics,
    LinuxVirtualMachineIdentity,
    LinuxVirtualMachineOsDisk,
    LinuxVirtualMachineSourceImageReference,
)
from cdktf_cdktf_provider_azurerm.network_interface import NetworkInterface, NetworkInterfaceIpConfiguration
from cdktf_cdktf_provider_azurerm.network_interface_application_security_group_association import (
    NetworkInterfaceApplicationSecurityGroupAssociation,
)
from cdktf_cdktf_provider_azurerm.network_interface_backend_address_pool_association import (
    NetworkInterfaceBackendAddressPoolAssociation,
)
from cdktf_cdktf_provider_azurerm.public_ip import PublicIp
from constructs import Construct

from clouder.modules.azure.network import SubnetRef
from clouder.modules.azure.resource_group import ResourceGroup

IP_CONFIGURATION = "primary"


@dataclass(frozen=True)
class NodeImage:
    publisher: str
    offer: str
    sku: str
    version: str  # pinned, never "latest"


@dataclass(frozen=True)
class LinuxVmProps:
    name: str  # VM name and host name (what the cloud controller calls the node)
    resource_group: ResourceGroup
    subnet: SubnetRef
    size: str
    image: NodeImage
    admin_user: str
    ssh_public_key: str
    custom_data: str  # the #cloud-config document (encoded here)
    disk_gb: int
    disk_type: str
    application_security_group_ids: Sequence[str]
    zone: str | None = None
    identity_ids: Sequence[str] = ()
    backend_pool_id: str | None = None
    public_ip: bool = False
    encryption_at_host: bool = True


class LinuxVm(Construct):
    """Attributes: ``name``, ``id``, ``private_ip``, ``public_ip`` (None without one)."""

    def __init__(self, scope: Construct, id_: str, props: LinuxVmProps) -> None:
        super().__init__(scope, id_)
        group = props.resource_group
        address = None
        if props.public_ip:
            address = PublicIp(
                self,
                "address",
                name=f"pip-{props.name}",
                location=group.location,
                resource_group_name=group.name,
                allocation_method="Static",
                sku="Standard",
                zones=[props.zone] if props.zone else None,
                tags=group.tags,
            )
        nic = NetworkInterface(
            self,
            "nic",
            name=f"nic-{props.name}",
            location=group.location,
            resource_group_name=group.name,
            ip_configuration=[
                NetworkInterfaceIpConfiguration(
                    name=IP_CONFIGURATION,
                    subnet_id=props.subnet.id,
                    private_ip_address_allocation="Dynamic",
                    public_ip_address_id=address.id if address else None,
                )
            ],
            tags=group.tags,
        )
        for index, asg_id in enumerate(props.application_security_group_ids):
            NetworkInterfaceApplicationSecurityGroupAssociation(
                self, f"asg-{index}", network_interface_id=nic.id, application_security_group_id=asg_id
            )
        if props.backend_pool_id is not None:
            NetworkInterfaceBackendAddressPoolAssociation(
                self,
                "backend",
                network_interface_id=nic.id,
                ip_configuration_name=IP_CONFIGURATION,
                backend_address_pool_id=props.backend_pool_id,
            )
        image = props.image
        vm = LinuxVirtualMachine(
            self,
            "vm",
            name=props.name,
            computer_name=props.name,
            location=group.location,
            resource_group_name=group.name,
            size=props.size,
            zone=props.zone,
            network_interface_ids=[nic.id],
            admin_username=props.admin_user,
            admin_ssh_key=[
                LinuxVirtualMachineAdminSshKey(username=props.admin_user, public_key=props.ssh_public_key)
            ],
            disable_password_authentication=True,
            os_disk=LinuxVirtualMachineOsDisk(
                name=f"osdisk-{props.name}",
                caching="ReadWrite",
                storage_account_type=props.disk_type,
                disk_size_gb=props.disk_gb,
            ),
            encryption_at_host_enabled=props.encryption_at_host,
            source_image_reference=LinuxVirtualMachineSourceImageReference(
                publisher=image.publisher, offer=image.offer, sku=image.sku, version=image.version
            ),
            custom_data=base64.b64encode(props.custom_data.encode()).decode(),
            identity=LinuxVirtualMachineIdentity(type="UserAssigned", identity_ids=list(props.identity_ids))
            if props.identity_ids
            else None,
            allow_extension_operations=False,
            secure_boot_enabled=True,
            vtpm_enabled=True,
            boot_diagnostics=LinuxVirtualMachineBootDiagnostics(),
            tags=group.tags,
        )
        self.name = props.name
        self.id: str = vm.id
        self.private_ip: str = nic.private_ip_address
        self.public_ip: str | None = address.ip_address if address else None

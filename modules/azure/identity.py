"""The cluster's user-assigned managed identity and the narrowest roles the cloud controller and CSI need.

Two custom roles, each assignable only within the cluster's resource group and assigned at that scope:
one for the cloud controller manager (load balancers, public IPs, NSG rules, routes, reading VMs and the
network), one for the Azure Disk and Azure File CSI drivers (disks, snapshots, attaching them to VMs, the
storage accounts Azure File creates). The permissions follow cloud-provider-azure's "Azure Permissions"
list, without the VM scale set and private link actions (Clouder runs standalone VMs and does not publish
private link services). The identity gets no rights outside the resource group.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.role_definition import RoleDefinition, RoleDefinitionPermissions
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct

from clouder.modules.azure.resource_group import ResourceGroup

CLOUD_CONTROLLER_ACTIONS: tuple[str, ...] = (
    # LoadBalancer Services: the Services' load balancers, frontends and backend pools.
    "Microsoft.Network/loadBalancers/read",
    "Microsoft.Network/loadBalancers/write",
    "Microsoft.Network/loadBalancers/delete",
    "Microsoft.Network/loadBalancers/backendAddressPools/read",
    "Microsoft.Network/loadBalancers/backendAddressPools/write",
    "Microsoft.Network/loadBalancers/backendAddressPools/delete",
    "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
    "Microsoft.Network/publicIPAddresses/read",
    "Microsoft.Network/publicIPAddresses/write",
    "Microsoft.Network/publicIPAddresses/delete",
    "Microsoft.Network/publicIPAddresses/join/action",
    # Rules for LoadBalancer Services in the node NSG.
    "Microsoft.Network/networkSecurityGroups/read",
    "Microsoft.Network/networkSecurityGroups/write",
    # Pod routes, if the controller runs with --configure-cloud-routes.
    "Microsoft.Network/routeTables/read",
    "Microsoft.Network/routeTables/write",
    "Microsoft.Network/routeTables/routes/read",
    "Microsoft.Network/routeTables/routes/write",
    "Microsoft.Network/routeTables/routes/delete",
    # Node facts (zone, size, addresses) and putting node NICs into Service backend pools; a NIC update
    # re-checks every resource the NIC references (subnet, application security groups).
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Network/networkInterfaces/read",
    "Microsoft.Network/networkInterfaces/write",
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.Network/virtualNetworks/subnets/read",
    "Microsoft.Network/virtualNetworks/subnets/join/action",
    "Microsoft.Network/applicationSecurityGroups/joinIpConfiguration/action",
)

CSI_ACTIONS: tuple[str, ...] = (
    # Azure Disk: volumes, snapshots, attaching to VMs, per-size attach limits.
    "Microsoft.Compute/disks/read",
    "Microsoft.Compute/disks/write",
    "Microsoft.Compute/disks/delete",
    "Microsoft.Compute/locations/DiskOperations/read",
    "Microsoft.Compute/snapshots/read",
    "Microsoft.Compute/snapshots/write",
    "Microsoft.Compute/snapshots/delete",
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Compute/virtualMachines/write",
    "Microsoft.Compute/locations/vmSizes/read",
    "Microsoft.Compute/locations/operations/read",
    # Azure File: the storage accounts it creates for file shares, and their keys.
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Storage/storageAccounts/write",
    "Microsoft.Storage/storageAccounts/delete",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Storage/operations/read",
)

ROLES: dict[str, tuple[str, ...]] = {"cloud-controller": CLOUD_CONTROLLER_ACTIONS, "csi": CSI_ACTIONS}


@dataclass(frozen=True)
class IdentityProps:
    name: str
    resource_group: ResourceGroup


class Identity(Construct):
    """Attributes: ``id`` (resource ID, for VMs' ``identity_ids``), ``client_id`` (for ``azure.json``),
    ``principal_id``, ``name``, and ``roles`` (role name -> the actions it grants)."""

    def __init__(self, scope: Construct, id_: str, props: IdentityProps) -> None:
        super().__init__(scope, id_)
        group = props.resource_group
        identity = UserAssignedIdentity(
            self,
            "identity",
            name=f"id-{props.name}-cloud-provider",
            location=group.location,
            resource_group_name=group.name,
            tags=group.tags,
        )
        self.id: str = identity.id
        self.client_id: str = identity.client_id
        self.principal_id: str = identity.principal_id
        self.name: str = identity.name
        self.roles = dict(ROLES)
        for role, actions in ROLES.items():
            definition = RoleDefinition(
                self,
                f"role-{role}",
                name=f"clouder-{props.name}-{role}-{group.name}",
                scope=group.id,
                assignable_scopes=[group.id],
                description=f"Clouder cluster {props.name}: what its {role} needs, in its resource group.",
                permissions=[RoleDefinitionPermissions(actions=list(actions))],
            )
            RoleAssignment(
                self,
                f"assign-{role}",
                scope=group.id,
                role_definition_id=definition.role_definition_resource_id,
                principal_id=identity.principal_id,
                principal_type="ServicePrincipal",
                skip_service_principal_aad_check=True,
            )

"""The cluster's managed identities and the narrowest custom roles each needs, split by where it runs.

The controllers (cloud controller manager, Azure Disk and Azure File CSI controllers) run on the control
planes only, so their rights sit on a control-plane identity that only control-plane VMs carry. Workers carry
a node identity that can only read what a node reads about itself. Every role is assignable only within the
cluster's resource group and assigned at that scope. The actions follow cloud-provider-azure's "Azure
Permissions" list and the CSI drivers' "required permissions for CSI driver controller" lists, without the
VM scale set and private link/endpoint actions (Clouder runs standalone VMs, publishes no private link
services and lets Azure File use public storage endpoints).
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
    # Rules for LoadBalancer Services in the node NSG; its rules name application security groups.
    "Microsoft.Network/networkSecurityGroups/read",
    "Microsoft.Network/networkSecurityGroups/write",
    "Microsoft.Network/networkSecurityGroups/join/action",
    "Microsoft.Network/applicationSecurityGroups/joinNetworkSecurityRule/action",
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
    "Microsoft.Compute/diskEncryptionSets/read",
    "Microsoft.Compute/locations/DiskOperations/read",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Compute/snapshots/read",
    "Microsoft.Compute/snapshots/write",
    "Microsoft.Compute/snapshots/delete",
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Compute/virtualMachines/write",
    "Microsoft.Compute/locations/vmSizes/read",
    "Microsoft.Compute/locations/operations/read",
    # Attaching a disk writes the whole VM, and ARM re-checks what the VM references: its user-assigned
    # identity and its NIC (whose IP configuration names the subnet and application security groups).
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    "Microsoft.Network/networkInterfaces/join/action",
    # Azure File: the storage accounts it creates, their keys, and the shares it creates through the
    # management API (its default, useDataPlaneAPI=false); the share actions spelled out, not shares/*.
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Storage/storageAccounts/write",
    "Microsoft.Storage/storageAccounts/delete",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Storage/storageAccounts/fileServices/read",
    "Microsoft.Storage/storageAccounts/fileServices/write",
    "Microsoft.Storage/storageAccounts/fileServices/shares/read",
    "Microsoft.Storage/storageAccounts/fileServices/shares/write",
    "Microsoft.Storage/storageAccounts/fileServices/shares/delete",
    "Microsoft.Storage/operations/read",
)

NODE_ACTIONS: tuple[str, ...] = (
    # The cloud node manager and the CSI node plugins take their facts from instance metadata; reading the
    # VM and its NIC is all that is left for them to ask the management API.
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Network/networkInterfaces/read",
)

ROLES: dict[str, tuple[str, ...]] = {
    "cloud-controller": CLOUD_CONTROLLER_ACTIONS,
    "csi-controller": CSI_ACTIONS,
    "node": NODE_ACTIONS,
}
# Which identity holds which roles.
IDENTITY_ROLES: dict[str, tuple[str, ...]] = {
    "control-plane": ("cloud-controller", "csi-controller"),
    "node": ("node",),
}


@dataclass(frozen=True)
class IdentitiesProps:
    cluster_name: str
    resource_group: ResourceGroup


@dataclass(frozen=True)
class IdentityRef:
    """One user-assigned identity: ``id`` (for VMs' ``identity_ids``), ``client_id``, ``principal_id``."""

    id: str
    client_id: str
    principal_id: str


class Identities(Construct):
    """Attributes: ``control_plane_identity`` and ``node_identity`` (``IdentityRef``); ``id`` and
    ``client_id`` are the control plane's (``azure.json`` for the controllers); ``roles`` (role name -> the
    actions it grants) and ``identity_roles`` (identity -> its roles)."""

    def __init__(self, scope: Construct, id_: str, props: IdentitiesProps) -> None:
        super().__init__(scope, id_)
        group = props.resource_group
        self.roles = dict(ROLES)
        self.identity_roles = dict(IDENTITY_ROLES)
        refs: dict[str, IdentityRef] = {}
        for holder, roles in IDENTITY_ROLES.items():
            identity = UserAssignedIdentity(
                self,
                f"identity-{holder}",
                name=f"id-{props.cluster_name}-{holder}",
                location=group.location,
                resource_group_name=group.name,
                tags=group.tags,
            )
            refs[holder] = IdentityRef(identity.id, identity.client_id, identity.principal_id)
            for role in roles:
                definition = RoleDefinition(
                    self,
                    f"role-{role}",
                    name=f"clouder-{props.cluster_name}-{role}-{group.name}",
                    scope=group.id,
                    assignable_scopes=[group.id],
                    description=f"Clouder cluster {props.cluster_name}: what its {role} needs, in its group.",
                    permissions=[RoleDefinitionPermissions(actions=list(ROLES[role]))],
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
        self.control_plane_identity = refs["control-plane"]
        self.node_identity = refs["node"]
        self.id: str = self.control_plane_identity.id
        self.client_id: str = self.control_plane_identity.client_id
        self.principal_id: str = self.control_plane_identity.principal_id

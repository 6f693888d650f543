"""Upstream facts the Azure stack must agree with, asserted on the synthesized JSON.

Each fact names its source in ``../shared/upstream/`` (read, never copied).
Stacks: tests/support/azure_stacks.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.azure_stacks import AzureStack
from support.upstream import upstream_text as upstream

AZURE_PERMISSIONS = (
    "kubernetes-sigs_cloud-provider-azure@documentation__content_en_topics_azure-permissions.md"
)
DISK_PARAMETERS = "kubernetes-sigs_azuredisk-csi-driver__docs_driver-parameters.md"
FILE_PARAMETERS = "kubernetes-sigs_azurefile-csi-driver__docs_driver-parameters.md"
CILIUM_REQUIREMENTS = "cilium_cilium@00c88111__Documentation_operations_system_requirements.rst.excerpt"


def role_actions(stack: AzureStack) -> dict[str, set[str]]:
    """Identity name -> every action its role assignments grant."""
    identities = {
        stack.ref("azurerm_user_assigned_identity", i, "principal_id"): i["name"]
        for i in stack.resources("azurerm_user_assigned_identity").values()
    }
    definitions = {
        stack.ref("azurerm_role_definition", d, "role_definition_resource_id"): d
        for d in stack.resources("azurerm_role_definition").values()
    }
    held: dict[str, set[str]] = {name: set() for name in identities.values()}
    for assignment in stack.resources("azurerm_role_assignment").values():
        (permissions,) = definitions[assignment["role_definition_id"]]["permissions"]
        held[identities[assignment["principal_id"]]] |= set(permissions["actions"])
    return held


def vm_identities(stack: AzureStack) -> dict[str, str]:
    """VM name -> the name of the one identity it carries."""
    names = {
        stack.ref("azurerm_user_assigned_identity", i): i["name"]
        for i in stack.resources("azurerm_user_assigned_identity").values()
    }
    found = {}
    for vm in stack.resources("azurerm_linux_virtual_machine").values():
        if "identity" in vm:
            (identity,) = vm["identity"]["identity_ids"]
            found[vm["name"]] = names[identity]
    return found


def test_upstream_lists_the_actions_clouder_relies_on() -> None:
    # The facts below are only as good as the documents still saying them.
    assert "Microsoft.Network/applicationSecurityGroups/joinNetworkSecurityRule/action" in upstream(
        AZURE_PERMISSIONS
    )
    disk = upstream(DISK_PARAMETERS)
    for action in DISK_EXTRA:
        assert action in disk, action
    assert '"Storage Account Contributor" role to the CSI driver controller' in upstream(FILE_PARAMETERS)
    assert "ICMP 8/0" in upstream(CILIUM_REQUIREMENTS)


# cloud-provider-azure, azure-permissions.md ("Required to read application security group IDs while
# writing security rules"): Clouder's NSG rules name application security groups.
CCM_EXTRA = {
    "Microsoft.Network/applicationSecurityGroups/joinNetworkSecurityRule/action",
    "Microsoft.Network/networkSecurityGroups/join/action",
}
# azuredisk-csi-driver docs/driver-parameters.md, "required permissions for CSI driver controller": the VM a
# disk attaches to carries a user-assigned identity and a NIC.
DISK_EXTRA = {
    "Microsoft.Compute/diskEncryptionSets/read",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    "Microsoft.Network/networkInterfaces/join/action",
}
# azurefile-csi-driver docs/driver-parameters.md: "Storage Account Contributor" for the controller, which
# creates shares through the management API by default (useDataPlaneAPI: false).
FILE_SHARES = {
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Storage/storageAccounts/write",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Storage/storageAccounts/fileServices/shares/read",
    "Microsoft.Storage/storageAccounts/fileServices/shares/write",
    "Microsoft.Storage/storageAccounts/fileServices/shares/delete",
}
# What only the controllers may do: every write, delete and join/assign action.
CONTROLLER_WRITES = (
    {
        "Microsoft.Network/loadBalancers/write",
        "Microsoft.Network/publicIPAddresses/write",
        "Microsoft.Network/networkSecurityGroups/write",
        "Microsoft.Network/networkInterfaces/write",
        "Microsoft.Network/routeTables/routes/write",
        "Microsoft.Compute/disks/write",
        "Microsoft.Compute/disks/delete",
        "Microsoft.Compute/virtualMachines/write",
        "Microsoft.Storage/storageAccounts/write",
        "Microsoft.Storage/storageAccounts/listKeys/action",
    }
    | CCM_EXTRA
    | DISK_EXTRA - {"Microsoft.Compute/diskEncryptionSets/read"}
    | FILE_SHARES
)


@pytest.mark.parametrize("key", ["minimal", "ha"])
def test_control_plane_identity_holds_what_the_controllers_need_upstream(
    azure_stacks: dict[str, AzureStack], key: str
) -> None:
    stack = azure_stacks[key]
    held = role_actions(stack)[f"id-{stack.spec.name}-control-plane"]
    assert held >= CCM_EXTRA | DISK_EXTRA | FILE_SHARES, sorted((CCM_EXTRA | DISK_EXTRA | FILE_SHARES) - held)


@pytest.mark.parametrize("key", ["minimal", "ha"])
def test_workers_carry_only_the_node_identity_which_holds_no_controller_action(
    azure_stacks: dict[str, AzureStack], key: str
) -> None:
    stack = azure_stacks[key]
    name = stack.spec.name
    node_actions = role_actions(stack)[f"id-{name}-node"]
    assert node_actions == {
        "Microsoft.Compute/virtualMachines/read",
        "Microsoft.Network/networkInterfaces/read",
    }
    assert not node_actions & CONTROLLER_WRITES
    assert not [a for a in node_actions if not a.endswith("/read")]
    carried = vm_identities(stack)
    assert carried, "no VM carries an identity"
    for vm, identity in carried.items():
        want = "control-plane" if vm.startswith(f"{name}-cp-") else "node"
        assert identity == f"id-{name}-{want}", vm


def nsg_rule(stack: AzureStack, name: str) -> dict[str, Any]:
    (rule,) = [r for r in stack.resources("azurerm_network_security_rule").values() if r["name"] == name]
    return rule


# Cilium's system requirements (cilium_cilium@00c88111__Documentation_operations_system_requirements.rst
# .excerpt, "Firewall Rules"): ICMP 8/0 (echo request/reply) between nodes, for its health checks.
def test_cilium_health_icmp_is_allowed_between_nodes(azure_stacks: dict[str, AzureStack]) -> None:
    stack = azure_stacks["minimal"]
    rule = nsg_rule(stack, "cilium-icmp")
    assert (rule["protocol"], rule["access"], rule["destination_port_range"]) == ("Icmp", "Allow", "*")
    assert rule["priority"] < nsg_rule(stack, "deny-other-inbound")["priority"]
    assert rule["source_application_security_group_ids"] == rule["destination_application_security_group_ids"]


# Azure's default AllowVnetInBound admits the VirtualNetwork service tag: the VNet *and* peered and
# on-premises ranges. The final deny takes that whole tag; AllowAzureLoadBalancerInBound (probes) and
# DenyAllInBound (the Internet) stay in force below it.
def test_final_deny_takes_the_whole_virtual_network_tag(azure_stacks: dict[str, AzureStack]) -> None:
    for stack in azure_stacks.values():
        deny = nsg_rule(stack, "deny-other-inbound")
        found = (deny["access"], deny["source_address_prefix"], deny["destination_address_prefix"])
        assert found == ("Deny", "VirtualNetwork", "*")
        assert deny["protocol"] == "*" and deny["destination_port_range"] == "*"

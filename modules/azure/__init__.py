"""Azure constructs for a kubeadm cluster (``clouder.modules.azure``), AWS-CDK style.

Each construct takes a typed props dataclass and exposes typed attributes; the stack
``clouder.stacks.azure.AzureClusterStack`` composes them, and a user's own CDKTF app can too::

    from clouder.modules.azure import Network, NetworkProps, ResourceGroup, ResourceGroupProps, ZoneSubnets

    group = ResourceGroup(stack, "group", ResourceGroupProps(name="rg-demo", location="westeurope"))
    network = Network(stack, "network", NetworkProps(cluster_name="demo", resource_group=group,
                      cidr="10.1.0.0/16", zones=[ZoneSubnets("1", "10.1.0.0/24", "10.1.16.0/20")]))
    network.vnet_id, network.node_subnets[0].id

The constructs load the azurerm provider bindings (seconds, hundreds of MB), so this package imports them
lazily: ``clouder.modules.azure.userdata`` and ``.checkov_allowlist`` stay cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clouder.modules.azure.api_load_balancer import ApiLoadBalancer, ApiLoadBalancerProps
    from clouder.modules.azure.bastion import Bastion, BastionProps
    from clouder.modules.azure.identities import Identities, IdentitiesProps
    from clouder.modules.azure.network import Network, NetworkProps, SubnetRef, ZoneSubnets
    from clouder.modules.azure.nodes import NodeRef, Nodes, NodesProps
    from clouder.modules.azure.resource_group import ResourceGroup, ResourceGroupProps
    from clouder.modules.azure.security import Rule, Security, SecurityProps
    from clouder.modules.azure.vm import LinuxVm, LinuxVmProps, NodeImage

_EXPORTS = {
    "ApiLoadBalancer": "api_load_balancer",
    "ApiLoadBalancerProps": "api_load_balancer",
    "Bastion": "bastion",
    "BastionProps": "bastion",
    "Identities": "identities",
    "IdentitiesProps": "identities",
    "LinuxVm": "vm",
    "LinuxVmProps": "vm",
    "Network": "network",
    "NetworkProps": "network",
    "NodeImage": "vm",
    "NodeRef": "nodes",
    "Nodes": "nodes",
    "NodesProps": "nodes",
    "ResourceGroup": "resource_group",
    "ResourceGroupProps": "resource_group",
    "Rule": "security",
    "Security": "security",
    "SecurityProps": "security",
    "SubnetRef": "network",
    "ZoneSubnets": "network",
}

__all__ = [
    "ApiLoadBalancer",
    "ApiLoadBalancerProps",
    "Bastion",
    "BastionProps",
    "Identities",
    "IdentitiesProps",
    "LinuxVm",
    "LinuxVmProps",
    "Network",
    "NetworkProps",
    "NodeImage",
    "NodeRef",
    "Nodes",
    "NodesProps",
    "ResourceGroup",
    "ResourceGroupProps",
    "Rule",
    "Security",
    "SecurityProps",
    "SubnetRef",
    "ZoneSubnets",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

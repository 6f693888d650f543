"""Azure constructs for a kubeadm cluster (import as ``clouder.modules.azure``; imports the azurerm bindings).

Each construct takes a typed props dataclass and exposes typed attributes, AWS-CDK style; the stack
``clouder.stacks.azure.AzureClusterStack`` composes them, and a user's own CDKTF app can too.
"""

from clouder.modules.azure.api_load_balancer import ApiLoadBalancer, ApiLoadBalancerProps
from clouder.modules.azure.bastion import Bastion, BastionProps
from clouder.modules.azure.identity import Identity, IdentityProps
from clouder.modules.azure.network import Network, NetworkProps, SubnetRef, ZoneSubnets
from clouder.modules.azure.nodes import NodeRef, Nodes, NodesProps
from clouder.modules.azure.resource_group import ResourceGroup, ResourceGroupProps
from clouder.modules.azure.security import Rule, Security, SecurityProps
from clouder.modules.azure.vm import LinuxVm, LinuxVmProps, NodeImage

__all__ = [
    "ApiLoadBalancer",
    "ApiLoadBalancerProps",
    "Bastion",
    "BastionProps",
    "Identity",
    "IdentityProps",
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

"""Reusable CDKTF constructs for a kubeadm cluster on AWS (``clouder.modules.aws``).

Each construct takes a typed props dataclass and exposes typed attributes, as AWS CDK constructs do::

    from clouder.modules.aws import Network, NetworkProps, ZoneSubnets

    network = Network(stack, "network", NetworkProps(cluster_name="demo", cidr="10.0.0.0/16",
                      zones=[ZoneSubnets("us-east-1a", "10.0.0.0/24", "10.0.16.0/20")]))
    network.vpc_id, network.private_subnet_ids

The constructs load the AWS provider bindings (seconds, hundreds of MB), so this package imports them
lazily: ``clouder.modules.aws.userdata`` and ``checkov_allowlist`` stay cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clouder.modules.aws.addresses import AddressTags
    from clouder.modules.aws.api_load_balancer import ApiLoadBalancer, ApiLoadBalancerProps
    from clouder.modules.aws.bastion import Bastion, BastionProps
    from clouder.modules.aws.identities import Identities, IdentitiesProps
    from clouder.modules.aws.network import Network, NetworkProps, ZoneAttributes, ZoneSubnets
    from clouder.modules.aws.nodes import NodeAttributes, Nodes, NodesProps, Placement
    from clouder.modules.aws.provider import use_clouder_provider_constraint
    from clouder.modules.aws.security import Rule, Security, SecurityProps

_EXPORTS = {
    "AddressTags": "addresses",
    "ApiLoadBalancer": "api_load_balancer",
    "ApiLoadBalancerProps": "api_load_balancer",
    "Bastion": "bastion",
    "BastionProps": "bastion",
    "Identities": "identities",
    "IdentitiesProps": "identities",
    "Network": "network",
    "NetworkProps": "network",
    "ZoneAttributes": "network",
    "ZoneSubnets": "network",
    "NodeAttributes": "nodes",
    "Nodes": "nodes",
    "NodesProps": "nodes",
    "Placement": "nodes",
    "use_clouder_provider_constraint": "provider",
    "Rule": "security",
    "Security": "security",
    "SecurityProps": "security",
}

__all__ = [
    "AddressTags",
    "ApiLoadBalancer",
    "ApiLoadBalancerProps",
    "Bastion",
    "BastionProps",
    "Identities",
    "IdentitiesProps",
    "Network",
    "NetworkProps",
    "NodeAttributes",
    "Nodes",
    "NodesProps",
    "Placement",
    "Rule",
    "Security",
    "SecurityProps",
    "ZoneAttributes",
    "ZoneSubnets",
    "use_clouder_provider_constraint",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

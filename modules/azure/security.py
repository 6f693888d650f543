"""Network security groups that open only kubeadm's and the CNI's ports, and SSH and the API to admins.

Roles are application security groups (control planes, nodes, bastion), so a rule names a role rather than
addresses. Every rule is a separate ``azurerm_network_security_rule``: the Azure cloud controller adds its own
rules for LoadBalancer Services to the node NSG (priorities 500 and up), and inline rules would make Terraform
delete them on the next apply. Our allow rules use 100-499; a final deny at 4096 closes everything else that
Azure's ``AllowVnetInBound`` would admit: the ``VirtualNetwork`` tag, which is the VNet and also peered and
on-premises ranges. Azure's defaults still admit the load balancers' health probes (``AzureLoadBalancer``)
and deny the Internet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cdktf_cdktf_provider_azurerm.application_security_group import ApplicationSecurityGroup
from cdktf_cdktf_provider_azurerm.network_security_group import NetworkSecurityGroup
from cdktf_cdktf_provider_azurerm.network_security_rule import NetworkSecurityRule
from cdktf_cdktf_provider_azurerm.subnet_network_security_group_association import (
    SubnetNetworkSecurityGroupAssociation,
)
from constructs import Construct

from clouder.modules.azure.network import Network
from clouder.modules.azure.resource_group import ResourceGroup
from clouder.modules.common.ports import cluster_ports

Source = Literal["admins", "network", "nat", "control-planes", "nodes", "bastion", "virtual-network"]
Target = Literal["control-planes", "nodes", "bastion", "any"]

DENY_PRIORITY = 4096


@dataclass(frozen=True)
class SecurityProps:
    cluster_name: str
    resource_group: ResourceGroup
    network: Network
    admin_cidrs: Sequence[str]
    ssh_mode: Literal["bastion", "direct"]
    api_exposure: Literal["public", "private"]
    cni: str


@dataclass(frozen=True)
class Rule:
    """One inbound rule as Clouder means it (rendered into an ``azurerm_network_security_rule``)."""

    name: str
    priority: int
    protocol: Literal["Tcp", "Udp", "Icmp", "*"]
    ports: str
    source: Source
    target: Target
    why: str
    access: Literal["Allow", "Deny"] = "Allow"


class Security(Construct):
    """Attributes: ``node_nsg_name``/``node_nsg_id`` (the NSG the cloud controller writes to),
    ``public_nsg_name``, the role groups ``control_plane_asg_id``, ``node_asg_id``, ``bastion_asg_id``, and
    ``node_rules``/``public_rules`` (what was opened, and why)."""

    def __init__(self, scope: Construct, id_: str, props: SecurityProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        group = props.resource_group
        self._asgs = {
            role: ApplicationSecurityGroup(
                self,
                f"asg-{role}",
                name=f"asg-{props.cluster_name}-{role}",
                location=group.location,
                resource_group_name=group.name,
                tags=group.tags,
            ).id
            for role in ("control-planes", "nodes", "bastion")
        }
        self.control_plane_asg_id = self._asgs["control-planes"]
        self.node_asg_id = self._asgs["nodes"]
        self.bastion_asg_id = self._asgs["bastion"]
        self.node_rules = node_rules(props.cni, props.ssh_mode, props.api_exposure)
        self.public_rules = public_rules(props.ssh_mode)
        node_nsg = self._nsg("nodes", self.node_rules, [s.id for s in props.network.node_subnets])
        public_nsg = self._nsg("public", self.public_rules, [s.id for s in props.network.public_subnets])
        self.node_nsg_name: str = node_nsg.name
        self.node_nsg_id: str = node_nsg.id
        self.public_nsg_name: str = public_nsg.name

    def _nsg(self, role: str, rules: Sequence[Rule], subnet_ids: Sequence[str]) -> NetworkSecurityGroup:
        group = self._props.resource_group
        nsg = NetworkSecurityGroup(
            self,
            f"nsg-{role}",
            name=f"nsg-{self._props.cluster_name}-{role}",
            location=group.location,
            resource_group_name=group.name,
            tags=group.tags,
        )
        for rule in rules:
            source, source_groups = self._source(rule.source)
            NetworkSecurityRule(
                self,
                f"{role}-{rule.name}",
                name=rule.name,
                description=rule.why[:140],
                network_security_group_name=nsg.name,
                resource_group_name=group.name,
                priority=rule.priority,
                direction="Inbound",
                access=rule.access,
                protocol=rule.protocol,
                source_port_range="*",
                destination_port_range=rule.ports,
                source_address_prefix=source if isinstance(source, str) else None,
                source_address_prefixes=source if isinstance(source, list) else None,
                source_application_security_group_ids=source_groups,
                destination_address_prefix="*" if rule.target == "any" else None,
                destination_application_security_group_ids=None
                if rule.target == "any"
                else [self._asgs[rule.target]],
            )
        for index, subnet_id in enumerate(subnet_ids):
            SubnetNetworkSecurityGroupAssociation(
                self, f"nsg-{role}-assoc-{index}", subnet_id=subnet_id, network_security_group_id=nsg.id
            )
        return nsg

    def _source(self, source: Source) -> tuple[str | list[str] | None, list[str] | None]:
        """(address prefix or prefixes, application security groups) for a rule's source."""
        props = self._props
        if source == "admins":
            return list(props.admin_cidrs), None
        if source == "network":
            return props.network.cidr, None
        if source == "nat":
            return list(props.network.nat_public_ips), None
        if source == "virtual-network":
            return "VirtualNetwork", None
        return None, [self._asgs[source]]


def node_rules(cni: str, ssh_mode: str, api_exposure: str) -> list[Rule]:
    """The node subnets' inbound rules, in priority order."""
    ssh = Rule("ssh-from-bastion", 0, "Tcp", "22", "bastion", "nodes", "SSH only through the bastion")
    if ssh_mode == "direct":
        ssh = Rule("ssh-from-admins", 0, "Tcp", "22", "admins", "nodes", "SSH from the spec's admin CIDRs")
    rules = [
        ssh,
        Rule(
            "api-from-admins",
            0,
            "Tcp",
            "6443",
            "admins",
            "control-planes",
            "Kubernetes API from the spec's admin CIDRs (client addresses pass the load balancer)",
        ),
    ]
    if api_exposure == "public":
        rules.append(
            Rule(
                "api-from-nat",
                0,
                "Tcp",
                "6443",
                "nat",
                "control-planes",
                "nodes reach the public API endpoint from their NAT gateways' addresses",
            )
        )
    rules += [
        Rule(port.name, 0, port.protocol, port.ports, port.peers, port.targets, port.why)
        for port in cluster_ports(cni)
    ]
    numbered = [_numbered(rule, 100 + 10 * index) for index, rule in enumerate(rules)]
    numbered.append(
        Rule(
            "deny-other-inbound",
            DENY_PRIORITY,
            "*",
            "*",
            "virtual-network",
            "any",
            "close the rest of the VirtualNetwork tag: Azure's AllowVnetInBound also admits peered and "
            "on-premises ranges",
            "Deny",
        )
    )
    return numbered


def public_rules(ssh_mode: str) -> list[Rule]:
    """The public subnets' inbound rules: SSH to the bastion from the admin CIDRs, or nothing."""
    if ssh_mode != "bastion":
        return []
    return [
        Rule(
            "ssh-from-admins",
            100,
            "Tcp",
            "22",
            "admins",
            "bastion",
            "SSH to the bastion from the admin CIDRs",
        )
    ]


def _numbered(rule: Rule, priority: int) -> Rule:
    return Rule(
        rule.name, priority, rule.protocol, rule.ports, rule.source, rule.target, rule.why, rule.access
    )

"""Security: one security group per tier (control plane, nodes, API load balancer, bastion) and exactly the
ingress rules kubeadm, the CNI and the AWS Load Balancer Controller need.

Every node carries the ``nodes`` group (the only one tagged for the cluster, as the AWS cloud controller
requires); control planes carry ``control-plane`` as well. Sources are other groups wherever possible, and the
spec's admin CIDRs only for SSH and the Kubernetes API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.security_group_rule import SecurityGroupRule
from constructs import Construct

from clouder.modules.aws.tags import cluster_tag

Group = Literal["control-plane", "nodes", "load-balancer", "bastion"]
Protocol = Literal["tcp", "udp", "icmp", "4", "-1"]

API_PORT = 6443

# Ports each CNI needs between nodes: (protocol, from, to, what). ICMP: from = type, to = code.
CNI_PORTS: dict[str, tuple[tuple[Protocol, int, int, str], ...]] = {
    "cilium": (
        ("udp", 8472, 8472, "Cilium VXLAN overlay"),
        ("tcp", 4240, 4240, "Cilium health checks"),
        ("tcp", 4244, 4244, "Hubble server"),
        ("icmp", 8, 0, "Cilium health checks (ICMP echo)"),
    ),
    # Clouder renders Calico with BGP off and VXLAN (clouder.addons.cni): no BGP port, no IP-in-IP.
    "calico": (
        ("udp", 4789, 4789, "Calico VXLAN"),
        ("tcp", 5473, 5473, "Calico Typha"),
    ),
    "flannel": (("udp", 8472, 8472, "Flannel VXLAN overlay"),),
}


@dataclass(frozen=True)
class Rule:
    """One rule of ``group``: traffic from (ingress) or to (egress) a peer group or a peer CIDR."""

    group: Group
    protocol: Protocol
    from_port: int
    to_port: int
    description: str
    peer_group: Group | None = None
    peer_cidr: str | None = None
    direction: Literal["ingress", "egress"] = "ingress"


@dataclass(frozen=True)
class SecurityProps:
    cluster_name: str
    vpc_id: str
    admin_cidrs: Sequence[str]
    cni: str = "cilium"
    bastion: bool = True
    # Who may SSH to the nodes: the bastion (mode "bastion") or the admin CIDRs (mode "direct").
    ssh_to_nodes_from: Literal["bastion", "admins"] = "bastion"
    load_balancer_controller: bool = True
    # The cluster's own NAT gateway addresses, admitted to a public API endpoint (empty for an internal one).
    nat_public_ips: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


def security_rules(props: SecurityProps) -> list[Rule]:
    """The complete rule set for ``props``; the construct creates exactly these, nothing else."""
    rules = [
        Rule(
            "load-balancer",
            "tcp",
            API_PORT,
            API_PORT,
            "Kubernetes API from nodes (kubelet, join)",
            peer_group="nodes",
        ),
        Rule(
            "control-plane",
            "tcp",
            API_PORT,
            API_PORT,
            "Kubernetes API through the API load balancer",
            peer_group="load-balancer",
        ),
        Rule(
            "control-plane",
            "tcp",
            API_PORT,
            API_PORT,
            "Kubernetes API from nodes and pods (kubernetes Service)",
            peer_group="nodes",
        ),
        Rule(
            "control-plane",
            "tcp",
            2379,
            2380,
            "etcd client and peer, between control planes",
            peer_group="control-plane",
        ),
        Rule("nodes", "tcp", 10250, 10250, "kubelet API from the API server", peer_group="control-plane"),
        Rule(
            "nodes",
            "tcp",
            10256,
            10256,
            "kube-proxy health check from load balancers",
            peer_group="load-balancer",
        ),
        Rule(
            "nodes",
            "tcp",
            30000,
            32767,
            "NodePort Services from load balancers",
            peer_group="load-balancer",
        ),
    ]
    rules += [
        Rule("load-balancer", "tcp", API_PORT, API_PORT, "Kubernetes API from admins", peer_cidr=cidr)
        for cidr in props.admin_cidrs
    ]
    # Nodes in private subnets reach an internet-facing load balancer through their NAT gateways, so their
    # packets arrive from the NAT gateways' Elastic IPs, which no group reference matches.
    rules += [
        Rule(
            "load-balancer",
            "tcp",
            API_PORT,
            API_PORT,
            "Kubernetes API from the cluster NAT gateways (nodes reaching the public endpoint)",
            peer_cidr=f"{address}/32",
        )
        for address in props.nat_public_ips
    ]
    for protocol, low, high, what in CNI_PORTS[props.cni]:
        rules.append(Rule("nodes", protocol, low, high, what, peer_group="nodes"))
    if props.load_balancer_controller:
        rules.append(
            Rule(
                "nodes",
                "tcp",
                9443,
                9443,
                "AWS Load Balancer Controller webhook from the API server",
                peer_group="control-plane",
            )
        )
    if props.bastion:
        rules += [
            Rule("bastion", "tcp", 22, 22, "SSH from admins", peer_cidr=cidr) for cidr in props.admin_cidrs
        ]
        rules.append(
            Rule(
                "load-balancer",
                "tcp",
                API_PORT,
                API_PORT,
                "Kubernetes API through the bastion",
                peer_group="bastion",
            )
        )
    if props.ssh_to_nodes_from == "bastion":
        rules.append(Rule("nodes", "tcp", 22, 22, "SSH from the bastion", peer_group="bastion"))
    else:
        rules += [
            Rule("nodes", "tcp", 22, 22, "SSH from admins", peer_cidr=cidr) for cidr in props.admin_cidrs
        ]
    # Egress. Nodes reach package mirrors, image registries and AWS APIs (through NAT); the load balancer
    # only its targets; the bastion only the nodes (SSH) and the API load balancer.
    rules += [
        Rule(
            "nodes",
            "-1",
            0,
            0,
            "Nodes to anywhere (registries, packages, AWS APIs)",
            peer_cidr="0.0.0.0/0",
            direction="egress",
        ),
        Rule(
            "load-balancer",
            "tcp",
            API_PORT,
            API_PORT,
            "API load balancer to the API servers",
            peer_group="control-plane",
            direction="egress",
        ),
    ]
    if props.bastion:
        rules += [
            Rule(
                "bastion",
                "tcp",
                22,
                22,
                "Bastion to the nodes over SSH",
                peer_group="nodes",
                direction="egress",
            ),
            Rule(
                "bastion",
                "tcp",
                API_PORT,
                API_PORT,
                "Bastion to the Kubernetes API load balancer",
                peer_group="load-balancer",
                direction="egress",
            ),
        ]
    return rules


class Security(Construct):
    """The cluster's security groups and their rules."""

    control_plane_security_group_id: str
    node_security_group_id: str
    load_balancer_security_group_id: str
    bastion_security_group_id: str | None
    rules: list[Rule]

    def __init__(self, scope: Construct, id_: str, props: SecurityProps) -> None:
        super().__init__(scope, id_)
        name = props.cluster_name
        # The VPC's default group is never used: strip its rules so nothing lands in it open by mistake.
        DefaultSecurityGroup(
            self, "default", vpc_id=props.vpc_id, tags={**props.tags, "Name": f"{name}-default"}
        )

        purposes: dict[Group, str] = {
            "control-plane": "control-plane nodes: API server and etcd",
            "nodes": "every node: kubelet, CNI, NodePorts",
            "load-balancer": "the Kubernetes API load balancer",
            "bastion": "the SSH bastion",
        }
        groups: dict[Group, SecurityGroup] = {}
        for group, purpose in purposes.items():
            if group == "bastion" and not props.bastion:
                continue
            tags = {**props.tags, "Name": f"{name}-{group}"}
            if group == "nodes":
                tags |= cluster_tag(name)
            groups[group] = SecurityGroup(
                self,
                group,
                name=f"{name}-{group}",
                vpc_id=props.vpc_id,
                description=f"Clouder {name}: {purpose}",
                tags=tags,
            )

        # aws_security_group_rule rather than inline rules: the groups reference each other (a cycle inline).
        self.rules = security_rules(props)
        for index, rule in enumerate(self.rules):
            SecurityGroupRule(
                self,
                f"{rule.group}-{rule.direction}-{index}",
                type=rule.direction,
                security_group_id=groups[rule.group].id,
                protocol=rule.protocol,
                from_port=rule.from_port,
                to_port=rule.to_port,
                source_security_group_id=groups[rule.peer_group].id if rule.peer_group else None,
                cidr_blocks=[rule.peer_cidr] if rule.peer_cidr else None,
                description=rule.description,
            )

        self.control_plane_security_group_id = groups["control-plane"].id
        self.node_security_group_id = groups["nodes"].id
        self.load_balancer_security_group_id = groups["load-balancer"].id
        self.bastion_security_group_id = groups["bastion"].id if "bastion" in groups else None

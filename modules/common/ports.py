"""The ports a kubeadm cluster and its CNI need between hosts, as both clouds' firewalls open them.

Sources: kubeadm's "Ports and Protocols" page and each CNI's firewall requirements, for the encapsulated
(VXLAN) data path Clouder configures on every cloud. Ports that only listen on localhost (the scheduler's
10259, the controller manager's 10257) are deliberately absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Protocol = Literal["Tcp", "Udp", "Icmp"]
Peers = Literal["admins", "network", "control-planes", "nodes"]
Targets = Literal["control-planes", "nodes"]


@dataclass(frozen=True)
class PortRule:
    """One opening: ``protocol`` ``ports`` on ``targets``, reachable from ``peers``, and why."""

    name: str
    protocol: Protocol
    ports: str  # "6443" or "2379-2380" ("*" for ICMP)
    peers: Peers
    targets: Targets
    why: str


KUBEADM_PORTS: tuple[PortRule, ...] = (
    PortRule(
        "api-from-network",
        "Tcp",
        "6443",
        "network",
        "control-planes",
        "Kubernetes API for nodes, the bastion and internal load balancer clients",
    ),
    PortRule("etcd", "Tcp", "2379-2380", "control-planes", "control-planes", "etcd client and peer traffic"),
    PortRule("kubelet", "Tcp", "10250", "nodes", "nodes", "kubelet API (logs, exec, metrics)"),
    PortRule("nodeports", "Tcp", "30000-32767", "network", "nodes", "NodePort Services inside the network"),
)

CNI_PORTS: dict[str, tuple[PortRule, ...]] = {
    "cilium": (
        PortRule("cilium-vxlan", "Udp", "8472", "nodes", "nodes", "Cilium VXLAN overlay"),
        PortRule("cilium-health", "Tcp", "4240", "nodes", "nodes", "Cilium node-to-node health checks"),
        PortRule("cilium-hubble", "Tcp", "4244", "nodes", "nodes", "Hubble peer service"),
        PortRule(
            "cilium-icmp", "Icmp", "*", "nodes", "nodes", "Cilium node-to-node health checks (ICMP echo)"
        ),
    ),
    "calico": (
        PortRule(
            "calico-vxlan", "Udp", "4789", "nodes", "nodes", "Calico VXLAN overlay (Azure drops IP-in-IP)"
        ),
        PortRule("calico-typha", "Tcp", "5473", "nodes", "nodes", "Calico Typha agent connections"),
    ),
    "flannel": (PortRule("flannel-vxlan", "Udp", "8472", "nodes", "nodes", "flannel VXLAN overlay"),),
}


def cluster_ports(cni: str) -> tuple[PortRule, ...]:
    """Every in-cluster opening for a cluster running ``cni``."""
    return KUBEADM_PORTS + CNI_PORTS[cni]

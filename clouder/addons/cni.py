"""CNI values: Cilium (default), Calico (tigera-operator) or Flannel; the pod CIDR comes from the spec.

Cilium is the default: an eBPF datapath with NetworkPolicy (L3-L7) and flow visibility (Hubble), in VXLAN
overlay mode so it works the same on AWS and Azure without cloud routes, source/dest-check changes or
route tables. Calico (VXLAN, operator-managed) is the alternative for teams standardised on it; Flannel
is the smallest option but enforces no NetworkPolicy.
"""

from __future__ import annotations

from clouder.addons.context import AddonContext, Values


def cilium(ctx: AddonContext) -> Values:
    return {
        "cluster": {"name": ctx.spec.name},
        "ipam": {
            "mode": "cluster-pool",
            "operator": {
                "clusterPoolIPv4PodCIDRList": [ctx.spec.kubernetes.pod_cidr],
                "clusterPoolIPv4MaskSize": 24,
            },
        },
        "routingMode": "tunnel",
        "tunnelProtocol": "vxlan",
        "kubeProxyReplacement": False,  # kubeadm runs kube-proxy
        "operator": {"replicas": ctx.control_plane_replicas},
        # cronJob keeps Hubble's certificates out of the rendering: the default ("helm") renders new
        # certificates on every run, which would make every run a change.
        "hubble": {"enabled": True, "relay": {"enabled": False}, "ui": {"enabled": False},
                   "tls": {"auto": {"enabled": True, "method": "cronJob"}}},
        # The certificate Job is a post-install hook that tolerates no taint by default: on a cluster without
        # workers (or only tainted pools) it would never run and the release never finish. It tolerates
        # what the chart's own operator tolerates.
        "certgen": {"tolerations": [{"operator": "Exists"}]},
    }  # fmt: skip


def calico(ctx: AddonContext) -> Values:
    pool = {
        "cidr": ctx.spec.kubernetes.pod_cidr,
        "encapsulation": "VXLAN",
        "natOutgoing": "Enabled",
        "nodeSelector": "all()",
        "blockSize": 26,
    }
    return {
        "installation": {
            "enabled": True,
            "kubernetesProvider": "",
            "cni": {"type": "Calico"},
            "calicoNetwork": {"bgp": "Disabled", "ipPools": [pool]},
        },
        "apiServer": {"enabled": False},
    }


def flannel(ctx: AddonContext) -> Values:
    return {"podCidr": ctx.spec.kubernetes.pod_cidr, "flannel": {"backend": "vxlan"}}


BUILDERS = {"cilium": cilium, "calico": calico, "flannel": flannel}

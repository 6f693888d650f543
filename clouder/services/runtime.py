"""The runtime plane's guardrails: namespaces for agents, with policy written out by Clouder.

Each runtime namespace gets Pod Security Admission ``restricted`` (enforced, audited, warned), a default-deny
NetworkPolicy for ingress and egress, DNS egress to kube-dns, an explicit egress allowlist from the spec,
ingress from the managing services only, a ResourceQuota, a LimitRange, and a Role bound to the service
accounts of the services that manage runtime workloads (``runtime.managers``; a service's account carries
the service's name in the service's namespace). Nothing is left to provider defaults.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from clouder.catalog.services import SERVICE_PINS
from clouder.spec.model import ClusterSpec, RuntimeNamespace

Obj = dict[str, Any]
MANAGER_ROLE = "clouder-runtime-manager"
RUNTIME_LABEL = "clouder.dev/runtime"
IMDS = ipaddress.IPv4Network("169.254.169.254/32")  # AWS and Azure instance metadata
# What a managing service may do in a runtime namespace: run and observe workloads, never change policy.
MANAGER_RULES: list[Obj] = [
    {"apiGroups": [""], "resources": ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims",
                                      "serviceaccounts"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log", "events"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
]  # fmt: skip


def manager_accounts(spec: ClusterSpec) -> list[tuple[str, str]]:
    """(namespace, service account) of every managing service."""
    custom = {service.name: service.namespace for service in spec.services.custom}
    accounts = []
    for name in spec.runtime.managers:
        namespace = SERVICE_PINS[name].namespace if name in SERVICE_PINS else custom[name]
        accounts.append((namespace, name))
    return accounts


def manifests(spec: ClusterSpec) -> list[Obj]:
    found: list[Obj] = []
    for namespace in spec.runtime.namespaces:
        found += namespace_objects(spec, namespace)
    return found


def namespace_objects(spec: ClusterSpec, runtime: RuntimeNamespace) -> list[Obj]:
    name = runtime.name
    minor = "v{}.{}".format(*spec.kubernetes.minor)
    labels = {RUNTIME_LABEL: "true", "app.kubernetes.io/managed-by": "clouder"}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = "restricted"
        labels[f"pod-security.kubernetes.io/{mode}-version"] = minor
    accounts = manager_accounts(spec)
    objects: list[Obj] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}},
        _policy(name, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(name, "allow-dns", {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        }),
        _policy(name, "allow-from-managers", {
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "In",
                "values": sorted({ns for ns, _ in accounts}) or ["kube-system"]}]}}]}],
        }),
    ]  # fmt: skip
    if runtime.egress:
        egress = [
            {"to": [{"ipBlock": _ip_block(rule.cidr)}],
             "ports": [{"protocol": rule.protocol, "port": port} for port in rule.ports]}
            for rule in runtime.egress
        ]  # fmt: skip
        objects.append(_policy(name, "allow-egress", {"podSelector": {}, "policyTypes": ["Egress"],
                                                      "egress": egress}))  # fmt: skip
    quota, limits = runtime.quota, runtime.limits
    objects += [
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(name, "runtime-quota"),
         "spec": {"hard": {"requests.cpu": quota.cpu, "limits.cpu": quota.cpu,
                           "requests.memory": quota.memory, "limits.memory": quota.memory,
                           "pods": str(quota.pods)}}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(name, "runtime-limits"),
         "spec": {"limits": [{"type": "Container",
                              "default": {"cpu": limits.default_cpu, "memory": limits.default_memory},
                              "defaultRequest": {"cpu": limits.default_cpu, "memory": limits.default_memory},
                              "max": {"cpu": limits.max_cpu, "memory": limits.max_memory}}]}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(name, MANAGER_ROLE),
         "rules": MANAGER_RULES},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": _meta(name, MANAGER_ROLE),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": MANAGER_ROLE},
         "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}
                      for namespace, account in accounts]},
    ]  # fmt: skip
    return objects


def _ip_block(cidr: str) -> Obj:
    """An egress allowance that never reaches the instance metadata service (node credentials), even when
    the spec allows a range around it such as 0.0.0.0/0."""
    network = ipaddress.ip_network(cidr, strict=False)
    if isinstance(network, ipaddress.IPv4Network) and IMDS.subnet_of(network) and network != IMDS:
        return {"cidr": cidr, "except": [str(IMDS)]}
    return {"cidr": cidr}


def warnings(spec: ClusterSpec) -> list[str]:
    """What the runtime plane cannot promise on this cluster (said loudly at rollout)."""
    if spec.runtime.namespaces and spec.cni.plugin == "flannel":
        return [
            "cni.plugin flannel does not enforce NetworkPolicies: the runtime namespaces' default-deny, DNS "
            "and egress policies are written but NOT enforced (agents can reach anything, including other "
            "namespaces). Use cilium or calico for a runtime plane."
        ]
    return []


def _meta(namespace: str, name: str) -> Obj:
    return {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "clouder"}}


def _policy(namespace: str, name: str, spec: Obj) -> Obj:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(namespace, name),
            "spec": spec}  # fmt: skip

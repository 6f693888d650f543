"""Pinned service charts: the system services (upstream charts) and Clouder's core services.

This module is the single source of the built-in service names: the spec validates
``services.overrides`` against them and ``clouder.services.catalog`` gives each one its values builder,
dependencies and readiness. A core service's repository is the spec's ``services.coreRepository``
(``repository=None`` here). Bump a pin here, one at a time, and re-run tests/services (which serve
stand-in charts under these names and versions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Tier = Literal["system", "core"]


@dataclass(frozen=True)
class ServicePin:
    name: str
    tier: Tier
    chart: str
    version: str
    namespace: str
    repository: str | None = None  # None: the spec's services.coreRepository

    def __post_init__(self) -> None:
        if not self.version or self.version in {"latest", "*"}:
            raise ValueError(f"service {self.name}: pin a chart version")


def _core(name: str, version: str) -> ServicePin:
    return ServicePin(name, "core", f"clouder-{name}", version, f"clouder-{name}")


SERVICE_PINS: dict[str, ServicePin] = {
    pin.name: pin
    for pin in (
        ServicePin("ingress", "system", "ingress-nginx", "4.13.3", "ingress",
                   "https://kubernetes.github.io/ingress-nginx"),
        ServicePin("cert-manager", "system", "cert-manager", "v1.19.1", "cert-manager",
                   "https://charts.jetstack.io"),
        ServicePin("observability", "system", "opentelemetry-kube-stack", "0.11.1", "observability",
                   "https://open-telemetry.github.io/opentelemetry-helm-charts"),
        ServicePin("messaging", "system", "strimzi-kafka-operator", "0.48.0", "messaging",
                   "https://strimzi.io/charts/"),
        ServicePin("object-storage", "system", "minio", "5.4.0", "object-storage", "https://charts.min.io/"),
        ServicePin("shared-filesystem", "system", "csi-driver-nfs", "4.12.1", "shared-filesystem",
                   "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts"),
        ServicePin("secrets", "system", "vault", "0.31.0", "secrets", "https://helm.releases.hashicorp.com"),
        ServicePin("authorization", "system", "openfga", "0.2.45", "authorization",
                   "https://openfga.github.io/helm-charts"),
        ServicePin("search", "system", "solr-operator", "0.9.1", "search", "https://solr.apache.org/charts"),
        _core("operator", "0.9.0"),
        _core("iam", "0.9.0"),
        _core("runtimes", "0.9.0"),
        _core("library", "0.9.0"),
        _core("spacer", "0.9.0"),
        _core("ai-agents", "0.9.0"),
        _core("functions", "0.9.0"),
        _core("scheduler", "0.9.0"),
        _core("spider", "0.9.0"),
        _core("manager", "0.9.0"),
        _core("status", "0.9.0"),
    )
}  # fmt: skip

SYSTEM_SERVICES: tuple[str, ...] = tuple(p.name for p in SERVICE_PINS.values() if p.tier == "system")
CORE_SERVICES: tuple[str, ...] = tuple(p.name for p in SERVICE_PINS.values() if p.tier == "core")
BUILTIN_SERVICES: tuple[str, ...] = SYSTEM_SERVICES + CORE_SERVICES
# The runtime plane (namespaces for agents, with their guardrails) rolls out as a step of the DAG too.
RUNTIME_PLANE = "runtime-plane"

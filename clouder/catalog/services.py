"""Pinned service charts: the system services (upstream charts) and Clouder's core services.

This module is the single source of the built-in service names: the spec validates
``services.overrides`` against them and ``clouder.services.catalog`` gives each one its values builder,
dependencies and readiness. A core service's repository is the spec's ``services.coreRepository``
(``repository=None`` here). Bump a pin here, one at a time, and re-run tests/services (which serve
stand-in charts under these names and versions). ``digest`` is the sha256 of an upstream chart's archive as
its repository's ``index.yaml`` lists it (see clouder/catalog/charts.py; the comment beside each pin names
the file); ``None`` where it could not be read (docs/gitops.md lists them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from clouder.catalog.charts import DIGEST

Tier = Literal["system", "core"]


@dataclass(frozen=True)
class ServicePin:
    name: str
    tier: Tier
    chart: str
    version: str
    namespace: str
    repository: str | None = None  # None: the spec's services.coreRepository
    digest: str | None = None  # sha256 of the upstream archive; None: not recorded

    def __post_init__(self) -> None:
        if not self.version or self.version in {"latest", "*"}:
            raise ValueError(f"service {self.name}: pin a chart version")
        if self.digest is not None and not DIGEST.fullmatch(self.digest):
            raise ValueError(f"service {self.name}: digest must be sha256:<64 hex digits>")


def _core(name: str, version: str) -> ServicePin:
    return ServicePin(name, "core", f"clouder-{name}", version, f"clouder-{name}")


SERVICE_PINS: dict[str, ServicePin] = {
    pin.name: pin
    for pin in (
        # github.com/kubernetes/ingress-nginx, branch gh-pages, index.yaml
        ServicePin("ingress", "system", "ingress-nginx", "4.13.3", "ingress",
                   "https://kubernetes.github.io/ingress-nginx",
                   "sha256:616437d8121bd8b558bd3651c00ded094649235f714f0a6980fbb76bf5ba59b0"),
        # not recorded: charts.jetstack.io's index.yaml is in no repository
        ServicePin("cert-manager", "system", "cert-manager", "v1.19.1", "cert-manager",
                   "https://charts.jetstack.io"),
        # github.com/open-telemetry/opentelemetry-helm-charts, branch gh-pages, index.yaml
        ServicePin("observability", "system", "opentelemetry-kube-stack", "0.11.1", "observability",
                   "https://open-telemetry.github.io/opentelemetry-helm-charts",
                   "sha256:d01562a51d1a56959f9dda91f618950313e22bb6317fc18c3b5b408fa0e26413"),
        # github.com/strimzi/strimzi.github.io, branch main, charts/index.yaml
        ServicePin("messaging", "system", "strimzi-kafka-operator", "0.48.0", "messaging",
                   "https://strimzi.io/charts/",
                   "sha256:158ae5d1a72fa01fbef8e070d2531e75c5aa321d26bb149c59b771e9380cbff0"),
        # github.com/minio/minio, branch master, index.yaml (served as charts.min.io)
        ServicePin("object-storage", "system", "minio", "5.4.0", "object-storage", "https://charts.min.io/",
                   "sha256:25fa2740480d1ebc9e64340854a6c42d3a7bc39c2a77378da91b21f144faa9af"),
        # github.com/kubernetes-csi/csi-driver-nfs, branch master, charts/index.yaml
        ServicePin("shared-filesystem", "system", "csi-driver-nfs", "4.12.1", "shared-filesystem",
                   "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts",
                   "sha256:4925f3d47143a223a8959348863f47cf59209d1cfbad9e61e79919c85db2e843"),
        # not recorded: helm.releases.hashicorp.com's index.yaml is in no repository
        ServicePin("secrets", "system", "vault", "0.31.0", "secrets", "https://helm.releases.hashicorp.com"),
        # github.com/openfga/helm-charts, branch gh-pages, index.yaml
        ServicePin("authorization", "system", "openfga", "0.2.45", "authorization",
                   "https://openfga.github.io/helm-charts",
                   "sha256:ee02eee0803d6057f2bb5946677494cb67a37dc8dbd6725970705444df6c96e7"),
        # not recorded: solr.apache.org/charts redirects to nightlies.apache.org (index in no repository)
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

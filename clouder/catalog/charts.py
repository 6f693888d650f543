"""Pinned add-on charts: repository URL, chart name, version and namespace, one entry per add-on.

Pins were taken from the upstream repositories when this catalog was written; bump them here, one at a
time, and re-run the add-on tests (which serve stand-in charts under these names and versions).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

MIRROR_ENV = "CLOUDER_CHART_MIRROR"


@dataclass(frozen=True)
class ChartEntry:
    release: str
    repository: str
    chart: str
    version: str
    namespace: str

    def __post_init__(self) -> None:
        if not self.version or self.version in {"latest", "*"}:
            raise ValueError(f"chart {self.chart}: pin a version")


CHARTS: dict[str, ChartEntry] = {
    entry.release: entry
    for entry in (
        ChartEntry("cilium", "https://helm.cilium.io/", "cilium", "1.18.3", "kube-system"),
        ChartEntry("calico", "https://docs.tigera.io/calico/charts", "tigera-operator", "v3.30.3",
                   "tigera-operator"),
        ChartEntry("flannel", "https://flannel-io.github.io/flannel/", "flannel", "v0.27.4", "kube-flannel"),
        ChartEntry("aws-cloud-controller-manager", "https://kubernetes.github.io/cloud-provider-aws",
                   "aws-cloud-controller-manager", "0.0.9", "kube-system"),
        ChartEntry("aws-ebs-csi-driver", "https://kubernetes-sigs.github.io/aws-ebs-csi-driver",
                   "aws-ebs-csi-driver", "2.50.0", "kube-system"),
        ChartEntry("aws-load-balancer-controller", "https://aws.github.io/eks-charts",
                   "aws-load-balancer-controller", "1.14.1", "kube-system"),
        ChartEntry("cloud-provider-azure",
                   "https://raw.githubusercontent.com/kubernetes-sigs/cloud-provider-azure/master/helm/repo",
                   "cloud-provider-azure", "1.34.3", "kube-system"),
        ChartEntry("azuredisk-csi-driver",
                   "https://raw.githubusercontent.com/kubernetes-sigs/azuredisk-csi-driver/master/charts",
                   "azuredisk-csi-driver", "v1.33.5", "kube-system"),
        ChartEntry("azurefile-csi-driver",
                   "https://raw.githubusercontent.com/kubernetes-sigs/azurefile-csi-driver/master/charts",
                   "azurefile-csi-driver", "v1.34.1", "kube-system"),
    )
}  # fmt: skip

# Controller images that must match the cluster's Kubernetes minor (charts pick them from
# .Capabilities.KubeVersion, which an offline render does not know).
AWS_CCM_IMAGE_TAGS: dict[tuple[int, int], str] = {(1, 32): "v1.32.3", (1, 33): "v1.33.1", (1, 34): "v1.34.0"}
AZURE_CCM_IMAGE_TAGS: dict[tuple[int, int], str] = {
    (1, 32): "v1.32.9",
    (1, 33): "v1.33.4",
    (1, 34): "v1.34.1",
}


@dataclass(frozen=True)
class Catalog:
    """The chart pins one run uses; ``mirror`` replaces every repository URL (air-gapped installs, tests)."""

    charts: dict[str, ChartEntry]
    mirror: str | None = None

    def __getitem__(self, release: str) -> ChartEntry:
        entry = self.charts[release]
        return replace(entry, repository=self.mirror) if self.mirror else entry

    def with_version(self, release: str, version: str) -> Catalog:
        return Catalog({**self.charts, release: replace(self.charts[release], version=version)}, self.mirror)


def default_catalog(mirror: str | None = None) -> Catalog:
    return Catalog(dict(CHARTS), mirror or os.environ.get(MIRROR_ENV) or None)

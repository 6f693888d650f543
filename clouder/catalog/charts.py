"""Pinned add-on charts: repository URL, chart name, version, sha256 digest and namespace, one per add-on.

Pins were taken from the upstream repositories when this catalog was written; bump them here, one at a
time, and re-run the add-on tests (which serve stand-in charts under these names and versions).

``digest`` is the sha256 of the chart archive, as the repository's ``index.yaml`` lists it; a pulled
archive that does not match is refused before it is rendered. ``None`` means "not recorded yet": the
digests of the upstream archives could not be read from this project's build machines (no route to the
chart repositories), so these entries are pinned by version only until someone with access records them
(``sha256sum`` of the archive ``helm pull`` fetched, or the ``digest:`` of the entry in the repository's
index.yaml). A mirror that republishes charts (air-gapped installs, the tests' loopback repository) names
its own digests in the file ``CLOUDER_CHART_DIGESTS`` points at (YAML: ``CHART@VERSION: sha256:…``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from clouder.errors import BadInputError

MIRROR_ENV = "CLOUDER_CHART_MIRROR"
DIGESTS_ENV = "CLOUDER_CHART_DIGESTS"
CHART_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def check_repository(url: str, what: str) -> None:
    """https or oci only (plain http only on loopback: a local mirror); never a local path."""
    parts = urlsplit(url)
    if parts.scheme in ("https", "oci") and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return
    raise BadInputError(
        f"{what}: chart repository {url!r} is not an https:// or oci:// URL.",
        "Charts come from https or oci repositories only (plain http could be rewritten on the way; a "
        "local path is not a pinned chart).",
    )


@dataclass(frozen=True)
class ChartEntry:
    release: str
    repository: str
    chart: str
    version: str
    namespace: str
    digest: str | None = None  # sha256 of the archive; None: not recorded (see the module docstring)

    def __post_init__(self) -> None:
        if not self.version or self.version in {"latest", "*"}:
            raise ValueError(f"chart {self.chart}: pin a version")
        if not CHART_NAME.fullmatch(self.chart):
            raise BadInputError(
                f"{self.release}: chart name {self.chart!r} is not a chart name (lowercase letters, digits, "
                "dots and dashes).",
                "Name the chart as its repository's index lists it; a path is not allowed.",
            )
        if not re.fullmatch(r"v?[0-9A-Za-z.+-]+", self.version):
            raise BadInputError(f"{self.release}: chart version {self.version!r} is not a version.")
        if self.digest is not None and not DIGEST.fullmatch(self.digest):
            raise ValueError(f"chart {self.chart}: digest must be sha256:<64 hex digits>")
        check_repository(self.repository, self.release)


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
    digests: dict[str, str] = field(default_factory=dict)  # "CHART@VERSION" -> digest, for a mirror

    def __getitem__(self, release: str) -> ChartEntry:
        entry = self.charts[release]
        own = self.digests.get(f"{entry.chart}@{entry.version}")
        if own is not None:
            entry = replace(entry, digest=own)
        return replace(entry, repository=self.mirror) if self.mirror else entry

    def with_version(self, release: str, version: str) -> Catalog:
        """Another version of one chart: its digest is the mirror's for that version, or not recorded."""
        bumped = replace(self.charts[release], version=version, digest=None)
        return Catalog({**self.charts, release: bumped}, self.mirror, self.digests)


def read_digests(path: Path) -> dict[str, str]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BadInputError(f"{DIGESTS_ENV}={path}: cannot read it ({exc}).") from None
    if not isinstance(document, dict) or not all(
        isinstance(v, str) and DIGEST.fullmatch(v) for v in document.values()
    ):
        raise BadInputError(f"{DIGESTS_ENV}={path}: write one `CHART@VERSION: sha256:<hex>` per line.")
    return {str(key): str(value) for key, value in document.items()}


def default_catalog(mirror: str | None = None) -> Catalog:
    digests_file = os.environ.get(DIGESTS_ENV)
    digests = read_digests(Path(digests_file)) if digests_file else {}
    return Catalog(dict(CHARTS), mirror or os.environ.get(MIRROR_ENV) or None, digests)

"""Pinned add-on charts: repository URL, chart name, version, sha256 digest and namespace, one per add-on.

Pins were taken from the upstream repositories when this catalog was written; bump them here, one at a
time, and re-run the add-on tests (which serve stand-in charts under these names and versions).

``digest`` is the sha256 of the chart archive, exactly as the ``digest:`` of that version's entry in the
repository's ``index.yaml`` lists it (the comment beside each pin names the file it was read from); a pulled
archive that does not match is refused before it is rendered, and so is a cached one. ``None`` means "not
recorded": the repository's index could not be read when the pin was set, so that chart is pinned by version
only (docs/gitops.md lists these charts and where their digests can be read). Bumping a version means
recording the new version's digest from the index too, never one computed from a downloaded archive alone.
A mirror that republishes charts under other bytes (air-gapped installs, the tests' loopback repository)
names its own digests in the file ``CLOUDER_CHART_DIGESTS`` points at (YAML: ``CHART@VERSION: sha256:…``);
a mirror that serves the upstream archives unchanged needs no such file.
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
        # github.com/cilium/charts, branch master, index.yaml (served as helm.cilium.io)
        ChartEntry("cilium", "https://helm.cilium.io/", "cilium", "1.18.3", "kube-system",
                   "sha256:ab93b9f4bb186374f87850b154f634568ec9baab4ada0d4077ecb2a710e83067"),
        # not recorded: docs.tigera.io/calico/charts proxies an S3 bucket, its index.yaml is in no repository
        ChartEntry("calico", "https://docs.tigera.io/calico/charts", "tigera-operator", "v3.30.3",
                   "tigera-operator"),
        # not recorded: the index is the GitHub Pages site of flannel-io/flannel; no copy of it could be read
        ChartEntry("flannel", "https://flannel-io.github.io/flannel/", "flannel", "v0.27.4", "kube-flannel"),
        # github.com/kubernetes/cloud-provider-aws, branch gh-pages, index.yaml
        ChartEntry("aws-cloud-controller-manager", "https://kubernetes.github.io/cloud-provider-aws",
                   "aws-cloud-controller-manager", "0.0.9", "kube-system",
                   "sha256:9a22d3632a323407874d28893952b12694676677c37a4edfc85729c3988fe3af"),
        # github.com/kubernetes-sigs/aws-ebs-csi-driver, branch gh-pages, index.yaml
        ChartEntry("aws-ebs-csi-driver", "https://kubernetes-sigs.github.io/aws-ebs-csi-driver",
                   "aws-ebs-csi-driver", "2.50.0", "kube-system",
                   "sha256:ae7d09a5eeda78f3b41a8e9ddc4dbcdecdb53ed9caacef1f48583ee721be8162"),
        # github.com/aws/eks-charts, branch gh-pages, index.yaml
        ChartEntry("aws-load-balancer-controller", "https://aws.github.io/eks-charts",
                   "aws-load-balancer-controller", "1.14.1", "kube-system",
                   "sha256:5b9f5bf3d7295d0c61eda2a7aea8c7f3369d51eca406c3dc032b84eacc3893d3"),
        # github.com/kubernetes-sigs/cloud-provider-azure, branch master, helm/repo/index.yaml
        ChartEntry("cloud-provider-azure",
                   "https://raw.githubusercontent.com/kubernetes-sigs/cloud-provider-azure/master/helm/repo",
                   "cloud-provider-azure", "1.34.3", "kube-system",
                   "sha256:cac8189e7f783fe4a22e636347c928cdf2316377df7661da5faa2d034c29bd61"),
        # github.com/kubernetes-sigs/azuredisk-csi-driver, branch master, charts/index.yaml (entry 1.33.5)
        ChartEntry("azuredisk-csi-driver",
                   "https://raw.githubusercontent.com/kubernetes-sigs/azuredisk-csi-driver/master/charts",
                   "azuredisk-csi-driver", "v1.33.5", "kube-system",
                   "sha256:e391c0ff8947fc3370d077e480120ba0fc17b1527eab3d110d8d36cc824dcbd9"),
        # github.com/kubernetes-sigs/azurefile-csi-driver, branch master, charts/index.yaml (entry 1.34.1)
        ChartEntry("azurefile-csi-driver",
                   "https://raw.githubusercontent.com/kubernetes-sigs/azurefile-csi-driver/master/charts",
                   "azurefile-csi-driver", "v1.34.1", "kube-system",
                   "sha256:6df4402cef98a2d1956e9937c78a9ec696c9fe988e3e0f70ae36b8102b33b12d"),
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


def mirror_digests() -> dict[str, str]:
    """The digests a mirror names for the archives it republishes (``CLOUDER_CHART_DIGESTS``), if any."""
    digests_file = os.environ.get(DIGESTS_ENV)
    return read_digests(Path(digests_file)) if digests_file else {}


def default_catalog(mirror: str | None = None) -> Catalog:
    return Catalog(dict(CHARTS), mirror or os.environ.get(MIRROR_ENV) or None, mirror_digests())

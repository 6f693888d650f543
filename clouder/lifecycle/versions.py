"""Kubernetes versions for day-2 work: upgrade paths (one minor at a time) and package versions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from clouder.catalog.kubernetes import PINNED_RELEASES
from clouder.clouds import CloudRegistry
from clouder.errors import BadInputError
from clouder.spec.model import ClusterSpec

# cloud -> "module:attribute" of the pkgs.k8s.io package revision its nodes install.
PACKAGE_REVISIONS: CloudRegistry[str] = CloudRegistry(
    "the Kubernetes versions",
    {
        "aws": "clouder.catalog.aws:KUBERNETES_PACKAGE_REVISION",
        "azure": "clouder.catalog.azure:KUBERNETES_PACKAGE_REVISION",
    },
)
_RELEASE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


class UpgradePathError(BadInputError):
    """A skipped minor, a downgrade, or a release Clouder does not pin: refused before anything changes."""


def parse(version: str) -> tuple[int, int, int]:
    match = _RELEASE.match(version.strip())
    if match is None:
        raise BadInputError(f"{version!r} is not a Kubernetes release like 1.33.5.")
    return int(match[1]), int(match[2]), int(match[3])


def text(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def package_version(spec: ClusterSpec, release: str) -> str:
    """The pkgs.k8s.io package version of a release ("1.34.1" -> "1.34.1-1.1"), per the cloud's catalog."""
    return f"{text(parse(release))}-{PACKAGE_REVISIONS[spec.cloud]}"


@dataclass(frozen=True)
class UpgradePath:
    lowest: str  # the oldest version found on any node (what the cluster still runs somewhere)
    highest: str
    target: str

    @property
    def done(self) -> bool:
        return parse(self.lowest) == parse(self.target)


def check_path(lowest: str, highest: str, target: str) -> UpgradePath:
    """Allow only target == current + one minor (any patch), or finishing an interrupted upgrade."""
    low, high, want = parse(lowest), parse(highest), parse(target)
    if want[:2] not in PINNED_RELEASES:
        raise UpgradePathError(
            f"Kubernetes {want[0]}.{want[1]} is not a release Clouder pins "
            f"({', '.join(PINNED_RELEASES.values())}).",
            "Set kubernetes.version to the pinned release of the next minor.",
        )
    if want < high:
        raise UpgradePathError(
            f"refusing to downgrade: nodes already run {text(high)}, the spec asks for {text(want)}.",
            "kubeadm cannot downgrade a cluster; restore from a backup instead.",
        )
    if want[0] != low[0] or want[1] > low[1] + 1:
        step = f"{low[0]}.{low[1] + 1}"
        pinned = PINNED_RELEASES.get((low[0], low[1] + 1))
        raise UpgradePathError(
            f"refusing to skip a minor version: the cluster runs {text(low)}, "
            f"the spec asks for {text(want)}.",
            f"Upgrade one minor at a time: first to {pinned or step}, then on.",
        )
    return UpgradePath(text(low), text(high), text(want))

"""Pinned packages of a cluster node, the same on every cloud (all run Ubuntu 24.04 LTS).

Each cloud's catalog re-exports these under the same names, next to its own image pin.
"""

from __future__ import annotations

from clouder.catalog.kubernetes import PINNED_RELEASES

# containerd from Docker's apt repository: unlike Ubuntu's archive, which lists only the newest build of a
# package, it keeps every published version, so a pinned version stays installable. It bundles runc.
CONTAINERD_PACKAGE = "containerd.io"
# 1.7.29: fixes CVE-2024-25621 and CVE-2025-64329 (1.7.28 is affected). Still the 1.7 line, not 2.x: the
# preparation script edits 1.7's config (``SystemdCgroup``, ``sandbox_image``), which 2.x's config version 3
# moved and renamed; the move to 2.x (which the kubelet's container checkpoint API needs) is its own change.
CONTAINERD_PACKAGE_VERSION = "1.7.29-1~ubuntu.24.04~noble"
CONTAINERD_APT_SOURCE = "https://download.docker.com/linux/ubuntu noble stable"
CONTAINERD_APT_KEY_URL = "https://download.docker.com/linux/ubuntu/gpg"
CONTAINERD_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"

# pkgs.k8s.io: one apt repository per minor; package versions are "<release>-<revision>".
KUBERNETES_PACKAGE_REVISION = "1.1"
KUBERNETES_APT_KEY_FINGERPRINT = "DE15B14486CD377B9E876E1A234654DA9A296436"

# The sandbox ("pause") image kubeadm expects for each pinned minor.
PAUSE_IMAGES: dict[tuple[int, int], str] = {
    (1, 32): "registry.k8s.io/pause:3.10",
    (1, 33): "registry.k8s.io/pause:3.10",
    (1, 34): "registry.k8s.io/pause:3.10.1",
}
assert set(PAUSE_IMAGES) == set(PINNED_RELEASES), "every pinned minor needs its pause image"


def pause_image(release: str) -> str:
    """The pause image for a pinned release; an unpinned release is refused."""
    major, minor, _ = release.split(".")
    try:
        return PAUSE_IMAGES[(int(major), int(minor))]
    except KeyError:
        raise ValueError(f"Kubernetes {release} is not a pinned release") from None

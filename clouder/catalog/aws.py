"""Pinned AWS facts: the provider constraint, the node image and what an AWS node installs.

Kubernetes releases themselves are pinned in ``clouder.catalog.kubernetes``; this module pins what an AWS
node runs around them. Nothing here is ``latest``: a change of any value is a reviewed change. The package
pins match ``clouder.catalog.azure``'s (both clouds run the same Ubuntu release) under the same names.
"""

from __future__ import annotations

from clouder.catalog.kubernetes import PINNED_RELEASES

# The AWS provider the bindings were generated for is 5.99.1; accept later 5.x patches and minors
# (e.g. the 5.100.0 in the test machines' mirror) but never 6.x.
AWS_PROVIDER_CONSTRAINT = "~> 5.99"

# Ubuntu 24.04 LTS (noble), amd64, gp3 root, published by Canonical. The image is pinned by its exact,
# immutable serial name and owner: Canonical publishes one image of that name per region, so the lookup
# resolves to the same AMI in a region every time. A spec may name its own AMI instead (``aws.ami``).
UBUNTU_IMAGE_OWNER = "099720109477"
UBUNTU_IMAGE_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20251022"

# containerd from Docker's apt repository: unlike Ubuntu's archive, which lists only the newest build of a
# package, it keeps every published version, so a pinned version stays installable. It bundles runc.
CONTAINERD_PACKAGE = "containerd.io"
CONTAINERD_PACKAGE_VERSION = "1.7.28-1~ubuntu.24.04~noble"
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

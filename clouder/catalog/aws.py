"""Pinned AWS facts: the node image, the node packages and the provider constraint.

Kubernetes releases themselves are pinned in ``clouder.catalog.kubernetes``; this module pins what an AWS
node installs around them. Nothing here is ``latest``: a change of any value is a reviewed change.
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
UBUNTU_DEFAULT_USER = "ubuntu"

# Ubuntu noble's containerd (archive package; the 1.7 line is what Kubernetes 1.32-1.34 are tested with).
CONTAINERD_PACKAGE_VERSION = "1.7.28-0ubuntu1~24.04.1"
# The sandbox ("pause") image kubeadm expects for the pinned releases.
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"

# pkgs.k8s.io: one apt repository per minor; package versions are "<release>-<revision>".
KUBERNETES_PACKAGE_REVISION = "1.1"
KUBERNETES_APT_KEY_FINGERPRINT = "DE15B14486CD377B9E876E1A234654DA9A296436"


def kubernetes_package_version(release: str) -> str:
    """The deb version of kubeadm/kubelet/kubectl for a pinned release, e.g. ``1.33.5-1.1``."""
    major, minor, _ = release.split(".")
    if (int(major), int(minor)) not in PINNED_RELEASES:
        raise ValueError(f"Kubernetes {release} is not a pinned release")
    return f"{release}-{KUBERNETES_PACKAGE_REVISION}"


def kubernetes_apt_channel(release: str) -> str:
    """The pkgs.k8s.io channel of a release, e.g. ``v1.33``."""
    major, minor, _ = release.split(".")
    return f"v{major}.{minor}"

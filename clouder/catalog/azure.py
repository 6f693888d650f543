"""Pinned Azure facts: the azurerm provider, the node image and what an Azure node installs.

Kubernetes releases themselves are pinned in ``clouder.catalog.kubernetes``; the node image a spec uses is
``azure.image`` in the spec (its default below is the same pin). Nothing here is ``latest``: a change of any
value is a reviewed change.
"""

from __future__ import annotations

from clouder.catalog.kubernetes import PINNED_RELEASES

# The bindings (cdktf-cdktf-provider-azurerm 13.30.0) were generated for azurerm 4.31.0: accept later 4.x.
AZURERM_PROVIDER_CONSTRAINT = "~> 4.31"

# Ubuntu 24.04 LTS (noble) from Canonical, pinned by its exact image version (also the spec's default).
IMAGE_PUBLISHER = "Canonical"
IMAGE_OFFER = "ubuntu-24_04-lts"
IMAGE_SKU = "server"
IMAGE_VERSION = "24.04.202510010"

# Managed disk types: Premium SSD for nodes (etcd needs low fsync latency), Standard SSD for the bastion.
NODE_OS_DISK_TYPE = "Premium_LRS"
BASTION_OS_DISK_TYPE = "StandardSSD_LRS"
BASTION_OS_DISK_GB = 30

# containerd from Docker's apt repository: unlike Ubuntu's archive, which lists only the newest build of a
# package, it keeps every published version, so a pinned version stays installable. It bundles runc.
CONTAINERD_PACKAGE = "containerd.io"
CONTAINERD_PACKAGE_VERSION = "1.7.28-1~ubuntu.24.04~noble"
CONTAINERD_APT_SOURCE = "https://download.docker.com/linux/ubuntu noble stable"
CONTAINERD_APT_KEY_URL = "https://download.docker.com/linux/ubuntu/gpg"
CONTAINERD_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"

# pkgs.k8s.io: one apt repository per minor, package versions "<release>-<revision>".
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
    major, minor, _ = release.split(".")
    return PAUSE_IMAGES[(int(major), int(minor))]

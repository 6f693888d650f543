"""Pinned Azure facts: the azurerm provider, the node image and what an Azure node installs.

Kubernetes releases themselves are pinned in ``clouder.catalog.kubernetes``; the node image a spec uses is
``azure.image`` in the spec (its default below is the same pin). Nothing here is ``latest``: a change of any
value is a reviewed change. The node package pins are the clouds' shared ones (``clouder.catalog.nodes``),
re-exported under the same names.
"""

from __future__ import annotations

from clouder.catalog.nodes import (
    CONTAINERD_APT_KEY_FINGERPRINT,
    CONTAINERD_APT_KEY_URL,
    CONTAINERD_APT_SOURCE,
    CONTAINERD_PACKAGE,
    CONTAINERD_PACKAGE_VERSION,
    KUBERNETES_APT_KEY_FINGERPRINT,
    KUBERNETES_PACKAGE_REVISION,
    PAUSE_IMAGES,
    pause_image,
)

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

__all__ = [
    "CONTAINERD_APT_KEY_FINGERPRINT",
    "CONTAINERD_APT_KEY_URL",
    "CONTAINERD_APT_SOURCE",
    "CONTAINERD_PACKAGE",
    "CONTAINERD_PACKAGE_VERSION",
    "KUBERNETES_APT_KEY_FINGERPRINT",
    "KUBERNETES_PACKAGE_REVISION",
    "PAUSE_IMAGES",
    "pause_image",
]

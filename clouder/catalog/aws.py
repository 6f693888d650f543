"""Pinned AWS facts: the provider constraint, the node image and what an AWS node installs.

Kubernetes releases themselves are pinned in ``clouder.catalog.kubernetes``; this module pins what an AWS
node runs around them. Nothing here is ``latest``: a change of any value is a reviewed change. The node
package pins are the clouds' shared ones (``clouder.catalog.nodes``), re-exported under the same names.
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

# The AWS provider the bindings were generated for is 5.99.1; accept later 5.x patches and minors
# (e.g. the 5.100.0 in the test machines' mirror) but never 6.x.
AWS_PROVIDER_CONSTRAINT = "~> 5.99"

# Ubuntu 24.04 LTS (noble), amd64, gp3 root, published by Canonical. The image is pinned by its exact,
# immutable serial name and owner: Canonical publishes one image of that name per region, so the lookup
# resolves to the same AMI in a region every time. A spec may name its own AMI instead (``aws.ami``).
UBUNTU_IMAGE_OWNER = "099720109477"
UBUNTU_IMAGE_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20251022"


__all__ = [
    "AWS_PROVIDER_CONSTRAINT",
    "CONTAINERD_APT_KEY_FINGERPRINT",
    "CONTAINERD_APT_KEY_URL",
    "CONTAINERD_APT_SOURCE",
    "CONTAINERD_PACKAGE",
    "CONTAINERD_PACKAGE_VERSION",
    "KUBERNETES_APT_KEY_FINGERPRINT",
    "KUBERNETES_PACKAGE_REVISION",
    "PAUSE_IMAGES",
    "UBUNTU_IMAGE_NAME",
    "UBUNTU_IMAGE_OWNER",
    "pause_image",
]

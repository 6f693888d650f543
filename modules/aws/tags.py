"""Tag conventions shared by the AWS constructs (cheap to import: no CDKTF here)."""

from __future__ import annotations

CLUSTER_TAG = "clouder.dev/cluster"
# Every taggable resource carries its own Terraform address, so that after an interrupted apply
# Clouder can tell which resource of the stack an untracked cloud object was meant to be.
ADDRESS_TAG = "clouder.dev/address"


def cluster_tag(cluster_name: str) -> dict[str, str]:
    """The tag by which the AWS cloud controller and the LB controller find the cluster's resources."""
    return {f"kubernetes.io/cluster/{cluster_name}": "owned"}

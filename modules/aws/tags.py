"""Tag conventions shared by the AWS constructs."""

from __future__ import annotations


def cluster_tag(cluster_name: str) -> dict[str, str]:
    """The tag by which the AWS cloud controller and the LB controller find the cluster's resources."""
    return {f"kubernetes.io/cluster/{cluster_name}": "owned"}

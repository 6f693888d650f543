"""Azure's part of ``clouder check``: the probe Service's annotations (``check.PROBE_ANNOTATIONS``)."""

from __future__ import annotations

from clouder.spec.model import ClusterSpec


def probe_annotations(spec: ClusterSpec) -> dict[str, str]:
    """An internal Standard load balancer from the cloud controller manager."""
    return {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}

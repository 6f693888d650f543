"""AWS's part of ``clouder check``: the probe Service's annotations (``check.PROBE_ANNOTATIONS``)."""

from __future__ import annotations

from clouder.spec.model import ClusterSpec


def probe_annotations(spec: ClusterSpec) -> dict[str, str]:
    """An internal NLB from the AWS Load Balancer Controller where the spec runs it, otherwise the cloud
    controller manager's own internal load balancer."""
    if spec.load_balancing.controller:
        return {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        }
    return {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}

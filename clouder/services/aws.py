"""AWS's part of the system services: the ingress controller's Service is an internet-facing NLB of the
AWS Load Balancer Controller, targeting pod IPs (``clouder.services.catalog.INGRESS_ANNOTATIONS``)."""

from __future__ import annotations

INGRESS_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
}

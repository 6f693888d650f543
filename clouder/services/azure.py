"""Azure's part of the system services: the Standard load balancer in front of the ingress controller probes
its health endpoint (``clouder.services.catalog.INGRESS_ANNOTATIONS``)."""

from __future__ import annotations

INGRESS_ANNOTATIONS = {"service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz"}

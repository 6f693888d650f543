"""Checkov findings the AWS stack accepts on purpose, each with the reason. Keep this list short: anything
else checkov reports on a synthesized AWS stack fails the tests. Users accept more through the spec's
``policy.allowlist``.
"""

from __future__ import annotations

CHECKOV_ALLOWLIST: dict[str, str] = {
    # The controllers' pods on the control planes (cloud controller, EBS CSI controller, LB controller) reach
    # IMDS from a network namespace one hop further: IMDSv2 stays required; workers keep hop limit 1.
    "CKV_AWS_341": "IMDSv2 hop limit 2 on control planes so that the controllers' pods can use their role",
    # Deletion protection would make `clouder destroy` fail; destroying a cluster already needs an explicit
    # approval of the plan (policy.approvals).
    "CKV_AWS_150": "API load balancer deletion is gated by Clouder's destroy approval instead",
    # NLB access logs exist only for TLS listeners; the API listener is TCP pass-through (the API server
    # terminates TLS with client certificates), so there is nothing to log.
    "CKV_AWS_91": "NLB access logs only cover TLS listeners; the API listener is TCP pass-through",
    # Flow logs need a log destination and cost per GB; they are an account-level choice.
    "CKV2_AWS_11": "VPC flow logs are left to the account's own logging setup (cost, destination)",
    # Nodes pull images and packages and run workloads that call out on arbitrary ports; egress is filtered
    # per workload with NetworkPolicies, not per node. Ingress stays exact (see security.py).
    "CKV_AWS_382": "nodes need open egress (registries, packages, AWS APIs, workloads' own endpoints)",
    # The bastion only forwards SSH; it gets no AWS identity at all (least privilege).
    "CKV2_AWS_41": "the bastion deliberately has no IAM role",
}

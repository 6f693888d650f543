"""Guardrails before apply: the policy gate on synthesized Terraform, and approval of destructive plans."""

from clouder.policy.approval import ApprovalRequiredError, check_approval, read_approval_file
from clouder.policy.gate import Finding, PolicyError, PolicyReport, enforce, run_gate

__all__ = [
    "ApprovalRequiredError",
    "Finding",
    "PolicyError",
    "PolicyReport",
    "check_approval",
    "enforce",
    "read_approval_file",
    "run_gate",
]

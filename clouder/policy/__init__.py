"""The policy gate before apply: checkov and Clouder's own rules on the synthesized Terraform.

Approval of destructive plans is judged from the plan itself, on the guarded apply path
(``clouder.terraform.approval``)."""

from clouder.policy.gate import Finding, PolicyError, PolicyReport, enforce, run_gate

__all__ = ["Finding", "PolicyError", "PolicyReport", "enforce", "run_gate"]

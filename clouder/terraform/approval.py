"""Approval of plans that destroy or replace control-plane nodes, data volumes or the network.

On a workstation the operator passes ``--approve`` after reading the summary. A pipeline commits an
approval file that names the cluster and the plan hash ``clouder plan`` printed; the hash covers the
changes themselves, so the approval holds for exactly that change set and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clouder.errors import BadInputError, ClouderError
from clouder.spec.model import ClusterSpec
from clouder.terraform.summary import PlanSummary


class ApprovalFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cluster: str
    plan_hashes: list[str] = Field(alias="plans", min_length=1)
    approved_by: str = Field(alias="approvedBy", min_length=1)
    reason: str = ""


class ApprovalRequiredError(ClouderError):
    def __init__(self, summary: PlanSummary, why: str, hint: str) -> None:
        changes = "\n".join(f"  - {c.action} {c.address} ({c.protected})" for c in summary.needs_approval)
        super().__init__(f"{why}\n{changes}\nPlan hash: {summary.plan_hash}", hint)
        self.summary = summary


def read_approval_file(path: Path) -> ApprovalFile:
    try:
        return ApprovalFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except OSError as exc:
        raise BadInputError(f"cannot read approval file {path}: {exc.strerror}.") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise BadInputError(
            f"{path} is not an approval file: {exc}".splitlines()[0],
            "Write `cluster: NAME`, `plans: [sha256:…]` and `approvedBy: WHO`.",
        ) from None


def check_approval(spec: ClusterSpec, summary: PlanSummary, approve: bool, approval_file: Path | None) -> str:
    """Return how the plan is approved ("not needed", "flag", "file …"), or raise."""
    if not summary.needs_approval:
        return "not needed"
    if spec.policy.approvals.destructive == "never-allowed":
        raise ApprovalRequiredError(
            summary,
            "This plan destroys or replaces protected resources, and the spec's "
            "policy.approvals.destructive is never-allowed:",
            "Change the spec so the plan keeps them, or relax the policy in review.",
        )
    if approve:
        return "flag"
    path = approval_file or spec.policy.approvals.approval_file
    if path is not None and path.exists():
        approval = read_approval_file(path)
        if approval.cluster == spec.name and summary.plan_hash in approval.plan_hashes:
            return f"file {path} (approved by {approval.approved_by})"
        raise ApprovalRequiredError(
            summary,
            f"{path} does not approve this plan for cluster {spec.name}:",
            f"Add `{summary.plan_hash}` to its plans after review.",
        )
    raise ApprovalRequiredError(
        summary,
        "This plan destroys or replaces protected resources and needs approval:",
        "Review it, then re-run with --approve, or (in a pipeline) commit an approval "
        f"file naming {summary.plan_hash}.",
    )

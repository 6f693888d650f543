"""The one guarded path from a saved plan to apply: the plan's own changes → policy gate → approval.

``apply``, ``destroy``, ``up``, ``down`` and ``scale`` all go through ``authorize``. A plan loaded from disk
is judged by what ``terraform show -json PLAN`` says it will do, never by its ``.summary.json`` sidecar: a
sidecar that disagrees with the plan is refused, so an edited summary cannot make a control-plane
replacement "not need" approval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from clouder.errors import BadInputError
from clouder.spec.model import ClusterSpec
from clouder.terraform.plans import SavedPlan, summary_path
from clouder.terraform.summary import summary_from_show

if TYPE_CHECKING:
    from clouder.policy.gate import PolicyReport
    from clouder.terraform.workflow import Workflow


@dataclass(frozen=True)
class Authorized:
    saved: SavedPlan  # its summary derived from the plan file
    approval: str  # "no changes", "not needed", "flag", "file …"
    policy: PolicyReport | None = None  # None: the gate did not run (no changes, a destroy plan, turned off)


def verified(workflow: Workflow, saved: SavedPlan) -> SavedPlan:
    """``saved`` with its summary derived from the plan file; refused when the sidecar disagrees."""
    if saved.from_plan:
        return saved
    derived = summary_from_show(
        workflow.spec.name, workflow.show_plan(saved.path), saved.meta.destroy, cloud=workflow.spec.cloud
    )
    sidecar = saved.summary
    if (derived.plan_hash, derived.needs_approval) != (sidecar.plan_hash, sidecar.needs_approval) or (
        derived.plan_hash != saved.meta.plan_hash
    ):
        raise BadInputError(
            f"{summary_path(saved.path)} does not describe {saved.path}: the plan file's changes hash to "
            f"{derived.plan_hash}, the summary claims {sidecar.plan_hash}.",
            "Plan again with `clouder plan`; never edit plan files or their summaries.",
        )
    return saved.model_copy(update={"summary": derived, "from_plan": True})


def authorize(
    spec: ClusterSpec,
    workflow: Workflow,
    saved: SavedPlan,
    approve: bool = False,
    approval_file: Path | None = None,
    policy_gate: bool = True,
    policy: Callable[[], PolicyReport] | None = None,
) -> Authorized:
    """Judge a plan before it is applied: raise (policy, approval, forged summary) or say how it may go.

    ``policy`` hands over the gate's report of ``workflow.root`` when the caller started it already (``up``
    runs it while Terraform plans); by default the gate runs here."""
    from clouder.policy import check_approval, enforce, run_gate

    saved = verified(workflow, saved)
    if not saved.summary.has_changes:
        return Authorized(saved, "no changes")
    report = None
    if policy_gate and not saved.meta.destroy:
        report = policy() if policy is not None else run_gate(spec, workflow.root)
        enforce(report)
    how = check_approval(spec, saved.summary, approve, approval_file)
    return Authorized(saved, how, report)

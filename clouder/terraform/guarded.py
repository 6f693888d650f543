"""The one guarded path to the infrastructure: plan → the plan's own changes → policy gate → approval →
apply exactly that plan → the outputs contract.

``apply``, ``destroy``, ``up``, ``down`` and ``scale`` all go through ``GuardedApply``. A plan loaded from
disk is judged by what ``terraform show -json PLAN`` says it will do, never by its ``.summary.json``
sidecar: a sidecar that disagrees with the plan is refused, so an edited summary cannot make a control-plane
replacement "not need" approval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clouder.errors import BadInputError, ClouderError
from clouder.events import Event
from clouder.outputs import ClusterOutputs, parse_terraform_outputs
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
    from clouder.policy import enforce, run_gate
    from clouder.terraform.approval import check_approval

    saved = verified(workflow, saved)
    if not saved.summary.has_changes:
        return Authorized(saved, "no changes")
    report = None
    if policy_gate and not saved.meta.destroy:
        report = policy() if policy is not None else run_gate(spec, workflow.root)
        enforce(report)
    how = check_approval(spec, saved.summary, approve, approval_file)
    return Authorized(saved, how, report)


@dataclass
class GuardedApply:
    """One cluster's way from a plan to its outputs contract, each step in order and none skipped: ``plan``
    (or ``load`` a saved plan), ``authorize`` it, ``apply`` exactly that plan, read the ``outputs``."""

    workflow: Workflow
    approve: bool = False
    approval_file: Path | None = None
    policy_gate: bool = True
    saved: SavedPlan | None = None  # the plan made or loaded; once authorized, its summary from the plan file
    authorized: Authorized | None = None
    document: dict[str, Any] | None = None  # ``terraform output -json`` as the apply left it
    policy: Future[PolicyReport] | None = None  # the gate, when it ran while Terraform planned

    def plan(
        self, destroy: bool = False, force_unlock: str | None = None, adopt: bool = False,
        delete_orphans: bool = False, gate_while_planning: bool = False,
    ) -> SavedPlan:  # fmt: skip
        """Plan; with ``gate_while_planning`` the policy gate starts beside ``terraform plan`` (its report is
        used by ``authorize`` only if the plan has changes)."""
        self.policy = None
        early = gate_while_planning and self.policy_gate and not destroy
        saved = self.workflow.plan(destroy=destroy, force_unlock=force_unlock, adopt=adopt,
                                   delete_orphans=delete_orphans,
                                   before_plan=self._gate_in_background if early else None)  # fmt: skip
        return self._planned(saved)

    def _gate_in_background(self, root: Path) -> None:
        """The gate reads only the configuration in the Terraform root, not the plan: it runs while Terraform
        plans that same configuration."""
        from clouder.policy import run_gate

        events = self.workflow.events
        assert events is not None

        def gate() -> PolicyReport:
            started = time.monotonic()
            events.emit(Event("gate", "policy", "start", detail="while terraform plans"))
            report = run_gate(self.workflow.spec, root)
            events.emit(Event("gate", "policy", "ok", None, round(time.monotonic() - started, 3)))
            return report

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy-gate")
        self.policy = pool.submit(gate)
        pool.shutdown(wait=False)

    def load(self, path: Path) -> SavedPlan:
        """A plan ``clouder plan --out`` saved (``authorize`` judges it by the plan file, not its sidecar)."""
        return self._planned(self.workflow.load_plan(path))

    def authorize(self) -> Authorized:
        if self.saved is None:
            raise ClouderError("internal: authorize before plan")
        early = self.policy.result if self.policy is not None else None
        self.authorized = authorize(self.workflow.spec, self.workflow, self.saved, self.approve,
                                    self.approval_file, self.policy_gate, policy=early)  # fmt: skip
        self.saved = self.authorized.saved
        return self.authorized

    def apply(self, force_unlock: str | None = None) -> bool:
        """Apply exactly the authorized plan; False when it changes nothing (then nothing runs)."""
        if self.authorized is None:
            raise ClouderError("internal: apply before the plan was authorized")
        if not self.authorized.saved.summary.has_changes:
            return False
        self.document = self.workflow.apply(self.authorized.saved, force_unlock=force_unlock)
        return True

    def outputs(self) -> ClusterOutputs:
        """The outputs contract: from the apply's own ``output -json``, else read from the state now."""
        document = self.document if self.document is not None else self.workflow.output_document()
        return parse_terraform_outputs(document, source="terraform output")

    def _planned(self, saved: SavedPlan) -> SavedPlan:
        self.saved, self.authorized, self.document = saved, None, None
        return saved

"""The infrastructure step of ``clouder scale``: a Terraform plan, the policy gate and approvals, then
exactly that plan applied (``clouder.terraform``, ``clouder.policy``).

The plan is made and judged *before* any node is drained: ``plan`` returns how many node VMs the plan
destroys, and the scale refuses a plan that destroys VMs other than the ones the spec drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from clouder.errors import ClouderError
from clouder.outputs import ClusterOutputs, parse_terraform_outputs
from clouder.spec.model import ClusterSpec

if TYPE_CHECKING:
    from clouder.terraform.plans import SavedPlan
    from clouder.terraform.workflow import Workflow


@dataclass
class TerraformInfra:
    workflow: Workflow
    approve: bool = False
    approval_file: Path | None = None
    policy_gate: bool = True
    node_types: frozenset[str] | None = None  # None: the cloud's VM types (summary.PROTECTED_TYPES)
    saved: SavedPlan | None = None
    approval: str = ""

    def plan(self, spec: ClusterSpec) -> int:
        from clouder.terraform.guarded import authorize
        from clouder.terraform.summary import PROTECTED_TYPES

        authorized = authorize(spec, self.workflow, self.workflow.plan(), self.approve, self.approval_file,
                               self.policy_gate)  # fmt: skip
        self.saved = saved = authorized.saved
        self.approval = authorized.approval
        types = self.node_types or PROTECTED_TYPES[spec.cloud].nodes
        return sum(
            1
            for change in saved.summary.changes
            if change.type in types and change.action in ("delete", "replace")
        )

    def apply(self) -> ClusterOutputs:
        if self.saved is None:
            raise ClouderError("internal: apply before plan")
        if self.saved.summary.has_changes:
            document = self.workflow.apply(self.saved)
        else:
            document = self.workflow.output_document()
        return parse_terraform_outputs(document, source="terraform output")

"""The infrastructure step of ``clouder scale``: the guarded apply path (``clouder.terraform.guarded``) seen
as the ``Infra`` a scale needs.

The plan is made and judged *before* any node is drained: ``plan`` returns how many node VMs the plan
destroys, and the scale refuses a plan that destroys VMs other than the ones the spec drops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from clouder.outputs import ClusterOutputs
from clouder.spec.model import ClusterSpec
from clouder.terraform.guarded import GuardedApply

if TYPE_CHECKING:
    from clouder.terraform.workflow import Workflow


@dataclass
class TerraformInfra:
    workflow: Workflow
    approve: bool = False
    approval_file: Path | None = None
    policy_gate: bool = True
    node_types: frozenset[str] | None = None  # None: the cloud's VM types (summary.PROTECTED_TYPES)
    guarded: GuardedApply = field(init=False)

    def __post_init__(self) -> None:
        self.guarded = GuardedApply(self.workflow, self.approve, self.approval_file, self.policy_gate)

    def plan(self, spec: ClusterSpec) -> int:
        """Plan and authorize (the workflow's own spec is the one judged); count the node VMs it destroys."""
        from clouder.terraform.summary import PROTECTED_TYPES

        self.guarded.plan()
        saved = self.guarded.authorize().saved
        types = self.node_types or PROTECTED_TYPES[spec.cloud].nodes
        return sum(
            1
            for change in saved.summary.changes
            if change.type in types and change.action in ("delete", "replace")
        )

    def apply(self) -> ClusterOutputs:
        self.guarded.apply()
        return self.guarded.outputs()

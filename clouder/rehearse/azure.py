"""Rehearsing an Azure cluster (``run.REHEARSALS``): no azurerm provider and no emulator are available, so
only synthesis and the policy gate run; the report says so."""

from __future__ import annotations

from typing import Any

from clouder.rehearse.run import CloudRehearsal, RehearsalRun, run_stages
from clouder.spec.model import ClusterSpec

STAGES = ("synth", "gate")
NOT_REHEARSED = (
    "Azure: synthesis and the policy gate only. No azurerm provider or Azure emulator runs here, so "
    "Terraform plan/apply, the outputs contract, bootstrap, add-ons and services are not rehearsed; "
    "`clouder plan` with an Azure subscription is the next step."
)


def adapt(spec: ClusterSpec, changes: dict[str, Any], notes: list[str]) -> None:
    """Nothing beyond the local state: nothing is planned or applied."""


def drive(run: RehearsalRun) -> None:
    run.report.not_rehearsed = NOT_REHEARSED
    run_stages(run, {"synth": run.synth, "gate": run.gate})
    run.report.next_steps = [
        f"`clouder plan` with an Azure subscription (context {run.spec.context or 'unset'})"
    ]


REHEARSAL = CloudRehearsal(STAGES, adapt, drive)

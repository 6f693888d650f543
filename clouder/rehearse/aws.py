"""Rehearsing an AWS cluster (``run.REHEARSALS``): synthesize; real Terraform and the real AWS provider plan,
gate and apply against a local emulator; read the outputs contract back; the bootstrap phases each host
would run; the add-on manifests rendered and validated; the services' rollout order; then destroy."""

from __future__ import annotations

from typing import Any

from clouder.rehearse import emulator
from clouder.rehearse.run import CloudRehearsal, RehearsalReport, RehearsalRun, run_stages
from clouder.spec.model import AllowedFinding, ClusterSpec

STAGES = ("emulator", "synth", "plan", "gate", "apply", "outputs", "bootstrap", "addons", "services",
          "destroy")  # fmt: skip


def adapt(spec: ClusterSpec, changes: dict[str, Any], notes: list[str]) -> None:
    """An image the emulator serves, and the policy findings the emulator's endpoints cause."""
    assert spec.aws is not None
    changes["aws"] = spec.aws.model_copy(update={"ami": emulator.MOTO_AMI})
    notes.append(f"aws.ami: {emulator.MOTO_AMI} (an image the emulator serves)")
    extra = [AllowedFinding.model_validate(entry) for entry in emulator.OVERRIDE_ALLOWLIST]
    changes["policy"] = spec.policy.model_copy(update={"allowlist": [*spec.policy.allowlist, *extra]})
    notes += [f"policy gate: accepts {e.check} ({e.reason})" for e in extra]
    notes.append("approval: given by the rehearsal itself on the guarded path (changes land on the emulator)")


def drive(run: RehearsalRun) -> None:
    report = run.report
    with emulator.running_emulator(run.work / run.spec.name / "emulator") as found:
        run.found = found
        report.stages[0].state, report.stages[0].detail = "ok", f"moto server at {found.url}"
        steps = {"synth": run.synth, "plan": run.plan, "gate": run.gate, "apply": run.apply,
                 "outputs": run.read_outputs, "bootstrap": run.bootstrap, "addons": run.addons,
                 "services": run.services}  # fmt: skip
        try:
            run_stages(run, steps)
        finally:
            run_stages(run, {"destroy": run.destroy}, always=True)
    report.next_steps = next_steps(run.spec, report)


def next_steps(spec: ClusterSpec, report: RehearsalReport) -> list[str]:
    creates = report.resources.get("create", 0)
    hosts = len(report.hosts)
    addons = len(report.addons) + len(report.unpulled.get("addons", []))  # the unpulled ones are steps too
    where = f"context {spec.context}" if spec.context else "your AWS credentials"
    return [
        f"`clouder up SPEC` with {where}: plan and apply the same {creates} resources in AWS, this time "
        "with the spec's own image, state backend and approvals",
        f"bootstrap {hosts} hosts over SSH ({spec.access.mode}): kubeadm init, joins, kubeconfig",
        f"install {addons} add-on steps, then roll out the services in {len(report.services)} "
        "waves and run `clouder check`",
    ]


REHEARSAL = CloudRehearsal(STAGES, adapt, drive)

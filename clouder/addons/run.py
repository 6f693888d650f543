"""Install the add-on set: each step rendered, validated, applied, pruned and waited on, along the add-on
DAG (``plan``'s ``after`` edges): a step starts once everything it needs is ready, independent steps run at
the same time, and a step that fails stops only what depends on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from clouder.addons.context import AddonContext
from clouder.addons.nodes import wait_nodes_initialized
from clouder.addons.plan import NodesInitialized, Step, plan, render_step
from clouder.catalog.charts import Catalog, default_catalog
from clouder.dag import Graph, run_graph
from clouder.errors import ClouderError
from clouder.events import Event, EventLog
from clouder.kube import inventory
from clouder.kube.client import Kube
from clouder.kube.release import ApplyOptions, Change, apply_release, uninstall_release

STAGE = "addons"
CNI_RELEASES = ("cilium", "calico", "flannel")


@dataclass(frozen=True)
class RunSettings:
    timeout: float = 600.0
    interval: float = 2.0
    cache: Path | None = None
    catalog: Catalog = field(default_factory=default_catalog)
    parallel: int = 4  # steps at once (the DAG allows at most three today)
    stop_waiting_for_nodes: threading.Event | None = None  # set when the nodes still joining never will


@dataclass
class StepReport:
    name: str
    kind: Literal["release", "gate"]
    version: str = ""
    ok: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return sum(n for action, n in self.counts.items() if action != "unchanged")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "version": self.version, "ok": self.ok,
                "changes": self.counts, "problems": self.problems, "seconds": self.seconds}  # fmt: skip


@dataclass
class AddonsReport:
    steps: list[StepReport] = field(default_factory=list)  # in install order
    skipped: list[str] = field(default_factory=list)  # not started: a step they need failed
    skipped_because: dict[str, str] = field(default_factory=dict)  # name -> why

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps) and not self.skipped

    @property
    def failed(self) -> list[StepReport]:
        return [step for step in self.steps if not step.ok]

    @property
    def changed(self) -> int:
        return sum(step.changed for step in self.steps)

    @property
    def objects(self) -> int:
        return sum(sum(step.counts.values()) for step in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "changed": self.changed, "steps": [s.as_dict() for s in self.steps],
                "skipped": self.skipped, "skippedBecause": self.skipped_because}  # fmt: skip


def run_addons(
    kube: Kube, ctx: AddonContext, settings: RunSettings, events: EventLog | None = None
) -> AddonsReport:
    """Run every step along the add-on DAG; a step that fails names what is not ready and why, and the steps
    that need it are skipped (``skipped``), while the others finish."""
    log = events or EventLog(redactor=kube.redactor)
    ctx = AddonContext(ctx.spec, ctx.outputs, kube.redactor, kube.get)
    report = AddonsReport()
    steps = plan(ctx)
    installed = [found.release for found in inventory.releases(kube, owner=STAGE)]
    other_cni = [name for name in installed if name in CNI_RELEASES and name != ctx.spec.cni.plugin]
    if other_cni:
        problem = (
            f"the cluster runs the CNI {other_cni[0]} (installed by Clouder); switching a running cluster "
            f"to {ctx.spec.cni.plugin} is not supported. Set cni.plugin back to {other_cni[0]}, "
            "or rebuild the cluster."
        )
        report.steps.append(StepReport(ctx.spec.cni.plugin, "release", ok=False, problems=[problem]))
        report.skipped = [step.release for step in steps[1:]]
        report.skipped_because = {name: "the CNI switch was refused" for name in report.skipped}
        log.emit(Event(STAGE, ctx.spec.cni.plugin, "failed", detail=problem))
        return report
    by_name = {step.release: step for step in steps}
    outcomes: dict[str, StepReport | str] = run_graph(
        Graph.of((step.release, step.after) for step in steps),
        by_name,
        lambda name: _run_logged(kube, ctx, by_name[name], settings, log),
        _blocked(by_name),
        lambda name, why: _skip(name, why, log),
        settings.parallel,
    )
    for step in steps:
        outcome = outcomes[step.release]
        if isinstance(outcome, str):
            report.skipped.append(step.release)
            report.skipped_because[step.release] = outcome
        else:
            report.steps.append(outcome)
    # A release the spec dropped is retired even when a step failed: nothing planned depends on it.
    for name in sorted(set(installed) - {step.release for step in steps}):
        report.steps.append(_retire(kube, name, log, settings))
    return report


def _blocked(steps: dict[str, Step]) -> Callable[[str, Mapping[str, StepReport | str]], str]:
    def blocked(name: str, outcomes: Mapping[str, StepReport | str]) -> str:
        for dep in steps[name].after:
            done = outcomes.get(dep)
            if isinstance(done, str):
                return f"dependency {dep} not started ({done})"
            if done is not None and not done.ok:
                return f"dependency {dep} failed"
        return ""

    return blocked


def _skip(name: str, why: str, log: EventLog) -> str:
    log.emit(Event(STAGE, name, "skipped", detail=why))
    return why


def _run_logged(
    kube: Kube, ctx: AddonContext, step: Step, settings: RunSettings, log: EventLog
) -> StepReport:
    """One step on its own connection (steps run in parallel threads), between its start and end events."""
    log.emit(Event(STAGE, step.release, "start"))
    started = time.monotonic()
    try:
        with kube.fork() as own:
            mine = AddonContext(ctx.spec, ctx.outputs, own.redactor, own.get)
            outcome = _run_step(own, mine, step, settings, log)
    # a defect (or a lost connection) must end as this step's report, never a traceback
    except Exception as exc:
        problem = f"unexpected {type(exc).__name__}: {exc}"
        if isinstance(exc, ClouderError):
            problem = exc.render()
        kind: Literal["release", "gate"] = "gate" if isinstance(step, NodesInitialized) else "release"
        outcome = StepReport(step.release, kind, ok=False, problems=[kube.redactor.redact(problem)],
                             seconds=round(time.monotonic() - started, 3))  # fmt: skip
    detail = _detail(outcome)
    log.emit(Event(STAGE, step.release, "ok" if outcome.ok else "failed", None, outcome.seconds, detail))
    return outcome


def _retire(kube: Kube, name: str, log: EventLog, settings: RunSettings) -> StepReport:
    """A release the spec no longer asks for (``loadBalancing.controller: false`` …) is uninstalled."""
    log.emit(Event(STAGE, name, "start", detail="no longer in the spec: uninstalling"))
    try:
        result = uninstall_release(kube, name, settings.timeout, settings.interval)
    except ClouderError as exc:
        problem = kube.redactor.redact(exc.render())
        log.emit(Event(STAGE, name, "failed", detail=problem))
        return StepReport(name, "release", ok=False, problems=[problem])
    # "kept": CRDs and resource-policy: keep objects outlive the release
    step = StepReport(name, "release", result.version, counts=result.counts, seconds=result.seconds)
    log.emit(Event(STAGE, name, "ok", None, result.seconds, f"uninstalled ({result.summary()})"))
    return step


def _run_step(kube: Kube, ctx: AddonContext, step: Step, settings: RunSettings, log: EventLog) -> StepReport:
    started = time.monotonic()
    if isinstance(step, NodesInitialized):
        problems = wait_nodes_initialized(
            kube, ctx.outputs, settings.timeout, settings.interval, settings.stop_waiting_for_nodes
        )
        return StepReport(step.release, "gate", ok=not problems, problems=problems,
                          seconds=round(time.monotonic() - started, 3))  # fmt: skip
    report = StepReport(step.release, "release")

    def changed(change: Change) -> None:
        log.emit(Event(STAGE, step.release, "info", detail=f"{change.action} {change.ref}"))

    def waiting(why: str) -> None:
        log.emit(Event(STAGE, step.release, "info", detail=why))

    try:
        release = render_step(step, ctx, settings.catalog, settings.cache)
        report.version = release.version
        options = ApplyOptions(
            ctx.spec.kubernetes.version, settings.timeout, settings.interval, changed, STAGE, waiting
        )
        result = apply_release(kube, release, options)
    except ClouderError as exc:
        report.ok = False
        report.problems = [kube.redactor.redact(exc.render())]
    except Exception as exc:  # a defect must still end as a report line, never a traceback
        report.ok = False
        report.problems = [kube.redactor.redact(f"unexpected {type(exc).__name__}: {exc} (a Clouder defect)")]
    else:
        for change in result.changes:
            report.counts[change.action] = report.counts.get(change.action, 0) + 1
        report.ok = result.ok
        report.problems = [item.render() for item in result.wait.not_ready]
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _detail(step: StepReport) -> str:
    if not step.ok:
        return "; ".join(step.problems)
    if step.kind == "gate":
        return "all nodes initialised"
    return ", ".join(f"{n} {action}" for action, n in sorted(step.counts.items())) or "nothing to apply"

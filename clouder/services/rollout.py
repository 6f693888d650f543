"""Roll the services out along their dependency graph: independent ones in parallel (bounded), each through
the apply engine and waited on, with one outcome per service.

Outcomes: ``ready``; ``failed`` (the cluster says why: a failed Job, Warning events, a refused manifest);
``timed-out`` (not ready in time, nothing reported wrong); ``skipped`` (a dependency did not become ready).
A re-run resumes: releases already applied are found unchanged by the apply engine and are ready at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clouder.catalog.charts import mirror_digests
from clouder.catalog.services import RUNTIME_PLANE
from clouder.dag import Graph, run_graph
from clouder.errors import BadInputError, ClouderError
from clouder.events import Event, EventLog
from clouder.events import Outcome as Outcome_
from clouder.kube.objects import Obj, ObjectRef
from clouder.kube.release import Release
from clouder.kube.wait import NotReady
from clouder.outputs import ClusterOutputs
from clouder.services import generated, runtime
from clouder.services.catalog import Service, resolve, with_mirror
from clouder.spec.model import ClusterSpec

if TYPE_CHECKING:
    from clouder.charts import UnpulledChart
    from clouder.kube.client import Kube

STAGE = "rollout"
State = Literal["ready", "failed", "timed-out", "skipped", "planned"]


@dataclass(frozen=True)
class RolloutSettings:
    parallel: int = 10
    timeout: float | None = None  # None: each service's own readiness timeout
    interval: float = 2.0
    cache: Path | None = None
    mirror: str | None = None
    only: tuple[str, ...] = ()


@dataclass
class Outcome:
    name: str
    state: State
    version: str = ""
    namespace: str = ""
    reason: str = ""
    seconds: float = 0.0
    started: float = 0.0  # seconds after the rollout began
    changes: dict[str, int] = field(default_factory=dict)
    objects: list[str] = field(default_factory=list)  # dry run: what would be applied
    unpulled: UnpulledChart | None = None  # dry run: failed because the chart's repository is unreachable

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "version": self.version, "namespace": self.namespace,
                "reason": self.reason, "seconds": self.seconds, "changes": self.changes,
                **({"objects": self.objects} if self.objects else {})}  # fmt: skip


@dataclass
class RolloutReport:
    outcomes: list[Outcome]
    levels: list[list[str]]
    seconds: float = 0.0
    dry_run: bool = False
    removed: list[str] = field(default_factory=list)  # releases the spec no longer asks for, uninstalled

    @property
    def ok(self) -> bool:
        return all(o.state in ("ready", "planned") for o in self.outcomes)

    @property
    def unpulled(self) -> list[UnpulledChart]:
        """Charts not pulled because their repository could not be reached (their services failed)."""
        return [o.unpulled for o in self.outcomes if o.unpulled is not None]

    def by_name(self) -> dict[str, Outcome]:
        return {o.name: o for o in self.outcomes}

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for outcome in self.outcomes:
            found[outcome.state] = found.get(outcome.state, 0) + 1
        return found

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "dryRun": self.dry_run, "seconds": self.seconds, "order": self.levels,
                "counts": self.counts(), "services": [o.as_dict() for o in self.outcomes],
                "removed": self.removed}  # fmt: skip

    def table(self) -> str:
        rows = [("SERVICE", "STATE", "VERSION", "TIME", "DETAIL")]
        for o in self.outcomes:
            detail = o.reason or (", ".join(f"{n} {a}" for a, n in sorted(o.changes.items())))
            if self.dry_run and not o.reason:
                detail = f"{len(o.objects)} manifests valid"
            rows.append((o.name, o.state, o.version, f"{o.seconds:.1f}s", detail))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        return "\n".join(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4] for row in rows
        )


def plan(
    spec: ClusterSpec, outputs: ClusterOutputs | None, settings: RolloutSettings
) -> tuple[list[Service], Graph]:
    services = with_mirror(resolve(spec, outputs), settings.mirror, mirror_digests())
    graph = Graph.of((s.name, s.depends_on) for s in services)
    unknown = [name for name in settings.only if name not in graph.deps]
    if unknown:
        raise BadInputError(
            f"--only names unknown service(s): {', '.join(unknown)}.",
            f"This cluster's services: {', '.join(graph.nodes)}.",
        )
    return services, graph


def render(service: Service, spec: ClusterSpec, cache: Path | None) -> Release:
    """The service as a release: its chart rendered offline, or Clouder's own runtime-plane objects."""
    if service.chart is None:
        return Release(
            RUNTIME_PLANE, service.namespace, service.version, tuple(runtime.manifests(spec)), False
        )
    from clouder.charts import render as render_chart

    rendered = render_chart(service.chart, service.values, cache)
    kinds = {obj.get("kind") for obj in rendered.manifests}
    missing = [kind for kind in service.readiness.expects if kind not in kinds]
    if missing:
        raise ClouderError(
            f"service {service.name}: chart {service.chart.chart} {service.chart.version} renders no "
            f"{' or '.join(missing)}, so it cannot become ready.",
            "Check the chart pin and the values under services.overrides.",
        )
    refused = custom_resource_problems(rendered.manifests)
    if refused:
        raise ClouderError(
            f"service {service.name}: {len(refused)} custom resource(s) fail the schema of the CRD the "
            f"chart renders with them: {'; '.join(refused[:5])}.",
            "Check the values under services.overrides for keys the chart turns into these resources.",
        )
    release = service.name, service.namespace, service.version
    return Release(*release, rendered.manifests, hooks=rendered.hooks)


def custom_resource_problems(manifests: tuple[Obj, ...]) -> list[str]:
    """Custom resources checked against the CRDs rendered in the same release: the cluster's schemas do not
    know them yet, and a real API server would refuse them only half-way through an apply."""
    from jsonschema import Draft7Validator  # type: ignore[import-untyped]

    schemas: dict[tuple[str, str], Any] = {}
    for crd in manifests:
        if crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd.get("spec") or {}
        for version in spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema:
                api_version = f"{spec.get('group')}/{version.get('name')}"
                schemas[(api_version, (spec.get("names") or {}).get("kind", ""))] = schema
    found = []
    for obj in manifests:
        schema = schemas.get((obj.get("apiVersion", ""), obj.get("kind", "")))
        if schema is None:
            continue
        for error in Draft7Validator(schema).iter_errors(obj):
            where = ".".join(str(part) for part in error.absolute_path) or "(root)"
            found.append(f"{ObjectRef.of(obj)}: {where}: {error.message}")
    return found


def dry_run(spec: ClusterSpec, outputs: ClusterOutputs | None, settings: RolloutSettings) -> RolloutReport:
    """Render and validate every service's manifests; touch no cluster. A service whose chart repository
    cannot be reached fails, and its outcome names the chart (``Outcome.unpulled``)."""
    from clouder.charts import ChartUnreachable, UnpulledChart
    from clouder.kube.validate import problems

    started = time.monotonic()
    services, graph = plan(spec, outputs, settings)
    outcomes = []
    for service in _selected(services, settings):
        outcome = Outcome(service.name, "planned", service.version, service.namespace)
        try:
            objects = render(service, spec, settings.cache).objects()
            found = problems(objects, spec.kubernetes.version)
        except ChartUnreachable as exc:
            outcome.state, outcome.reason = "failed", exc.render()
            outcome.unpulled = UnpulledChart.of(service.name, exc)
        except ClouderError as exc:
            outcome.state, outcome.reason = "failed", exc.render()
        else:
            outcome.objects = [str(ObjectRef.of(obj)) for obj in objects]
            if found:
                outcome.state, outcome.reason = "failed", "; ".join(found[:5])
        outcomes.append(outcome)
    levels = _levels(graph, settings)
    return RolloutReport(outcomes, levels, round(time.monotonic() - started, 3), dry_run=True)


def _selected(services: list[Service], settings: RolloutSettings) -> list[Service]:
    return [s for s in services if not settings.only or s.name in settings.only]


def _levels(graph: Graph, settings: RolloutSettings) -> list[list[str]]:
    return graph.subgraph(settings.only).levels() if settings.only else graph.levels()


def rollout(
    connect: Callable[[], Kube],
    spec: ClusterSpec,
    outputs: ClusterOutputs | None,
    settings: RolloutSettings,
    events: EventLog | None = None,
) -> RolloutReport:
    """Roll out every service (or ``settings.only``) in dependency order; never raises for one service."""
    log = events or EventLog()
    services, graph = plan(spec, outputs, settings)
    by_name = {s.name: s for s in _selected(services, settings)}
    external = _external_dependencies(connect, graph, by_name) if settings.only else {}
    runner = _Runner(connect, spec, settings, log, time.monotonic())
    outcomes = runner.run(by_name, graph, external)
    order = graph.order()
    ordered = sorted(outcomes.values(), key=lambda o: order.index(o.name))
    removed = [] if settings.only else _remove_dropped(connect, graph, log)
    seconds = round(time.monotonic() - runner.began, 3)
    return RolloutReport(ordered, _levels(graph, settings), seconds, removed=removed)


def _remove_dropped(connect: Callable[[], Kube], graph: Graph, log: EventLog) -> list[str]:
    """Uninstall services an earlier rollout installed that the spec no longer asks for (disabled ones)."""
    from clouder.kube import inventory
    from clouder.kube.release import uninstall_release

    removed = []
    with connect() as kube:
        for found in inventory.releases(kube, owner=STAGE):
            if found.release not in graph.deps:
                result = uninstall_release(kube, found.release)
                detail = f"no longer in the spec: uninstalled ({result.summary()})"
                log.emit(Event(STAGE, found.release, "ok", None, result.seconds, detail))
                removed.append(found.release)
    return removed


def _external_dependencies(
    connect: Callable[[], Kube], graph: Graph, chosen: dict[str, Service]
) -> dict[str, str]:
    """For ``--only``: dependencies outside the selection that were never rolled out (name -> why)."""
    from clouder.kube import inventory

    outside = {dep for name in chosen for dep in graph.deps[name] if dep not in chosen}
    missing: dict[str, str] = {}
    with connect() as kube:
        for dep in sorted(outside):
            if inventory.read(kube, dep) is None:
                missing[dep] = f"dependency {dep} has not been rolled out (run without --only, or add it)"
    return missing


@dataclass
class _Runner:
    connect: Callable[[], Kube]
    spec: ClusterSpec
    settings: RolloutSettings
    log: EventLog
    began: float

    def run(self, chosen: dict[str, Service], graph: Graph, external: dict[str, str]) -> dict[str, Outcome]:
        return run_graph(
            graph,
            chosen,
            lambda name: self._one(chosen[name]),
            lambda name, outcomes: self._blocked(name, graph, chosen, outcomes, external),
            lambda name, why: self._skip(chosen[name], why),
            self.settings.parallel,
        )

    def _blocked(
        self, name: str, graph: Graph, chosen: dict[str, Service], outcomes: Mapping[str, Outcome],
        external: dict[str, str],
    ) -> str:  # fmt: skip
        for dep in graph.deps[name]:
            if dep in external:
                return external[dep]
            if dep in outcomes and outcomes[dep].state != "ready":
                return f"dependency {dep} {outcomes[dep].state}"
        return ""

    def _skip(self, service: Service, why: str) -> Outcome:
        self.log.emit(Event(STAGE, service.name, "skipped", detail=why))
        return Outcome(service.name, "skipped", service.version, service.namespace, why)

    def _one(self, service: Service) -> Outcome:
        from clouder.kube.release import ApplyOptions, Change, apply_release

        started = time.monotonic()
        outcome = Outcome(service.name, "ready", service.version, service.namespace)
        outcome.started = round(started - self.began, 3)
        self.log.emit(Event(STAGE, service.name, "start"))
        if service.name == RUNTIME_PLANE:
            for warning in runtime.warnings(self.spec):
                self.log.emit(Event(STAGE, service.name, "info", detail=f"WARNING: {warning}"))
        timeout = self.settings.timeout if self.settings.timeout is not None else service.readiness.timeout

        def changed(change: Change) -> None:
            self.log.emit(Event(STAGE, service.name, "info", detail=f"{change.action} {change.ref}"))

        try:
            release = render(service, self.spec, self.settings.cache)
            options = ApplyOptions(
                self.spec.kubernetes.version, timeout, self.settings.interval, changed, owner=STAGE
            )
            with self.connect() as kube:
                for secret in service.secrets:
                    if generated.ensure(kube, service.namespace, secret):
                        changed(Change(ObjectRef("v1", "Secret", service.namespace, secret.name), "created"))
                result = apply_release(kube, release, options)
                if result.wait.ok and service.readiness.made:
                    left = timeout - (time.monotonic() - started)
                    made = _wait_made(kube, service, left, self.settings.interval)
                    if made:
                        result.wait.not_ready.extend(made)
                        result.wait.seconds = time.monotonic() - started
        except ClouderError as exc:
            outcome.state, outcome.reason = "failed", self.log.redactor.redact(exc.render())
        except Exception as exc:  # one service's unexpected error is its failure, never the rollout's end
            reason = f"unexpected {type(exc).__name__}: {exc}"
            outcome.state, outcome.reason = "failed", self.log.redactor.redact(reason)
        else:
            for change in result.changes:
                outcome.changes[change.action] = outcome.changes.get(change.action, 0) + 1
            if not result.wait.ok:
                told = any(item.events for item in result.wait.not_ready)
                early = result.wait.seconds < timeout
                outcome.state = "failed" if told or early else "timed-out"
                outcome.reason = "; ".join(item.render() for item in result.wait.not_ready)
        outcome.seconds = round(time.monotonic() - started, 3)
        verdict: Outcome_ = "ok" if outcome.state == "ready" else "failed"
        detail = outcome.reason or ", ".join(f"{n} {a}" for a, n in sorted(outcome.changes.items()))
        self.log.emit(
            Event(STAGE, service.name, verdict, None, outcome.seconds, f"{outcome.state}: {detail}")
        )
        return outcome


def _wait_made(kube: Kube, service: Service, budget: float, interval: float) -> list[NotReady]:
    """Wait for the workloads an operator makes from the release (they exist only once it has acted)."""
    from clouder.kube.readiness import assess

    deadline = time.monotonic() + max(budget, 0.0)
    while True:
        missing = []
        for kind, name in service.readiness.made:
            ref = ObjectRef("apps/v1", kind, service.namespace, name)
            found = kube.get(ref)
            verdict = assess(found) if found is not None else None
            if verdict is None or not verdict.ready:
                why = verdict.reason if verdict is not None else "not made yet"
                missing.append(NotReady(ref, f"{why} (made by the operator from the release)"))
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(interval)

"""`clouder rehearse`: the whole pipeline on this machine, with no cloud account.

Each cloud registers how it is rehearsed in ``REHEARSALS``: its stages, what it changes in the spec, and
how it drives the stages of :class:`RehearsalRun` (``clouder.rehearse.aws``: everything against a local
emulator; ``clouder.rehearse.azure``: synthesis and the policy gate only). The rehearsal works in its own
work folder (``<work>/rehearsal``), never the cluster's, and lists every change it makes.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clouder.clouds import CloudRegistry
from clouder.errors import ClouderError
from clouder.events import Event, EventLog
from clouder.outputs import ClusterOutputs
from clouder.rehearse import emulator
from clouder.spec.model import ClusterSpec, LocalState

if TYPE_CHECKING:
    from clouder.charts import UnpulledChart
    from clouder.terraform.guarded import GuardedApply

# partial: the stage did all it could here, but left charts out whose repositories could not be reached
State = Literal["ok", "partial", "skipped", "failed", "not-run"]


@dataclass(frozen=True)
class RehearsalOptions:
    provider_mirror: Path | None = None  # a Terraform filesystem mirror (else providers download)
    chart_mirror: str | None = None
    cache: Path | None = None


@dataclass(frozen=True)
class Partial:
    """What a stage returns when it passed but could not do everything (charts it could not pull)."""

    detail: str


@dataclass
class Stage:
    name: str
    state: State = "not-run"
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RehearsalReport:
    cluster: str
    cloud: str
    stages: list[Stage]
    overrides: list[str] = field(default_factory=list)
    resources: dict[str, int] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)
    addons: list[dict[str, Any]] = field(default_factory=list)
    services: list[list[str]] = field(default_factory=list)
    not_rehearsed: str = ""
    next_steps: list[str] = field(default_factory=list)
    # stage -> charts it did not pull because their repository could not be reached (offline machines)
    unpulled: dict[str, list[UnpulledChart]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(stage.state in ("ok", "partial", "skipped") for stage in self.stages)

    @property
    def partial(self) -> bool:
        return any(stage.state == "partial" for stage in self.stages)

    def unpulled_charts(self) -> list[UnpulledChart]:
        return [chart for charts in self.unpulled.values() for chart in charts]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "cluster": self.cluster, "cloud": self.cloud,
                "stages": [stage.__dict__ for stage in self.stages], "overrides": self.overrides,
                "resources": self.resources, "hosts": self.hosts, "addons": self.addons,
                "servicesOrder": self.services, "notRehearsed": self.not_rehearsed,
                "nextSteps": self.next_steps,
                "unpulledCharts": {stage: [chart.as_dict() for chart in charts]
                                   for stage, charts in self.unpulled.items()}}  # fmt: skip


@dataclass(frozen=True)
class CloudRehearsal:
    """How one cloud is rehearsed: its stages in order, what it changes in the spec (``adapt`` adds to
    the changes and their notes), and how it runs the stages (``drive``)."""

    stages: tuple[str, ...]
    adapt: Callable[[ClusterSpec, dict[str, Any], list[str]], None]
    drive: Callable[[RehearsalRun], None]


StageResult = str | Partial | None  # None: skipped, nothing to do


# cloud -> "module:attribute" of its CloudRehearsal.
REHEARSALS: CloudRegistry[CloudRehearsal] = CloudRegistry(
    "the rehearsal", {"aws": "clouder.rehearse.aws:REHEARSAL", "azure": "clouder.rehearse.azure:REHEARSAL"}
)


def rehearses_whole_pipeline(cloud: str) -> bool:
    """Whether ``clouder rehearse`` applies and bootstraps a ``cloud`` cluster (not only synth and gate)."""
    return cloud in REHEARSALS and "apply" in REHEARSALS[cloud].stages


def rehearsal_spec(spec: ClusterSpec, work: Path) -> tuple[ClusterSpec, list[str]]:
    """The spec as the rehearsal runs it (local state, an image the emulator serves, the override's
    accepted finding), and one note per change."""
    notes: list[str] = []
    changes: dict[str, Any] = {"state": LocalState(path=work / spec.name / "terraform.tfstate")}
    notes.append(f"state: local, in {work / spec.name} (the spec's {spec.state.backend} backend is not used)")
    if spec.context:
        notes.append(f"context {spec.context}: not used (no cloud account is reached)")
    REHEARSALS[spec.cloud].adapt(spec, changes, notes)
    return spec.model_copy(update=changes), notes


def terraform_env(work: Path, options: RehearsalOptions, found: emulator.Emulator) -> dict[str, str]:
    env = dict(found.env())
    if options.provider_mirror is not None:
        config = work / "terraformrc"
        config.write_text(
            f'provider_installation {{\n  filesystem_mirror {{\n    path = "{options.provider_mirror}"\n'
            '    include = ["registry.terraform.io/*/*"]\n  }\n}\n'
        )
        env["TF_CLI_CONFIG_FILE"] = str(config)
    else:  # providers download once, then come from here
        cache = work / "plugin-cache"
        cache.mkdir(parents=True, exist_ok=True)
        env["TF_PLUGIN_CACHE_DIR"] = str(cache)
    return env


@dataclass
class RehearsalRun:
    spec: ClusterSpec
    work: Path
    options: RehearsalOptions
    log: EventLog
    report: RehearsalReport
    found: emulator.Emulator | None = None
    stack: Path | None = None
    guarded: GuardedApply | None = None
    outputs: ClusterOutputs | None = None
    applied: bool = False

    def synth(self) -> str:
        from clouder.terraform.stackcache import ensure_stack

        self.stack, fresh = ensure_stack(self.spec)
        if self.found is not None:
            override, notes = emulator.stack_override(self.stack, self.found.url)
            (self.stack / emulator.OVERRIDE_FILE).write_text(json.dumps(override, indent=2))
            self.report.overrides += notes
        return f"{'synthesized' if fresh else 'spec unchanged, reused'} {self.stack}"

    def plan(self) -> str:
        from clouder.terraform.guarded import GuardedApply
        from clouder.terraform.workflow import Workflow

        assert self.stack is not None and self.found is not None
        env = terraform_env(self.work, self.options, self.found)
        # The one guarded path, approved here: every change lands on the emulator, which is destroyed after.
        self.guarded = GuardedApply(Workflow(self.spec, self.stack, env=env, events=self.log), approve=True)
        counts = self.guarded.plan().summary.counts()
        self.report.resources = {action: n for action, n in counts.items() if n}
        return ", ".join(f"{n} to {action}" for action, n in counts.items() if n) or "no changes"

    def gate(self) -> str:
        from clouder.policy import enforce, run_gate

        if self.guarded is None:  # synthesis only: the gate on the synthesized stack
            assert self.stack is not None
            report = run_gate(self.spec, self.stack)
            enforce(report)
        else:  # the gate on the guarded path, beside the plan it judges
            found = self.guarded.authorize().policy
            if found is None:
                return "nothing to judge: the plan changes nothing"
            report = found
        return f"policy passed ({len(report.allowed)} accepted findings)"

    def apply(self) -> str | None:
        assert self.guarded is not None
        if not self.guarded.apply():
            return None
        self.applied = True
        assert self.guarded.authorized is not None  # apply() refuses to run unauthorized
        counts = self.guarded.authorized.saved.summary.counts()
        return "applied " + ", ".join(f"{n} {a}" for a, n in counts.items() if n)

    def read_outputs(self) -> str:
        assert self.guarded is not None
        self.outputs = self.guarded.outputs()
        return f"{len(self.outputs.nodes)} nodes, API {self.outputs.api_endpoint.url}"

    def bootstrap(self) -> str:
        from clouder.up.dryrun import host_phases

        assert self.outputs is not None
        self.report.hosts = host_phases(self.spec, self.outputs)
        ran = sum(len(phases) for phases in self.report.hosts.values())
        return f"{len(self.report.hosts)} hosts, {ran} phases (not run: no hosts are reached)"

    def addons(self) -> StageResult:
        from clouder.up.dryrun import addon_manifests

        assert self.outputs is not None
        found = addon_manifests(self.spec, self.outputs, self.options.chart_mirror, self.options.cache)
        self.report.addons = found.addons
        if found.unpulled:
            self.report.unpulled["addons"] = found.unpulled
        if found.problems:
            raise ClouderError("add-ons:\n" + "\n".join(f"  - {line}" for line in found.problems))
        manifests = sum(len(addon["objects"]) for addon in self.report.addons)
        if not found.unpulled:
            return f"{len(self.report.addons)} steps, {manifests} manifests rendered and validated"
        steps = len(found.addons) + len(found.unpulled)
        return Partial(
            f"{steps} steps: {len(found.addons)} rendered and validated "
            f"({manifests} manifest{'' if manifests == 1 else 's'}), " + not_pulled(found.unpulled)
        )

    def services(self) -> StageResult:
        from clouder.services.rollout import RolloutSettings, dry_run

        settings = RolloutSettings(mirror=self.options.chart_mirror, cache=self.options.cache)
        planned = dry_run(self.spec, self.outputs, settings)
        self.report.services = planned.levels
        unpulled = planned.unpulled
        if unpulled:
            self.report.unpulled["services"] = unpulled
        failed = [
            f"{o.name}: {o.reason}" for o in planned.outcomes if o.state == "failed" and o.unpulled is None
        ]
        if failed:
            raise ClouderError("services:\n" + "\n".join(f"  - {line}" for line in failed))
        waves = f"{len(planned.outcomes)} services in {len(planned.levels)} waves"
        if not unpulled:
            return f"{waves}, manifests validated"
        validated = len(planned.outcomes) - len(unpulled)
        return Partial(f"{waves}: {validated} rendered and validated, {not_pulled(unpulled)}")

    def destroy(self) -> str | None:
        if not self.applied or self.guarded is None:
            return None
        saved = self.guarded.plan(destroy=True)
        self.guarded.authorize()
        if not self.guarded.apply():
            return None
        return f"destroyed {saved.summary.counts()['delete']} resources on the emulator"


def not_pulled(charts: list[UnpulledChart]) -> str:
    noun = "chart" if len(charts) == 1 else "charts"
    return f"{len(charts)} {noun} not pulled (repository unreachable: {', '.join(c.label() for c in charts)})"


def rehearse(spec: ClusterSpec, work: Path, options: RehearsalOptions, log: EventLog) -> RehearsalReport:
    """Run the rehearsal in ``work`` (its own work folder); destroy whatever it applied, also when a stage
    failed."""
    with _work_root(work):
        return _rehearse(spec, work, options, log)


@contextlib.contextmanager
def _work_root(work: Path) -> Iterator[None]:
    before = os.environ.get("CLOUDER_WORK_DIR")
    os.environ["CLOUDER_WORK_DIR"] = str(work)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CLOUDER_WORK_DIR", None)
        else:
            os.environ["CLOUDER_WORK_DIR"] = before


def _rehearse(spec: ClusterSpec, work: Path, options: RehearsalOptions, log: EventLog) -> RehearsalReport:
    cloud = REHEARSALS[spec.cloud]
    spec, notes = rehearsal_spec(spec, work)
    report = RehearsalReport(spec.name, spec.cloud, [Stage(name) for name in cloud.stages], notes)
    cloud.drive(RehearsalRun(spec, work, options, log, report))
    return report


def run_stages(run: RehearsalRun, steps: dict[str, Callable[[], StageResult]], always: bool = False) -> None:
    for stage in run.report.stages:
        if stage.name not in steps:
            continue
        if not always and any(s.state == "failed" for s in run.report.stages):
            return
        started = time.monotonic()
        run.log.emit(Event("rehearse", stage.name, "start"))
        try:
            detail = steps[stage.name]()
        except ClouderError as exc:
            stage.state, stage.detail = "failed", run.log.redactor.redact(exc.render())
        else:
            if isinstance(detail, Partial):
                stage.state, stage.detail = "partial", detail.detail
            else:
                stage.state = "ok" if detail is not None else "skipped"
                stage.detail = detail if detail is not None else "nothing to do"
        stage.seconds = round(time.monotonic() - started, 3)
        outcome: Literal["ok", "skipped", "failed"] = "ok" if stage.state == "partial" else stage.state
        run.log.emit(Event("rehearse", stage.name, outcome, None, stage.seconds, stage.detail))

"""`clouder up`: synth → plan → policy gate/approval → apply → outputs → bootstrap → add-ons → rollout →
check, and `clouder down`: its reverse, with approval.

Every stage is one of the stages Clouder already runs alone, and each one probes reality before it acts
(an unchanged plan applies nothing, bootstrap phases ask the nodes, releases already applied are found
unchanged), so running `up` again resumes wherever the last run stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clouder.errors import ClouderError
from clouder.events import Event, EventLog
from clouder.outputs import ClusterOutputs
from clouder.spec.model import ClusterSpec

if TYPE_CHECKING:
    from clouder.hosts.options import SshOptions
    from clouder.kube.client import Kube
    from clouder.terraform.guarded import GuardedApply

STAGES = ("synth", "plan", "gate", "apply", "outputs", "bootstrap", "addons", "rollout", "check")
StageState = Literal["ok", "skipped", "failed", "not-run"]


@dataclass(frozen=True)
class UpOptions:
    stack: Path | None = None
    approve: bool = False
    approval_file: Path | None = None
    kubeconfig: Path | None = None  # instead of the one bootstrap fetches (rehearsals, existing clusters)
    chart_mirror: str | None = None
    ssh: Callable[[SshOptions], SshOptions] | None = None  # adjusts the bootstrap's SSH options
    timeout: float = 600.0
    interval: float = 2.0
    parallel: int = 10
    until: str | None = None
    check: bool = True
    service_timeout: float | None = None  # None: each service's own readiness timeout


@dataclass
class StageResult:
    name: str
    state: StageState = "not-run"
    seconds: float = 0.0
    detail: str = ""


@dataclass
class UpReport:
    cluster: str
    stages: list[StageResult]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(stage.state == "failed" for stage in self.stages)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "cluster": self.cluster, "summary": self.summary,
                "stages": [stage.__dict__ for stage in self.stages]}  # fmt: skip


class StageFailed(ClouderError):
    pass


@dataclass
class _Early:
    """A stage started before its turn, in a thread: the add-ons, once the first control plane is up."""

    stop: threading.Event
    thread: threading.Thread = field(init=False)
    started: float = field(default_factory=time.monotonic)
    bootstrap_ended: float = 0.0
    detail: str = ""
    error: BaseException | None = None


@dataclass
class _Run:
    spec: ClusterSpec
    options: UpOptions
    log: EventLog
    stack: Path | None = None
    guarded: GuardedApply | None = None
    outputs: ClusterOutputs | None = None
    kubeconfig: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    early: _Early | None = None

    def connect(self) -> Kube:
        from clouder.kube import Kube
        from clouder.workdir import kubeconfig_path

        return Kube.from_kubeconfig(self.kubeconfig or kubeconfig_path(self.spec), self.log.redactor)

    # -- stages ---------------------------------------------------------------------------------------------

    def synth(self) -> str:
        from clouder.terraform.stackcache import ensure_stack

        if self.options.stack is not None:
            self.stack = self.options.stack
            return f"using {self.stack}"
        self.stack, fresh = ensure_stack(self.spec)
        return f"{'synthesized' if fresh else 'spec unchanged, reused'} {self.stack}"

    def plan(self) -> str:
        from clouder.terraform.guarded import GuardedApply
        from clouder.terraform.workflow import Workflow

        assert self.stack is not None
        workflow = Workflow(self.spec, self.stack, events=self.log)
        self.guarded = GuardedApply(workflow, self.options.approve, self.options.approval_file)
        saved = self.guarded.plan(gate_while_planning=self.options.until != "plan")
        self.summary["planHash"] = saved.summary.plan_hash
        counts = saved.summary.counts()
        return ", ".join(f"{n} to {action}" for action, n in counts.items() if n) or "no changes"

    def gate(self) -> str | None:
        assert self.guarded is not None
        authorized = self.guarded.authorize()
        if authorized.policy is None:
            return None
        accepted = len(authorized.policy.allowed)
        return f"policy passed ({accepted} accepted findings); approval: {authorized.approval}"

    def apply(self) -> str | None:
        assert self.guarded is not None and self.guarded.saved is not None
        if not self.guarded.apply():
            return None
        return "applied " + ", ".join(f"{n} {a}" for a, n in self.guarded.saved.summary.counts().items() if n)

    def read_outputs(self) -> str:
        assert self.guarded is not None
        self.outputs = self.guarded.outputs()
        self.summary["apiEndpoint"] = self.outputs.api_endpoint.url
        return f"{len(self.outputs.nodes)} nodes, API {self.outputs.api_endpoint.url}"

    def bootstrap(self) -> str:
        from clouder.bootstrap.run import bootstrap, default_options

        assert self.outputs is not None
        options = default_options(self.spec)
        if self.options.ssh is not None:
            options = replace(options, ssh=self.options.ssh(options.ssh))
        wanted = self.options.until is None or STAGES.index(self.options.until) > STAGES.index("bootstrap")
        try:
            report = bootstrap(self.spec, self.outputs, options, self.log,
                               on_api_ready=self._start_addons if wanted else None)  # fmt: skip
        except Exception:
            self._end_early()
            raise
        if self.early is not None:
            self.early.bootstrap_ended = time.monotonic()
        if not report.ok:
            self._end_early()
            failed = "; ".join(f"{h.name}: {h.error}" for h in report.failed)
            raise StageFailed(f"bootstrap failed on {failed}", "Fix the cause and run `clouder up` again.")
        self.summary["kubeconfig"] = str(self.kubeconfig or report.kubeconfig)
        ran = sum(len(h.ran) for h in report.hosts)
        return f"{len(report.hosts)} hosts, {ran} phases ran"

    def _start_addons(self, _kubeconfig: str) -> None:
        """The first control plane serves the API: install the add-ons while the other nodes join (the CNI,
        cloud controller and the rest schedule onto each node as it registers)."""
        early = _Early(threading.Event())

        def install() -> None:
            try:
                early.detail = self._install_addons(early.stop)
            except BaseException as exc:  # re-raised by the add-ons stage, as if it had run there
                early.error = exc

        early.thread = threading.Thread(target=install, name="clouder-addons", daemon=True)
        self.early = early
        self.log.emit(Event("up", "addons", "info", detail="started while the other nodes join"))
        early.thread.start()

    def _end_early(self) -> None:
        """Bootstrap failed: the nodes the early add-ons may wait for will not join; let them end first."""
        if self.early is not None:
            self.early.stop.set()
            self.early.thread.join()

    def addons(self) -> str:
        if self.early is None:
            return self._install_addons()
        self.early.thread.join()
        if self.early.error is not None:
            raise self.early.error
        ahead = max(0.0, self.early.bootstrap_ended - self.early.started)
        return f"{self.early.detail} (started {ahead:.0f} s before bootstrap ended)"

    def _install_addons(self, stop: threading.Event | None = None) -> str:
        from clouder.addons import AddonContext, RunSettings, run_addons
        from clouder.catalog.charts import default_catalog

        assert self.outputs is not None
        settings = RunSettings(self.options.timeout, self.options.interval,
                               catalog=default_catalog(self.options.chart_mirror),
                               stop_waiting_for_nodes=stop)  # fmt: skip
        with self.connect() as kube:
            report = run_addons(kube, AddonContext(self.spec, self.outputs), settings, self.log)
        if not report.ok:
            failed = "; ".join(
                f"add-on {step.name} not ready: {'; '.join(step.problems)}" for step in report.failed
            )
            skipped = f" (not started: {', '.join(report.skipped)})" if report.skipped else ""
            raise StageFailed(failed + skipped)
        return f"{len(report.steps)} steps, {report.changed} changes"

    def rollout(self) -> str:
        from clouder.services.rollout import RolloutSettings, rollout

        settings = RolloutSettings(self.options.parallel, self.options.service_timeout, self.options.interval,
                                   mirror=self.options.chart_mirror)  # fmt: skip
        report = rollout(self.connect, self.spec, self.outputs, settings, self.log)
        counts = report.counts()
        self.summary["services"] = counts
        self.summary["rollout"] = report.as_dict()["services"]
        text = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        if not report.ok:
            bad = [f"{o.name} {o.state}: {o.reason}" for o in report.outcomes if o.state != "ready"]
            raise StageFailed(f"services: {text}\n" + "\n".join(f"  - {line}" for line in bad))
        with self.connect() as kube:
            from clouder.observe.status import ingress_address
            from clouder.services.catalog import resolve

            ingress = next((s for s in resolve(self.spec) if s.name == "ingress"), None)
            if ingress is not None:
                self.summary["ingressAddress"] = ingress_address(kube, ingress.namespace)
        return text

    def check(self) -> str | None:
        from clouder.observe.check import CheckSettings, run_checks

        if not self.options.check:
            return None
        with self.connect() as kube:
            results = run_checks(kube, self.spec, CheckSettings(min(self.options.timeout, 180.0),
                                                                self.options.interval))  # fmt: skip
        for result in results:
            self.log.emit(Event("check", result.name, "ok" if result.ok else "failed", detail=result.detail))
        failed = [f"{r.name}: {r.detail}" for r in results if not r.ok]
        if failed:
            raise StageFailed("checks failed: " + "; ".join(failed))
        return f"{len(results)}/{len(results)} checks passed"


def up(spec: ClusterSpec, options: UpOptions, events: EventLog) -> UpReport:
    """Run the stages in order; stop at the first that fails (later stages are reported as not run)."""
    run = _Run(spec, options, events, kubeconfig=options.kubeconfig)
    steps: dict[str, Callable[[], str | None]] = {
        "synth": run.synth, "plan": run.plan, "gate": run.gate, "apply": run.apply,
        "outputs": run.read_outputs, "bootstrap": run.bootstrap, "addons": run.addons,
        "rollout": run.rollout, "check": run.check,
    }  # fmt: skip
    report = UpReport(spec.name, [StageResult(name) for name in STAGES], run.summary)
    return _run_stages("up", steps, report, events, _why_skipped, until=options.until)


def _why_skipped(stage: str) -> str:
    return "turned off" if stage == "check" else "the plan has no changes"


def _run_stages(
    command: Literal["up", "down"],
    steps: dict[str, Callable[[], str | None]],
    report: UpReport,
    events: EventLog,
    why_skipped: Callable[[str], str],
    until: str | None = None,
) -> UpReport:
    """The one stage loop of ``up`` and ``down``: each stage timed and reported as an event; a stage that
    returns None was skipped; the first that fails (or ``until``) ends the run."""
    for result in report.stages:
        started = time.monotonic()
        events.emit(Event(command, result.name, "start"))
        try:
            detail = steps[result.name]()
        except ClouderError as exc:
            result.state, result.detail = "failed", events.redactor.redact(exc.render())
        else:
            result.state = "ok" if detail is not None else "skipped"
            result.detail = detail if detail is not None else why_skipped(result.name)
        result.seconds = round(time.monotonic() - started, 3)
        outcome: Literal["ok", "skipped", "failed"] = result.state
        events.emit(Event(command, result.name, outcome, None, result.seconds, result.detail))
        if result.state == "failed" or result.name == until:
            break
    return report


DOWN_STAGES = ("plan-destroy", "approval", "services", "destroy")


@dataclass(frozen=True)
class DownOptions:
    stack: Path | None = None
    approve: bool = False
    approval_file: Path | None = None
    kubeconfig: Path | None = None
    timeout: float = 300.0


@dataclass
class _Down:
    spec: ClusterSpec
    options: DownOptions
    log: EventLog
    guarded: GuardedApply | None = None

    def plan_destroy(self) -> str:
        from clouder.terraform.guarded import GuardedApply
        from clouder.terraform.stackcache import ensure_stack
        from clouder.terraform.workflow import Workflow

        stack = self.options.stack or ensure_stack(self.spec)[0]
        workflow = Workflow(self.spec, stack, events=self.log)
        self.guarded = GuardedApply(workflow, self.options.approve, self.options.approval_file)
        saved = self.guarded.plan(destroy=True)
        return f"{saved.summary.counts()['delete']} to destroy"

    def approval(self) -> str:
        assert self.guarded is not None
        return self.guarded.authorize().approval

    def services(self) -> str | None:
        from clouder.services.teardown import uninstall
        from clouder.workdir import kubeconfig_path

        spec, options, events = self.spec, self.options, self.log
        path = options.kubeconfig or kubeconfig_path(spec)
        if not path.is_file():
            return None
        from clouder.kube import Kube

        try:
            kube = Kube.from_kubeconfig(path, events.redactor)
        except ClouderError as exc:
            events.emit(Event("down", "services", "info", detail=f"cluster unreachable, left as is: {exc}"))
            return None
        from clouder.lifecycle.teardown import release_cloud_resources

        with kube:
            removed = uninstall(kube, spec, options.timeout)
            # what controllers made in the cloud (load balancers, volumes) must go before the network can
            released = release_cloud_resources(kube, spec, options.timeout, events=events)
        if not released.ok:
            raise ClouderError(
                f"still in the cloud after {options.timeout:.0f} s: {', '.join(released.remaining)}",
                "Check their controllers' logs, then run `clouder down` again.",
            )
        return f"uninstalled {len(removed)} services; released {len(released.deleted)} cloud resources" + (
            f", kept {len(released.retained)} retained volumes" if released.retained else ""
        )

    def destroy(self) -> str | None:
        assert self.guarded is not None and self.guarded.saved is not None
        if not self.guarded.apply():
            return None
        return f"destroyed {self.guarded.saved.summary.counts()['delete']} resources"


def down(spec: ClusterSpec, options: DownOptions, events: EventLog) -> UpReport:
    """Plan the destroy, check its approval, uninstall the services (so the load balancers and volumes
    their controllers made in the cloud go first), then destroy the infrastructure."""
    run = _Down(spec, options, events)
    steps: dict[str, Callable[[], str | None]] = {
        "plan-destroy": run.plan_destroy, "approval": run.approval, "services": run.services,
        "destroy": run.destroy,
    }  # fmt: skip
    report = UpReport(spec.name, [StageResult(name) for name in DOWN_STAGES])
    return _run_stages("down", steps, report, events, lambda _: "nothing to do")

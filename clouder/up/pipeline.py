"""`clouder up`: synth → plan → policy gate/approval → apply → outputs → bootstrap → add-ons → rollout →
check, and `clouder down`: its reverse, with approval.

Every stage is one of the stages Clouder already runs alone, and each one probes reality before it acts
(an unchanged plan applies nothing, bootstrap phases ask the nodes, releases already applied are found
unchanged), so running `up` again resumes wherever the last run stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clouder.errors import ClouderError
from clouder.events import Event, EventLog
from clouder.outputs import ClusterOutputs, parse_terraform_outputs
from clouder.spec.model import ClusterSpec

if TYPE_CHECKING:
    from clouder.hosts.options import SshOptions
    from clouder.kube.client import Kube
    from clouder.policy.gate import PolicyReport
    from clouder.terraform.plans import SavedPlan
    from clouder.terraform.workflow import Workflow

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
class _Run:
    spec: ClusterSpec
    options: UpOptions
    log: EventLog
    stack: Path | None = None
    workflow: Workflow | None = None
    saved: SavedPlan | None = None
    policy: Future[PolicyReport] | None = None  # the gate, started while Terraform plans
    outputs: ClusterOutputs | None = None
    kubeconfig: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)

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
        from clouder.terraform.workflow import Workflow

        assert self.stack is not None
        self.workflow = Workflow(self.spec, self.stack, events=self.log)
        gate_too = self.options.until != "plan"
        self.saved = self.workflow.plan(before_plan=self._gate_in_background if gate_too else None)
        counts = self.saved.summary.counts()
        self.summary["planHash"] = self.saved.summary.plan_hash
        return ", ".join(f"{n} to {action}" for action, n in counts.items() if n) or "no changes"

    def _gate_in_background(self, root: Path) -> None:
        """The policy gate reads only the configuration in the Terraform root, not the plan: it runs while
        Terraform plans that same configuration (its report is used only if the plan has changes, as
        before)."""
        from clouder.policy import run_gate

        def gate() -> PolicyReport:
            started = time.monotonic()
            self.log.emit(Event("gate", "policy", "start", detail="while terraform plans"))
            report = run_gate(self.spec, root)
            self.log.emit(Event("gate", "policy", "ok", None, round(time.monotonic() - started, 3)))
            return report

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy-gate")
        self.policy = pool.submit(gate)
        pool.shutdown(wait=False)

    def gate(self) -> str | None:
        from clouder.terraform.guarded import authorize

        assert self.saved is not None and self.workflow is not None
        policy = self.policy.result if self.policy is not None else None
        authorized = authorize(self.spec, self.workflow, self.saved, self.options.approve,
                               self.options.approval_file, policy=policy)  # fmt: skip
        self.saved = authorized.saved
        if authorized.policy is None:
            return None
        accepted = len(authorized.policy.allowed)
        return f"policy passed ({accepted} accepted findings); approval: {authorized.approval}"

    def apply(self) -> str | None:
        assert self.saved is not None and self.workflow is not None
        if not self.saved.summary.has_changes:
            return None
        self.workflow.apply(self.saved)
        return "applied " + ", ".join(f"{n} {a}" for a, n in self.saved.summary.counts().items() if n)

    def read_outputs(self) -> str:
        assert self.workflow is not None
        self.outputs = parse_terraform_outputs(self.workflow.output_document(), source="terraform output")
        self.summary["apiEndpoint"] = self.outputs.api_endpoint.url
        return f"{len(self.outputs.nodes)} nodes, API {self.outputs.api_endpoint.url}"

    def bootstrap(self) -> str:
        from clouder.bootstrap.run import bootstrap, default_options

        assert self.outputs is not None
        options = default_options(self.spec)
        if self.options.ssh is not None:
            options = replace(options, ssh=self.options.ssh(options.ssh))
        report = bootstrap(self.spec, self.outputs, options, self.log)
        if not report.ok:
            failed = "; ".join(f"{h.name}: {h.error}" for h in report.failed)
            raise StageFailed(f"bootstrap failed on {failed}", "Fix the cause and run `clouder up` again.")
        self.summary["kubeconfig"] = str(self.kubeconfig or report.kubeconfig)
        ran = sum(len(h.ran) for h in report.hosts)
        return f"{len(report.hosts)} hosts, {ran} phases ran"

    def addons(self) -> str:
        from clouder.addons import AddonContext, RunSettings, run_addons
        from clouder.catalog.charts import default_catalog

        assert self.outputs is not None
        settings = RunSettings(self.options.timeout, self.options.interval,
                               catalog=default_catalog(self.options.chart_mirror))  # fmt: skip
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
    for result in report.stages:
        started = time.monotonic()
        events.emit(Event("up", result.name, "start"))
        try:
            detail = steps[result.name]()
        except ClouderError as exc:
            result.state, result.detail = "failed", events.redactor.redact(exc.render())
        else:
            result.state = "ok" if detail is not None else "skipped"
            result.detail = detail if detail is not None else _why_skipped(result.name)
        result.seconds = round(time.monotonic() - started, 3)
        outcome: Literal["ok", "skipped", "failed"] = result.state
        events.emit(Event("up", result.name, outcome, None, result.seconds, result.detail))
        if result.state == "failed" or result.name == options.until:
            break
    return report


def _why_skipped(stage: str) -> str:
    return "turned off" if stage == "check" else "the plan has no changes"


@dataclass(frozen=True)
class DownOptions:
    stack: Path | None = None
    approve: bool = False
    approval_file: Path | None = None
    kubeconfig: Path | None = None
    timeout: float = 300.0


def down(spec: ClusterSpec, options: DownOptions, events: EventLog) -> UpReport:
    """Plan the destroy, check its approval, uninstall the services (so the load balancers and volumes
    their controllers made in the cloud go first), then destroy the infrastructure."""
    from clouder.terraform.guarded import authorize
    from clouder.terraform.stackcache import ensure_stack
    from clouder.terraform.workflow import Workflow

    report = UpReport(
        spec.name, [StageResult(n) for n in ("plan-destroy", "approval", "services", "destroy")]
    )
    stages = iter(report.stages)
    state: dict[str, Any] = {}

    def plan_destroy() -> str:
        stack = options.stack or ensure_stack(spec)[0]
        state["workflow"] = workflow = Workflow(spec, stack, events=events)
        state["saved"] = saved = workflow.plan(destroy=True)
        return f"{saved.summary.counts()['delete']} to destroy"

    def approval() -> str:
        workflow, saved = state["workflow"], state["saved"]
        authorized = authorize(spec, workflow, saved, options.approve, options.approval_file)
        state["saved"] = authorized.saved
        return authorized.approval

    def services() -> str | None:
        from clouder.services.teardown import uninstall
        from clouder.workdir import kubeconfig_path

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

    def destroy() -> str | None:
        saved = state["saved"]
        if not saved.summary.has_changes:
            return None
        state["workflow"].apply(saved)
        return f"destroyed {saved.summary.counts()['delete']} resources"

    for stage, step in zip(stages, (plan_destroy, approval, services, destroy), strict=True):
        started = time.monotonic()
        events.emit(Event("down", stage.name, "start"))
        try:
            detail = step()
        except ClouderError as exc:
            stage.state, stage.detail = "failed", events.redactor.redact(exc.render())
        else:
            stage.state = "ok" if detail is not None else "skipped"
            stage.detail = detail or "nothing to do"
        stage.seconds = round(time.monotonic() - started, 3)
        outcome: Literal["ok", "skipped", "failed"] = stage.state
        events.emit(Event("down", stage.name, outcome, None, stage.seconds, stage.detail))
        if stage.state == "failed":
            break
    return report

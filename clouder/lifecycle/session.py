"""What every day-2 operation shares: the phase manager and SSH pool of clouder.hosts, its lock, a report.

Lifecycle phases are ``Phase`` subclasses bound to the hosts they act on; the hosts'
``PhaseManager`` runs them (probe first, then an idempotent run, retries on dropped connections). Events are
recorded under the stage ``lifecycle``. The bootstrap lock on the first control plane is taken for the
whole operation, so a bootstrap, an upgrade and a scale never run at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clouder.events import Event, EventLog, Outcome
from clouder.hosts.lock import RemoteLock
from clouder.hosts.manager import Context, HostState, Phase, PhaseManager
from clouder.hosts.options import BootstrapOptions
from clouder.hosts.phases import Connect
from clouder.hosts.ssh import SshPool
from clouder.outputs import ClusterOutputs
from clouder.spec.model import ClusterSpec

if TYPE_CHECKING:
    from clouder.kube.client import Kube
    from clouder.observe.check import CheckResult

STAGE = "lifecycle"
PROBES = frozenset({"connect", "probe-versions", "probe-nodes"})  # read-only: not "work done" on a node
NodeState = Literal["done", "unchanged", "failed", "untouched", "planned"]
SmokeChecks = Callable[["Kube", ClusterSpec], "list[CheckResult]"]


@dataclass(frozen=True)
class LifecycleOptions:
    """Knobs of a day-2 run. ``bootstrap`` carries SSH and node-side settings (state folder, dry run)."""

    bootstrap: BootstrapOptions
    kubeconfig: Path
    poll_interval: float = 2.0
    check_timeout: float = 180.0
    node_ready_timeout: float = 600.0
    smoke_checks: bool = True
    checks: SmokeChecks | None = None  # None: clouder.observe.check.run_checks

    @property
    def dry_run(self) -> bool:
        return self.bootstrap.dry_run


def default_options(spec: ClusterSpec, kubeconfig: Path | None = None, **changes: Any) -> LifecycleOptions:
    from clouder.bootstrap.run import default_options as bootstrap_defaults
    from clouder.workdir import kubeconfig_path

    known = {f.name for f in dataclasses.fields(BootstrapOptions)}
    boot = {k: changes.pop(k) for k in list(changes) if k in known}
    return LifecycleOptions(
        bootstrap=bootstrap_defaults(spec, **boot), kubeconfig=kubeconfig or kubeconfig_path(spec), **changes
    )


@dataclass
class NodeReport:
    name: str
    role: str
    state: NodeState
    ran: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None


@dataclass
class CheckReport:
    stage: str
    name: str
    ok: bool
    detail: str


@dataclass
class LifecycleReport:
    operation: str
    cluster: str
    ok: bool = True
    dry_run: bool = False
    nodes: list[NodeReport] = field(default_factory=list)
    checks: list[CheckReport] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early, and where
    resume: str | None = None  # how to carry on
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def failed(self) -> list[NodeReport]:
        return [node for node in self.nodes if node.state == "failed"]


class Bound(Phase):
    """A phase acting on the hosts it was given (rather than on a role's hosts)."""

    def __init__(self, hosts: list[HostState]) -> None:
        self.hosts = hosts

    def targets(self, ctx: Context) -> list[HostState]:
        return list(self.hosts)


@dataclass
class Session:
    ctx: Context
    manager: PhaseManager
    options: LifecycleOptions
    visited: set[str] = field(default_factory=set)

    @property
    def events(self) -> EventLog:
        return self.ctx.events

    async def run(self, phases: Sequence[Phase]) -> bool:
        """Apply phases in order; stop after the first one a host failed. True when all went well."""
        for phase in phases:
            for host in phase.targets(self.ctx):
                self.visited.add(host.name)
            await self.manager.apply_one(phase)
            if any(not host.ok for host in phase.targets(self.ctx)):
                return False
        return True

    def info(self, phase: str, detail: str, host: str | None = None) -> None:
        self.events.emit(Event(STAGE, phase, "info", host, None, detail))

    def node_reports(self) -> list[NodeReport]:
        reports = []
        for host in self.ctx.hosts.values():
            state: NodeState
            if not host.ok:
                state = "failed"
            elif host.name not in self.visited:
                state = "untouched"
            elif host.planned:
                state = "planned"
            elif set(host.ran) - PROBES:
                state = "done"
            else:
                state = "unchanged"
            error = host.error.message if host.error is not None else None
            hint = host.error.hint if host.error is not None and host.error.hint else None
            ran = [name for name in host.ran if name not in PROBES]
            reports.append(NodeReport(host.name, host.node.role, state, ran, host.planned, error, hint))
        return reports


@asynccontextmanager
async def open_session(
    spec: ClusterSpec,
    outputs: ClusterOutputs,
    options: LifecycleOptions,
    events: EventLog,
    lock: bool = True,
    only: set[str] | None = None,
) -> AsyncIterator[Session]:
    """Connect to the nodes of the outputs contract (or ``only`` these, the first control plane always
    included) and hold the cluster lock while the caller works."""
    pool = SshPool(options.bootstrap.ssh, outputs, events.redactor)
    wanted = None if only is None else {*only, outputs.control_planes[0].name}
    hosts = {node.name: HostState(node) for node in outputs.nodes if wanted is None or node.name in wanted}
    ctx = Context(spec, outputs, options.bootstrap, pool, events, hosts)
    session = Session(ctx, PhaseManager(ctx, STAGE), options)
    remote: RemoteLock | None = None
    try:
        await session.manager.apply_one(Connect())
        first = ctx.first
        if lock and not options.dry_run and first.ok:
            boot = options.bootstrap
            remote = RemoteLock(pool, first.node, boot.state_dir, boot.lock_heartbeat, boot.lock_stale_after)
            await remote.acquire(boot.break_lock)
            if remote.took_over is not None:
                session.info("lock", f"took over the lock left by {remote.took_over.describe()}", first.name)
        yield session
    finally:
        if remote is not None:
            await remote.release()
        await pool.close()


async def smoke(
    options: LifecycleOptions,
    spec: ClusterSpec,
    events: EventLog,
    kube: Kube,
    stage: str,
    report: LifecycleReport,
) -> bool:
    """Run the smoke checks (in a thread: the client blocks) and record them; True when all pass."""
    if not options.smoke_checks or options.dry_run:
        return True
    checks = options.checks
    if checks is None:
        from clouder.observe.check import CheckSettings, run_checks

        settings = CheckSettings(options.check_timeout, options.poll_interval)

        def checks(kube: Kube, spec: ClusterSpec) -> list[CheckResult]:
            return run_checks(kube, spec, settings)

    started = time.monotonic()
    results = await asyncio.to_thread(checks, kube, spec)
    for result in results:
        report.checks.append(CheckReport(stage, result.name, result.ok, result.detail))
    ok = all(result.ok for result in results)
    failed = ", ".join(result.name for result in results if not result.ok)
    took = round(time.monotonic() - started, 3)
    outcome: Outcome = "ok" if ok else "failed"
    detail = f"failed: {failed}" if failed else ""
    events.emit(Event(STAGE, f"smoke-checks ({stage})", outcome, None, took, detail))
    return ok

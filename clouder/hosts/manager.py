"""A phase manager in the style of k0sctl: small named phases, each probing the real host before it acts.

For every phase and host the manager asks ``should_run`` (a probe of the node, never of a local file) and only
then calls ``run``, which is idempotent. A dropped connection retries the probe-then-run step on a fresh
connection, so a half-done step is found out by the probe. A host that fails is left out of later phases;
healthy hosts carry on where that is safe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from clouder.errors import ClouderError
from clouder.events import Event, EventLog

if TYPE_CHECKING:
    from clouder.hosts.options import BootstrapOptions
    from clouder.hosts.ssh import HostSession, SshPool
    from clouder.outputs import ClusterOutputs, Node
    from clouder.spec.model import ClusterSpec

STAGE = "bootstrap"


@dataclass
class HostState:
    node: Node
    session: HostSession | None = None
    facts: dict[str, str] = field(default_factory=dict)
    error: ClouderError | None = None
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def ok(self) -> bool:
        return self.error is None

    def shell(self) -> HostSession:
        assert self.session is not None, f"{self.name}: not connected"
        return self.session


@dataclass
class Context:
    spec: ClusterSpec
    outputs: ClusterOutputs
    options: BootstrapOptions
    pool: SshPool
    events: EventLog
    hosts: dict[str, HostState]
    token: str | None = None
    ca_hash: str | None = None
    certificate_key: str | None = None
    kubeconfig: str | None = None

    def info(self, phase: str, host: str, detail: str) -> None:
        self.events.emit(Event(STAGE, phase, "info", host, None, detail))

    @property
    def first(self) -> HostState:
        return self.hosts[self.outputs.control_planes[0].name]

    @property
    def joining_control_planes(self) -> list[HostState]:
        return [self.hosts[n.name] for n in self.outputs.control_planes[1:]]

    @property
    def workers(self) -> list[HostState]:
        return [self.hosts[n.name] for n in self.outputs.workers]


class Phase:
    name: ClassVar[str]
    serial: ClassVar[bool] = False
    read_only: ClassVar[bool] = False  # read-only phases also run under --dry-run
    needs_first: ClassVar[bool] = False  # skipped everywhere when the first control plane failed
    # Starts together with the phase before it instead of after it: the two need nothing of each other and
    # target different hosts (workers join while the control planes join one by one).
    with_previous: ClassVar[bool] = False

    def targets(self, ctx: Context) -> list[HostState]:
        return list(ctx.hosts.values())

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        return True

    async def run(self, ctx: Context, host: HostState) -> None:
        raise NotImplementedError

    def action(self, ctx: Context, host: HostState) -> str:
        return self.name


def _transient(exc: BaseException) -> bool:
    return bool(getattr(exc, "transient", False))


class PhaseManager:
    """Runs phases over the hosts of ``ctx``, recording their events under ``stage``."""

    def __init__(self, ctx: Context, stage: str = STAGE) -> None:
        self.ctx = ctx
        self.stage = stage

    async def apply(self, phases: list[Phase], before: Callable[[], None] | None = None) -> None:
        """Apply ``phases`` in order, each ``with_previous`` phase at once with the one before it;
        ``before`` may stop the run between phases by raising."""
        groups: list[list[Phase]] = []
        for phase in phases:
            if phase.with_previous and groups:
                groups[-1].append(phase)
            else:
                groups.append([phase])
        for group in groups:
            if before is not None:
                before()
            await asyncio.gather(*(self.apply_one(phase) for phase in group))

    async def apply_one(self, phase: Phase) -> None:
        ctx = self.ctx
        if phase.needs_first and not ctx.first.ok:
            for host in phase.targets(ctx):
                if host.ok:
                    host.error = ClouderError(
                        f"{host.name}: {phase.name} not attempted: "
                        f"the first control plane {ctx.first.name} failed"
                    )
                    self._emit(phase, host, "skipped", f"first control plane {ctx.first.name} failed")
            return
        targets = [host for host in phase.targets(ctx) if host.ok]
        if phase.serial:
            for index, host in enumerate(targets):
                await self._step(phase, host)
                if not host.ok:
                    for rest in targets[index + 1 :]:
                        rest.error = ClouderError(
                            f"{rest.name}: not attempted after {host.name} failed {phase.name}"
                        )
                        self._emit(phase, rest, "skipped", f"{host.name} failed before it")
                    break
            return
        await asyncio.gather(*(self._step(phase, host) for host in targets))

    async def _step(self, phase: Phase, host: HostState) -> None:
        ctx = self.ctx
        ssh = ctx.options.ssh
        retrying = AsyncRetrying(
            stop=stop_after_attempt(ssh.attempts),
            wait=wait_exponential(multiplier=ssh.backoff_initial, max=ssh.backoff_max),
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        started = time.monotonic()
        try:
            async with ctx.pool.hosts_slots:
                async for attempt in retrying:
                    with attempt:
                        if attempt.retry_state.attempt_number > 1:
                            self._emit(phase, host, "info", f"retry {attempt.retry_state.attempt_number}")
                        await self._probe_then_run(phase, host, started)
        except ClouderError as exc:
            host.error = exc
            self._emit(phase, host, "failed", exc.render(), started)

    async def _probe_then_run(self, phase: Phase, host: HostState, started: float) -> None:
        ctx = self.ctx
        host.session = await ctx.pool.session(host.node)
        if not await phase.should_run(ctx, host):
            host.skipped.append(phase.name)
            self._emit(phase, host, "skipped", "already done", started)
            return
        if ctx.options.dry_run and not phase.read_only:
            host.planned.append(phase.action(ctx, host))
            self._emit(phase, host, "info", "would run: " + phase.action(ctx, host))
            return
        self._emit(phase, host, "start")
        await phase.run(ctx, host)
        host.ran.append(phase.name)
        self._emit(phase, host, "ok", "", started)

    def _emit(
        self, phase: Phase, host: HostState, outcome: str, detail: str = "", started: float | None = None
    ) -> None:
        took = round(time.monotonic() - started, 3) if started is not None else None
        self.ctx.events.emit(Event(self.stage, phase.name, outcome, host.name, took, detail))  # type: ignore[arg-type]

"""Run the bootstrap: connect, take the lock on the first control plane, apply the phases, report per host."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clouder.bootstrap.phases import API_READY_AFTER, PHASES
from clouder.events import EventLog
from clouder.hosts.lock import RemoteLock
from clouder.hosts.manager import Context, HostState, PhaseManager
from clouder.hosts.options import BootstrapOptions, SshOptions, parse_networks
from clouder.hosts.ssh import SshPool
from clouder.outputs import ClusterOutputs
from clouder.spec.model import ClusterSpec


@dataclass(frozen=True)
class HostReport:
    name: str
    role: str
    ok: bool
    ran: list[str]
    skipped: list[str]
    planned: list[str]
    facts: dict[str, str]
    error: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class BootstrapReport:
    cluster: str
    ok: bool
    dry_run: bool
    hosts: list[HostReport]
    kubeconfig: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def failed(self) -> list[HostReport]:
        return [host for host in self.hosts if not host.ok]


def default_options(spec: ClusterSpec, **changes: Any) -> BootstrapOptions:
    """Options from the spec and the cluster's work folder; ``changes`` override BootstrapOptions fields."""
    from clouder.workdir import cluster_dir, kubeconfig_path

    ssh = SshOptions(
        private_key=Path(spec.access.private_key_path).expanduser(),
        known_hosts=cluster_dir(spec) / "known_hosts",
        node_networks=parse_networks([spec.network.cidr]),
    )
    base = BootstrapOptions(ssh=ssh, kubeconfig_out=kubeconfig_path(spec))
    return dataclasses.replace(base, **changes)


def _report(ctx: Context, notes: list[str]) -> BootstrapReport:
    def one(host: HostState) -> HostReport:
        error = host.error.message if host.error is not None else None
        hint = host.error.hint if host.error is not None and host.error.hint else None
        return HostReport(
            host.name, host.node.role, host.ok, host.ran, host.skipped, host.planned, host.facts, error, hint
        )

    hosts = [one(host) for host in ctx.hosts.values()]
    ok = all(host.ok for host in hosts)
    kubeconfig = ctx.kubeconfig if ok or ctx.first.ok else None
    return BootstrapReport(ctx.outputs.cluster_name, ok, ctx.options.dry_run, hosts, kubeconfig, notes)


async def bootstrap_async(
    spec: ClusterSpec,
    outputs: ClusterOutputs,
    options: BootstrapOptions,
    events: EventLog,
    on_api_ready: Callable[[str], None] | None = None,
) -> BootstrapReport:
    """Apply the phases; ``on_api_ready`` gets the admin kubeconfig's path as soon as the first control plane
    serves the API (before the other nodes join), unless that failed or this is a dry run."""
    pool = SshPool(options.ssh, outputs, events.redactor)
    hosts = {node.name: HostState(node) for node in outputs.nodes}
    ctx = Context(spec, outputs, options, pool, events, hosts)
    manager = PhaseManager(ctx)
    phases = [phase() for phase in PHASES]
    notes: list[str] = []
    lock: RemoteLock | None = None
    try:
        await manager.apply(phases[:1])
        if not options.dry_run and ctx.first.ok:
            lock = RemoteLock(
                pool, ctx.first.node, options.state_dir, options.lock_heartbeat, options.lock_stale_after
            )
            await lock.acquire(options.break_lock)
            if lock.took_over is not None:
                note = f"took over the bootstrap lock left by {lock.took_over.describe()}"
                notes.append(note)
                ctx.info("lock", ctx.first.name, note)
        check = lock.check if lock is not None else None
        split = next(i for i, phase in enumerate(phases) if isinstance(phase, API_READY_AFTER)) + 1
        await manager.apply(phases[1:split], before=check)
        if on_api_ready is not None and ctx.first.ok and ctx.kubeconfig is not None and not options.dry_run:
            on_api_ready(ctx.kubeconfig)
        await manager.apply(phases[split:], before=check)
    finally:
        if lock is not None:
            await lock.release()
        await pool.close()
    return _report(ctx, notes)


def bootstrap(
    spec: ClusterSpec,
    outputs: ClusterOutputs,
    options: BootstrapOptions,
    events: EventLog | None = None,
    on_api_ready: Callable[[str], None] | None = None,
) -> BootstrapReport:
    return asyncio.run(bootstrap_async(spec, outputs, options, events or EventLog(), on_api_ready))

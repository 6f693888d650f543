"""Remove nodes (cordon, drain, ``kubeadm reset``, delete the Node), repair a node that failed to join
(reset, then the bootstrap joins it again), and scale node pools and control planes.

Scaling down drains and resets every node the new spec drops *before* Terraform destroys its VM; scaling
up lets Terraform create the VMs, then runs the bootstrap, whose probes skip every node already joined and
join the new ones (workers in parallel, control planes one at a time). The infrastructure step is an
``Infra`` (``clouder.lifecycle.infra.TerraformInfra`` in production): it plans first, so that a plan that
destroys other VMs than the ones Clouder drained is refused before anything is touched.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from clouder.errors import BadInputError
from clouder.events import EventLog
from clouder.hosts.manager import Context, HostState
from clouder.hosts.phases import node_locked
from clouder.kube.client import Kube
from clouder.lifecycle import kubeops
from clouder.lifecycle.session import (
    STAGE,
    Bound,
    LifecycleOptions,
    LifecycleReport,
    NodeReport,
    open_session,
    smoke,
)
from clouder.outputs import ClusterOutputs, Node
from clouder.spec.model import ClusterSpec

KUBEADM_LEFTOVERS = (
    "[ -e /etc/kubernetes/kubelet.conf ] || [ -e /etc/kubernetes/pki/ca.crt ] || "
    '[ -n "$(ls -A /etc/kubernetes/manifests 2>/dev/null)" ]'
)


class _NodeStep(Bound):
    def __init__(self, kube: Kube, options: LifecycleOptions, hosts: list[HostState]) -> None:
        super().__init__(hosts)
        self.kube = kube
        self.options = options

    async def registered(self, host: HostState) -> bool:
        return await asyncio.to_thread(kubeops.get_node, self.kube, host.name) is not None


class DrainNode(_NodeStep):
    name = "drain"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        return await self.registered(host)

    async def run(self, ctx: Context, host: HostState) -> None:
        timeout, interval = float(ctx.spec.maintenance.drain_timeout_s), self.options.poll_interval
        result = await asyncio.to_thread(kubeops.drain, self.kube, host.name, timeout, interval, "remove")
        ctx.info(self.name, host.name, f"cordoned; evicted {len(result.evicted)} pod(s)")

    def action(self, ctx: Context, host: HostState) -> str:
        return "cordon and drain"


class ResetNode(_NodeStep):
    name = "kubeadm-reset"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        probe = node_locked(ctx, f"if {KUBEADM_LEFTOVERS}; then echo joined; else echo clean; fi")
        return (await host.shell().run(probe, label="reset probe")).stdout.strip() == "joined"

    async def run(self, ctx: Context, host: HostState) -> None:
        await host.shell().run(node_locked(ctx, "kubeadm reset --force"), label="kubeadm reset")

    def action(self, ctx: Context, host: HostState) -> str:
        return "kubeadm reset --force"


class DeleteNode(_NodeStep):
    name = "delete-node"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        return await self.registered(host)

    async def run(self, ctx: Context, host: HostState) -> None:
        await asyncio.to_thread(kubeops.delete_node, self.kube, host.name)

    def action(self, ctx: Context, host: HostState) -> str:
        return "delete the Node object"


def _known(outputs: ClusterOutputs, names: list[str]) -> list[Node]:
    by_name = {node.name: node for node in outputs.nodes}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise BadInputError(
            f"no node named {', '.join(unknown)} in the outputs contract.",
            f"Known nodes: {', '.join(by_name)}.",
        )
    return [by_name[name] for name in names]


def _check_removable(outputs: ClusterOutputs, nodes: list[Node]) -> None:
    first = outputs.control_planes[0]
    if any(node.name == first.name for node in nodes):
        raise BadInputError(
            f"refusing to remove {first.name}: it is the first control plane (kubeadm init ran there).",
            "Remove other control planes instead; the first one goes only with the cluster.",
        )


async def remove_async(
    spec: ClusterSpec,
    outputs: ClusterOutputs,
    kube: Kube,
    options: LifecycleOptions,
    events: EventLog,
    names: list[str],
    operation: str = "remove",
) -> LifecycleReport:
    """Cordon, drain, ``kubeadm reset`` and delete these nodes from the cluster, one at a time.

    The VMs stay; Terraform removes them when the spec no longer asks for them (``clouder scale``).
    """
    nodes = _known(outputs, names)
    _check_removable(outputs, nodes)
    report = LifecycleReport(operation, outputs.cluster_name, dry_run=options.dry_run)
    only = {outputs.control_planes[0].name, *names}
    async with open_session(spec, outputs, options, events, only=only) as session:
        for node in nodes:  # one at a time: the disruption is one node's pods
            host = session.ctx.hosts[node.name]
            steps = [
                DrainNode(kube, options, [host]),
                ResetNode(kube, options, [host]),
                DeleteNode(kube, options, [host]),
            ]
            if not host.ok:
                report.ok = False
                report.stopped = f"{node.name} is unreachable; nothing was changed on it"
                break
            if not await session.run(steps):
                report.ok = False
                report.stopped = f"removing {node.name}"
                report.resume = "Fix the cause and run again: finished steps are skipped."
                break
        report.nodes = [n for n in session.node_reports() if n.name in names]
    return report


async def repair_async(
    spec: ClusterSpec,
    outputs: ClusterOutputs,
    kube: Kube,
    options: LifecycleOptions,
    events: EventLog,
    name: str,
    force: bool = False,
) -> LifecycleReport:
    """Reset a node that failed to join (or whose kubelet never became Ready) and join it again."""
    from clouder.bootstrap.run import bootstrap_async

    (node,) = _known(outputs, [name])
    if node.name == outputs.control_planes[0].name:
        raise BadInputError(
            f"refusing to repair {name}: it is the first control plane; "
            "re-joining it would need a new cluster."
        )
    live = await asyncio.to_thread(kubeops.get_node, kube, name)
    if live is not None and kubeops.node_ready(live) and not force:
        raise BadInputError(
            f"{name} is registered and Ready: there is nothing to repair.",
            "Pass --force to reset and re-join it anyway (its pods are drained first).",
        )
    report = LifecycleReport("repair", outputs.cluster_name, dry_run=options.dry_run)
    async with open_session(
        spec, outputs, options, events, only={outputs.control_planes[0].name, name}
    ) as session:
        host = session.ctx.hosts[name]
        steps = [
            DrainNode(kube, options, [host]),
            ResetNode(kube, options, [host]),
            DeleteNode(kube, options, [host]),
        ]
        ok = host.ok and await session.run(steps)
        report.nodes = [n for n in session.node_reports() if n.name == name]
    if not ok:
        report.ok = False
        report.stopped = f"resetting {name}"
        return report
    if options.dry_run:
        report.notes.append(f"would join {name} again with the bootstrap phases")
        return report
    joined = await bootstrap_async(spec, outputs, options.bootstrap, events)
    mine = next(h for h in joined.hosts if h.name == name)
    report.nodes[0].ran += [phase for phase in mine.ran if phase.startswith("join")]
    if not mine.ok:
        report.ok = False
        report.nodes[0].state = "failed"
        report.nodes[0].error = mine.error
        report.stopped = f"joining {name} again"
        return report
    ready = await asyncio.to_thread(
        kubeops.wait_node_ready, kube, name, options.node_ready_timeout, options.poll_interval
    )
    if not ready:
        report.ok = False
        report.stopped = f"{name} joined but did not become Ready within {options.node_ready_timeout:g}s"
    return report


def planned_removals(spec: ClusterSpec, outputs: ClusterOutputs) -> list[Node]:
    """Nodes the new spec drops: per pool, those beyond its new count (the stacks count nodes per pool and
    drop the highest indexes, which come last in the outputs contract); all nodes of a pool that is gone."""
    wanted = {"control-plane": spec.control_plane.count} | {p.name: p.count for p in spec.node_pools}
    seen: dict[str, int] = {}
    removals = []
    for node in outputs.nodes:
        seen[node.pool] = seen.get(node.pool, 0) + 1
        if seen[node.pool] > wanted.get(node.pool, 0):
            removals.append(node)
    return removals


class Infra(Protocol):
    """The infrastructure step of a scale: plan the spec, then apply exactly that plan."""

    def plan(self, spec: ClusterSpec) -> int:
        """Plan; return how many node VMs the plan destroys (deleted or replaced)."""
        ...

    def apply(self) -> ClusterOutputs:
        """Apply the plan made by ``plan``; return the new outputs contract."""
        ...


async def scale_async(
    spec: ClusterSpec,
    outputs: ClusterOutputs,
    kube: Kube,
    options: LifecycleOptions,
    events: EventLog,
    infra: Infra,
) -> LifecycleReport:
    """Bring the cluster to the spec's node counts: drain and remove first, then Terraform, then join."""
    from clouder.bootstrap.run import bootstrap_async

    report = LifecycleReport("scale", outputs.cluster_name, dry_run=options.dry_run)
    removals = planned_removals(spec, outputs)
    _check_removable(outputs, removals)
    destroyed = await asyncio.to_thread(infra.plan, spec)
    if destroyed != len(removals):
        raise BadInputError(
            f"the plan destroys {destroyed} node VM(s) but the spec drops {len(removals)} node(s) "
            f"({', '.join(n.name for n in removals) or 'none'}): refusing, nothing was changed.",
            "A plan that replaces nodes (a changed image, size or user-data) is for `clouder apply` with "
            "approval; scale with node-count changes only.",
        )
    report.details["remove"] = [node.name for node in removals]
    if removals:
        removed = await remove_async(
            spec, outputs, kube, options, events, [n.name for n in removals], operation="scale"
        )
        report.nodes += removed.nodes
        if not removed.ok:
            report.ok, report.stopped, report.resume = False, removed.stopped, removed.resume
            return report
    if options.dry_run:
        report.notes.append("would apply the plan, then join the new nodes")
        return report
    with events.timed(STAGE, "terraform-apply"):
        after = await asyncio.to_thread(infra.apply)
    before = {node.name for node in outputs.nodes}
    added = [node for node in after.nodes if node.name not in before]
    report.details["add"] = [node.name for node in added]
    left = [node.name for node in removals if node.name in {n.name for n in after.nodes}]
    if left:
        report.ok = False
        report.stopped = f"Terraform kept {', '.join(left)}, which were already drained and reset"
        return report
    if added:
        joined = await bootstrap_async(spec, after, options.bootstrap, events)
        for host in joined.hosts:
            if host.name in report.details["add"]:
                report.nodes.append(
                    NodeReport(
                        host.name, host.role, "done" if host.ok else "failed", host.ran, error=host.error
                    )
                )
        if not joined.ok:
            report.ok = False
            report.stopped = "joining the new nodes"
            report.resume = "Fix the cause and run `clouder bootstrap` (or `clouder scale`) again."
            return report
        for node in added:
            limit, interval = options.node_ready_timeout, options.poll_interval
            ready = await asyncio.to_thread(kubeops.wait_node_ready, kube, node.name, limit, interval)
            if not ready:
                report.ok = False
                report.stopped = f"{node.name} joined but did not become Ready within {limit:g}s"
                return report
    if not await smoke(options, spec, events, kube, "after", report):
        report.ok = False
        report.stopped = "smoke checks after scaling failed"
    return report

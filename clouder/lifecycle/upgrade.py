"""Upgrade Kubernetes one minor version at a time, the kubeadm way, resumable at any point.

Order (as the kubeadm upgrade guide prescribes):

1. smoke checks (``clouder check``) must pass;
2. the first control plane: kubeadm package → ``kubeadm upgrade plan`` → ``kubeadm upgrade apply`` → drain →
   kubelet + kubectl packages → uncordon;
3. the other control planes, one at a time: kubeadm package → ``kubeadm upgrade node`` → drain → kubelet +
   kubectl → uncordon;
4. smoke checks; then the workers in batches of ``maintenance.maxUnavailableWorkers``: cordon + drain →
   kubeadm package → ``kubeadm upgrade node`` → kubelet + kubectl → uncordon; smoke checks after each batch.

The run stops at the first failure: the failed node is reported (it stays cordoned), nodes not reached are
left untouched. Every step probes the node first (package versions, the kube-apiserver manifest's image,
the Node's cordon mark), so running again resumes where the last run stopped and repeats nothing.
"""

from __future__ import annotations

import asyncio
import shlex

from clouder.errors import ClouderError
from clouder.events import EventLog
from clouder.hosts.manager import Context, HostState, Phase
from clouder.hosts.phases import node_locked
from clouder.hosts.secrets import scrub
from clouder.kube.client import Kube
from clouder.lifecycle import kubeops
from clouder.lifecycle.session import (
    Bound,
    LifecycleOptions,
    LifecycleReport,
    Session,
    open_session,
    smoke,
)
from clouder.lifecycle.versions import UpgradePath, check_path, package_version, parse
from clouder.outputs import ClusterOutputs
from clouder.spec.model import ClusterSpec

HELPER = "clouder-node-packages"
APISERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
VERSIONS_SCRIPT = (
    'echo "kubeadm=$(kubeadm version -o short 2>/dev/null || echo missing)"; '
    f"if command -v {HELPER} >/dev/null; then {HELPER} versions | sed 's/^/package-/'; "
    "else echo helper=missing; fi; "
    "echo \"control=$(sed -n 's#.*image: .*/kube-apiserver:\\(v[0-9.]*\\).*#\\1#p' "
    f'{APISERVER_MANIFEST} 2>/dev/null)"'
)


async def probe_versions(host: HostState) -> dict[str, str]:
    out = (await host.shell().run(VERSIONS_SCRIPT, label="probe versions")).stdout
    facts = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    host.facts.update(facts)
    return facts


def _release(value: str | None) -> tuple[int, int, int] | None:
    try:
        return parse(value) if value and value != "missing" else None
    except ClouderError:
        return None


class _UpgradeStep(Bound):
    def __init__(self, up: Upgrade, hosts: list[HostState]) -> None:
        super().__init__(hosts)
        self.up = up

    @property
    def target(self) -> tuple[int, int, int]:
        return parse(self.up.path.target)

    async def versions(self, host: HostState) -> dict[str, str]:
        return await probe_versions(host)

    async def kubelet_done(self, host: HostState) -> bool:
        return _release((await self.versions(host)).get("package-kubelet")) == self.target

    async def install(self, ctx: Context, host: HostState, packages: list[str]) -> None:
        version = package_version(self.up.path.target)
        names = " ".join(shlex.quote(p) for p in packages)
        await host.shell().run(
            node_locked(ctx, f"{HELPER} install {shlex.quote(version)} {names}"),
            label=f"install {', '.join(packages)} {version}",
        )


class ProbeVersions(Bound):
    name = "probe-versions"
    read_only = True

    async def run(self, ctx: Context, host: HostState) -> None:
        facts = await probe_versions(host)
        if facts.get("helper") == "missing":
            raise ClouderError(
                f"{host.name}: the node has no {HELPER} (the package helper Clouder's user-data installs).",
                "Nodes made by an older Clouder need it: re-create them, or copy it from the user-data.",
            )
        if facts.get("kubeadm", "missing") == "missing":
            raise ClouderError(f"{host.name}: kubeadm is not installed.")


class KubeadmPackage(_UpgradeStep):
    name = "kubeadm-package"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        return _release((await self.versions(host)).get("kubeadm")) != self.target

    async def run(self, ctx: Context, host: HostState) -> None:
        await self.install(ctx, host, ["kubeadm"])
        have = (await self.versions(host)).get("kubeadm")
        if _release(have) != self.target:
            raise ClouderError(f"{host.name}: kubeadm reports {have} after the package upgrade.")

    def action(self, ctx: Context, host: HostState) -> str:
        return f"install kubeadm {package_version(self.up.path.target)}"


class UpgradePlan(_UpgradeStep):
    name = "kubeadm-upgrade-plan"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        return _release((await self.versions(host)).get("control")) != self.target

    async def run(self, ctx: Context, host: HostState) -> None:
        result = await host.shell().run(
            node_locked(ctx, f"kubeadm upgrade plan v{self.up.path.target}"), label="kubeadm upgrade plan"
        )
        last = [line for line in result.stdout.strip().splitlines() if line.strip()][-1:]
        ctx.info(self.name, host.name, scrub(" ".join(last), ctx.events.redactor))

    def action(self, ctx: Context, host: HostState) -> str:
        return f"kubeadm upgrade plan v{self.up.path.target}"


class UpgradeApply(_UpgradeStep):
    name = "kubeadm-upgrade-apply"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        return _release((await self.versions(host)).get("control")) != self.target

    async def run(self, ctx: Context, host: HostState) -> None:
        await host.shell().run(
            node_locked(ctx, f"kubeadm upgrade apply v{self.up.path.target} --yes"),
            label="kubeadm upgrade apply",
            timeout=max(ctx.options.ssh.command_timeout, 900.0),
        )

    def action(self, ctx: Context, host: HostState) -> str:
        return f"kubeadm upgrade apply v{self.up.path.target}"


class UpgradeNode(_UpgradeStep):
    name = "kubeadm-upgrade-node"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        facts = await self.versions(host)
        if host.node.role == "control-plane":
            return _release(facts.get("control")) != self.target
        return _release(facts.get("package-kubelet")) != self.target

    async def run(self, ctx: Context, host: HostState) -> None:
        await host.shell().run(
            node_locked(ctx, "kubeadm upgrade node"),
            label="kubeadm upgrade node",
            timeout=max(ctx.options.ssh.command_timeout, 900.0),
        )

    def action(self, ctx: Context, host: HostState) -> str:
        return "kubeadm upgrade node"


class Drain(_UpgradeStep):
    name = "drain"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        return not await self.kubelet_done(host)

    async def run(self, ctx: Context, host: HostState) -> None:
        timeout = float(ctx.spec.maintenance.drain_timeout_s)
        result = await asyncio.to_thread(
            kubeops.drain, self.up.kube, host.name, timeout, self.up.options.poll_interval, "upgrade"
        )
        ctx.info(self.name, host.name, f"cordoned; evicted {len(result.evicted)} pod(s)")

    def action(self, ctx: Context, host: HostState) -> str:
        return "cordon and drain (evictions honour PodDisruptionBudgets)"


class KubeletPackage(_UpgradeStep):
    name = "kubelet-package"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        return not await self.kubelet_done(host)

    async def run(self, ctx: Context, host: HostState) -> None:
        await self.install(ctx, host, ["kubelet", "kubectl"])

    def action(self, ctx: Context, host: HostState) -> str:
        version = package_version(self.up.path.target)
        return f"install kubelet and kubectl {version}, restart kubelet"


class Uncordon(_UpgradeStep):
    name = "uncordon"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        node = await asyncio.to_thread(kubeops.get_node, self.up.kube, host.name)
        return node is not None and kubeops.cordoned_by_clouder(node)

    async def run(self, ctx: Context, host: HostState) -> None:
        options = self.up.options
        limit, interval = options.node_ready_timeout, options.poll_interval
        ready = await asyncio.to_thread(kubeops.wait_node_ready, self.up.kube, host.name, limit, interval)
        if not ready:
            raise ClouderError(
                f"{host.name}: the node is not Ready {options.node_ready_timeout:g}s after its upgrade; "
                "it stays cordoned.",
                "Look at the kubelet's log on the node (journalctl -u kubelet), then run again.",
            )
        await asyncio.to_thread(kubeops.uncordon, self.up.kube, host.name)

    def action(self, ctx: Context, host: HostState) -> str:
        return "wait until Ready, uncordon"


class Upgrade:
    """One upgrade run: the path decided from what the nodes run, then the phases, batch by batch."""

    def __init__(self, session: Session, kube: Kube, report: LifecycleReport) -> None:
        self.session = session
        self.kube = kube
        self.report = report
        self.options: LifecycleOptions = session.options
        self.path = UpgradePath("", "", "")

    @property
    def ctx(self) -> Context:
        return self.session.ctx

    def decide(self, target: str) -> UpgradePath:
        """The oldest and newest release on any node (control plane images, kubelets) against the target."""
        found: list[tuple[int, int, int]] = []
        for host in self.ctx.hosts.values():
            for key in ("control", "package-kubelet", "kubeadm"):
                release = _release(host.facts.get(key))
                if release is not None and (key != "kubeadm"):
                    found.append(release)
        if not found:
            raise ClouderError("could not tell which Kubernetes version the nodes run.")
        low, high = min(found), max(found)
        self.path = check_path(".".join(map(str, low)), ".".join(map(str, high)), target)
        return self.path

    async def smoke(self, stage: str) -> bool:
        return await smoke(self.options, self.ctx.spec, self.ctx.events, self.kube, stage, self.report)

    async def stop(self, where: str) -> None:
        self.report.ok = False
        self.report.stopped = where
        self.report.resume = (
            "Fix the cause and run `clouder upgrade` again: finished steps are skipped, the rest resumes."
        )

    async def run(self) -> None:
        ctx, session, report = self.ctx, self.session, self.report
        report.details.update(target=self.path.target, lowest=self.path.lowest, highest=self.path.highest)
        if not await self.smoke("before"):
            return await self.stop("smoke checks before the upgrade failed; nothing was changed")
        first = ctx.first
        if not await session.run(self._first_phases([first])):
            return await self.stop(f"control plane {first.name}")
        for host in ctx.joining_control_planes:  # one at a time: etcd and the API stay available
            if not await session.run(self._control_phases([host])):
                return await self.stop(f"control plane {host.name}")
        if not await self.smoke("control planes"):
            return await self.stop("smoke checks after the control planes failed")
        size = ctx.spec.maintenance.max_unavailable_workers
        workers = ctx.workers
        for index in range(0, len(workers), size):
            batch = workers[index : index + size]
            names = ", ".join(host.name for host in batch)
            if not await self._batch(batch):
                return await self.stop(f"worker batch {index // size + 1} ({names})")
            number = index // size + 1
            if not await self.smoke(f"batch {number}"):
                return await self.stop(f"smoke checks after worker batch {number} ({names}) failed")
        return None

    async def _batch(self, batch: list[HostState]) -> bool:
        """Every phase on the batch in parallel; a failed host drops out, the others finish the batch."""
        for phase in self._worker_phases(batch):
            for host in phase.targets(self.ctx):
                self.session.visited.add(host.name)
            await self.session.manager.apply_one(phase)
        return all(host.ok for host in batch)

    def _first_phases(self, hosts: list[HostState]) -> list[Phase]:
        return [
            KubeadmPackage(self, hosts),
            UpgradePlan(self, hosts),
            UpgradeApply(self, hosts),
            Drain(self, hosts),
            KubeletPackage(self, hosts),
            Uncordon(self, hosts),
        ]

    def _control_phases(self, hosts: list[HostState]) -> list[Phase]:
        return [
            KubeadmPackage(self, hosts),
            UpgradeNode(self, hosts),
            Drain(self, hosts),
            KubeletPackage(self, hosts),
            Uncordon(self, hosts),
        ]

    def _worker_phases(self, hosts: list[HostState]) -> list[Phase]:
        return [
            Drain(self, hosts),
            KubeadmPackage(self, hosts),
            UpgradeNode(self, hosts),
            KubeletPackage(self, hosts),
            Uncordon(self, hosts),
        ]


async def upgrade_async(
    spec: ClusterSpec,
    outputs: ClusterOutputs,
    kube: Kube,
    options: LifecycleOptions,
    events: EventLog,
    target: str | None = None,
) -> LifecycleReport:
    """Upgrade the cluster to ``target`` (default: the spec's kubernetes.version)."""
    want = target or spec.kubernetes.version
    report = LifecycleReport("upgrade", outputs.cluster_name, dry_run=options.dry_run)
    async with open_session(spec, outputs, options, events) as session:
        up = Upgrade(session, kube, report)
        reachable = [host for host in session.ctx.hosts.values() if host.ok]
        if len(reachable) == len(session.ctx.hosts):
            await session.manager.apply_one(ProbeVersions(reachable))
        if all(host.ok for host in session.ctx.hosts.values()):
            path = up.decide(want)  # raises UpgradePathError (exit 2) before anything changed
            report.details.update(target=path.target, lowest=path.lowest, highest=path.highest)
            if path.done and not _cordoned(kube, session):
                report.notes.append(f"every node already runs {path.target}: nothing to do")
            else:
                await up.run()
        else:
            report.ok = False
            report.stopped = "some nodes could not be reached or probed; nothing was changed"
        report.nodes = session.node_reports()
    if any(node.state == "failed" for node in report.nodes):
        report.ok = False
    return report


def _cordoned(kube: Kube, session: Session) -> bool:
    for name in session.ctx.hosts:
        node = kubeops.get_node(kube, name)
        if node is not None and kubeops.cordoned_by_clouder(node):
            return True
    return False


def upgrade(
    spec: ClusterSpec,
    outputs: ClusterOutputs,
    kube: Kube,
    options: LifecycleOptions,
    events: EventLog | None = None,
    target: str | None = None,
) -> LifecycleReport:
    return asyncio.run(upgrade_async(spec, outputs, kube, options, events or EventLog(), target))

"""`clouder status`: infrastructure, nodes, add-ons and services at a glance, read from the real cluster.

Infrastructure comes from the outputs contract and the event journal; nodes, add-ons and services from
the cluster itself (each release's inventory and the readiness of what it applied). An unreachable
cluster is reported as such; the infrastructure part still shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clouder.errors import ClouderError
from clouder.events import read_events
from clouder.kube import inventory
from clouder.kube.client import Kube
from clouder.kube.readiness import assess, needs_wait
from clouder.outputs import ClusterOutputs
from clouder.spec.model import ClusterSpec


@dataclass
class ReleaseStatus:
    name: str
    state: str  # ready | not-ready | not-installed
    version: str = ""
    detail: str = ""


@dataclass
class NodeStatus:
    name: str
    role: str
    ready: bool
    detail: str = ""


@dataclass
class Status:
    cluster: str
    infra: dict[str, Any] = field(default_factory=dict)
    reachable: bool = False
    problem: str = ""
    nodes: list[NodeStatus] = field(default_factory=list)
    addons: list[ReleaseStatus] = field(default_factory=list)
    services: list[ReleaseStatus] = field(default_factory=list)
    ingress_address: str | None = None

    @property
    def ok(self) -> bool:
        releases = self.addons + self.services
        return (
            self.reachable
            and all(n.ready for n in self.nodes)
            and all(r.state == "ready" for r in releases)
            and bool(self.nodes)
        )

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def infra_status(spec: ClusterSpec, outputs: ClusterOutputs | None, events: Path) -> dict[str, Any]:
    info: dict[str, Any] = {"cloud": spec.cloud, "region": spec.region, "applied": outputs is not None}
    if outputs is not None:
        info["apiEndpoint"] = outputs.api_endpoint.url
        info["controlPlanes"] = len(outputs.control_planes)
        info["workers"] = len(outputs.workers)
        info["ssh"] = outputs.ssh.mode
    applies = [
        e for e in read_events(events) if e.stage == "terraform" and e.phase == "apply" and e.outcome == "ok"
    ]
    if applies:
        info["lastApply"] = applies[-1].time
    return info


def release_status(kube: Kube, name: str) -> ReleaseStatus:
    found = inventory.read(kube, name)
    if found is None:
        return ReleaseStatus(name, "not-installed")
    problems = []
    for ref in sorted(found.objects):
        if ref.kind not in ("Deployment", "DaemonSet", "StatefulSet", "Job", "Service"):
            continue
        try:
            live = kube.get(ref)
        except ClouderError as exc:
            problems.append(f"{ref}: {exc.message}")
            continue
        if live is None:
            if not found.removed_when_done(ref):  # a TTL Job the controller removed after it finished
                problems.append(f"{ref} is missing")
        elif needs_wait(live) and not (readiness := assess(live)).ready:
            problems.append(f"{ref}: {readiness.reason}")
    return ReleaseStatus(name, "not-ready" if problems else "ready", found.version, "; ".join(problems))


def node_status(kube: Kube) -> list[NodeStatus]:
    found = []
    for node in kube.list("v1", "Node"):
        labels = node["metadata"].get("labels") or {}
        role = "control-plane" if "node-role.kubernetes.io/control-plane" in labels else "worker"
        ready: dict[str, Any] = next(
            (c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        ok = ready.get("status") == "True"
        found.append(
            NodeStatus(node["metadata"]["name"], role, ok, "" if ok else str(ready.get("reason", "")))
        )
    return found


def ingress_address(kube: Kube, namespace: str) -> str | None:
    try:
        services = kube.list("v1", "Service", namespace)
    except ClouderError:
        return None
    for service in services:
        if (service.get("spec") or {}).get("type") != "LoadBalancer":
            continue
        for entry in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            address = entry.get("hostname") or entry.get("ip")
            if address:
                return str(address)
    return None


def cluster_status(
    spec: ClusterSpec, outputs: ClusterOutputs | None, kube: Kube | None, events: Path, problem: str = ""
) -> Status:
    from clouder.services.catalog import resolve

    status = Status(spec.name, infra_status(spec, outputs, events), problem=problem)
    if kube is None:
        return status
    services = resolve(spec, outputs)
    service_names = {s.name for s in services}
    try:
        status.nodes = node_status(kube)
        installed = sorted(inv.release for inv in inventory.releases(kube))
        addon_names = _addon_names(spec, outputs) or [n for n in installed if n not in service_names]
        status.addons = [release_status(kube, name) for name in addon_names]
        status.services = [release_status(kube, s.name) for s in services]
        ingress = next((s for s in services if s.name == "ingress"), None)
        if ingress is not None:
            status.ingress_address = ingress_address(kube, ingress.namespace)
    except ClouderError as exc:
        status.problem = exc.message
        return status
    status.reachable = True
    return status


def _addon_names(spec: ClusterSpec, outputs: ClusterOutputs | None) -> list[str]:
    if outputs is None:
        return []
    from clouder.addons.context import AddonContext
    from clouder.addons.plan import NodesInitialized, plan

    return [
        step.release for step in plan(AddonContext(spec, outputs)) if not isinstance(step, NodesInitialized)
    ]


def render(status: Status) -> str:
    lines = [f"cluster {status.cluster} ({status.infra['cloud']}, {status.infra['region']})"]
    infra = status.infra
    if infra["applied"]:
        nodes = f"{infra['controlPlanes']} control plane(s), {infra['workers']} worker(s)"
        text = f"API {infra['apiEndpoint']}, {nodes}"
        last = f", last apply {infra['lastApply']}" if "lastApply" in infra else ""
        lines.append(f"  infra     applied: {text}, ssh {infra['ssh']}{last}")
    else:
        lines.append("  infra     not applied (no outputs contract): run `clouder up SPEC`")
    if not status.reachable:
        lines.append(f"  cluster   unreachable: {status.problem or 'no kubeconfig'}")
        return "\n".join(lines)
    ready = sum(n.ready for n in status.nodes)
    lines.append(f"  nodes     {ready}/{len(status.nodes)} Ready")
    lines += [f"            {n.name} ({n.role}) NotReady {n.detail}" for n in status.nodes if not n.ready]
    for title, releases in (("add-ons", status.addons), ("services", status.services)):
        good = sum(r.state == "ready" for r in releases)
        lines.append(f"  {title:<9} {good}/{len(releases)} ready")
        for release in releases:
            if release.state != "ready":
                lines.append(f"            {release.name}: {release.state} {release.detail}".rstrip())
    if status.ingress_address:
        lines.append(f"  ingress   {status.ingress_address}")
    return "\n".join(lines)

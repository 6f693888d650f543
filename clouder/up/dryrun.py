"""`clouder up --dry-run`: the whole pipeline's plan, changing nothing in the cloud or the cluster.

The Terraform plan summary (a plan reads the cloud, never changes it) and the policy gate's verdict; the
bootstrap phases each host would run; every manifest the add-ons and services would apply, validated
against the cluster's Kubernetes schemas; the services' rollout order. Before the infrastructure exists,
the hosts come from the spec and values that Terraform will supply are placeholders (marked as such).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from clouder.clouds import CloudRegistry
from clouder.errors import ClouderError
from clouder.events import EventLog
from clouder.outputs import ClusterOutputs, parse_terraform_outputs
from clouder.services.rollout import RolloutSettings, dry_run
from clouder.spec.model import ClusterSpec

if TYPE_CHECKING:
    from clouder.charts import UnpulledChart

PLACEHOLDER_IP = "192.0.2.1"  # TEST-NET-1: never a real node
# cloud -> "module:function" giving the outputs contract's cloud facts, as placeholders, for a spec.
PLANNED_FACTS: CloudRegistry[Callable[[ClusterSpec], dict[str, Any]]] = CloudRegistry(
    "the dry run", {"aws": "clouder.up.aws:planned_facts", "azure": "clouder.up.azure:planned_facts"}
)


@dataclass
class DryRunReport:
    cluster: str
    terraform: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)
    hosts_from: str = "outputs"
    addons: list[dict[str, Any]] = field(default_factory=list)
    services: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "cluster": self.cluster, "terraform": self.terraform, "policy": self.policy,
                "hosts": self.hosts, "hostsFrom": self.hosts_from, "addons": self.addons,
                "services": self.services, "problems": self.problems}  # fmt: skip


def planned_outputs(spec: ClusterSpec) -> ClusterOutputs:
    """The outputs contract the stack will publish, with placeholders for what only Terraform knows."""
    nodes: list[dict[str, Any]] = [
        {"name": f"{spec.name}-cp-{i}", "role": "control-plane", "pool": "control-plane"}
        for i in range(spec.control_plane.count)
    ]
    for pool in spec.node_pools:
        nodes += [{"name": f"{spec.name}-{pool.name}-{i}", "role": "worker", "pool": pool.name}
                  for i in range(pool.count)]  # fmt: skip
    for node in nodes:
        node.update(private_ip=PLACEHOLDER_IP, provider_id=f"{spec.cloud}:///planned/{node['name']}")
        if spec.access.mode == "direct":
            node["public_ip"] = PLACEHOLDER_IP
    ssh: dict[str, Any] = {"mode": spec.access.mode, "user": spec.access.user}
    if spec.access.mode == "bastion":
        ssh["bastion_host"] = "planned-bastion"
    cloud = PLANNED_FACTS[spec.cloud](spec)
    values = {"contract_version": "1", "cluster_name": spec.name, "nodes": nodes, "ssh": ssh, "cloud": cloud,
              "api_endpoint": {"host": f"planned-api.{spec.name}", "port": 6443}}  # fmt: skip
    return parse_terraform_outputs({k: {"value": v} for k, v in values.items()}, source="planned outputs")


def host_phases(spec: ClusterSpec, outputs: ClusterOutputs) -> dict[str, list[str]]:
    """The bootstrap phases each host would run on fresh nodes (the phase manager's own targeting)."""
    from clouder.bootstrap.phases import PHASES
    from clouder.bootstrap.run import default_options
    from clouder.hosts.manager import Context, HostState

    hosts = {node.name: HostState(node) for node in outputs.nodes}
    ctx = Context(spec, outputs, default_options(spec), cast(Any, None), EventLog(), hosts)
    plan: dict[str, list[str]] = {name: [] for name in hosts}
    for phase_type in PHASES:
        phase = phase_type()
        for host in phase.targets(ctx):
            plan[host.name].append(phase.name)
    return plan


@dataclass
class AddonManifests:
    """What the add-on steps would apply: one entry per step that rendered (the gate step included), the
    problems found (a chart that does not render or fails its digest, a manifest the schemas refuse), and,
    apart from those, the charts not pulled because their repository could not be reached."""

    addons: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unpulled: list[UnpulledChart] = field(default_factory=list)

    def every_problem(self) -> list[str]:
        """The problems and the unpulled charts alike (what `up --dry-run` reports)."""
        return self.problems + [f"add-on {u.name}: {u.message}" for u in self.unpulled]


def addon_manifests(
    spec: ClusterSpec, outputs: ClusterOutputs, mirror: str | None, cache: Path | None
) -> AddonManifests:
    from clouder.addons.context import AddonContext
    from clouder.addons.plan import NodesInitialized, plan, render_step
    from clouder.catalog.charts import default_catalog
    from clouder.charts import ChartUnreachable, UnpulledChart
    from clouder.kube.objects import ObjectRef
    from clouder.kube.validate import problems

    ctx = AddonContext(spec, outputs)
    catalog = default_catalog(mirror)
    found = AddonManifests()
    for step in plan(ctx):
        if isinstance(step, NodesInitialized):
            found.addons.append({"name": step.release, "gate": True, "objects": []})
            continue
        try:
            release = render_step(step, ctx, catalog, cache)
        except ChartUnreachable as exc:
            found.unpulled.append(UnpulledChart.of(step.release, exc))
            continue
        except ClouderError as exc:
            found.problems.append(f"add-on {step.release}: {exc.render()}")
            continue
        objects = release.objects()
        invalid = problems(objects, spec.kubernetes.version)
        found.problems += [f"add-on {step.release}: {line}" for line in invalid]
        found.addons.append({"name": release.name, "version": release.version, "valid": not invalid,
                             "objects": [str(ObjectRef.of(o)) for o in objects]})  # fmt: skip
    return found


def whole_plan(
    spec: ClusterSpec,
    stack: Path | None,
    outputs: ClusterOutputs | None,
    mirror: str | None,
    events: EventLog,
    cache: Path | None = None,
) -> DryRunReport:
    report = DryRunReport(spec.name)
    _terraform(spec, stack, events, report)
    contract = outputs
    if contract is None:
        contract, report.hosts_from = planned_outputs(spec), "spec (placeholders until terraform apply)"
    report.hosts = host_phases(spec, contract)
    plan_manifests(report, spec, contract, outputs, mirror, cache)
    return report


def plan_manifests(
    report: DryRunReport,
    spec: ClusterSpec,
    contract: ClusterOutputs,
    outputs: ClusterOutputs | None,
    mirror: str | None,
    cache: Path | None,
) -> None:
    """The add-ons' and services' manifests, into ``report``; a chart that cannot be pulled, for whatever
    reason (an unreachable repository too), is a problem: a real run would stop there."""
    addons = addon_manifests(spec, contract, mirror, cache)
    report.addons = addons.addons
    report.problems += addons.every_problem()
    services = dry_run(spec, outputs, RolloutSettings(mirror=mirror, cache=cache))
    report.services = services.as_dict()
    report.problems += [f"service {o.name}: {o.reason}" for o in services.outcomes if o.state == "failed"]


def _terraform(spec: ClusterSpec, stack: Path | None, events: EventLog, report: DryRunReport) -> None:
    from clouder.policy import run_gate
    from clouder.terraform.stackcache import ensure_stack
    from clouder.terraform.workflow import Workflow

    try:
        folder = stack or ensure_stack(spec)[0]
        workflow = Workflow(spec, folder, events=events)
        saved = workflow.plan()
    except ClouderError as exc:
        report.problems.append(f"terraform plan: {exc.render()}")
        return
    summary = saved.summary
    report.terraform = {"counts": summary.counts(), "planHash": summary.plan_hash, "plan": str(saved.path),
                        "needsApproval": [c.address for c in summary.needs_approval],
                        "changes": [f"{c.action} {c.address}" for c in summary.changes]}  # fmt: skip
    try:
        gate = run_gate(spec, workflow.root)
    except ClouderError as exc:
        report.problems.append(f"policy gate: {exc.render()}")
        return
    report.policy = {"failed": [f"{f.check} {f.address}" for f in gate.blocking],
                     "accepted": [f"{f.check} {f.address}" for f in gate.allowed]}  # fmt: skip
    report.problems += [f"policy: {item}" for item in report.policy["failed"]]

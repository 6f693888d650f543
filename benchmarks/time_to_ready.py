"""Time from `clouder up` to a Ready cluster (nodes Ready, CNI, cloud controller, CSI + StorageClass, load
balancer controller): the critical path of the stages as they really compose, before and after each change.

Nothing here reaches a cloud, so the model joins two kinds of step:

- Clouder's own work (synth, plan, policy gate, outputs, every bootstrap phase's SSH round trips, rendering
  and applying each add-on) is taken from the event log of a measured rehearsal: `clouder up` on the AWS
  example against moto, real Terraform, sshd hosts with the stand-in kubeadm and the API emulator;
- every wait on the cloud (instances running, NAT, load balancer, cloud-init, kubeadm, pods becoming ready) is
  replaced by a published latency from ``LATENCIES`` below, each with its source, or "estimate" and why.

Steps run as a DAG (each starts when everything it needs is done); the script prints the totals for 1+2 and
3+3 on AWS and Azure after each change, the critical path of the first and last, and the anchors.

Usage:
  python benchmarks/time_to_ready.py                     # the committed sample log
  python benchmarks/time_to_ready.py --events FILE       # a fresh log, recorded as below
Recording a fresh log (root, terraform, moto; 8 minutes on a loaded 2-core machine):
  CLOUDER_REHEARSAL_EVENTS=/tmp/up-events.jsonl python -m pytest tests/up/test_up_rehearsal.py -q
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parent / "data" / "up_rehearsal_events.jsonl"


@dataclass(frozen=True)
class Latency:
    seconds: float
    what: str
    source: str


# Every wait on the cloud, with where its figure comes from. "estimate" means no published figure was found.
LATENCIES: dict[str, Latency] = {
    "ec2.run": Latency(
        18,
        "RunInstances + pending -> running (what Terraform waits for)",
        "https://github.com/brevdev/ec2-coldboot-research/blob/main/%40fix_plan.md (API 19% "
        "+ pending->running 16.4 s of a 25.8 s cold launch)",
    ),
    "ec2.boot": Latency(
        20,
        "running -> sshd and cloud-init up",
        "http://www.daemonology.net/blog/2021-08-12-EC2-boot-time-benchmarking.html "
        "(running -> port 22 open: 17.2 s + 5.6 s on c5.xlarge)",
    ),
    "aws.network": Latency(
        10,
        "VPC, subnets, internet gateway, route tables, security groups",
        "estimate: single API calls of about 1-3 s each, chained VPC -> subnet -> route",
    ),
    "aws.iam": Latency(
        10,
        "roles, instance profiles (the provider retries until a profile is usable)",
        "estimate: IAM is eventually consistent; the AWS provider's profile wait",
    ),
    "aws.nat": Latency(
        100,
        "NAT gateway pending -> available (private subnets reach the internet)",
        "https://github.com/kubernetes/kops/pull/944 ('up to 5 min') and terraform-aws-vpc "
        "#999 logs (still creating past 1 min); estimate 100 s for the usual case",
    ),
    "aws.nlb": Latency(
        150,
        "network load balancer provisioning -> active (aws_lb waits for it)",
        "https://github.com/kubernetes/kubernetes/issues/44695 ('very normal that it takes > 2 "
        "minutes'); https://github.com/go-to-k/cdkd/issues/1274 (Terraform waits for active)",
    ),
    "aws.nlb.register": Latency(
        180,
        "a new NLB target: registration until health checks start",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-"
        "health-checks.html ('can take a few minutes'); 4-5 min in 2021: "
        "https://github.com/kubernetes-sigs/aws-load-balancer-controller/issues/1786",
    ),
    "azure.network": Latency(
        15,
        "resource group, VNet, subnets, NSGs, NAT gateway, public IPs",
        "estimate: ARM calls of a few seconds each; Azure NAT gateway has no long wait",
    ),
    "azure.identity": Latency(
        30,
        "user-assigned identities and role assignments",
        "estimate: role assignments propagate for tens of seconds",
    ),
    "azure.lb": Latency(
        20,
        "Standard load balancer, probe, rule, backend pool",
        "estimate: ARM reports the Standard LB succeeded within seconds",
    ),
    "azure.vm": Latency(
        90,
        "VM create -> provisioned (Azure counts it provisioned once booted)",
        "estimate; that Azure waits for boot: "
        "https://github.com/hashicorp/terraform-provider-azurerm/issues/7032",
    ),
    "azure.boot": Latency(
        5, "provisioned -> cloud-init modules running (boot is inside azure.vm)", "estimate"
    ),
    "node.packages": Latency(
        75,
        "cloud-init: apt update, containerd, kubelet, kubeadm, kubectl",
        "estimate: ~100 MB from pkgs.k8s.io and the containerd repository plus dpkg",
    ),
    "node.images": Latency(
        30,
        "pull the control-plane images (etcd, apiserver, controller-manager, "
        "scheduler, kube-proxy, coredns, pause)",
        "https://github.com/kubernetes-sigs/kubespray/issues/996 (image download tasks of "
        "27 s and 70 s in a 6-node run)",
    ),
    "kubeadm.control-plane": Latency(
        25,
        "kubeadm: static pods written -> all control-plane components healthy",
        "https://github.com/kubernetes/kubernetes/pull/117984 ('All control "
        "plane components are healthy after 24.5 seconds')",
    ),
    "kubeadm.finish": Latency(
        5,
        "kubeadm init after the control plane is up: upload-config, RBAC, "
        "bootstrap token, CoreDNS and kube-proxy objects",
        "estimate: a dozen API writes",
    ),
    "kubeadm.join-cp": Latency(
        40,
        "kubeadm join --control-plane (images present): etcd learner add and promote, static pods healthy",
        "estimate: the control-plane wait above plus etcd learner promotion",
    ),
    "kubeadm.register": Latency(
        10,
        "kubeadm join --control-plane until its kubelet registers the node (DaemonSet pods get scheduled)",
        "phase order: https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join-phase/ "
        "(preflight, control-plane-prepare, kubelet-start, then control-plane-join: etcd); "
        "seconds an estimate",
    ),
    "kubeadm.join-worker": Latency(
        15,
        "kubeadm join (worker): discovery, kubelet TLS bootstrap",
        "estimate: a few API round trips and one CSR approval",
    ),
    "aws.hc": Latency(
        0,
        "NLB TCP health check: healthy after threshold x interval (set per scenario)",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-"
        "checks.html (interval 5-300 s, healthy threshold 2-10); configurable since "
        "https://aws.amazon.com/about-aws/whats-new/2022/11/elastic-load-balancing-capabilities-"
        "application-availability/",
    ),
    "azure.hc": Latency(
        0,
        "Azure LB probe: in rotation after probeThreshold x interval (set per scenario)",
        "https://learn.microsoft.com/en-us/javascript/api/@azure-rest/arm-network/"
        "probepropertiesformatoutput (interval min 5 s; probeThreshold)",
    ),
    "addon.cni": Latency(
        60,
        "Cilium agent and operator pulled and Ready; nodes turn Ready",
        "estimate: ~200 MB of images per node, agent start and BPF setup",
    ),
    "addon.ccm": Latency(20, "cloud controller manager pulled and running", "estimate: one ~40 MB image"),
    "addon.initialized": Latency(
        5, "the CCM removes the uninitialized taint from every node", "estimate: one cloud API call per node"
    ),
    "addon.csi": Latency(
        30, "CSI controller and node plugins Ready", "estimate: three small images per node"
    ),
    "addon.lbc": Latency(
        30,
        "AWS Load Balancer Controller Ready (webhook certificate, endpoints)",
        "estimate: one ~70 MB image and its webhook",
    ),
}

ANCHORS = [
    ("k0sctl 1+2, existing machines", 102, "the issue's figure (k0sctl on machines already up)"),
    ("k0sctl 3+3, existing machines", 140, "the issue's figure (k0sctl on machines already up)"),
    (
        "CAPZ, 3 control planes",
        15 * 60,
        "https://github.com/kubernetes-sigs/cluster-api-provider-azure/issues/313 (~15 minutes)",
    ),
    (
        "kubespray 6 nodes (3+3)",
        19 * 60,
        "https://github.com/kubernetes-sigs/kubespray/issues/996 (19 minutes)",
    ),
    ("kubespray 7 nodes", 22 * 60, "https://github.com/kubernetes-sigs/kubespray/issues/7509 (22 minutes)"),
    (
        "kubespray ~6 nodes, worst",
        60 * 60,
        "https://github.com/kubernetes-sigs/kubespray/issues/478 (comment: 6 nodes taking > 1 h)",
    ),
]

# Clouder's local steps as measured on an idle machine of the same kind (the project's testing notes: cdktf
# synth 21 s on a first run, a small plan 10-14 s, checkov about 2 s), for comparison with a loaded one.
IDLE_LOCAL = {"synth": 21.0, "plan": 14.0, "gate": 2.0}

# The changes, in the order they are applied; each line of the table adds one.
CHANGES = [
    ("baseline", "before issue 20", "main before 1ccaa6c"),
    ("parallel-joins", "workers join while the control planes join one by one", "issue 20, on main"),
    (
        "prepull",
        "cloud-init pulls the control-plane images while Terraform waits for the NLB",
        "issue 20, on main",
    ),
    (
        "fast-hc",
        "API health checks: AWS 5 s x 2 (was 10 s x 2); Azure 5 s x 2 (was 5 s x 1: safer, +5 s)",
        "issue 20, on main",
    ),
    (
        "local-endpoint",
        "kubeadm init reaches its own API, not the LB (and Azure's missing hairpin)",
        "issue 15, on main",
    ),
    (
        "parallel-addons",
        "add-ons along the engine's DAG: CSI || load balancer controller (the CCM still after the CNI)",
        "issue 20, on main",
    ),
    (
        "ccm-beside-cni",
        "cloud controllers in the host network, tolerating NotReady nodes: CCM || CNI",
        "issue 20, on main",
    ),
    ("gate-during-plan", "the policy gate runs while Terraform plans", "issue 20, on main"),
    (
        "addons-beside-joins",
        "add-ons start once the first control plane serves the API; each later node's CNI agent "
        "starts when it registers",
        "this branch",
    ),
]


@dataclass(frozen=True)
class Measured:
    """Clouder's own time per step, from a rehearsal's event log (seconds)."""

    stages: dict[str, float]
    terraform_start: float  # the shortest `terraform plan`: provider start and graph walk, as an apply has
    phases: dict[str, float]  # bootstrap phase -> longest host
    bootstrap_other: float  # lock, connections: the bootstrap stage minus its phases
    addons: dict[str, float]
    gate_work: float  # the policy gate's own time (checkov and Clouder's rules)
    gate_left: float  # what of it is left after `terraform plan` when it runs during the plan

    def gate(self, during_plan: bool) -> float:
        return self.gate_left if during_plan else self.gate_work

    @classmethod
    def read(cls, path: Path) -> Measured:
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        stages: dict[str, float] = {}
        window: dict[str, tuple[int, int]] = {}
        opened: dict[str, int] = {}
        for index, event in enumerate(events):
            if event["stage"] != "up":
                continue
            name = event["phase"]
            if event["outcome"] == "start":
                opened[name] = index
            elif event["outcome"] == "ok" and name not in stages:
                stages[name] = float(event["duration_s"])
                window[name] = (opened[name], index)
        missing = {"synth", "plan", "outputs", "bootstrap", "addons"} - set(stages)
        if missing:
            raise SystemExit(f"{path}: no finished `up` stage {sorted(missing)} in this log")
        phases: dict[str, float] = defaultdict(float)
        first, last = window["bootstrap"]
        for event in events[first:last]:
            if event["stage"] == "bootstrap" and event.get("duration_s") is not None:
                phases[event["phase"]] = max(phases[event["phase"]], float(event["duration_s"]))
        addons: dict[str, float] = {}
        first, last = window["bootstrap"][0], window["addons"][1]  # add-ons may start during the bootstrap
        for event in events[first:last]:
            if event["stage"] == "addons" and event["outcome"] == "ok":
                addons[event["phase"]] = float(event["duration_s"])
        other = max(0.0, stages["bootstrap"] - sum(phases.values()))
        plans = [
            e["duration_s"]
            for e in events
            if (e["stage"], e["phase"], e["outcome"]) == ("terraform", "plan", "ok")
        ]
        first, last = window["plan"]
        planned = [
            e
            for e in events[first:last]
            if (e["stage"], e["phase"], e["outcome"]) == ("terraform", "plan", "ok")
        ]
        command = float(planned[-1]["duration_s"]) if planned else 0.0
        policy = [e for e in events if (e["stage"], e["phase"], e["outcome"]) == ("gate", "policy", "ok")]
        if policy:  # recorded with the gate during the plan: the gate stage is only what was left
            work, left = float(policy[0]["duration_s"]), stages.get("gate", 0.0)
        else:  # recorded with the gate after the plan: it overlaps the plan command
            work = stages.get("gate", 0.0)
            left = max(0.0, work - command)
        return cls(stages, min(plans, default=stages["plan"]), dict(phases), other, addons, work, left)

    def phase(self, name: str) -> float:
        return self.phases.get(name, 0.0)

    def addon(self, name: str) -> float:
        if name in self.addons:
            return self.addons[name]
        charts = [s for n, s in self.addons.items() if n not in ("nodes-initialized", "storage-classes")]
        return sum(charts) / max(1, len(charts))  # an add-on the AWS rehearsal does not run: the mean


def _is(event: dict[str, Any], stage: str, phase: str, outcome: str) -> bool:
    return (event["stage"], event["phase"], event["outcome"]) == (stage, phase, outcome)


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    after: tuple[str, ...]
    kind: str  # "clouder" (measured) or a LATENCIES key


class Timeline:
    def __init__(self, zero: frozenset[str] = frozenset(), changed: dict[str, float] | None = None) -> None:
        self.steps: dict[str, Step] = {}
        self.zero = zero  # latencies already paid (machines already up)
        self.changed = changed or {}  # latencies moved, to see what the total is sensitive to

    def seconds(self, key: str) -> float:
        return 0.0 if key in self.zero else self.changed.get(key, LATENCIES[key].seconds)

    def add(
        self, name: str, seconds: float, after: tuple[str, ...] | list[str], kind: str = "clouder"
    ) -> str:
        self.steps[name] = Step(name, seconds, tuple(after), kind)
        return name

    def cloud(
        self, name: str, key: str, after: tuple[str, ...] | list[str], seconds: float | None = None
    ) -> str:
        if key in self.zero:
            seconds = 0.0
        return self.add(name, self.seconds(key) if seconds is None else seconds, after, key)

    def solve(self) -> tuple[float, list[tuple[Step, float]], dict[str, float]]:
        done: dict[str, float] = {}

        def finish(name: str) -> float:
            if name not in done:
                step = self.steps[name]
                done[name] = max((finish(dep) for dep in step.after), default=0.0) + step.seconds
            return done[name]

        end = max(finish(name) for name in self.steps)
        path: list[tuple[Step, float]] = []
        name: str | None = max(done, key=lambda n: done[n])
        while name is not None:
            step = self.steps[name]
            path.append((step, done[name]))
            name = max(step.after, key=lambda d: done[d]) if step.after else None
        return end, path[::-1], done


INFRA = frozenset(key for key in LATENCIES if key.split(".")[0] in ("aws", "azure", "ec2", "node"))


@dataclass(frozen=True)
class Scenario:
    cloud: str  # "aws" | "azure"
    control_planes: int
    workers: int
    changes: frozenset[str]
    existing: bool = False  # machines already up and prepared: bootstrap and add-ons only (as k0sctl)

    def has(self, change: str) -> bool:
        return change in self.changes


def build(s: Scenario, m: Measured, changed: dict[str, float] | None = None) -> Timeline | None:
    """The DAG of `clouder up` for one scenario; None where it cannot finish (Azure without a local
    endpoint: the first control plane would reach itself through its own LB, which Azure does not hairpin)."""
    if s.cloud == "azure" and not s.has("local-endpoint"):
        return None
    t = Timeline(INFRA if s.existing else frozenset(), changed)
    local = 0.0 if s.existing else 1.0
    gate = m.gate(s.has("gate-during-plan"))
    plan = t.add("synth + plan + gate", local * (m.stages["synth"] + m.stages["plan"] + gate), [])
    start = t.add("terraform apply: provider start, graph walk", local * m.terraform_start, [plan])
    if s.cloud == "aws":
        net = t.cloud("VPC, subnets, security groups", "aws.network", [start])
        iam = t.cloud("IAM roles and instance profiles", "aws.iam", [start])
        nat = t.cloud("NAT gateway available", "aws.nat", [net])
        lb = t.cloud("API NLB active", "aws.nlb", [net])
        vms = t.cloud("instances running", "ec2.run", [net, iam])
        booted = t.cloud("instances booted (cloud-init starts)", "ec2.boot", [vms])
        online = [booted, nat]  # private subnets (bastion access): the package mirrors are behind the NAT
        # Terraform's attachment returns at once; the NLB registers the target in the background
        registered = t.cloud("NLB target registration", "aws.nlb.register", [vms])
        interval, threshold = (5, 2) if s.has("fast-hc") else (10, 2)
        hc_key = "aws.hc"
    else:
        net = t.cloud("resource group, VNet, NSGs, NAT", "azure.network", [start])
        iam = t.cloud("identities and role assignments", "azure.identity", [start])
        lb = t.cloud("API Standard LB", "azure.lb", [net])
        vms = t.cloud("VMs provisioned (booted)", "azure.vm", [net, iam])
        booted = t.cloud("cloud-init modules running", "azure.boot", [vms])
        online = [booted]
        registered = t.add("backend pool membership", 0, [vms, lb])
        # Azure's probeThreshold (default 1) counts successes and failures alike: 2 costs 5 s at registration
        # and keeps a control plane whose /readyz fails once from leaving the rotation
        interval, threshold = (5, 2) if s.has("fast-hc") else (5, 1)
        hc_key = "azure.hc"
    applied = t.add("terraform apply done", 0, [lb, vms, nat if s.cloud == "aws" else net])
    outputs = t.add("outputs", local * m.stages["outputs"], [applied])
    packages = t.cloud("cloud-init: packages", "node.packages", online)
    cloud_init = (
        t.cloud("cloud-init: control-plane images", "node.images", [packages])
        if s.has("prepull")
        else packages
    )

    begin = t.add(
        "bootstrap: connect, lock, facts, config",
        m.bootstrap_other + m.phase("connect") + m.phase("gather-facts") + m.phase("render-kubeadm-config"),
        [outputs],
    )
    ready_hosts = t.add(
        "bootstrap: wait for cloud-init (all hosts)", m.phase("wait-cloud-init"), [begin, cloud_init]
    )
    # without the pre-pull, kubeadm pulls on the critical path, also on machines that are otherwise ready
    pull = 0 if s.has("prepull") else t.changed.get("node.images", LATENCIES["node.images"].seconds)
    api_up = t.add(
        "kubeadm init: images, certs, control plane healthy",
        m.phase("kubeadm-init") + pull + t.seconds("kubeadm.control-plane"),
        [ready_hosts],
        "kubeadm.control-plane",
    )
    healthy = t.cloud(
        f"LB health checks pass ({threshold} x {interval} s)",
        hc_key,
        [api_up, registered, lb],
        seconds=threshold * interval,
    )
    # kubeadm init finishes through controlPlaneEndpoint: the LB, unless it reaches its own API locally
    init = t.cloud(
        "kubeadm init: upload-config, RBAC, token, addons",
        "kubeadm.finish",
        [api_up] if s.has("local-endpoint") else [healthy],
    )
    token = t.add("upload-certs + join token", m.phase("upload-certs") + m.phase("join-token"), [init])
    early = s.has("addons-beside-joins")
    fetch = m.phase("ensure-kubelet") + m.phase("fetch-kubeconfig")
    api_ready = t.add("ensure kubelet, fetch kubeconfig", fetch, [token]) if early else token
    previous = api_ready
    registered: list[str] = []  # where each later node's CNI agent can start
    for index in range(2, s.control_planes + 1):
        if early:
            registered.append(t.cloud(f"cp-{index} registers", "kubeadm.register", [previous, healthy]))
        previous = t.add(
            f"join control plane cp-{index}",
            m.phase("join-workers") + pull + t.seconds("kubeadm.join-cp"),
            [previous, healthy],
            "kubeadm.join-cp",
        )
    workers_after = [api_ready, healthy] if s.has("parallel-joins") else [previous, healthy]
    workers = [
        t.add(
            f"join worker w-{index}",
            m.phase("join-workers") + t.seconds("kubeadm.join-worker"),
            workers_after,
            "kubeadm.join-worker",
        )
        for index in range(1, s.workers + 1)
    ]
    joined = [previous, *workers]
    if not early:
        _addons(t, s, m, t.add("ensure kubelet, fetch kubeconfig", fetch, joined))
        return t
    # the CNI's objects are in the cluster once Clouder applied them; each later node then pulls and starts
    # its agent when it registers (control planes partway through the join, workers at its end)
    cni = addon_steps(s.cloud)[0][0]
    applied = t.add(f"{cni} applied", m.addon(cni), [api_ready])
    nodes = [
        t.add(f"{node.split(' ')[0]}: CNI agent ready", t.seconds("addon.cni"), [node, applied], "addon.cni")
        for node in registered + workers
    ]
    _addons(t, s, m, api_ready, also=[*joined, *nodes], nodes=registered + workers)
    return t


# The cloud's part of each add-on step (image pulls, pods becoming ready), by release; a step not named here
# (Clouder's own objects: the cloud-config Secret, StorageClasses) costs only its measured time.
ADDON_LATENCY = {
    "cilium": "addon.cni",
    "calico": "addon.cni",
    "flannel": "addon.cni",
    "aws-cloud-controller-manager": "addon.ccm",
    "cloud-provider-azure": "addon.ccm",
    "nodes-initialized": "addon.initialized",
    "aws-ebs-csi-driver": "addon.csi",
    "azuredisk-csi-driver": "addon.csi",
    "azurefile-csi-driver": "addon.csi",
    "aws-load-balancer-controller": "addon.lbc",
}
EXAMPLES = {"aws": "aws-minimal.yaml", "azure": "azure-minimal.yaml"}


def addon_steps(cloud: str) -> list[tuple[str, tuple[str, ...]]]:
    """The add-on engine's own DAG (``clouder.addons.plan``: each step and what it needs) for the cloud's
    example spec: the model runs exactly the edges the engine runs."""
    from clouder.addons.plan import steps_for
    from clouder.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parent.parent / "examples" / EXAMPLES[cloud])
    return [(step.release, step.after) for step in steps_for(spec)]


def _addons(
    t: Timeline,
    s: Scenario,
    m: Measured,
    after: str,
    also: list[str] | None = None,
    nodes: list[str] | None = None,
) -> None:
    """Serial (in install order) before the parallel-addons change, along the engine's DAG after it; Ready
    also waits for ``also``, the node gate for every node in ``nodes`` to have registered."""
    steps = addon_steps(s.cloud)
    previous = after
    for name, needs in steps:
        key = ADDON_LATENCY.get(name, "")
        seconds = m.addon(name) + (t.seconds(key) if key else 0.0)
        if s.has("parallel-addons"):
            if key == "addon.ccm" and not s.has("ccm-beside-cni"):
                # the charts' defaults: the CCM's pods need the pod network and Ready nodes (the CNI)
                needs = (*needs, steps[0][0])
            if key == "addon.initialized":
                needs = (*needs, *(nodes or []))
            t.add(name, seconds, list(needs) or [after], key or "clouder")
        else:
            t.add(name, seconds, [previous], key or "clouder")
        previous = name
    t.add("Ready", 0, [name for name, _ in steps] + (also or []))


def at_idle(measured: Measured) -> Measured:
    """Clouder's local steps (synth, plan, gate, provider start) at the speed of an idle machine."""
    return dataclasses.replace(
        measured,
        stages={**measured.stages, **IDLE_LOCAL},
        terraform_start=IDLE_LOCAL["plan"],
        gate_work=IDLE_LOCAL["gate"],
        gate_left=max(0.0, IDLE_LOCAL["gate"] - IDLE_LOCAL["plan"]),
    )


def fmt(seconds: float) -> str:
    tenths = round(seconds * 10)
    return f"{tenths // 600}m{tenths % 600 / 10:04.1f}s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=Path, default=SAMPLE, help="event log of a rehearsal `clouder up`")
    parser.add_argument("--sources", action="store_true", help="print the latency table with its sources")
    args = parser.parse_args()
    measured = Measured.read(args.events)
    print(
        f"Clouder's own time from {args.events} (seconds): "
        + ", ".join(
            f"{k} {v:.1f}"
            for k, v in measured.stages.items()
            if k in ("synth", "plan", "gate", "outputs", "bootstrap", "addons")
        )
    )
    shapes = [("aws", 1, 2), ("aws", 3, 3), ("azure", 1, 2), ("azure", 3, 3)]
    print(
        f"\n{'cumulative change':<20} {'where':<19} "
        + " ".join(f"{c} {n}+{w}".rjust(11) for c, n, w in shapes)
    )
    applied: set[str] = set()
    results: dict[tuple[str, int, int, str], Timeline | None] = {}
    for key, _what, where in CHANGES:
        applied.add(key)
        cells = []
        for cloud, cps, workers in shapes:
            timeline = build(Scenario(cloud, cps, workers, frozenset(applied)), measured)
            results[(cloud, cps, workers, key)] = timeline
            cells.append((fmt(timeline.solve()[0]) if timeline else "blocked").rjust(11))
        print(f"{key:<20} {where:<19} " + " ".join(cells))
    everything = frozenset(k for k, *_ in CHANGES)
    cells = []
    for cloud, cps, workers in shapes:
        timeline = build(Scenario(cloud, cps, workers, everything), at_idle(measured))
        cells.append((fmt(timeline.solve()[0]) if timeline else "blocked").rjust(11))
    print(f"{'  same, local idle':<20} {'synth 21, plan 14 s':<19} " + " ".join(cells))
    for key, what, where in CHANGES:
        print(f"  {key}: {what} [{where}]")
    print(
        "  blocked: Azure's LB does not send a backend's own traffic back to it (no hairpin), so kubeadm "
        "init through the LB cannot finish without issue 15's local endpoint"
    )

    for cloud, cps, workers, key in [
        ("aws", 3, 3, "baseline"),
        ("aws", 3, 3, CHANGES[-1][0]),
        ("azure", 3, 3, CHANGES[-1][0]),
    ]:
        timeline = results[(cloud, cps, workers, key)]
        assert timeline is not None
        total, path, _ = timeline.solve()
        print(f"\ncritical path, {cloud} {cps}+{workers}, {key}: {fmt(total)}")
        for step, end in path:
            if step.seconds:
                source = "measured" if step.kind == "clouder" else step.kind
                print(f"  {fmt(end - step.seconds):>9} +{step.seconds:6.1f}s  {step.name}  [{source}]")

    print("\nmachines already up and prepared (bootstrap + add-ons only, as the k0sctl figures):")
    for cloud, cps, workers in shapes:
        cells = []
        for key in (CHANGES[0][0], CHANGES[-1][0]):
            upto = {k for k, *_ in CHANGES[: [k for k, *_ in CHANGES].index(key) + 1]}
            timeline = build(Scenario(cloud, cps, workers, frozenset(upto), existing=True), measured)
            cells.append(f"{key} {fmt(timeline.solve()[0]) if timeline else 'blocked'}")
        print(f"  {cloud} {cps}+{workers}: " + ", ".join(cells))

    final = Scenario("aws", 3, 3, frozenset(k for k, *_ in CHANGES))
    base = build(final, measured)
    assert base is not None
    print(f"\nwhat the aws 3+3 total ({fmt(base.solve()[0])}) is sensitive to:")
    idle = at_idle(measured)
    what_ifs: list[tuple[str, Measured, dict[str, float]]] = [
        ("local steps at idle-machine speed (synth 21 s, plan 14 s, gate 2 s)", idle, {}),
        ("NLB registration 4.5 min (the 2021 report)", measured, {"aws.nlb.register": 270}),
        ("NLB registration 1 min", measured, {"aws.nlb.register": 60}),
        ("package installs 45 s / 120 s", measured, {"node.packages": 45}),
        ("", measured, {"node.packages": 120}),
        ("NAT gateway 60 s / 180 s", measured, {"aws.nat": 60}),
        ("", measured, {"aws.nat": 180}),
        ("CNI ready in 30 s / 120 s", measured, {"addon.cni": 30}),
        ("", measured, {"addon.cni": 120}),
    ]
    for label, log, changed in what_ifs:
        timeline = build(final, log, changed)
        assert timeline is not None
        print(f"  {label or '':<60} {fmt(timeline.solve()[0]):>9}")

    print("\nanchors:")
    for name, seconds, source in ANCHORS:
        print(f"  {name:<32} {fmt(seconds):>9}  {source}")
    if args.sources:
        print("\nlatencies:")
        for key, latency in LATENCIES.items():
            print(f"  {key:<22} {latency.seconds:5.0f}s  {latency.what}\n{'':<32}{latency.source}")
    else:
        print("\n(--sources prints every latency with its source)")


if __name__ == "__main__":
    main()

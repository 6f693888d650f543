"""The add-on engine runs its steps along the add-on DAG: independent steps at the same time, each step only
after everything it needs is ready, and a failure stops only what depends on it. Overlap and order are read
from the run's events (their order in the log), never from how long anything took."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clouder.addons import AddonContext, RunSettings, plan, run_addons
from clouder.events import Event, EventLog
from clouder.kube import Kube
from clouder.spec.model import LoadBalancing
from support.chartrepo import ChartRepo
from support.cli import run
from support.clusters import EmulatedCluster, emulate

NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}


def settings(repo: ChartRepo, tmp_path: Path, timeout: float = 10.0) -> RunSettings:
    return RunSettings(timeout=timeout, interval=0.05, cache=tmp_path / "cache", catalog=repo.catalog())


def positions(events: list[Event]) -> dict[tuple[str, str], int]:
    """(step, outcome) -> index of that event in the log (first occurrence)."""
    found: dict[tuple[str, str], int] = {}
    for index, event in enumerate(events):
        found.setdefault((event.phase, event.outcome), index)
    return found


def test_independent_steps_overlap_and_each_step_waits_for_what_it_needs(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    emulator = aws_cluster.api.emulator
    # both controllers take a moment to become ready: long enough for the other to start meanwhile
    emulator.rule("Deployment", "ebs-csi-controller", "kube-system", delay=1.0)
    emulator.rule("Deployment", "aws-load-balancer-controller", "kube-system", delay=1.0)
    log = EventLog()
    seen: list[Event] = []
    log.listeners.append(seen.append)
    ctx = AddonContext(aws_cluster.spec, aws_cluster.outputs)
    with Kube.from_kubeconfig(aws_cluster.kubeconfig) as kube:
        report = run_addons(kube, ctx, settings(chart_repo, tmp_path), log)
    assert report.ok, report.as_dict()
    at = positions(seen)
    ebs, lbc = "aws-ebs-csi-driver", "aws-load-balancer-controller"
    # they overlap: each starts before the other is ready
    assert at[(lbc, "start")] < at[(ebs, "ok")] and at[(ebs, "start")] < at[(lbc, "ok")]
    # every step starts only after each step it needs is ready
    for step in plan(ctx):
        for need in step.after:
            assert at[(need, "ok")] < at[(step.release, "start")], (need, step.release)
    assert [s.name for s in report.steps] == [s.release for s in plan(ctx)]  # the report keeps install order
    # the cloud controller needs no CNI: it runs in the host network and tolerates NotReady nodes
    ccm = emulator.get("DaemonSet", "aws-cloud-controller-manager", "kube-system")
    assert ccm is not None
    assert ccm["spec"]["template"]["spec"]["hostNetwork"] is True
    assert NOT_READY in ccm["spec"]["template"]["spec"]["tolerations"]


def test_a_failed_cloud_controller_skips_what_needs_it_and_the_cli_says_why(
    aws_cluster: EmulatedCluster, chart_repo: ChartRepo, tmp_path: Path
) -> None:
    aws_cluster.api.emulator.rule(
        "DaemonSet", "aws-cloud-controller-manager", "kube-system", outcome="never",
        reason="ImagePullBackOff", message="Back-off pulling image registry.k8s.io/provider-aws/ccm",
    )  # fmt: skip
    env = {"CLOUDER_WORK_DIR": str(tmp_path / "work"), "CLOUDER_CACHE_DIR": str(tmp_path / "cache"),
           "CLOUDER_CHART_MIRROR": chart_repo.url}  # fmt: skip
    # The budget is each release's own: the CCM fails when it runs out, and cilium must be ready within it
    # (1 s was too little for cilium on a loaded 2-core CI machine).
    args = [str(aws_cluster.spec_path), "--outputs", str(aws_cluster.outputs_path), "--kubeconfig",
            str(aws_cluster.kubeconfig), "--poll-interval", "0.05", "--timeout", "8"]  # fmt: skip
    as_json = run("-o", "json", "addons", *args, env=env)
    assert as_json.code == 1, as_json.stderr
    report = as_json.json()
    assert not report["ok"]
    steps = {step["name"]: step for step in report["steps"]}
    assert list(steps) == ["cilium", "aws-cloud-controller-manager"]
    assert steps["cilium"]["ok"] and not steps["aws-cloud-controller-manager"]["ok"]
    assert "Back-off pulling image" in steps["aws-cloud-controller-manager"]["problems"][0]
    assert report["skipped"] == [
        "nodes-initialized", "aws-ebs-csi-driver", "storage-classes", "aws-load-balancer-controller",
    ]  # fmt: skip
    assert report["skippedBecause"] == {
        "nodes-initialized": "dependency aws-cloud-controller-manager failed",
        "aws-ebs-csi-driver": "dependency nodes-initialized not started "
        "(dependency aws-cloud-controller-manager failed)",
        "storage-classes": "dependency aws-ebs-csi-driver not started (dependency nodes-initialized not "
        "started (dependency aws-cloud-controller-manager failed))",
        "aws-load-balancer-controller": "dependency nodes-initialized not started "
        "(dependency aws-cloud-controller-manager failed)",
    }
    plain = run("addons", *args, env=env)
    assert plain.code == 1
    assert "add-on aws-cloud-controller-manager: not ready or failed:" in plain.stderr
    assert "Back-off pulling image" in plain.stderr
    assert "not started: storage-classes: dependency aws-ebs-csi-driver not started" in plain.stderr
    events = [
        json.loads(line) for line in (tmp_path / "work" / aws_cluster.spec.name / "events.jsonl").open()
    ]
    skipped = {e["phase"] for e in events if e["stage"] == "addons" and e["outcome"] == "skipped"}
    assert skipped == set(report["skipped"])


def test_azure_file_driver_failing_leaves_the_disk_driver_ready(
    chart_repo: ChartRepo, tmp_path: Path
) -> None:
    cluster, stop = emulate(tmp_path, "azure-ha.yaml")
    try:
        assert cluster.spec.storage.file_storage
        cluster.api.emulator.rule("Deployment", "csi-azurefile-controller", "kube-system", outcome="never")
        ctx = AddonContext(cluster.spec, cluster.outputs)
        with Kube.from_kubeconfig(cluster.kubeconfig) as kube:
            report = run_addons(kube, ctx, settings(chart_repo, tmp_path, timeout=1.0))
    finally:
        stop()
    assert [s.name for s in report.failed] == ["azurefile-csi-driver"]
    disk = next(s for s in report.steps if s.name == "azuredisk-csi-driver")
    assert disk.ok and disk.changed > 0
    assert report.skipped == ["storage-classes"]  # it offers both drivers' classes
    ccm = cluster.api.emulator.get("Deployment", "cloud-controller-manager", "kube-system")
    assert ccm is not None and NOT_READY in ccm["spec"]["template"]["spec"]["tolerations"]


@pytest.mark.parametrize(
    ("example", "edges"),
    [
        ("aws-minimal.yaml", {
            "cilium": (),
            "aws-cloud-controller-manager": (),
            "nodes-initialized": ("aws-cloud-controller-manager",),
            "aws-ebs-csi-driver": ("cilium", "nodes-initialized"),
            "storage-classes": ("aws-ebs-csi-driver",),
            "aws-load-balancer-controller": ("cilium", "nodes-initialized"),
        }),
        ("azure-ha.yaml", {
            "calico": (),
            "azure-cloud-config": (),
            "cloud-provider-azure": ("azure-cloud-config",),
            "nodes-initialized": ("cloud-provider-azure",),
            "azuredisk-csi-driver": ("calico", "nodes-initialized", "azure-cloud-config"),
            "azurefile-csi-driver": ("calico", "nodes-initialized", "azure-cloud-config"),
            "storage-classes": ("azuredisk-csi-driver", "azurefile-csi-driver"),
        }),
    ],
)  # fmt: skip
def test_the_plan_lists_steps_in_an_order_their_edges_allow(
    example: str, edges: dict[str, tuple[str, ...]], tmp_path: Path
) -> None:
    cluster, stop = emulate(tmp_path, example)
    stop()
    steps = plan(AddonContext(cluster.spec, cluster.outputs))
    assert {step.release: step.after for step in steps} == edges
    seen: set[str] = set()
    for step in steps:
        assert set(step.after) <= seen, (
            step.release
        )  # install order (GitOps files, the report) is topological
        seen.add(step.release)
    without = cluster.spec.model_copy(update={"load_balancing": LoadBalancing(controller=False)})
    assert "aws-load-balancer-controller" not in {
        s.release for s in plan(AddonContext(without, cluster.outputs))
    }

"""Upgrade 1.N -> 1.N+1: real sshd hosts with the stand-in kubeadm; cordon/drain through the API emulator."""

from __future__ import annotations

import time
from typing import Any

import pytest

from clouder.events import EventLog
from clouder.lifecycle.kubeops import CORDONED_BY
from clouder.lifecycle.upgrade import upgrade
from support.cli import run as run_cli
from support.day2 import Day2

pytestmark = pytest.mark.e2e

CP_FIRST = ["packages kubeadm", "upgrade-plan", "upgrade-apply", "packages kubelet kubectl"]
CP_OTHER = ["packages kubeadm", "upgrade-node", "packages kubelet kubectl"]
WORKER = ["packages kubeadm", "upgrade-node", "packages kubelet kubectl"]


def after_bootstrap(day2: Day2, host: str) -> list[str]:
    bootstrap = ("init", "join", "token-list", "token-create", "upload-certs")
    return [step for step in day2.host_log(host) if step not in bootstrap]


def run(day2: Day2, version: str, **spec_changes: Any) -> Any:
    spec = day2.spec(version, **spec_changes)
    with day2.kube() as kube:
        return upgrade(spec, day2.outputs(), kube, day2.options(spec), EventLog())


def node(day2: Day2, name: str) -> dict[str, Any]:
    found = day2.api.emulator.get("Node", name)
    assert found is not None
    return found


def test_upgrade_one_minor_in_kubeadm_order_with_worker_batches(day2_ha: Day2) -> None:
    day2 = day2_ha
    workers = day2.cluster.workers
    day2.app_pods(workers)
    day2.remember_placements()
    started = time.time()

    report = run(day2, "1.34.1", maintenance={"maxUnavailableWorkers": 2})
    assert report.ok, (report.stopped, [(n.name, n.error) for n in report.nodes])
    assert {n.name: n.state for n in report.nodes} == {n: "done" for n in day2.cluster.nodes}
    assert [c.stage for c in report.checks if c.name == "nodes-ready"] == [
        "before",
        "control planes",
        "batch 1",
        "batch 2",
    ]
    assert all(c.ok for c in report.checks)

    # the exact command order on every host
    assert after_bootstrap(day2, "cp-1") == CP_FIRST
    assert after_bootstrap(day2, "cp-2") == after_bootstrap(day2, "cp-3") == CP_OTHER
    for worker in workers:
        assert after_bootstrap(day2, worker) == WORKER, worker
    assert day2.lab.state()["cluster"]["version"] == "v1.34.1"
    assert all(e["version"] == "1.34.1-1.1" for e in day2.lab.log() if e["action"] == "packages")

    timeline = day2.timeline()
    first = {(host, what): t for t, host, what in reversed(timeline)}
    last = {(host, what): t for t, host, what in timeline}
    # control planes one by one, the first with `upgrade apply`, all before any worker is touched
    assert last[("cp-1", "packages kubelet kubectl")] < first[("cp-2", "packages kubeadm")]
    assert last[("cp-2", "packages kubelet kubectl")] < first[("cp-3", "packages kubeadm")]
    assert last[("cp-3", "node-update")] < min(first[(w, "node-update")] for w in workers)
    for worker in workers:  # cordon -> evictions -> packages + upgrade node -> uncordon
        steps = [what for t, host, what in timeline if host == worker and t >= started]
        assert steps[0] == "node-update" and steps[-1] == "node-update", steps
        assert steps[1:3] == ["evict", "evict"], steps
        assert steps[3:6] == WORKER, steps
    # batches of two: the second batch starts after the first is uncordoned
    batch1_done = max(last[(w, "node-update")] for w in workers[:2])
    assert batch1_done < min(first[(w, "node-update")] for w in workers[2:])
    batch1_start = max(first[(w, "node-update")] for w in workers[:2])
    assert batch1_start < min(last[(w, "node-update")] for w in workers[:2]), "batch did not run in parallel"

    for name in day2.cluster.nodes:  # every node schedulable again, Clouder's cordon mark gone
        found = node(day2, name)
        assert not found["spec"].get("unschedulable")
        assert CORDONED_BY not in found["metadata"].get("annotations", {})
    for worker in workers:  # application pods were evicted, DaemonSet pods stayed
        assert day2.pods_on(worker) == [f"kube-proxy-{worker}"]

    log_size = len(day2.lab.log())
    again = run(day2, "1.34.1", maintenance={"maxUnavailableWorkers": 2})
    assert again.ok and "nothing to do" in " ".join(again.notes)
    assert len(day2.lab.log()) == log_size  # nothing ran twice


def test_a_failing_worker_stops_the_rollout_and_a_rerun_resumes(day2_ha: Day2) -> None:
    day2 = day2_ha
    workers = day2.cluster.workers  # w-1 .. w-4, one at a time
    day2.app_pods(workers, per_node=1)
    day2.lab.fault("w-2", "upgrade-node", "fail")

    report = run(day2, "1.34.1")
    assert not report.ok
    assert report.stopped == "worker batch 2 (w-2)"
    states = {n.name: n.state for n in report.nodes}
    assert states == {"cp-1": "done", "cp-2": "done", "cp-3": "done", "w-1": "done", "w-2": "failed",
                      "w-3": "untouched", "w-4": "untouched"}  # fmt: skip
    failed = next(n for n in report.nodes if n.name == "w-2")
    assert "kubeadm upgrade node failed" in (failed.error or "")
    assert report.resume and "run `clouder upgrade` again" in report.resume
    # the failed worker stays cordoned and drained; the rest are untouched: no command, no cordon, pods stay
    assert node(day2, "w-2")["spec"].get("unschedulable") is True
    assert after_bootstrap(day2, "w-2") == ["packages kubeadm"]
    for name in ("w-3", "w-4"):
        assert after_bootstrap(day2, name) == []
        assert not node(day2, name)["spec"].get("unschedulable")
        assert day2.pods_on(name) == sorted([f"kube-proxy-{name}", f"web-{name}-0"])
    assert [c.stage for c in report.checks if c.name == "nodes-ready"] == [
        "before",
        "control planes",
        "batch 1",
    ]

    day2.lab.fault("w-2", "upgrade-node", "none")  # the cause is fixed
    again = run(day2, "1.34.1")
    assert again.ok, (again.stopped, [(n.name, n.error) for n in again.nodes], day2.lab.log())
    states = {n.name: n.state for n in again.nodes}
    assert states == {"cp-1": "unchanged", "cp-2": "unchanged", "cp-3": "unchanged", "w-1": "unchanged",
                      "w-2": "done", "w-3": "done", "w-4": "done"}  # fmt: skip
    assert after_bootstrap(day2, "w-1") == WORKER  # not repeated
    assert after_bootstrap(day2, "w-2") == WORKER  # kubeadm package not installed twice
    assert after_bootstrap(day2, "cp-1") == CP_FIRST
    assert not node(day2, "w-2")["spec"].get("unschedulable")


def test_skipping_a_minor_is_refused_with_exit_2(day2_old: Day2) -> None:
    day2 = day2_old
    spec_path, mapping = day2.write_files("1.34.1")
    result = run_cli("upgrade", str(spec_path), *day2.cli_args(mapping))
    assert result.code == 2, result.stdout + result.stderr
    assert "refusing to skip a minor version: the cluster runs 1.32.9" in result.stderr
    assert "first to 1.33.5" in result.stderr
    assert after_bootstrap(day2, "cp-1") == [] and after_bootstrap(day2, "w-1") == []
    assert not any(verb == "update" for verb, kind, *_ in day2.api.emulator.writes if kind == "Node")

    downgrade_spec, _ = day2.write_files("1.32.9")
    day2.lab.settings(version="v1.32.9")
    down = run_cli("upgrade", str(downgrade_spec), "--to", "1.32.0", *day2.cli_args(mapping))
    assert down.code == 2 and "refusing to downgrade" in down.stderr, down.stdout + down.stderr

    # one minor up is accepted; --dry-run probes and lists what each node would get, and changes nothing
    planned = run_cli(
        "-o", "json", "upgrade", str(spec_path), "--to", "1.33.5", "--dry-run", *day2.cli_args(mapping)
    )
    assert planned.code == 0, planned.stdout + planned.stderr
    nodes = {n["name"]: n for n in planned.json()["nodes"]}
    assert nodes["cp-1"]["state"] == "planned"
    assert nodes["cp-1"]["planned"][:3] == [
        "install kubeadm 1.33.5-1.1",
        "kubeadm upgrade plan v1.33.5",
        "kubeadm upgrade apply v1.33.5",
    ]
    assert "kubeadm upgrade node" in nodes["w-1"]["planned"]
    assert after_bootstrap(day2, "cp-1") == [] and after_bootstrap(day2, "w-1") == []


def test_an_upgrade_killed_mid_worker_resumes_and_runs_every_step_once(day2_small: Day2) -> None:
    import os
    import signal
    import subprocess

    from support.cli import clouder_executable

    day2 = day2_small
    day2.lab.settings(upgrade_s=0.5)
    spec_path, mapping = day2.write_files("1.34.1")
    command = [*clouder_executable(), "upgrade", str(spec_path), *day2.cli_args(mapping)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while "packages kubeadm" not in after_bootstrap(day2, "w-1"):  # w-1 is cordoned, drained, mid-upgrade
        assert process.poll() is None and time.monotonic() < deadline, "upgrade ended before the kill point"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert node(day2, "w-1")["spec"].get("unschedulable") is True

    again = run_cli("upgrade", str(spec_path), *day2.cli_args(mapping))
    assert again.code == 0, again.stdout + again.stderr
    assert "took over the lock" in again.stderr  # the killed run's lock, its owner provably gone
    assert after_bootstrap(day2, "cp-1") == CP_FIRST
    assert after_bootstrap(day2, "w-1") == after_bootstrap(day2, "w-2") == WORKER  # each step exactly once
    assert all(not node(day2, n)["spec"].get("unschedulable") for n in day2.cluster.nodes)

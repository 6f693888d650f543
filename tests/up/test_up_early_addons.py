"""`clouder up` starts the add-ons once the first control plane serves the API, while the other nodes join:
the add-on stage then reports what that early run did; a failed bootstrap stops the node gate's wait for
nodes that will not join and lets the add-ons end before `up` reports the failure."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from clouder.addons.nodes import wait_nodes_initialized
from clouder.events import EventLog
from clouder.kube import Kube
from clouder.outputs import ClusterOutputs
from clouder.spec import load_spec
from clouder.up.pipeline import StageFailed, UpOptions, _Run
from support.clusters import EmulatedCluster
from support.kubeapi import KubeApi

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aws-minimal.yaml"


def _run(monkeypatch: pytest.MonkeyPatch, ok: bool, until: str | None = None) -> tuple[_Run, dict[str, Any]]:
    """A run whose bootstrap reports the API ready, then ``ok``; its add-ons wait until told to stop."""
    seen: dict[str, Any] = {"joined": threading.Event()}

    def bootstrap(*_: Any, on_api_ready: Any = None, **__: Any) -> Any:
        if on_api_ready is not None:
            on_api_ready("/tmp/admin.conf")
            seen["started_before_joins"] = True
        time.sleep(0.2)  # the joins
        seen["joined"].set()
        failed = [SimpleNamespace(name="cp-2", error="kubeadm join failed")]
        return SimpleNamespace(ok=ok, failed=[] if ok else failed, hosts=[], kubeconfig="/tmp/admin.conf")

    monkeypatch.setattr("clouder.bootstrap.run.bootstrap", bootstrap)
    monkeypatch.setattr("clouder.bootstrap.run.default_options", lambda spec: SimpleNamespace(ssh=None))
    run = _Run(load_spec(EXAMPLE), UpOptions(until=until), EventLog())
    run.outputs = SimpleNamespace()  # type: ignore[assignment]

    def install(stop: threading.Event | None = None) -> str:
        seen["stop"] = stop
        assert stop is not None
        # the node gate: waits for every node until they joined, or until told they never will
        while not (seen["joined"].is_set() and ok) and not stop.wait(0.01):
            pass
        seen["stopped"] = stop.is_set()
        return "5 steps, 40 changes"

    monkeypatch.setattr(run, "_install_addons", install)
    return run, seen


def test_addons_start_when_the_api_is_up_and_report_in_their_own_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run, seen = _run(monkeypatch, ok=True)
    assert run.bootstrap().startswith("0 hosts")
    assert seen["started_before_joins"] and run.early is not None
    detail = run.addons()
    assert detail.startswith("5 steps, 40 changes (started ")
    assert detail.endswith(" s before bootstrap ended)")
    assert seen["stopped"] is False


def test_a_failed_bootstrap_stops_the_node_wait_and_lets_the_addons_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run, seen = _run(monkeypatch, ok=False)
    with pytest.raises(StageFailed, match="bootstrap failed on cp-2"):
        run.bootstrap()
    assert run.early is not None and not run.early.thread.is_alive()
    assert seen["stopped"] is True


def test_an_addon_failure_surfaces_in_the_addons_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    run, _ = _run(monkeypatch, ok=True)

    def broken(stop: threading.Event | None = None) -> str:
        raise StageFailed("add-on cilium not ready: DaemonSet kube-system/cilium 0/3")

    monkeypatch.setattr(run, "_install_addons", broken)
    run.bootstrap()
    with pytest.raises(StageFailed, match="cilium not ready"):
        run.addons()


def test_up_until_bootstrap_starts_no_addons(monkeypatch: pytest.MonkeyPatch) -> None:
    run, seen = _run(monkeypatch, ok=True, until="bootstrap")
    run.bootstrap()
    assert run.early is None and "started_before_joins" not in seen


def test_the_node_gate_stops_waiting_when_told(aws_cluster: EmulatedCluster, kube_api: KubeApi) -> None:
    outputs: ClusterOutputs = aws_cluster.outputs
    for node in outputs.nodes[:1]:  # one node registered, uninitialised; the others never join
        kube_api.add_node(node.name, node.role)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with Kube.from_kubeconfig(kube_api.kubeconfig) as kube:
        problems = wait_nodes_initialized(kube, outputs, timeout=60.0, interval=0.05, stop=stop)
    assert time.monotonic() - started < 30.0, "the wait ended when told, not at its 60 s deadline"
    assert any("not registered" in p for p in problems)
    assert any("uninitialized taint" in p for p in problems)

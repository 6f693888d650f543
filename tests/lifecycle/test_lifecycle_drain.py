"""Cordon, drain and uncordon through the official client against the API emulator: evictions honour
PodDisruptionBudgets, DaemonSet and mirror pods stay, and only Clouder's own cordons are lifted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clouder.kube.client import Kube
from clouder.lifecycle import kubeops
from support.kubeapi import KubeApi


def pod(api: KubeApi, name: str, node: str, owner: str = "ReplicaSet", mirror: bool = False) -> None:
    annotations = {"kubernetes.io/config.mirror": "x"} if mirror else {}
    api.emulator.put({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name.split("-")[0]},
                     "annotations": annotations,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner, "name": "o", "uid": "u"}]},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
        # what the kubelet reports: a real API server checks PodDisruptionBudgets for Running pods only
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    })  # fmt: skip


@pytest.fixture
def kube(kube_api: KubeApi) -> Iterator[Kube]:
    kube_api.add_node("n-1", initialized=True, provider_id="aws:///a/i-1")
    kube_api.add_node("n-2", initialized=True, provider_id="aws:///a/i-2")
    with Kube.from_kubeconfig(kube_api.kubeconfig) as client:
        yield client


def on(api: KubeApi, node: str) -> set[str]:
    return {p["metadata"]["name"] for p in api.emulator.list("Pod") if p["spec"]["nodeName"] == node}


def test_drain_evicts_movable_pods_only(kube: Kube, kube_api: KubeApi) -> None:
    pod(kube_api, "web-1", "n-1")
    pod(kube_api, "web-2", "n-1")
    pod(kube_api, "proxy-1", "n-1", owner="DaemonSet")
    pod(kube_api, "static-1", "n-1", owner="Node", mirror=True)
    pod(kube_api, "web-3", "n-2")
    result = kubeops.drain(kube, "n-1", timeout=5, interval=0.05, reason="test")
    assert sorted(result.evicted) == ["default/web-1", "default/web-2"]
    assert result.ignored == ["default/proxy-1", "default/static-1"]
    assert on(kube_api, "n-1") == {"proxy-1", "static-1"} and on(kube_api, "n-2") == {"web-3"}
    node = kube_api.emulator.get("Node", "n-1") or {}
    assert node["spec"]["unschedulable"] is True
    evictions = [w for w in kube_api.emulator.writes if w[0] == "evict"]
    assert {w[3] for w in evictions} == {"web-1", "web-2"}  # through the Eviction API, not plain deletes

    assert kubeops.uncordon(kube, "n-1")
    node = kube_api.emulator.get("Node", "n-1") or {}
    annotations = node["metadata"].get("annotations") or {}  # an emptied map is not stored (case 014)
    assert not node["spec"].get("unschedulable") and kubeops.CORDONED_BY not in annotations


def test_a_disruption_budget_stops_the_drain_and_says_why(kube: Kube, kube_api: KubeApi) -> None:
    pod(kube_api, "db-0", "n-1")
    kube_api.emulator.put({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}},
        "status": {"disruptionsAllowed": 0},
    })  # fmt: skip
    with pytest.raises(kubeops.DrainError, match="default/db-0: a PodDisruptionBudget allows no disruption"):
        kubeops.drain(kube, "n-1", timeout=0.5, interval=0.05)
    assert on(kube_api, "n-1") == {"db-0"}  # nothing forced


def test_a_node_cordoned_by_someone_else_stays_cordoned(kube: Kube, kube_api: KubeApi) -> None:
    node = kube_api.emulator.get("Node", "n-2") or {}
    node["spec"]["unschedulable"] = True
    kube_api.emulator.put(node)
    kubeops.drain(kube, "n-2", timeout=5, interval=0.05)
    assert not kubeops.uncordon(kube, "n-2")
    assert (kube_api.emulator.get("Node", "n-2") or {})["spec"]["unschedulable"] is True

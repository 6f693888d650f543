"""The Kubernetes API emulator, driven by the official client over HTTP: what the apply engine relies on."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config, dynamic, watch

from support.kubeapi import KubeApi

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo", "namespace": "default"}}


def clients(api: KubeApi, tmp_path: Path) -> tuple[Any, Any]:
    api_client = config.new_client_from_config(str(api.kubeconfig))
    return api_client, dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))


def test_discovery_version_and_namespaces_work_with_the_official_client(
    kube_api: KubeApi, tmp_path: Path
) -> None:
    api_client, dyn = clients(kube_api, tmp_path)
    assert dyn.version["kubernetes"]["gitVersion"] == "v1.33.5"
    assert dyn.resources.get(api_version="apps/v1", kind="Deployment").namespaced
    assert not dyn.resources.get(api_version="storage.k8s.io/v1", kind="StorageClass").namespaced
    core = client.CoreV1Api(api_client)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    names = [ns.metadata.name for ns in core.list_namespace().items]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system", "team-a"]
    core.create_namespaced_config_map("team-a", {**CM, "metadata": {"name": "x", "namespace": "team-a"}})
    core.delete_namespace("team-a")
    assert kube_api.emulator.get("ConfigMap", "x", "team-a") is None  # contents go with the namespace


def test_server_side_apply_records_manager_forgets_dropped_fields_and_skips_no_ops(
    kube_api: KubeApi, tmp_path: Path
) -> None:
    _, dyn = clients(kube_api, tmp_path)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    first = dyn.server_side_apply(cms, body={**CM, "data": {"a": "1", "b": "2"}}, field_manager="clouder")
    assert [m["manager"] for m in first.metadata.managedFields] == ["clouder"]
    again = dyn.server_side_apply(cms, body={**CM, "data": {"a": "1", "b": "2"}}, field_manager="clouder")
    assert again.metadata.resourceVersion == first.metadata.resourceVersion  # a no-op is not a write
    dyn.patch(
        cms,
        name="demo",
        namespace="default",
        body={"data": {"c": "3"}},
        content_type="application/merge-patch+json",
    )
    dropped = dyn.server_side_apply(cms, body={**CM, "data": {"a": "1"}}, field_manager="clouder")
    assert dropped.data.to_dict() == {"a": "1", "c": "3"}  # b was clouder's and is gone; c belongs to another
    assert len(kube_api.emulator.writes_to("ConfigMap")) == 3


def test_status_subresource_and_generation(kube_api: KubeApi, tmp_path: Path) -> None:
    _, dyn = clients(kube_api, tmp_path)
    budgets = dyn.resources.get(api_version="policy/v1", kind="PodDisruptionBudget")
    body = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"disruptionsAllowed": 5},
    }
    created = dyn.server_side_apply(budgets, body=body, field_manager="clouder")
    assert created.metadata.generation == 1 and created.status is None  # status in an apply is ignored
    merge = "application/merge-patch+json"
    dyn.patch(
        budgets,
        name="web",
        namespace="default",
        body={"metadata": {"labels": {"x": "y"}}},
        content_type=merge,
    )
    assert dyn.get(budgets, name="web", namespace="default").metadata.generation == 1  # metadata only
    dyn.patch(
        budgets, name="web", namespace="default", body={"spec": {"maxUnavailable": 2}}, content_type=merge
    )
    assert dyn.get(budgets, name="web", namespace="default").metadata.generation == 2
    status = budgets.subresources["status"]
    dyn.patch(
        status,
        name="web",
        namespace="default",
        body={"status": {"disruptionsAllowed": 0}},
        content_type=merge,
    )
    live = dyn.get(budgets, name="web", namespace="default")
    assert live.status.disruptionsAllowed == 0 and live.spec.maxUnavailable == 2
    assert live.metadata.generation == 2  # a status write is not a new generation


def test_watch_streams_changes_made_by_others(kube_api: KubeApi) -> None:
    api_client = config.new_client_from_config(str(kube_api.kubeconfig))
    core = client.CoreV1Api(api_client)
    rv = core.list_namespaced_config_map("default").metadata.resource_version

    def change() -> None:
        time.sleep(0.2)
        kube_api.emulator.put({**CM, "data": {"v": "1"}})
        kube_api.emulator.put({**CM, "data": {"v": "2"}})
        kube_api.emulator.remove("ConfigMap", "demo", "default")

    threading.Thread(target=change).start()
    seen = [
        (event["type"], (event["object"].data or {}).get("v"))
        for event in watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2
        )
    ]
    assert seen == [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]


def test_simulated_readiness_follows_rules_and_records_warning_events(kube_api: KubeApi) -> None:
    emulator = kube_api.emulator
    emulator.rule(
        "Job", "migrate", "default", outcome="fail", reason="BackoffLimitExceeded", message="exit 3"
    )
    emulator.rule("DaemonSet", "agent", "default", outcome="never", reason="FailedMount", message="no volume")
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    emulator.put(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "default"},
            "spec": {"template": template},
        }
    )
    emulator.put(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": template},
        }
    )
    time.sleep(0.3)
    job = emulator.get("Job", "migrate", "default")
    assert job is not None and job["status"]["conditions"][0]["type"] == "Failed"
    agent = emulator.get("DaemonSet", "agent", "default")
    assert agent is not None and agent["status"]["numberReady"] == 0
    reasons = {e["involvedObject"]["name"]: e["reason"] for e in emulator.list("Event")}
    assert reasons == {"migrate": "BackoffLimitExceeded", "agent": "FailedMount"}
    emulator.rule("DaemonSet", "agent", "default", outcome="ready")
    time.sleep(0.3)
    agent = emulator.get("DaemonSet", "agent", "default")
    assert (
        agent is not None and agent["status"]["numberReady"] == agent["status"]["desiredNumberScheduled"] == 1
    )

"""The emulator's kube-controller-manager (``KubeEmulator.controller_manager``) driven by the official
client: what it makes, how Clouder's readiness reads it, and deletion propagation along owner references."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, config

from clouder.kube.readiness import assess
from support.kubeapi import KubeApi
from support.kubeapi_hash import template_hash

WEB: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
}
AGENT: dict[str, Any] = {
    "metadata": {"labels": {"app": "agent"}},
    "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]},
}


def apps_api(api: KubeApi) -> Any:
    return client.AppsV1Api(config.new_client_from_config(str(api.kubeconfig)))  # type: ignore[no-untyped-call]


def until(check: Callable[[], Any], seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def deployment(name: str, replicas: int) -> dict[str, Any]:
    spec = {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": WEB}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": here(name), "spec": spec}


def here(name: str) -> dict[str, str]:
    return {"name": name, "namespace": "default"}


def named(api: KubeApi, kind: str, prefix: str) -> list[dict[str, Any]]:
    return [o for o in api.emulator.list(kind) if o["metadata"]["name"].startswith(prefix)]


def owned_by(api: KubeApi, kind: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
    uid = owner["metadata"]["uid"]
    return [
        o for o in api.emulator.list(kind)
        if any(r["uid"] == uid for r in o["metadata"].get("ownerReferences") or [])
    ]  # fmt: skip


def test_pod_template_hash_is_the_one_kcm_computes() -> None:
    # the names a real kube-controller-manager v1.36 gave these templates (conformance cases 040 and 041)
    assert template_hash(WEB) == "c8bb5747c"
    assert template_hash(AGENT) == "75f8b5cdcb"
    assert template_hash({**WEB, "metadata": {"labels": {"app": "web2"}}}) != "c8bb5747c"
    with_volume = {
        "metadata": WEB["metadata"],
        "spec": {**WEB["spec"], "volumes": [{"name": "v", "emptyDir": {}}]},
    }
    assert template_hash(with_volume) == template_hash(with_volume) != "c8bb5747c"  # unlisted structs: stable


def test_deployments_jobs_and_daemonsets_run_through_their_pods(kube_api: KubeApi) -> None:
    emulator = kube_api.emulator
    emulator.controller_manager = True
    emulator.rule(
        "Deployment", "stuck", "default", outcome="never", reason="ImagePullBackOff", message="no image"
    )
    apps = apps_api(kube_api)
    apps.create_namespaced_deployment("default", deployment("web", 2))
    apps.create_namespaced_deployment("default", deployment("stuck", 1))

    web = until(lambda: (d := emulator.get("Deployment", "web", "default")) and assess(d).ready and d)
    assert web, "a Deployment whose rule says ready becomes ready through its ReplicaSet's pods"
    [replicas] = owned_by(kube_api, "ReplicaSet", web)
    assert replicas["metadata"]["name"] == "web-c8bb5747c"
    assert replicas["metadata"]["ownerReferences"][0] | {"uid": "-"} == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "-", "controller": True,
        "blockOwnerDeletion": True,
    }  # fmt: skip
    pods = owned_by(kube_api, "Pod", replicas)
    assert len(pods) == 2 and all(p["metadata"]["name"].startswith("web-c8bb5747c-") for p in pods)
    assert {p["status"]["phase"] for p in pods} == {"Running"}
    reasons = {(e["involvedObject"]["name"], e["reason"]) for e in emulator.list("Event")}
    assert {("web", "ScalingReplicaSet"), ("web-c8bb5747c", "SuccessfulCreate")} <= reasons

    stuck = emulator.get("Deployment", "stuck", "default")
    assert stuck is not None and not assess(stuck).ready
    [stuck_pod] = owned_by(kube_api, "Pod", owned_by(kube_api, "ReplicaSet", stuck)[0])
    assert stuck_pod["status"]["phase"] == "Pending"

    job_spec = {"template": {"spec": {"restartPolicy": "Never", **AGENT["spec"]}}}
    emulator.put({"apiVersion": "batch/v1", "kind": "Job", "metadata": here("once"), "spec": job_spec})
    job = until(lambda: (j := emulator.get("Job", "once", "default")) and assess(j).ready and j)
    assert job and [p["status"]["phase"] for p in owned_by(kube_api, "Pod", job)] == ["Succeeded"]

    kube_api.add_node("node-a", initialized=True)
    kube_api.add_node("node-b")  # still tainted uninitialized: no daemon pod
    ds_spec = {"selector": {"matchLabels": {"app": "agent"}}, "template": AGENT}
    emulator.put({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": here("agent"), "spec": ds_spec})
    agent = until(lambda: (d := emulator.get("DaemonSet", "agent", "default")) and assess(d).ready and d)
    assert agent and agent["status"]["desiredNumberScheduled"] == 1
    assert [r["metadata"]["name"] for r in owned_by(kube_api, "ControllerRevision", agent)] == [
        "agent-75f8b5cdcb"
    ]
    [daemon_pod] = owned_by(kube_api, "Pod", agent)
    terms = daemon_pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchFields"][0]["values"] == ["node-a"]


def test_deletion_propagates_along_owner_references(kube_api: KubeApi) -> None:
    emulator = kube_api.emulator
    emulator.controller_manager = True
    emulator.gc_delay = 0.5  # long enough to see the Foreground deletion hold the Deployment
    apps = apps_api(kube_api)
    for name in ("fg", "bg", "orphan"):
        apps.create_namespaced_deployment("default", deployment(name, 1))
    assert until(lambda: len(emulator.list("Pod")) == 3)

    apps.delete_namespaced_deployment("orphan", "default", propagation_policy="Orphan")
    gone = until(lambda: emulator.get("Deployment", "orphan", "default") is None)
    kept = named(kube_api, "ReplicaSet", "orphan-")
    assert gone
    assert kept and "ownerReferences" not in kept[0]["metadata"]  # the ReplicaSet stays, on its own

    apps.delete_namespaced_deployment("bg", "default", propagation_policy="Background")
    assert emulator.get("Deployment", "bg", "default") is None  # gone at once; its dependents after
    assert until(lambda: not named(kube_api, "Pod", "bg-"))
    assert not named(kube_api, "ReplicaSet", "bg-")

    apps.delete_namespaced_deployment("fg", "default", propagation_policy="Foreground")
    held = emulator.get("Deployment", "fg", "default")
    assert held is not None and held["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert until(lambda: emulator.get("Deployment", "fg", "default") is None)
    assert not named(kube_api, "ReplicaSet", "fg-") and not named(kube_api, "Pod", "fg-")
    assert [p["metadata"]["name"][:7] for p in emulator.list("Pod")] == [
        "orphan-"
    ]  # the orphan keeps its pod

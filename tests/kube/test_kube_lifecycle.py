"""What a real API server does to a release over time: immutable fields (422), Jobs the TTL controller
removes once finished, Namespaces that stay Terminating after a prune (conformance cases 016, 017, 022,
028)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from clouder.errors import ClouderError
from clouder.kube import ApplyOptions, Kube, Release, apply_release
from clouder.observe.status import release_status
from support.kubeapi import KubeApi

OPTIONS = ApplyOptions("1.33.5", timeout=5.0, interval=0.05)


@pytest.fixture
def kube(kube_api: KubeApi) -> Iterator[Kube]:
    with Kube.from_kubeconfig(kube_api.kubeconfig) as connected:
        yield connected


def job(image: str, ttl: int | None = None) -> dict[str, Any]:
    container = {"name": "certgen", "image": image}
    spec: dict[str, Any] = {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "hubble-generate-certs"},
        "spec": spec,
    }


def storage_class(reclaim: str) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3"}, "reclaimPolicy": reclaim,
    }  # fmt: skip


def test_changed_immutable_fields_recreate_jobs_and_storage_classes(kube: Kube, kube_api: KubeApi) -> None:
    emulator = kube_api.emulator
    first = Release("cilium", "kube-system", "1", (job("certgen:v0.2.4"), storage_class("Delete")))
    assert apply_release(kube, first, OPTIONS).ok
    bumped = Release("cilium", "kube-system", "2", (job("certgen:v0.2.5"), storage_class("Retain")))
    result = apply_release(kube, bumped, OPTIONS)
    assert result.ok, result.wait.render()
    assert sorted((str(c.ref), c.action) for c in result.changed) == [
        ("Job kube-system/hubble-generate-certs", "recreated"), ("StorageClass gp3", "recreated"),
    ]  # fmt: skip
    live_job = emulator.get("Job", "hubble-generate-certs", "kube-system")
    assert live_job is not None
    assert live_job["spec"]["template"]["spec"]["containers"][0]["image"] == "certgen:v0.2.5"
    live_class = emulator.get("StorageClass", "gp3")
    assert live_class is not None and live_class["reclaimPolicy"] == "Retain"
    assert live_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_a_finished_job_the_ttl_controller_removed_is_done(kube: Kube, kube_api: KubeApi) -> None:
    emulator = kube_api.emulator
    release = Release("cilium", "kube-system", "1", (job("certgen:v0.2.4", ttl=0),))
    assert apply_release(kube, release, OPTIONS).ok
    deadline = time.monotonic() + 5.0  # the TTL controller removes it on its own schedule
    while (
        emulator.get("Job", "hubble-generate-certs", "kube-system") is not None
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    assert emulator.get("Job", "hubble-generate-certs", "kube-system") is None  # finished, then removed
    assert release_status(kube, "cilium").state == "ready"
    before = len(emulator.writes)
    again = apply_release(kube, release, OPTIONS)
    assert again.ok and again.changed == []
    assert emulator.writes[before:] == []  # not created again
    changed = apply_release(
        kube, Release("cilium", "kube-system", "2", (job("certgen:v0.2.5", ttl=0),)), OPTIONS
    )
    assert [(str(c.ref), c.action) for c in changed.changed] == [
        ("Job kube-system/hubble-generate-certs", "created")
    ]


def test_a_namespace_pruned_a_moment_ago_is_waited_out_before_it_is_made_again(
    kube: Kube, kube_api: KubeApi
) -> None:
    emulator = kube_api.emulator
    emulator.namespace_termination = 0.5
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}}
    assert apply_release(kube, Release("web", "apps", "1", (settings,)), OPTIONS).ok
    apply_release(kube, Release("web", "elsewhere", "2", (settings,)), OPTIONS)  # prunes namespace apps
    live = emulator.get("Namespace", "apps")
    assert live is not None and live["status"]["phase"] == "Terminating"
    said: list[str] = []
    back = apply_release(
        kube, Release("web", "apps", "3", (settings,)), replace(OPTIONS, on_wait=said.append)
    )
    assert back.ok
    assert said == ["waiting for namespace apps to finish terminating before creating it again"]
    assert emulator.get("ConfigMap", "settings", "apps") is not None


def test_not_ready_reports_carry_warning_events_only(kube: Kube, kube_api: KubeApi) -> None:
    emulator = kube_api.emulator
    emulator.rule("Job", "hubble-generate-certs", "kube-system", outcome="never", reason="FailedCreate",
                  message="pods are forbidden")  # fmt: skip
    emulator.put({
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "normal.1", "namespace": "kube-system"},
        "involvedObject": {"kind": "Job", "name": "hubble-generate-certs", "namespace": "kube-system"},
        "type": "Normal", "reason": "SuccessfulCreate", "message": "Created pod: hubble-generate-certs-x",
    })  # fmt: skip
    result = apply_release(kube, Release("cilium", "kube-system", "1", (job("certgen:v0.2.4"),)),
                           replace(OPTIONS, timeout=0.5))  # fmt: skip
    (item,) = result.wait.not_ready
    assert item.events and all(line.startswith("Warning FailedCreate") for line in item.events)


def test_a_second_apply_of_what_the_server_normalised_sends_no_apply(kube: Kube, kube_api: KubeApi) -> None:
    # the shapes of conformance cases 006 (zero values, quantities) and 008 (RBAC subject apiGroup)
    container = {"name": "agent", "image": "example.test/agent:1", "env": [], "ports": [],
                 "resources": {"requests": {"cpu": 2, "memory": "1024Mi"}, "limits": {"cpu": 0.5}},
                 "volumeMounts": [{"name": "run", "mountPath": "/run", "readOnly": False}]}  # fmt: skip
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"hostNetwork": False, "tolerations": [], "containers": [container],
                     "volumes": [{"name": "run", "emptyDir": {}}]}}},
    }  # fmt: skip
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "agent"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "Group", "name": "agents"}, {"kind": "ServiceAccount", "name": "agent",
                                                           "namespace": "apps"}],
    }  # fmt: skip
    release = Release("agent", "apps", "1", (deployment, binding))
    assert apply_release(kube, release, OPTIONS).ok
    live = kube_api.emulator.get("Deployment", "agent", "apps")
    assert live is not None and "hostNetwork" not in live["spec"]["template"]["spec"]  # the server dropped it
    sent = len(kube_api.emulator.applies)
    again = apply_release(kube, release, OPTIONS)
    assert again.ok and again.changed == []
    assert kube_api.emulator.applies[sent:] == []  # judged unchanged by a dry run: nothing re-sent


SERVICE = "aws-load-balancer-webhook-service"


def _webhook() -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "aws-load-balancer-webhook"},
        "webhooks": [{
            "name": "vingress.elbv2.k8s.aws", "failurePolicy": "Fail", "sideEffects": "None",
            "admissionReviewVersions": ["v1"], "objectSelector": {"matchLabels": {"app": "web"}},
            "clientConfig": {"service": {"namespace": "kube-system", "name": SERVICE, "path": "/validate"}},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                       "resources": ["configmaps"]}],
        }],
    }  # fmt: skip


def _intercepted() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web", "labels": {"app": "web"}}, "data": {"a": "1"}}  # fmt: skip


def test_objects_a_failing_closed_webhook_intercepts_wait_for_its_endpoints(
    kube: Kube, kube_api: KubeApi
) -> None:
    emulator = kube_api.emulator
    assert apply_release(kube, Release("lbc", "kube-system", "1", (_webhook(),)), OPTIONS).ok
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
        "metadata": {"name": "lbc-1", "namespace": "kube-system",
                     "labels": {"kubernetes.io/service-name": "aws-load-balancer-webhook-service"}},
        "endpoints": [{"addresses": ["10.0.0.9"], "conditions": {"ready": True}}],
    }  # fmt: skip
    threading.Timer(0.5, lambda: emulator.put(slice_)).start()  # the controller starts serving
    said: list[str] = []
    result = apply_release(
        kube, Release("web", "apps", "1", (_intercepted(),)), replace(OPTIONS, on_wait=said.append)
    )
    assert result.ok and emulator.get("ConfigMap", "web", "apps") is not None
    assert said == [
        f"waiting for webhook vingress.elbv2.k8s.aws: service kube-system/{SERVICE} has no ready endpoint "
        "yet (ConfigMap apps/web is intercepted)"
    ]


def test_a_webhook_that_never_serves_is_named_in_the_error(kube: Kube, kube_api: KubeApi) -> None:
    assert apply_release(kube, Release("lbc", "kube-system", "1", (_webhook(),)), OPTIONS).ok
    with pytest.raises(
        ClouderError, match=r"intercepted by webhook vingress\.elbv2\.k8s\.aws \(failurePolicy: Fail\)"
    ):
        apply_release(kube, Release("web", "apps", "1", (_intercepted(),)), replace(OPTIONS, timeout=0.5))

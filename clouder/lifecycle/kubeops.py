"""Node operations through the Kubernetes API: cordon, drain (by eviction), uncordon, delete.

Clouder marks the nodes it cordons (annotation ``clouder.dev/cordoned-by``) and only ever uncordons those:
a node an administrator cordoned for their own reasons stays cordoned across an upgrade. Drains use the
Eviction API, so PodDisruptionBudgets are honoured: a refused eviction (429) is retried until the drain
timeout, then reported with the pods that would not leave.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from clouder.errors import ClouderError
from clouder.kube.client import Kube
from clouder.kube.objects import Obj, ObjectRef

CORDONED_BY = "clouder.dev/cordoned-by"
MIRROR = "kubernetes.io/config.mirror"
MERGE_PATCH = "application/merge-patch+json"


class DrainError(ClouderError):
    pass


@dataclass
class DrainResult:
    node: str
    evicted: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # DaemonSet and mirror pods stay, as with kubectl drain
    seconds: float = 0.0


def _node_ref(name: str) -> ObjectRef:
    return ObjectRef("v1", "Node", "", name)


def get_node(kube: Kube, name: str) -> Obj | None:
    return kube.get(_node_ref(name))


def _patch_node(kube: Kube, name: str, body: Obj) -> None:
    resource = kube.resource("v1", "Node")
    try:
        kube.dynamic.patch(resource, name=name, body=body, content_type=MERGE_PATCH)
    except Exception as exc:
        raise ClouderError(f"updating node {name} failed: {kube.explain(exc)}") from None


def cordon(kube: Kube, name: str, reason: str) -> bool:
    """Mark the node unschedulable (and as cordoned by Clouder); False if it does not exist."""
    node = get_node(kube, name)
    if node is None:
        return False
    if (node.get("spec") or {}).get("unschedulable"):
        return True  # already cordoned (by us on an earlier run, or by someone else: leave their mark)
    _patch_node(
        kube, name, {"metadata": {"annotations": {CORDONED_BY: reason}}, "spec": {"unschedulable": True}}
    )
    return True


def uncordon(kube: Kube, name: str) -> bool:
    """Make the node schedulable again if Clouder cordoned it; True if it changed anything."""
    node = get_node(kube, name)
    if node is None or not cordoned_by_clouder(node):
        return False
    unmark: Obj = {"metadata": {"annotations": {CORDONED_BY: None}}, "spec": {"unschedulable": None}}
    _patch_node(kube, name, unmark)
    return True


def cordoned_by_clouder(node: Obj) -> bool:
    annotations = (node.get("metadata") or {}).get("annotations") or {}
    return bool((node.get("spec") or {}).get("unschedulable")) and CORDONED_BY in annotations


def _pods_on(kube: Kube, name: str) -> list[Obj]:
    return kube.list("v1", "Pod", None, field_selector=f"spec.nodeName={name}")


def _ignored(pod: Obj) -> bool:
    meta = pod.get("metadata") or {}
    if MIRROR in (meta.get("annotations") or {}):
        return True
    return any(owner.get("kind") == "DaemonSet" for owner in meta.get("ownerReferences") or [])


def _pod_name(pod: Obj) -> str:
    return f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"


def _evict(kube: Kube, pod: Obj) -> str | None:
    """Ask for an eviction; None when the pod is going (or gone), else why it was refused."""
    from kubernetes.client import CoreV1Api, V1DeleteOptions, V1ObjectMeta
    from kubernetes.client.exceptions import ApiException
    from kubernetes.client.models import V1Eviction

    meta = pod["metadata"]
    api: Any = CoreV1Api(kube.api_client)
    body = V1Eviction(
        metadata=V1ObjectMeta(name=meta["name"], namespace=meta["namespace"]),
        delete_options=V1DeleteOptions(),
    )
    try:
        api.create_namespaced_pod_eviction(meta["name"], meta["namespace"], body)
    except ApiException as exc:
        if exc.status == 404:
            return None
        if exc.status == 429:
            return "a PodDisruptionBudget allows no disruption now"
        raise ClouderError(f"evicting {_pod_name(pod)} failed: {exc.status} {exc.reason}") from None
    return None


def drain(kube: Kube, name: str, timeout: float, interval: float = 2.0, reason: str = "drain") -> DrainResult:
    """Cordon, then evict every pod but DaemonSet and mirror pods, and wait until they are gone."""
    started = time.monotonic()
    result = DrainResult(name)
    if not cordon(kube, name, reason):
        return result  # no such node: nothing runs there
    refused: dict[str, str] = {}
    while True:
        pods = _pods_on(kube, name)
        movable = [pod for pod in pods if not _ignored(pod)]
        result.ignored = sorted(_pod_name(pod) for pod in pods if _ignored(pod))
        if not movable:
            break
        if time.monotonic() - started >= timeout:  # decided on a fresh listing, never right after evicting
            left = {_pod_name(pod): refused.get(_pod_name(pod), "still terminating") for pod in movable}
            detail = "; ".join(f"{pod}: {why}" for pod, why in sorted(left.items()))
            raise DrainError(
                f"draining {name} did not finish within {timeout:g}s: {detail}",
                "Check the PodDisruptionBudgets and the pods' termination, then run again: the node stays "
                "cordoned and the run resumes where it stopped.",
            )
        refused = {}
        for pod in movable:
            if (pod.get("metadata") or {}).get("deletionTimestamp"):
                continue
            why = _evict(kube, pod)
            if why is None:
                if _pod_name(pod) not in result.evicted:
                    result.evicted.append(_pod_name(pod))
            else:
                refused[_pod_name(pod)] = why
        time.sleep(interval)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def delete_node(kube: Kube, name: str) -> bool:
    return bool(kube.delete(_node_ref(name)))


def node_ready(node: Obj) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def wait_node_ready(kube: Kube, name: str, timeout: float, interval: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        node = get_node(kube, name)
        if node is not None and node_ready(node):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)

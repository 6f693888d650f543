"""Is an object ready? One pure rule per kind, reading the object's status like the controllers write it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str = ""
    failed: bool = False  # will not become ready by waiting (a failed Job)


READY = Readiness(True)


def _generation_seen(obj: Obj) -> Readiness | None:
    generation = obj.get("metadata", {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return Readiness(False, f"controller has not observed generation {generation} yet")
    return None


def _deployment(obj: Obj) -> Readiness:
    status = obj.get("status") or {}
    want = (obj.get("spec") or {}).get("replicas", 1)
    stale = _generation_seen(obj)
    if stale:
        return stale
    updated, available = status.get("updatedReplicas", 0), status.get("availableReplicas", 0)
    if updated < want or available < want:
        return Readiness(False, f"{available}/{want} replicas available, {updated}/{want} updated")
    return READY


def _daemonset(obj: Obj) -> Readiness:
    status = obj.get("status") or {}
    stale = _generation_seen(obj)
    if stale:
        return stale
    want = status.get("desiredNumberScheduled", 0)
    updated, available = status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0)
    if updated < want or available < want:
        return Readiness(False, f"{available}/{want} pods available, {updated}/{want} updated")
    return READY


def _statefulset(obj: Obj) -> Readiness:
    status = obj.get("status") or {}
    want = (obj.get("spec") or {}).get("replicas", 1)
    stale = _generation_seen(obj)
    if stale:
        return stale
    ready, updated = status.get("readyReplicas", 0), status.get("updatedReplicas", 0)
    if ready < want or updated < want:
        return Readiness(False, f"{ready}/{want} replicas ready, {updated}/{want} updated")
    if status.get("currentRevision") != status.get("updateRevision"):
        return Readiness(False, "rolling update still in progress")
    return READY


def _condition(obj: Obj, kind: str) -> Obj | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            found: Obj = condition
            return found
    return None


def _job(obj: Obj) -> Readiness:
    failed = _condition(obj, "Failed")
    if failed and failed.get("status") == "True":
        return Readiness(
            False, f"job failed: {failed.get('reason', '')} {failed.get('message', '')}".strip(), True
        )
    complete = _condition(obj, "Complete")
    if complete and complete.get("status") == "True":
        return READY
    return Readiness(False, "job has not completed")


def _crd(obj: Obj) -> Readiness:
    established = _condition(obj, "Established")
    if established and established.get("status") == "True":
        return READY
    return Readiness(False, "CustomResourceDefinition is not Established")


def _service(obj: Obj) -> Readiness:
    if (obj.get("spec") or {}).get("type") != "LoadBalancer":
        return READY
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if not ingress:
        return Readiness(False, "load balancer has no address yet")
    return READY


def _claim(obj: Obj) -> Readiness:
    phase = (obj.get("status") or {}).get("phase", "Pending")
    return READY if phase == "Bound" else Readiness(False, f"claim is {phase}")


RULES: dict[str, Callable[[Obj], Readiness]] = {
    "Deployment": _deployment,
    "DaemonSet": _daemonset,
    "StatefulSet": _statefulset,
    "Job": _job,
    "CustomResourceDefinition": _crd,
    "Service": _service,
    "PersistentVolumeClaim": _claim,
}


def needs_wait(obj: Obj) -> bool:
    kind = obj.get("kind", "")
    if kind == "Service":
        return bool((obj.get("spec") or {}).get("type") == "LoadBalancer")
    return kind in RULES and kind != "PersistentVolumeClaim"


def assess(obj: Obj) -> Readiness:
    rule = RULES.get(obj.get("kind", ""))
    return rule(obj) if rule else READY

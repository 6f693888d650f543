"""Before ``terraform destroy``: delete what controllers created in the cloud, outside Terraform's state.

A LoadBalancer Service (cloud controller / AWS Load Balancer Controller), an Ingress served by a cloud
load balancer (AWS ALB) and a dynamically provisioned volume (EBS / Azure Disk CSI) are cloud resources
Terraform does not know; left behind they keep network interfaces and security groups in the VPC (or
resources in the resource group), so deleting the network fails or they are orphaned and billed.

``release_cloud_resources`` deletes them through the Kubernetes API and waits until they are gone — a
Service disappears only after its controller removed the load balancer (finalizer), a PersistentVolume
only after the CSI driver deleted the disk. Volumes follow the spec's ``storage.reclaimPolicy``: with
``Delete`` the dynamically provisioned claims are deleted (so are their disks); with ``Retain`` they are
left alone and reported, because their disks are meant to outlive the cluster.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from clouder.errors import ClouderError
from clouder.events import Event, EventLog, Outcome
from clouder.kube.client import Kube
from clouder.kube.objects import Obj, ObjectRef
from clouder.spec.model import ClusterSpec

STAGE = "teardown"
PROVISIONED_BY = ("pv.kubernetes.io/provisioned-by", "volume.kubernetes.io/provisioned-by")
CLOUD_INGRESS_CONTROLLERS = frozenset({"ingress.k8s.aws/alb", "azure/application-gateway"})
CLOUD_INGRESS_CLASSES = frozenset({"alb", "azure-application-gateway"})  # legacy annotation values


@dataclass
class TeardownReport:
    deleted: list[str] = field(default_factory=list)
    retained: list[str] = field(default_factory=list)  # volumes kept by the retention policy
    remaining: list[str] = field(default_factory=list)  # asked to go, still there at the deadline
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.remaining

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _ref(api_version: str, kind: str, obj: Obj) -> ObjectRef:
    meta = obj["metadata"]
    return ObjectRef(api_version, kind, meta.get("namespace") or "", meta["name"])


def load_balancer_services(kube: Kube) -> list[ObjectRef]:
    services = kube.list("v1", "Service")
    return [_ref("v1", "Service", s) for s in services if (s.get("spec") or {}).get("type") == "LoadBalancer"]


def cloud_ingresses(kube: Kube) -> list[ObjectRef]:
    """Ingresses whose class is served by a cloud load-balancer controller (none if Ingress is not served)."""
    try:
        ingresses = kube.list("networking.k8s.io/v1", "Ingress")
    except ClouderError:
        return []
    try:
        classes = kube.list("networking.k8s.io/v1", "IngressClass")
    except ClouderError:
        classes = []
    cloud = set(CLOUD_INGRESS_CLASSES) | {
        c["metadata"]["name"]
        for c in classes
        if (c.get("spec") or {}).get("controller") in CLOUD_INGRESS_CONTROLLERS
    }
    found = []
    for ingress in ingresses:
        annotations = (ingress.get("metadata") or {}).get("annotations") or {}
        name = (ingress.get("spec") or {}).get("ingressClassName") or annotations.get(
            "kubernetes.io/ingress.class"
        )
        if name in cloud:
            found.append(_ref("networking.k8s.io/v1", "Ingress", ingress))
    return found


def provisioned_volumes(kube: Kube) -> list[Obj]:
    """PersistentVolumes a CSI provisioner created (statically created ones are the user's business)."""
    volumes = kube.list("v1", "PersistentVolume")
    return [
        v
        for v in volumes
        if any(k in ((v.get("metadata") or {}).get("annotations") or {}) for k in PROVISIONED_BY)
    ]


def release_cloud_resources(
    kube: Kube,
    spec: ClusterSpec,
    timeout: float = 900.0,
    interval: float = 5.0,
    events: EventLog | None = None,
) -> TeardownReport:
    """Delete LoadBalancer Services, cloud-LB Ingresses and (per the retention policy) provisioned volumes;
    wait until they are gone. ``report.ok`` is False if any is still there at the deadline."""
    log = events or EventLog()
    started = time.monotonic()
    report = TeardownReport()
    waiting: list[ObjectRef] = []

    def delete(ref: ObjectRef) -> None:
        kube.delete(ref)
        report.deleted.append(str(ref))
        waiting.append(ref)
        log.emit(Event(STAGE, "delete", "info", None, None, str(ref)))

    for ref in load_balancer_services(kube) + cloud_ingresses(kube):
        delete(ref)
    for volume in provisioned_volumes(kube):
        pv = _ref("v1", "PersistentVolume", volume)
        policy = (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy", "Delete")
        if spec.storage.reclaim_policy == "Retain" or policy == "Retain":
            report.retained.append(str(pv))
            continue
        claim = (volume.get("spec") or {}).get("claimRef") or {}
        if claim.get("name"):
            delete(ObjectRef("v1", "PersistentVolumeClaim", claim.get("namespace") or "", claim["name"]))
        elif (volume.get("status") or {}).get("phase") in ("Released", "Failed", "Available"):
            delete(pv)
        waiting.append(pv)  # the PV goes once the CSI driver deleted its disk

    while waiting:
        waiting = [ref for ref in waiting if kube.get(ref) is not None]
        if not waiting or time.monotonic() - started >= timeout:
            break
        time.sleep(interval)
    report.remaining = [str(ref) for ref in waiting]
    report.seconds = round(time.monotonic() - started, 3)
    outcome: Outcome = "ok" if report.ok else "failed"
    detail = f"{len(report.deleted)} deleted, {len(report.retained)} retained"
    if report.remaining:
        detail += f"; still there after {timeout:g}s: {', '.join(report.remaining)}"
    log.emit(Event(STAGE, "release-cloud-resources", outcome, None, report.seconds, detail))
    return report

"""kube-controller-manager's workload controllers and garbage collector, as the emulator runs them when
``KubeEmulator.controller_manager`` is on (off by default: see the emulator's docstring and docs/testing.md).

What the real kcm v1.36 does that the conformance corpus shows:
- the Deployment controller makes a ReplicaSet ``<deployment>-<pod-template-hash>`` owned by the Deployment
  (``controller: true``, ``blockOwnerDeletion: true``), scales it, says so in ``ScalingReplicaSet`` Events and
  writes the Deployment's status from its ReplicaSets (cases 031, 032, 040, 045);
- the ReplicaSet controller makes pods ``<replicaset>-<5 random characters>`` (``SuccessfulCreate`` Events)
  and writes the ReplicaSet's status (cases 022, 040);
- the Job controller makes a pod with the ``batch.kubernetes.io/job-tracking`` finalizer (case 028);
- the DaemonSet controller makes a ControllerRevision ``<daemonset>-<hash>`` and one pod per Ready node whose
  taints it tolerates, pinned there by node affinity (cases 041, 042);
- the garbage collector deletes what lost all its owners (Background), deletes the dependents before their
  owner (Foreground) or takes the owner's references off them (Orphan) (cases 031, 032).
There is no scheduler and, unless ``KubeEmulator.kubelet`` is on, no kubelet: pods stay Pending (README of
the corpus). The emulator's kubelet starts a controller's pods as the owning workload's ``Rule`` says.
"""

from __future__ import annotations

import copy
import math
import random
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from support.kubeapi_hash import template_defaults, template_hash

if TYPE_CHECKING:
    from support.kubeapi import KubeEmulator, Rule, Stored

Obj = dict[str, Any]
Key = tuple[str, str, str, str]
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # generated-name suffixes (apimachinery util/rand)
JOB_TRACKING = "batch.kubernetes.io/job-tracking"
# What the DaemonSet controller adds to its pods (case 042; kubernetes pkg/controller/daemon/util,
# AddOrUpdateDaemonPodTolerations).
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
# What the DefaultTolerationSeconds admission plugin adds to every pod (case 040's pod).
DEFAULT_TOLERATIONS = [
    {
        "key": f"node.kubernetes.io/{key}",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    }
    for key in ("not-ready", "unreachable")
]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(emu: KubeEmulator) -> None:
    """One pass of every controller (under the emulator's lock)."""
    for stored in _all(emu, "Deployment"):
        _deployment(emu, stored)
    for stored in _all(emu, "ReplicaSet"):
        _replicaset(emu, stored)
    for stored in _all(emu, "Job"):
        _job(emu, stored)
    for stored in _all(emu, "DaemonSet"):
        _daemonset(emu, stored)
    _release_tracked_pods(emu)
    _collect_orphans(emu)
    if emu.kubelet:
        _kubelet(emu)


# -- helpers ------------------------------------------------------------------------------------------------


def _all(emu: KubeEmulator, kind: str) -> list[Stored]:
    return [s for s in list(emu.objects.values()) if s.rtype.kind == kind]


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj["metadata"]
    return meta


def _acting(emu: KubeEmulator, stored: Stored) -> bool:
    """A controller acts on a live object in a live namespace (creates in a terminating one get 403)."""
    meta = _meta(stored.obj)
    space = emu.objects.get(("", "namespaces", "", meta.get("namespace", "")))
    return (
        not meta.get("deletionTimestamp")
        and space is not None
        and not _meta(space.obj).get("deletionTimestamp")
    )


def _owned(emu: KubeEmulator, owner: Obj, kind: str | None = None) -> list[Stored]:
    uid = _meta(owner)["uid"]
    return [
        s for s in list(emu.objects.values())
        if (kind is None or s.rtype.kind == kind)
        and any(r.get("uid") == uid for r in _meta(s.obj).get("ownerReferences") or [])
    ]  # fmt: skip


def _live(stored: list[Stored]) -> list[Stored]:
    return [s for s in stored if not _meta(s.obj).get("deletionTimestamp")]


def controller_ref(owner: Obj) -> Obj:
    meta = _meta(owner)
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}  # fmt: skip


def _write(emu: KubeEmulator, obj: Obj) -> Obj:
    return emu._store(emu._type_of(obj), obj, keep_status=False, record=None)


def _set_status(emu: KubeEmulator, stored: Stored, status: Obj) -> None:
    if stored.obj.get("status") != status:
        _write(emu, {**copy.deepcopy(stored.obj), "status": status})


def _free_name(emu: KubeEmulator, prefix: str, namespace: str) -> str:
    while True:
        name = prefix + "".join(random.choices(ALPHANUMS, k=5))
        if emu.get("Pod", name, namespace) is None:
            return name


def event(
    emu: KubeEmulator, obj: Obj, reason: str, message: str, component: str, kind: str = "Normal"
) -> None:
    """A core/v1 Event as kcm's event recorder writes it (case 045): named ``<object>.<UnixNano in hex>``."""
    meta, now = _meta(obj), _now()
    regarding = {"kind": obj["kind"], "namespace": meta.get("namespace"), "name": meta["name"],
                 "uid": meta["uid"], "apiVersion": obj["apiVersion"],
                 "resourceVersion": meta["resourceVersion"]}  # fmt: skip
    namespace = meta.get("namespace") or "default"
    _write(emu, {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{time.time_ns():x}", "namespace": namespace},
        "involvedObject": regarding, "reason": reason, "message": message, "source": {"component": component},
        "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": kind, "eventTime": None,
        "reportingComponent": component, "reportingInstance": "",
    })  # fmt: skip


def _pod(emu: KubeEmulator, owner: Obj, prefix: str, template: Obj, labels: dict[str, str]) -> Obj:
    """A pod from a template, as a controller creates it and admission completes it (cases 040, 042)."""
    namespace = _meta(owner)["namespace"]
    spec = copy.deepcopy(template_defaults(template).get("spec") or {})
    spec["tolerations"] = (spec.get("tolerations") or []) + [
        t
        for t in DEFAULT_TOLERATIONS
        if not any(o.get("key") == t["key"] for o in spec.get("tolerations") or [])
    ]
    spec.update(priority=0, enableServiceLinks=True, preemptionPolicy="PreemptLowerPriority")
    meta = {"name": _free_name(emu, prefix, namespace), "generateName": prefix, "namespace": namespace,
            "labels": labels, "ownerReferences": [controller_ref(owner)]}  # fmt: skip
    annotations = (template.get("metadata") or {}).get("annotations")
    if annotations:
        meta["annotations"] = dict(annotations)
    pod = _write(emu, {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
    return pod


def _ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _condition(old: Obj, kind: str, status: str, reason: str, message: str) -> Obj:
    """A Deployment condition; its times move only when it changes (so that a steady status is no write)."""
    before: Obj = next((c for c in old.get("conditions") or [] if c.get("type") == kind), {})
    same = (before.get("status"), before.get("reason"), before.get("message")) == (status, reason, message)
    now = _now()
    return {"type": kind, "status": status,
            "lastUpdateTime": before["lastUpdateTime"] if same and "lastUpdateTime" in before else now,
            "lastTransitionTime": before["lastTransitionTime"] if before.get("status") == status else now,
            "reason": reason, "message": message}  # fmt: skip


def _percent(value: Any, total: int, up: bool) -> int:
    """An IntOrString of a rolling update ("25%" of 2 is 1 up, 0 down)."""
    if isinstance(value, int):
        return value
    share = total * int(str(value).rstrip("%")) / 100
    return math.ceil(share) if up else math.floor(share)


# -- Deployment and ReplicaSet -------------------------------------------------------------------------------


def _surge(deployment: Obj, replicas: int) -> tuple[int, int]:
    rolling = ((deployment.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    return (
        _percent(rolling.get("maxSurge", "25%"), replicas, up=True),
        _percent(rolling.get("maxUnavailable", "25%"), replicas, up=False),
    )


def _deployment(emu: KubeEmulator, stored: Stored) -> None:
    """A new ReplicaSet for a new template at the wanted size; the old ones scaled to 0 (a rollout without
    the rolling pace); ``ScalingReplicaSet`` Events (cases 040, 045)."""
    if not _acting(emu, stored):
        return
    deployment, spec = stored.obj, stored.obj.get("spec") or {}
    meta = _meta(deployment)
    template = spec.get("template") or {}
    digest = template_hash(template)
    name, replicas = f"{meta['name']}-{digest}", spec.get("replicas", 1)
    owned = _owned(emu, deployment, "ReplicaSet")
    current = next((s for s in owned if _meta(s.obj)["name"] == name), None)
    surge, _ = _surge(deployment, replicas)
    if current is None:
        revision = 1 + max((int((_meta(s.obj).get("annotations") or {}).get(
            "deployment.kubernetes.io/revision", 0)) for s in owned), default=0)  # fmt: skip
        labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": digest}
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
        rs_template = copy.deepcopy(template)
        rs_template.setdefault("metadata", {})["labels"] = labels
        _write(emu, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": meta["namespace"], "labels": labels,
                         "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                         "deployment.kubernetes.io/max-replicas": str(replicas + surge),
                                         "deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [controller_ref(deployment)]},
            "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
        })  # fmt: skip
        annotations = {**(meta.get("annotations") or {}), "deployment.kubernetes.io/revision": str(revision)}
        updated = _write(emu, {**copy.deepcopy(deployment), "metadata": {**meta, "annotations": annotations}})
        event(emu, updated, "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {replicas}",
              "deployment-controller")  # fmt: skip
    else:
        _scale(emu, current, deployment, replicas, surge)
    for old in _live(owned):
        if _meta(old.obj)["name"] != name:
            _scale(emu, old, deployment, 0, surge)


def _scale(emu: KubeEmulator, stored: Stored, deployment: Obj, replicas: int, surge: int) -> None:
    rs = copy.deepcopy(stored.obj)
    before = (rs.get("spec") or {}).get("replicas", 1)
    if before == replicas:
        return
    rs["spec"]["replicas"] = replicas
    annotations = _meta(rs).setdefault("annotations", {})
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    annotations["deployment.kubernetes.io/desired-replicas"] = str(wanted)
    if replicas:
        annotations["deployment.kubernetes.io/max-replicas"] = str(replicas + surge)
    _write(emu, rs)
    way = "up" if replicas > before else "down"
    message = f"Scaled {way} replica set {_meta(rs)['name']} from {before} to {replicas}"
    event(emu, deployment, "ScalingReplicaSet", message, "deployment-controller")


def _replicaset(emu: KubeEmulator, stored: Stored) -> None:
    """Pods up to ``spec.replicas`` (``SuccessfulCreate``), extras deleted (``SuccessfulDelete``); status
    as the ReplicaSet controller writes it (case 040)."""
    rs = stored.obj
    pods = _owned(emu, rs, "Pod")
    live = _live(pods)
    want = (rs.get("spec") or {}).get("replicas", 1)
    if _acting(emu, stored):
        template = (rs.get("spec") or {}).get("template") or {}
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        for _ in range(want - len(live)):
            pod = _pod(emu, rs, f"{_meta(rs)['name']}-", template, labels)
            event(emu, rs, "SuccessfulCreate", f"Created pod: {_meta(pod)['name']}", "replicaset-controller")
        for extra in sorted(live, key=lambda s: _ready(s.obj))[: max(0, len(live) - want)]:
            emu._delete(emu._key(extra.rtype, _meta(rs)["namespace"], _meta(extra.obj)["name"]), record=None)
            event(
                emu,
                rs,
                "SuccessfulDelete",
                f"Deleted pod: {_meta(extra.obj)['name']}",
                "replicaset-controller",
            )
        pods = _owned(emu, rs, "Pod")
        live = _live(pods)
    ready = sum(1 for s in live if _ready(s.obj))
    status: Obj = {"replicas": len(live), "fullyLabeledReplicas": len(live)}
    if ready:
        status.update(readyReplicas=ready, availableReplicas=ready)
    status.update(
        terminatingReplicas=len(pods) - len(live), observedGeneration=_meta(rs).get("generation", 1)
    )
    _set_status(emu, stored, status)


def deployment_status(emu: KubeEmulator, stored: Stored) -> Obj:
    """The Deployment controller's status, from its ReplicaSets (case 040)."""
    deployment = stored.obj
    meta, spec = _meta(deployment), deployment.get("spec") or {}
    want = spec.get("replicas", 1)
    owned = _owned(emu, deployment, "ReplicaSet")
    name = f"{meta['name']}-{template_hash(spec.get('template') or {})}"
    counts = [(_meta(s.obj)["name"], s.obj.get("status") or {}) for s in owned]
    total = sum(c.get("replicas", 0) for _, c in counts)
    updated = sum(c.get("replicas", 0) for n, c in counts if n == name)
    ready = sum(c.get("readyReplicas", 0) for _, c in counts)
    available = sum(c.get("availableReplicas", 0) for _, c in counts)
    old = deployment.get("status") or {}
    status: Obj = {"observedGeneration": meta.get("generation", 1), "replicas": total}
    status["updatedReplicas"] = updated
    status.update({k: v for k, v in (("readyReplicas", ready), ("availableReplicas", available),
                                     ("unavailableReplicas", max(0, want - available))) if v})  # fmt: skip
    status["terminatingReplicas"] = sum(c.get("terminatingReplicas", 0) for _, c in counts)
    _, unavailable = _surge(deployment, want)
    enough = available >= want - unavailable
    done = updated == want == available == total
    available_as = (
        ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        if enough
        else ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    )
    progress = (
        ("NewReplicaSetAvailable", f'ReplicaSet "{name}" has successfully progressed.')
        if done
        else ("ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.')
    )
    status["conditions"] = [
        _condition(old, "Available", *available_as),
        _condition(old, "Progressing", "True", *progress),
    ]
    return status


# -- Job ----------------------------------------------------------------------------------------------------


def _job(emu: KubeEmulator, stored: Stored) -> None:
    """One pod per unfinished Job, with the job-tracking finalizer (case 028)."""
    job = stored.obj
    finished = any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                   for c in (job.get("status") or {}).get("conditions") or [])  # fmt: skip
    if finished or not _acting(emu, stored) or _owned(emu, job, "Pod"):
        return
    template = (job.get("spec") or {}).get("template") or {}
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    pod = _pod(emu, job, f"{_meta(job)['name']}-", template, labels)
    pod["metadata"]["finalizers"] = [JOB_TRACKING]
    _write(emu, pod)
    event(emu, job, "SuccessfulCreate", f"Created pod: {_meta(pod)['name']}", "job-controller")


def job_status(emu: KubeEmulator, stored: Stored, rule: Rule) -> Obj:
    """The Job controller's status, from its pod (case 028)."""
    phases = [(s.obj.get("status") or {}).get("phase") for s in _owned(emu, stored.obj, "Pod")]
    if "Succeeded" in phases:
        if stored.finished_at is None:
            stored.finished_at = time.monotonic()
        return {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    if "Failed" in phases:
        failed = {"type": "Failed", "status": "True", "reason": rule.reason, "message": rule.message}
        return {"failed": 1, "conditions": [failed]}
    stored.finished_at = None
    return {"active": sum(1 for p in phases if p in ("Pending", "Running"))}


def _release_tracked_pods(emu: KubeEmulator) -> None:
    """The Job controller takes its finalizer off a pod it has counted: a finished or deleted one."""
    for stored in _all(emu, "Pod"):
        pod = stored.obj
        finalizers = _meta(pod).get("finalizers") or []
        done = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        if JOB_TRACKING in finalizers and (_meta(pod).get("deletionTimestamp") or done):
            released = copy.deepcopy(pod)
            released["metadata"]["finalizers"] = [f for f in finalizers if f != JOB_TRACKING]
            _write(emu, released)


# -- DaemonSet ----------------------------------------------------------------------------------------------


def _eligible(node: Obj, tolerations: list[Obj]) -> bool:
    """A Ready node whose NoSchedule/NoExecute taints the daemon pod tolerates (case 042)."""
    conditions = (node.get("status") or {}).get("conditions") or []
    if _meta(node).get("deletionTimestamp") or not any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
    ):
        return False
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(
            t.get("key") in (None, "", taint.get("key"))
            and t.get("effect") in (None, "", taint.get("effect"))
            and (t.get("operator") == "Exists" or t.get("value") == taint.get("value"))
            for t in tolerations
        ):
            return False
    return True


def _target(pod: Obj) -> str:
    """The node a daemon pod is for: bound, or pinned by node affinity (no scheduler binds it here)."""
    if (pod.get("spec") or {}).get("nodeName"):
        return str(pod["spec"]["nodeName"])
    affinity = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms") or []
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return str(field["values"][0])
    return ""


def _daemon_nodes(emu: KubeEmulator, daemonset: Obj) -> list[str]:
    spec = ((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}
    tolerations = (spec.get("tolerations") or []) + DAEMON_TOLERATIONS
    return sorted(_meta(s.obj)["name"] for s in _all(emu, "Node") if _eligible(s.obj, tolerations))


def _daemonset(emu: KubeEmulator, stored: Stored) -> None:
    """A ControllerRevision of the template, a pod for each eligible node, none elsewhere (cases 041, 042)."""
    if not _acting(emu, stored):
        return
    ds = stored.obj
    meta, spec = _meta(ds), ds.get("spec") or {}
    template = spec.get("template") or {}
    digest = template_hash(template)
    labels = {**((template.get("metadata") or {}).get("labels") or {}), "controller-revision-hash": digest}
    revisions = _owned(emu, ds, "ControllerRevision")
    if not any(_meta(s.obj)["name"] == f"{meta['name']}-{digest}" for s in revisions):
        data = {"spec": {"template": {**template_defaults(template), "$patch": "replace"}}}
        _write(emu, {
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": f"{meta['name']}-{digest}", "namespace": meta["namespace"], "labels": labels,
                         "ownerReferences": [controller_ref(ds)]},
            "data": data, "revision": 1 + max((s.obj.get("revision", 0) for s in revisions), default=0),
        })  # fmt: skip
    nodes = _daemon_nodes(emu, ds)
    pods = _live(_owned(emu, ds, "Pod"))
    placed = {_target(s.obj) for s in pods}
    generation = str(meta.get("generation", 1))
    for node in nodes:
        if node in placed:
            continue
        pod_template = copy.deepcopy(template)
        pod_spec = pod_template.setdefault("spec", {})
        pinned = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
        pod_spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [pinned]}
            }
        }
        pod_spec["tolerations"] = (pod_spec.get("tolerations") or []) + DAEMON_TOLERATIONS
        pod = _pod(
            emu, ds, f"{meta['name']}-", pod_template, {**labels, "pod-template-generation": generation}
        )
        event(emu, ds, "SuccessfulCreate", f"Created pod: {_meta(pod)['name']}", "daemonset-controller")
    for stray in pods:
        if _target(stray.obj) not in nodes:
            emu._delete(emu._key(stray.rtype, meta["namespace"], _meta(stray.obj)["name"]), record=None)
            event(
                emu,
                ds,
                "SuccessfulDelete",
                f"Deleted pod: {_meta(stray.obj)['name']}",
                "daemonset-controller",
            )


def daemonset_status(emu: KubeEmulator, stored: Stored) -> Obj:
    """The DaemonSet controller's status (cases 041, 042): zero counts shown, the others only when set."""
    ds = stored.obj
    nodes = _daemon_nodes(emu, ds)
    digest = template_hash((ds.get("spec") or {}).get("template") or {})
    pods = [s.obj for s in _live(_owned(emu, ds, "Pod")) if _target(s.obj) in nodes]
    ready = sum(1 for p in pods if _ready(p))
    updated = sum(1 for p in pods if (_meta(p).get("labels") or {}).get("controller-revision-hash") == digest)
    status: Obj = {"currentNumberScheduled": len(pods), "numberMisscheduled": 0,
                   "desiredNumberScheduled": len(nodes), "numberReady": ready,
                   "observedGeneration": _meta(ds).get("generation", 1)}  # fmt: skip
    status.update({k: v for k, v in (("updatedNumberScheduled", updated), ("numberAvailable", ready),
                                     ("numberUnavailable", len(nodes) - ready)) if v})  # fmt: skip
    return status


# -- garbage collector and kubelet --------------------------------------------------------------------------


def _collect_orphans(emu: KubeEmulator) -> None:
    """Background propagation (case 032): an object none of whose owners exists any more is deleted."""
    uids = {_meta(s.obj).get("uid") for s in emu.objects.values()}
    for key, stored in list(emu.objects.items()):
        refs = _meta(stored.obj).get("ownerReferences") or []
        live = key in emu.objects and not _meta(stored.obj).get("deletionTimestamp")
        if refs and live and all(r.get("uid") not in uids for r in refs):
            emu._delete(key, record=None)


def release_dependents(emu: KubeEmulator, stored: Stored) -> bool:
    """Whether an owner deleted with Foreground or Orphan propagation may go now (cases 031, 032): its
    dependents deleted first (Foreground), or their references to it removed (Orphan)."""
    owner = stored.obj
    finalizers = _meta(owner).get("finalizers") or []
    dependents = _owned(emu, owner)
    if "orphan" in finalizers:
        uid = _meta(owner)["uid"]
        for dependent in dependents:
            freed = copy.deepcopy(dependent.obj)
            refs = [r for r in _meta(freed).get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                freed["metadata"]["ownerReferences"] = refs
            else:
                freed["metadata"].pop("ownerReferences", None)
            _write(emu, freed)
        return True
    if "foregroundDeletion" in finalizers:
        for dependent in _live(dependents):
            meta = _meta(dependent.obj)
            key = emu._key(dependent.rtype, meta.get("namespace", ""), meta["name"])
            emu._delete(key, record=None, policy="Foreground")
        return not any(k for k in dependents if emu._key(k.rtype, _meta(k.obj).get("namespace", ""),
                                                         _meta(k.obj)["name"]) in emu.objects)  # fmt: skip
    return True


def _top_owner(emu: KubeEmulator, obj: Obj) -> Stored | None:
    """The workload a pod belongs to: its controller, or that one's (ReplicaSet -> Deployment)."""
    found = None
    for _ in range(2):
        ref = next((r for r in _meta(obj).get("ownerReferences") or [] if r.get("controller")), None)
        owner = ref and next(
            (s for s in emu.objects.values() if _meta(s.obj).get("uid") == ref.get("uid")), None
        )
        if owner is None:
            return found
        found, obj = owner, owner.obj
    return found


def _kubelet(emu: KubeEmulator) -> None:
    """The emulator's kubelet: a controller's pod runs (or, for a Job, succeeds or fails) when the Rule of
    the workload it belongs to says the workload is ready (or fails), after the rule's delay."""
    from support.kubeapi import Rule

    now = time.monotonic()
    for stored in _all(emu, "Pod"):
        pod = stored.obj
        if _meta(pod).get("deletionTimestamp") or (pod.get("status") or {}).get("phase") != "Pending":
            continue
        owner = _top_owner(emu, pod)
        if owner is None:
            continue
        meta = _meta(owner.obj)
        rule = emu.rules.get(
            (owner.rtype.kind, meta.get("namespace", ""), meta["name"]), Rule(delay=emu.default_delay)
        )
        if now < owner.changed_at + rule.delay or rule.outcome == "never":
            continue
        job = owner.rtype.kind == "Job"
        if rule.outcome == "fail":
            status: Obj = {"phase": "Failed"} if job else {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}]}  # fmt: skip
        elif job:
            status = {"phase": "Succeeded"}
        else:
            status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        _set_status(emu, stored, {**(pod.get("status") or {}), **status})

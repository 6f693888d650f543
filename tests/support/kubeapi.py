"""A small Kubernetes-shaped HTTP API on 127.0.0.1, driven by the official client over HTTP.

Written here rather than extending kmock 0.8: kmock's emulator cannot create Namespaces (500 from its path
parser), serves no ``/version`` and no discovery the dynamic client can use, and has neither server-side
apply nor simulated controllers, so an extension would have replaced most of it.

What it does:
- discovery (``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/G/V``), CRDs add their resources;
- CRUD for namespaced and cluster-scoped objects (Namespaces too), label and simple field selectors;
- server-side apply (``PATCH application/apply-patch+yaml``) as a merge that removes what the same field
  manager applied before and no longer applies, recording the field manager; JSON merge patch; no-op
  writes keep their resourceVersion, as a real API server does;
- the ``status`` subresource (main-resource writes keep status), ``generation`` bumps on spec changes;
- optimistic concurrency: a PUT carrying a stale ``resourceVersion`` is refused with 409 Conflict;
- watch (``?watch=true``, chunked JSON lines until ``timeoutSeconds``);
- the Eviction subresource (``POST pods/NAME/eviction``), refused with 429 while a PodDisruptionBudget
  selecting the pod allows no disruption; every client write is also journaled with its wall-clock time
  (``journal``) so tests can order API calls against what happened on the hosts;
- simulated controllers on a per-object schedule: workloads roll out, Jobs complete, CRDs become
  Established, LoadBalancer Services get an address, PVCs bind (WaitForFirstConsumer waits for a Pod) —
  or never become ready, with a Warning Event saying why, so waits, timeouts and failures are testable;
- switched on (``controller_manager``), kube-controller-manager's workload controllers and garbage collector
  (``kubeapi_kcm``): ReplicaSets, pods, ControllerRevisions and Events as v1.36 makes them, workload
  statuses counted from the pods, deletion propagation along owner references.
"""

from __future__ import annotations

import copy
import itertools
import json
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonpatch
import pytest
import yaml

from support import kubeapi_kcm as kcm
from support import kubeapi_rules as rules
from support import kubeapi_schema as schemas
from support.kubeapi_rules import ApiError

Obj = dict[str, Any]
Objs = list[Obj]  # (inside KubeEmulator, ``list`` is a method)


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    status: bool = False

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


BUILTIN = [
    ResourceType("", "v1", "Namespace", "namespaces", False, True),
    ResourceType("", "v1", "Node", "nodes", False, True),
    ResourceType("", "v1", "PersistentVolume", "persistentvolumes", False, True),
    ResourceType("", "v1", "ConfigMap", "configmaps", True),
    ResourceType("", "v1", "Secret", "secrets", True),
    ResourceType("", "v1", "Service", "services", True, True),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", True),
    ResourceType("", "v1", "Pod", "pods", True, True),
    ResourceType("", "v1", "Event", "events", True),
    ResourceType("", "v1", "Endpoints", "endpoints", True),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, True),
    ResourceType("apps", "v1", "Deployment", "deployments", True, True),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", True, True),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", True, True),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", True, True),
    ResourceType("batch", "v1", "Job", "jobs", True, True),
    ResourceType("batch", "v1", "CronJob", "cronjobs", True, True),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", False),
    ResourceType("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False),
    ResourceType(
        "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, True
    ),
    ResourceType(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        False,
    ),
    ResourceType(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        False,
    ),
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, True),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True),
    ResourceType("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", True),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    ResourceType("events.k8s.io", "v1", "Event", "events", True),  # a view of the core Events (case 045)
]

WORKLOADS = {"Deployment", "DaemonSet", "StatefulSet", "Job"}
# Kinds whose objects carry metadata.generation (case 040); ConfigMaps, Services, Namespaces … have none.
GENERATION = {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob", "Pod",
              "CustomResourceDefinition", "PodDisruptionBudget", "MutatingWebhookConfiguration",
              "ValidatingWebhookConfiguration", "NetworkPolicy", "IngressClass"}  # fmt: skip
BUILTIN_GROUPS = {t.group for t in BUILTIN}
# A deletion answers with the object for these kinds, with a Status for the others (case 033).
DELETE_RETURNS_OBJECT = {"Pod", "Service", "ServiceAccount", "StorageClass", "Namespace", "Node",
                         "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition"}  # fmt: skip
PROTECTED_NAMESPACES = {"default", "kube-system", "kube-public"}
PROPAGATION = ("Foreground", "Background", "Orphan")
SCHEDULED = WORKLOADS | {"CustomResourceDefinition", "Service", "PersistentVolumeClaim"}


@dataclass
class Rule:
    """How the simulated controllers treat one object: ready after ``delay`` s, or never (or fail)."""

    outcome: str = "ready"  # ready | never | fail
    delay: float = 0.0
    reason: str = "BackOff"
    message: str = "Back-off restarting failed container"


@dataclass
class Stored:
    rtype: ResourceType
    obj: Obj
    changed_at: float = field(default_factory=time.monotonic)
    applied: dict[str, Obj] = field(default_factory=dict)
    finished_at: float | None = None  # a Job's completion, for the TTL-after-finished controller
    remove_at: float | None = None  # a deferred deletion's end: garbage collector, kubelet


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386): dicts merge, ``None`` deletes, everything else replaces."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _forget(live: Any, previous: Any, current: Any) -> Any:
    """Drop from ``live`` the fields ``previous`` applied that ``current`` no longer applies."""
    if not isinstance(live, dict) or not isinstance(previous, dict):
        return live
    out = dict(live)
    current = current if isinstance(current, dict) else {}
    for key, value in previous.items():
        if key not in current:
            out.pop(key, None)
        elif key in out:
            out[key] = _forget(out[key], value, current[key])
    return out


def _selects(selector: str, labels: dict[str, str]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key) != value.lstrip("="):
                return False
        elif labels.get(term) is None:
            return False
    return True


def _label_selects(selector: Obj, labels: dict[str, str]) -> bool:
    """A LabelSelector object (matchLabels, matchExpressions) against labels."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for term in selector.get("matchExpressions") or []:
        key, op, values = term.get("key"), term.get("operator"), term.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if (op == "Exists") != (key in labels) and op in ("Exists", "DoesNotExist"):
            return False
    return True


def _field_selects(selector: str, obj: Obj) -> bool:
    for term in filter(None, selector.split(",")):
        path, value = term.split("=", 1)
        node: Any = obj
        for part in path.lstrip("=").split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if str(node) != value.lstrip("="):
            return False
    return True


class KubeEmulator:
    """The object store, the simulated controllers and the hooks tests use to steer them."""

    def __init__(self, git_version: str = "v1.33.5") -> None:
        self.git_version = git_version
        self.types: dict[tuple[str, str], ResourceType] = {(t.group, t.plural): t for t in BUILTIN}
        self.objects: dict[tuple[str, str, str, str], Stored] = {}
        self.rules: dict[tuple[str, str, str], Rule] = {}
        self.default_delay = 0.05
        self.requests: list[tuple[str, str, str]] = []
        self.writes: list[tuple[str, str, str, str]] = []  # (verb, kind, namespace, name) that changed state
        self.journal: list[tuple[float, str, str, str, str]] = []  # the same, with time.time() first
        self.ready_hooks: list[tuple[Callable[[Obj], bool], Callable[[KubeEmulator], None]]] = []
        self.reject: dict[tuple[str, str], tuple[int, str]] = {}
        self.applies: list[tuple[str, str, str]] = []  # every apply request (no-op or not), not dry runs
        self.namespace_termination = 0.0  # s a deleted Namespace stays Terminating (a real one: ~5 s)
        self.cloud_controller = True  # a cloud's controller gives LoadBalancer Services an address
        # kube-controller-manager's workload controllers and garbage collector (kubeapi_kcm): ReplicaSets,
        # pods, ControllerRevisions, Events, statuses from pods. Off by default: then workload statuses
        # follow the rules directly and no pods are made (what most tests of Clouder's engine steer by).
        self.controller_manager = False
        self.kubelet = True  # with the controller manager: pods run as their workload's rule says
        self.gc_delay = 0.1  # s the garbage collector takes to end a Foreground/Orphan deletion (case 031)
        self.pod_termination = 0.2  # s a kubelet takes to end a pod's graceful deletion
        self.lock = threading.RLock()
        self._rv = itertools.count(1)
        self._cluster_ips = itertools.count(10)
        # Every change, for watches that start from a resourceVersion: a real server replays what happened
        # since (its watch cache), deletions included, not just what still exists.
        self.history: list[tuple[ResourceType, Obj]] = []
        self._uid = itertools.count(1)
        self._watchers: list[tuple[ResourceType, str | None, queue.Queue[Obj | None]]] = []
        self._stop = threading.Event()
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # -- steering from tests -------------------------------------------------------------------------------

    def rule(self, kind: str, name: str, namespace: str = "", **kwargs: Any) -> None:
        with self.lock:
            self.rules[(kind, namespace, name)] = Rule(**kwargs)

    def on_ready(self, predicate: Callable[[Obj], bool], action: Callable[[KubeEmulator], None]) -> None:
        self.ready_hooks.append((predicate, action))

    def put(self, obj: Obj) -> Obj:
        """Create or replace an object as a cluster component would (not recorded as a client write)."""
        rtype = self._type_of(obj)
        with self.lock:
            return self._store(rtype, copy.deepcopy(obj), keep_status=False, record=None)

    def get(self, kind: str, name: str, namespace: str = "") -> Obj | None:
        with self.lock:
            for (_, _, ns, nm), stored in self.objects.items():
                if stored.rtype.kind == kind and ns == namespace and nm == name:
                    return copy.deepcopy(stored.obj)
        return None

    def list(self, kind: str) -> list[Obj]:
        with self.lock:
            return [copy.deepcopy(s.obj) for s in self.objects.values() if s.rtype.kind == kind]

    def remove(self, kind: str, name: str, namespace: str = "") -> None:
        with self.lock:
            for key, stored in list(self.objects.items()):
                if stored.rtype.kind == kind and key[2] == namespace and key[3] == name:
                    self._delete(key, record=None)

    def writes_to(self, kind: str | None = None) -> list[tuple[str, str, str, str]]:
        return [w for w in self.writes if kind is None or w[1] == kind]

    # -- store ---------------------------------------------------------------------------------------------

    def _type_of(self, obj: Obj) -> ResourceType:
        group, _, _ = obj["apiVersion"].rpartition("/")
        for rtype in self.types.values():
            if rtype.group == group and rtype.kind == obj["kind"]:
                return rtype
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({obj['kind']})")

    def _key(self, rtype: ResourceType, namespace: str, name: str) -> tuple[str, str, str, str]:
        return (rtype.group, rtype.plural, namespace if rtype.namespaced else "", name)

    def _store(self, rtype: ResourceType, obj: Obj, keep_status: bool, record: str | None) -> Obj:
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "") if rtype.namespaced else ""
        if rtype.namespaced:
            if not namespace:
                raise ApiError(400, "BadRequest", "a namespaced object needs metadata.namespace")
            if ("", "namespaces", "", namespace) not in self.objects:
                raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')
        else:
            meta.pop("namespace", None)
        key = self._key(rtype, namespace, meta["name"])
        old = self.objects.get(key)
        obj["apiVersion"], obj["kind"] = rtype.group_version, rtype.kind
        if record:
            obj = _normalised(obj)
            meta = obj["metadata"]
        if record and record != "delete":
            self._check(rtype, obj, old)
            self._admit(rtype, obj)
        if old is not None and record:
            rules.refuse_immutable_change(rtype.kind, meta["name"], old.obj, obj)
        if old is None and rtype.namespaced and record:
            space = self.objects[("", "namespaces", "", namespace)].obj
            if space["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{rtype.plural} "{meta["name"]}" is forbidden: unable to create new content in '
                    f"namespace {namespace} because it is being terminated",
                )
        if old is not None:
            for name in ("uid", "creationTimestamp"):
                meta[name] = old.obj["metadata"][name]
            if keep_status and rtype.status:
                obj.pop("status", None)
                if "status" in old.obj:
                    obj["status"] = old.obj["status"]
            for name in ("generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
                if name in old.obj["metadata"]:
                    meta[name] = old.obj["metadata"][name]
            meta["resourceVersion"] = old.obj["metadata"]["resourceVersion"]
            self._defaults(rtype, obj, old.obj)
            if obj == old.obj:
                return copy.deepcopy(obj)
            if _spec(obj) != _spec(old.obj):
                if "generation" in meta:
                    meta["generation"] += 1
                old.changed_at = time.monotonic()
            if meta.get("deletionTimestamp") and not meta.get("finalizers") and rtype.kind != "Namespace":
                old.obj = obj  # the last finalizer is gone: so is the object (case 034)
                answer = copy.deepcopy(obj)  # with the version it had: the removal's own is not shown
                self._remove(key, record)
                return answer
            meta["resourceVersion"] = str(next(self._rv))
            old.obj = obj
            event = "MODIFIED"
        else:
            if keep_status and rtype.status:
                obj.pop("status", None)  # status is written through the status subresource only
            meta.update(uid=f"uid-{next(self._uid)}", creationTimestamp=_now())
            if rtype.kind in GENERATION or rtype.group not in BUILTIN_GROUPS:
                meta["generation"] = 1
            meta["resourceVersion"] = str(next(self._rv))
            self._defaults(rtype, obj, None)
            self.objects[key] = Stored(rtype, obj)
            event = "ADDED"
        if record:
            self._record(record, rtype.kind, namespace, meta["name"])
        self._notify(rtype, event, obj)
        if event == "ADDED" and rtype.kind == "Namespace":
            self._publish(meta["name"])
        return copy.deepcopy(obj)

    def _publish(self, namespace: str) -> None:
        """What kcm puts into every new namespace (cases 010, 035): the ``default`` ServiceAccount and the
        ``kube-root-ca.crt`` ConfigMap."""
        for obj in (
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": "default", "namespace": namespace}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "kube-root-ca.crt", "namespace": namespace},
             "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n(emulator)\n-----END CERTIFICATE-----\n"}},
        ):  # fmt: skip
            self._store(self._type_of(obj), obj, keep_status=False, record=None)

    def schema(self, rtype: ResourceType) -> tuple[Obj | None, Obj]:
        """The schema writes of a kind are checked against (kubeapi_schema), and its definitions."""
        if rtype.group in BUILTIN_GROUPS:
            return schemas.builtin_schema(rtype.kind, rtype.group_version) or (None, {})
        crds = [s.obj for s in self.objects.values() if s.rtype.kind == "CustomResourceDefinition"]
        return schemas.crd_schema(crds, rtype.group, rtype.plural, rtype.version), {}

    def _check(self, rtype: ResourceType, obj: Obj, old: Stored | None) -> None:
        """The real server's validation of a client write (kubeapi_rules names the cases)."""
        meta = obj["metadata"]
        rules.check_name(rtype.kind, rtype.group, meta)
        if rtype.group not in BUILTIN_GROUPS:
            schemas.validate_custom(obj, self.schema(rtype)[0], rtype.kind, rtype.group)
        rules.validate(rtype.kind, rtype.group, obj)
        rules.check_micro_times(rtype.kind, obj)
        if rtype.kind == "Service" and old is None:
            rules.check_cluster_ip(obj)
        before = set((old.obj["metadata"].get("finalizers") or []) if old else [])
        added = [f for f in meta.get("finalizers") or [] if f not in before]
        if old is not None and old.obj["metadata"].get("deletionTimestamp") and added:
            message = (
                "Forbidden: no new finalizers can be added if the object is being deleted, "
                f"found new finalizers []string{{{', '.join(json.dumps(f) for f in added)}}}"
            )
            raise rules.invalid(rtype.kind, rtype.group, meta["name"], [("metadata.finalizers",
                                "FieldValueForbidden", message)] * 2)  # fmt: skip

    def _defaults(self, rtype: ResourceType, obj: Obj, old: Obj | None) -> None:
        """What the real server and its admission fill in on a write (``old``: the stored object)."""
        meta, kind = obj["metadata"], rtype.kind
        spec: Obj = obj.setdefault("spec", {}) if kind in ("Service", "PersistentVolumeClaim") else {}
        before: Obj = (old or {}).get("spec") or {}
        if kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj.setdefault("status", {"phase": "Active"})
        elif kind == "Service":
            for name in ("clusterIP", "clusterIPs"):
                if name in before and name not in spec:
                    spec[name] = before[name]
            if not spec.get("clusterIP") and spec.get("type") != "ExternalName":
                spec["clusterIP"] = str(rules.SERVICE_RANGE[next(self._cluster_ips)])
            rules.service_defaults(obj, 0)
        elif kind == "Job":
            rules.job_defaults(obj, meta["uid"])
        elif kind == "Pod" and old is None:
            obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
        elif kind == "PersistentVolumeClaim" and old is not None:
            for name in ("storageClassName", "volumeMode"):
                if name in before and name not in spec:
                    obj.setdefault("spec", {})[name] = before[name]
        elif kind == "PersistentVolumeClaim":
            obj.setdefault("status", {"phase": "Pending"})
            spec = obj.setdefault("spec", {})
            defaults = [
                s.obj for s in self.objects.values() if s.rtype.kind == "StorageClass" and _is_default(s.obj)
            ]
            if "storageClassName" not in spec and len(defaults) == 1:
                spec["storageClassName"] = defaults[0]["metadata"]["name"]  # DefaultStorageClass admission
            spec.setdefault("volumeMode", "Filesystem")

    def _admit(self, rtype: ResourceType, obj: Obj) -> None:
        """A failurePolicy: Fail webhook whose Service has no ready endpoint refuses what it intercepts
        (case 029; rules by group and resource, object and namespace selectors)."""
        labels = obj["metadata"].get("labels") or {}
        for stored in list(self.objects.values()):
            if stored.rtype.kind not in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
                continue
            for hook in stored.obj.get("webhooks") or []:
                service = (hook.get("clientConfig") or {}).get("service")
                if hook.get("failurePolicy", "Fail") != "Fail" or not service:
                    continue
                if not _label_selects(hook.get("objectSelector") or {}, labels):
                    continue
                space = self.objects.get(("", "namespaces", "", obj["metadata"].get("namespace") or ""))
                space_labels = (space.obj["metadata"].get("labels") or {}) if space else {}
                if rtype.namespaced and not _label_selects(hook.get("namespaceSelector") or {}, space_labels):
                    continue
                for rule in hook.get("rules") or []:
                    groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
                    hit = ("*" in groups or rtype.group in groups) and (
                        "*" in resources or rtype.plural in resources
                    )
                    if hit and not self._serving(service["namespace"], service["name"]):
                        where = f"https://{service['name']}.{service['namespace']}.svc:443"
                        raise ApiError(
                            500,
                            "InternalError",
                            f'Internal error occurred: failed calling webhook "{hook.get("name")}": '
                            f'failed to call webhook: Post "{where}": no endpoints available for service',
                        )

    def _serving(self, namespace: str, service: str) -> bool:
        for stored in self.objects.values():
            meta = stored.obj["metadata"]
            if stored.rtype.kind != "EndpointSlice" or meta.get("namespace") != namespace:
                continue
            if (meta.get("labels") or {}).get("kubernetes.io/service-name") != service:
                continue
            if any(
                (e.get("conditions") or {}).get("ready") is not False
                for e in stored.obj.get("endpoints") or []
            ):
                return True
        return False

    def _delete(
        self, key: tuple[str, str, str, str], record: str | None, policy: str = "Background", grace: int = 0
    ) -> Obj:
        """Delete as the real server does (cases 027, 031-034, 043): at once when nothing holds the object,
        else marked with a deletionTimestamp until its finalizers are gone (Foreground/Orphan: the garbage
        collector's, ended here after ``gc_delay``; a graceful pod deletion: the kubelet's,
        ``pod_termination``)."""
        stored = self.objects[key]
        meta = stored.obj["metadata"]
        if stored.rtype.kind == "CustomResourceDefinition":
            return self._delete_crd(key, record)
        finalizers = list(meta.get("finalizers") or [])
        if policy in ("Foreground", "Orphan") and stored.rtype.kind in WORKLOADS | {"ReplicaSet"}:
            finalizers.append("foregroundDeletion" if policy == "Foreground" else "orphan")
            stored.remove_at = time.monotonic() + self.gc_delay
        elif grace and stored.rtype.kind == "Pod" and (stored.obj.get("spec") or {}).get("nodeName"):
            stored.remove_at = time.monotonic() + self.pod_termination
        if (finalizers or stored.remove_at) and stored.rtype.kind != "Namespace":
            if not meta.get("deletionTimestamp"):
                meta.update(deletionTimestamp=_now(), deletionGracePeriodSeconds=grace)
                if finalizers:
                    meta["finalizers"] = finalizers
                if "generation" in meta:
                    meta["generation"] += 1
                meta["resourceVersion"] = str(next(self._rv))
                self._notify(stored.rtype, "MODIFIED", stored.obj)
                if record:
                    self._record(record, stored.rtype.kind, key[2], key[3])
            return copy.deepcopy(stored.obj)
        if stored.rtype.kind == "Namespace" and self.namespace_termination > 0:
            # Like the namespace controller: Terminating for a while (creates inside get 403), then gone.
            meta = stored.obj["metadata"]
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = _now()
                meta["resourceVersion"] = str(next(self._rv))
                stored.obj["status"] = {"phase": "Terminating"}
                stored.changed_at = time.monotonic()
                if record:
                    self._record(record, "Namespace", "", key[3])
            return copy.deepcopy(stored.obj)
        return self._remove(key, record)

    def _empty_namespace(self, key: tuple[str, str, str, str], space: Stored) -> None:
        """The namespace controller (case 022): deletes what is inside, reports what still holds the namespace
        (objects with finalizers), and removes it once it is empty."""
        inside = [k for k, s in self.objects.items() if s.rtype.namespaced and k[2] == key[3]]
        for other in inside:
            if not self.objects[other].obj["metadata"].get("deletionTimestamp"):
                self._delete(other, record=None)
        if not any(k in self.objects for k in inside):
            self._remove(key, record=None)
        elif not space.obj["status"].get("conditions"):
            status = {"phase": "Terminating", "conditions": [{"type": "NamespaceFinalizersRemaining",
                      "status": "True", "reason": "SomeFinalizersRemain",
                      "message": "Some content in the namespace has finalizers remaining"}]}  # fmt: skip
            self._store(
                space.rtype, {**copy.deepcopy(space.obj), "status": status}, keep_status=False, record=None
            )

    def _delete_crd(self, key: tuple[str, str, str, str], record: str | None) -> Obj:
        """A CRD goes with its custom resources and their discovery (case 027)."""
        crd = self.objects[key].obj
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        for other, stored in list(self.objects.items()):
            if (stored.rtype.group, stored.rtype.plural) == (group, plural):
                self._remove(other, record=None)
        self.types.pop((group, plural), None)
        answer = copy.deepcopy(crd)
        answer["metadata"].update(
            deletionTimestamp=_now(), finalizers=["customresourcecleanup.apiextensions.k8s.io"]
        )
        self._remove(key, record)
        return answer

    def _remove(self, key: tuple[str, str, str, str], record: str | None) -> Obj:
        stored = self.objects.pop(key)
        if stored.rtype.kind == "Namespace":
            for other in [k for k, s in self.objects.items() if s.rtype.namespaced and k[2] == key[3]]:
                self._remove(other, record=None)
        if record:
            self._record(record, stored.rtype.kind, key[2], key[3])
        meta = stored.obj["metadata"]
        meta["resourceVersion"] = str(next(self._rv))  # a real server gives the deletion a version of its own
        if stored.rtype.kind == "Pod" and not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = _now()  # an unbound pod: graceful deletion ends at once (case 033)
            meta["generation"] = meta.get("generation", 1) + 1
        self._notify(stored.rtype, "DELETED", stored.obj)
        return stored.obj

    def _record(self, verb: str, kind: str, namespace: str, name: str) -> None:
        self.writes.append((verb, kind, namespace, name))
        self.journal.append((time.time(), verb, kind, namespace, name))

    def evict(self, namespace: str, name: str) -> Obj:
        """The Eviction API (cases 043, 044): a Running pod is refused (429) while a PodDisruptionBudget
        selecting it allows no disruption (as the disruption controller counts it, or as its status says);
        a pod that is not Running is evicted regardless. A pod bound to a node is deleted gracefully."""
        key = ("", "pods", namespace, name)
        stored = self.objects.get(key)
        if stored is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        if (stored.obj.get("status") or {}).get("phase") == "Running":
            labels = stored.obj["metadata"].get("labels", {})
            for other in self.objects.values():
                budget = other.obj
                if (
                    other.rtype.kind != "PodDisruptionBudget"
                    or budget["metadata"].get("namespace") != namespace
                ):
                    continue
                if not _label_selects((budget.get("spec") or {}).get("selector") or {}, labels):
                    continue
                healthy, allowed = self._disruptions(budget)
                if allowed < 1:
                    need = (budget.get("spec") or {}).get("minAvailable", healthy)
                    raise ApiError(
                        429,
                        "TooManyRequests",
                        "Cannot evict pod as it would violate the pod's disruption budget.",
                        {"causes": [{"reason": "DisruptionBudget", "message": f"The disruption budget "
                                     f"{budget['metadata']['name']} needs {need} healthy pods and has "
                                     f"{healthy} currently"}]},
                    )  # fmt: skip
        self._delete(key, record="evict", grace=30)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def _disruptions(self, budget: Obj) -> tuple[int, int]:
        """(healthy pods, disruptions allowed) of a budget, as the disruption controller counts them."""
        spec, namespace = budget.get("spec") or {}, budget["metadata"].get("namespace")
        pods = [
            s.obj for s in self.objects.values()
            if s.rtype.kind == "Pod" and s.obj["metadata"].get("namespace") == namespace
            and _label_selects(spec.get("selector") or {}, s.obj["metadata"].get("labels") or {})
        ]  # fmt: skip
        healthy = sum(
            1 for pod in pods
            if not pod["metadata"].get("deletionTimestamp")
            and (pod.get("status") or {}).get("phase") == "Running"
            and any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (pod.get("status") or {}).get("conditions") or [])
        )  # fmt: skip
        allowed = 1 << 30
        if isinstance(spec.get("minAvailable"), int):
            allowed = healthy - spec["minAvailable"]
        elif isinstance(spec.get("maxUnavailable"), int):
            allowed = spec["maxUnavailable"] - (len(pods) - healthy)
        stated = (budget.get("status") or {}).get("disruptionsAllowed")
        return healthy, min(allowed, stated) if isinstance(stated, int) else allowed

    def _notify(self, rtype: ResourceType, event: str, obj: Obj) -> None:
        self.history.append((rtype, {"type": event, "object": copy.deepcopy(obj)}))
        for wtype, namespace, sink in list(self._watchers):
            if wtype == rtype and namespace in (None, obj["metadata"].get("namespace")):
                sink.put({"type": event, "object": copy.deepcopy(obj)})

    # -- API verbs -----------------------------------------------------------------------------------------

    def apply(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        body: Obj,
        manager: str,
        dry_run: bool = False,
        force: bool = True,
        status: bool = False,
    ) -> Obj:
        """Server-side apply; ``status``: through the status subresource, which writes only the status
        (and whose fields a manager owns apart from the main resource's, case 025)."""
        if status:
            body = {"metadata": {}, "status": body.get("status") or {}}
            manager_key = f"{manager}/status"
        else:
            manager_key = manager
        body.setdefault("metadata", {})
        if rtype.namespaced:
            body["metadata"].setdefault("namespace", namespace)
        key = self._key(rtype, namespace, name)
        old = self.objects.get(key)
        if old is None:
            live: Obj = {}
            previous: Obj = {}
        else:
            live = copy.deepcopy(old.obj)
            previous = old.applied.get(manager_key, {})
            # Field ownership (case 011): a field another manager applied with another value is a conflict
            # unless forced; forced, it changes hands.
            taken = rules.conflicts(body, manager_key, old.applied)
            if taken and not force:
                raise rules.conflict_error(taken)
            if taken and not dry_run:
                for other, fields in taken.items():
                    paths = {path for path in rules.leaves(body) if "".join(path) in fields}
                    old.applied[other] = rules.drop_paths(old.applied[other], paths)
        merged = _merge(_forget(live, previous, body), body)
        managers = [m for m in merged["metadata"].get("managedFields", []) if m.get("manager") != manager]
        managers.append(
            {
                "manager": manager,
                "operation": "Apply",
                "apiVersion": rtype.group_version,
                "fieldsType": "FieldsV1",
            }
        )
        merged["metadata"]["managedFields"] = managers
        if dry_run:  # dryRun=All: what the server would store, nothing stored (case 013)
            preview = _normalised(merged)
            if old is not None:
                for name_ in ("uid", "creationTimestamp", "resourceVersion", "generation"):
                    if name_ in old.obj["metadata"]:
                        preview["metadata"][name_] = old.obj["metadata"][name_]
                if rtype.status and "status" in old.obj:
                    preview["status"] = old.obj["status"]
            preview["apiVersion"], preview["kind"] = rtype.group_version, rtype.kind
            return preview
        self.applies.append((rtype.kind, namespace if rtype.namespaced else "", name))
        result = self._store(rtype, merged, keep_status=not status, record="status" if status else "apply")
        self.objects[key].applied[manager_key] = copy.deepcopy(body)
        return result

    def as_of(self, rtype: ResourceType, version: int) -> Objs:
        """The objects of a type as they were at ``version``, from the history (an Exact LIST, case 037)."""
        state: dict[tuple[str, str], Obj] = {}
        for wtype, event in self.history:
            obj = event["object"]
            if wtype != rtype or int(obj["metadata"]["resourceVersion"]) > version:
                continue
            where = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if event["type"] == "DELETED":
                state.pop(where, None)
            else:
                state[where] = obj
        return list(state.values())

    def maybe_reject(self, rtype: ResourceType, name: str, body: bytes) -> None:
        rejected = self.reject.get((rtype.kind, name))
        if rejected:
            code, message = rejected
            # A real API server echoes parts of the request in some errors: so does this one.
            raise ApiError(code, "Invalid", f"{message}: {body.decode(errors='replace')}")

    # -- simulated controllers -----------------------------------------------------------------------------

    def reconcile(self) -> None:
        with self.lock:
            now = time.monotonic()
            for key, stored in list(self.objects.items()):
                if key not in self.objects:
                    continue  # removed with its namespace or owner in this pass
                deleted = stored.obj["metadata"].get("deletionTimestamp")
                if (
                    stored.rtype.kind == "Namespace"
                    and deleted
                    and now >= stored.changed_at + self.namespace_termination
                ):
                    self._empty_namespace(key, stored)
                held = set(stored.obj["metadata"].get("finalizers") or []) - {"foregroundDeletion", "orphan"}
                if stored.remove_at is not None and now >= stored.remove_at and not held:
                    if self.controller_manager and not kcm.release_dependents(self, stored):
                        continue  # Foreground: the dependents go first (case 031)
                    if key in self.objects:
                        self._remove(key, record=None)
                    continue
                ttl = (stored.obj.get("spec") or {}).get("ttlSecondsAfterFinished")
                if stored.finished_at is not None and ttl is not None and now >= stored.finished_at + ttl:
                    self._remove(key, record=None)  # the TTL-after-finished controller
            if self.controller_manager:
                kcm.run(self)
            for stored in list(self.objects.values()):
                kind = stored.rtype.kind
                if kind not in SCHEDULED:
                    continue
                meta = stored.obj["metadata"]
                rule = self.rules.get(
                    (kind, meta.get("namespace", ""), meta["name"]), Rule(delay=self.default_delay)
                )
                due = now >= stored.changed_at + rule.delay
                status = self._status_for(stored, rule, due)
                if status is not None and status != stored.obj.get("status"):
                    obj = copy.deepcopy(stored.obj)
                    obj["status"] = status
                    self._store(stored.rtype, obj, keep_status=False, record=None)
                    if rule.outcome == "ready" and due:
                        for predicate, action in self.ready_hooks:
                            if predicate(obj):
                                action(self)
                    if rule.outcome in ("never", "fail"):
                        self._event(obj, rule)

    def _status_for(self, stored: Stored, rule: Rule, due: bool) -> Obj | None:
        obj, kind = stored.obj, stored.rtype.kind
        gen = obj["metadata"].get("generation", 1)
        ready = rule.outcome == "ready" and due
        if self.controller_manager and kind == "Deployment":
            return kcm.deployment_status(self, stored)
        if self.controller_manager and kind == "DaemonSet":
            return kcm.daemonset_status(self, stored)
        if self.controller_manager and kind == "Job":
            return kcm.job_status(self, stored, rule)
        if kind == "Deployment" or kind == "StatefulSet":
            want = obj.get("spec", {}).get("replicas", 1)
            have = want if ready else 0
            status: Obj = {
                "observedGeneration": gen,
                "replicas": want,
                "updatedReplicas": want,
                "readyReplicas": have,
                "availableReplicas": have,
            }
            if kind == "StatefulSet":
                status.update(currentReplicas=want, currentRevision=f"r{gen}", updateRevision=f"r{gen}")
            else:
                status["conditions"] = [
                    {
                        "type": "Available",
                        "status": "True" if ready else "False",
                        "reason": "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                        "message": "Deployment has minimum availability."
                        if ready
                        else "Deployment does not have minimum availability.",
                    }
                ]
            return status
        if kind == "DaemonSet":
            want = max(1, len([s for s in self.objects.values() if s.rtype.kind == "Node"]))
            have = want if ready else 0
            return {
                "observedGeneration": gen,
                "desiredNumberScheduled": want,
                "currentNumberScheduled": want,
                "updatedNumberScheduled": want,
                "numberReady": have,
                "numberAvailable": have,
                "numberUnavailable": want - have,
                "numberMisscheduled": 0,
            }
        if kind == "Job":
            if rule.outcome == "fail" and due:
                return {
                    "failed": 1,
                    "conditions": [
                        {"type": "Failed", "status": "True", "reason": rule.reason, "message": rule.message}
                    ],
                }
            if ready:
                if stored.finished_at is None:
                    stored.finished_at = time.monotonic()
                return {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
            stored.finished_at = None
            return {"active": 1}
        if kind == "CustomResourceDefinition":
            if ready:
                self._register_crd(obj)
                return {
                    "conditions": [
                        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}
                    ],
                    "acceptedNames": obj["spec"]["names"],
                }
            return None
        if kind == "Service":
            if obj.get("spec", {}).get("type") != "LoadBalancer" or not self.cloud_controller:
                return None
            if ready:
                host = (
                    f"{obj['metadata']['name']}-{abs(hash(obj['metadata']['uid'])) % 10**8}.elb.example.test"
                )
                return {"loadBalancer": {"ingress": [{"hostname": host}]}}
            return {"loadBalancer": {}}
        if kind == "PersistentVolumeClaim":
            return self._claim_status(obj, ready)
        return None

    def _claim_status(self, claim: Obj, ready: bool) -> Obj | None:
        if claim.get("status", {}).get("phase") == "Bound":
            return None
        name = claim.get("spec", {}).get("storageClassName")
        classes = [s.obj for s in self.objects.values() if s.rtype.kind == "StorageClass"]
        if name is None:
            defaults = [c for c in classes if _is_default(c)]
            chosen = defaults[0] if len(defaults) == 1 else None
        else:
            chosen = next((c for c in classes if c["metadata"]["name"] == name), None)
        if chosen is None or not ready:
            return {"phase": "Pending"}
        if chosen.get("volumeBindingMode") == "WaitForFirstConsumer" and not self._consumed(claim):
            return {"phase": "Pending"}
        return {
            "phase": "Bound",
            "accessModes": claim["spec"].get("accessModes", []),
            "capacity": claim["spec"].get("resources", {}).get("requests", {}),
        }

    def _consumed(self, claim: Obj) -> bool:
        namespace, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
        for stored in self.objects.values():
            if stored.rtype.kind == "Pod" and stored.obj["metadata"].get("namespace") == namespace:
                for volume in stored.obj.get("spec", {}).get("volumes", []):
                    if volume.get("persistentVolumeClaim", {}).get("claimName") == name:
                        return True
        return False

    def _register_crd(self, crd: Obj) -> None:
        spec = crd["spec"]
        for version in spec["versions"]:
            rtype = ResourceType(
                spec["group"],
                version["name"],
                spec["names"]["kind"],
                spec["names"]["plural"],
                spec.get("scope", "Namespaced") == "Namespaced",
                "status" in version.get("subresources", {}),
            )
            self.types[(rtype.group, rtype.plural)] = rtype

    def _event(self, obj: Obj, rule: Rule) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        name = f"{meta['name']}.{meta['resourceVersion']}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "uid": meta["uid"],
            },
            "reason": rule.reason,
            "message": rule.message,
            "type": "Warning",
            "count": 1,
            "lastTimestamp": _now(),
        }
        self._store(self.types[("", "events")], event, keep_status=False, record=None)

    def run_controllers(self) -> None:
        while not self._stop.wait(0.02):
            self.reconcile()

    def stop(self) -> None:
        self._stop.set()
        with self.lock:
            for _, _, sink in self._watchers:
                sink.put(None)

    def watch(self, rtype: ResourceType, namespace: str | None) -> queue.Queue[Obj | None]:
        sink: queue.Queue[Obj | None] = queue.Queue()
        with self.lock:
            self._watchers.append((rtype, namespace, sink))
        return sink

    def unwatch(self, sink: queue.Queue[Obj | None]) -> None:
        with self.lock:
            self._watchers = [w for w in self._watchers if w[2] is not sink]


# What the real API server drops or rewrites when it stores an object (conformance cases 006, 008): zero
# values of non-pointer fields, quantities in canonical form, the RBAC subject apiGroup default.
ZERO_DROPPED = {
    "hostNetwork": False, "hostPID": False, "hostIPC": False, "readOnly": False, "stdin": False, "tty": False,
    "env": [], "ports": [], "args": [], "command": [], "tolerations": [], "volumeMounts": [], "volumes": [],
    "imagePullSecrets": [], "initContainers": [], "nodeSelector": {},
}  # fmt: skip
BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _normalised(obj: Obj) -> Obj:
    out = _drop_zero(copy.deepcopy(obj))
    meta = out.get("metadata") or {}
    for name in ("labels", "annotations"):
        if meta.get(name) == {}:
            del meta[name]  # an empty map is not stored: re-applying one is a no-op (case 014)
    if out.get("kind") in ("ClusterRoleBinding", "RoleBinding"):
        for subject in out.get("subjects") or []:
            if subject.get("kind") in ("User", "Group"):
                subject.setdefault("apiGroup", "rbac.authorization.k8s.io")
    return out


def _drop_zero(node: Any) -> Any:
    if isinstance(node, list):
        return [_drop_zero(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ZERO_DROPPED and value == ZERO_DROPPED[key] and type(value) is type(ZERO_DROPPED[key]):
            continue
        if key in ("limits", "requests") and isinstance(value, dict):
            out[key] = {name: _quantity(q) for name, q in value.items()}
            continue
        out[key] = _drop_zero(value)
    return out


def _quantity(value: Any) -> str:
    """Canonical quantity text: 2 -> "2", 0.5 -> "500m", "1024Mi" -> "1Gi" (an int stays in bytes)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{round(value * 1000)}m"
    text = str(value)
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)", text)
    if match:
        amount = int(match[1]) * BINARY[match[2]]
        for suffix in ("Ti", "Gi", "Mi", "Ki"):
            if amount % BINARY[suffix] == 0:
                return f"{amount // BINARY[suffix]}{suffix}"
    return text


IMMUTABLE = {
    "Job": (("spec", "template"), ("spec", "completions"), ("spec", "selector")),
    "StorageClass": (("parameters",), ("reclaimPolicy",), ("provisioner",), ("volumeBindingMode",)),
}
DEFAULTS = {("StorageClass", "reclaimPolicy"): "Delete", ("StorageClass", "volumeBindingMode"): "Immediate"}


def _refuse_immutable_change(kind: str, name: str, old: Obj, new: Obj) -> None:
    """422 as the real API server answers a change to an immutable field (conformance cases 016, 017)."""
    problems = []
    for path in IMMUTABLE.get(kind, ()):
        before, after = _at(old, path), _at(new, path)
        default = DEFAULTS.get((kind, path[-1]))
        if path == ("spec", "selector") and after is None:
            continue  # the server fills a Job's selector in
        if (before if before is not None else default) != (after if after is not None else default):
            problems.append(f"{'.'.join(path)}: Invalid value: {json.dumps(after)}: field is immutable")
    if problems:
        group = {"Job": "Job.batch", "StorageClass": "StorageClass.storage.k8s.io"}[kind]
        detail = problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]"
        raise ApiError(422, "Invalid", f'{group} "{name}" is invalid: {detail}')


def _at(obj: Obj, path: tuple[str, ...]) -> Any:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _spec(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _is_default(storage_class: Obj) -> bool:
    annotations = storage_class["metadata"].get("annotations", {})
    return annotations.get("storageclass.kubernetes.io/is-default-class") == "true"


# -- HTTP ---------------------------------------------------------------------------------------------------

PATH = re.compile(r"^/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<v>[^/]+))(?P<rest>/.*)?$")


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, delayed ACKs add ~40 ms per request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def emu(self) -> KubeEmulator:
        return self.server.emulator

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, verb: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0]
        self.emu.requests.append((verb, url.path, content_type))
        try:
            if verb == "GET" and query.get("watch") in ("true", "1"):
                _resource_version(query)
                self._watch(url.path, query)
                return
            code, payload = self._route(verb, url.path, query, body, content_type)
        except ApiError as err:
            code, payload = err.code, _status(err.code, err.reason, err.message, err.details)
        plain = isinstance(payload, str)  # the real server's "404 page not found" of unknown paths (case 002)
        data = payload.encode() if plain else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8" if plain else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, verb: str, path: str, query: dict[str, str], body: bytes, ctype: str) -> tuple[int, Any]:
        emu = self.emu
        if path == "/version":
            minor = emu.git_version.split(".")[1]
            return 200, {
                "major": "1",
                "minor": minor,
                "gitVersion": emu.git_version,
                "platform": "linux/amd64",
            }
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            return 200, self._groups()
        served = {t.group for t in emu.types.values()}
        if (alone := re.fullmatch(r"/apis/([^/]+)/?", path)) and alone[1] in served:
            return 200, self._group(alone[1])
        match = PATH.match(path)
        if not match and re.fullmatch(r"/api/[^/]+(/.*)?", path):
            # the legacy group's handler answers a version it does not serve with a JSON Status (case 002)
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if not match or (match["g"] or "") not in served:
            return 404, "404 page not found\n"
        group = match["g"] or ""
        version = match["cv"] or match["v"]
        parts = [p for p in (match["rest"] or "").split("/") if p]
        if not parts:
            return 200, self._resource_list(group, version)
        namespace = ""
        if parts[0] == "namespaces" and len(parts) >= 3 and not (len(parts) == 3 and parts[2] == "status"):
            namespace, parts = parts[1], parts[2:]
        rtype = emu.types.get((group, parts[0]))
        if rtype is None or rtype.version != version or (namespace and not rtype.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        name = parts[1] if len(parts) > 1 else None
        sub = parts[2] if len(parts) > 2 else None
        with emu.lock:
            if name is None:
                answer = self._collection(verb, rtype, namespace, query, body)
            else:
                answer = self._item(verb, rtype, namespace, name, sub, query, body, ctype)
            if verb != "GET" and emu.controller_manager:
                emu.reconcile()  # the controllers see a write before the next request: no race with a reader
            return answer

    def _group(self, group: str) -> Obj:
        entry = next(g for g in self._groups()["groups"] if g["name"] == group)
        return {"kind": "APIGroup", "apiVersion": "v1", **entry}

    def _groups(self) -> Obj:
        versions: dict[str, list[str]] = {}
        for rtype in self.emu.types.values():
            if rtype.group:
                versions.setdefault(rtype.group, [])
                if rtype.version not in versions[rtype.group]:
                    versions[rtype.group].append(rtype.version)
        groups = []
        for group, vs in sorted(versions.items()):
            entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in vs]
            groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _resource_list(self, group: str, version: str) -> Obj:
        resources = []
        for rtype in self.emu.types.values():
            if rtype.group == group and rtype.version == version:
                verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
                resources.append(
                    {
                        "name": rtype.plural,
                        "singularName": rtype.kind.lower(),
                        "kind": rtype.kind,
                        "namespaced": rtype.namespaced,
                        "verbs": verbs,
                    }
                )
                if rtype.status:
                    resources.append(
                        {
                            "name": f"{rtype.plural}/status",
                            "singularName": "",
                            "kind": rtype.kind,
                            "namespaced": rtype.namespaced,
                            "verbs": ["get", "patch", "update"],
                        }
                    )
        if not resources:
            raise ApiError(404, "NotFound", f"no resources in {group}/{version}")
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def _collection(
        self, verb: str, rtype: ResourceType, ns: str, query: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        emu = self.emu
        if verb == "GET":
            return 200, self._list(rtype, ns, query)
        if verb == "POST":
            obj = _json_body(body)
            meta = obj.setdefault("metadata", {})
            emu.maybe_reject(rtype, meta.get("name", ""), body)
            if rtype.namespaced:
                if meta.get("namespace") and meta["namespace"] != ns:
                    raise ApiError(400, "BadRequest", NAMESPACE_MISMATCH)
                meta["namespace"] = ns
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + f"{next(emu._uid):05d}"
            rules.check_name(rtype.kind, rtype.group, meta)
            obj = schemas.prune(obj, emu.schema(rtype)[0], query.get("fieldValidation") == "Strict")
            name = meta["name"]
            if emu._key(rtype, ns, name) in emu.objects:
                raise ApiError(409, "AlreadyExists", f'{rtype.plural} "{name}" already exists')
            _dry_run(query)
            if query.get("dryRun"):
                preview = _normalised(obj)
                preview["metadata"].update(uid="dry-run", creationTimestamp=_now())
                return 201, preview
            return 201, emu._store(rtype, obj, keep_status=True, record="create")
        raise ApiError(405, "MethodNotAllowed", f"{verb} is not allowed on a collection")

    def _list(self, rtype: ResourceType, ns: str, query: dict[str, str]) -> Obj:
        """A LIST: label and field selectors (cases 035, 036), limit/continue, events.k8s.io (045)."""
        emu = self.emu
        _resource_version(query)
        labels = rules.parse_label_selector(query.get("labelSelector", ""))
        fields = rules.parse_field_selector(query.get("fieldSelector", ""), rtype.kind)
        source = emu.types[("", "events")] if rtype.group == "events.k8s.io" else rtype
        found: Objs
        if query.get("resourceVersionMatch") == "Exact" and query.get("resourceVersion"):
            found = emu.as_of(source, int(query["resourceVersion"]))
        else:
            found = [s.obj for s in emu.objects.values() if s.rtype == source]
        items = [
            _as_events_v1(o) if source is not rtype else copy.deepcopy(o)
            for o in found
            if not ns or o["metadata"].get("namespace") == ns
        ]
        items = [
            o for o in items
            if rules.labels_match(labels, o["metadata"].get("labels") or {}) and rules.fields_match(fields, o)
        ]  # fmt: skip
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        if query.get("continue"):
            after = rules.continue_key(query["continue"])
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
        meta: Obj = {
            "resourceVersion": str(
                max((int(s.obj["metadata"]["resourceVersion"]) for s in emu.objects.values()), default=0)
            )
        }
        limit = int(query.get("limit") or 0)
        if limit and len(items) > limit:
            items = items[:limit]
            meta["continue"] = rules.continue_token(
                (items[-1]["metadata"].get("namespace", ""), items[-1]["metadata"]["name"])
            )
        return {
            "apiVersion": rtype.group_version,
            "kind": f"{rtype.kind}List",
            "metadata": meta,
            "items": items,
        }

    def _item(
        self,
        verb: str,
        rtype: ResourceType,
        ns: str,
        name: str,
        sub: str | None,
        query: dict[str, str],
        body: bytes,
        ctype: str,
    ) -> tuple[int, Any]:
        emu = self.emu
        key = emu._key(rtype, ns, name)
        stored = emu.objects.get(key)
        if verb == "GET":
            if stored is None:
                raise _not_found(rtype, name)
            return 200, copy.deepcopy(stored.obj)
        if verb == "DELETE":
            return self._delete(rtype, key, name, query, body)
        if verb == "POST" and rtype.kind == "Pod" and sub == "eviction":
            eviction = _json_body(body) if body else {}
            if (eviction.get("metadata") or {}).get("name", name) != name:
                raise ApiError(400, "BadRequest", "name in URL does not match name in Eviction object")
            return 201, emu.evict(ns, name)
        emu.maybe_reject(rtype, name, body)
        if verb == "PATCH" and ctype == "application/apply-patch+yaml":
            return self._apply(rtype, ns, name, sub, query, body, stored)
        if verb == "PATCH" and query.get("force"):
            raise ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: '
                "may not be specified for non-apply patch",
                {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{"reason": "FieldValueForbidden",
                 "message": "Forbidden: may not be specified for non-apply patch", "field": "force"}]},
            )  # fmt: skip
        if verb == "PATCH" and ctype not in PATCH_TYPES:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )
        if verb == "PUT":
            return self._put(rtype, ns, name, sub, body, stored)
        if verb != "PATCH":
            raise ApiError(405, "MethodNotAllowed", verb)
        if stored is None:
            raise _not_found(rtype, name)
        try:
            sent = json.loads(body) if body else None
        except ValueError:
            raise ApiError(400, "BadRequest", "the request body is not valid JSON") from None
        new = _patched(copy.deepcopy(stored.obj), sent, ctype)
        if sub == "status":
            full = copy.deepcopy(stored.obj)
            full["status"] = new.get("status", {})
            return 200, emu._store(rtype, full, keep_status=False, record="status")
        return 200, emu._store(rtype, new, keep_status=True, record="update")

    def _apply(
        self, rtype: ResourceType, ns: str, name: str, sub: str | None, query: dict[str, str], body: bytes,
        stored: Stored | None,
    ) -> tuple[int, Any]:  # fmt: skip
        manager = query.get("fieldManager")
        if not manager:  # the real server: 422 PatchOptions invalid (case 012)
            raise ApiError(
                422, "Invalid", "PatchOptions.meta.k8s.io is invalid: fieldManager: Required value"
            )
        try:
            patch = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise ApiError(400, "BadRequest", f"error decoding YAML: {exc}") from None
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
        if sub != "status":
            _check_identity(rtype, ns, name, patch)
            where = f"{ns + '/' if ns else ''}{name}; {rtype.group}/{rtype.version}, Kind={rtype.kind}"
            schema, definitions = self.emu.schema(rtype)
            schemas.refuse_untyped_apply(patch, schema, where, definitions)
        _dry_run(query)
        force = query.get("force", "").lower() == "true"
        # SSA that creates answers 201, anything else 200 (cases 003-014)
        return 201 if stored is None else 200, self.emu.apply(
            rtype,
            ns,
            name,
            patch,
            manager,
            dry_run=query.get("dryRun") == "All",
            force=force,
            status=sub == "status",
        )

    def _put(
        self, rtype: ResourceType, ns: str, name: str, sub: str | None, body: bytes, stored: Stored | None
    ) -> tuple[int, Any]:
        """PUT (cases 039, 046, 047): a stale resourceVersion is a 409, none at all is an unconditional update
        but for Leases (422); a missing Lease is created, any other missing object is a 404."""
        emu = self.emu
        new = _json_body(body)
        meta = new.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiError(
                400,
                "BadRequest",
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})",
            )
        sent = meta.get("resourceVersion")
        if stored is None:
            if rtype.kind != "Lease":
                raise _not_found(rtype, name)
            meta.pop("resourceVersion", None)
        elif not sent and rtype.kind == "Lease":
            message = "Invalid value: 0: must be specified for an update"
            raise rules.invalid(
                rtype.plural, rtype.group, name, [("metadata.resourceVersion", "FieldValueInvalid", message)]
            )
        elif sent and sent != stored.obj["metadata"]["resourceVersion"]:  # optimistic concurrency
            shown = f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {shown} "{name}": '
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        if rtype.namespaced:
            meta.setdefault("namespace", ns)
        if stored is None:
            return 201, emu._store(rtype, new, keep_status=True, record="create")
        if sub == "status":
            full = copy.deepcopy(stored.obj)
            full["status"] = new.get("status", {})
            return 200, emu._store(rtype, full, keep_status=False, record="status")
        return 200, emu._store(rtype, new, keep_status=True, record="update")

    def _delete(
        self,
        rtype: ResourceType,
        key: tuple[str, str, str, str],
        name: str,
        query: dict[str, str],
        body: bytes,
    ) -> tuple[int, Any]:
        """DELETE (cases 013, 015, 027, 031-034): options are checked first, protected namespaces stay,
        preconditions must hold; the answer is the object or a Status, by kind."""
        emu = self.emu
        options = _json_body(body) if body else {}
        policy = query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
        if policy not in PROPAGATION:
            supported = '"Foreground", "Background", "Orphan", "nil"'
            message = f'Unsupported value: "{policy}": supported values: {supported}'
            cause = {"reason": "FieldValueNotSupported", "message": message, "field": "propagationPolicy"}
            raise ApiError(
                422,
                "Invalid",
                f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: {message}',
                {"group": "meta.k8s.io", "kind": "DeleteOptions", "causes": [cause]},
            )
        _dry_run(query)
        if rtype.kind == "Namespace" and name in PROTECTED_NAMESPACES:
            raise ApiError(
                403,
                "Forbidden",
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                {"name": name, "kind": "namespaces"},
            )
        stored = emu.objects.get(key)
        if stored is None:
            raise _not_found(rtype, name)
        meta = stored.obj["metadata"]
        for field_, shown in (("resourceVersion", "ResourceVersion"), ("uid", "UID")):
            wanted = (options.get("preconditions") or {}).get(field_)
            if wanted and wanted != meta[field_]:
                why = "modified" if field_ == "resourceVersion" else "deleted and then recreated"
                raise ApiError(
                    409, "Conflict",
                    f'Operation cannot be fulfilled on {rtype.kind} "{name}": the {shown} in the '
                    f"precondition ({wanted}) does not match the {shown} in record ({meta[field_]}). "
                    f"The object might have been {why}",
                    {"name": name, "kind": rtype.kind},
                )  # fmt: skip
        if query.get("dryRun"):
            gone = copy.deepcopy(stored.obj)
        else:
            grace = int(query.get("gracePeriodSeconds") or options.get("gracePeriodSeconds") or 30)
            gone = emu._delete(key, record="delete", policy=policy, grace=grace if rtype.kind == "Pod" else 0)
        if (key in emu.objects and not query.get("dryRun")) or rtype.kind in DELETE_RETURNS_OBJECT:
            return 200, gone
        details = {"name": name, "kind": rtype.plural, "uid": gone["metadata"].get("uid")}
        if rtype.group:
            details["group"] = rtype.group
        return 200, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }

    def _watch(self, path: str, query: dict[str, str]) -> None:
        match = PATH.match(path)
        assert match is not None
        parts = [p for p in (match["rest"] or "").split("/") if p]
        namespace = None
        if parts[0] == "namespaces" and len(parts) >= 3:
            namespace, parts = parts[1], parts[2:]
        rtype = self.emu.types[(match["g"] or "", parts[0])]
        sink = self.emu.watch(rtype, namespace)
        deadline = time.monotonic() + float(query.get("timeoutSeconds", 30))
        fields, labels = query.get("fieldSelector", ""), query.get("labelSelector", "")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            since = int(query.get("resourceVersion") or 0)
            with self.emu.lock:
                if since:
                    backlog = [
                        copy.deepcopy(event)
                        for wtype, event in self.emu.history
                        if wtype == rtype
                        and int(event["object"]["metadata"]["resourceVersion"]) > since
                        and namespace in (None, event["object"]["metadata"].get("namespace"))
                    ]
                else:
                    backlog = [
                        {"type": "ADDED", "object": copy.deepcopy(s.obj)}
                        for s in self.emu.objects.values()
                        if s.rtype == rtype and namespace in (None, s.obj["metadata"].get("namespace"))
                    ]
            for event in backlog:
                self._chunk(event, fields, labels)
            while (left := deadline - time.monotonic()) > 0:
                try:
                    event = sink.get(timeout=min(left, 0.5))
                except queue.Empty:
                    continue
                if event is None:
                    break
                self._chunk(event, fields, labels)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.emu.unwatch(sink)

    def _chunk(self, event: Obj, fields: str, labels: str) -> None:
        obj = event["object"]
        if not _field_selects(fields, obj) or not _selects(labels, obj["metadata"].get("labels", {})):
            return
        line = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
        self.wfile.flush()


def _status(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    status: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
    }
    if reason:  # a 500 from the apply machinery carries none (case 012)
        status["reason"] = reason
    if details is not None:
        status["details"] = details
    status["code"] = code
    return status


NAMESPACE_MISMATCH = "the namespace of the provided object does not match the namespace sent on the request"
PATCH_TYPES = (
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
)


def _not_found(rtype: ResourceType, name: str) -> ApiError:
    plural = f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural
    details = {"name": name, "kind": rtype.plural, **({"group": rtype.group} if rtype.group else {})}
    return ApiError(404, "NotFound", f'{plural} "{name}" not found', details)


def _json_body(body: bytes) -> Obj:
    try:
        obj = json.loads(body)
    except ValueError:
        raise ApiError(400, "BadRequest", "the request body is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
    return obj


def _dry_run(query: dict[str, str]) -> None:
    dry = query.get("dryRun")
    if dry not in (None, "All"):
        raise ApiError(422, "Invalid", f'dryRun: Unsupported value: ["{dry}"]: supported values: "All"')


def _check_identity(rtype: ResourceType, ns: str, name: str, body: Obj) -> None:
    """What an apply body must agree on with its URL (case 012): 400 otherwise."""
    meta = body.get("metadata") or {}
    if meta.get("name") not in (None, name):
        raise ApiError(
            400,
            "BadRequest",
            f"the name of the object ({meta['name']}) does not match the name on the URL ({name})",
        )
    if rtype.namespaced and meta.get("namespace") not in (None, ns):
        raise ApiError(400, "BadRequest", NAMESPACE_MISMATCH)
    group, _, version = str(body.get("apiVersion", "")).rpartition("/")
    if body.get("kind") != rtype.kind or (group, version) != (rtype.group, rtype.version):
        raise ApiError(
            400,
            "BadRequest",
            f"invalid object type: {body.get('apiVersion', '')}, Kind={body.get('kind', '')}".replace(
                ": v1,", ": /v1,"
            ),
        )


def _patched(live: Obj, sent: Any, ctype: str) -> Obj:
    """A merge patch (RFC 7386), a JSON patch (RFC 6902; a failed test is a 422), or a strategic merge
    patch, whose lists of named items merge by name (case 048)."""
    if ctype == "application/json-patch+json":
        try:
            patched: Obj = jsonpatch.apply_patch(live, sent)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            raise ApiError(
                422, "Invalid", "the server rejected our request due to an error in our request", {}
            ) from None
        return patched
    strategic = ctype == "application/strategic-merge-patch+json"
    merged: Obj = _strategic(live, sent) if strategic else _merge(live, sent)
    return merged


def _strategic(base: Any, patch: Any) -> Any:
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in base + patch)
    ):
        out = [copy.deepcopy(i) for i in base]
        for item in patch:
            index = next((n for n, o in enumerate(out) if o["name"] == item["name"]), None)
            if index is None:
                out.append(copy.deepcopy(item))
            else:
                out[index] = _strategic(out[index], item)
        return out
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _strategic(merged.get(key), value)
    return merged


def _as_events_v1(event: Obj) -> Obj:
    """A core Event as events.k8s.io/v1 shows it (case 045)."""
    out = {k: v for k, v in copy.deepcopy(event).items() if k not in ("involvedObject", "message", "source")}
    out.update(
        apiVersion="events.k8s.io/v1", regarding=event.get("involvedObject") or {}, note=event.get("message")
    )
    return out


def _resource_version(query: dict[str, str]) -> None:
    """A resourceVersion that is not a number is refused with 500, as the real server does (case 037)."""
    version = query.get("resourceVersion")
    if version and not version.isdigit():
        raise ApiError(
            500,
            "",
            f'resourceVersion: Invalid value: "{version}": '
            f'strconv.ParseUint: parsing "{version}": invalid syntax',
        )


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, emulator: KubeEmulator) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.emulator = emulator


@dataclass
class KubeApi:
    """A running emulator: its URL, a kubeconfig file for it, and the emulator to steer."""

    url: str
    kubeconfig: Path
    emulator: KubeEmulator

    def add_node(
        self, name: str, role: str = "worker", initialized: bool = False, provider_id: str = ""
    ) -> None:
        labels = {"kubernetes.io/hostname": name}
        if role == "control-plane":
            labels["node-role.kubernetes.io/control-plane"] = ""
        spec: Obj = {}
        if initialized:
            spec["providerID"] = provider_id
        else:
            spec["taints"] = [
                {
                    "key": "node.cloudprovider.kubernetes.io/uninitialized",
                    "value": "true",
                    "effect": "NoSchedule",
                }
            ]
        ready = {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready",
        }
        self.emulator.put(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": labels},
                "spec": spec,
                "status": {"conditions": [ready]},
            }
        )

    def initialize_nodes(self, provider_ids: dict[str, str]) -> None:
        """What a cloud controller manager does: set provider IDs and lift the ``uninitialized`` taint."""
        for node in self.emulator.list("Node"):
            name = node["metadata"]["name"]
            spec = node.setdefault("spec", {})
            spec["taints"] = [t for t in spec.get("taints", []) if "uninitialized" not in t["key"]]
            if name in provider_ids:
                spec["providerID"] = provider_ids[name]
            self.emulator.put(node)

    def set_node_ready(self, name: str, ready: bool) -> None:
        node = self.emulator.get("Node", name)
        assert node is not None
        condition = {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "kubelet is posting ready" if ready else "container runtime network not ready",
        }
        node["status"]["conditions"] = [condition]
        self.emulator.put(node)


def write_kubeconfig(path: Path, url: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "emulator",
        "clusters": [{"name": "emulator", "cluster": {"server": url}}],
        "users": [{"name": "admin", "user": {"token": "emulator-admin-token-0123456789"}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "admin"}}],
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def start(tmp: Path, git_version: str = "v1.33.5") -> tuple[KubeApi, Callable[[], None]]:
    emulator = KubeEmulator(git_version)
    server = EmulatorServer(emulator)
    threads = [
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True),
        threading.Thread(target=emulator.run_controllers, daemon=True),
    ]
    for thread in threads:
        thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    api = KubeApi(url, write_kubeconfig(tmp / "kubeconfig", url), emulator)

    def stop() -> None:
        emulator.stop()
        server.shutdown()
        server.server_close()

    return api, stop


@pytest.fixture
def kube_api(tmp_path: Path) -> Iterator[KubeApi]:
    """A fresh emulated cluster per test (starting one takes ~1 ms)."""
    api, stop = start(tmp_path)
    try:
        yield api
    finally:
        stop()

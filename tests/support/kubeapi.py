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
  or never become ready, with a Warning Event saying why, so waits, timeouts and failures are testable.
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

import pytest
import yaml

Obj = dict[str, Any]


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
]

WORKLOADS = {"Deployment", "DaemonSet", "StatefulSet", "Job"}
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


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


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
        self.lock = threading.RLock()
        self._rv = itertools.count(1)
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
            self._admit(rtype, obj)
        if old is not None and record:
            _refuse_immutable_change(rtype.kind, meta["name"], old.obj, obj)
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
            meta["generation"] = old.obj["metadata"].get("generation", 1)
            meta["resourceVersion"] = old.obj["metadata"]["resourceVersion"]
            if obj == old.obj:
                return copy.deepcopy(obj)
            if _spec(obj) != _spec(old.obj):
                meta["generation"] += 1
                old.changed_at = time.monotonic()
            meta["resourceVersion"] = str(next(self._rv))
            old.obj = obj
            event = "MODIFIED"
        else:
            if keep_status and rtype.status:
                obj.pop("status", None)  # status is written through the status subresource only
            meta.update(uid=f"uid-{next(self._uid)}", creationTimestamp=_now(), generation=1)
            meta["resourceVersion"] = str(next(self._rv))
            if rtype.kind == "Namespace":
                obj["status"] = {"phase": "Active"}
            self.objects[key] = Stored(rtype, obj)
            event = "ADDED"
        if record:
            self._record(record, rtype.kind, namespace, meta["name"])
        self._notify(rtype, event, obj)
        return copy.deepcopy(obj)

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

    def _delete(self, key: tuple[str, str, str, str], record: str | None) -> Obj:
        stored = self.objects[key]
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

    def _remove(self, key: tuple[str, str, str, str], record: str | None) -> Obj:
        stored = self.objects.pop(key)
        if stored.rtype.kind == "Namespace":
            for other in [k for k, s in self.objects.items() if s.rtype.namespaced and k[2] == key[3]]:
                self._remove(other, record=None)
        if record:
            self._record(record, stored.rtype.kind, key[2], key[3])
        self._notify(stored.rtype, "DELETED", stored.obj)
        return stored.obj

    def _record(self, verb: str, kind: str, namespace: str, name: str) -> None:
        self.writes.append((verb, kind, namespace, name))
        self.journal.append((time.time(), verb, kind, namespace, name))

    def evict(self, namespace: str, name: str) -> Obj:
        """The Eviction API: delete the pod unless a PodDisruptionBudget selecting it allows no disruption."""
        key = ("", "pods", namespace, name)
        stored = self.objects.get(key)
        if stored is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        labels = stored.obj["metadata"].get("labels", {})
        for other in self.objects.values():
            budget = other.obj
            if other.rtype.kind != "PodDisruptionBudget" or budget["metadata"].get("namespace") != namespace:
                continue
            wanted = (other.obj.get("spec", {}).get("selector") or {}).get("matchLabels", {})
            selects = all(labels.get(k) == v for k, v in wanted.items())
            if selects and other.obj.get("status", {}).get("disruptionsAllowed", 1) < 1:
                raise ApiError(
                    429,
                    "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                )
        self._delete(key, record="evict")
        return {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}

    def _notify(self, rtype: ResourceType, event: str, obj: Obj) -> None:
        if event == "DELETED":  # a real server gives the deletion a version of its own
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(next(self._rv))
        self.history.append((rtype, {"type": event, "object": copy.deepcopy(obj)}))
        for wtype, namespace, sink in list(self._watchers):
            if wtype == rtype and namespace in (None, obj["metadata"].get("namespace")):
                sink.put({"type": event, "object": copy.deepcopy(obj)})

    # -- API verbs -----------------------------------------------------------------------------------------

    def apply(
        self, rtype: ResourceType, namespace: str, name: str, body: Obj, manager: str, dry_run: bool = False
    ) -> Obj:
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
            previous = old.applied.get(manager, {})
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
        result = self._store(rtype, merged, keep_status=True, record="apply")
        self.objects[key].applied[manager] = copy.deepcopy(body)
        return result

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
                deleted = stored.obj["metadata"].get("deletionTimestamp")
                if (
                    stored.rtype.kind == "Namespace"
                    and deleted
                    and now >= stored.changed_at + self.namespace_termination
                ):
                    self._remove(key, record=None)
                ttl = (stored.obj.get("spec") or {}).get("ttlSecondsAfterFinished")
                if stored.finished_at is not None and ttl is not None and now >= stored.finished_at + ttl:
                    self._remove(key, record=None)  # the TTL-after-finished controller
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
            if obj.get("spec", {}).get("type") != "LoadBalancer":
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
# (A real server drops empty labels/annotations maps too; kept here, as other stages' tests read them.)
BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _normalised(obj: Obj) -> Obj:
    out = _drop_zero(copy.deepcopy(obj))
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
                self._watch(url.path, query)
                return
            code, payload = self._route(verb, url.path, query, body, content_type)
        except ApiError as err:
            code, payload = err.code, _status(err.code, err.reason, err.message)
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
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
        match = PATH.match(path)
        if not match:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource {path}")
        group = match["g"] or ""
        version = match["cv"] or match["v"]
        parts = [p for p in (match["rest"] or "").split("/") if p]
        if not parts:
            return 200, self._resource_list(group, version)
        namespace = ""
        if parts[0] == "namespaces" and len(parts) >= 3 and not (len(parts) == 3 and parts[2] == "status"):
            namespace, parts = parts[1], parts[2:]
        rtype = emu.types.get((group, parts[0]))
        if rtype is None or rtype.version != version:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource {path}")
        name = parts[1] if len(parts) > 1 else None
        sub = parts[2] if len(parts) > 2 else None
        with emu.lock:
            if name is None:
                return self._collection(verb, rtype, namespace, query, body)
            return self._item(verb, rtype, namespace, name, sub, query, body, ctype)

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
            items = [
                copy.deepcopy(s.obj)
                for k, s in emu.objects.items()
                if s.rtype == rtype
                and (not ns or k[2] == ns)
                and _selects(query.get("labelSelector", ""), s.obj["metadata"].get("labels", {}))
                and _field_selects(query.get("fieldSelector", ""), s.obj)
            ]
            items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            rv = str(
                max((int(s.obj["metadata"]["resourceVersion"]) for s in emu.objects.values()), default=0)
            )
            return 200, {
                "apiVersion": rtype.group_version,
                "kind": f"{rtype.kind}List",
                "metadata": {"resourceVersion": rv},
                "items": items,
            }
        if verb == "POST":
            try:
                obj = json.loads(body)
            except ValueError:
                raise ApiError(400, "BadRequest", "the request body is not valid JSON") from None
            emu.maybe_reject(rtype, obj.get("metadata", {}).get("name", ""), body)
            if rtype.namespaced:
                obj.setdefault("metadata", {}).setdefault("namespace", ns)
            name = obj.get("metadata", {}).get("name")
            if not name and obj.get("metadata", {}).get("generateName"):
                name = obj["metadata"]["generateName"] + f"{next(emu._uid):05d}"
                obj["metadata"]["name"] = name
            if emu._key(rtype, ns, name) in emu.objects:
                raise ApiError(409, "AlreadyExists", f'{rtype.plural} "{name}" already exists')
            if query.get("dryRun"):
                return 201, obj
            return 201, emu._store(rtype, obj, keep_status=True, record="create")
        raise ApiError(405, "MethodNotAllowed", f"{verb} is not allowed on a collection")

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
                raise ApiError(404, "NotFound", f'{rtype.plural} "{name}" not found')
            return 200, copy.deepcopy(stored.obj)
        if verb == "DELETE":
            if stored is None:
                raise ApiError(404, "NotFound", f'{rtype.plural} "{name}" not found')
            return 200, emu._delete(key, record="delete")
        if verb == "POST" and rtype.kind == "Pod" and sub == "eviction":
            return 201, emu.evict(ns, name)
        emu.maybe_reject(rtype, name, body)
        if verb == "PATCH" and ctype == "application/apply-patch+yaml":
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
            if sub == "status":
                patch = {"status": patch.get("status", {})}
            dry = query.get("dryRun")
            if dry not in (None, "All"):
                raise ApiError(
                    422, "Invalid", f'dryRun: Unsupported value: ["{dry}"]: supported values: "All"'
                )
            # SSA that creates answers 201, anything else 200 (cases 003-014)
            return 201 if stored is None else 200, emu.apply(
                rtype, ns, name, patch, manager, dry_run=dry == "All"
            )
        if stored is None:
            raise ApiError(404, "NotFound", f'{rtype.plural} "{name}" not found')
        if verb == "PATCH" and ctype not in (
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/strategic-merge-patch+json",
        ):
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )
        try:
            sent = json.loads(body) if body else None
        except ValueError:
            raise ApiError(400, "BadRequest", "the request body is not valid JSON") from None
        if verb == "PATCH":
            new = _merge(copy.deepcopy(stored.obj), sent)
        elif verb == "PUT":
            new = sent
            sent = (new.get("metadata") or {}).get("resourceVersion")
            if sent and sent != stored.obj["metadata"]["resourceVersion"]:  # optimistic concurrency
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {rtype.plural} "{name}": '
                    "the object has been modified; please apply your changes to the latest version",
                )
        else:
            raise ApiError(405, "MethodNotAllowed", verb)
        if sub == "status":
            full = copy.deepcopy(stored.obj)
            full["status"] = new.get("status", {})
            return 200, emu._store(rtype, full, keep_status=False, record="status")
        return 200, emu._store(rtype, new, keep_status=True, record="update")

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


def _status(code: int, reason: str, message: str) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


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

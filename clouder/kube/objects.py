"""Kubernetes objects as plain documents: identity, install order, parsing, stable hashing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

Obj = dict[str, Any]

# Helm's install order, extended with the kinds add-ons bring; unknown kinds (custom resources) go last.
INSTALL_ORDER = [
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PriorityClass", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service",
    "CSIDriver", "DaemonSet", "Pod", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet",
    "Job", "CronJob", "IngressClass", "Ingress", "APIService", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
]  # fmt: skip
CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment",
    "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass", "IngressClass",
    "RuntimeClass", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
}  # fmt: skip


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of one object: apiVersion, kind, namespace ('' when cluster-scoped), name."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Obj) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(
            str(obj["apiVersion"]), str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"])
        )

    @classmethod
    def from_list(cls, item: list[str]) -> ObjectRef:
        return cls(*item)

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    def as_list(self) -> list[str]:
        return [self.api_version, self.kind, self.namespace, self.name]

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


def install_rank(obj: Obj) -> int:
    kind = obj.get("kind", "")
    return INSTALL_ORDER.index(kind) if kind in INSTALL_ORDER else len(INSTALL_ORDER)


def ordered(objects: Iterable[Obj]) -> list[Obj]:
    return sorted(objects, key=install_rank)


def parse_documents(text: str, source: str = "") -> list[Obj]:
    """Every non-empty YAML document in ``text`` that looks like a Kubernetes object."""
    docs: list[Obj] = []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            raise ValueError(f"{source}: a document is not a Kubernetes object (no apiVersion/kind)")
        if str(doc["kind"]).endswith("List") and isinstance(doc.get("items"), list):
            docs.extend(item for item in doc["items"] if item)
            continue
        if not isinstance(doc.get("metadata") or {}, dict) or not (doc.get("metadata") or {}).get("name"):
            raise ValueError(f"{source}: a {doc['kind']} document has no metadata.name")
        docs.append(doc)
    return docs


def digest(obj: Obj) -> str:
    """A stable content hash of a document (key order does not matter)."""
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def contains(live: Any, desired: Any) -> bool:
    """True when every field ``desired`` sets has the same value in ``live`` (the server may add defaults)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(k in live and contains(live[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(live) == len(desired) and all(map(contains, live, desired))
    return bool(live == desired)


def to_yaml(objects: Iterable[Obj]) -> str:
    return yaml.safe_dump_all(list(objects), sort_keys=False, default_flow_style=False)

"""Per-release inventory: a ConfigMap in kube-system listing what the release applied, so later runs prune."""

from __future__ import annotations

import json
from dataclasses import dataclass

from clouder.kube.client import Kube
from clouder.kube.objects import Obj, ObjectRef

INVENTORY_NAMESPACE = "kube-system"
INVENTORY_LABEL = "clouder.dev/inventory"
RELEASE_LABEL = "clouder.dev/release"


@dataclass(frozen=True)
class Inventory:
    release: str
    version: str
    objects: frozenset[ObjectRef]

    @property
    def name(self) -> str:
        return f"clouder-release-{self.release}"

    def manifest(self) -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "namespace": INVENTORY_NAMESPACE,
                "labels": {INVENTORY_LABEL: "true", RELEASE_LABEL: self.release,
                           "app.kubernetes.io/managed-by": "clouder"},
            },
            "data": {
                "release": self.release,
                "version": self.version,
                "objects": json.dumps(sorted(ref.as_list() for ref in self.objects), indent=0),
            },
        }  # fmt: skip


def ref_for(release: str) -> ObjectRef:
    return ObjectRef("v1", "ConfigMap", INVENTORY_NAMESPACE, f"clouder-release-{release}")


def read(kube: Kube, release: str) -> Inventory | None:
    live = kube.get(ref_for(release))
    if live is None:
        return None
    data = live.get("data") or {}
    refs = frozenset(ObjectRef.from_list(item) for item in json.loads(data.get("objects") or "[]"))
    return Inventory(release, data.get("version", ""), refs)


def write(kube: Kube, inventory: Inventory, previous: Inventory | None) -> bool:
    """Store the inventory; False (and no request) when it equals what the cluster already holds."""
    if previous == inventory:
        return False
    kube.apply(inventory.manifest())
    return True


def releases(kube: Kube) -> list[Inventory]:
    found = []
    for item in kube.list("v1", "ConfigMap", INVENTORY_NAMESPACE, label_selector=f"{INVENTORY_LABEL}=true"):
        data = item.get("data") or {}
        refs = frozenset(ObjectRef.from_list(x) for x in json.loads(data.get("objects") or "[]"))
        found.append(Inventory(data.get("release", ""), data.get("version", ""), refs))
    return found

"""Per-release inventory: a ConfigMap in kube-system listing what the release applied, so later runs prune.

``owner`` names the stage that manages the release (``addons``, the service rollout …), so a stage can
find the releases it installed earlier and no longer plans.

``objects`` lists only what the cluster confirmed applying. ``pending`` lists what a run was about to apply
when it recorded the inventory: a run killed mid-apply leaves them there, so the next run still prunes any
of them it had created, while ``objects`` (read by status and checks) never names an object never applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from clouder.kube.client import Kube
from clouder.kube.objects import Obj, ObjectRef

INVENTORY_NAMESPACE = "kube-system"
INVENTORY_LABEL = "clouder.dev/inventory"
RELEASE_LABEL = "clouder.dev/release"
OWNER_LABEL = "clouder.dev/owner"


@dataclass(frozen=True)
class Inventory:
    release: str
    version: str
    objects: frozenset[ObjectRef]
    owner: str = ""
    pending: frozenset[ObjectRef] = frozenset()
    hooks: str = ""  # the release's delete hooks (JSON), run when it is uninstalled, as Helm keeps them
    # Jobs with ttlSecondsAfterFinished: "namespace/name" -> content hash as applied. Such a Job that is
    # gone (the TTL controller deleted it after it finished) with the same content is done, not missing.
    ttl_jobs: str = ""

    def removed_when_done(self, ref: ObjectRef) -> str:
        """The applied content hash of a TTL Job, or '' when the release has no such Job."""
        return str(json.loads(self.ttl_jobs or "{}").get(f"{ref.namespace}/{ref.name}", ""))

    @property
    def tracked(self) -> frozenset[ObjectRef]:
        """Everything a later run must consider for pruning: applied, and possibly applied."""
        return self.objects | self.pending

    @property
    def name(self) -> str:
        return f"clouder-release-{self.release}"

    def manifest(self) -> Obj:
        labels = {
            INVENTORY_LABEL: "true",
            RELEASE_LABEL: self.release,
            "app.kubernetes.io/managed-by": "clouder",
        }
        if self.owner:
            labels[OWNER_LABEL] = self.owner
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.name, "namespace": INVENTORY_NAMESPACE, "labels": labels},
            "data": {
                "release": self.release,
                "version": self.version,
                "owner": self.owner,
                "objects": _refs(self.objects),
                **({"pending": _refs(self.pending)} if self.pending else {}),
                **({"hooks": self.hooks} if self.hooks else {}),
                **({"ttlJobs": self.ttl_jobs} if self.ttl_jobs else {}),
            },
        }


def _refs(refs: frozenset[ObjectRef]) -> str:
    return json.dumps(sorted(ref.as_list() for ref in refs), indent=0)


def ref_for(release: str) -> ObjectRef:
    return ObjectRef("v1", "ConfigMap", INVENTORY_NAMESPACE, f"clouder-release-{release}")


def _parse(live: Obj) -> Inventory:
    data = live.get("data") or {}
    refs = frozenset(ObjectRef.from_list(item) for item in json.loads(data.get("objects") or "[]"))
    pending = frozenset(ObjectRef.from_list(item) for item in json.loads(data.get("pending") or "[]"))
    return Inventory(
        data.get("release", ""), data.get("version", ""), refs, data.get("owner", ""), pending,
        data.get("hooks", ""), data.get("ttlJobs", ""),
    )  # fmt: skip


def read(kube: Kube, release: str) -> Inventory | None:
    live = kube.get(ref_for(release))
    return None if live is None else _parse(live)


def write(kube: Kube, inventory: Inventory, previous: Inventory | None) -> bool:
    """Store the inventory; False (and no request) when it equals what the cluster already holds."""
    if previous == inventory:
        return False
    kube.apply(inventory.manifest())
    return True


def releases(kube: Kube, owner: str | None = None) -> list[Inventory]:
    """Every release Clouder recorded in this cluster (of one owner, when given), by name."""
    selector = f"{INVENTORY_LABEL}=true" + (f",{OWNER_LABEL}={owner}" if owner else "")
    found = [
        _parse(item) for item in kube.list("v1", "ConfigMap", INVENTORY_NAMESPACE, label_selector=selector)
    ]
    return sorted(found, key=lambda inventory: inventory.release)

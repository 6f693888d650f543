"""The typed plan summary: what a saved plan will do, by resource type, destructive changes first.

Built from ``terraform show -json PLAN`` (``resource_changes``, and ``resource_drift`` where Terraform deems
it relevant to the plan); a plan without changes skips ``show`` (seconds of provider start-up). The plan
hash covers the changes themselves (addresses, actions, before/after values), not the plan file's bytes,
so planning the same change twice gives the same hash and an approval can name it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from clouder.clouds import CloudRegistry

Action = Literal["create", "update", "delete", "replace", "import"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "replace", "import")


@dataclass(frozen=True)
class ProtectedTypes:
    """A cloud's Terraform resource types whose destruction needs approval (and which of them are nodes)."""

    network: frozenset[str]
    volumes: frozenset[str]
    nodes: frozenset[str]


# cloud -> "module:attribute" of its ProtectedTypes.
PROTECTED_TYPES: CloudRegistry[ProtectedTypes] = CloudRegistry(
    "the plan summary",
    {"aws": "clouder.terraform.aws:PROTECTED", "azure": "clouder.terraform.azure:PROTECTED"},
)
CONTROL_PLANE_MARKS = ("control-plane", "control_plane", "controlplane")


class SummaryModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class ResourceChange(SummaryModel):
    address: str
    type: str
    action: Action
    protected: str | None = Field(None, description="Why this change needs approval, if it does.")

    @property
    def destructive(self) -> bool:
        return self.action in ("delete", "replace")


class Drift(SummaryModel):
    address: str
    type: str
    action: str


class PlanSummary(SummaryModel):
    cluster: str
    plan_hash: str
    destroy_plan: bool = False
    changes: list[ResourceChange] = Field(default_factory=list)
    drift: list[Drift] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list, description="Policy findings on the planned config.")

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        counter = Counter(change.action for change in self.changes)
        return {action: counter.get(action, 0) for action in ACTIONS}

    def by_type(self) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = {}
        for change in self.changes:
            table.setdefault(change.type, Counter())[change.action] += 1
        return {kind: {a: row.get(a, 0) for a in ACTIONS} for kind, row in sorted(table.items())}

    @property
    def destructive(self) -> list[ResourceChange]:
        return [change for change in self.changes if change.destructive]

    @property
    def needs_approval(self) -> list[ResourceChange]:
        return [change for change in self.destructive if change.protected]

    def as_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "planHash": self.plan_hash,
            "destroyPlan": self.destroy_plan,
            "hasChanges": self.has_changes,
            "counts": self.counts(),
            "byType": self.by_type(),
            "destructive": [c.model_dump() for c in self.destructive],
            "needsApproval": [c.model_dump() for c in self.needs_approval],
            "changes": [c.model_dump() for c in self.changes],
            "drift": [d.model_dump() for d in self.drift],
            "findings": self.findings,
        }


def summary_from_show(
    cluster: str, document: dict[str, Any], destroy_plan: bool = False, *, cloud: str
) -> PlanSummary:
    protected = PROTECTED_TYPES[cloud]
    changes = []
    hashed = []
    for entry in document.get("resource_changes", []):
        if entry.get("mode") == "data":
            continue
        change = entry.get("change", {})
        action = _action(change.get("actions", []), importing=bool(change.get("importing")))
        if action is None:
            continue
        changes.append(
            ResourceChange(
                address=entry["address"],
                type=entry["type"],
                action=action,
                protected=_protected(entry, action, protected),
            )
        )
        hashed.append(
            [
                entry["address"],
                change.get("actions"),
                change.get("before"),
                change.get("after"),
                change.get("after_unknown"),
                change.get("importing"),
            ]
        )
    relevant = {item.get("resource") for item in document.get("relevant_attributes", [])}
    relevant |= {change.address for change in changes}
    drift = [
        Drift(address=entry["address"], type=entry["type"], action=_drift_action(entry))
        for entry in document.get("resource_drift", [])
        if entry.get("mode") != "data" and entry["address"] in relevant
    ]
    outputs = {k: v.get("actions") for k, v in sorted(document.get("output_changes", {}).items())}
    return PlanSummary(
        cluster=cluster,
        plan_hash=change_hash(hashed, outputs, destroy_plan),
        destroy_plan=destroy_plan,
        changes=changes,
        drift=drift,
    )


def summary_from_messages(cluster: str, destroy_plan: bool = False) -> PlanSummary:
    """A plan without changes. Like Terraform's own UI, drift that changes nothing is not reported."""
    return PlanSummary(
        cluster=cluster, plan_hash=change_hash([], {}, destroy_plan), destroy_plan=destroy_plan
    )


def change_hash(changes: list[Any], outputs: dict[str, Any], destroy_plan: bool) -> str:
    canonical = json.dumps(
        [sorted(changes, key=lambda row: str(row[0])), outputs, destroy_plan],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _action(actions: list[str], importing: bool) -> Action | None:
    if set(actions) == {"create", "delete"}:
        return "replace"
    if importing:  # adopting an existing resource, possibly with an in-place update
        return "import"
    if actions == ["create"]:
        return "create"
    if actions == ["update"]:
        return "update"
    if actions == ["delete"]:
        return "delete"
    return None


def _drift_action(entry: dict[str, Any]) -> str:
    actions = entry.get("change", {}).get("actions", [])
    return "deleted" if actions == ["delete"] else "changed"


def _protected(entry: dict[str, Any], action: Action, types: ProtectedTypes) -> str | None:
    if action not in ("delete", "replace"):
        return None
    kind = entry["type"]
    if kind in types.network:
        return "network"
    if kind in types.volumes:
        return "data volume"
    if kind in types.nodes and _is_control_plane(entry):
        return "control-plane node"
    return None


def _is_control_plane(entry: dict[str, Any]) -> bool:
    change = entry.get("change", {})
    texts = [entry["address"].lower()]
    for side in (change.get("before"), change.get("after")):
        if isinstance(side, dict):
            for key in ("tags", "tags_all"):
                tags = side.get(key) or {}
                if isinstance(tags, dict):
                    texts += [f"{k}={v}".lower() for k, v in tags.items()]
    return any(mark in text for text in texts for mark in CONTROL_PLANE_MARKS)

"""Apply a release: validate, apply (server-side, field manager ``clouder``), prune, wait — one typed result.

A release is a named set of rendered manifests (from a chart or built by Clouder). Its inventory in the
cluster lists what it applied; objects a later rendering no longer contains are deleted.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from clouder.errors import ClouderError
from clouder.events import Redactor
from clouder.kube import inventory
from clouder.kube.client import Kube, RequestFailed
from clouder.kube.hooks import Hook, run_hooks
from clouder.kube.objects import (
    CLUSTER_SCOPED,
    INSTALL_ORDER,
    Obj,
    ObjectRef,
    contains,
    digest,
    install_rank,
    ordered,
)
from clouder.kube.readiness import needs_wait
from clouder.kube.validate import validate
from clouder.kube.wait import WaitReport, wait_ready
from clouder.kube.webhooks import failing_closed, wait_for_webhooks

HASH_ANNOTATION = "clouder.dev/applied-hash"
SYSTEM_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}
Action = Literal["created", "configured", "recreated", "unchanged", "pruned", "kept"]
# Helm never deletes these when a release drops them or is uninstalled: a CRD takes every custom resource of
# its kind, cluster-wide, with it; an object annotated resource-policy: keep was asked to outlive its release.
KEEP_ANNOTATION = "helm.sh/resource-policy"
# Kinds whose immutable fields (Job template; StorageClass parameters, reclaimPolicy …) change only by
# deleting and creating again. A StorageClass carries its default-class annotation in what is re-applied.
RECREATE = {"Job", "StorageClass"}


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    version: str
    manifests: tuple[Obj, ...]
    create_namespace: bool = True
    hooks: tuple[Hook, ...] = ()  # Helm hooks: run on their events, never applied as release objects

    def placed_hooks(self) -> tuple[Hook, ...]:
        return tuple(replace(h, manifest=_placed(h.manifest, self.namespace)) for h in self.hooks)

    def objects(self) -> list[Obj]:
        """The manifests with namespaces filled in, the release namespace first when Clouder creates it.

        Custom resources of a kind the release's own CRDs declare cluster-scoped get no namespace (what
        discovery will say once the CRD is served; GitOps output is written without a cluster).
        """
        scoped = _cluster_scoped_kinds(self.manifests)
        found = [_placed(obj, self.namespace, scoped) for obj in self.manifests]
        declared = any(o["kind"] == "Namespace" and o["metadata"]["name"] == self.namespace for o in found)
        if self.create_namespace and self.namespace not in SYSTEM_NAMESPACES and not declared:
            found.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}})
        return ordered(found)


@dataclass(frozen=True)
class Change:
    ref: ObjectRef
    action: Action


@dataclass
class ReleaseResult:
    release: str
    version: str
    changes: list[Change] = field(default_factory=list)
    wait: WaitReport = field(default_factory=WaitReport)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.wait.ok

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]

    @property
    def counts(self) -> dict[str, int]:
        """How many objects took each action."""
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        return counts

    def summary(self) -> str:
        return ", ".join(f"{n} {action}" for action, n in sorted(self.counts.items())) or "nothing to apply"


@dataclass(frozen=True)
class ApplyOptions:
    kubernetes_version: str
    timeout: float = 300.0
    interval: float = 2.0
    on_change: Callable[[Change], None] | None = None
    owner: str = ""  # the stage managing the release, recorded in its inventory
    on_wait: Callable[[str], None] | None = None  # what the release is waiting for, and why


def _cluster_scoped_kinds(manifests: tuple[Obj, ...]) -> frozenset[tuple[str, str]]:
    found = set()
    for crd in manifests:
        spec = crd.get("spec") or {}
        if crd.get("kind") == "CustomResourceDefinition" and spec.get("scope") == "Cluster":
            found.add((str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))))
    return frozenset(found)


def _placed(obj: Obj, namespace: str, scoped: frozenset[tuple[str, str]] = frozenset()) -> Obj:
    placed = copy.deepcopy(obj)
    meta = placed["metadata"] = dict(placed.get("metadata") or {})
    group = str(placed.get("apiVersion", "")).rpartition("/")[0]
    if placed["kind"] in CLUSTER_SCOPED or (group, placed["kind"]) in scoped:
        meta.pop("namespace", None)
    elif not meta.get("namespace"):
        meta["namespace"] = namespace
    return placed


def _desired(obj: Obj, release: str, namespaced: bool) -> Obj:
    desired = copy.deepcopy(obj)
    meta = desired["metadata"] = dict(desired.get("metadata") or {})
    if not namespaced:
        meta.pop("namespace", None)
    # Charts render ``labels: null`` / ``annotations: null`` (Cilium's cilium-secrets Namespace): the API
    # server takes null as "no map", and so does Clouder.
    meta["labels"] = {**(meta.get("labels") or {}), inventory.RELEASE_LABEL: release}
    meta["annotations"] = dict(meta.get("annotations") or {})
    meta["annotations"][HASH_ANNOTATION] = digest(desired)
    return desired


def prepare(kube: Kube, obj: Obj, release: str) -> Obj:
    """The object as Clouder applies it: scoped as the cluster serves its kind, labelled, content-hashed."""
    return _desired(obj, release, kube.namespaced(obj["apiVersion"], obj["kind"]))


def apply_object(kube: Kube, desired: Obj, deadline: float | None = None, interval: float = 2.0,
                 say: Callable[[str], None] | None = None,
                 before_write: Callable[[Obj], None] | None = None) -> Change:  # fmt: skip
    """Apply one prepared object unless the cluster already holds exactly what it asks for.

    A Namespace still Terminating (pruned a moment ago) is waited out before it is made again; a Job or
    StorageClass whose immutable fields changed is deleted and created again.
    """
    ref = ObjectRef.of(desired)
    live = kube.get(ref)
    if live is not None and ref.kind == "Namespace" and (live.get("metadata") or {}).get("deletionTimestamp"):
        if say:
            say(f"waiting for namespace {ref.name} to finish terminating before creating it again")
        _wait_gone(kube, ref, deadline, interval, "namespace is still terminating")
        live = None
    if live is not None and (contains(live, desired) or _same(live, kube.apply(desired, dry_run=True))):
        return Change(ref, "unchanged")
    if before_write:
        before_write(desired)
    try:
        applied = kube.apply(desired)
    except RequestFailed as exc:
        if not (
            exc.status == 422 and ref.kind in RECREATE and live is not None and "immutable" in exc.detail
        ):
            raise
        if say:
            say(f"{ref}: immutable fields changed, deleting and creating it again")
        kube.delete(ref)
        _wait_gone(kube, ref, deadline, interval, "still being deleted")
        kube.apply(desired)
        return Change(ref, "recreated")
    if live is None:
        return Change(ref, "created")
    # The API server persists nothing for a no-op apply: the same resourceVersion means nothing changed
    # (e.g. the server had normalised a quantity, so the rendered text differs from the live object).
    same = applied.get("metadata", {}).get("resourceVersion") == live["metadata"].get("resourceVersion")
    return Change(ref, "unchanged" if same else "configured")


VOLATILE = ("managedFields", "resourceVersion", "generation")


def _same(live: Obj, preview: Obj) -> bool:
    """Would the apply change nothing? The server's dry run normalised and defaulted the object as it
    stores it (zero values dropped, ``cpu: 2`` → ``"2"``, RBAC ``apiGroup`` filled in), so comparing it
    with the live object judges "unchanged" the way the server does."""

    def strip(obj: Obj) -> Obj:
        meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in VOLATILE}
        return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}

    return strip(live) == strip(preview)


def _wait_gone(kube: Kube, ref: ObjectRef, deadline: float | None, interval: float, why: str) -> None:
    deadline = deadline if deadline is not None else time.monotonic() + 300.0
    while kube.get(ref) is not None:
        if time.monotonic() >= deadline:
            raise ClouderError(f"{ref}: {why} after the step's timeout.", "Run again once it is gone.")
        time.sleep(interval)


def apply_release(kube: Kube, release: Release, options: ApplyOptions) -> ReleaseResult:
    """Validate → record inventory (old + pending) → pre hooks → apply → prune → record inventory
    (applied) → wait → post hooks. One ``options.timeout`` budget covers every wait of the release.

    Whatever stops the apply, the inventory ends listing what the cluster confirmed: an error records the
    objects applied so far (and nothing that was not), a kill leaves the planned ones as ``pending``.
    """
    started = time.monotonic()
    deadline = started + options.timeout
    objects = release.objects()
    hooks = release.placed_hooks()
    register_secrets(objects + [h.manifest for h in hooks], kube.redactor)
    validate(objects + [h.manifest for h in hooks], options.kubernetes_version, release.name, kube.redactor)
    result = ReleaseResult(release.name, release.version)

    def note(change: Change) -> None:
        result.changes.append(change)
        if options.on_change and change.action != "unchanged":
            options.on_change(change)

    crds = [prepare(kube, o, release.name) for o in objects if o["kind"] == "CustomResourceDefinition"]
    previous = inventory.read(kube, release.name)
    before = previous or inventory.Inventory(release.name, release.version, frozenset(), options.owner)
    # Custom resources are scoped after their CRDs are served, so they are known only once applied.
    planned = {ObjectRef.of(o) for o in crds} | {ObjectRef.of(o) for o in objects if _known(o)}
    staged = replace(before, owner=options.owner, pending=before.pending | (planned - before.objects))
    inventory.write(kube, staged, previous)
    stage = "install" if previous is None else "upgrade"
    upgrading = previous is not None and _upgrade_due(kube, release, previous, objects, hooks)
    try:
        # Namespaces first: pre hooks run in them, as Helm's --create-namespace makes them before hooks.
        namespaces = [prepare(kube, o, release.name) for o in objects if o["kind"] == "Namespace"]
        for obj in namespaces:
            note(apply_object(kube, obj, deadline, options.interval, options.on_wait))
        if previous is None or upgrading:
            run_hooks(kube, hooks, f"pre-{stage}", deadline, options.interval)
        _apply_crds(kube, crds, release, options, note, deadline)
        desired = [
            prepare(kube, o, release.name)
            for o in objects
            if o["kind"] not in ("CustomResourceDefinition", "Namespace")
        ]
        webhooks, served = failing_closed(kube), set[ObjectRef]()

        def admitted(obj: Obj) -> None:
            wait_for_webhooks(kube, obj, webhooks, deadline, options.interval, options.on_wait, served)

        for obj in desired:
            if _finished_and_removed(kube, obj, before):
                note(Change(ObjectRef.of(obj), "unchanged"))
                continue
            note(apply_object(kube, obj, deadline, options.interval, options.on_wait, admitted))
    except Exception:
        applied = frozenset(c.ref for c in result.changes)
        stopped = replace(before, owner=options.owner, objects=before.objects | applied,
                          pending=before.pending - applied)  # fmt: skip
        with contextlib.suppress(ClouderError):
            inventory.write(kube, stopped, staged)
        raise
    current = frozenset(c.ref for c in result.changes)
    for change in _retire_all(kube, before.tracked - current, release.name):
        note(change)
    final = inventory.Inventory(release.name, release.version, current, options.owner,
                                hooks=_delete_hooks(hooks), ttl_jobs=_ttl_jobs(desired))  # fmt: skip
    inventory.write(kube, final, staged)
    waited = [ObjectRef.of(o) for o in crds + namespaces + desired if needs_wait(o)]
    vanish = {ObjectRef.of(o) for o in desired if _ttl(o) is not None}
    left = max(0.0, deadline - time.monotonic())
    result.wait = wait_ready(kube, waited, left, options.interval, vanish_when_done=vanish, since=started)
    if result.wait.ok and (previous is None or upgrading or result.changed):
        run_hooks(kube, hooks, f"post-{stage}", deadline, options.interval)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _upgrade_due(
    kube: Kube, release: Release, previous: inventory.Inventory, objects: list[Obj], hooks: tuple[Hook, ...]
) -> bool:
    """Upgrade hooks run when a run changes the release (Helm runs them on every ``helm upgrade``; a
    Clouder run that changes nothing is no upgrade, so that a second run writes nothing)."""
    if not any("pre-upgrade" in h.events or "post-upgrade" in h.events for h in hooks):
        return False
    if previous.version != release.version or previous.pending:
        return True
    if {ObjectRef.of(o) for o in objects if _known(o)} - previous.objects:
        return True
    for obj in objects:
        try:
            desired = prepare(kube, obj, release.name)
            live = kube.get(ObjectRef.of(desired))
        except ClouderError:
            return True
        if live is None or not contains(live, desired):
            return True
    return False


def _ttl(obj: Obj) -> int | None:
    if obj.get("kind") != "Job":
        return None
    ttl = (obj.get("spec") or {}).get("ttlSecondsAfterFinished")
    return ttl if isinstance(ttl, int) else None


def _ttl_jobs(desired: list[Obj]) -> str:
    refs = {
        ObjectRef.of(o): o["metadata"]["annotations"][HASH_ANNOTATION] for o in desired if _ttl(o) is not None
    }
    found = {f"{ref.namespace}/{ref.name}": digest_ for ref, digest_ in refs.items()}
    return json.dumps(found, sort_keys=True, separators=(",", ":")) if found else ""


def _finished_and_removed(kube: Kube, desired: Obj, recorded: inventory.Inventory) -> bool:
    """A TTL Job applied before with this very content and now gone has finished: it is done."""
    if _ttl(desired) is None:
        return False
    ref = ObjectRef.of(desired)
    applied = recorded.removed_when_done(ref)
    return (
        bool(applied)
        and applied == desired["metadata"]["annotations"][HASH_ANNOTATION]
        and kube.get(ref) is None
    )


def _delete_hooks(hooks: tuple[Hook, ...]) -> str:
    kept = [h.as_dict() for h in hooks if {"pre-delete", "post-delete"} & set(h.events)]
    return json.dumps(kept, sort_keys=True, separators=(",", ":")) if kept else ""


def register_secrets(objects: list[Obj], redactor: Redactor) -> None:
    """Every value of every Secret a release carries (chart-generated keys too) is redacted from output."""
    for obj in objects:
        if obj["kind"] != "Secret":
            continue
        for value in (obj.get("stringData") or {}).values():
            redactor.add(str(value))
        for value in (obj.get("data") or {}).values():
            redactor.add(str(value))
            with contextlib.suppress(ValueError):  # UnicodeDecodeError is a ValueError
                redactor.add(base64.b64decode(str(value)).decode())


def _known(obj: Obj) -> bool:
    return obj["kind"] in INSTALL_ORDER or obj["kind"] in CLUSTER_SCOPED


def _apply_crds(
    kube: Kube,
    crds: list[Obj],
    release: Release,
    options: ApplyOptions,
    note: Callable[[Change], None],
    deadline: float,
) -> None:
    if not crds:
        return
    changes = [apply_object(kube, crd) for crd in crds]
    for change in changes:
        note(change)
    left = max(0.0, deadline - time.monotonic())
    report = wait_ready(kube, [c.ref for c in changes], left, options.interval)
    if not report.ok:
        raise ClouderError(
            f"release {release.name}: CustomResourceDefinitions not established:\n{report.render()}"
        )
    if any(c.action != "unchanged" for c in changes):
        kube.refresh_discovery()


def uninstall_release(kube: Kube, name: str, timeout: float = 300.0, interval: float = 2.0) -> ReleaseResult:
    """Run the release's pre-delete hooks, delete everything its inventory lists that it still owns,
    then the inventory itself, then its post-delete hooks (the hooks recorded when it was applied)."""
    started = time.monotonic()
    deadline = started + timeout
    recorded = inventory.read(kube, name)
    result = ReleaseResult(name, recorded.version if recorded else "")
    if recorded is None:
        return result
    hooks = tuple(Hook.from_dict(item) for item in json.loads(recorded.hooks or "[]"))
    run_hooks(kube, hooks, "pre-delete", deadline, interval)
    result.changes += _retire_all(kube, recorded.tracked, name)
    kube.delete(inventory.ref_for(name))
    run_hooks(kube, hooks, "post-delete", deadline, interval)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _retire_all(kube: Kube, refs: frozenset[ObjectRef], release: str) -> list[Change]:
    """Delete what the release no longer renders, as Helm would; a Namespace holding a kept object stays."""
    changes, holding = [], set()
    for ref in prune_order(refs):
        retired = _retire(kube, ref, release, keep=ref.kind == "Namespace" and ref.name in holding)
        if retired == "kept" and ref.namespace:
            holding.add(ref.namespace)
        if retired is not None:
            changes.append(Change(ref, retired))
    return changes


def _retire(kube: Kube, ref: ObjectRef, release: str, keep: bool) -> Action | None:
    """Only what still carries this release's label (another release may have adopted it) is deleted, and
    never a CRD or an object marked ``keep``."""
    try:
        live = kube.get(ref)
    except ClouderError:
        return None  # its kind is gone: nothing left to delete
    if live is None:
        return None
    metadata = live.get("metadata") or {}
    if (metadata.get("labels") or {}).get(inventory.RELEASE_LABEL) != release:
        return None
    policy = (metadata.get("annotations") or {}).get(KEEP_ANNOTATION)
    if keep or ref.kind == "CustomResourceDefinition" or policy == "keep":
        return "kept"
    return "pruned" if kube.delete(ref) else None


def prune_order(refs: frozenset[ObjectRef]) -> list[ObjectRef]:
    """Reverse install order: workloads before their RBAC, namespaces and CRDs last."""
    return sorted(refs, key=lambda r: install_rank({"kind": r.kind}), reverse=True)

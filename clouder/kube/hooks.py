"""Helm hooks, run as Helm runs them: by event, in weight order, waited on, deleted per their policies.

A hook is never part of a release's objects: it is created when its event fires (``pre-install`` before
the release's objects on the first install, ``post-upgrade`` after them on a later run that changes
something, ``pre-delete`` when the release is uninstalled …), Jobs and Pods are waited on until they
finish, and ``helm.sh/hook-delete-policy`` says when it is deleted again (``before-hook-creation`` when
no policy is given, as Helm does). ``test`` hooks are never run: Clouder does not run chart tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, get_args

from clouder.errors import ClouderError
from clouder.kube.client import ConflictError, Kube
from clouder.kube.objects import Obj, ObjectRef
from clouder.kube.readiness import Readiness, assess

HOOK = "helm.sh/hook"
WEIGHT = "helm.sh/hook-weight"
DELETE_POLICY = "helm.sh/hook-delete-policy"
Event = Literal[
    "pre-install", "post-install", "pre-upgrade", "post-upgrade", "pre-delete", "post-delete",
    "pre-rollback", "post-rollback",
]  # fmt: skip
EVENTS: frozenset[str] = frozenset(get_args(Event))
TEST_EVENTS = frozenset({"test", "test-success", "test-failure"})
POLICIES = frozenset({"before-hook-creation", "hook-succeeded", "hook-failed"})


@dataclass(frozen=True)
class Hook:
    """One hook document: the events it runs on, its weight and delete policies, and its manifest."""

    events: tuple[str, ...]
    weight: int
    delete_policies: tuple[str, ...]
    manifest: Obj

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef.of(self.manifest)

    def as_dict(self) -> Obj:
        return {"events": list(self.events), "weight": self.weight,
                "deletePolicies": list(self.delete_policies), "manifest": self.manifest}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Obj) -> Hook:
        policies = tuple(data["deletePolicies"])
        return cls(tuple(data["events"]), int(data["weight"]), policies, data["manifest"])


def hook_annotations(doc: Obj) -> dict[str, str]:
    return dict((doc.get("metadata") or {}).get("annotations") or {})


def hook_of(doc: Obj, source: str) -> Hook | None:
    """The hook a rendered document declares, or None for an ordinary object (Helm's manifest sorter)."""
    notes = hook_annotations(doc)
    if HOOK not in notes:
        return None
    events = tuple(e.strip().lower() for e in str(notes[HOOK]).split(",") if e.strip())
    try:
        weight = int(str(notes.get(WEIGHT, "0")).strip() or "0")
    except ValueError:
        raise ClouderError(
            f"{source}: {ObjectRef.of(doc)} has {WEIGHT} {notes[WEIGHT]!r}, which is not a whole number."
        ) from None
    policies = tuple(p.strip() for p in str(notes.get(DELETE_POLICY, "")).split(",") if p.strip())
    return Hook(tuple(e for e in events if e in EVENTS), weight, policies or ("before-hook-creation",), doc)


def run_hooks(kube: Kube, hooks: tuple[Hook, ...], event: str, deadline: float, interval: float) -> list[str]:
    """Run the hooks of one event in Helm's order (weight, then name); the names of the hooks run.

    A hook that fails (or does not finish before ``deadline``, a ``time.monotonic()`` value) stops the
    event with a ClouderError naming it and why.
    """
    due = sorted((h for h in hooks if event in h.events), key=lambda h: (h.weight, h.ref.name))
    done = []
    for hook in due:
        _run_one(kube, hook, event, deadline, interval)
        done.append(str(hook.ref))
    return done


def _run_one(kube: Kube, hook: Hook, event: str, deadline: float, interval: float) -> None:
    ref = hook.ref
    if "before-hook-creation" in hook.delete_policies:
        _delete_and_wait(kube, ref, deadline, interval)
    try:
        created = kube.create(hook.manifest)
    except ConflictError:
        raise ClouderError(
            f"{event} hook {ref} exists already and its delete policy {list(hook.delete_policies)} does not "
            "replace it.",
            f"Delete {ref} (or add before-hook-creation to its {DELETE_POLICY}), then run again.",
        ) from None
    since = str((created.get("metadata") or {}).get("resourceVersion") or "")
    state = _wait_finished(kube, ref, since, deadline, interval)
    if state.ready:
        if "hook-succeeded" in hook.delete_policies:
            kube.delete(ref)
        return
    if "hook-failed" in hook.delete_policies:
        kube.delete(ref)
    raise ClouderError(f"{event} hook {ref} did not succeed: {state.reason}")


def _wait_finished(kube: Kube, ref: ObjectRef, since: str, deadline: float, interval: float) -> Readiness:
    """Helm waits for Jobs and Pods only; any other hook is done once created.

    Watched, as Helm watches, from the version Clouder created: a hook Job with ttlSecondsAfterFinished: 0
    (ingress-nginx's certificate Jobs) is deleted the moment it completes, which a poll would only see as
    gone; the watch sees it complete first.
    """
    if ref.kind not in ("Job", "Pod"):
        return Readiness(True)
    state = Readiness(False, "not started")
    while (left := deadline - time.monotonic()) > 0:
        for change, live in kube.changes(ref, since, left):
            since = str(live["metadata"].get("resourceVersion") or since)
            state = _finished(live)
            if state.ready or state.failed:
                return state
            if change == "DELETED":
                return Readiness(False, "it disappeared before finishing", True)
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))  # the server ended the watch
    return Readiness(False, f"not finished in time ({state.reason})")


def _finished(live: Obj) -> Readiness:
    if live["kind"] == "Job":
        return assess(live)
    phase = (live.get("status") or {}).get("phase", "Pending")
    if phase == "Succeeded":
        return Readiness(True)
    return Readiness(False, f"pod is {phase}", phase == "Failed")


def _delete_and_wait(kube: Kube, ref: ObjectRef, deadline: float, interval: float) -> None:
    if not kube.delete(ref):
        return
    while kube.get(ref) is not None:
        if time.monotonic() >= deadline:
            raise ClouderError(f"hook {ref}: the previous one is still being deleted.")
        time.sleep(interval)

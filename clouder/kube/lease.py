"""One operator at a time: a coordination.k8s.io Lease in kube-system, held (and renewed) for a run.

Taking it is race-free: a missing Lease is created (the loser of a race gets 409), an expired one is
replaced with the resourceVersion that was read (a concurrent taker gets 409). A run that dies leaves a
Lease that expires after ``duration`` seconds; ``break_lock`` takes a live one over.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from clouder.errors import ClouderError
from clouder.kube.client import ConflictError, Kube
from clouder.kube.objects import Obj, ObjectRef

NAMESPACE = "kube-system"


class LeaseHeldError(ClouderError):
    """Another run holds the lease."""


def identity() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


def _body(name: str, holder: str, duration: int, acquired: str, version: str | None) -> Obj:
    meta: Obj = {"name": name, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "clouder"}}
    if version:
        meta["resourceVersion"] = version
    spec = {
        "holderIdentity": holder,
        "leaseDurationSeconds": duration,
        "acquireTime": acquired,
        "renewTime": _stamp(_now()),
    }
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}


def acquire(kube: Kube, name: str, holder: str, duration: int = 60, break_lock: bool = False) -> None:
    ref = ObjectRef("coordination.k8s.io/v1", "Lease", NAMESPACE, name)
    live = kube.get(ref)
    try:
        if live is None:
            kube.create(_body(name, holder, duration, _stamp(_now()), None))
            return
        spec = live.get("spec") or {}
        current = spec.get("holderIdentity")
        renewed = _parse(spec["renewTime"]) if spec.get("renewTime") else None
        left = (
            (renewed.timestamp() + spec.get("leaseDurationSeconds", duration) - _now().timestamp())
            if renewed
            else 0
        )
        if current and current != holder and left > 0 and not break_lock:
            raise LeaseHeldError(
                f"another clouder run ({current}) holds the lease {NAMESPACE}/{name}; "
                f"it expires in {left:.0f} s unless that run renews it.",
                "Wait for it to finish; if that run is gone, wait for the expiry or pass --break-lock.",
            )
        acquired = spec.get("acquireTime") if current == holder else None
        kube.replace(
            _body(name, holder, duration, acquired or _stamp(_now()), live["metadata"]["resourceVersion"])
        )
    except ConflictError:
        raise LeaseHeldError(f"another clouder run took the lease {NAMESPACE}/{name} just now.") from None


def release(kube: Kube, name: str, holder: str) -> None:
    live = kube.get(ObjectRef("coordination.k8s.io/v1", "Lease", NAMESPACE, name))
    if live is not None and (live.get("spec") or {}).get("holderIdentity") == holder:
        kube.delete(ObjectRef("coordination.k8s.io/v1", "Lease", NAMESPACE, name))


@contextmanager
def held(kube: Kube, name: str, duration: int = 60, break_lock: bool = False) -> Iterator[str]:
    """Hold the lease for the body of the ``with``, renewing it every ``duration / 3`` seconds."""
    holder = identity()
    acquire(kube, name, holder, duration, break_lock)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(duration / 3):
            try:
                acquire(kube, name, holder, duration)
            except ClouderError:
                return  # lost it: the run goes on, the next acquire by someone else will tell

    renewer = threading.Thread(target=renew, daemon=True, name=f"lease-{name}")
    renewer.start()
    try:
        yield holder
    finally:
        stop.set()
        renewer.join(timeout=5)
        release(kube, name, holder)

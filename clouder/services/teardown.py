"""Uninstall the services before the infrastructure goes: load balancers and volumes that controllers
created in the cloud for them would otherwise outlive the cluster (and block deleting its network)."""

from __future__ import annotations

import time

from clouder.dag import Graph
from clouder.errors import ClouderError
from clouder.kube import inventory
from clouder.kube.client import Kube
from clouder.kube.release import uninstall_release
from clouder.services.catalog import resolve
from clouder.services.rollout import STAGE
from clouder.spec.model import ClusterSpec


def uninstall(kube: Kube, spec: ClusterSpec, timeout: float = 300.0, interval: float = 1.0) -> list[str]:
    """Uninstall every release the rollout installed (dependents first); return the releases removed."""
    order = Graph.of((s.name, s.depends_on) for s in resolve(spec)).order()
    installed = {found.release for found in inventory.releases(kube, owner=STAGE)}
    removed, claimed = [], []
    for name in [*reversed(order), *sorted(installed - set(order))]:
        if name not in installed:
            continue
        result = uninstall_release(kube, name)
        claimed += [
            c.ref
            for c in result.changes
            if c.action == "pruned" and c.ref.kind in ("Service", "PersistentVolumeClaim")
        ]
        removed.append(name)
    deadline = time.monotonic() + timeout
    while claimed and time.monotonic() < deadline:
        claimed = [ref for ref in claimed if kube.get(ref) is not None]
        if claimed:
            time.sleep(interval)
    if claimed:
        raise ClouderError(
            f"still deleting after {timeout:g}s: {', '.join(map(str, claimed))}.",
            "Their cloud load balancers or volumes may remain: check the cloud console before destroying.",
        )
    return removed

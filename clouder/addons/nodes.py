"""Wait for the cloud controller manager to initialise the nodes the outputs contract lists."""

from __future__ import annotations

import threading
import time

from clouder.kube.client import Kube
from clouder.kube.objects import Obj
from clouder.outputs import ClusterOutputs

UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized"


def node_problem(node: Obj | None) -> str | None:
    if node is None:
        return "not registered"
    spec = node.get("spec") or {}
    if any(t.get("key") == UNINITIALIZED for t in spec.get("taints") or []):
        return f"still has the {UNINITIALIZED} taint"
    if not spec.get("providerID"):
        return "has no provider ID"
    return None


def wait_nodes_initialized(
    kube: Kube, outputs: ClusterOutputs, timeout: float, interval: float, stop: threading.Event | None = None
) -> list[str]:
    """Problems left at the deadline, one per node (empty when all are initialised); ``stop`` ends the wait
    early (the nodes still joining will not: their joins failed)."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = {n["metadata"]["name"]: n for n in kube.list("v1", "Node")}
        problems = [
            f"Node {node.name}: {p}" for node in outputs.nodes if (p := node_problem(nodes.get(node.name)))
        ]
        if not problems or time.monotonic() >= deadline or (stop is not None and stop.is_set()):
            return problems
        pause = min(interval, max(0.0, deadline - time.monotonic()))
        if stop is not None:
            stop.wait(pause)
        else:
            time.sleep(pause)

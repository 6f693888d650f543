"""Wait for the cloud controller manager to initialise the nodes the outputs contract lists."""

from __future__ import annotations

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


def wait_nodes_initialized(kube: Kube, outputs: ClusterOutputs, timeout: float, interval: float) -> list[str]:
    """Problems left at the deadline, one per node (empty when all are initialised)."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = {n["metadata"]["name"]: n for n in kube.list("v1", "Node")}
        problems = [
            f"Node {node.name}: {p}" for node in outputs.nodes if (p := node_problem(nodes.get(node.name)))
        ]
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

"""Which add-ons a cluster gets, what each needs first (``after``: the add-on DAG), and how each one becomes
a release (render step).

The edges come from what the pinned charts' pods need to start (said where each cloud lists its steps, in
``addons/aws.py`` and ``addons/azure.py``): a node stays NotReady, tainted
``node.kubernetes.io/not-ready:NoSchedule``, until the CNI runs on it, and a node the cloud controller has
not initialised keeps ``node.cloudprovider.kubernetes.io/uninitialized`` (NoSchedule). The CSI node plugins
tolerate every taint; the CSI and load balancer controllers tolerate neither of those two and run in the
pod network; the cloud controllers are made to tolerate the first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from clouder import __version__
from clouder.addons import cni
from clouder.addons.context import AddonContext
from clouder.addons.steps import GATE, ChartAddon, Guard, NodesInitialized, OwnAddon, Step
from clouder.catalog.charts import Catalog
from clouder.clouds import CloudRegistry
from clouder.kube.release import Release
from clouder.spec.model import ClusterSpec

__all__ = ["GATE", "PLANS", "ChartAddon", "Guard", "NodesInitialized", "OwnAddon", "Step", "plan",
           "render_step", "steps_for"]  # fmt: skip

# cloud -> "module:function" giving that cloud's add-ons after the CNI (named by the second argument):
# controllers, the gate, CSI drivers and classes, each with what it needs first.
PLANS: CloudRegistry[Callable[[ClusterSpec, str], list[Step]]] = CloudRegistry(
    "the add-on plan", {"aws": "clouder.addons.aws:steps", "azure": "clouder.addons.azure:steps"}
)


def plan(ctx: AddonContext) -> list[Step]:
    """The steps in install order (each after everything in its ``after``); ``run_addons`` runs the ones
    whose needs are met in parallel."""
    return steps_for(ctx.spec)


def steps_for(spec: ClusterSpec) -> list[Step]:
    """The add-on DAG depends on the spec alone (the cloud, ``cni.plugin``, the optional add-ons)."""
    # The CNI needs nothing: its agents run in the host network and tolerate every taint.
    cni_name = spec.cni.plugin
    steps: list[Step] = [ChartAddon(cni_name, cni.BUILDERS[cni_name])]
    # The gate waits for the cloud controller to set every node's provider ID and lift the uninitialized
    # taint: it needs the cloud controller and nothing else. What each cloud adds is its own (PLANS).
    steps += PLANS[spec.cloud](spec, cni_name)
    return steps


def render_step(
    step: ChartAddon | OwnAddon, ctx: AddonContext, catalog: Catalog, cache: Path | None
) -> Release:
    """Render one add-on into a release (chart pulled into the cache and rendered offline)."""
    if isinstance(step, OwnAddon):
        return Release(step.release, step.namespace, f"clouder-{__version__}", tuple(step.build(ctx)), False)
    from clouder.charts import render

    entry = catalog[step.release]
    rendered = render(entry, step.values(ctx), cache)
    if step.guard:
        step.guard(entry.release, list(rendered.manifests))
    return Release(entry.release, entry.namespace, entry.version, rendered.manifests, hooks=rendered.hooks)

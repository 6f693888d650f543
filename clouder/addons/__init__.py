"""Cluster add-ons (stage 6): CNI, cloud controller manager, CSI drivers, StorageClasses, load balancing."""

from clouder.addons.context import AddonContext
from clouder.addons.plan import ChartAddon, NodesInitialized, OwnAddon, Step, plan, render_step
from clouder.addons.run import AddonsReport, RunSettings, StepReport, run_addons

__all__ = [
    "AddonContext",
    "AddonsReport",
    "ChartAddon",
    "NodesInitialized",
    "OwnAddon",
    "RunSettings",
    "Step",
    "StepReport",
    "plan",
    "render_step",
    "run_addons",
]

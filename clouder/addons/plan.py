"""Which add-ons a cluster gets, in which order, and how each one becomes a release (render step)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clouder import __version__
from clouder.addons import aws, azure, cni
from clouder.addons.context import AddonContext, Values
from clouder.catalog.charts import Catalog
from clouder.kube.objects import Obj
from clouder.kube.release import Release

Guard = Callable[[str, list[Obj]], None]


@dataclass(frozen=True)
class ChartAddon:
    """A pinned chart from the catalog, with values computed from the spec and the outputs contract."""

    release: str
    values: Callable[[AddonContext], Values]
    guard: Guard | None = None


@dataclass(frozen=True)
class OwnAddon:
    """Objects Clouder builds itself (StorageClasses, the cloud-config secret)."""

    release: str
    namespace: str
    build: Callable[[AddonContext], list[Obj]]


@dataclass(frozen=True)
class NodesInitialized:
    """Gate: every node has a provider ID and no ``uninitialized`` taint (the CCM has done its work)."""

    release: str = "nodes-initialized"


Step = ChartAddon | OwnAddon | NodesInitialized


def plan(ctx: AddonContext) -> list[Step]:
    spec = ctx.spec
    steps: list[Step] = [ChartAddon(spec.cni.plugin, cni.BUILDERS[spec.cni.plugin])]
    if spec.cloud == "aws":
        steps += [
            ChartAddon("aws-cloud-controller-manager", aws.cloud_controller_manager, aws.refuse_static_keys),
            NodesInitialized(),
            ChartAddon("aws-ebs-csi-driver", aws.ebs_csi_driver, aws.refuse_static_keys),
            OwnAddon("storage-classes", "kube-system", lambda c: [aws.gp3_storage_class(c)]),
        ]
        if spec.load_balancing.controller:
            steps.append(
                ChartAddon(
                    "aws-load-balancer-controller", aws.load_balancer_controller, aws.refuse_static_keys
                )
            )
    else:
        steps += [
            OwnAddon(
                "azure-cloud-config", azure.CLOUD_CONFIG_NAMESPACE, lambda c: [azure.cloud_config_secret(c)]
            ),
            ChartAddon("cloud-provider-azure", azure.cloud_controller_manager),
            NodesInitialized(),
            ChartAddon("azuredisk-csi-driver", azure.disk_csi_driver),
        ]
        if spec.storage.file_storage:
            steps.append(ChartAddon("azurefile-csi-driver", azure.file_csi_driver))
        steps.append(OwnAddon("storage-classes", "kube-system", azure.storage_classes))
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

"""Which add-ons a cluster gets, what each needs first (``after``: the add-on DAG), and how each one becomes
a release (render step).

The edges come from what the pinned charts' pods need to start (their values files are quoted below): a
node stays NotReady, tainted ``node.kubernetes.io/not-ready:NoSchedule``, until the CNI runs on it, and a
node the cloud controller has not initialised keeps ``node.cloudprovider.kubernetes.io/uninitialized``
(NoSchedule). The CSI node plugins tolerate every taint; the CSI and load balancer controllers tolerate
neither of those two and run in the pod network; the cloud controllers are made to tolerate the first.
"""

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
from clouder.spec.model import ClusterSpec

Guard = Callable[[str, list[Obj]], None]


@dataclass(frozen=True)
class ChartAddon:
    """A pinned chart from the catalog, with values computed from the spec and the outputs contract."""

    release: str
    values: Callable[[AddonContext], Values]
    guard: Guard | None = None
    after: tuple[str, ...] = ()  # releases (or the gate) that must be ready first


@dataclass(frozen=True)
class OwnAddon:
    """Objects Clouder builds itself (StorageClasses, the cloud-config secret)."""

    release: str
    namespace: str
    build: Callable[[AddonContext], list[Obj]]
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodesInitialized:
    """Gate: every node has a provider ID and no ``uninitialized`` taint (the CCM has done its work)."""

    release: str = "nodes-initialized"
    after: tuple[str, ...] = ()


Step = ChartAddon | OwnAddon | NodesInitialized


GATE = NodesInitialized.release


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
    # taint: it needs the cloud controller and nothing else.
    if spec.cloud == "aws":
        ccm, ebs = "aws-cloud-controller-manager", "aws-ebs-csi-driver"
        steps += [
            # Needs nothing: Clouder runs it in the host network with a toleration for NotReady nodes
            # (aws.cloud_controller_manager), so it starts beside the CNI. With the chart's defaults (pod
            # network, no such toleration) it could start only once the CNI made the nodes Ready. The CNI
            # needs nothing of it either: kubeadm's kubelets set their --node-ip, so nodes have addresses
            # before the cloud controller initialises them (kubernetes/kubernetes#121028).
            ChartAddon(ccm, aws.cloud_controller_manager, aws.refuse_static_keys),
            NodesInitialized(after=(ccm,)),
            # The controller Deployment runs in the pod network and does not tolerate the uninitialized
            # taint; the volumes it creates are attached by the nodes' provider IDs.
            ChartAddon(ebs, aws.ebs_csi_driver, aws.refuse_static_keys, after=(cni_name, GATE)),
            # The default class is offered once a driver serves its provisioner (a claim made before
            # would wait for a provisioner that is not there).
            OwnAddon("storage-classes", "kube-system", lambda c: [aws.gp3_storage_class(c)], after=(ebs,)),
        ]
        if spec.load_balancing.controller:
            # Pod network for its webhook's endpoints (its own objects wait for them), initialised nodes
            # to schedule on, and their provider IDs (instance IDs) to register as targets. It needs
            # nothing of the EBS CSI driver: the two install side by side.
            lbc = aws.load_balancer_controller
            steps.append(
                ChartAddon(
                    "aws-load-balancer-controller", lbc, aws.refuse_static_keys, after=(cni_name, GATE)
                )
            )
    else:
        ccm, secret = "cloud-provider-azure", "azure-cloud-config"
        csi = (cni_name, GATE, secret)
        steps += [
            # azure.json: a Secret, needed by nothing but the pods that read it.
            OwnAddon(secret, azure.CLOUD_CONFIG_NAMESPACE, lambda c: [azure.cloud_config_secret(c)]),
            # Reads azure.json from the Secret. Its Deployment runs in the host network (the chart) and
            # Clouder adds a toleration for NotReady nodes (azure.cloud_controller_manager): it starts beside
            # the CNI; the cloud node manager DaemonSet tolerates every taint anyway.
            ChartAddon(ccm, azure.cloud_controller_manager, after=(secret,)),
            NodesInitialized(after=(ccm,)),
            # Each CSI controller reads azure.json, tolerates only the control-plane taints (upstream
            # values: controller.tolerations) and attaches by provider ID; disk and file side by side.
            ChartAddon("azuredisk-csi-driver", azure.disk_csi_driver, after=csi),
        ]
        drivers: tuple[str, ...] = ("azuredisk-csi-driver",)
        if spec.storage.file_storage:
            steps.append(ChartAddon("azurefile-csi-driver", azure.file_csi_driver, after=csi))
            drivers += ("azurefile-csi-driver",)
        steps.append(OwnAddon("storage-classes", "kube-system", azure.storage_classes, after=drivers))
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

"""Azure add-ons: cloud-config secret (azure.json), cloud controller manager, Azure Disk and Azure File CSI.

``azure.json`` is built from the outputs contract: managed identity (the nodes' user-assigned identity),
Standard load balancer. It lives only in the Secret ``kube-system/azure-cloud-provider`` (key
``cloud-config``), which the CCM and both CSI drivers read; its contents are registered for redaction.
"""

from __future__ import annotations

from clouder.addons.context import NOT_READY_TOLERATION, AddonContext, Values, compact_json, secret_manifest
from clouder.addons.steps import GATE, ChartAddon, NodesInitialized, OwnAddon, Step
from clouder.catalog.charts import AZURE_CCM_IMAGE_TAGS
from clouder.kube.objects import Obj
from clouder.spec.model import ClusterSpec

CLOUD_CONFIG_SECRET = "azure-cloud-provider"
CLOUD_CONFIG_NAMESPACE = "kube-system"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
CONTROL_PLANE = {"node-role.kubernetes.io/control-plane": ""}


def steps(spec: ClusterSpec, cni_name: str) -> list[Step]:
    """Azure's add-ons after the CNI ``cni_name``, each after what it needs (``plan.PLANS``)."""
    ccm, secret = "cloud-provider-azure", "azure-cloud-config"
    csi = (cni_name, GATE, secret)
    found: list[Step] = [
        # azure.json: a Secret, needed by nothing but the pods that read it.
        OwnAddon(secret, CLOUD_CONFIG_NAMESPACE, lambda c: [cloud_config_secret(c)]),
        # Reads azure.json from the Secret. Its Deployment runs in the host network (the chart) and
        # Clouder adds a toleration for NotReady nodes (cloud_controller_manager): it starts beside
        # the CNI; the cloud node manager DaemonSet tolerates every taint anyway.
        ChartAddon(ccm, cloud_controller_manager, after=(secret,)),
        NodesInitialized(after=(ccm,)),
        # Each CSI controller reads azure.json, tolerates only the control-plane taints (upstream
        # values: controller.tolerations) and attaches by provider ID; disk and file side by side.
        ChartAddon("azuredisk-csi-driver", disk_csi_driver, after=csi),
    ]
    drivers: tuple[str, ...] = ("azuredisk-csi-driver",)
    if spec.storage.file_storage:
        found.append(ChartAddon("azurefile-csi-driver", file_csi_driver, after=csi))
        drivers += ("azurefile-csi-driver",)
    found.append(OwnAddon("storage-classes", "kube-system", storage_classes, after=drivers))
    return found


def azure_json(ctx: AddonContext) -> Values:
    facts = ctx.azure
    for value in (facts.tenant_id, facts.subscription_id, facts.identity_client_id):
        ctx.secret(value)
    return {
        "cloud": "AzurePublicCloud",
        "tenantId": facts.tenant_id,
        "subscriptionId": facts.subscription_id,
        "resourceGroup": facts.resource_group,
        "location": facts.location,
        "vmType": "standard",
        "vnetName": facts.vnet_name,
        "vnetResourceGroup": facts.vnet_resource_group,
        "subnetName": facts.subnet_name,
        "securityGroupName": facts.security_group_name,
        "routeTableName": facts.route_table_name,
        "useManagedIdentityExtension": True,
        "userAssignedIdentityID": facts.identity_client_id,
        "useInstanceMetadata": True,
        "loadBalancerSku": facts.load_balancer_sku,
        "excludeMasterFromStandardLB": False,
        "cloudProviderBackoff": True,
        "cloudProviderRateLimit": True,
    }


def cloud_config_secret(ctx: AddonContext) -> Obj:
    return secret_manifest(CLOUD_CONFIG_SECRET, CLOUD_CONFIG_NAMESPACE,
                           {"cloud-config": compact_json(azure_json(ctx))}, ctx)  # fmt: skip


def cloud_controller_manager(ctx: AddonContext) -> Values:
    tag = AZURE_CCM_IMAGE_TAGS[ctx.minor]
    return {
        "infra": {"clusterName": ctx.spec.name},
        "cloudControllerManager": {
            "imageTag": tag,
            "replicas": ctx.control_plane_replicas,
            "clusterCIDR": ctx.spec.kubernetes.pod_cidr,
            "allocateNodeCidrs": "false",  # the CNI allocates pod addresses (overlay)
            "configureCloudRoutes": "false",
            # The chart always passes --cloud-config: empty, with dynamic reloading, makes the controller
            # read azure.json from the Secret instead of a file on the control plane's disk.
            "cloudConfig": "",
            "enableDynamicReloading": "true",
            "cloudConfigSecretName": CLOUD_CONFIG_SECRET,
            # The chart's own tolerations (values.yaml), plus NotReady nodes: the Deployment runs in the host
            # network (the chart's template), so it starts beside the CNI instead of after it.
            "tolerations": [
                {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
                {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                {"key": "node-role.kubernetes.io/etcd", "effect": "NoExecute"},
                NOT_READY_TOLERATION,
            ],
        },
        "cloudNodeManager": {"imageTag": tag},
    }


def _csi(ctx: AddonContext) -> Values:
    secret = {
        "cloudConfigSecretName": CLOUD_CONFIG_SECRET,
        "cloudConfigSecretNamespace": CLOUD_CONFIG_NAMESPACE,
    }
    return {
        # The controllers run on the control planes, whose identity alone holds their roles (the charts'
        # default tolerations already cover the control-plane taint).
        "controller": {"replicas": ctx.control_plane_replicas, "nodeSelector": CONTROL_PLANE, **secret},
        "node": dict(secret),
        "windows": {"enabled": False},
    }


def disk_csi_driver(ctx: AddonContext) -> Values:
    return _csi(ctx)


def file_csi_driver(ctx: AddonContext) -> Values:
    return _csi(ctx)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def storage_classes(ctx: AddonContext) -> list[Obj]:
    """``managed-csi`` (the default; Azure encrypts managed disks at rest) and ``azurefile-csi``."""
    storage = ctx.spec.storage
    disk: Obj = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "managed-csi", "annotations": {DEFAULT_CLASS: _flag(storage.default_class)}},
        "provisioner": "disk.csi.azure.com",
        "parameters": {"skuName": "StandardSSD_LRS"},
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "reclaimPolicy": storage.reclaim_policy,
    }  # fmt: skip
    classes = [disk]
    if storage.file_storage:
        classes.append({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "azurefile-csi"},
            "provisioner": "file.csi.azure.com",
            "parameters": {"skuName": "Standard_LRS"},
            "mountOptions": ["mfsymlinks", "actimeo=30", "nosharesock"],
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True,
            "reclaimPolicy": storage.reclaim_policy,
        })  # fmt: skip
    return classes

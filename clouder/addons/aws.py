"""AWS add-ons: cloud controller manager, EBS CSI driver with the gp3 class, AWS Load Balancer Controller.

Every AWS component authenticates with the node's instance profile (IMDSv2): no values here carry keys,
and ``refuse_static_keys`` rejects any rendering that would put static AWS credentials into the cluster.
"""

from __future__ import annotations

import base64
from typing import Any

from clouder.addons.context import NOT_READY_TOLERATION, AddonContext, Values
from clouder.addons.steps import GATE, ChartAddon, NodesInitialized, OwnAddon, Step
from clouder.catalog.charts import AWS_CCM_IMAGE_TAGS
from clouder.errors import ClouderError
from clouder.kube.objects import Obj, ObjectRef
from clouder.spec.model import ClusterSpec

CONTROL_PLANE = {"node-role.kubernetes.io/control-plane": ""}
# The controllers run on the control planes, whose role alone holds their policies (workers' pods cannot
# reach instance credentials: IMDS hop limit 1).
CONTROL_PLANE_TOLERATION = {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                            "effect": "NoSchedule"}  # fmt: skip
LBC_TLS_SECRET = ObjectRef("v1", "Secret", "kube-system", "aws-load-balancer-tls")
STATIC_KEY_NAMES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "key_id", "access_key"}


def steps(spec: ClusterSpec, cni_name: str) -> list[Step]:
    """AWS's add-ons after the CNI ``cni_name``, each after what it needs (``plan.PLANS``)."""
    ccm, ebs = "aws-cloud-controller-manager", "aws-ebs-csi-driver"
    found: list[Step] = [
        # Needs nothing: Clouder runs it in the host network with a toleration for NotReady nodes
        # (cloud_controller_manager), so it starts beside the CNI. With the chart's defaults (pod
        # network, no such toleration) it could start only once the CNI made the nodes Ready. The CNI
        # needs nothing of it either: kubeadm's kubelets set their --node-ip, so nodes have addresses
        # before the cloud controller initialises them (kubernetes/kubernetes#121028).
        ChartAddon(ccm, cloud_controller_manager, refuse_static_keys),
        NodesInitialized(after=(ccm,)),
        # The controller Deployment runs in the pod network and does not tolerate the uninitialized
        # taint; the volumes it creates are attached by the nodes' provider IDs.
        ChartAddon(ebs, ebs_csi_driver, refuse_static_keys, after=(cni_name, GATE)),
        # The default class is offered once a driver serves its provisioner (a claim made before
        # would wait for a provisioner that is not there).
        OwnAddon("storage-classes", "kube-system", lambda c: [gp3_storage_class(c)], after=(ebs,)),
    ]
    if spec.load_balancing.controller:
        # Pod network for its webhook's endpoints (its own objects wait for them), initialised nodes
        # to schedule on, and their provider IDs (instance IDs) to register as targets. It needs
        # nothing of the EBS CSI driver: the two install side by side.
        lbc = load_balancer_controller
        found.append(
            ChartAddon("aws-load-balancer-controller", lbc, refuse_static_keys, after=(cni_name, GATE))
        )
    return found


def cloud_controller_manager(ctx: AddonContext) -> Values:
    return {
        "image": {"tag": AWS_CCM_IMAGE_TAGS[ctx.minor]},
        "args": ["--v=2", "--cloud-provider=aws", f"--cluster-name={ctx.spec.name}",
                 "--configure-cloud-routes=false"],
        "nodeSelector": CONTROL_PLANE,
        # The chart's DaemonSet template sets hostNetwork only with this key (off by default); in the host
        # network the controller needs no pod address, reaches the API through kube-proxy's rules and the
        # instance metadata in one hop, and resolves through the node (the chart's dnsPolicy: Default).
        "hostNetworking": True,
        # The chart's own tolerations (values.yaml), plus NotReady nodes: it starts beside the CNI.
        "tolerations": [
            {"key": "node.cloudprovider.kubernetes.io/uninitialized", "value": "true",
             "effect": "NoSchedule"},
            {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
            NOT_READY_TOLERATION,
        ],
    }  # fmt: skip


def ebs_csi_driver(ctx: AddonContext) -> Values:
    return {
        "controller": {
            "region": ctx.aws.region,
            "replicaCount": ctx.control_plane_replicas,
            "k8sTagClusterId": ctx.spec.name,
            "extraVolumeTags": {"clouder.dev/cluster": ctx.spec.name},
            "nodeSelector": CONTROL_PLANE,
            # The chart's own tolerations, plus the control planes' taint.
            "tolerations": [
                {"key": "CriticalAddonsOnly", "operator": "Exists"},
                {"effect": "NoExecute", "operator": "Exists", "tolerationSeconds": 300},
                CONTROL_PLANE_TOLERATION,
            ],
        },
        # The node plugin reads instance metadata (instance ID, zone): from the host's network namespace it
        # is one hop away, within the workers' hop limit of 1.
        "node": {"hostNetwork": True},
        # Clouder applies the one default class (gp3) itself; the chart's classes stay off.
        "storageClasses": [],
        # The chart renders AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from an optional Secret by default:
        # null drops them (the driver uses the instance profile).
        "awsAccessSecret": None,
        "defaultStorageClass": {"enabled": False},
    }


def load_balancer_controller(ctx: AddonContext) -> Values:
    values: Values = {
        "clusterName": ctx.spec.name,
        "region": ctx.aws.region,
        "vpcId": ctx.aws.vpc_id,
        "replicaCount": ctx.control_plane_replicas,
        "serviceAccount": {"create": True, "name": "aws-load-balancer-controller"},
        "enableServiceMutatorWebhook": ctx.spec.load_balancing.service_mutator_webhook,
        "nodeSelector": CONTROL_PLANE,
        "tolerations": [CONTROL_PLANE_TOLERATION],
    }
    tls = _existing_webhook_tls(ctx)
    if tls:
        values["webhookTLS"] = tls
    return values


def _existing_webhook_tls(ctx: AddonContext) -> dict[str, str] | None:
    """Reuse the webhook certificate the chart generated on the first install (its offline render would
    otherwise mint a new one every run, and every run would be a change)."""
    if ctx.lookup is None:
        return None
    live = ctx.lookup(LBC_TLS_SECRET)
    data = (live or {}).get("data") or {}
    if not all(key in data for key in ("ca.crt", "tls.crt", "tls.key")):
        return None
    decoded = {key: base64.b64decode(data[key]).decode() for key in ("ca.crt", "tls.crt", "tls.key")}
    ctx.secret(decoded["tls.key"])
    return {"caCert": decoded["ca.crt"], "cert": decoded["tls.crt"], "key": decoded["tls.key"]}


def gp3_storage_class(ctx: AddonContext) -> Obj:
    annotations = {"storageclass.kubernetes.io/is-default-class": str(ctx.spec.storage.default_class).lower()}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp3", "annotations": annotations},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "reclaimPolicy": ctx.spec.storage.reclaim_policy,
    }


def refuse_static_keys(release: str, manifests: list[Obj]) -> None:
    """AWS components use the instance profile; a rendering that carries static keys is an error.

    Literal key values (``env[].value``, Secret data) are refused; an env entry that only refers to a
    Secret (``valueFrom.secretKeyRef``) carries no key, and a Secret the release renders is checked itself.
    """
    for obj in manifests:
        for name in _env_names(obj) | set((obj.get("data") or {}) | (obj.get("stringData") or {})):
            if name in STATIC_KEY_NAMES:
                raise ClouderError(
                    f"release {release}: {ObjectRef.of(obj)} would carry static AWS credentials ({name}).",
                    "AWS add-ons use the nodes' instance profile; remove the credentials from the values.",
                )


def _env_names(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "env" and isinstance(value, list):
                found |= {
                    str(item.get("name")) for item in value if isinstance(item, dict) and "value" in item
                }
            else:
                found |= _env_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= _env_names(item)
    return found

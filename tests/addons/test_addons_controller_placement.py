"""The cloud controllers run on the control planes (whose identity alone holds their rights), set through the
value keys the upstream charts really have (``../shared/upstream/`` values files at Clouder's pins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from clouder.addons import AddonContext
from clouder.addons import aws as aws_addons
from clouder.addons import azure as azure_addons
from support.clusters import EmulatedCluster
from support.upstream import upstream_text

CONTROL_PLANE = {"node-role.kubernetes.io/control-plane": ""}
TAINT = "node-role.kubernetes.io/control-plane"

# (values function, upstream values file, path of the controller's pod settings in the values; "" = top)
AWS = [
    (aws_addons.cloud_controller_manager,
     "kubernetes_cloud-provider-aws@87fed462__charts_aws-cloud-controller-manager_values.yaml", ""),
    (aws_addons.ebs_csi_driver,
     "kubernetes-sigs_aws-ebs-csi-driver@helm-chart-aws-ebs-csi-driver-2.50.0__charts_aws-ebs-csi-driver_values.yaml",
     "controller"),
    (aws_addons.load_balancer_controller,
     "kubernetes-sigs_aws-load-balancer-controller@v2.14.1__helm_aws-load-balancer-controller_values.yaml",
     ""),
]  # fmt: skip
AZURE = [
    (azure_addons.cloud_controller_manager,
     "kubernetes-sigs_cloud-provider-azure@HEAD__helm_repo_cloud-provider-azure-1.34.3.tgz__values.yaml",
     "cloudControllerManager"),
    (azure_addons.disk_csi_driver,
     "kubernetes-sigs_azuredisk-csi-driver@HEAD__charts_v1.33.5_azuredisk-csi-driver_values.yaml",
     "controller"),
    (azure_addons.file_csi_driver,
     "kubernetes-sigs_azurefile-csi-driver@HEAD__charts_v1.34.1_azurefile-csi-driver_values.yaml",
     "controller"),
]  # fmt: skip


def at(values: dict[str, Any], path: str) -> dict[str, Any]:
    for part in filter(None, path.split(".")):
        values = values.get(part) or {}
    return values


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = deep_merge(base[key], value) if both else value
    return merged


def check(ctx: AddonContext, values_of: Callable[[AddonContext], Any], source: str, path: str) -> None:
    defaults = yaml.safe_load(upstream_text(source))
    ours = values_of(ctx)
    for key in ("nodeSelector", "tolerations"):
        assert key in at(defaults, path), f"{source}: the chart has no {path}.{key}"
    effective = at(deep_merge(defaults, ours), path)  # Helm merges maps; lists are replaced whole
    assert effective["nodeSelector"] == CONTROL_PLANE, (values_of.__name__, effective["nodeSelector"])
    tolerated = [
        t for t in effective["tolerations"] if t.get("key") == TAINT and t.get("effect") == "NoSchedule"
    ]
    assert tolerated, (values_of.__name__, effective["tolerations"])


@pytest.mark.parametrize(("values_of", "source", "path"), AWS)
def test_aws_controllers_run_on_control_planes(
    aws_cluster: EmulatedCluster, values_of: Callable[[AddonContext], Any], source: str, path: str
) -> None:
    check(AddonContext(aws_cluster.spec, aws_cluster.outputs), values_of, source, path)


@pytest.mark.parametrize(("values_of", "source", "path"), AZURE)
def test_azure_controllers_run_on_control_planes(
    azure_cluster: EmulatedCluster, values_of: Callable[[AddonContext], Any], source: str, path: str
) -> None:
    check(AddonContext(azure_cluster.spec, azure_cluster.outputs), values_of, source, path)


def test_ebs_csi_node_plugin_uses_the_hosts_network_for_instance_metadata(
    aws_cluster: EmulatedCluster,
) -> None:
    # Workers' IMDS hop limit is 1: only the host's network namespace reaches it.
    defaults = yaml.safe_load(upstream_text(AWS[1][1]))
    assert "hostNetwork" in defaults["node"]
    values = aws_addons.ebs_csi_driver(AddonContext(aws_cluster.spec, aws_cluster.outputs))
    assert values["node"]["hostNetwork"] is True

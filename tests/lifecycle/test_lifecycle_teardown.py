"""Before `terraform destroy`: LoadBalancer Services, cloud-LB Ingresses and provisioned volumes are deleted
through the API (and waited on), per the spec's retention policy; everything else is left alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import yaml

from clouder.kube.client import Kube
from clouder.lifecycle.teardown import release_cloud_resources
from clouder.spec.model import ClusterSpec
from support.clusters import REPO
from support.kubeapi import KubeApi, ResourceType

INGRESS = ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", True, True)


def spec(reclaim: str) -> ClusterSpec:
    data = yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())
    data["storage"] = {"reclaimPolicy": reclaim}
    return ClusterSpec.model_validate(data)


def service(api: KubeApi, name: str, kind: str) -> None:
    api.emulator.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": kind, "ports": [{"port": 80}]},
        }
    )


def ingress(api: KubeApi, name: str, klass: str) -> None:
    api.emulator.put(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"ingressClassName": klass, "defaultBackend": {"service": {"name": "web"}}},
        }
    )


def volume(api: KubeApi, name: str, claim: str | None, provisioned: bool) -> None:
    annotations = {"pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com"} if provisioned else {}
    spec: dict[str, object] = {"capacity": {"storage": "1Gi"}, "persistentVolumeReclaimPolicy": "Delete"}
    if claim:
        spec["claimRef"] = {"namespace": "default", "name": claim}
        api.emulator.put(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim, "namespace": "default"},
                "spec": {"volumeName": name, "resources": {"requests": {"storage": "1Gi"}}},
            }
        )
    api.emulator.put(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": annotations},
            "spec": spec,
        }
    )


@pytest.fixture
def cluster(kube_api: KubeApi) -> Iterator[KubeApi]:
    """Services, Ingresses (ALB and nginx classes) and volumes; a CSI driver that deletes released PVs."""
    kube_api.emulator.types[(INGRESS.group, INGRESS.plural)] = INGRESS
    kube_api.emulator.put(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "alb"},
            "spec": {"controller": "ingress.k8s.aws/alb"},
        }
    )
    service(kube_api, "public", "LoadBalancer")
    service(kube_api, "internal", "LoadBalancer")
    service(kube_api, "web", "ClusterIP")
    ingress(kube_api, "shop", "alb")
    ingress(kube_api, "intranet", "nginx")
    volume(kube_api, "pvc-1", "data-db-0", provisioned=True)
    volume(kube_api, "static", "legacy", provisioned=False)
    stop = threading.Event()

    def csi_driver() -> None:  # the external-provisioner: a PV whose claim is gone is deleted, disk first
        while not stop.wait(0.05):
            claims = {c["metadata"]["name"] for c in kube_api.emulator.list("PersistentVolumeClaim")}
            for pv in kube_api.emulator.list("PersistentVolume"):
                claim = pv["spec"].get("claimRef", {}).get("name")
                if claim and claim not in claims and pv["metadata"].get("annotations"):
                    kube_api.emulator.remove("PersistentVolume", pv["metadata"]["name"])

    thread = threading.Thread(target=csi_driver, daemon=True)
    thread.start()
    try:
        yield kube_api
    finally:
        stop.set()
        thread.join()


def names(api: KubeApi, kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in api.emulator.list(kind)}


def test_delete_policy_removes_load_balancers_ingresses_and_provisioned_volumes(cluster: KubeApi) -> None:
    with Kube.from_kubeconfig(cluster.kubeconfig) as kube:
        report = release_cloud_resources(kube, spec("Delete"), timeout=10, interval=0.05)
    assert report.ok, report
    assert sorted(report.deleted) == sorted(
        [
            "Service default/public",
            "Service default/internal",
            "Ingress default/shop",
            "PersistentVolumeClaim default/data-db-0",
        ]
    ), report.deleted
    assert names(cluster, "Service") == {"web"}
    assert names(cluster, "Ingress") == {"intranet"}
    assert names(cluster, "PersistentVolume") == {"static"}
    assert names(cluster, "PersistentVolumeClaim") == {"legacy"}
    # Load balancers go first: both Services were deleted before the volume's claim
    deletes = [(kind, name) for verb, kind, _, name in cluster.emulator.writes if verb == "delete"]
    assert deletes.index(("Service", "public")) < deletes.index(("PersistentVolumeClaim", "data-db-0"))
    assert deletes.index(("Ingress", "shop")) < deletes.index(("PersistentVolumeClaim", "data-db-0"))


def test_retain_policy_keeps_volumes_and_reports_them(cluster: KubeApi) -> None:
    with Kube.from_kubeconfig(cluster.kubeconfig) as kube:
        report = release_cloud_resources(kube, spec("Retain"), timeout=10, interval=0.05)
    assert report.ok
    assert report.retained == ["PersistentVolume pvc-1"]
    assert names(cluster, "PersistentVolume") == {"pvc-1", "static"}
    assert names(cluster, "Service") == {"web"}


def test_a_volume_that_never_goes_is_reported(cluster: KubeApi) -> None:
    cluster.emulator.put(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": "stuck", "annotations": {"pv.kubernetes.io/provisioned-by": "x"}},
            "spec": {"persistentVolumeReclaimPolicy": "Delete"},
            "status": {"phase": "Bound"},
        }
    )
    with Kube.from_kubeconfig(cluster.kubeconfig) as kube:
        report = release_cloud_resources(kube, spec("Delete"), timeout=0.5, interval=0.05)
    assert not report.ok
    assert report.remaining == ["PersistentVolume stuck"]

"""Emulated clusters for the add-on tests: an outputs contract per cloud, the nodes it names registered
(uninitialised, as kubeadm leaves them with an external cloud provider), and a simulated cloud controller
manager that initialises them once its workload is ready."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from clouder.outputs import ClusterOutputs, parse_terraform_outputs
from clouder.spec import ClusterSpec, load_spec

if TYPE_CHECKING:  # imported lazily: support.kubeapi is a plugin of its own, registered after this one
    from support.kubeapi import KubeApi

REPO = Path(__file__).resolve().parents[2]
AZURE_SECRETS = {
    "tenant_id": "7d1b2c3e-aaaa-4bbb-8ccc-0123456789ab",
    "subscription_id": "3f2e1d0c-bbbb-4ccc-9ddd-ba9876543210",
    "identity_client_id": "c0ffee00-1234-4abc-8def-feedfacecafe",
}


def _node_list(spec: ClusterSpec, provider: str) -> list[dict[str, Any]]:
    nodes = []
    for index in range(spec.control_plane.count):
        nodes.append(("control-plane", "control-plane", f"{spec.name}-cp-{index}"))
    for pool in spec.node_pools:
        nodes += [("worker", pool.name, f"{spec.name}-{pool.name}-{i}") for i in range(pool.count)]
    result = []
    for number, (role, pool, name) in enumerate(nodes):
        if provider == "aws":
            provider_id = f"aws:///{spec.region}a/i-0{number:016x}"
        else:
            provider_id = (
                f"azure:///subscriptions/{AZURE_SECRETS['subscription_id']}/resourceGroups/rg-{spec.name}"
                f"/providers/Microsoft.Compute/virtualMachines/{name}"
            )
        result.append(
            {
                "name": name,
                "role": role,
                "pool": pool,
                "private_ip": f"10.0.16.{10 + number}",
                "zone": "1",
                "provider_id": provider_id,
            }
        )
    return result


def outputs_document(spec: ClusterSpec) -> dict[str, Any]:
    """What `terraform output -json` prints for this spec's stack (values invented, shapes real)."""
    if spec.cloud == "aws":
        cloud: dict[str, Any] = {
            "cloud": "aws",
            "region": spec.region,
            "account_id": "123456789012",
            "vpc_id": "vpc-0a1b2c3d4e5f60718",
            "public_subnet_ids": ["subnet-0aaa"],
            "private_subnet_ids": ["subnet-0bbb"],
            "node_security_group_id": "sg-0ccc",
            "control_plane_role_arn": "arn:aws:iam::123456789012:role/cp",
            "node_role_arn": "arn:aws:iam::123456789012:role/node",
        }
    else:
        cloud = {
            "cloud": "azure",
            "location": spec.region,
            "resource_group": f"rg-{spec.name}",
            "vnet_name": f"{spec.name}-vnet",
            "vnet_resource_group": f"rg-{spec.name}",
            "subnet_name": "nodes",
            "security_group_name": f"{spec.name}-nsg",
            "route_table_name": f"{spec.name}-rt",
            **AZURE_SECRETS,
        }
    values = {
        "contract_version": "1",
        "cluster_name": spec.name,
        "api_endpoint": {"host": f"api.{spec.name}.example.test", "port": 6443},
        "nodes": _node_list(spec, spec.cloud),
        "ssh": {"mode": "bastion", "user": "ubuntu", "bastion_host": "203.0.113.5"},
        "cloud": cloud,
    }
    return {name: {"value": value, "type": "object", "sensitive": False} for name, value in values.items()}


@dataclass
class EmulatedCluster:
    api: KubeApi
    spec: ClusterSpec
    spec_path: Path
    outputs: ClusterOutputs
    outputs_path: Path

    @property
    def kubeconfig(self) -> Path:
        return self.api.kubeconfig


CCM_WORKLOADS = {("DaemonSet", "aws-cloud-controller-manager"), ("Deployment", "cloud-controller-manager")}


def emulate(tmp: Path, example: str) -> tuple[EmulatedCluster, Any]:
    spec_path = REPO / "examples" / example
    spec = load_spec(spec_path)
    document = outputs_document(spec)
    outputs_path = tmp / "outputs.json"
    outputs_path.write_text(json.dumps(document))
    outputs = parse_terraform_outputs(document)
    from support.kubeapi import start

    api, stop = start(tmp, git_version=f"v{spec.kubernetes.version}")
    for node in outputs.nodes:
        api.add_node(node.name, node.role)
    ids = {node.name: node.provider_id for node in outputs.nodes}
    api.emulator.on_ready(
        lambda obj: (obj["kind"], obj["metadata"]["name"]) in CCM_WORKLOADS,
        lambda _emulator: api.initialize_nodes(ids),
    )
    _seed_system(api)
    return EmulatedCluster(api, spec, spec_path, outputs, outputs_path), stop


def _seed_system(api: KubeApi) -> None:
    """What kubeadm leaves in kube-system: CoreDNS (Deployment, Service) and its running pods."""
    labels = {"k8s-app": "kube-dns"}
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "coredns", "image": "coredns"}]},
    }
    api.emulator.put(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": template},
        }
    )
    api.emulator.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system"},
            "spec": {
                "clusterIP": "10.96.0.10",
                "selector": labels,
                "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}],
            },
        }
    )
    for index in range(2):
        api.emulator.put(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"coredns-{index}", "namespace": "kube-system", "labels": labels},
                "spec": {"containers": [{"name": "coredns", "image": "coredns"}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
            }
        )


@pytest.fixture
def aws_cluster(tmp_path: Path) -> Iterator[EmulatedCluster]:
    cluster, stop = emulate(tmp_path, "aws-minimal.yaml")
    try:
        yield cluster
    finally:
        stop()


@pytest.fixture
def azure_cluster(tmp_path: Path) -> Iterator[EmulatedCluster]:
    cluster, stop = emulate(tmp_path, "azure-minimal.yaml")
    try:
        yield cluster
    finally:
        stop()

"""kubeadm configuration (``kubeadm.k8s.io/v1beta4``) as typed models, and the documents Clouder renders.

Only the fields Clouder sets are modelled; field names follow the upstream API (camelCase in YAML).
"""

from __future__ import annotations

from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from clouder.outputs import ClusterOutputs, Node
from clouder.spec.model import ClusterSpec

API_VERSION: Literal["kubeadm.k8s.io/v1beta4"] = "kubeadm.k8s.io/v1beta4"


class KubeadmModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Arg(KubeadmModel):
    """v1beta4 extra arguments are a list of name/value pairs (duplicates allowed)."""

    name: str
    value: str


class Taint(KubeadmModel):
    key: str
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodeRegistration(KubeadmModel):
    name: str
    cri_socket: str = "unix:///run/containerd/containerd.sock"
    kubelet_extra_args: list[Arg] = Field(default_factory=list)
    taints: list[Taint] | None = None


class LocalApiEndpoint(KubeadmModel):
    advertise_address: str
    bind_port: int = 6443


class InitConfiguration(KubeadmModel):
    api_version: Literal["kubeadm.k8s.io/v1beta4"] = API_VERSION
    kind: Literal["InitConfiguration"] = "InitConfiguration"
    node_registration: NodeRegistration
    local_api_endpoint: LocalApiEndpoint = Field(alias="localAPIEndpoint")
    certificate_key: str | None = None
    skip_phases: list[str] | None = None


class Networking(KubeadmModel):
    pod_subnet: str
    service_subnet: str
    dns_domain: str = "cluster.local"


class ControlPlaneComponent(KubeadmModel):
    extra_args: list[Arg] = Field(default_factory=list)


class ApiServer(ControlPlaneComponent):
    cert_sans: list[str] = Field(default_factory=list, alias="certSANs")


class ClusterConfiguration(KubeadmModel):
    api_version: Literal["kubeadm.k8s.io/v1beta4"] = API_VERSION
    kind: Literal["ClusterConfiguration"] = "ClusterConfiguration"
    cluster_name: str
    kubernetes_version: str
    control_plane_endpoint: str
    networking: Networking
    api_server: ApiServer
    controller_manager: ControlPlaneComponent = Field(default_factory=ControlPlaneComponent)


class KubeletConfiguration(KubeadmModel):
    """``kubelet.config.k8s.io/v1beta1``: kubeadm uploads it (ConfigMap kubelet-config) for every node."""

    api_version: Literal["kubelet.config.k8s.io/v1beta1"] = "kubelet.config.k8s.io/v1beta1"
    kind: Literal["KubeletConfiguration"] = "KubeletConfiguration"
    feature_gates: dict[str, bool] = Field(default_factory=dict)


class BootstrapTokenDiscovery(KubeadmModel):
    api_server_endpoint: str
    token: str
    ca_cert_hashes: list[str]


class Discovery(KubeadmModel):
    bootstrap_token: BootstrapTokenDiscovery


class Timeouts(KubeadmModel):
    """v1beta4 moved every kubeadm timeout here (v1beta3's ``discovery.timeout`` is an unknown field now)."""

    discovery: str = "5m0s"


class JoinControlPlane(KubeadmModel):
    local_api_endpoint: LocalApiEndpoint = Field(alias="localAPIEndpoint")
    certificate_key: str


class JoinConfiguration(KubeadmModel):
    api_version: Literal["kubeadm.k8s.io/v1beta4"] = API_VERSION
    kind: Literal["JoinConfiguration"] = "JoinConfiguration"
    node_registration: NodeRegistration
    discovery: Discovery
    control_plane: JoinControlPlane | None = None
    timeouts: Timeouts = Field(default_factory=Timeouts)


def _yaml(*documents: KubeadmModel) -> str:
    dumped = [
        yaml.safe_dump(doc.model_dump(by_alias=True, exclude_none=True), sort_keys=False) for doc in documents
    ]
    return "---\n".join(dumped)


def endpoint(outputs: ClusterOutputs) -> str:
    return f"{outputs.api_endpoint.host}:{outputs.api_endpoint.port}"


def registration(node: Node, spec: ClusterSpec) -> NodeRegistration:
    """Node name as the cloud controller knows it; the kubelet waits for the external cloud provider."""
    args = [
        Arg(name="cloud-provider", value="external"),
        Arg(name="node-ip", value=node.private_ip),
        Arg(name="provider-id", value=node.provider_id),
    ]
    taints: list[Taint] | None = None
    if node.role == "worker":
        pool = next((p for p in spec.node_pools if p.name == node.pool), None)
        if pool is not None:
            labels = ",".join(f"{k}={v}" for k, v in sorted(pool.labels.items()))
            if labels:
                args.append(Arg(name="node-labels", value=labels))
            taints = [Taint(key=t.key, value=t.value or None, effect=t.effect) for t in pool.taints] or None
    return NodeRegistration(name=node.name, kubelet_extra_args=args, taints=taints)


def init_documents(spec: ClusterSpec, outputs: ClusterOutputs, certificate_key: str | None = None) -> str:
    first = outputs.control_planes[0]
    sans = [outputs.api_endpoint.host]
    for cp in outputs.control_planes:
        sans += [cp.name, cp.private_ip] + ([cp.public_ip] if cp.public_ip else [])
    init = InitConfiguration(
        node_registration=registration(first, spec),
        local_api_endpoint=LocalApiEndpoint(advertise_address=first.private_ip),
        certificate_key=certificate_key,
    )
    cluster = ClusterConfiguration(
        cluster_name=outputs.cluster_name,
        kubernetes_version=f"v{spec.kubernetes.version}",
        control_plane_endpoint=endpoint(outputs),
        networking=Networking(
            pod_subnet=spec.kubernetes.pod_cidr, service_subnet=spec.kubernetes.service_cidr
        ),
        api_server=ApiServer(cert_sans=list(dict.fromkeys(sans))),
        controller_manager=ControlPlaneComponent(extra_args=[Arg(name="cloud-provider", value="external")]),
    )
    if spec.kubernetes.container_checkpointing:  # the kubelet's checkpoint API (see checkpointing_check)
        return _yaml(init, cluster, KubeletConfiguration(feature_gates={"ContainerCheckpoint": True}))
    return _yaml(init, cluster)


def join_document(
    node: Node,
    spec: ClusterSpec,
    outputs: ClusterOutputs,
    token: str,
    ca_hash: str,
    certificate_key: str | None,
) -> str:
    control = None
    if node.role == "control-plane":
        assert certificate_key is not None
        control = JoinControlPlane(
            local_api_endpoint=LocalApiEndpoint(advertise_address=node.private_ip),
            certificate_key=certificate_key,
        )
    join = JoinConfiguration(
        node_registration=registration(node, spec),
        discovery=Discovery(
            bootstrap_token=BootstrapTokenDiscovery(
                api_server_endpoint=endpoint(outputs), token=token, ca_cert_hashes=[ca_hash]
            )
        ),
        control_plane=control,
    )
    return _yaml(join)

"""The cluster spec: one typed description of a cluster, the single source of truth for every stage.

YAML keys are camelCase (``podCidr``), Python attributes snake_case (``pod_cidr``).
Field-level rules live here; rules that relate several fields live in ``rules.py``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from clouder.catalog.kubernetes import DEFAULT_VERSION, PINNED_RELEASES, supported_range

# The built-in service names come from the service catalog, their single source (re-exported here).
from clouder.catalog.services import BUILTIN_SERVICES as BUILTIN_SERVICES
from clouder.catalog.services import CORE_SERVICES as CORE_SERVICES
from clouder.catalog.services import SYSTEM_SERVICES as SYSTEM_SERVICES
from clouder.spec.sshkeys import looks_like_key_text, public_key_problem
from clouder.spec.types import (
    Cidr,
    DnsLabel,
    LabelKey,
    LabelValue,
    OptionalText,
    SpecModel,
    empty_dict,
    empty_list,
)

API_VERSION = "clouder/v1alpha1"
KIND = "Cluster"

VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
SEMVER_RE = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")


class Metadata(SpecModel):
    name: DnsLabel = Field(description="Cluster name: a DNS label, used in resource names and tags.")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=empty_dict)


class Kubernetes(SpecModel):
    version: str = Field(DEFAULT_VERSION, description="Pinned Kubernetes release, MAJOR.MINOR.PATCH.")
    pod_cidr: Cidr = "10.244.0.0/16"
    service_cidr: Cidr = "10.96.0.0/12"
    container_checkpointing: bool = Field(
        False,
        description="Prepare nodes for the kubelet's container checkpoint API: the ContainerCheckpoint "
        "feature gate in the kubelet configuration and CRIU installed on every node.",
    )

    @field_validator("version")
    @classmethod
    def _pinned(cls, value: str) -> str:
        match = VERSION_RE.fullmatch(value)
        if not match:
            raise ValueError(f"{value!r} is not a pinned release like {DEFAULT_VERSION} (MAJOR.MINOR.PATCH)")
        minor = (int(match[1]), int(match[2]))
        if minor not in PINNED_RELEASES:
            raise ValueError(
                f"Kubernetes {match[1]}.{match[2]} is outside the supported range {supported_range()}; "
                f"pick one of {', '.join(PINNED_RELEASES.values())}"
            )
        pinned = PINNED_RELEASES[minor]
        if value.removeprefix("v") != pinned:
            raise ValueError(
                f"{value!r} is not a release Clouder pins: for {match[1]}.{match[2]} it installs {pinned} "
                f"(pinned: {', '.join(PINNED_RELEASES.values())})"
            )
        return value.removeprefix("v")

    @property
    def minor(self) -> tuple[int, int]:
        major, minor, _ = self.version.split(".")
        return int(major), int(minor)


class Subnet(SpecModel):
    zone: str = Field(description="AWS availability zone (us-east-1a) or Azure zone (1, 2, 3).")
    public: Cidr = Field(description="Subnet for load balancers, NAT and the bastion.")
    private: Cidr = Field(description="Subnet for the cluster's nodes.")


class Network(SpecModel):
    cidr: Cidr = "10.0.0.0/16"
    subnets: list[Subnet] = Field(min_length=1)
    admin_cidrs: list[Cidr] = Field(
        min_length=1, description="Who may reach SSH (bastion or nodes) and the Kubernetes API."
    )
    api_exposure: Literal["public", "private"] = "public"


class Access(SpecModel):
    mode: Literal["bastion", "direct"] = "bastion"
    user: str = Field("ubuntu", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    public_key: OptionalText | None = Field(None, description="OpenSSH public key installed on every node.")
    public_key_path: Path | None = Field(None, description="File holding the OpenSSH public key.")
    private_key_path: Path = Field(Path("~/.ssh/id_ed25519"), description="Path to the key; never the key.")

    @field_validator("public_key")
    @classmethod
    def _openssh_public(cls, value: str | None) -> str | None:
        if value is not None:
            reason = public_key_problem(value)
            if reason is not None:  # the message never quotes the value: it may be a private key
                raise ValueError(f"{reason}; publicKey takes one public key line such as 'ssh-ed25519 AAAA…'")
        return value

    @field_validator("public_key_path", "private_key_path", mode="before")
    @classmethod
    def _a_path(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():  # Path("") would be the current folder
            raise ValueError("is empty; name a file, or leave the field out for the default")
        if isinstance(value, str) and looks_like_key_text(value):
            raise ValueError(
                "this holds key text, not a path; name the file that holds the key "
                "(the text is not repeated here)"
            )
        return value


class ControlPlane(SpecModel):
    count: Literal[1, 3, 5] = 1
    size: OptionalText | None = Field(
        None, description="Instance type / VM size; defaults from the cloud block."
    )
    disk_gb: int = Field(50, ge=30, le=1024)


class Taint(SpecModel):
    key: LabelKey
    value: LabelValue = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodePool(SpecModel):
    name: DnsLabel
    count: int = Field(ge=0, le=200)
    size: OptionalText | None = None
    disk_gb: int = Field(100, ge=30, le=16384)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=empty_dict)
    taints: list[Taint] = Field(default_factory=empty_list)


class Cni(SpecModel):
    plugin: Literal["cilium", "calico", "flannel"] = "cilium"


class Storage(SpecModel):
    default_class: bool = Field(
        True, description="Install the cloud's block-storage class as the only default."
    )
    encrypted: Literal[True] = True
    reclaim_policy: Literal["Delete", "Retain"] = "Delete"
    file_storage: bool = Field(True, description="Azure: also install Azure File CSI (azurefile-csi).")


class LoadBalancing(SpecModel):
    controller: bool = Field(True, description="AWS: install the AWS Load Balancer Controller.")
    service_mutator_webhook: bool = False


class ServiceOverride(SpecModel):
    enabled: bool = True
    version: str | None = Field(None, pattern=SEMVER_RE.pattern)
    values: dict[str, Any] = Field(default_factory=empty_dict)


class CustomService(SpecModel):
    name: DnsLabel
    # A chart name as a repository index lists it (never a local path), from an https or oci repository.
    chart: str = Field(pattern=r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
    repository: str = Field(pattern=r"^(https|oci)://\S+$")
    version: str = Field(pattern=SEMVER_RE.pattern)
    namespace: DnsLabel
    depends_on: list[str] = Field(default_factory=empty_list)
    values: dict[str, Any] = Field(default_factory=empty_dict)


class Services(SpecModel):
    core_repository: str | None = Field(
        None,
        pattern=r"^(https?|oci)://\S+$",
        description="Chart repository of Clouder's core services. There is no default: without it the core "
        "services are not installed.",
    )
    overrides: dict[str, ServiceOverride] = Field(default_factory=empty_dict)
    custom: list[CustomService] = Field(default_factory=empty_list)


QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"


class RuntimeQuota(SpecModel):
    cpu: str = Field("32", pattern=QUANTITY, description="Total CPU requested by all pods (ResourceQuota).")
    memory: str = Field("128Gi", pattern=QUANTITY)
    pods: int = Field(200, ge=1, le=100000)


class RuntimeLimits(SpecModel):
    """LimitRange of each container: defaults for those that set nothing, and the maximum."""

    default_cpu: str = Field("500m", pattern=QUANTITY)
    default_memory: str = Field("512Mi", pattern=QUANTITY)
    max_cpu: str = Field("4", pattern=QUANTITY)
    max_memory: str = Field("16Gi", pattern=QUANTITY)


class EgressRule(SpecModel):
    cidr: Cidr = Field(description="Destination range runtime pods may reach (DNS is always allowed).")
    ports: list[int] = Field(default_factory=lambda: [443], min_length=1)
    protocol: Literal["TCP", "UDP"] = "TCP"

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} is outside 1-65535")
        return value


class RuntimeNamespace(SpecModel):
    name: DnsLabel
    quota: RuntimeQuota = Field(default_factory=RuntimeQuota)
    limits: RuntimeLimits = Field(default_factory=RuntimeLimits)
    egress: list[EgressRule] = Field(
        default_factory=empty_list, description="Explicit egress allowlist; everything else is denied."
    )


class Runtime(SpecModel):
    """The runtime plane: namespaces where agents run, with guardrails Clouder writes out itself."""

    namespaces: list[RuntimeNamespace] = Field(
        default_factory=lambda: [RuntimeNamespace(name="agents")],
        description="Created with Pod Security `restricted`, default-deny NetworkPolicies, quota, limits.",
    )
    managers: list[str] = Field(
        default_factory=lambda: ["operator", "runtimes", "ai-agents", "spacer"],
        description="Services granted RBAC to manage workloads in the runtime namespaces.",
    )
    node_pool: DnsLabel | None = Field(
        None, description="A tainted node pool dedicated to runtime pods (its taints are tolerated)."
    )


class LocalState(SpecModel):
    backend: Literal["local"] = "local"
    path: Path | None = None


class S3State(SpecModel):
    backend: Literal["s3"]
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    key: str = Field(min_length=1)
    region: str
    dynamodb_table: OptionalText | None = None
    use_lockfile: bool = False
    encrypt: Literal[True] = True
    kms_key_id: OptionalText | None = None


class AzurermState(SpecModel):
    backend: Literal["azurerm"]
    resource_group_name: str
    storage_account_name: str = Field(pattern=r"^[a-z0-9]{3,24}$")
    container_name: str
    key: str = Field(min_length=1)


StateBackend = Annotated[LocalState | S3State | AzurermState, Field(discriminator="backend")]


class AllowedFinding(SpecModel):
    check: str = Field(pattern=r"^(CKV2?_[A-Z0-9]+_\d+|CLOUDER_[A-Z0-9_]+)$")
    reason: str = Field(min_length=10, description="Why this finding is accepted; reviewed like code.")


class Approvals(SpecModel):
    destructive: Literal["required", "never-allowed"] = "required"
    approval_file: Path | None = None


class Policy(SpecModel):
    allowlist: list[AllowedFinding] = Field(default_factory=empty_list)
    approvals: Approvals = Field(default_factory=Approvals)


class AwsCloud(SpecModel):
    region: str
    ami: str | None = Field(None, pattern=r"^ami-[0-9a-f]{8,17}$")
    control_plane_size: str = "m6i.large"
    node_size: str = "m6i.xlarge"
    bastion_size: str = "t3.micro"
    tags: dict[str, str] = Field(default_factory=empty_dict)


class AzureImage(SpecModel):
    publisher: str = "Canonical"
    offer: str = "ubuntu-24_04-lts"
    sku: str = "server"
    version: str = "24.04.202510010"

    @field_validator("version")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if value == "latest":
            raise ValueError("'latest' is not pinned: name an image version, e.g. 24.04.202510010")
        return value


class AzureCloud(SpecModel):
    location: str
    # The length as max_length, not as {1,90}: pydantic's Rust regex unrolls a counted Unicode \w into 90
    # copies, which took 30-45 ms to compile on every `clouder validate`; `+` and max_length accept the same.
    resource_group: str | None = Field(None, pattern=r"^[-\w._()]+$", max_length=90)
    image: AzureImage = Field(default_factory=AzureImage)
    control_plane_size: str = "Standard_D4s_v5"
    node_size: str = "Standard_D8s_v5"
    bastion_size: str = "Standard_B1s"
    tags: dict[str, str] = Field(default_factory=empty_dict)


class Maintenance(SpecModel):
    """Day-2 operations: how much disruption an upgrade or a scale-down may cause at a time."""

    max_unavailable_workers: int = Field(
        1, ge=1, le=200, description="Disruption budget: workers cordoned, drained and upgraded at a time."
    )
    drain_timeout_s: int = Field(
        600, ge=10, le=86400, description="Seconds to wait for a node's pods to be evicted before giving up."
    )


class Terraform(SpecModel):
    # Not a path: a pull request could name any file, run with the cloud credentials (CLOUDER_TERRAFORM can).
    binary: Literal["terraform", "tofu"] | None = Field(
        None, description="terraform or tofu, found on PATH (a path only through CLOUDER_TERRAFORM)."
    )


class ClusterSpec(SpecModel):
    api_version: Literal["clouder/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["Cluster"]
    metadata: Metadata
    context: DnsLabel | None = Field(None, description="Name of a context (clouder context list).")
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    network: Network
    access: Access = Field(default_factory=Access)
    control_plane: ControlPlane = Field(default_factory=ControlPlane)
    node_pools: list[NodePool] = Field(default_factory=empty_list)
    cni: Cni = Field(default_factory=Cni)
    storage: Storage = Field(default_factory=Storage)
    load_balancing: LoadBalancing = Field(default_factory=LoadBalancing)
    services: Services = Field(default_factory=Services)
    runtime: Runtime = Field(default_factory=Runtime)
    state: StateBackend = Field(default_factory=LocalState)
    policy: Policy = Field(default_factory=Policy)
    maintenance: Maintenance = Field(default_factory=Maintenance)
    terraform: Terraform = Field(default_factory=Terraform)
    aws: AwsCloud | None = None
    azure: AzureCloud | None = None

    @property
    def cloud(self) -> Literal["aws", "azure"]:
        return "aws" if self.aws is not None else "azure"

    @property
    def region(self) -> str:
        if self.aws is not None:
            return self.aws.region
        assert self.azure is not None
        return self.azure.location

    @property
    def name(self) -> str:
        return self.metadata.name

    def control_plane_size(self) -> str:
        cloud = self.aws or self.azure
        assert cloud is not None
        return self.control_plane.size or cloud.control_plane_size

    def pool_size(self, pool: NodePool) -> str:
        cloud = self.aws or self.azure
        assert cloud is not None
        return pool.size or cloud.node_size


@cache
def build_validators() -> None:
    """Build each model's validator, nested models before the models holding them (definition order).

    The models defer their build to first use. Validating ClusterSpec first generated every nested schema,
    then each default factory (``Kubernetes()``, ``Access()``, …) built its model again on its own; with the
    leaves built first, each parent reuses its children's schemas (about 10 ms of every ``clouder validate``).
    """
    for value in list(globals().values()):
        if isinstance(value, type) and issubclass(value, SpecModel) and value.__module__ == __name__:
            value.model_rebuild()

"""The outputs contract: what every stack publishes as Terraform outputs and everything downstream reads.

Each top-level field below is one Terraform output of the same name (see ``OUTPUT_NAMES``). The AWS and
Azure stacks publish identical shapes except for the cloud facts (``aws`` or ``azure``), so the bootstrap
cannot tell the clouds apart except through those facts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clouder.spec.types import DnsLabel

CONTRACT_VERSION = "1"


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiEndpoint(ContractModel):
    host: str = Field(min_length=1, description="DNS name or address of the API load balancer.")
    port: int = Field(6443, ge=1, le=65535)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"


class Node(ContractModel):
    # A hostname: it keys pinned host keys and lands in commands and files, so no spaces or newlines.
    name: str = Field(
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$",
        description="Node name as the cloud controller sees it (hostname).",
    )
    role: Literal["control-plane", "worker"]
    pool: str = Field(min_length=1, description="'control-plane' or the node pool's name.")
    private_ip: str = Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}$")
    public_ip: str | None = Field(None, pattern=r"^\d{1,3}(\.\d{1,3}){3}$")
    zone: str = ""
    provider_id: str = Field(pattern=r"^(aws|azure)://\S+$")


class SshAccess(ContractModel):
    mode: Literal["bastion", "direct"]
    user: str = Field(min_length=1)
    bastion_host: str | None = None
    bastion_user: str | None = None
    # The bastion's machine in the nodes' provider ID form (``aws:///<zone>/<instance-id>``, the Azure VM's
    # resource ID): where its console (and the host keys cloud-init printed there) can be read.
    bastion_provider_id: str | None = Field(None, pattern=r"^(aws|azure)://\S+$")
    port: int = Field(22, ge=1, le=65535)

    @model_validator(mode="after")
    def _bastion_named(self) -> SshAccess:
        if self.mode == "bastion" and not self.bastion_host:
            raise ValueError("mode 'bastion' needs bastion_host")
        return self


class AwsFacts(ContractModel):
    cloud: Literal["aws"] = "aws"
    region: str
    account_id: str = Field(pattern=r"^\d{12}$")
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]+$")
    public_subnet_ids: list[str] = Field(min_length=1)
    private_subnet_ids: list[str] = Field(min_length=1)
    node_security_group_id: str
    control_plane_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::")
    node_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::")


class AzureFacts(ContractModel):
    cloud: Literal["azure"] = "azure"
    tenant_id: str
    subscription_id: str
    resource_group: str
    location: str
    vnet_name: str
    vnet_resource_group: str
    subnet_name: str
    security_group_name: str
    route_table_name: str
    identity_client_id: str
    load_balancer_sku: Literal["standard"] = "standard"


CloudFacts = Annotated[AwsFacts | AzureFacts, Field(discriminator="cloud")]


class ClusterOutputs(ContractModel):
    contract_version: Literal["1"]
    cluster_name: DnsLabel
    api_endpoint: ApiEndpoint
    nodes: list[Node] = Field(min_length=1)
    ssh: SshAccess
    cloud: CloudFacts

    @model_validator(mode="after")
    def _consistent(self) -> ClusterOutputs:
        names = [node.name for node in self.nodes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"node names must be unique, repeated: {', '.join(duplicates)}")
        if not self.control_planes:
            raise ValueError("no node has role 'control-plane'")
        if self.ssh.mode == "direct" and any(node.public_ip is None for node in self.nodes):
            raise ValueError("ssh mode 'direct' needs a public_ip on every node")
        return self

    @property
    def control_planes(self) -> list[Node]:
        return [node for node in self.nodes if node.role == "control-plane"]

    @property
    def workers(self) -> list[Node]:
        return [node for node in self.nodes if node.role == "worker"]


OUTPUT_NAMES: tuple[str, ...] = tuple(ClusterOutputs.model_fields)

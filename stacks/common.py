"""What the cluster stacks of every cloud share: the state backend, the nodes' SSH keys and the outputs
contract they publish (``clouder.outputs``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

from cdktf import LocalBackend, TerraformOutput, TerraformStack

from clouder.errors import BadInputError
from clouder.outputs.contract import CONTRACT_VERSION, OUTPUT_NAMES
from clouder.spec import sshkeys
from clouder.spec.model import Access, ClusterSpec, LocalState
from clouder.spec.types import SpecModel

RemoteState = TypeVar("RemoteState", bound=SpecModel)
NodeRole = Literal["control-plane", "worker"]


def add_backend(
    stack: TerraformStack,
    spec: ClusterSpec,
    cloud: str,
    remote: type[RemoteState],
    add_remote: Callable[[RemoteState], None],
) -> None:
    """The spec's state backend: the cloud's own remote one (``add_remote``) or a local state file."""
    state = spec.state
    if isinstance(state, remote):
        add_remote(state)
    elif isinstance(state, LocalState):
        # Relative to the stack folder that terraform runs in, unless the spec names a path.
        LocalBackend(stack, path=str(state.path) if state.path else "terraform.tfstate")
    else:
        (remote_name,) = get_args(remote.model_fields["backend"].annotation)  # Literal["s3"] -> "s3"
        raise BadInputError(
            f"{spec.name}: state backend {state.backend!r} cannot hold an {cloud} cluster's state.",
            f"Use `state.backend: {remote_name}` (or local).",
        )


def public_keys(access: Access, cloud: str) -> list[str]:
    """The OpenSSH public key(s) installed for ``access.user`` on every host (never a private key)."""
    return sshkeys.public_keys(access, cloud)


@dataclass(frozen=True)
class ContractNode:
    """One node as the outputs contract lists it (``clouder.outputs.contract.Node``); values may be
    Terraform references."""

    name: str
    role: str
    pool: str
    private_ip: str
    zone: str
    provider_id: str
    public_ip: str | None = None

    def output(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "role": self.role,
            "pool": self.pool,
            "private_ip": self.private_ip,
            "zone": self.zone,
            "provider_id": self.provider_id,
        }
        if self.public_ip is not None:
            entry["public_ip"] = self.public_ip
        return entry


@dataclass(frozen=True)
class BastionAccess:
    host: str
    user: str
    provider_id: str  # the bastion's instance (its console holds the host keys cloud-init printed)


@dataclass(frozen=True)
class ContractProps:
    """What a stack publishes beyond its spec (cluster name, SSH user and mode): the API endpoint, the nodes,
    the bastion, and the cloud facts as the cloud's model (``clouder.outputs.contract``) names them."""

    api_host: str
    api_port: int
    nodes: Sequence[ContractNode]
    bastion: BastionAccess | None
    cloud_facts: dict[str, Any]


def publish_contract(stack: TerraformStack, spec: ClusterSpec, props: ContractProps) -> None:
    """One Terraform output per field of the outputs contract, exactly those (``OUTPUT_NAMES``)."""
    ssh: dict[str, Any] = {"mode": spec.access.mode, "user": spec.access.user, "port": 22}
    if props.bastion is not None:
        ssh |= {
            "bastion_host": props.bastion.host,
            "bastion_user": props.bastion.user,
            "bastion_provider_id": props.bastion.provider_id,
        }
    values: dict[str, Any] = {
        "contract_version": CONTRACT_VERSION,
        "cluster_name": spec.name,
        "api_endpoint": {"host": props.api_host, "port": props.api_port},
        "nodes": [node.output() for node in props.nodes],
        "ssh": ssh,
        "cloud": props.cloud_facts,
    }
    assert tuple(values) == OUTPUT_NAMES, "the stack must publish exactly the outputs contract"
    for output_name, value in values.items():
        TerraformOutput(stack, output_name, value=value, static_id=True)

"""The Azure cluster stack: composes the ``clouder.modules.azure`` constructs from a spec and publishes the
outputs contract (``clouder.outputs``) as Terraform outputs, with the facts ``azure.json`` needs.

The azurerm provider finds its subscription and credentials as usual (``ARM_SUBSCRIPTION_ID`` and the Azure
CLI, environment or managed identity); nothing about them is written into the synthesized JSON.
"""

from __future__ import annotations

from typing import Any

from cdktf import AzurermBackend, Fn, LocalBackend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from constructs import Construct

from clouder.catalog import azure as catalog
from clouder.catalog.regions import AZURE_LOCATIONS
from clouder.errors import BadInputError
from clouder.modules.azure import (
    ApiLoadBalancer,
    ApiLoadBalancerProps,
    Bastion,
    BastionProps,
    Identity,
    IdentityProps,
    Network,
    NetworkProps,
    NodeImage,
    NodeRef,
    Nodes,
    NodesProps,
    ResourceGroup,
    ResourceGroupProps,
    Security,
    SecurityProps,
    ZoneSubnets,
)
from clouder.modules.azure.userdata import bastion_custom_data, node_custom_data
from clouder.outputs.contract import CONTRACT_VERSION, OUTPUT_NAMES
from clouder.spec import sshkeys
from clouder.spec.model import Access, AzureCloud, AzurermState, ClusterSpec, LocalState


class AzureClusterStack(TerraformStack):
    """One kubeadm cluster on Azure: resource group, network, NSGs, identity, API load balancer, VMs."""

    resource_group: ResourceGroup
    network: Network
    security: Security
    identity: Identity
    api: ApiLoadBalancer
    control_planes: Nodes
    pools: dict[str, Nodes]
    bastion: Bastion | None

    def __init__(self, scope: Construct, id_: str, spec: ClusterSpec) -> None:
        super().__init__(scope, id_)
        if spec.azure is None:
            raise BadInputError(f"{spec.name}: the Azure stack needs an `azure:` block in the spec.")
        azure = spec.azure
        AzurermProvider(self, "azurerm", features=[AzurermProviderFeatures()])
        self.add_override("terraform.required_providers.azurerm.version", catalog.AZURERM_PROVIDER_CONSTRAINT)
        self._backend(spec)
        self._infrastructure(spec, azure)
        self._nodes(spec, azure)
        self._outputs(spec, azure)

    def _backend(self, spec: ClusterSpec) -> None:
        state = spec.state
        if isinstance(state, AzurermState):
            AzurermBackend(
                self,
                resource_group_name=state.resource_group_name,
                storage_account_name=state.storage_account_name,
                container_name=state.container_name,
                key=state.key,
                use_azuread_auth=True,
            )
        elif isinstance(state, LocalState):
            LocalBackend(self, path=str(state.path) if state.path else "terraform.tfstate")
        else:
            raise BadInputError(
                f"{spec.name}: state backend {state.backend!r} cannot hold an Azure cluster's state.",
                "Use `state.backend: azurerm` (or local).",
            )

    def _infrastructure(self, spec: ClusterSpec, azure: AzureCloud) -> None:
        name = spec.name
        tags = {"clouder-cluster": name, **azure.tags}
        self.resource_group = ResourceGroup(
            self,
            "resource-group",
            ResourceGroupProps(name=azure.resource_group or f"rg-{name}", location=azure.location, tags=tags),
        )
        self.network = Network(
            self,
            "network",
            NetworkProps(
                name=name,
                resource_group=self.resource_group,
                cidr=spec.network.cidr,
                zones=[ZoneSubnets(s.zone, s.public, s.private) for s in spec.network.subnets],
            ),
        )
        self.security = Security(
            self,
            "security",
            SecurityProps(
                name=name,
                resource_group=self.resource_group,
                network=self.network,
                admin_cidrs=spec.network.admin_cidrs,
                ssh_mode=spec.access.mode,
                api_exposure=spec.network.api_exposure,
                cni=spec.cni.plugin,
            ),
        )
        self.identity = Identity(
            self, "identity", IdentityProps(name=name, resource_group=self.resource_group)
        )
        self.api = ApiLoadBalancer(
            self,
            "api",
            ApiLoadBalancerProps(
                name=name,
                resource_group=self.resource_group,
                exposure=spec.network.api_exposure,
                subnet=self.network.node_subnets[0],
                zone_redundant=AZURE_LOCATIONS.get(azure.location, False),
            ),
        )

    def _nodes(self, spec: ClusterSpec, azure: AzureCloud) -> None:
        image = NodeImage(azure.image.publisher, azure.image.offer, azure.image.sku, azure.image.version)
        key = public_key(spec.access)
        direct = spec.access.mode == "direct"
        security = self.security

        def group(id_: str, prefix: str, role: Any, pool: str, count: int, size: str, disk_gb: int) -> Nodes:
            control_plane = role == "control-plane"
            return Nodes(
                self,
                id_,
                NodesProps(
                    name_prefix=prefix,
                    role=role,
                    pool=pool,
                    count=count,
                    size=size,
                    disk_gb=disk_gb,
                    resource_group=self.resource_group,
                    subnets=self.network.node_subnets,
                    image=image,
                    admin_user=spec.access.user,
                    ssh_public_key=key,
                    custom_data=node_custom_data(
                        spec.kubernetes.version, role, pool, spec.kubernetes.container_checkpointing
                    ),
                    identity_id=(
                        self.identity.control_plane_identity.id
                        if control_plane
                        else self.identity.node_identity.id
                    ),
                    application_security_group_ids=[security.node_asg_id]
                    + ([security.control_plane_asg_id] if control_plane else []),
                    backend_pool_id=self.api.backend_pool_id if control_plane else None,
                    public_ips=direct,
                ),
            )

        self.control_planes = group(
            "control-planes",
            f"{spec.name}-cp",
            "control-plane",
            "control-plane",
            spec.control_plane.count,
            spec.control_plane_size(),
            spec.control_plane.disk_gb,
        )
        self.pools = {
            pool.name: group(
                f"pool-{pool.name}",
                f"{spec.name}-{pool.name}",
                "worker",
                pool.name,
                pool.count,
                spec.pool_size(pool),
                pool.disk_gb,
            )
            for pool in spec.node_pools
        }
        self.bastion = None
        if not direct:
            self.bastion = Bastion(
                self,
                "bastion",
                BastionProps(
                    name=f"{spec.name}-bastion",
                    resource_group=self.resource_group,
                    subnet=self.network.public_subnets[0],
                    size=azure.bastion_size,
                    image=image,
                    admin_user=spec.access.user,
                    ssh_public_key=key,
                    custom_data=bastion_custom_data(),
                    application_security_group_id=security.bastion_asg_id,
                ),
            )

    def _outputs(self, spec: ClusterSpec, azure: AzureCloud) -> None:
        client = DataAzurermClientConfig(self, "client")
        group_name = self.resource_group.name
        vm_prefix = (
            f"azure:///subscriptions/{client.subscription_id}/resourceGroups/{Fn.lower(group_name)}"
            "/providers/Microsoft.Compute/virtualMachines/"
        )
        nodes = [_node(node, azure.location, vm_prefix) for node in self.control_planes.nodes]
        for pool in self.pools.values():
            nodes += [_node(node, azure.location, vm_prefix) for node in pool.nodes]
        ssh: dict[str, Any] = {"mode": spec.access.mode, "user": spec.access.user, "port": 22}
        if self.bastion is not None:
            ssh |= {
                "bastion_host": self.bastion.host,
                "bastion_user": self.bastion.user,
                "bastion_provider_id": "azure://" + self.bastion.vm_id,
            }
        values: dict[str, Any] = {
            "contract_version": CONTRACT_VERSION,
            "cluster_name": spec.name,
            "api_endpoint": {"host": self.api.host, "port": self.api.port},
            "nodes": nodes,
            "ssh": ssh,
            "cloud": {
                "cloud": "azure",
                "tenant_id": client.tenant_id,
                "subscription_id": client.subscription_id,
                "resource_group": group_name,
                "location": azure.location,
                "vnet_name": self.network.vnet_name,
                "vnet_resource_group": group_name,
                "subnet_name": self.network.node_subnets[0].name,
                "security_group_name": self.security.node_nsg_name,
                "route_table_name": self.network.route_table_name,
                "identity_client_id": self.identity.client_id,
                "load_balancer_sku": "standard",
            },
        }
        assert tuple(values) == OUTPUT_NAMES, "the stack must publish exactly the outputs contract"
        for output_name, value in values.items():
            TerraformOutput(self, output_name, value=value, static_id=True)


def _node(node: NodeRef, location: str, vm_prefix: str) -> dict[str, Any]:
    # The provider ID and zone as the Azure cloud controller sets them on the Node object.
    entry: dict[str, Any] = {
        "name": node.name,
        "role": node.role,
        "pool": node.pool,
        "private_ip": node.private_ip,
        "zone": f"{location}-{node.zone}",
        "provider_id": vm_prefix + node.name,
    }
    if node.public_ip is not None:
        entry["public_ip"] = node.public_ip
    return entry


def public_key(access: Access) -> str:
    """The OpenSSH public key Azure installs for ``access.user`` (Azure VMs take keys, never passwords)."""
    return sshkeys.public_keys(access)[0]

"""The Azure cluster stack: composes the ``clouder.modules.azure`` constructs from a spec and publishes the
outputs contract (``clouder.outputs``) as Terraform outputs, with the facts ``azure.json`` needs.

The azurerm provider finds its subscription and credentials as usual (``ARM_SUBSCRIPTION_ID`` and the Azure
CLI, environment or managed identity); nothing about them is written into the synthesized JSON.
"""

from __future__ import annotations

from cdktf import AzurermBackend, Fn, TerraformStack
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
    Identities,
    IdentitiesProps,
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
from clouder.modules.azure.tags import CLUSTER_TAG
from clouder.modules.azure.userdata import bastion_custom_data, node_custom_data
from clouder.spec.model import AzureCloud, AzurermState, ClusterSpec
from clouder.stacks.common import (
    BastionAccess,
    ContractNode,
    ContractProps,
    NodeRole,
    add_backend,
    public_keys,
    publish_contract,
)


class AzureClusterStack(TerraformStack):
    """One kubeadm cluster on Azure: resource group, network, NSGs, identities, API load balancer, VMs."""

    resource_group: ResourceGroup
    network: Network
    security: Security
    identities: Identities
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
        add_backend(self, spec, "Azure", AzurermState, self._azurerm_backend)
        self._infrastructure(spec, azure)
        self._nodes(spec, azure)
        self._outputs(spec, azure)

    def _azurerm_backend(self, state: AzurermState) -> None:
        AzurermBackend(
            self,
            resource_group_name=state.resource_group_name,
            storage_account_name=state.storage_account_name,
            container_name=state.container_name,
            key=state.key,
            use_azuread_auth=True,
        )

    def _infrastructure(self, spec: ClusterSpec, azure: AzureCloud) -> None:
        """The resource group, the network, the security groups, the identities and the API load balancer."""
        cluster_name = spec.name
        tags = {CLUSTER_TAG: cluster_name, **azure.tags}
        self.resource_group = ResourceGroup(
            self,
            "resource-group",
            ResourceGroupProps(
                name=azure.resource_group or f"rg-{cluster_name}", location=azure.location, tags=tags
            ),
        )
        self.network = Network(
            self,
            "network",
            NetworkProps(
                cluster_name=cluster_name,
                resource_group=self.resource_group,
                cidr=spec.network.cidr,
                zones=[ZoneSubnets(s.zone, s.public, s.private) for s in spec.network.subnets],
            ),
        )
        self.security = Security(
            self,
            "security",
            SecurityProps(
                cluster_name=cluster_name,
                resource_group=self.resource_group,
                network=self.network,
                admin_cidrs=spec.network.admin_cidrs,
                ssh_mode=spec.access.mode,
                api_exposure=spec.network.api_exposure,
                cni=spec.cni.plugin,
            ),
        )
        # The construct id stays "identity": it is part of every Terraform resource name inside.
        self.identities = Identities(
            self, "identity", IdentitiesProps(cluster_name=cluster_name, resource_group=self.resource_group)
        )
        self.api = ApiLoadBalancer(
            self,
            "api",
            ApiLoadBalancerProps(
                cluster_name=cluster_name,
                resource_group=self.resource_group,
                exposure=spec.network.api_exposure,
                subnet=self.network.node_subnets[0],
                zone_redundant=AZURE_LOCATIONS.get(azure.location, False),
            ),
        )

    def _nodes(self, spec: ClusterSpec, azure: AzureCloud) -> None:
        """The control planes and the node pools, one group each, and the bastion in bastion mode."""
        image = NodeImage(azure.image.publisher, azure.image.offer, azure.image.sku, azure.image.version)
        # Azure's VM construct installs one key for the admin user: the first of the spec's keys.
        key = public_keys(spec.access, spec.cloud)[0]
        direct = spec.access.mode == "direct"
        security = self.security

        def group(
            id_: str, prefix: str, role: NodeRole, pool: str, count: int, size: str, disk_gb: int
        ) -> Nodes:
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
                        self.identities.control_plane_identity.id
                        if control_plane
                        else self.identities.node_identity.id
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
        publish_contract(
            self,
            spec,
            ContractProps(
                api_host=self.api.host,
                api_port=self.api.port,
                nodes=nodes,
                bastion=(
                    BastionAccess(self.bastion.host, self.bastion.user, "azure://" + self.bastion.vm_id)
                    if self.bastion
                    else None
                ),
                cloud_facts={
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
                    "identity_client_id": self.identities.client_id,
                    "load_balancer_sku": "standard",
                },
            ),
        )


def _node(node: NodeRef, location: str, vm_prefix: str) -> ContractNode:
    # The provider ID and zone as the Azure cloud controller sets them on the Node object.
    return ContractNode(
        name=node.name,
        role=node.role,
        pool=node.pool,
        private_ip=node.private_ip,
        zone=f"{location}-{node.zone}",
        provider_id=vm_prefix + node.name,
        public_ip=node.public_ip,
    )

"""The AWS cluster stack: composes the ``clouder.modules.aws`` constructs from a spec and publishes the
outputs contract (``clouder.outputs``) as Terraform outputs."""

from __future__ import annotations

from cdktf import Aspects, S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_ami import DataAwsAmi, DataAwsAmiFilter
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from clouder.catalog import aws as catalog
from clouder.errors import BadInputError
from clouder.modules.aws.addresses import AddressTags
from clouder.modules.aws.api_load_balancer import ApiLoadBalancer, ApiLoadBalancerProps
from clouder.modules.aws.bastion import Bastion, BastionProps
from clouder.modules.aws.identities import Identities, IdentitiesProps
from clouder.modules.aws.network import Network, NetworkProps, ZoneSubnets
from clouder.modules.aws.nodes import (
    CONTROLLER_IMDS_HOP_LIMIT,
    IMDS_HOP_LIMIT,
    NodeAttributes,
    Nodes,
    NodesProps,
    Placement,
)
from clouder.modules.aws.provider import use_clouder_provider_constraint
from clouder.modules.aws.security import Security, SecurityProps
from clouder.modules.aws.tags import CLUSTER_TAG
from clouder.modules.aws.userdata import NodeUserDataProps, bastion_user_data, node_user_data
from clouder.spec.model import AwsCloud, ClusterSpec, S3State
from clouder.stacks.common import (
    BastionAccess,
    ContractNode,
    ContractProps,
    NodeRole,
    add_backend,
    public_keys,
    publish_contract,
)


class AwsClusterStack(TerraformStack):
    """One kubeadm cluster on AWS: network, security groups, identities, nodes, API load balancer, bastion."""

    network: Network
    security: Security
    identities: Identities
    control_planes: Nodes
    pools: dict[str, Nodes]
    api: ApiLoadBalancer
    bastion: Bastion | None

    def __init__(self, scope: Construct, id_: str, spec: ClusterSpec) -> None:
        super().__init__(scope, id_)
        if spec.aws is None:
            raise BadInputError(f"{spec.name}: the AWS stack needs an `aws:` block in the spec.")
        aws = spec.aws
        tags = {CLUSTER_TAG: spec.name, **aws.tags}
        AwsProvider(self, "aws", region=aws.region, default_tags=[AwsProviderDefaultTags(tags=tags)])
        use_clouder_provider_constraint(self)
        add_backend(self, spec, "AWS", S3State, self._s3_backend)
        Aspects.of(self).add(AddressTags())
        self._infrastructure(spec)
        image_id = aws.ami or self._pinned_image()
        keys = public_keys(spec.access, spec.cloud)
        self._nodes(spec, image_id, keys)
        self._access(spec, aws, image_id, keys)
        self._outputs(spec, aws)

    def _s3_backend(self, state: S3State) -> None:
        S3Backend(
            self,
            bucket=state.bucket,
            key=state.key,
            region=state.region,
            encrypt=state.encrypt,
            dynamodb_table=state.dynamodb_table,
            kms_key_id=state.kms_key_id,
        )
        if state.use_lockfile:  # Terraform >= 1.10; the pinned cdktf's S3Backend has no field for it
            self.add_override("terraform.backend.s3.use_lockfile", True)

    def _infrastructure(self, spec: ClusterSpec) -> None:
        """The network, the security groups and the nodes' identities."""
        cluster_name = spec.name
        bastion_mode = spec.access.mode == "bastion"
        self.network = Network(
            self,
            "network",
            NetworkProps(
                cluster_name=cluster_name,
                cidr=spec.network.cidr,
                zones=[ZoneSubnets(s.zone, s.public, s.private) for s in spec.network.subnets],
                nat_gateways="per-zone"
                if spec.control_plane.count > 1 and len(spec.network.subnets) > 1
                else "single",
            ),
        )
        self.security = Security(
            self,
            "security",
            SecurityProps(
                cluster_name=cluster_name,
                vpc_id=self.network.vpc_id,
                admin_cidrs=spec.network.admin_cidrs,
                cni=spec.cni.plugin,
                bastion=bastion_mode,
                ssh_to_nodes_from="bastion" if bastion_mode else "admins",
                load_balancer_controller=spec.load_balancing.controller,
                # Only nodes in private subnets (bastion mode) leave through the NAT gateways.
                nat_public_ips=self.network.nat_public_ips
                if spec.network.api_exposure == "public" and bastion_mode
                else (),
            ),
        )
        self.identities = Identities(
            self,
            "identities",
            IdentitiesProps(
                cluster_name=cluster_name,
                load_balancer_controller=spec.load_balancing.controller,
            ),
        )

    def _nodes(self, spec: ClusterSpec, image_id: str, keys: list[str]) -> None:
        """The control planes and the node pools, one group each, spread over the zones."""
        direct = spec.access.mode == "direct"
        subnets = self.network.public_subnet_ids if direct else self.network.private_subnet_ids
        placements = [
            Placement(zone.zone, subnet) for zone, subnet in zip(self.network.zones, subnets, strict=True)
        ]

        def group(id_: str, role: NodeRole, pool: str, count: int, size: str, disk_gb: int) -> Nodes:
            control_plane = role == "control-plane"
            return Nodes(
                self,
                id_,
                NodesProps(
                    cluster_name=spec.name,
                    image_id=image_id,
                    placements=placements,
                    public_ip=direct,
                    group=pool,
                    role=role,
                    count=count,
                    instance_type=size,
                    disk_gb=disk_gb,
                    security_group_ids=[self.security.node_security_group_id]
                    + ([self.security.control_plane_security_group_id] if control_plane else []),
                    instance_profile_name=self.identities.control_plane_instance_profile_name
                    if control_plane
                    else self.identities.node_instance_profile_name,
                    imds_hop_limit=CONTROLLER_IMDS_HOP_LIMIT if control_plane else IMDS_HOP_LIMIT,
                    user_data=node_user_data(
                        NodeUserDataProps(
                            spec.kubernetes.version,
                            spec.access.user,
                            keys,
                            role,
                            pool,
                            container_checkpointing=spec.kubernetes.container_checkpointing,
                        )
                    ),
                ),
            )

        self.control_planes = group(
            "nodes-control-plane",
            "control-plane",
            "control-plane",
            spec.control_plane.count,
            spec.control_plane_size(),
            spec.control_plane.disk_gb,
        )
        self.pools = {
            pool.name: group(
                f"nodes-{pool.name}", "worker", pool.name, pool.count, spec.pool_size(pool), pool.disk_gb
            )
            for pool in spec.node_pools
            if pool.count > 0
        }

    def _access(self, spec: ClusterSpec, aws: AwsCloud, image_id: str, keys: list[str]) -> None:
        """How the cluster is reached: the API load balancer in front of the control planes, and the
        bastion in bastion mode."""
        public_api = spec.network.api_exposure == "public"
        self.api = ApiLoadBalancer(
            self,
            "api",
            ApiLoadBalancerProps(
                cluster_name=spec.name,
                vpc_id=self.network.vpc_id,
                subnet_ids=self.network.public_subnet_ids if public_api else self.network.private_subnet_ids,
                security_group_ids=[self.security.load_balancer_security_group_id],
                target_instance_ids=[node.instance_id for node in self.control_planes.nodes],
                internal=not public_api,
            ),
        )
        self.bastion = None
        if spec.access.mode == "bastion":
            assert self.security.bastion_security_group_id is not None
            zone = self.network.zones[0]
            self.bastion = Bastion(
                self,
                "bastion",
                BastionProps(
                    cluster_name=spec.name,
                    placement=Placement(zone.zone, zone.public_subnet_id),
                    security_group_id=self.security.bastion_security_group_id,
                    image_id=image_id,
                    instance_type=aws.bastion_size,
                    user_data=bastion_user_data(spec.access.user, keys),
                ),
            )

    def _pinned_image(self) -> str:
        image = DataAwsAmi(
            self,
            "image",
            owners=[catalog.UBUNTU_IMAGE_OWNER],
            most_recent=True,
            filter=[DataAwsAmiFilter(name="name", values=[catalog.UBUNTU_IMAGE_NAME])],
        )
        return image.id

    def _outputs(self, spec: ClusterSpec, aws: AwsCloud) -> None:
        caller = DataAwsCallerIdentity(self, "caller")
        nodes = [_node(node, "control-plane", "control-plane") for node in self.control_planes.nodes]
        for pool, group in self.pools.items():
            nodes += [_node(node, "worker", pool) for node in group.nodes]
        publish_contract(
            self,
            spec,
            ContractProps(
                api_host=self.api.dns_name,
                api_port=self.api.port,
                nodes=nodes,
                bastion=(
                    BastionAccess(self.bastion.public_ip, spec.access.user, self.bastion.provider_id)
                    if self.bastion
                    else None
                ),
                cloud_facts={
                    "cloud": "aws",
                    "region": aws.region,
                    "account_id": caller.account_id,
                    "vpc_id": self.network.vpc_id,
                    "public_subnet_ids": self.network.public_subnet_ids,
                    "private_subnet_ids": self.network.private_subnet_ids,
                    "node_security_group_id": self.security.node_security_group_id,
                    "control_plane_role_arn": self.identities.control_plane_role_arn,
                    "node_role_arn": self.identities.node_role_arn,
                },
            ),
        )


def _node(node: NodeAttributes, role: str, pool: str) -> ContractNode:
    return ContractNode(
        name=node.private_dns,
        role=role,
        pool=pool,
        private_ip=node.private_ip,
        zone=node.zone,
        provider_id=node.provider_id,
        public_ip=node.public_ip,
    )

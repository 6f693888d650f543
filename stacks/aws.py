"""The AWS cluster stack: composes the ``clouder.modules.aws`` constructs from a spec and publishes the
outputs contract (``clouder.outputs``) as Terraform outputs."""

from __future__ import annotations

from typing import Any

from cdktf import Aspects, LocalBackend, S3Backend, TerraformOutput, TerraformStack
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
from clouder.modules.aws.nodes import CONTROLLER_IMDS_HOP_LIMIT, NodeAttributes, Nodes, NodesProps, Placement
from clouder.modules.aws.provider import use_clouder_provider_constraint
from clouder.modules.aws.security import Security, SecurityProps
from clouder.modules.aws.tags import CLUSTER_TAG
from clouder.modules.aws.userdata import NodeUserDataProps, bastion_user_data, node_user_data
from clouder.outputs.contract import CONTRACT_VERSION, OUTPUT_NAMES
from clouder.spec import sshkeys
from clouder.spec.model import Access, AwsCloud, ClusterSpec, LocalState, S3State


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
        name = spec.name
        tags = {CLUSTER_TAG: name, **aws.tags}

        AwsProvider(self, "aws", region=aws.region, default_tags=[AwsProviderDefaultTags(tags=tags)])
        use_clouder_provider_constraint(self)
        self._backend(spec)
        Aspects.of(self).add(AddressTags())

        self.network = Network(
            self,
            "network",
            NetworkProps(
                cluster_name=name,
                cidr=spec.network.cidr,
                zones=[ZoneSubnets(s.zone, s.public, s.private) for s in spec.network.subnets],
                nat_gateways="per-zone"
                if spec.control_plane.count > 1 and len(spec.network.subnets) > 1
                else "single",
            ),
        )
        bastion_mode = spec.access.mode == "bastion"
        public_api = spec.network.api_exposure == "public"
        self.security = Security(
            self,
            "security",
            SecurityProps(
                cluster_name=name,
                vpc_id=self.network.vpc_id,
                admin_cidrs=spec.network.admin_cidrs,
                cni=spec.cni.plugin,
                bastion=bastion_mode,
                ssh_to_nodes_from="bastion" if bastion_mode else "admins",
                load_balancer_controller=spec.load_balancing.controller,
                # Only nodes in private subnets (bastion mode) leave through the NAT gateways.
                nat_public_ips=self.network.nat_public_ips if public_api and bastion_mode else (),
            ),
        )
        self.identities = Identities(
            self,
            "identities",
            IdentitiesProps(
                cluster_name=name,
                load_balancer_controller=spec.load_balancing.controller,
            ),
        )

        image_id = aws.ami or self._pinned_image()
        keys = public_keys(spec.access)
        subnets = self.network.public_subnet_ids if not bastion_mode else self.network.private_subnet_ids
        placements = [
            Placement(zone.zone, subnet) for zone, subnet in zip(self.network.zones, subnets, strict=True)
        ]
        user = spec.access.user
        self.control_planes = Nodes(
            self,
            "nodes-control-plane",
            NodesProps(
                cluster_name=name,
                image_id=image_id,
                placements=placements,
                public_ip=not bastion_mode,
                group="control-plane",
                role="control-plane",
                count=spec.control_plane.count,
                instance_type=spec.control_plane_size(),
                disk_gb=spec.control_plane.disk_gb,
                security_group_ids=[
                    self.security.node_security_group_id,
                    self.security.control_plane_security_group_id,
                ],
                instance_profile_name=self.identities.control_plane_instance_profile_name,
                imds_hop_limit=CONTROLLER_IMDS_HOP_LIMIT,
                user_data=node_user_data(
                    NodeUserDataProps(
                        spec.kubernetes.version,
                        user,
                        keys,
                        "control-plane",
                        "control-plane",
                        container_checkpointing=spec.kubernetes.container_checkpointing,
                    )
                ),
            ),
        )
        self.pools = {
            pool.name: Nodes(
                self,
                f"nodes-{pool.name}",
                NodesProps(
                    cluster_name=name,
                    image_id=image_id,
                    placements=placements,
                    public_ip=not bastion_mode,
                    group=pool.name,
                    role="worker",
                    count=pool.count,
                    instance_type=spec.pool_size(pool),
                    disk_gb=pool.disk_gb,
                    security_group_ids=[self.security.node_security_group_id],
                    instance_profile_name=self.identities.node_instance_profile_name,
                    user_data=node_user_data(
                        NodeUserDataProps(
                            spec.kubernetes.version,
                            user,
                            keys,
                            "worker",
                            pool.name,
                            container_checkpointing=spec.kubernetes.container_checkpointing,
                        )
                    ),
                ),
            )
            for pool in spec.node_pools
            if pool.count > 0
        }

        self.api = ApiLoadBalancer(
            self,
            "api",
            ApiLoadBalancerProps(
                cluster_name=name,
                vpc_id=self.network.vpc_id,
                subnet_ids=self.network.public_subnet_ids if public_api else self.network.private_subnet_ids,
                security_group_ids=[self.security.load_balancer_security_group_id],
                target_instance_ids=[node.instance_id for node in self.control_planes.nodes],
                internal=not public_api,
            ),
        )

        self.bastion = None
        if bastion_mode:
            assert self.security.bastion_security_group_id is not None
            zone = self.network.zones[0]
            self.bastion = Bastion(
                self,
                "bastion",
                BastionProps(
                    cluster_name=name,
                    placement=Placement(zone.zone, zone.public_subnet_id),
                    security_group_id=self.security.bastion_security_group_id,
                    image_id=image_id,
                    instance_type=aws.bastion_size,
                    user_data=bastion_user_data(spec.access.user, keys),
                ),
            )

        self._outputs(spec, aws)

    def _backend(self, spec: ClusterSpec) -> None:
        state = spec.state
        if isinstance(state, S3State):
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
        elif isinstance(state, LocalState):
            # Relative to the stack folder that terraform runs in, unless the spec names a path.
            LocalBackend(self, path=str(state.path) if state.path else "terraform.tfstate")
        else:
            raise BadInputError(
                f"{spec.name}: state backend {state.backend!r} cannot hold an AWS cluster's state.",
                "Use `state.backend: s3` (or local).",
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
        ssh: dict[str, Any] = {"mode": spec.access.mode, "user": spec.access.user, "port": 22}
        if self.bastion is not None:
            ssh |= {
                "bastion_host": self.bastion.public_ip,
                "bastion_user": spec.access.user,
                "bastion_provider_id": self.bastion.provider_id,
            }
        values: dict[str, Any] = {
            "contract_version": CONTRACT_VERSION,
            "cluster_name": spec.name,
            "api_endpoint": {"host": self.api.dns_name, "port": self.api.port},
            "nodes": nodes,
            "ssh": ssh,
            "cloud": {
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
        }
        assert tuple(values) == OUTPUT_NAMES, "the stack must publish exactly the outputs contract"
        for output_name, value in values.items():
            TerraformOutput(self, output_name, value=value, static_id=True)


def _node(node: NodeAttributes, role: str, pool: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": node.private_dns,
        "role": role,
        "pool": pool,
        "private_ip": node.private_ip,
        "zone": node.zone,
        "provider_id": node.provider_id,
    }
    if node.public_ip is not None:
        entry["public_ip"] = node.public_ip
    return entry


def public_keys(access: Access) -> list[str]:
    """The OpenSSH public key(s) installed for ``access.user`` on every host (never a private key)."""
    return sshkeys.public_keys(access)

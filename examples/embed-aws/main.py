"""A user's own CDKTF app that builds on Clouder's AWS constructs.

The stack below is not Clouder's: it is a data team's stack that wants Clouder's hardened network, security
groups, node identities and nodes, plus its own resources wired to them: an encrypted S3 bucket for
datasets, read access to it for the worker nodes' role, and a database-style port that only the cluster's
nodes may reach. Run it like any CDKTF app (``cdktf synth`` with ``"app": "python3 main.py"``, or
``python3 main.py``), after ``pip install 'clouder[cdk]'``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cdktf import App, Aspects, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.security_group_rule import SecurityGroupRule
from constructs import Construct

from clouder.modules.aws import (
    AddressTags,
    Identities,
    IdentitiesProps,
    Network,
    NetworkProps,
    Nodes,
    NodesProps,
    Placement,
    Security,
    SecurityProps,
    ZoneSubnets,
    use_clouder_provider_constraint,
)
from clouder.modules.aws.userdata import NodeUserDataProps, node_user_data

CLUSTER = "analytics"
REGION = "us-east-1"
ADMINS = ["198.51.100.0/24"]
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEmbedExampleEmbedExampleEmbedExampleEmbedEx data-team"


class AnalyticsStack(TerraformStack):
    """Clouder's network, security groups, identities and workers, next to the team's own data bucket."""

    def __init__(self, scope: Construct, id_: str, image_id: str = "ami-0123456789abcdef0") -> None:
        super().__init__(scope, id_)
        AwsProvider(self, "aws", region=REGION, default_tags=[AwsProviderDefaultTags(tags={"team": "data"})])
        use_clouder_provider_constraint(self)  # the versions Clouder is tested with, not the bindings' 5.99.1
        Aspects.of(self).add(AddressTags())  # each resource tagged with its address: orphans can be adopted

        # --- Clouder's constructs: typed props in, typed attributes out -------------------------------------
        network = Network(
            self,
            "network",
            NetworkProps(
                cluster_name=CLUSTER,
                cidr="10.20.0.0/16",
                zones=[
                    ZoneSubnets("us-east-1a", "10.20.0.0/24", "10.20.16.0/20"),
                    ZoneSubnets("us-east-1b", "10.20.1.0/24", "10.20.32.0/20"),
                ],
            ),
        )
        security = Security(
            self,
            "security",
            SecurityProps(
                cluster_name=CLUSTER,
                vpc_id=network.vpc_id,
                admin_cidrs=ADMINS,
                cni="cilium",
            ),
        )
        identities = Identities(self, "identities", IdentitiesProps(cluster_name=CLUSTER))
        workers = Nodes(
            self,
            "workers",
            NodesProps(
                cluster_name=CLUSTER,
                group="analytics",
                role="worker",
                count=2,
                instance_type="r6i.xlarge",
                image_id=image_id,
                disk_gb=200,
                placements=[Placement(zone.zone, zone.private_subnet_id) for zone in network.zones],
                security_group_ids=[security.node_security_group_id],
                instance_profile_name=identities.node_instance_profile_name,
                user_data=node_user_data(
                    NodeUserDataProps("1.33.5", "ubuntu", [SSH_KEY], "worker", "analytics")
                ),
            ),
        )

        # --- the team's own resources, wired to Clouder's attributes ----------------------------------------
        datasets = S3Bucket(self, "datasets", bucket_prefix="analytics-datasets-")
        S3BucketPublicAccessBlock(
            self,
            "datasets-private",
            bucket=datasets.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "datasets-encrypted",
            bucket=datasets.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="aws:kms"
                        )
                    )
                )
            ],
        )
        IamRolePolicy(
            self,
            "workers-read-datasets",
            role=identities.node_role_name,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject", "s3:ListBucket"],
                            "Resource": [datasets.arn, f"{datasets.arn}/*"],
                        }
                    ],
                }
            ),
        )
        warehouse = SecurityGroup(
            self,
            "warehouse",
            name=f"{CLUSTER}-warehouse",
            vpc_id=network.vpc_id,
            description="The team's warehouse endpoint",
        )
        SecurityGroupRule(
            self,
            "warehouse-from-nodes",
            type="ingress",
            security_group_id=warehouse.id,
            protocol="tcp",
            from_port=5432,
            to_port=5432,
            source_security_group_id=security.node_security_group_id,
            description="PostgreSQL from the cluster nodes only",
        )

        TerraformOutput(self, "vpc_id", value=network.vpc_id)
        TerraformOutput(self, "datasets_bucket", value=datasets.bucket)
        TerraformOutput(self, "worker_private_ips", value=[node.private_ip for node in workers.nodes])


def main(outdir: str | None = None) -> Path:
    app = App(outdir=outdir) if outdir else App()
    AnalyticsStack(app, "analytics")
    app.synth()
    return Path(app.outdir) / "stacks" / "analytics"


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else None))

"""Identities: the IAM roles and instance profiles of control-plane and worker nodes, least privilege.

Self-managed clusters have no EKS pod identity, so the in-cluster AWS components take their credentials from
the node's instance profile (through IMDSv2). The controllers (cloud controller, EBS CSI controller, Load
Balancer Controller) run on the control planes only, so their documents go to the control-plane role alone;
workers keep the node document, and their IMDS hop limit of 1 keeps pods off even that. The documents are
files in ``policies/`` so that they can be reviewed and diffed like code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

POLICY_FILES = ("cloud-controller-manager", "node", "ebs-csi-driver", "load-balancer-controller")

EC2_ASSUME_ROLE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    },
    separators=(",", ":"),
)


@cache
def policy_document(name: str) -> str:
    """A policy document from ``policies/<name>.json``, minified (IAM counts characters)."""
    if name not in POLICY_FILES:
        raise KeyError(f"no IAM policy document named {name!r}; known: {', '.join(POLICY_FILES)}")
    text = (
        resources.files("clouder.modules.aws")
        .joinpath("policies", f"{name}.json")
        .read_text(encoding="utf-8")
    )
    return json.dumps(json.loads(text), separators=(",", ":"))


@dataclass(frozen=True)
class IdentitiesProps:
    cluster_name: str
    load_balancer_controller: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)


class Identities(Construct):
    """Roles: control planes (node basics and every controller's document); workers (node basics only)."""

    control_plane_role_arn: str
    control_plane_role_name: str
    control_plane_instance_profile_name: str
    node_role_arn: str
    node_role_name: str
    node_instance_profile_name: str
    policy_arns: dict[str, str]

    def __init__(self, scope: Construct, id_: str, props: IdentitiesProps) -> None:
        super().__init__(scope, id_)
        # IAM names are account-wide: prefix with the cluster name, let Terraform add a unique suffix.
        prefix = props.cluster_name[:24]
        wanted = ["cloud-controller-manager", "node", "ebs-csi-driver"]
        if props.load_balancer_controller:
            wanted.append("load-balancer-controller")
        self.policy_arns = {}
        for name in wanted:
            policy = IamPolicy(
                self,
                f"policy-{name}",
                name_prefix=f"{prefix}-{name}-",
                policy=policy_document(name),
                description=f"Clouder {props.cluster_name}: {name}",
                tags=dict(props.tags),
            )
            self.policy_arns[name] = policy.arn

        role_policies = {"control-plane": wanted, "worker": ["node"]}
        roles: dict[str, tuple[IamRole, IamInstanceProfile]] = {}
        for role_name, attached in role_policies.items():
            short = "cp" if role_name == "control-plane" else "node"
            role = IamRole(
                self,
                f"{role_name}-role",
                name_prefix=f"{prefix}-{short}-",
                assume_role_policy=EC2_ASSUME_ROLE,
                description=f"Clouder {props.cluster_name}: {role_name} nodes",
                tags=dict(props.tags),
            )
            for policy_name in attached:
                IamRolePolicyAttachment(
                    self,
                    f"{role_name}-{policy_name}",
                    role=role.name,
                    policy_arn=self.policy_arns[policy_name],
                )
            profile = IamInstanceProfile(
                self,
                f"{role_name}-profile",
                name_prefix=f"{prefix}-{short}-",
                role=role.name,
                tags=dict(props.tags),
            )
            roles[role_name] = (role, profile)

        cp_role, cp_profile = roles["control-plane"]
        node_role, node_profile = roles["worker"]
        self.control_plane_role_arn = cp_role.arn
        self.control_plane_role_name = cp_role.name
        self.control_plane_instance_profile_name = cp_profile.name
        self.node_role_arn = node_role.arn
        self.node_role_name = node_role.name
        self.node_instance_profile_name = node_profile.name

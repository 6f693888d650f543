"""The synthesized AWS stacks against real Terraform: init + validate through the provider mirror, then one
apply of the example stack against moto, `terraform output -json` parsed into the outputs contract, and a
destroy that leaves nothing of the cluster behind in moto.

moto is reached only through a test-only override file written next to cdk.tf.json; the stack's own code
names no endpoint. The addresses moto invents for instances are read, never dialled.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clouder.hosts.console import aws_instance_ids
from clouder.outputs import ClusterOutputs, parse_terraform_outputs
from support.aws_stacks import AwsStack
from support.moto import MotoServer
from support.tfstack import boto, moto_override

MOTO_ACCOUNT = "123456789012"


def terraform(folder: Path, env: dict[str, str], *args: str, timeout: float = 900) -> str:
    done = subprocess.run(
        ["terraform", *args, "-no-color"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"terraform {args[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def copy_stack(stack: AwsStack, folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(stack.path, folder / "cdk.tf.json")
    return folder


@pytest.mark.e2e  # slow: the CDK bindings in a subprocess, or the real AWS provider
def test_every_stack_validates_with_the_real_provider(
    aws_stacks: dict[str, AwsStack], terraform_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**os.environ, **terraform_env}
    folder = copy_stack(aws_stacks["minimal"], tmp_path / "validate")
    init = terraform(folder, env, "init", "-backend=false", "-input=false")
    # The bindings pin 5.99.1; the stack's "~> 5.99" lets Terraform take what the mirror (or registry) has.
    assert re.search(r"Installed hashicorp/aws v5\.(99|1\d\d)\.\d+", init), init
    for key in ("minimal", "ha", "direct", "moto"):
        shutil.copy(aws_stacks[key].path, folder / "cdk.tf.json")
        result = json.loads(terraform(folder, env, "validate", "-json"))
        assert result["valid"] is True, f"{key}: {result['diagnostics']}"
        assert result["error_count"] == 0


# kind -> (describe call, list key, id key); every one of these carries the cluster's default tags.
EC2_KINDS = {
    "vpcs": ("describe_vpcs", "Vpcs", "VpcId"),
    "subnets": ("describe_subnets", "Subnets", "SubnetId"),
    "security_groups": ("describe_security_groups", "SecurityGroups", "GroupId"),
    "route_tables": ("describe_route_tables", "RouteTables", "RouteTableId"),
    "internet_gateways": ("describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
    "nat_gateways": ("describe_nat_gateways", "NatGateways", "NatGatewayId"),
    "addresses": ("describe_addresses", "Addresses", "AllocationId"),
    "launch_templates": ("describe_launch_templates", "LaunchTemplates", "LaunchTemplateId"),
}
GONE = {"deleted", "terminated", "shutting-down"}


def cluster_resources(moto: MotoServer, cluster: str) -> dict[str, set[str]]:
    """Everything in moto that belongs to ``cluster`` (by its tag, or by its name prefix where untagged)."""
    ec2, elb, iam = boto(moto, "ec2"), boto(moto, "elbv2"), boto(moto, "iam")
    tag = [{"Name": "tag:clouder.dev/cluster", "Values": [cluster]}]
    found = {
        kind: {
            item[id_key]
            for item in getattr(ec2, call)(Filters=tag)[list_key]
            if item.get("State") not in GONE
        }
        for kind, (call, list_key, id_key) in EC2_KINDS.items()
    }
    found["instances"] = {
        i["InstanceId"]
        for r in ec2.describe_instances(Filters=tag)["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in GONE
    }
    named = {
        "load_balancers": (elb.describe_load_balancers()["LoadBalancers"], "LoadBalancerName"),
        "target_groups": (elb.describe_target_groups()["TargetGroups"], "TargetGroupName"),
        "roles": (iam.list_roles()["Roles"], "RoleName"),
        "policies": (iam.list_policies(Scope="Local")["Policies"], "PolicyName"),
        "instance_profiles": (iam.list_instance_profiles()["InstanceProfiles"], "InstanceProfileName"),
    }
    for kind, (items, name_key) in named.items():
        found[kind] = {item[name_key] for item in items if item[name_key].startswith(f"{cluster}-")}
    return found


@pytest.mark.e2e
def test_apply_against_moto_publishes_the_contract_and_destroy_leaves_nothing(
    aws_stacks: dict[str, AwsStack], terraform_env: dict[str, str], moto_server: MotoServer, tmp_path: Path
) -> None:
    stack = aws_stacks["moto"]
    cluster = stack.spec.name
    folder = copy_stack(stack, tmp_path / "apply")
    override: dict[str, Any] = moto_override(moto_server.url)
    # moto does not implement MonitorInstances, which the provider calls for `monitoring = true`; detailed
    # monitoring is a billing switch with nothing to emulate, so the test turns it off for moto only.
    override["resource"] = {
        "aws_instance": {name: {"monitoring": False} for name in stack.resources("aws_instance")}
    }
    (folder / "zz_moto_override.tf.json").write_text(json.dumps(override, indent=2))
    env = {**os.environ, **terraform_env, **moto_server.env()}
    env.pop("AWS_ENDPOINT_URL", None)  # the provider reaches moto only through the override file

    before = cluster_resources(moto_server, cluster)
    assert not any(before.values()), f"moto already holds {cluster}: {before}"
    terraform(folder, env, "init", "-input=false")
    try:
        applied = terraform(folder, env, "apply", "-auto-approve", "-input=false")
        resources = sum(len(kind) for kind in stack.doc["resource"].values())
        assert f"Apply complete! Resources: {resources} added" in applied

        outputs = parse_terraform_outputs(
            terraform(folder, env, "output", "-json"), source="terraform output"
        )
        check_contract(outputs, stack)
        check_in_moto(outputs, moto_server, cluster)
    finally:
        terraform(folder, env, "destroy", "-auto-approve", "-input=false")
    after = cluster_resources(moto_server, cluster)
    assert {kind: ids for kind, ids in after.items() if ids} == {}


def check_contract(outputs: ClusterOutputs, stack: AwsStack) -> None:
    spec = stack.spec
    assert outputs.cluster_name == spec.name
    assert outputs.api_endpoint.port == 6443 and outputs.api_endpoint.host.startswith(f"{spec.name}-api")
    assert outputs.cloud.cloud == "aws"
    facts = outputs.cloud
    assert facts.account_id == MOTO_ACCOUNT and facts.region == "us-east-1"
    assert facts.control_plane_role_arn.startswith(f"arn:aws:iam::{MOTO_ACCOUNT}:role/{spec.name}-cp-")
    assert facts.node_role_arn.startswith(f"arn:aws:iam::{MOTO_ACCOUNT}:role/{spec.name}-node-")
    assert len(outputs.control_planes) == spec.control_plane.count
    assert len(outputs.workers) == sum(pool.count for pool in spec.node_pools)
    private = ipaddress.ip_network(spec.network.subnets[0].private)
    for node in outputs.nodes:
        assert ipaddress.ip_address(node.private_ip) in private
        # The node name is the EC2 private DNS name the cloud controller expects.
        assert node.name == f"ip-{node.private_ip.replace('.', '-')}.ec2.internal"
        assert re.fullmatch(r"aws:///us-east-1a/i-[0-9a-f]+", node.provider_id)
        assert node.public_ip is None
    assert outputs.ssh.mode == "bastion" and outputs.ssh.bastion_host
    ipaddress.ip_address(outputs.ssh.bastion_host)  # an address, read but never dialled


def check_in_moto(outputs: ClusterOutputs, moto: MotoServer, cluster: str) -> None:
    """What the contract says matches what moto holds, and the hardening arrived there too."""
    assert outputs.cloud.cloud == "aws"
    ec2, elb = boto(moto, "ec2"), boto(moto, "elbv2")
    found = cluster_resources(moto, cluster)
    assert found["vpcs"] == {outputs.cloud.vpc_id}
    assert found["subnets"] == set(outputs.cloud.public_subnet_ids) | set(outputs.cloud.private_subnet_ids)
    assert outputs.cloud.node_security_group_id in found["security_groups"]
    instance_ids = {node.provider_id.rsplit("/", 1)[1] for node in outputs.nodes}
    assert instance_ids < found["instances"]  # plus the bastion
    assert len(found["instances"]) == len(instance_ids) + 1
    # every host's console can be read: the contract names each instance, the bastion's too
    consoles = aws_instance_ids(outputs)
    assert set(consoles.values()) == found["instances"] and consoles["bastion"] not in instance_ids
    for template_id in found["launch_templates"]:
        (version,) = ec2.describe_launch_template_versions(LaunchTemplateId=template_id)[
            "LaunchTemplateVersions"
        ]
        data = version["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        # the controllers' pods on control planes use the instance role (one more hop); other nodes' pods
        # must not reach it
        controllers = version["LaunchTemplateName"].startswith(f"{cluster}-control-plane-")
        assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == (2 if controllers else 1)
        (device,) = data["BlockDeviceMappings"]
        assert device["Ebs"]["Encrypted"] is True and device["Ebs"]["VolumeType"] == "gp3"
    (lb,) = elb.describe_load_balancers(Names=[f"{cluster}-api"])["LoadBalancers"]
    assert lb["DNSName"] == outputs.api_endpoint.host
    (group,) = elb.describe_target_groups(Names=[f"{cluster}-api"])["TargetGroups"]
    targets = elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    assert {t["Target"]["Id"] for t in targets} == {
        n.provider_id.rsplit("/", 1)[1] for n in outputs.control_planes
    }

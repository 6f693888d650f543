"""What the spec rules know of AWS (``rules.CLOUD_RULES``): regions and zones, subnet and machine sizes."""

from __future__ import annotations

from collections.abc import Iterator

from clouder.catalog.regions import AWS_REGIONS, aws_zones
from clouder.errors import Problem
from clouder.spec.model import AwsCloud, ClusterSpec
from clouder.spec.rules import CloudRules, TagLimits, closest_name
from clouder.spec.types import network_of


def image_arch(block: AwsCloud) -> tuple[str | None, str]:
    return (None if block.ami else "x86_64"), "aws.ami"  # the pinned Ubuntu image is amd64


def zones(spec: ClusterSpec, zones: list[str]) -> Iterator[Problem]:
    region = spec.region
    if region not in AWS_REGIONS:
        yield Problem(
            "aws.region",
            f"unknown AWS region {region!r}.",
            closest_name(region, AWS_REGIONS) + f"Known regions: {', '.join(sorted(AWS_REGIONS))}.",
        )
        return
    for index, zone in enumerate(zones):
        if zone not in aws_zones(region):
            yield Problem(
                f"network.subnets[{index}].zone",
                f"{zone!r} is not a zone of {region}.",
                f"Use one of {', '.join(aws_zones(region))}.",
            )


# CreateVpc accepts a primary IPv4 block from /16 to /28 (the VPC user guide, "VPC CIDR blocks").
LARGEST_VPC_PREFIX = 16


# kubeadm init's preflight refuses a control plane with fewer than 2 CPUs or less than 1700 MB of memory.
# AWS's nano and micro sizes have at most 1 GiB; these have 1 vCPU (and so do the Graviton .medium sizes
# but t4g.medium): the instance type pages of the EC2 docs.
ONE_CPU_TYPES = {"t1.micro", "t2.nano", "t2.micro", "t2.small", "m1.small", "m1.medium", "m3.medium"}


def _too_small_for_control_plane(size: str) -> str | None:
    from clouder.catalog.machines import architecture

    family, _, kind = size.partition(".")
    if kind in ("nano", "micro"):
        return "has at most 1 GiB of memory"
    one_cpu = size in ONE_CPU_TYPES
    if kind == "medium" and family != "t4g" and architecture("aws", size) == "arm64":
        one_cpu = True
    return "has 1 vCPU" if one_cpu else None


def control_plane_size(spec: ClusterSpec) -> Iterator[Problem]:
    assert spec.aws is not None
    size = spec.control_plane_size()
    why = _too_small_for_control_plane(size)
    if why is not None:
        yield Problem(
            "controlPlane.size" if spec.control_plane.size else "aws.controlPlaneSize",
            f"{size} {why}, but kubeadm needs 2 CPUs and 1700 MB on a control plane.",
            "Use a size with 2 vCPUs and 2 GiB or more, e.g. t3.medium, or m6i.large for production.",
        )


def network_size(spec: ClusterSpec) -> Iterator[Problem]:
    vpc = network_of(spec.network.cidr)
    if vpc.prefixlen < LARGEST_VPC_PREFIX:
        yield Problem(
            "network.cidr",
            f"{vpc} is larger than AWS allows for a VPC (a /{LARGEST_VPC_PREFIX} at most).",
            f"Use a /{LARGEST_VPC_PREFIX} or smaller range, e.g. 10.0.0.0/16.",
        )


def refused_tag_key(key: str) -> tuple[str, str] | None:
    if key.lower().startswith("aws:"):
        return "AWS keeps tag keys starting with 'aws:' for itself.", "Use another prefix."
    return None


RULES = CloudRules(
    name="AWS",
    min_subnet_prefix=28,  # each subnet also keeps 5 addresses for AWS
    machine_kind="AWS instance type",
    machine_example="m6i.large",
    image_arch=image_arch,
    zones=zones,
    # The tagging guide ("Tag naming limits and requirements"): keys 1-128 characters, never starting with
    # "aws:", values up to 256, 50 tags per resource; Clouder sets up to four of its own (Name,
    # clouder.dev/cluster, kubernetes.io/cluster/<name>, kubernetes.io/role/elb).
    tag_limits=TagLimits(128, 256, 50, 4, refused_tag_key),
    remote_state="s3",
    # A pool of this name would reuse the control planes' construct ("nodes-<pool>" in stacks/aws.py).
    control_plane_pool="control-plane",
    extra=(network_size, control_plane_size),
)

"""What the spec rules know of AWS (``rules.CLOUD_RULES``): regions and zones, subnet and machine sizes."""

from __future__ import annotations

from collections.abc import Iterator

from clouder.catalog.regions import AWS_REGIONS, aws_zones
from clouder.errors import Problem
from clouder.spec.model import AwsCloud, ClusterSpec
from clouder.spec.rules import CloudRules


def image_arch(block: AwsCloud) -> tuple[str | None, str]:
    return (None if block.ami else "x86_64"), "aws.ami"  # the pinned Ubuntu image is amd64


def zones(spec: ClusterSpec, zones: list[str]) -> Iterator[Problem]:
    region = spec.region
    if region not in AWS_REGIONS:
        yield Problem(
            "aws.region",
            f"unknown AWS region {region!r}.",
            f"Known regions: {', '.join(sorted(AWS_REGIONS))}.",
        )
        return
    for index, zone in enumerate(zones):
        if zone not in aws_zones(region):
            yield Problem(
                f"network.subnets[{index}].zone",
                f"{zone!r} is not a zone of {region}.",
                f"Use one of {', '.join(aws_zones(region))}.",
            )


RULES = CloudRules(
    name="AWS",
    min_subnet_prefix=28,  # each subnet also keeps 5 addresses for AWS
    machine_kind="AWS instance type",
    machine_example="m6i.large",
    image_arch=image_arch,
    zones=zones,
)

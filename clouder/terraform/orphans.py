"""Orphans: resources an interrupted apply created in the cloud but never wrote to the state.

Every resource a Clouder stack creates carries the cluster tag and its own Terraform address
(``clouder.dev/cluster``, ``clouder.dev/address``). After an interrupted apply, Clouder lists the
cluster's tagged resources, keeps those whose address the state does not know, and either adopts them
(Terraform ``import`` blocks, planned and applied like any change) or, if asked, deletes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clouder.errors import ClouderError
from clouder.spec.model import ClusterSpec

CLUSTER_TAG = "clouder.dev/cluster"
ADDRESS_TAG = "clouder.dev/address"
ADOPT_FILE = "clouder_adopt.tf.json"
# Resource types whose Terraform import ID is the ID at the end of their ARN, in deletion order.
ADOPTABLE = (
    "aws_instance",
    "aws_security_group",
    "aws_subnet",
    "aws_route_table",
    "aws_internet_gateway",
    "aws_vpc",
)
ARN_PREFIX = {
    "aws_instance": "instance/",
    "aws_security_group": "security-group/",
    "aws_subnet": "subnet/",
    "aws_route_table": "route-table/",
    "aws_internet_gateway": "internet-gateway/",
    "aws_vpc": "vpc/",
}

DELETE = {
    "aws_security_group": ("delete_security_group", "GroupId"),
    "aws_subnet": ("delete_subnet", "SubnetId"),
    "aws_route_table": ("delete_route_table", "RouteTableId"),
    "aws_vpc": ("delete_vpc", "VpcId"),
    "aws_internet_gateway": ("delete_internet_gateway", "InternetGatewayId"),
}


@dataclass(frozen=True)
class Orphan:
    address: str
    type: str
    id: str


def find_orphans(spec: ClusterSpec, in_state: set[str]) -> list[Orphan]:
    """The cluster's tagged resources whose Terraform address the state does not hold."""
    if spec.aws is None:
        return []  # Azure: resources are found through the cluster's resource group instead (not yet)
    session = _session(spec.aws.region)
    tagging = session.client("resourcegroupstaggingapi")
    found: dict[str, list[Orphan]] = {}
    pages = tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": CLUSTER_TAG, "Values": [spec.name]}]
    )
    for page in pages:
        for item in page["ResourceTagMappingList"]:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            address = tags.get(ADDRESS_TAG, "")
            kind = address.split(".")[0] if address else ""
            prefix = ARN_PREFIX.get(kind)
            if not address or address in in_state or prefix is None or prefix not in item["ResourceARN"]:
                continue
            orphan = Orphan(address, kind, item["ResourceARN"].rsplit(prefix, 1)[1])
            found.setdefault(address, []).append(orphan)
    live = _drop_terminated(session, [o for group in found.values() for o in group])
    by_address: dict[str, list[Orphan]] = {}
    for orphan in live:
        by_address.setdefault(orphan.address, []).append(orphan)
    twins = {a: o for a, o in by_address.items() if len(o) > 1}
    if twins:
        listed = "; ".join(f"{a}: {', '.join(o.id for o in group)}" for a, group in twins.items())
        raise ClouderError(
            f"several untracked resources claim the same Terraform address: {listed}.",
            "Delete the extra ones (clouder plan --delete-orphans removes them all).",
        )
    return sorted((group[0] for group in by_address.values()), key=lambda o: o.address)


def import_document(orphans: list[Orphan]) -> dict[str, Any]:
    return {"import": [{"to": o.address, "id": o.id} for o in orphans]}


def write_adoption(folder: Path, orphans: list[Orphan]) -> Path | None:
    path = folder / ADOPT_FILE
    if not orphans:
        path.unlink(missing_ok=True)
        return None
    path.write_text(json.dumps(import_document(orphans), indent=2) + "\n", encoding="utf-8")
    return path


def delete_orphans(spec: ClusterSpec, orphans: list[Orphan]) -> None:
    assert spec.aws is not None
    ec2 = _session(spec.aws.region).client("ec2")
    order = {kind: index for index, kind in enumerate(ADOPTABLE)}
    for orphan in sorted(orphans, key=lambda o: order[o.type]):
        if orphan.type == "aws_instance":
            ec2.terminate_instances(InstanceIds=[orphan.id])
            ec2.get_waiter("instance_terminated").wait(InstanceIds=[orphan.id])
        else:
            call, key = DELETE[orphan.type]
            getattr(ec2, call)(**{key: orphan.id})


def _drop_terminated(session: Any, orphans: list[Orphan]) -> list[Orphan]:
    instances = [o.id for o in orphans if o.type == "aws_instance"]
    if not instances:
        return orphans
    reservations = session.client("ec2").describe_instances(InstanceIds=instances)["Reservations"]
    gone = {
        i["InstanceId"]
        for r in reservations
        for i in r["Instances"]
        if i["State"]["Name"] in ("terminated", "shutting-down")
    }
    return [o for o in orphans if o.id not in gone]


def _session(region: str) -> Any:
    try:
        import boto3  # type: ignore[import-untyped]
    except ImportError:
        raise ClouderError("finding orphaned resources needs boto3.", "pip install 'clouder[aws]'") from None
    return boto3.session.Session(region_name=region)

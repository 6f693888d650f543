"""AWS's part of the Terraform workflow: the resource types a plan must not destroy unapproved
(``summary.PROTECTED_TYPES``), and finding and deleting an interrupted apply's orphans
(``orphans.ORPHAN_SEARCH``, through ``aws_orphans``)."""

from __future__ import annotations

from typing import Any

from clouder.errors import ClouderError
from clouder.spec.model import ClusterSpec
from clouder.terraform.aws_orphans import Finder, Orphan, delete, search
from clouder.terraform.orphans import Config, OrphanSearch
from clouder.terraform.summary import ProtectedTypes

PROTECTED = ProtectedTypes(
    network=frozenset(
        {"aws_vpc", "aws_subnet", "aws_internet_gateway", "aws_nat_gateway", "aws_route_table", "aws_eip"}
    ),
    volumes=frozenset({"aws_ebs_volume", "aws_efs_file_system"}),
    nodes=frozenset({"aws_instance"}),
)


def find_orphans(
    spec: ClusterSpec, config: Config, state: dict[str, Any]
) -> tuple[list[Orphan], dict[str, list[str]]]:
    return search(Finder(spec.name, _session(spec.region), config, state))


def delete_orphans(spec: ClusterSpec, orphans: list[Orphan]) -> None:
    delete(_session(spec.region), orphans)


ORPHANS = OrphanSearch(find_orphans, delete_orphans)


def _session(region: str) -> Any:
    try:
        import boto3  # type: ignore[import-untyped]
    except ImportError:
        raise ClouderError("finding orphaned resources needs boto3.", "pip install 'clouder[aws]'") from None
    return boto3.session.Session(region_name=region)

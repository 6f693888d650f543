"""Azure's part of the Terraform workflow: the resource types a plan must not destroy unapproved
(``summary.PROTECTED_TYPES``), and orphans (``orphans.ORPHAN_SEARCH``): not searched yet, since an Azure
tag name cannot hold the address tag's "/"."""

from __future__ import annotations

from typing import Any

from clouder.errors import ClouderError
from clouder.spec.model import ClusterSpec
from clouder.terraform.aws_orphans import Orphan
from clouder.terraform.orphans import Config, OrphanSearch
from clouder.terraform.summary import ProtectedTypes

PROTECTED = ProtectedTypes(
    network=frozenset(
        {
            "azurerm_virtual_network",
            "azurerm_subnet",
            "azurerm_route_table",
            "azurerm_nat_gateway",
            "azurerm_resource_group",
        }
    ),
    volumes=frozenset({"azurerm_managed_disk"}),
    nodes=frozenset({"azurerm_linux_virtual_machine", "azurerm_virtual_machine"}),
)


def find_orphans(
    spec: ClusterSpec, config: Config, state: dict[str, Any]
) -> tuple[list[Orphan], dict[str, list[str]]]:
    return [], {}


def delete_orphans(spec: ClusterSpec, orphans: list[Orphan]) -> None:
    if orphans:  # never found here, so never asked for
        raise ClouderError("deleting orphaned resources is not supported on Azure yet.")


ORPHANS = OrphanSearch(find_orphans, delete_orphans)

"""Orphans: resources an interrupted apply created in the cloud but never wrote to the state.

Every taggable resource a Clouder stack creates carries the cluster tag and its own Terraform address
(``clouder.dev/cluster``, ``clouder.dev/address``). After an interrupted apply, Clouder looks for the
objects of each configured resource the state does not know (the cloud's ``ORPHAN_SEARCH``; AWS:
``aws_orphans``), and either adopts them (Terraform ``import`` blocks, planned and applied like any
change) or, if asked, deletes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clouder.clouds import CloudRegistry
from clouder.errors import ClouderError
from clouder.spec.model import ClusterSpec
from clouder.terraform.aws_orphans import Orphan
from clouder.workdir import write_private

__all__ = [
    "ADOPT_FILE",
    "LEFTOVERS",
    "ORPHAN_SEARCH",
    "RECREATE",
    "Orphan",
    "OrphanSearch",
    "delete_orphans",
    "find_orphans",
    "import_document",
    "write_adoption",
]

ADOPT_FILE = "clouder_adopt.tf.json"
# Deleted and created again rather than adopted. An instance left by an interrupted apply was never
# bootstrapped (that runs after apply), so nothing is lost; and the AWS provider cannot adopt one launched
# from a template at "$Default": import reads the concrete version, and the next apply fails with
# "Provider produced inconsistent final plan" (seen on moto). Its template (never importable with
# update_default_version) goes the same way.
RECREATE = frozenset({"aws_instance", "aws_launch_template"})
# What the provider's own create removes right after making an object, left behind when the create was cut
# short (AWS's allow-all egress on a new security group): revoked, never adopted.
LEFTOVERS = frozenset({"aws_security_group_default_egress"})
Config = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class OrphanSearch:
    """A cloud's way to find the objects ``config`` describes that ``state`` lacks (the found ones, and the
    addresses several objects claim), and to delete orphans."""

    find: Callable[[ClusterSpec, Config, dict[str, Any]], tuple[list[Orphan], dict[str, list[str]]]]
    delete: Callable[[ClusterSpec, list[Orphan]], None]


# cloud -> "module:attribute" of its OrphanSearch.
ORPHAN_SEARCH: CloudRegistry[OrphanSearch] = CloudRegistry(
    "the orphan search", {"aws": "clouder.terraform.aws:ORPHANS", "azure": "clouder.terraform.azure:ORPHANS"}
)


def find_orphans(
    spec: ClusterSpec, config: Config, state: dict[str, Any], deleting: bool = False
) -> list[Orphan]:
    """The cluster's cloud objects that resources of ``config`` were meant to be but ``state`` does not hold.

    ``config`` maps type -> name -> body (the stack's ``resource`` block); ``state`` maps each address the
    state holds to its attribute values. Several objects claiming one address cannot be adopted, only
    deleted (``deleting``).
    """
    found, twins = ORPHAN_SEARCH[spec.cloud].find(spec, config, state)
    if deleting:  # a leftover lives on an orphan, which goes with it
        found = [o for o in found if o.type not in LEFTOVERS]
    if not deleting:  # twins of what is recreated anyway are simply all deleted
        recreated = {a: ids for a, ids in twins.items() if a.split(".")[0] in RECREATE}
        found += [o for a, ids in sorted(recreated.items()) for o in _each(a, ids)]
        twins = {a: ids for a, ids in twins.items() if a not in recreated}
    if twins and deleting:
        return found + [o for a, ids in sorted(twins.items()) for o in _each(a, ids)]
    if twins:
        listed = "; ".join(f"{a}: {', '.join(ids)}" for a, ids in sorted(twins.items()))
        raise ClouderError(
            f"several untracked resources claim the same Terraform address: {listed}.",
            "Delete the extra ones (clouder plan --delete-orphans removes them all).",
        )
    return found


def _each(address: str, ids: list[str]) -> list[Orphan]:
    return [Orphan(address, address.split(".")[0], i) for i in ids]


def import_document(orphans: list[Orphan]) -> dict[str, Any]:
    return {"import": [{"to": o.address, "id": o.id} for o in orphans]}


def write_adoption(folder: Path, orphans: list[Orphan]) -> Path | None:
    path = folder / ADOPT_FILE
    if not orphans:
        path.unlink(missing_ok=True)
        return None
    return write_private(path, json.dumps(import_document(orphans), indent=2) + "\n")


def delete_orphans(spec: ClusterSpec, orphans: list[Orphan]) -> None:
    ORPHAN_SEARCH[spec.cloud].delete(spec, orphans)

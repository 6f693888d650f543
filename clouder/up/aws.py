"""AWS's part of ``clouder up --dry-run``: placeholder cloud facts until Terraform supplies the real ones
(``dryrun.PLANNED_FACTS``)."""

from __future__ import annotations

from typing import Any

from clouder.spec.model import ClusterSpec


def planned_facts(spec: ClusterSpec) -> dict[str, Any]:
    return {
        "cloud": "aws", "region": spec.region, "account_id": "000000000000", "vpc_id": "vpc-0",
        "public_subnet_ids": ["subnet-planned"], "private_subnet_ids": ["subnet-planned"],
        "node_security_group_id": "sg-planned",
        "control_plane_role_arn": "arn:aws:iam::000000000000:role/cp",
        "node_role_arn": "arn:aws:iam::000000000000:role/node",
    }  # fmt: skip

"""Azure's part of ``clouder up --dry-run``: placeholder cloud facts until Terraform supplies the real ones
(``dryrun.PLANNED_FACTS``)."""

from __future__ import annotations

from typing import Any

from clouder.spec.model import ClusterSpec


def planned_facts(spec: ClusterSpec) -> dict[str, Any]:
    zero = "00000000-0000-0000-0000-000000000000"
    names = ("resource_group", "vnet_name", "vnet_resource_group", "subnet_name", "security_group_name",
             "route_table_name")  # fmt: skip
    facts: dict[str, Any] = {key: f"planned-{key.replace('_', '-')}" for key in names}
    facts.update(tenant_id=zero, subscription_id=zero, identity_client_id=zero)
    facts.update(cloud="azure", location=spec.region)
    return facts

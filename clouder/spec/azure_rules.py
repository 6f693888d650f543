"""What the spec rules know of Azure (``rules.CLOUD_RULES``): its locations and zones, subnet and machine
sizes, and its limits on the names Clouder derives from the cluster and pool names (see modules/azure)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from clouder.catalog.regions import AZURE_LOCATIONS, AZURE_ZONES
from clouder.errors import Problem
from clouder.spec.model import AzureCloud, ClusterSpec
from clouder.spec.rules import CloudRules

AZURE_VM_NAME_MAX = 63  # a VM name is also the host and Kubernetes node name: one DNS label
AZURE_NAME_LIMITS = {
    "VNet name": ("vnet-{name}", 64),
    "security group name": ("asg-{name}-control-planes", 80),
}


def image_arch(block: AzureCloud) -> tuple[str | None, str]:
    return ("arm64" if block.image.sku.endswith("arm64") else "x86_64"), "azure.image.sku"


def zones(spec: ClusterSpec, zones: list[str]) -> Iterator[Problem]:
    location = spec.region
    if location not in AZURE_LOCATIONS:
        yield Problem(
            "azure.location",
            f"unknown Azure location {location!r}.",
            f"Known locations: {', '.join(sorted(AZURE_LOCATIONS))}.",
        )
        return
    if not AZURE_LOCATIONS[location]:
        zoned = sorted(name for name, has_zones in AZURE_LOCATIONS.items() if has_zones)
        close = difflib.get_close_matches(location, zoned, n=2, cutoff=0.6)
        yield Problem(
            "azure.location",
            f"{location} has no availability zones, and Clouder places each subnet's nodes in a zone.",
            f"Pick a location with zones{' such as ' + ' or '.join(close) if close else ''}.",
        )
        return
    for index, zone in enumerate(zones):
        if zone not in AZURE_ZONES:
            yield Problem(
                f"network.subnets[{index}].zone",
                f"{zone!r} is not an Azure zone.",
                "Azure zones are '1', '2' and '3'.",
            )


def names(spec: ClusterSpec) -> Iterator[Problem]:
    assert spec.azure is not None
    name = spec.name
    vms = {"metadata.name": f"{name}-cp-{spec.control_plane.count - 1}"}
    if spec.access.mode == "bastion":
        vms["metadata.name"] = max(vms["metadata.name"], f"{name}-bastion", key=len)
    for index, pool in enumerate(spec.node_pools):
        vms[f"nodePools[{index}].name"] = f"{name}-{pool.name}-{max(pool.count - 1, 0)}"
    for path, vm in vms.items():
        if len(vm) > AZURE_VM_NAME_MAX:
            yield Problem(
                path,
                f"the VM name Clouder derives, {vm!r}, has {len(vm)} characters; Azure host and Kubernetes "
                f"node names allow {AZURE_VM_NAME_MAX}.",
                "Shorten the cluster or pool name.",
            )
    for what, (pattern, limit) in AZURE_NAME_LIMITS.items():
        derived = pattern.format(name=name)
        if len(derived) > limit:
            yield Problem(
                "metadata.name",
                f"the {what} Clouder derives, {derived!r}, is longer than Azure allows ({limit}).",
                "Shorten the cluster name.",
            )
    group = spec.azure.resource_group
    if group is not None and group.endswith("."):
        yield Problem("azure.resourceGroup", "Azure refuses resource group names that end with a period.", "")


RULES = CloudRules(
    name="Azure",
    min_subnet_prefix=29,  # each subnet also keeps 5 addresses for Azure
    machine_kind="Azure VM size",
    machine_example="Standard_D4s_v5",
    image_arch=image_arch,
    zones=zones,
    extra=(names,),
)

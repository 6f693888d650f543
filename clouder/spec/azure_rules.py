"""What the spec rules know of Azure (``rules.CLOUD_RULES``): its locations and zones, subnet and machine
sizes, and its limits on the names Clouder derives from the cluster and pool names (see modules/azure)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from clouder.catalog.regions import AZURE_LOCATIONS, AZURE_ZONES
from clouder.errors import Problem
from clouder.spec.model import AzureCloud, ClusterSpec
from clouder.spec.rules import CloudRules, TagLimits, closest_name

AZURE_VM_NAME_MAX = 63  # a VM name is also the host and Kubernetes node name: one DNS label
# Admin user names the Azure compute API refuses (OSProfile.adminUsername, "Disallowed values").
AZURE_RESERVED_USERS = {
    *("administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123"),
    *("a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner"),
    *("root", "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5"),
}
# Tags (the Azure Resource Manager docs, "Tag resources", limitations): keys up to 512 characters without
# < > % & \ ? /, values up to 256, 50 tags per resource, one of which Clouder sets (clouder-cluster).
TAG_KEY_REFUSED = set("<>%&\\?/")
AZURE_NAME_LIMITS = {
    "VNet name": ("vnet-{name}", 64),
    "security group name": ("asg-{name}-control-planes", 80),
}


def image_arch(block: AzureCloud) -> tuple[str | None, str]:
    return ("arm64" if block.image.sku.endswith("arm64") else "x86_64"), "azure.image.sku"


def zones(spec: ClusterSpec, zones: list[str]) -> Iterator[Problem]:
    location = spec.region
    if location not in AZURE_LOCATIONS:
        # Portal display names ("West Europe") and other spellings: Azure's names are lower-case, with no
        # spaces or hyphens.
        yield Problem(
            "azure.location",
            f"unknown Azure location {location!r}.",
            closest_name(location.replace("-", ""), AZURE_LOCATIONS)
            + f"Known locations: {', '.join(sorted(AZURE_LOCATIONS))}.",
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


# Azure size names: Standard_<family><vCPUs>[-<active vCPUs>]<features>[_<version>] (the "Azure VM sizes
# naming conventions" page); an 's' among the features, or the DS, GS and M families, means Premium Storage.
SIZE_NAME = re.compile(r"^Standard_([A-Z]+)(\d+)(?:-(\d+))?([a-z]*)(?:_(.+))?$")
PREMIUM_FAMILIES = ("DS", "GS", "M")
# 2 vCPUs but 1 GiB of memory (the B-series v2 page): below kubeadm's 1700 MB for a control plane.
ONE_GIB_SIZES = {"Standard_B2ats_v2", "Standard_B2ts_v2"}


def node_sizes(spec: ClusterSpec) -> Iterator[Problem]:
    """Node OS disks are Premium SSD (catalog.NODE_OS_DISK_TYPE), which some sizes cannot attach; control
    planes need what kubeadm's preflight asks (2 CPUs, 1700 MB)."""
    from clouder.catalog.machines import architecture

    assert spec.azure is not None
    nodes = {
        (
            "controlPlane.size" if spec.control_plane.size else "azure.controlPlaneSize"
        ): spec.control_plane_size()
    }
    for index, pool in enumerate(spec.node_pools):
        nodes[f"nodePools[{index}].size" if pool.size else "azure.nodeSize"] = spec.pool_size(pool)
    for path, size in nodes.items():
        match = SIZE_NAME.match(size)
        if match is None or architecture("azure", size) is None:
            continue  # an unknown size has its own problem
        family, vcpus, active, features, version = match.groups()
        if "s" not in features and not family.startswith(PREMIUM_FAMILIES):
            premium = f"Standard_{family}{vcpus}{'-' + active if active else ''}{features}s"
            premium += f"_{version}" if version else ""
            hint = (
                f"Take {premium}, the same size with Premium Storage."
                if architecture("azure", premium)
                else ""
            )
            yield Problem(
                path,
                f"{size} cannot attach Premium SSD disks, which Clouder gives every node.",
                hint or "Take a size with an 's' in its features (e.g. Standard_D4s_v5).",
            )
        if path.endswith(("controlPlane.size", "controlPlaneSize")) and (
            int(active or vcpus) < 2 or size in ONE_GIB_SIZES
        ):
            has = "1 GiB of memory" if size in ONE_GIB_SIZES else "1 vCPU"
            yield Problem(
                path,
                f"{size} has {has}, but kubeadm needs 2 CPUs and 1700 MB on a control plane.",
                "Use a size with 2 vCPUs and 2 GiB or more: Standard_B2s, or Standard_D4s_v5 in production.",
            )


# The node preparation script installs packages built for Ubuntu 24.04 (noble): Canonical's other offers
# (22.04 jammy, 20.04 focal …) cannot run it.
NOBLE_OFFER_PREFIX = "ubuntu-24_04-lts"


def image(spec: ClusterSpec) -> Iterator[Problem]:
    assert spec.azure is not None
    chosen = spec.azure.image
    for field in ("publisher", "offer", "sku", "version"):
        if not getattr(chosen, field).strip():
            yield Problem(
                f"azure.image.{field}", "is empty; give it a value, or leave it out for the default.", ""
            )
    if chosen.publisher.lower() == "canonical" and not chosen.offer.lower().startswith(NOBLE_OFFER_PREFIX):
        yield Problem(
            "azure.image.offer",
            f"{chosen.offer!r} is not Ubuntu 24.04, and the node preparation installs packages built for it.",
            f"Use offer {NOBLE_OFFER_PREFIX} (sku server, or server-arm64).",
        )


def admin_user(spec: ClusterSpec) -> Iterator[Problem]:
    user = spec.access.user
    if user.lower() in AZURE_RESERVED_USERS:
        yield Problem(
            "access.user",
            f"Azure refuses {user!r} as a VM's admin user name.",
            "Use another name, e.g. azureuser.",
        )


def refused_tag_key(key: str) -> tuple[str, str] | None:
    refused = sorted(TAG_KEY_REFUSED & set(key))
    if refused:
        why = f"Azure refuses tag keys with {' '.join(refused)} in them."
        return why, "Use letters, digits, '-', '_', '.' or ':'."
    return None


RULES = CloudRules(
    name="Azure",
    min_subnet_prefix=29,  # each subnet also keeps 5 addresses for Azure
    machine_kind="Azure VM size",
    machine_example="Standard_D4s_v5",
    image_arch=image_arch,
    zones=zones,
    tag_limits=TagLimits(512, 256, 50, 1, refused_tag_key),
    remote_state="azurerm",
    # The control planes' VMs are <cluster>-cp-<n>: a pool named cp would name its VMs the same.
    control_plane_pool="cp",
    extra=(names, admin_user, node_sizes, image),
)

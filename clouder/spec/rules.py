"""Rules that relate several fields of a spec. Each finding names the field path to fix."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterator

from clouder.catalog.charts import CHARTS
from clouder.catalog.regions import AWS_REGIONS, AZURE_LOCATIONS, AZURE_ZONES, aws_zones
from clouder.catalog.services import CORE_SERVICES, RUNTIME_PLANE
from clouder.credentials import secret_kind
from clouder.errors import Problem
from clouder.spec.model import BUILTIN_SERVICES, ClusterSpec, S3State
from clouder.spec.types import network_of

WORLD = network_of("0.0.0.0/0")


def check(spec: ClusterSpec) -> list[Problem]:
    """Every cross-field problem in ``spec`` (an empty list means the spec is sound)."""
    rules = (
        _one_cloud,
        _cidrs,
        _zones,
        _sizes,
        _pools,
        _access,
        _services,
        _runtime,
        _state,
        _policy,
        _azure_names,
        _tags,
    )
    return [problem for rule in rules for problem in rule(spec)]


def _one_cloud(spec: ClusterSpec) -> Iterator[Problem]:
    if spec.aws is None and spec.azure is None:
        yield Problem(
            "aws", "the spec names no cloud.", "Add an `aws:` block (region …) or an `azure:` block."
        )
    if spec.aws is not None and spec.azure is not None:
        yield Problem(
            "azure",
            "a spec describes one cloud, but both `aws:` and `azure:` are set.",
            "Keep one; write a second spec for the other cloud.",
        )


def _cidrs(spec: ClusterSpec) -> Iterator[Problem]:
    vpc = network_of(spec.network.cidr)
    named = {
        "kubernetes.podCidr": network_of(spec.kubernetes.pod_cidr),
        "kubernetes.serviceCidr": network_of(spec.kubernetes.service_cidr),
        "network.cidr": vpc,
    }
    items = list(named.items())
    for i, (path_a, net_a) in enumerate(items):
        for path_b, net_b in items[i + 1 :]:
            if net_a.overlaps(net_b):
                yield Problem(
                    path_b,
                    f"{net_b} overlaps {path_a} ({net_a}).",
                    "Pods, services and the VPC/VNet need disjoint address ranges.",
                )
    seen: list[tuple[str, object]] = []
    for index, subnet in enumerate(spec.network.subnets):
        for side in ("public", "private"):
            path = f"network.subnets[{index}].{side}"
            net = network_of(getattr(subnet, side))
            if not net.subnet_of(vpc):
                yield Problem(
                    path,
                    f"{net} is not inside the VPC/VNet {vpc}.",
                    "Choose a range inside network.cidr or widen network.cidr.",
                )
            for other_path, other in seen:
                if net.overlaps(other):  # type: ignore[arg-type]
                    yield Problem(
                        path, f"{net} overlaps {other_path} ({other}).", "Subnets must not overlap."
                    )
            seen.append((path, net))
    yield from _admin_cidrs(spec)
    yield from _sizes_of_ranges(spec)


# Smallest subnets the clouds accept (AWS: /28; Azure: /29), each of which keeps 5 addresses for itself.
MIN_SUBNET_PREFIX = {"aws": 28, "azure": 29}
CLOUD_RESERVED_ADDRESSES = 5
# kube-apiserver refuses a service range with more than 2^20 addresses (IPv4 prefix shorter than /12).
MIN_SERVICE_PREFIX = 12
# Each node gets a /24 of the pod range (Cilium's clusterPoolIPv4MaskSize, kube-controller-manager's default).
NODE_POD_PREFIX = 24


def _admin_cidrs(spec: ClusterSpec) -> Iterator[Problem]:
    networks = [network_of(cidr) for cidr in spec.network.admin_cidrs]
    if WORLD not in ipaddress.collapse_addresses(networks):
        return
    path = "network.adminCidrs"
    message = "together these ranges cover the whole internet, opening SSH and the API to the world."
    if WORLD in networks:
        path = f"{path}[{networks.index(WORLD)}]"
        message = "0.0.0.0/0 would open SSH and the API to the world."
    yield Problem(path, message, "Name your office, VPN or CI runner ranges instead.")


def _sizes_of_ranges(spec: ClusterSpec) -> Iterator[Problem]:
    service = network_of(spec.kubernetes.service_cidr)
    if service.prefixlen < MIN_SERVICE_PREFIX:
        yield Problem(
            "kubernetes.serviceCidr",
            f"{service} is larger than kube-apiserver accepts (at most a /{MIN_SERVICE_PREFIX}).",
            "Use a /12 or smaller range, e.g. 10.96.0.0/12.",
        )
    cloud = spec.cloud if spec.aws is not None or spec.azure is not None else None
    if cloud is not None:
        smallest = MIN_SUBNET_PREFIX[cloud]
        for index, subnet in enumerate(spec.network.subnets):
            for side in ("public", "private"):
                net = network_of(getattr(subnet, side))
                if net.prefixlen > smallest:
                    yield Problem(
                        f"network.subnets[{index}].{side}",
                        f"{net} is smaller than {cloud.upper() if cloud == 'aws' else 'Azure'} allows "
                        f"(a /{smallest} at least).",
                        f"Use a /{smallest} or larger range.",
                    )
    nodes = spec.control_plane.count + sum(pool.count for pool in spec.node_pools)
    pods = network_of(spec.kubernetes.pod_cidr)
    slots = 2 ** (NODE_POD_PREFIX - pods.prefixlen) if pods.prefixlen <= NODE_POD_PREFIX else 0
    if slots < nodes:
        yield Problem(
            "kubernetes.podCidr",
            f"{pods} holds {slots} node range(s) of /{NODE_POD_PREFIX}, but the cluster has {nodes} nodes.",
            f"Each node takes a /{NODE_POD_PREFIX} of the pod range: use a larger one, e.g. 10.244.0.0/16.",
        )
    private = [network_of(subnet.private) for subnet in spec.network.subnets]
    room = sum(net.num_addresses - CLOUD_RESERVED_ADDRESSES for net in private)
    if private and room < nodes:
        yield Problem(
            "network.subnets",
            f"the private subnets hold {room} node addresses, but the cluster has {nodes} nodes.",
            "Widen the private subnets or add zones.",
        )


def _zones(spec: ClusterSpec) -> Iterator[Problem]:
    zones = [subnet.zone for subnet in spec.network.subnets]
    for index, zone in enumerate(zones):
        if zone in zones[:index]:
            yield Problem(
                f"network.subnets[{index}].zone",
                f"zone {zone!r} appears twice.",
                "Give each zone one entry with its public and private subnet.",
            )
    if spec.aws is not None:
        region = spec.aws.region
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
    elif spec.azure is not None:
        location = spec.azure.location
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


def _sizes(spec: ClusterSpec) -> Iterator[Problem]:
    from clouder.catalog.machines import Cloud, architecture, close_sizes

    cloud: Cloud
    other: Cloud
    if spec.aws is not None:
        cloud, block, example = "aws", spec.aws, "m6i.large"
        image_arch = None if spec.aws.ami else "x86_64"  # the pinned Ubuntu image is amd64
        image_field, other = "aws.ami", "azure"
    elif spec.azure is not None:
        cloud, block, example = "azure", spec.azure, "Standard_D4s_v5"  # type: ignore[assignment]
        image_arch = "arm64" if spec.azure.image.sku.endswith("arm64") else "x86_64"
        image_field, other = "azure.image.sku", "aws"
    else:
        return
    sizes = {
        "controlPlane.size": spec.control_plane.size,
        f"{cloud}.controlPlaneSize": block.control_plane_size,
        f"{cloud}.nodeSize": block.node_size,
        f"{cloud}.bastionSize": block.bastion_size,
    }
    sizes |= {f"nodePools[{i}].size": pool.size for i, pool in enumerate(spec.node_pools)}
    name = "AWS instance type" if cloud == "aws" else "Azure VM size"
    for path, size in sizes.items():
        if size is None:
            continue
        arch = architecture(cloud, size)
        if arch is None:
            close = close_sizes(cloud, size)
            if close:
                hint = f"Did you mean {' or '.join(close)}?"
            elif architecture(other, size) is not None:
                hint = f"That is a size of {other}; on {cloud} use one like {example}."
            else:
                hint = f"Use one like {example}; `docs/spec.md` says how the list is kept current."
            yield Problem(path, f"{size!r} is not an {name}.", hint)
        elif image_arch is not None and arch != image_arch:
            yield Problem(
                path,
                f"{size} is an {arch} machine, but the node image is {image_arch}.",
                f"Pick an {image_arch} size, or set {image_field} to an {arch} image.",
            )


def _pools(spec: ClusterSpec) -> Iterator[Problem]:
    names = [pool.name for pool in spec.node_pools]
    for index, name in enumerate(names):
        if name in names[:index]:
            yield Problem(
                f"nodePools[{index}].name", f"pool name {name!r} is used twice.", "Pool names must be unique."
            )
    for index, pool in enumerate(spec.node_pools):
        keys = [taint.key for taint in pool.taints]
        for t_index, key in enumerate(keys):
            if key in keys[:t_index]:
                yield Problem(
                    f"nodePools[{index}].taints[{t_index}].key",
                    f"taint {key!r} is set twice.",
                    "Give each taint key one entry.",
                )


def _access(spec: ClusterSpec) -> Iterator[Problem]:
    if spec.access.public_key is not None and spec.access.public_key_path is not None:
        yield Problem(
            "access.publicKeyPath",
            "both access.publicKey and access.publicKeyPath are set.",
            "Keep one of them.",
        )


def _did_you_mean(value: str, options: list[str]) -> str:
    close = difflib.get_close_matches(value, options, n=1)
    return f"Did you mean `{close[0]}`? " if close else ""


def _services(spec: ClusterSpec) -> Iterator[Problem]:
    custom = [service.name for service in spec.services.custom]
    known = set(BUILTIN_SERVICES) | set(custom)
    for name in spec.services.overrides:
        if name not in known:
            yield Problem(
                f"services.overrides.{name}",
                f"unknown service {name!r}.",
                _did_you_mean(name, sorted(known))
                + f"Built-in services: {', '.join(BUILTIN_SERVICES)}; or add it under services.custom.",
            )
    for index, name in enumerate(custom):
        if name in BUILTIN_SERVICES:
            yield Problem(
                f"services.custom[{index}].name",
                f"{name!r} is a built-in service.",
                f"Override it under services.overrides.{name} instead.",
            )
        elif name in ADDON_RELEASES:
            yield Problem(
                f"services.custom[{index}].name",
                f"{name!r} is the name of a cluster add-on release.",
                "Pick another name: releases share one inventory namespace.",
            )
        elif name == RUNTIME_PLANE:
            yield Problem(
                f"services.custom[{index}].name",
                f"{name!r} is the name of Clouder's runtime plane step.",
                "Pick another name.",
            )
        elif name in custom[:index]:
            yield Problem(f"services.custom[{index}].name", f"service {name!r} is defined twice.", "")
    yield from _core_without_repository(spec)
    for index, service in enumerate(spec.services.custom):
        for d_index, dep in enumerate(service.depends_on):
            if dep not in known:
                yield Problem(
                    f"services.custom[{index}].dependsOn[{d_index}]",
                    f"unknown service {dep!r}.",
                    "Depend on a built-in or another custom service.",
                )
    cycle = _dependency_cycle({s.name: s.depends_on for s in spec.services.custom})
    if cycle:
        yield Problem("services.custom", f"dependency cycle: {' -> '.join(cycle)}.", "Break the cycle.")


def _core_without_repository(spec: ClusterSpec) -> Iterator[Problem]:
    """Core services come only from a repository the spec names: asking for one without it is a mistake."""
    if spec.services.core_repository is not None:
        return
    why = "core services are installed only from services.coreRepository, which is not set."
    fix = "Set services.coreRepository to the chart repository that serves Clouder's core services"
    for name, override in spec.services.overrides.items():
        if name in CORE_SERVICES and override.enabled:
            path = f"services.overrides.{name}"
            yield Problem(path, f"{name!r} is a core service, and {why}", f"{fix}, or remove this override.")
    for index, service in enumerate(spec.services.custom):
        for d_index, dep in enumerate(service.depends_on):
            if dep in CORE_SERVICES:
                path = f"services.custom[{index}].dependsOn[{d_index}]"
                yield Problem(path, f"{dep!r} is a core service, and {why}", f"{fix}, or drop it.")


# Clouder's own add-on releases (charts and the objects it builds itself) share the release inventory.
ADDON_RELEASES = {*CHARTS, "storage-classes", "azure-cloud-config", "nodes-initialized"}
RESERVED_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}


def _runtime(spec: ClusterSpec) -> Iterator[Problem]:
    runtime = spec.runtime
    names = [namespace.name for namespace in runtime.namespaces]
    for index, name in enumerate(names):
        if name in names[:index]:
            yield Problem(f"runtime.namespaces[{index}].name", f"namespace {name!r} is listed twice.", "")
        elif name in RESERVED_NAMESPACES or name.startswith("clouder-"):
            yield Problem(
                f"runtime.namespaces[{index}].name",
                f"{name!r} is a system or Clouder namespace.",
                "Runtime namespaces hold agents only: choose a name of their own.",
            )
    known = set(BUILTIN_SERVICES) | {service.name for service in spec.services.custom}
    for index, manager in enumerate(runtime.managers):
        if manager not in known:
            yield Problem(
                f"runtime.managers[{index}]",
                f"unknown service {manager!r}.",
                "Name a built-in service or one under services.custom.",
            )
    if runtime.node_pool is not None:
        pool = next((p for p in spec.node_pools if p.name == runtime.node_pool), None)
        if pool is None:
            yield Problem(
                "runtime.nodePool",
                f"no node pool is named {runtime.node_pool!r}.",
                f"Pools: {', '.join(p.name for p in spec.node_pools) or 'none'}.",
            )
        elif not any(taint.effect == "NoSchedule" for taint in pool.taints):
            yield Problem(
                "runtime.nodePool",
                f"pool {pool.name!r} has no NoSchedule taint, so other pods would land on it too.",
                "Add a taint such as {key: clouder.dev/agents, value: 'true', effect: NoSchedule}.",
            )


def _dependency_cycle(graph: dict[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return []


def _state(spec: ClusterSpec) -> Iterator[Problem]:
    state = spec.state
    if isinstance(state, S3State):
        if state.dynamodb_table is None and not state.use_lockfile:
            yield Problem(
                "state",
                "an S3 state backend without locking lets two runs corrupt the state.",
                "Set state.dynamodbTable or state.useLockfile: true.",
            )
        if state.region not in AWS_REGIONS:
            yield Problem("state.region", f"unknown AWS region {state.region!r}.", "")


def _policy(spec: ClusterSpec) -> Iterator[Problem]:
    checks = [finding.check for finding in spec.policy.allowlist]
    for index, check_id in enumerate(checks):
        if check_id in checks[:index]:
            yield Problem(f"policy.allowlist[{index}].check", f"{check_id} is allowlisted twice.", "")


# Azure's limits on the names Clouder derives from the cluster and pool names (see modules/azure).
AZURE_VM_NAME_MAX = 63  # a VM name is also the host and Kubernetes node name: one DNS label
AZURE_NAME_LIMITS = {
    "VNet name": ("vnet-{name}", 64),
    "security group name": ("asg-{name}-control-planes", 80),
}


def _azure_names(spec: ClusterSpec) -> Iterator[Problem]:
    if spec.azure is None:
        return
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


def _tags(spec: ClusterSpec) -> Iterator[Problem]:
    sections = {"metadata.labels": spec.metadata.labels}
    if spec.aws is not None:
        sections["aws.tags"] = spec.aws.tags
    if spec.azure is not None:
        sections["azure.tags"] = spec.azure.tags
    for section, tags in sections.items():
        for key, value in tags.items():
            kind = secret_kind(value, name=key)
            if kind is not None:  # the value is not repeated: it may be a real secret
                yield Problem(
                    f"{section}.{key}",
                    f"this looks like {kind}; tags and labels are readable by anyone who can list resources.",
                    "Keep secrets out of the spec: store them in a secret manager and tag with its name.",
                )

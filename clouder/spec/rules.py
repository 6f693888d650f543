"""Rules that relate several fields of a spec. Each finding names the field path to fix."""

from __future__ import annotations

from collections.abc import Iterator

from clouder.catalog.charts import CHARTS
from clouder.catalog.regions import AWS_REGIONS, AZURE_LOCATIONS, AZURE_ZONES, aws_zones
from clouder.catalog.services import RUNTIME_PLANE
from clouder.errors import Problem
from clouder.spec.model import (
    AWS_INSTANCE_TYPE,
    AZURE_VM_SIZE,
    BUILTIN_SERVICES,
    ClusterSpec,
    S3State,
)
from clouder.spec.types import network_of

WORLD = network_of("0.0.0.0/0")


def check(spec: ClusterSpec) -> list[Problem]:
    """Every cross-field problem in ``spec`` (an empty list means the spec is sound)."""
    rules = (_one_cloud, _cidrs, _zones, _sizes, _pools, _access, _services, _runtime, _state, _policy)
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
    for index, cidr in enumerate(spec.network.admin_cidrs):
        if network_of(cidr) == WORLD:
            yield Problem(
                f"network.adminCidrs[{index}]",
                "0.0.0.0/0 would open SSH and the API to the world.",
                "Name your office, VPN or CI runner ranges instead.",
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
        for index, zone in enumerate(zones):
            if zone not in AZURE_ZONES:
                yield Problem(
                    f"network.subnets[{index}].zone",
                    f"{zone!r} is not an Azure zone.",
                    "Azure zones are '1', '2' and '3'.",
                )
            elif not AZURE_LOCATIONS[location]:
                yield Problem(
                    f"network.subnets[{index}].zone",
                    f"{location} has no availability zones.",
                    "Pick a location with zones, or remove the zone split.",
                )


def _sizes(spec: ClusterSpec) -> Iterator[Problem]:
    if spec.aws is not None:
        pattern, cloud, example = AWS_INSTANCE_TYPE, "aws", "m6i.large"
        block = spec.aws
    elif spec.azure is not None:
        pattern, cloud, example = AZURE_VM_SIZE, "azure", "Standard_D4s_v5"
        block = spec.azure  # type: ignore[assignment]
    else:
        return
    sizes = {
        "controlPlane.size": spec.control_plane.size,
        f"{cloud}.controlPlaneSize": block.control_plane_size,
        f"{cloud}.nodeSize": block.node_size,
        f"{cloud}.bastionSize": block.bastion_size,
    }
    sizes |= {f"nodePools[{i}].size": pool.size for i, pool in enumerate(spec.node_pools)}
    for path, size in sizes.items():
        if size is not None and not pattern.fullmatch(size):
            yield Problem(path, f"{size!r} is not a {cloud} machine size.", f"Use a size like {example}.")


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
    if sum(pool.count for pool in spec.node_pools) == 0 and spec.control_plane.count == 1 and spec.node_pools:
        yield Problem(
            "nodePools",
            "every pool has count 0 and one control plane cannot host workloads safely.",
            "Give a pool at least one node.",
        )


def _access(spec: ClusterSpec) -> Iterator[Problem]:
    if spec.access.public_key is not None and spec.access.public_key_path is not None:
        yield Problem(
            "access.publicKeyPath",
            "both access.publicKey and access.publicKeyPath are set.",
            "Keep one of them.",
        )


def _services(spec: ClusterSpec) -> Iterator[Problem]:
    custom = [service.name for service in spec.services.custom]
    known = set(BUILTIN_SERVICES) | set(custom)
    for name in spec.services.overrides:
        if name not in known:
            yield Problem(
                f"services.overrides.{name}",
                f"unknown service {name!r}.",
                f"Built-in services: {', '.join(BUILTIN_SERVICES)}; or add it under services.custom.",
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

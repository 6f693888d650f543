"""Rules that relate several fields of a spec. Each finding names the field path to fix."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from clouder.catalog.charts import CHARTS
from clouder.catalog.regions import AWS_REGIONS
from clouder.catalog.services import CORE_SERVICES, RUNTIME_PLANE
from clouder.clouds import CloudRegistry
from clouder.credentials import secret_kind
from clouder.errors import Problem
from clouder.spec.model import BUILTIN_SERVICES, ClusterSpec, S3State
from clouder.spec.types import network_of

WORLD = network_of("0.0.0.0/0")
Rule = Callable[[ClusterSpec], Iterator[Problem]]


@dataclass(frozen=True)
class CloudRules:
    """What the spec rules need to know of one cloud (its block in the spec is named after it)."""

    name: str  # as the cloud names itself in messages ("AWS", "Azure")
    min_subnet_prefix: int  # the smallest subnet the cloud accepts
    machine_kind: str  # what the cloud calls a machine size ("AWS instance type")
    machine_example: str
    # the node image's CPU architecture (None: unknown, a custom image) and the field that sets it
    image_arch: Callable[[Any], tuple[str | None, str]]
    zones: Callable[[ClusterSpec, list[str]], Iterator[Problem]]  # the region and each subnet's zone
    extra: tuple[Rule, ...] = ()  # rules of this cloud alone (run after the shared ones)


# cloud -> "module:attribute" of its CloudRules.
CLOUD_RULES: CloudRegistry[CloudRules] = CloudRegistry(
    "the spec rules", {"aws": "clouder.spec.aws_rules:RULES", "azure": "clouder.spec.azure_rules:RULES"}
)


def _cloud(spec: ClusterSpec) -> str | None:
    """The spec's cloud; None if it sets no cloud's block (``_one_cloud`` reports that)."""
    blocks = [cloud for cloud in CLOUD_RULES.targets if getattr(spec, cloud, None) is not None]
    return spec.cloud if blocks else None


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
        _cloud_only,
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


# Addresses each cloud keeps for itself in every subnet (AWS and Azure: 5).
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
    cloud = _cloud(spec)
    if cloud is not None:
        rules = CLOUD_RULES[cloud]
        smallest = rules.min_subnet_prefix
        for index, subnet in enumerate(spec.network.subnets):
            for side in ("public", "private"):
                net = network_of(getattr(subnet, side))
                if net.prefixlen > smallest:
                    yield Problem(
                        f"network.subnets[{index}].{side}",
                        f"{net} is smaller than {rules.name} allows (a /{smallest} at least).",
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
    cloud = _cloud(spec)
    if cloud is not None:
        yield from CLOUD_RULES[cloud].zones(spec, zones)


def _sizes(spec: ClusterSpec) -> Iterator[Problem]:
    from clouder.catalog.machines import architecture, close_sizes

    cloud = _cloud(spec)
    if cloud is None:
        return
    rules, block = CLOUD_RULES[cloud], getattr(spec, cloud)
    example, name = rules.machine_example, rules.machine_kind
    image_arch, image_field = rules.image_arch(block)
    sizes = {
        "controlPlane.size": spec.control_plane.size,
        f"{cloud}.controlPlaneSize": block.control_plane_size,
        f"{cloud}.nodeSize": block.node_size,
        f"{cloud}.bastionSize": block.bastion_size,
    }
    sizes |= {f"nodePools[{i}].size": pool.size for i, pool in enumerate(spec.node_pools)}
    for path, size in sizes.items():
        if size is None:
            continue
        arch = architecture(cloud, size)
        if arch is None:
            close = close_sizes(cloud, size)
            if close:
                hint = f"Did you mean {' or '.join(close)}?"
            elif other := _cloud_with_size(size, besides=cloud):
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


def _cloud_with_size(size: str, besides: str) -> str:
    """Another cloud that has a machine size of this name ("" if none does)."""
    from clouder.catalog.machines import ARCHITECTURES, architecture

    others = [cloud for cloud in ARCHITECTURES.clouds if cloud != besides]
    return next((cloud for cloud in others if architecture(cloud, size) is not None), "")


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


def _cloud_only(spec: ClusterSpec) -> Iterator[Problem]:
    """The rules of each cloud whose block the spec sets."""
    for cloud in CLOUD_RULES.targets:
        if getattr(spec, cloud, None) is not None:
            for rule in CLOUD_RULES[cloud].extra:
                yield from rule(spec)


def _tags(spec: ClusterSpec) -> Iterator[Problem]:
    sections = {"metadata.labels": spec.metadata.labels}
    for cloud in CLOUD_RULES.targets:
        if (block := getattr(spec, cloud, None)) is not None:
            sections[f"{cloud}.tags"] = block.tags
    for section, tags in sections.items():
        for key, value in tags.items():
            kind = secret_kind(value, name=key)
            if kind is not None:  # the value is not repeated: it may be a real secret
                yield Problem(
                    f"{section}.{key}",
                    f"this looks like {kind}; tags and labels are readable by anyone who can list resources.",
                    "Keep secrets out of the spec: store them in a secret manager and tag with its name.",
                )

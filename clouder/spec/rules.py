"""Rules that relate several fields of a spec. Each finding names the field path to fix."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clouder.catalog.charts import CHARTS
from clouder.catalog.regions import AWS_REGIONS
from clouder.catalog.services import CORE_SERVICES, RUNTIME_PLANE
from clouder.clouds import CloudRegistry
from clouder.credentials import secret_kind
from clouder.errors import Problem
from clouder.spec.model import BUILTIN_SERVICES, AzurermState, ClusterSpec, LocalState, S3State
from clouder.spec.types import network_of

WORLD = network_of("0.0.0.0/0")
Rule = Callable[[ClusterSpec], Iterator[Problem]]


@dataclass(frozen=True)
class TagLimits:
    """What a cloud accepts in the tags of one resource (the spec's ``<cloud>.tags``)."""

    key_max: int
    value_max: int
    per_resource: int
    clouder_own: int  # at most this many of the resource's tags are Clouder's own
    refused_key: Callable[[str], tuple[str, str] | None]  # (why, what to do) for a key the cloud refuses


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
    tag_limits: TagLimits
    control_plane_pool: str  # the pool name Clouder gives the control planes' resources: no node pool's
    remote_state: str  # the state backend of the cloud's own storage (besides a local state file)
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
        _node_labels,
        _access,
        _services,
        _runtime,
        _state,
        _policy,
        _cloud_only,
        _tags,
        _cloud_tags,
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
    yield from _unusable(spec)
    yield from _sizes_of_ranges(spec)


# Addresses each cloud keeps for itself in every subnet (AWS and Azure: 5).
CLOUD_RESERVED_ADDRESSES = 5
# kube-apiserver refuses a service range with more than 2^20 addresses (IPv4 prefix shorter than /12).
MIN_SERVICE_PREFIX = 12
# kubeadm gives cluster DNS the 10th address of the service range (and the API's Service the 1st).
DNS_SERVICE_INDEX = 10
# Each node gets a /24 of the pod range (Cilium's clusterPoolIPv4MaskSize, kube-controller-manager's default).
NODE_POD_PREFIX = 24


# Blocks no cluster range or client can use: "this network", loopback, link-local (instance metadata lives
# at 169.254.169.254), multicast and the reserved 240/4. AWS and Azure refuse them in a VPC/VNet too.
UNUSABLE_RANGES = {
    ipaddress.IPv4Network("0.0.0.0/8"): "'this network' (0.0.0.0/8)",
    ipaddress.IPv4Network("127.0.0.0/8"): "loopback (127.0.0.0/8)",
    ipaddress.IPv4Network("169.254.0.0/16"): "link-local (169.254.0.0/16, where instance metadata lives)",
    ipaddress.IPv4Network("224.0.0.0/4"): "multicast (224.0.0.0/4)",
    ipaddress.IPv4Network("240.0.0.0/4"): "reserved (240.0.0.0/4)",
}


def _unusable(spec: ClusterSpec) -> Iterator[Problem]:
    ranges = {
        "network.cidr": spec.network.cidr,
        "kubernetes.podCidr": spec.kubernetes.pod_cidr,
        "kubernetes.serviceCidr": spec.kubernetes.service_cidr,
    }
    ranges |= {f"network.adminCidrs[{i}]": cidr for i, cidr in enumerate(spec.network.admin_cidrs)}
    for path, cidr in ranges.items():
        net = network_of(cidr)
        admin = path.startswith("network.adminCidrs")
        for block, what in UNUSABLE_RANGES.items():
            # An admin range may span them (the whole-internet rule judges those); it may not lie inside one.
            if net.subnet_of(block) if admin else net.overlaps(block):
                yield Problem(
                    path,
                    f"{net} lies in the {what} block, which no node, pod or client address can use.",
                    "Name the public address range your office, VPN or CI runner connects from."
                    if admin
                    else "Use a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10).",
                )
                break


def _admin_cidrs(spec: ClusterSpec) -> Iterator[Problem]:
    networks = [network_of(cidr) for cidr in spec.network.admin_cidrs]
    for index, net in enumerate(networks):
        if net in networks[:index]:  # AWS refuses a second identical security-group rule at apply
            yield Problem(
                f"network.adminCidrs[{index}]",
                f"{net} is listed twice.",
                "List each range once (AWS refuses a duplicate security group rule when applying).",
            )
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
    elif service.num_addresses <= DNS_SERVICE_INDEX:
        yield Problem(
            "kubernetes.serviceCidr",
            f"{service} has {service.num_addresses} addresses, but kubeadm gives cluster DNS the "
            f"{DNS_SERVICE_INDEX}th address of the service range.",
            "Use a /24 or larger range, e.g. 10.96.0.0/12.",
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
    cloud = _cloud(spec)
    reserved = CLOUD_RULES[cloud].control_plane_pool if cloud is not None else None
    for index, name in enumerate(names):
        if name in names[:index]:
            yield Problem(
                f"nodePools[{index}].name", f"pool name {name!r} is used twice.", "Pool names must be unique."
            )
        elif name == reserved:
            yield Problem(
                f"nodePools[{index}].name",
                f"{name!r} is the name Clouder gives the control planes' resources.",
                "Pick another pool name.",
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


# The kubelet refuses --node-labels in the kubernetes.io and k8s.io namespaces, except these labels and
# prefixes (k8s.io/kubelet/pkg/apis/well_known_labels.go, cmd/kubelet/app/options/options.go).
KUBELET_LABELS = {
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
}
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def _kubelet_refuses(key: str) -> bool:
    namespace = key.partition("/")[0] if "/" in key else ""
    kubernetes = any(namespace == ns or namespace.endswith("." + ns) for ns in ("kubernetes.io", "k8s.io"))
    allowed = key in KUBELET_LABELS or any(
        namespace == ns or namespace.endswith("." + ns) for ns in KUBELET_LABEL_NAMESPACES
    )
    return kubernetes and not allowed


def _node_labels(spec: ClusterSpec) -> Iterator[Problem]:
    """Pool labels reach the kubelet's --node-labels, which refuses Kubernetes' own label namespaces."""
    for index, pool in enumerate(spec.node_pools):
        for key in pool.labels:
            if _kubelet_refuses(key):
                yield Problem(
                    f"nodePools[{index}].labels.{key}",
                    f"the kubelet refuses to set {key!r} on its own node (labels under kubernetes.io and "
                    "k8s.io are Kubernetes' own), so no node of this pool would join.",
                    "Use a prefix of your own (e.g. clouder.dev/role), or node.kubernetes.io/…; "
                    "node-role.kubernetes.io labels can only be set later with kubectl label.",
                )


def _access(spec: ClusterSpec) -> Iterator[Problem]:
    key = (spec.access.public_key or "").strip()
    if "\n" in key:
        yield Problem(
            "access.publicKey",
            f"this holds {len(key.splitlines())} lines, but publicKey takes one key line.",
            "Keep one public key line (the text is not repeated here).",
        )
    if spec.access.private_key_path.suffix == ".pub":
        yield Problem(
            "access.privateKeyPath",
            f"{spec.access.private_key_path} is a public key file; SSH logs in with the private key.",
            f"Name the private key, {spec.access.private_key_path.with_suffix('')}.",
        )
    if spec.access.public_key is not None and spec.access.public_key_path is not None:
        yield Problem(
            "access.publicKeyPath",
            "both access.publicKey and access.publicKeyPath are set.",
            "Keep one of them.",
        )


def _did_you_mean(value: str, options: list[str]) -> str:
    close = difflib.get_close_matches(value, options, n=1)
    return f"Did you mean `{close[0]}`? " if close else ""


def closest_name(value: str, names: Iterable[str]) -> str:
    """The hint 'Did you mean X? ' for the cloud name (region, location) closest to ``value``, case and
    spaces aside, or an empty string."""
    close = difflib.get_close_matches(value.lower().replace(" ", ""), sorted(names), n=1)
    return f"Did you mean {close[0]}? " if close else ""


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


def _a_folder(path: Path | None) -> bool:
    """A path that names no file: empty or blank in the spec (``Path("")`` is the current folder)."""
    return path is not None and (path == Path() or not str(path).strip())


def _state(spec: ClusterSpec) -> Iterator[Problem]:
    state = spec.state
    cloud = _cloud(spec)
    if cloud is not None and state.backend not in ("local", CLOUD_RULES[cloud].remote_state):
        # The stacks put a cluster's state only in its own cloud's storage (stacks/common.add_backend).
        rules = CLOUD_RULES[cloud]
        yield Problem(
            "state.backend",
            f"state backend {state.backend!r} cannot hold an {rules.name} cluster's state.",
            f"Use `state.backend: {rules.remote_state}` (or local).",
        )
    if isinstance(state, LocalState) and _a_folder(state.path):
        yield Problem("state.path", "is empty; name the state file, or leave the field out.", "")
    if isinstance(state, AzurermState):
        yield from _azurerm_state(state)
    if isinstance(state, S3State):
        key = state.key
        if key.startswith("/") or key.endswith("/") or "//" in key:  # Terraform's S3 backend refuses these
            yield Problem(
                "state.key",
                f"{key!r} is not a state object key: no '/' at its start or end and no '//'.",
                "Write it like clusters/prod.tfstate.",
            )
        if state.dynamodb_table is None and not state.use_lockfile:
            yield Problem(
                "state",
                "an S3 state backend without locking lets two runs corrupt the state.",
                "Set state.dynamodbTable or state.useLockfile: true.",
            )
        if state.region not in AWS_REGIONS:
            hint = closest_name(state.region, AWS_REGIONS).strip() or (
                f"Known regions: {', '.join(sorted(AWS_REGIONS))}."
            )
            yield Problem("state.region", f"unknown AWS region {state.region!r}.", hint)


CONTAINER_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789")
# Azure resource group names: up to 90 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'.
RESOURCE_GROUP_PUNCTUATION = set("_-.()")


def _azurerm_state(state: AzurermState) -> Iterator[Problem]:
    group = state.resource_group_name
    if (
        not group
        or len(group) > 90
        or group.endswith(".")
        or not all(c.isalnum() or c in RESOURCE_GROUP_PUNCTUATION for c in group)
    ):
        yield Problem(
            "state.resourceGroupName",
            f"{group!r} is not a resource group name.",
            "Use up to 90 letters, digits, '_', '-', '.', '(' and ')', not ending with a period.",
        )
    container = state.container_name
    # Azure Storage container names: 3-63 lower-case letters, digits and single hyphens between them.
    if not 3 <= len(container) <= 63 or not all(
        part and set(part) <= CONTAINER_CHARACTERS for part in container.split("-")
    ):
        yield Problem(
            "state.containerName",
            f"{container!r} is not a storage container name.",
            "Use 3-63 lower-case letters, digits and single '-' between them, e.g. tfstate.",
        )


def _policy(spec: ClusterSpec) -> Iterator[Problem]:
    if _a_folder(spec.policy.approvals.approval_file):
        yield Problem(
            "policy.approvals.approvalFile", "is empty; name the approval file, or leave the field out.", ""
        )
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
    """Tags, labels and taints are readable by anyone who can list resources or nodes: no secrets there."""
    values: dict[str, tuple[str, str]] = {
        f"metadata.labels.{key}": (key, value) for key, value in spec.metadata.labels.items()
    }
    for cloud in CLOUD_RULES.targets:
        if (block := getattr(spec, cloud, None)) is not None:
            values |= {f"{cloud}.tags.{key}": (key, value) for key, value in block.tags.items()}
    for index, pool in enumerate(spec.node_pools):
        values |= {f"nodePools[{index}].labels.{k}": (k, v) for k, v in pool.labels.items()}
        for t_index, taint in enumerate(pool.taints):
            values[f"nodePools[{index}].taints[{t_index}].value"] = (taint.key, taint.value)
    for path, (key, value) in values.items():
        kind = secret_kind(value, name=key)
        if kind is not None:  # the value is not repeated: it may be a real secret
            yield Problem(
                path,
                f"this looks like {kind}; tags, labels and taints are readable by anyone who can list "
                "resources or nodes.",
                "Keep secrets out of the spec: store them in a secret manager and tag with its name.",
            )
    repositories = {"services.coreRepository": spec.services.core_repository}
    repositories |= {
        f"services.custom[{i}].repository": s.repository for i, s in enumerate(spec.services.custom)
    }
    for path, url in repositories.items():
        if url is not None and "@" in url.partition("://")[2].partition("/")[0]:
            yield Problem(
                path,
                "this URL carries credentials (user:password@…), which would land in plans, logs and events.",
                "Give the repository URL without credentials; serve the charts from a repository "
                "Clouder can read without them, or from a mirror (--chart-mirror).",
            )


def _cloud_tags(spec: ClusterSpec) -> Iterator[Problem]:
    cloud = _cloud(spec)
    if cloud is None:
        return
    rules = CLOUD_RULES[cloud]
    limits, tags = rules.tag_limits, getattr(spec, cloud).tags
    for key, value in tags.items():
        path = f"{cloud}.tags.{key}"
        refused = limits.refused_key(key)
        if not key.strip():
            yield Problem(path, "a tag key is empty.", "Give the tag a name.")
        elif refused is not None:
            yield Problem(path, *refused)
        elif len(key) > limits.key_max:
            why = f"{rules.name} tag keys have at most {limits.key_max} characters."
            yield Problem(path, why, "Shorten it.")
        if len(value) > limits.value_max:
            why = f"{rules.name} tag values have at most {limits.value_max} characters."
            yield Problem(path, why, "Shorten it.")
    most = limits.per_resource - limits.clouder_own
    if len(tags) > most:
        yield Problem(
            f"{cloud}.tags",
            f"{len(tags)} tags, but {rules.name} allows {limits.per_resource} per resource and Clouder "
            f"sets up to {limits.clouder_own} of its own.",
            f"Keep at most {most} tags.",
        )

"""Clouder's own rules on synthesized config: IMDSv2, encrypted disks, closed admin ports, API exposure."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clouder.policy.config import Resource, blocks, resources, truthy
from clouder.spec.model import ClusterSpec

WORLD_V4 = {"0.0.0.0/0"}
WORLD_V6 = {"::/0"}
WORLD_AZURE = {"*", "0.0.0.0/0", "internet", "any", "::/0"}
ADMIN_PORTS = {22: "SSH", 2379: "etcd", 2380: "etcd", 10250: "kubelet"}
API_PORT = 6443


@dataclass(frozen=True)
class RuleFinding:
    check: str
    address: str
    message: str
    file: str


@dataclass(frozen=True)
class Ingress:
    """One inbound rule, normalised across the AWS and Azure resource shapes."""

    low: int
    high: int
    sources: tuple[str, ...]


# The single address of a public IP resource of this configuration (a NAT gateway's, for the API hairpin).
STACK_ADDRESS = re.compile(r"\$\{(azurerm_public_ip\.[\w-]+\.ip_address|aws_eip\.[\w-]+\.public_ip)\}(/32)?")
Rule = Callable[[ClusterSpec, Resource], Iterator[RuleFinding]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_config(spec: ClusterSpec, root: Path) -> list[RuleFinding]:
    found: list[RuleFinding] = []
    every = list(resources(root))
    for resource in every:
        for rule in RULES:
            found.extend(rule(spec, resource))
    found.extend(world_coverage(every))
    return found


def _finding(check: str, resource: Resource, message: str) -> RuleFinding:
    return RuleFinding(check, resource.address, message, resource.file)


def imdsv2(spec: ClusterSpec, resource: Resource) -> Iterator[RuleFinding]:
    if resource.type not in ("aws_instance", "aws_launch_template"):
        return
    options = blocks(resource.body.get("metadata_options"))
    if not options or options[0].get("http_tokens") != "required":
        yield _finding(
            "CLOUDER_AWS_IMDSV2",
            resource,
            'instance metadata must require IMDSv2 (metadata_options.http_tokens = "required").',
        )


def encrypted_disks(spec: ClusterSpec, resource: Resource) -> Iterator[RuleFinding]:
    body = resource.body
    unencrypted: list[str] = []
    if resource.type == "aws_instance":
        root = blocks(body.get("root_block_device"))
        if not root or not truthy(root[0].get("encrypted")):
            unencrypted.append("root_block_device")
        unencrypted += [
            f"ebs_block_device {d.get('device_name', '?')}"
            for d in blocks(body.get("ebs_block_device"))
            if not truthy(d.get("encrypted"))
        ]
    elif resource.type == "aws_ebs_volume" and not truthy(body.get("encrypted")):
        unencrypted.append("volume")
    elif resource.type == "aws_launch_template":
        for mapping in blocks(body.get("block_device_mappings")):
            for ebs in blocks(mapping.get("ebs")):
                if not truthy(ebs.get("encrypted")):
                    unencrypted.append(f"block_device_mappings {mapping.get('device_name', '?')}")
    if unencrypted:
        yield _finding(
            "CLOUDER_ENCRYPTED_DISKS",
            resource,
            f"disks must be encrypted at rest: {', '.join(unencrypted)} is not.",
        )


def admin_ports(spec: ClusterSpec, resource: Resource) -> Iterator[RuleFinding]:
    for rule in ingress_rules(resource):
        world = [s for s in rule.sources if s.lower() in WORLD_V4 | WORLD_V6 | WORLD_AZURE]
        unresolved = [s for s in rule.sources if _interpolated(s) and not STACK_ADDRESS.fullmatch(s)]
        if not world and not unresolved:
            continue
        for port, what in ADMIN_PORTS.items():
            if rule.low <= port <= rule.high:
                opened = (
                    f"open to the world ({world[0]})"
                    if world
                    else (f"open to {unresolved[0]!r}, which the gate cannot evaluate")
                )
                yield _finding(
                    "CLOUDER_WORLD_OPEN_ADMIN_PORT",
                    resource,
                    f"{what} (port {port}) is {opened}; allow network.adminCidrs or the VPC only "
                    "(as literal ranges).",
                )
                break


def world_coverage(every: list[Resource]) -> Iterator[RuleFinding]:
    """Ranges that together cover the whole address space (two /1s are the world, too) on an admin port,
    across every ingress rule of the configuration."""
    for port, what in ADMIN_PORTS.items():
        opened: dict[int, list[tuple[Resource, Network]]] = {4: [], 6: []}
        for resource in every:
            for rule in ingress_rules(resource):
                if rule.low <= port <= rule.high:
                    for source in rule.sources:
                        network = _network(source)
                        if network is not None and network.prefixlen > 0:
                            opened[network.version].append((resource, network))
        for pairs in opened.values():
            networks = [network for _, network in pairs]
            if networks and any(n.prefixlen == 0 for n in _collapsed(networks)):
                first = min(pairs, key=lambda pair: pair[1].prefixlen)[0]  # the widest range's rule
                yield _finding(
                    "CLOUDER_WORLD_OPEN_ADMIN_PORT",
                    first,
                    f"{what} (port {port}) is open to the world through "
                    f"{', '.join(sorted({str(n) for n in networks}))} together "
                    f"({', '.join(sorted({r.address for r, _ in pairs}))}).",
                )


def _collapsed(networks: list[Network]) -> list[Network]:
    """One address family's ranges merged (``collapse_addresses`` wants them typed by family)."""
    if isinstance(networks[0], ipaddress.IPv4Network):
        return list(ipaddress.collapse_addresses(n for n in networks if isinstance(n, ipaddress.IPv4Network)))
    return list(ipaddress.collapse_addresses(n for n in networks if isinstance(n, ipaddress.IPv6Network)))


def _network(source: str) -> Network | None:
    try:
        return ipaddress.ip_network(source, strict=False)
    except ValueError:
        return None


def _interpolated(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def api_exposure(spec: ClusterSpec, resource: Resource) -> Iterator[RuleFinding]:
    allowed = [ipaddress.ip_network(c) for c in (*spec.network.admin_cidrs, spec.network.cidr)]
    for rule in ingress_rules(resource):
        if not rule.low <= API_PORT <= rule.high:
            continue
        wider = [s for s in rule.sources if not _inside(s, allowed)]
        if wider:
            yield _finding(
                "CLOUDER_API_EXPOSURE",
                resource,
                f"the Kubernetes API (port {API_PORT}) is open to {', '.join(wider)}, wider than "
                "network.adminCidrs and the VPC.",
            )
    if spec.network.api_exposure == "private":
        if resource.type in ("aws_lb", "aws_elb") and not truthy(resource.body.get("internal")):
            yield _finding(
                "CLOUDER_API_EXPOSURE",
                resource,
                "network.apiExposure is private but this load balancer is internet-facing.",
            )
        if resource.type == "azurerm_lb" and any(
            f.get("public_ip_address_id") for f in blocks(resource.body.get("frontend_ip_configuration"))
        ):
            yield _finding(
                "CLOUDER_API_EXPOSURE",
                resource,
                "network.apiExposure is private but this load balancer has a public frontend.",
            )


def _inside(source: str, allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    # An interpolation ("${var.x}", "${"0.0.0.0/0"}", a function) is not judged safe: Clouder's stacks write
    # address ranges as literals, security groups or prefix lists are not in these fields, and the one
    # reference they use is the address of a public IP the stack itself creates (one address, not chosen).
    if STACK_ADDRESS.fullmatch(source):
        return True
    try:
        network = ipaddress.ip_network(source, strict=False)
    except ValueError:
        return source.lower() in ("virtualnetwork", "azureloadbalancer")
    return any(network.version == a.version and network.subnet_of(a) for a in allowed)  # type: ignore[arg-type]


def ingress_rules(resource: Resource) -> Iterator[Ingress]:
    body = resource.body
    if resource.type == "aws_security_group":
        for rule in blocks(body.get("ingress")):
            yield _aws_rule(rule, rule.get("protocol"))
    elif resource.type == "aws_security_group_rule" and _is(body.get("type"), "ingress"):
        yield _aws_rule(body, body.get("protocol"))
    elif resource.type == "aws_vpc_security_group_ingress_rule":
        sources = _listed(body.get("cidr_ipv4")) + _listed(body.get("cidr_ipv6"))
        yield _ports(body.get("from_port"), body.get("to_port"), body.get("ip_protocol"), sources)
    elif resource.type == "azurerm_network_security_group":
        for rule in blocks(body.get("security_rule")):
            yield from _azure_rule(rule)
    elif resource.type == "azurerm_network_security_rule":
        yield from _azure_rule(body)


def _aws_rule(rule: dict[str, Any], protocol: Any) -> Ingress:
    sources = _listed(rule.get("cidr_blocks")) + _listed(rule.get("ipv6_cidr_blocks"))
    return _ports(rule.get("from_port"), rule.get("to_port"), protocol, sources)


def _ports(low: Any, high: Any, protocol: Any, sources: tuple[str, ...]) -> Ingress:
    if str(protocol) in ("-1", "all"):
        return Ingress(0, 65535, sources)
    try:
        return Ingress(int(low), int(high), sources)
    except (TypeError, ValueError):
        return Ingress(0, 65535, sources)


def _azure_rule(rule: dict[str, Any]) -> Iterator[Ingress]:
    if not (_is(rule.get("direction"), "inbound") and _is(rule.get("access"), "allow")):
        return
    sources = _listed(rule.get("source_address_prefix")) + _listed(rule.get("source_address_prefixes"))
    ranges = ([rule["destination_port_range"]] if rule.get("destination_port_range") else []) + list(
        rule.get("destination_port_ranges") or []
    )
    for text in ranges:
        if text == "*":
            yield Ingress(0, 65535, sources)
        else:
            low, _, high = str(text).partition("-")
            yield _ports(low, high or low, "tcp", sources)


def _is(value: Any, expected: str) -> bool:
    """``value`` is ``expected``, or an interpolation that may evaluate to it (judged as if it did)."""
    return str(value or "").lower() == expected or _interpolated(value)


def _listed(value: Any) -> tuple[str, ...]:
    """Sources as written: a list, one string (also a whole-list interpolation), or nothing."""
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(str(item) for item in value if item)
    return ()


RULES: tuple[Rule, ...] = (imdsv2, encrypted_disks, admin_ports, api_exposure)

"""Knobs of a run over the hosts (the bootstrap and the day-2 commands). Defaults suit real clouds; tests
shrink the timeouts."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clouder.outputs import ClusterOutputs

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SshOptions:
    private_key: Path
    known_hosts: Path
    connect_timeout: float = 15.0
    command_timeout: float = 600.0
    attempts: int = 4
    backoff_initial: float = 1.0
    backoff_max: float = 15.0
    keepalive_interval: float = 10.0
    sessions_per_host: int = 2
    max_parallel_hosts: int = 32
    # Rehearsals: node names or contract addresses -> "address[:port]" actually dialled.
    address_map: dict[str, str] = field(default_factory=dict)
    # When set, any address outside these networks is refused before it is dialled.
    allowed_networks: tuple[Network, ...] | None = None
    # The networks a node's private address in the outputs contract must lie in (default: the spec's own
    # network): outputs that name a host elsewhere never receive a join token or certificate key.
    node_networks: tuple[Network, ...] | None = None
    # For the contract a run works on, host name -> its console output (clouder.hosts.console.console_reader
    # reads EC2's): a first host key must be one cloud-init printed there, which is waited for (polled every
    # console_poll s) up to console_wait s. Built per run from that run's contract, so nodes a `scale` has
    # just created are read too.
    console: Callable[[ClusterOutputs], Callable[[str], str | None]] | None = None
    console_wait: float = 900.0
    console_poll: float = 10.0


@dataclass(frozen=True)
class BootstrapOptions:
    ssh: SshOptions
    dry_run: bool = False
    cloud_init_timeout: float = 900.0
    lock_heartbeat: float = 10.0
    lock_stale_after: float = 60.0
    break_lock: bool = False
    token_ttl: str = "2h"
    token_min_left_s: float = 900.0
    kubeconfig_out: Path | None = None
    merge_kubeconfig: Path | None = None
    state_dir: str = "/var/lib/clouder"


def parse_networks(values: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)

"""What a command loads before it acts, written once: the spec with its outputs contract (``load_cluster``,
``find_outputs``), the SSH options its flags ask for (``ssh_options``) and the event log with its progress
view (``event_log``). Commands parse their flags and call these, as k0sctl's ``cmd/`` does.

Commands import this module (and ``progress``) inside their functions, so that ``clouder --help``, which
imports every command module, loads neither; heavier modules are imported here where they are used.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from clouder.cli.app import Format
from clouder.errors import BadInputError

if TYPE_CHECKING:
    from clouder.events import Event, EventLog
    from clouder.hosts.console import ConsoleReader
    from clouder.hosts.options import Network, SshOptions
    from clouder.outputs import ClusterOutputs
    from clouder.spec.model import ClusterSpec


@dataclass(frozen=True)
class Cluster:
    spec: ClusterSpec
    outputs: ClusterOutputs


def load_cluster(spec_path: Path, outputs: Path | None) -> Cluster:
    """The spec and its outputs contract (``outputs``, else the one the last apply saved); both must exist."""
    from clouder.spec import load_spec

    spec = load_spec(spec_path)
    return Cluster(spec, load_outputs(spec, outputs))


def load_outputs(spec: ClusterSpec, path: Path | None) -> ClusterOutputs:
    """The spec's outputs contract, which must exist and describe a cluster on the spec's cloud."""
    from clouder.workdir import outputs_path

    source = path or outputs_path(spec)
    if not source.is_file():
        raise BadInputError(
            f"no outputs contract: {source} does not exist.",
            "Run `clouder apply SPEC` first, or pass --outputs FILE.",
        )
    return _read(spec, source)


def find_outputs(spec: ClusterSpec, path: Path | None) -> ClusterOutputs | None:
    """The outputs contract when there is one (a dry run or a status does without); one named must exist."""
    from clouder.workdir import outputs_path

    if path is not None or outputs_path(spec).is_file():
        return load_outputs(spec, path)
    return None


def _read(spec: ClusterSpec, source: Path) -> ClusterOutputs:
    from clouder.outputs import read_outputs_file

    found = read_outputs_file(source)
    if found.cloud.cloud != spec.cloud:
        raise BadInputError(
            f"{source} describes an {found.cloud.cloud} cluster, but the spec of {spec.name} is for "
            f"{spec.cloud}.",
            "Pass the outputs contract of this spec's cluster with --outputs FILE.",
        )
    return found


@dataclass(frozen=True)
class SshFlags:
    """How the command-line flags change the SSH options of a run over the hosts."""

    address_map: dict[str, str]
    allowed_networks: tuple[Network, ...] | None
    connect_timeout: float
    command_timeout: float
    attempts: int
    console: Callable[[ClusterOutputs], ConsoleReader] | None = None

    def __call__(self, options: SshOptions) -> SshOptions:
        changes = {flag.name: getattr(self, flag.name) for flag in dataclasses.fields(self)}
        return dataclasses.replace(options, **changes)


def ssh_options(
    ssh_map: Path | None, ssh_allow: list[str] | None, connect_timeout: float, command_timeout: float,
    attempts: int, cloud: str, from_console: bool = False,
) -> SshFlags:  # fmt: skip
    """Parse ``--ssh-map``, ``--ssh-allow`` and the timeouts now (bad input fails before anything runs).

    ``from_console``: ``--host-keys-from-console`` asks the consoles of the cluster's ``cloud`` to vouch for
    first host keys; a cloud whose consoles cannot be read here fails now, not after an apply."""
    from clouder.hosts.options import parse_networks

    try:
        networks = parse_networks(ssh_allow) if ssh_allow else None
    except ValueError as exc:
        raise BadInputError(f"--ssh-allow: {exc}") from None
    console = None
    if from_console:
        from clouder.hosts.console import check_console, console_reader

        check_console(cloud)
        console = console_reader
    return SshFlags(_address_map(ssh_map), networks, connect_timeout, command_timeout, attempts, console)


def _address_map(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(
            f"--ssh-map {path}: cannot read a JSON object of name -> address ({exc})."
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise BadInputError(f"--ssh-map {path}: expected a JSON object of name -> 'address[:port]'.")
    return {str(k): v for k, v in data.items()}


def event_log(
    spec: ClusterSpec, fmt: Format, progress: Callable[[Event], None], path: Path | None = None
) -> EventLog:
    """The run's event log (``path``, else the cluster's events.jsonl); text output shows ``progress``."""
    from clouder.events import EventLog
    from clouder.workdir import events_path

    log = EventLog(path or events_path(spec))
    if fmt is Format.text:
        log.listeners.append(progress)
    return log

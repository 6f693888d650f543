"""A node's console, read from its cloud: where cloud-init prints the SSH host keys at first boot.

The machines come from the outputs contract: each node's ``provider_id`` and the bastion's
``ssh.bastion_provider_id`` (``aws:///<zone>/<instance-id>``). Each cloud registers its reader in
``CONSOLES``: on AWS EC2's ``GetConsoleOutput`` (``aws_console``); Azure's boot diagnostics are not read
yet (``azure_console``, see docs/bootstrap.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from clouder.clouds import CloudRegistry
from clouder.hosts.aws_console import Ec2Console, aws_instance_ids, ec2_client
from clouder.outputs import ClusterOutputs

__all__ = [
    "CONSOLES",
    "CloudConsoles",
    "ConsoleReader",
    "Ec2Console",
    "aws_instance_ids",
    "check_console",
    "console_reader",
    "ec2_client",
]

ConsoleReader = Callable[[str], str | None]


class CloudConsoles(Protocol):
    def check(self) -> None:
        """Fail now, before a run changes anything, when this cloud's consoles cannot be read from here."""

    def reader(self, outputs: ClusterOutputs, client: Any | None = None) -> ConsoleReader:
        """Host name -> its console, for the hosts of ``outputs`` (``client``: the cloud's API client)."""


# cloud -> "module:attribute" of its CloudConsoles.
CONSOLES: CloudRegistry[CloudConsoles] = CloudRegistry(
    "the console reader",
    {"aws": "clouder.hosts.aws_console:CONSOLES", "azure": "clouder.hosts.azure_console:CONSOLES"},
)


def check_console(cloud: str) -> None:
    """Fail now when ``cloud``'s consoles cannot vouch for first host keys (``--host-keys-from-console``)."""
    CONSOLES[cloud].check()


def console_reader(outputs: ClusterOutputs, client: Any | None = None) -> ConsoleReader:
    """The console of every host in ``outputs``, read from its cloud (``client``: that cloud's API client)."""
    return CONSOLES[outputs.cloud.cloud].reader(outputs, client)

"""A node's console, read from its cloud: where cloud-init prints the SSH host keys at first boot.

The machines come from the outputs contract: each node's ``provider_id`` and the bastion's
``ssh.bastion_provider_id`` (``aws:///<zone>/<instance-id>``). Each cloud registers its reader in
``CONSOLES``: on AWS EC2's ``GetConsoleOutput`` (``aws_console``); Azure's boot diagnostics are not read
yet (``azure_console``, see docs/bootstrap.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clouder.clouds import CloudRegistry
from clouder.hosts.aws_console import Ec2Console, aws_instance_ids, ec2_client
from clouder.outputs import ClusterOutputs

__all__ = ["CONSOLES", "ConsoleReader", "Ec2Console", "aws_instance_ids", "console_reader", "ec2_client"]

ConsoleReader = Callable[[str], str | None]
# cloud -> "module:function" giving, for an outputs contract (and an optional client), each host's console.
CONSOLES: CloudRegistry[Callable[[ClusterOutputs, Any | None], ConsoleReader]] = CloudRegistry(
    "the console reader",
    {"aws": "clouder.hosts.aws_console:reader", "azure": "clouder.hosts.azure_console:reader"},
)


def console_reader(outputs: ClusterOutputs, client: Any | None = None) -> ConsoleReader:
    """The console of every host in ``outputs``, read from its cloud (``client``: that cloud's API client)."""
    return CONSOLES[outputs.cloud.cloud](outputs, client)

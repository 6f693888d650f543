"""Azure's node consoles (``console.CONSOLES``): boot diagnostics are not read yet (see docs/bootstrap.md)."""

from __future__ import annotations

from typing import Any

from clouder.errors import ClouderError
from clouder.outputs import ClusterOutputs


def reader(outputs: ClusterOutputs, client: Any | None = None) -> Any:
    raise ClouderError(
        "Clouder cannot read an Azure VM's boot diagnostics yet, so host keys cannot be checked against "
        "the console there.",
        "Run without --host-keys-from-console, and compare the pinned keys in the cluster's known_hosts "
        "with the serial log (`az vm boot-diagnostics get-boot-log`) by hand.",
    )

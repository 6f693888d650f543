"""Azure's node consoles (``console.CONSOLES``): boot diagnostics are not read yet (see docs/bootstrap.md)."""

from __future__ import annotations

from typing import Any, NoReturn

from clouder.errors import BadInputError
from clouder.outputs import ClusterOutputs


class BootDiagnostics:
    """Azure's part of ``console.CONSOLES``: refuses, before a run changes anything."""

    def check(self) -> NoReturn:
        raise BadInputError(
            "Clouder cannot read an Azure VM's boot diagnostics yet, so host keys cannot be checked against "
            "the console there.",
            "Run without --host-keys-from-console, and compare the pinned keys in the cluster's known_hosts "
            "with the serial log (`az vm boot-diagnostics get-boot-log`) by hand.",
        )

    def reader(self, outputs: ClusterOutputs, client: Any | None = None) -> NoReturn:
        self.check()


CONSOLES = BootDiagnostics()

"""One moto server per test session (per xdist worker), on a free loopback port, stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from support.parts import missing


@dataclass(frozen=True)
class MotoServer:
    url: str
    port: int

    def env(self) -> dict[str, str]:
        """Environment for a process (terraform, boto3) that must talk to this moto server only."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": self.url,
        }


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's server on a free loopback port, started as ``clouder rehearse`` starts it (and retried on
    another port when a parallel worker took the first one)."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        missing("moto", "pip install 'moto[server]'")
    from clouder.rehearse.emulator import running_emulator

    with running_emulator(tmp_path_factory.mktemp("moto")) as found:
        yield MotoServer(url=found.url, port=int(found.url.rsplit(":", 1)[1]))

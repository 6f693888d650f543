"""One moto server per test session, on a free loopback port, stopped at the end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        missing("moto", "pip install 'moto[server]'")
    folder = tmp_path_factory.mktemp("moto")
    for attempt in range(3):  # a free port can be taken by a parallel worker before moto binds it
        port = free_port()
        log = folder / f"moto-{attempt}.log"
        with log.open("w") as handle:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env={**os.environ, "MOTO_PORT": str(port)},
            )
        url = f"http://127.0.0.1:{port}"
        try:
            if _wait_ready(url, proc, log):
                yield MotoServer(url=url, port=port)
                return
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    pytest.fail(f"moto server did not start: {log.read_text()[-2000:]}")


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    pytest.fail("moto server did not answer within 30 s")

"""The local AWS emulator of a rehearsal (moto's server on loopback) and what Terraform needs changed to
run on it. Used by ``clouder rehearse`` only, and always shown to the user: never applied to a real run.

moto gaps the overrides work around (each listed in ``stack_override``'s notes): no ``MonitorInstances``
(detailed monitoring off), an empty ``<association/>`` on every network interface (read back as a public
IP, so the provider would replace the instance), an instance's ``user_data`` that came from its launch
template reported differently, and a launch template's own tags added to its ``tag_specifications``.
The server itself is started through ``moto_server``, which answers one error as AWS does.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clouder.errors import BadInputError, ClouderError

OVERRIDE_FILE = "zz_clouder_rehearsal_override.tf.json"
MOTO_AMI = "ami-1e749f67"  # one of the images moto serves
SERVICES = ("ec2", "iam", "sts", "s3", "elbv2", "dynamodb", "resourcegroupstaggingapi")
OVERRIDE_ALLOWLIST = [
    {"check": "CKV_AWS_126", "reason": "rehearsal override: moto lacks MonitorInstances"},
]
CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}  # moto's; never a real account's


@dataclass(frozen=True)
class Emulator:
    url: str
    log: Path

    def env(self) -> dict[str, str]:
        """Environment for Terraform in a rehearsal: moto's fake keys, no instance metadata lookups."""
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip


def provider_override(url: str, region: str | None = None) -> dict[str, Any]:
    """The AWS provider pointed at the emulator at ``url`` for every service Clouder's stacks use."""
    provider: dict[str, Any] = {
        **CREDENTIALS,
        "skip_credentials_validation": True, "skip_requesting_account_id": True,
        "skip_metadata_api_check": True, "skip_region_validation": True,
        "endpoints": [{service: url for service in SERVICES}],
    }  # fmt: skip
    if region is not None:
        provider["region"] = region
    return {"provider": {"aws": [provider]}}


def stack_override(stack: Path, url: str) -> tuple[dict[str, Any], list[str]]:
    """The override for a synthesized Clouder AWS stack, and one note per change it makes."""
    override = provider_override(url)
    resources = json.loads((stack / "cdk.tf.json").read_text(encoding="utf-8")).get("resource", {})
    instance = {
        "monitoring": False,
        "lifecycle": {"ignore_changes": ["associate_public_ip_address", "user_data"]},
    }
    template = {"monitoring": {"enabled": False}, "lifecycle": {"ignore_changes": ["tag_specifications"]}}
    override["resource"] = {
        "aws_instance": {name: instance for name in resources.get("aws_instance", {})},
        "aws_launch_template": {name: template for name in resources.get("aws_launch_template", {})},
    }
    notes = [
        f"AWS provider: every endpoint at the emulator ({url}), moto's fake keys, no credential or "
        "account checks",
        "instances and launch templates: detailed monitoring off (moto lacks MonitorInstances)",
        "instances: ignore changes to associate_public_ip_address and user_data, launch templates: to "
        "tag_specifications (moto reports them back unlike AWS)",
    ]
    return override, notes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_moto() -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise BadInputError(
            "a rehearsal runs Terraform against a local AWS emulator (moto's server), which is not "
            "installed.",
            "Install the extra: pip install 'clouder[rehearse]'.",
        ) from None


@contextlib.contextmanager
def running_emulator(folder: Path, attempts: int = 3) -> Iterator[Emulator]:
    """moto's server on a free loopback port, stopped when the block ends."""
    require_moto()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "moto.log"
    for _ in range(attempts):  # the free port can be taken before moto binds it
        port = free_port()
        with log.open("w") as handle:
            proc = subprocess.Popen(
                [sys.executable, "-m", "clouder.rehearse.moto_server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, "MOTO_PORT": str(port)},
            )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            if _ready(url, proc):
                yield Emulator(url, log)
                return
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    raise ClouderError(f"the AWS emulator (moto) did not start: {log.read_text()[-1500:]}")


def _ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False

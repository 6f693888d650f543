"""Find the Terraform (or OpenTofu) binary and check that it is new enough."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from clouder.errors import BadInputError, ClouderError

MINIMUM = (1, 5)
CANDIDATES = ("terraform", "tofu")


@dataclass(frozen=True)
class TerraformBinary:
    path: str
    flavor: str  # "terraform" or "tofu"
    version: str


def find_binary(named: str | None = None) -> TerraformBinary:
    """The binary named in the spec (a name on PATH or a path), else terraform, else tofu on PATH."""
    names = (named,) if named else CANDIDATES
    for name in names:
        path = name if Path(name).is_file() else shutil.which(name)
        if path:
            return _checked(path)
    wanted = named or "terraform or tofu"
    raise BadInputError(
        f"{wanted} was not found (looked on PATH and at the path itself).",
        "Install Terraform >= 1.5 or OpenTofu, or name its path in spec.terraform.binary.",
    )


def _checked(path: str) -> TerraformBinary:
    try:
        done = subprocess.run(
            [path, "version", "-json"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        raise ClouderError(f"cannot run {path}: {exc}.") from None
    version = _parse_version(done.stdout)
    if version is None:
        raise ClouderError(f"{path} did not report its version ({done.stderr.strip()[:200]}).")
    flavor = "tofu" if "tofu" in Path(path).name or "OpenTofu" in done.stdout else "terraform"
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None or (int(match[1]), int(match[2])) < MINIMUM:
        raise BadInputError(
            f"{path} is version {version}; Clouder needs {'.'.join(map(str, MINIMUM))} or newer.",
            "Upgrade Terraform (or use OpenTofu), or point spec.terraform.binary at a newer one.",
        )
    return TerraformBinary(path=path, flavor=flavor, version=version)


def _parse_version(stdout: str) -> str | None:
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError:
        match = re.search(r"v(\d+\.\d+\.\d+\S*)", stdout)
        return match[1] if match else None
    value = document.get("terraform_version") if isinstance(document, dict) else None
    return str(value) if value else None

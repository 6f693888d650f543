"""Find the Terraform (or OpenTofu) binary and check that it is new enough."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from clouder.errors import BadInputError, ClouderError

MINIMUM = (1, 5)
BINARY_ENV = "CLOUDER_TERRAFORM"
CANDIDATES = ("terraform", "tofu")


@dataclass(frozen=True)
class TerraformBinary:
    path: str
    flavor: str  # "terraform" or "tofu"
    version: str


def find_binary(named: str | None = None) -> TerraformBinary:
    """``$CLOUDER_TERRAFORM`` (a name on PATH or a path: set by whoever runs Clouder), else the spec's
    ``terraform``/``tofu`` on PATH, else terraform, else tofu on PATH.

    A spec never names a path: in a pipeline the spec comes from a pull request, and the binary runs with
    the cloud credentials."""
    chosen = os.environ.get(BINARY_ENV)
    if chosen:
        path = chosen if os.sep in chosen else shutil.which(chosen)
        if path and Path(path).is_file():
            return _checked(path)
        raise BadInputError(f"{BINARY_ENV}={chosen}: no such file or command on PATH.",
                            "Point it at a Terraform >= 1.5 or OpenTofu binary.")  # fmt: skip
    if named is not None and named not in CANDIDATES:
        raise BadInputError(
            f"spec.terraform.binary: {named!r} is not allowed; a spec may name only terraform or tofu "
            "(found on PATH).",
            f"Remove it from the spec and set {BINARY_ENV}=PATH where Clouder runs to choose another binary.",
        )
    for name in (named,) if named else CANDIDATES:
        path = shutil.which(name)
        if path:
            return _checked(path)
    wanted = named or "terraform or tofu"
    raise BadInputError(
        f"{wanted} was not found on PATH.",
        f"Install Terraform >= 1.5 or OpenTofu, or set {BINARY_ENV} to its path.",
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
            f"Upgrade Terraform (or use OpenTofu), or point {BINARY_ENV} at a newer one.",
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

"""Real parts (terraform, moto, sshd, namespaces …): skip on a laptop that lacks one, fail under CI=true."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(part: str, reason: str) -> NoReturn:
    message = f"real part missing: {part}: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing real part is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def require_binary(name: str, hint: str = "") -> str:
    path = shutil.which(name)
    if path is None:
        missing(name, f"`{name}` is not on PATH. {hint}".strip())
    return path


def require_root(part: str) -> None:
    if os.geteuid() != 0:
        missing(part, "needs root (network namespaces, sshd)")

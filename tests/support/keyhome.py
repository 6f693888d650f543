"""A home folder holding ~/.ssh/id_ed25519.pub, which the examples and starter specs name."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def use_home_with_public_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point HOME (for this test and the processes it starts) at a new home with a public key; return it."""
    public = Ed25519PrivateKey.generate().public_key()
    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519.pub").write_bytes(line + b" me@laptop\n")
    monkeypatch.setenv("HOME", str(home))
    return line.decode()

"""Host keys pinned on first contact, in OpenSSH known_hosts format keyed by node name.

The first key a node presents is recorded; from then on only that key is accepted, and a different key is a
hard error that says how to clear the pin when the node was really rebuilt.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import threading
from pathlib import Path

import asyncssh

from clouder.errors import ClouderError
from clouder.workdir import open_private, read_private


class HostKeyChangedError(ClouderError):
    def __init__(self, name: str, address: str, path: Path) -> None:
        super().__init__(
            f"host key of {name} ({address}) does not match the key pinned in {path} on first contact; "
            "refusing to connect (possible man-in-the-middle).",
            f"If {name} was rebuilt, remove its pin with `ssh-keygen -R {name} -f {path}` and run again.",
        )


class HostKeysNotOnConsoleError(ClouderError):
    def __init__(self, name: str, waited: float) -> None:
        super().__init__(
            f"{name}: cloud-init printed no SSH host keys to its console within {waited:.0f} s; refusing to "
            "trust its host key on first contact unchecked.",
            "Check that the node booted with cloud-init (its keys-to-console step prints them), or run "
            "without --host-keys-from-console.",
        )


class HostKeyNotInConsoleError(ClouderError):
    def __init__(self, name: str, fingerprint: str) -> None:
        super().__init__(
            f"{name} offered host key {fingerprint}, which is not among the fingerprints cloud-init printed "
            "to its console; refusing to trust it on first contact (possible man-in-the-middle).",
            "Compare with the instance's console output (EC2 GetConsoleOutput, Azure boot diagnostics).",
        )


# What cloud-init's keys-to-console step prints (its tools/write-ssh-key-fingerprints, piped through
# `logger -t ec2`, so every line may carry an "ec2: " prefix): the fingerprints, then the public keys.
FINGERPRINT_BLOCK = re.compile(
    r"-----BEGIN SSH HOST KEY FINGERPRINTS-----(.*?)-----END SSH HOST KEY FINGERPRINTS-----", re.DOTALL
)
KEY_BLOCK = re.compile(r"-----BEGIN SSH HOST KEY KEYS-----(.*?)-----END SSH HOST KEY KEYS-----", re.DOTALL)
PUBLIC_KEY = re.compile(r"(?<![A-Za-z0-9@.-])((?:ssh|ecdsa|sk)-[a-z0-9@.-]+ AAAA[A-Za-z0-9+/]+={0,3})")


def console_fingerprints(console: str) -> set[str] | None:
    """The SHA256 host key fingerprints cloud-init printed to the console (``None``: no such block yet):
    those of the last fingerprint block and of the keys in the last key block."""
    fingerprints, keys = FINGERPRINT_BLOCK.findall(console), KEY_BLOCK.findall(console)
    if not fingerprints and not keys:
        return None
    found = set(re.findall(r"SHA256:[A-Za-z0-9+/]{43}", fingerprints[-1])) if fingerprints else set()
    for key in PUBLIC_KEY.findall(keys[-1]) if keys else ():
        with contextlib.suppress(asyncssh.KeyImportError, ValueError):  # a line the console cut short
            found.add(fingerprint(asyncssh.import_public_key(key).export_public_key().decode()))
    return found


def fingerprint(public_key: str) -> str:
    """OpenSSH's ``SHA256:…`` fingerprint of a ``type base64`` public key."""
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


class KnownHosts:
    """Pinned keys: ``name keytype base64`` per line; written 0600, appended under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, str]:
        pins: dict[str, str] = {}
        if not os.path.lexists(self.path):
            return pins
        for line in read_private(self.path).decode("utf-8").splitlines():
            parts = line.split()
            if len(parts) >= 3 and not line.startswith("#"):
                for name in parts[0].split(","):
                    pins[name] = f"{parts[1]} {parts[2]}"
        return pins

    def pinned(self, name: str) -> str | None:
        with self._lock:
            return self._read().get(name)

    def pin(self, name: str, public_key: str, console: set[str] | None = None) -> str:
        """Record ``public_key`` for ``name`` unless a key is pinned already; return the pinned key.

        ``console``: the fingerprints the node printed to its console, where Clouder could read them; a
        first key that is not among them is refused instead of pinned."""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", name) or not re.fullmatch(
            r"[a-z0-9-]+ [A-Za-z0-9+/=]+", public_key.strip()
        ):
            raise ClouderError(f"refusing to pin a host key for {name!r}: not a plain host name and key.")
        with self._lock:
            existing = self._read().get(name)
            if existing is not None:
                return existing
            if console is not None and fingerprint(public_key) not in console:
                raise HostKeyNotInConsoleError(name, fingerprint(public_key))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(open_private(self.path), "a", encoding="utf-8") as handle:
                handle.write(f"{name} {public_key.strip()}\n")
            return public_key.strip()

"""Bootstrap secrets: generate them, and recognise them in any text so they can be redacted.

A join token, certificate key or kubeconfig credential that appears in command output is registered with the
run's ``Redactor`` the moment it is seen, so every later event, error or journal line hides it too.
"""

from __future__ import annotations

import re
import secrets as _random

from clouder.events import REDACTED, Redactor

# kubeadm's own formats: token "[a-z0-9]{6}.[a-z0-9]{16}", certificate key 32 bytes hex.
TOKEN_RE = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")
CERT_KEY_RE = re.compile(r"\b[0-9a-f]{64}\b")
KUBECONFIG_DATA_RE = re.compile(
    r"((?:client-key|client-certificate|certificate-authority)-data|token):\s*(\S+)"
)
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_token() -> str:
    head = "".join(_random.choice(_ALPHABET) for _ in range(6))
    tail = "".join(_random.choice(_ALPHABET) for _ in range(16))
    return f"{head}.{tail}"


def new_certificate_key() -> str:
    return _random.token_hex(32)


def scrub(text: str, redactor: Redactor) -> str:
    """Register every secret-shaped value in ``text`` with ``redactor``, then return the redacted text."""
    for match in TOKEN_RE.finditer(text):
        redactor.add(match.group(0))
    for match in CERT_KEY_RE.finditer(text):
        redactor.add(match.group(0))
    for match in KUBECONFIG_DATA_RE.finditer(text):
        redactor.add(match.group(2))
    return redactor.redact(text)


__all__ = ["REDACTED", "new_certificate_key", "new_token", "scrub"]

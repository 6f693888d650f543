"""Recognise values that look like credentials, so they never land in a context file or a tag."""

from __future__ import annotations

import re

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key ID", re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an AWS secret access key", re.compile(r"^[A-Za-z0-9/+=]{40}$")),
    ("an Azure client secret", re.compile(r"^[A-Za-z0-9_.-]{3}\dQ~[A-Za-z0-9_.~-]{31,34}$")),
    ("a JSON web token", re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a connection string with a key", re.compile(r"(?i)(AccountKey|SharedAccessKey|password)=")),
    ("an Azure storage account key", re.compile(r"^[A-Za-z0-9+/]{86}==$")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("an API secret key", re.compile(r"\b(sk-(proj-)?[A-Za-z0-9]{20,}|[rs]k_(live|test)_[A-Za-z0-9]{16,})")),
)
SECRET_NAMES = re.compile(
    r"(?i)(secret|password|passwd|passphrase|token|access[_-]?key|api[_-]?key|private[_-]?key|credential)"
)


def secret_kind(value: str, name: str = "") -> str | None:
    """What kind of secret ``value`` looks like, or None."""
    if name and SECRET_NAMES.search(name):
        return f"a value named {name!r}"
    for kind, pattern in SECRET_PATTERNS:
        if pattern.search(value):
            return kind
    return None


def refuse_secret(value: str | None, name: str = "") -> str | None:
    if value is None:
        return None
    kind = secret_kind(value, name)
    if kind is not None:
        raise ValueError(
            f"this looks like {kind}; contexts never hold secrets. Name where credentials come from "
            "instead (an AWS profile, the environment, an instance role, az login or a managed identity)"
        )
    return value

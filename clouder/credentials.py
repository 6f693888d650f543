"""Recognise values that look like credentials, so they never land in a context file or a tag."""

from __future__ import annotations

import re
from functools import cache

# Compiled on first use: most runs (a spec without tags or labels) never look for a secret, and compiling
# these costs about 2 M instructions of every `clouder validate`.
SECRET_PATTERN_TEXTS: tuple[tuple[str, str], ...] = (
    ("an AWS access key ID", r"\b(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),
    ("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    ("an AWS secret access key", r"^[A-Za-z0-9/+=]{40}$"),
    ("an Azure client secret", r"^[A-Za-z0-9_.-]{3}\dQ~[A-Za-z0-9_.~-]{31,34}$"),
    ("a JSON web token", r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"),
    ("a GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    ("a connection string with a key", r"(?i)(AccountKey|SharedAccessKey|password)="),
    ("an Azure storage account key", r"^[A-Za-z0-9+/]{86}==$"),
    ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ("an API secret key", r"\b(sk-(proj-)?[A-Za-z0-9]{20,}|[rs]k_(live|test)_[A-Za-z0-9]{16,})"),
)
SECRET_NAMES_TEXT = (
    r"(?i)(secret|password|passwd|passphrase|token|access[_-]?key|api[_-]?key|private[_-]?key|credential)"
)


@cache
def _patterns() -> tuple[re.Pattern[str], tuple[tuple[str, re.Pattern[str]], ...]]:
    return re.compile(SECRET_NAMES_TEXT), tuple(
        (kind, re.compile(text)) for kind, text in SECRET_PATTERN_TEXTS
    )


def secret_kind(value: str, name: str = "") -> str | None:
    """What kind of secret ``value`` looks like, or None."""
    names, patterns = _patterns()
    if name and names.search(name):
        return f"a value named {name!r}"
    for kind, pattern in patterns:
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

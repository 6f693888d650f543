"""What an Azure context must hold (``clouder.contexts.model.CLOUD_RULES``)."""

from __future__ import annotations

import re

from clouder.contexts.model import UUID, Context

SOURCES = ("cli", "environment", "managed-identity")


def check(context: Context) -> None:
    """Raise ValueError where an Azure context is incoherent."""
    if context.credentials not in SOURCES:
        raise ValueError(f"credentials for {context.cloud} must be one of {', '.join(SOURCES)}")
    if context.account is not None and not re.fullmatch(UUID, context.account):
        raise ValueError("an Azure subscription ID is a UUID")
    if context.profile:
        raise ValueError("profile is an AWS setting")

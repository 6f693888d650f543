"""What an AWS context must hold (``clouder.contexts.model.CLOUD_RULES``)."""

from __future__ import annotations

import re

from clouder.contexts.model import Context

SOURCES = ("profile", "environment", "instance-role")


def check(context: Context) -> None:
    """Raise ValueError where an AWS context is incoherent."""
    if context.credentials not in SOURCES:
        raise ValueError(f"credentials for {context.cloud} must be one of {', '.join(SOURCES)}")
    if context.account is not None and not re.fullmatch(r"\d{12}", context.account):
        raise ValueError("an AWS account ID is 12 digits")
    if context.credentials == "profile" and not context.profile:
        raise ValueError("credentials 'profile' needs --profile NAME")
    if context.tenant or context.client_id:
        raise ValueError("tenant and client ID are Azure settings")

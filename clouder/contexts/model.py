"""A context names where a cluster lives and how credentials are found; it never holds a secret."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field, field_validator, model_validator

from clouder.clouds import CloudRegistry
from clouder.credentials import refuse_secret
from clouder.spec.types import DnsLabel, OptionalText, SpecModel, empty_dict

# cloud -> "module:function" raising ValueError where a context does not fit that cloud.
CLOUD_RULES: CloudRegistry[Callable[[Context], None]] = CloudRegistry(
    "the contexts", {"aws": "clouder.contexts.aws:check", "azure": "clouder.contexts.azure:check"}
)
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class Context(SpecModel):
    name: DnsLabel
    cloud: Literal["aws", "azure"]
    region: str = Field(min_length=1, description="AWS region or Azure location.")
    account: OptionalText | None = Field(
        None, description="AWS account ID (12 digits) or Azure subscription ID."
    )
    tenant: str | None = Field(None, pattern=UUID, description="Azure tenant ID.")
    credentials: str = Field(
        description="AWS: profile|environment|instance-role; Azure: cli|environment|managed-identity"
    )
    profile: OptionalText | None = Field(None, description="AWS profile name (credentials: profile).")
    client_id: str | None = Field(None, pattern=UUID, description="Azure managed identity client ID.")
    tags: dict[str, str] = Field(default_factory=empty_dict)

    @field_validator("region", "account", "profile")
    @classmethod
    def _no_secret(cls, value: str | None) -> str | None:
        return refuse_secret(value)

    @field_validator("tags")
    @classmethod
    def _no_secret_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            refuse_secret(value, name=key)
        return tags

    @model_validator(mode="after")
    def _coherent(self) -> Context:
        check_coherent(self)
        return self


def check_coherent(context: Context) -> None:
    """Raise ValueError where the context's settings do not fit its cloud (the cloud's own rules)."""
    CLOUD_RULES[context.cloud](context)


class ContextFile(SpecModel):
    current: OptionalText | None = None
    contexts: dict[str, Context] = Field(default_factory=empty_dict)

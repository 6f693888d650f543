"""A context names where a cluster lives and how credentials are found; it never holds a secret."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from clouder.credentials import refuse_secret
from clouder.spec.types import DnsLabel, SpecModel

AWS_SOURCES = ("profile", "environment", "instance-role")
AZURE_SOURCES = ("cli", "environment", "managed-identity")
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class Context(SpecModel):
    name: DnsLabel
    cloud: Literal["aws", "azure"]
    region: str = Field(min_length=1, description="AWS region or Azure location.")
    account: str | None = Field(None, description="AWS account ID (12 digits) or Azure subscription ID.")
    tenant: str | None = Field(None, pattern=UUID, description="Azure tenant ID.")
    credentials: str = Field(
        description="AWS: profile|environment|instance-role; Azure: cli|environment|managed-identity"
    )
    profile: str | None = Field(None, description="AWS profile name (credentials: profile).")
    client_id: str | None = Field(None, pattern=UUID, description="Azure managed identity client ID.")
    tags: dict[str, str] = Field(default_factory=dict)

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
        sources = AWS_SOURCES if self.cloud == "aws" else AZURE_SOURCES
        if self.credentials not in sources:
            raise ValueError(f"credentials for {self.cloud} must be one of {', '.join(sources)}")
        if self.cloud == "aws":
            if self.account is not None and not re.fullmatch(r"\d{12}", self.account):
                raise ValueError("an AWS account ID is 12 digits")
            if self.credentials == "profile" and not self.profile:
                raise ValueError("credentials 'profile' needs --profile NAME")
            if self.tenant or self.client_id:
                raise ValueError("tenant and client ID are Azure settings")
        else:
            if self.account is not None and not re.fullmatch(UUID, self.account):
                raise ValueError("an Azure subscription ID is a UUID")
            if self.profile:
                raise ValueError("profile is an AWS setting")
        return self


class ContextFile(SpecModel):
    current: str | None = None
    contexts: dict[str, Context] = Field(default_factory=dict)

"""The cluster's resource group: every Azure resource of the cluster lives in it and is scoped to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_azurerm.resource_group import ResourceGroup as AzResourceGroup
from constructs import Construct


@dataclass(frozen=True)
class ResourceGroupProps:
    name: str
    location: str
    tags: Mapping[str, str] = field(default_factory=dict)


class ResourceGroup(Construct):
    """Attributes: ``name`` and ``id`` (references), ``location`` and ``tags`` (known at synthesis)."""

    def __init__(self, scope: Construct, id_: str, props: ResourceGroupProps) -> None:
        super().__init__(scope, id_)
        self.resource = AzResourceGroup(
            self, "group", name=props.name, location=props.location, tags=dict(props.tags)
        )
        self.name: str = self.resource.name  # a reference, so that users of the name depend on the group
        self.location: str = props.location
        self.tags: dict[str, str] = dict(props.tags)
        self.id: str = self.resource.id

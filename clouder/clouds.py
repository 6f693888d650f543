"""Per-cloud code found by registry: each stage names, per cloud, where that cloud's part of the stage lives.

A stage never branches ``if aws … else``: it asks its registry for the spec's cloud, and a cloud nobody
registered for that stage fails with "nothing registered for <cloud> in <stage>" instead of quietly getting
another cloud's behaviour. Targets are ``"module:attribute"`` strings imported on first use, so a registry
costs nothing when its stage module is imported (CLI start-up time).

Adding a cloud means registering its modules in every registry of :data:`REGISTRIES` (each stage module
that has per-cloud code creates one when it is imported).
"""

from __future__ import annotations

import importlib
from typing import Any, Generic, TypeVar, cast

from clouder.errors import BadInputError

T = TypeVar("T")

# stage -> its registry, filled as stage modules are imported.
REGISTRIES: dict[str, CloudRegistry[Any]] = {}


class CloudRegistry(Generic[T]):
    """One stage's per-cloud code: cloud -> ``"module:attribute"`` of what does that cloud's part."""

    def __init__(self, stage: str, targets: dict[str, str]) -> None:
        self.stage = stage
        self.targets = dict(targets)
        REGISTRIES[stage] = self

    @property
    def clouds(self) -> list[str]:
        return sorted(self.targets)

    def register(self, cloud: str, target: str) -> None:
        """Name ``target`` (``"module:attribute"``) as ``cloud``'s part of this stage."""
        self.targets[cloud] = target

    def unregister(self, cloud: str) -> None:
        self.targets.pop(cloud, None)

    def __contains__(self, cloud: object) -> bool:
        return cloud in self.targets

    def require(self, cloud: str) -> str:
        """The target ``cloud`` registered for this stage; a clear error if it registered none."""
        try:
            return self.targets[cloud]
        except KeyError:
            raise BadInputError(
                f"nothing registered for {cloud!r} in {self.stage}.",
                f"Registered clouds: {', '.join(self.clouds) or 'none'}.",
            ) from None

    def __getitem__(self, cloud: str) -> T:
        """What ``cloud`` registered for this stage (its module imported now)."""
        module_name, _, attribute = self.require(cloud).partition(":")
        return cast(T, getattr(importlib.import_module(module_name), attribute))


__all__ = ["REGISTRIES", "CloudRegistry"]

"""The kinds of step an add-on plan is made of (each cloud's plan lists its own, see ``plan.PLANS``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clouder.addons.context import AddonContext, Values
from clouder.kube.objects import Obj

Guard = Callable[[str, list[Obj]], None]


@dataclass(frozen=True)
class ChartAddon:
    """A pinned chart from the catalog, with values computed from the spec and the outputs contract."""

    release: str
    values: Callable[[AddonContext], Values]
    guard: Guard | None = None
    after: tuple[str, ...] = ()  # releases (or the gate) that must be ready first


@dataclass(frozen=True)
class OwnAddon:
    """Objects Clouder builds itself (StorageClasses, the cloud-config secret)."""

    release: str
    namespace: str
    build: Callable[[AddonContext], list[Obj]]
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodesInitialized:
    """Gate: every node has a provider ID and no ``uninitialized`` taint (the CCM has done its work)."""

    release: str = "nodes-initialized"
    after: tuple[str, ...] = ()


Step = ChartAddon | OwnAddon | NodesInitialized


GATE = NodesInitialized.release

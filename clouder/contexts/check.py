"""How a spec relates to the context it names."""

from __future__ import annotations

from clouder.contexts.store import ContextStore
from clouder.errors import InvalidDocumentError, Problem
from clouder.spec.model import ClusterSpec


def context_warnings(spec: ClusterSpec, source: str = "spec", store: ContextStore | None = None) -> list[str]:
    """Warn of a context missing here (fine in a pipeline); refuse one that contradicts the spec."""
    if spec.context is None:
        return []
    store = store or ContextStore()
    contexts = store.load()
    context = contexts.contexts.get(spec.context)
    if context is None:
        return [
            f"context {spec.context!r} is not defined on this machine; commands that reach the cloud will "
            "need it (`clouder context add`)."
        ]
    problems = []
    if context.cloud != spec.cloud:
        problems.append(
            Problem(
                "context",
                f"context {context.name!r} is for {context.cloud}, the spec for {spec.cloud}.",
                "Name a context of the spec's cloud.",
            )
        )
    elif context.region != spec.region:
        problems.append(
            Problem(
                "context",
                f"context {context.name!r} is in {context.region}, the spec in {spec.region}.",
                "Align the region or name another context.",
            )
        )
    if problems:
        raise InvalidDocumentError(source, problems)
    return []

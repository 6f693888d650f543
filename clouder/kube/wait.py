"""Wait until objects are ready, or report which are not and why (status, conditions, Warning events)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from clouder.kube.client import Kube
from clouder.kube.objects import Obj, ObjectRef
from clouder.kube.readiness import READY, Readiness, assess


@dataclass(frozen=True)
class NotReady:
    ref: ObjectRef
    reason: str
    events: tuple[str, ...] = ()

    def render(self) -> str:
        tail = "; ".join(self.events)
        return f"{self.ref}: {self.reason}" + (f" (events: {tail})" if tail else "")


@dataclass
class WaitReport:
    ready: list[ObjectRef] = field(default_factory=list)
    not_ready: list[NotReady] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.not_ready

    def render(self) -> str:
        return "\n".join(f"  - {item.render()}" for item in self.not_ready)


def wait_ready(
    kube: Kube,
    refs: list[ObjectRef],
    timeout: float,
    interval: float = 2.0,
    on_ready: Callable[[ObjectRef], None] | None = None,
    vanish_when_done: set[ObjectRef] | None = None,
    since: float | None = None,
) -> WaitReport:
    """Poll every ``interval`` s until all are ready, one has failed for good, or ``timeout`` passes.

    ``vanish_when_done``: Jobs with ``ttlSecondsAfterFinished``, which the TTL controller deletes once they
    finished; one that is gone is done.
    """
    vanish = vanish_when_done or set()
    # ``since``: when the step's one time budget started (its CRD wait and hooks spent part of it); the
    # report's seconds count from there, so a wait that used up the budget reports at least ``timeout``.
    started = time.monotonic()
    origin = since if since is not None else started
    report = WaitReport()
    pending: dict[ObjectRef, Readiness] = {ref: Readiness(False, "not read yet") for ref in refs}
    while True:
        for ref in list(pending):
            live = kube.get(ref)
            if live is None:
                state = READY if ref in vanish else Readiness(False, "object does not exist")
            else:
                state = assess(live)
            if state.ready:
                del pending[ref]
                report.ready.append(ref)
                if on_ready:
                    on_ready(ref)
            else:
                pending[ref] = state
        failed = any(state.failed for state in pending.values())
        if not pending or failed or time.monotonic() - started >= timeout:
            break
        time.sleep(min(interval, max(0.0, timeout - (time.monotonic() - started))))
    report.seconds = round(time.monotonic() - origin, 3)
    report.not_ready = [explain(kube, ref, state) for ref, state in sorted(pending.items())]
    return report


def explain(kube: Kube, ref: ObjectRef, state: Readiness) -> NotReady:
    """Add what the cluster says about the object: False conditions and recent Warning events."""
    reasons = [state.reason]
    live = kube.get(ref)
    for condition in ((live or {}).get("status") or {}).get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            reasons.append(f"{condition.get('type')}: {condition['message']}")
    return NotReady(ref, kube.redactor.redact("; ".join(reasons)), _events(kube, ref))


def _events(kube: Kube, ref: ObjectRef) -> tuple[str, ...]:
    namespace = ref.namespace or "default"
    try:
        events = kube.list("v1", "Event", namespace, field_selector=f"involvedObject.name={ref.name}")
    except Exception:
        return ()
    mine: list[Obj] = [
        e for e in events
        if (e.get("involvedObject") or {}).get("kind") == ref.kind and e.get("type") == "Warning"
    ]  # fmt: skip
    mine.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    lines = [f"{e.get('type', '')} {e.get('reason', '')}: {e.get('message', '')}".strip() for e in mine[-3:]]
    return tuple(kube.redactor.redact(line) for line in lines)

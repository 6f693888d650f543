"""The progress lines commands print on stderr while they run (text output only; see ``load.event_log``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clouder.events import Event

MARKS = {"start": "…", "ok": "✓", "failed": "✗", "info": " ", "skipped": "-"}


def _write(line: str) -> None:
    sys.stderr.write(line)
    sys.stderr.flush()


def stages(event: Event) -> None:
    """One line per stage and per phase (the view of `up`, `down` and `rehearse`)."""
    if event.outcome == "info":
        return
    if event.stage in ("up", "down", "rehearse"):
        if event.outcome == "start":
            sys.stderr.write(f"▶ {event.phase}\n")
        else:
            took = f" ({event.duration_s:.1f}s)" if event.duration_s is not None else ""
            sys.stderr.write(f"{MARKS.get(event.outcome, ' ')} {event.phase}{took}: {event.detail}\n")
    elif event.outcome != "start":
        where = f"{event.host} " if event.host else ""
        detail = f": {event.detail}" if event.detail and event.outcome != "ok" else ""
        sys.stderr.write(f"    {MARKS.get(event.outcome, ' ')} {event.stage} {where}{event.phase}{detail}\n")
    sys.stderr.flush()


def hosts(phase_width: int) -> Callable[[Event], None]:
    """One line per host and phase (`bootstrap`, and the day-2 commands with their longer phase names)."""

    def show(event: Event) -> None:
        took = f" ({event.duration_s:.1f}s)" if event.duration_s is not None else ""
        detail = f": {event.detail}" if event.detail else ""
        _write(f"  {event.host or '-':<12} {event.phase:<{phase_width}} {event.outcome}{took}{detail}\n")

    return show


def steps(event: Event) -> None:
    """One line per add-on step."""
    took = f" ({event.duration_s:.1f}s)" if event.duration_s is not None else ""
    detail = f": {event.detail}" if event.detail else ""
    _write(f"  {MARKS.get(event.outcome, ' ')} {event.phase:<30}{took}{detail}\n")


def services(event: Event) -> None:
    """One line per service and phase of a rollout."""
    if event.outcome == "info":
        return
    took = f" ({event.duration_s:.1f}s)" if event.duration_s is not None else ""
    detail = f": {event.detail}" if event.detail and event.outcome != "ok" else ""
    _write(f"  {MARKS.get(event.outcome, ' ')} {event.stage:<9} {event.phase:<24}{took}{detail}\n")

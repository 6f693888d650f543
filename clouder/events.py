"""Structured events: one JSON line per happening (stage, phase, host, duration, outcome).

Every text that enters an event passes through a ``Redactor`` first, so join tokens, certificate keys and
kubeconfig contents registered with it never reach the event file, the console or the journal.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from clouder.workdir import open_private

Outcome = Literal["start", "ok", "skipped", "failed", "info"]
REDACTED = "<redacted>"


class Redactor:
    """Replaces every registered secret (and its obvious encodings) with a marker."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 6:
            with self._lock:
                self._secrets.add(secret)
                for line in secret.splitlines():
                    if len(line.strip()) >= 16:
                        self._secrets.add(line.strip())

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return text


@dataclass(frozen=True)
class Event:
    stage: str
    phase: str
    outcome: Outcome
    host: str | None = None
    duration_s: float | None = None
    detail: str = ""
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))


class EventLog:
    """Appends events to a JSON-lines file (0600) and hands them to listeners (progress views)."""

    def __init__(self, path: Path | None = None, redactor: Redactor | None = None) -> None:
        self.path = path
        self.redactor = redactor or Redactor()
        self.listeners: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(open_private(path))

    def emit(self, event: Event) -> Event:
        clean = Event(**{**asdict(event), "detail": self.redactor.redact(event.detail)})
        if self.path is not None:
            line = json.dumps({k: v for k, v in asdict(clean).items() if v is not None}, sort_keys=True)
            with self._lock, os.fdopen(open_private(self.path), "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        for listener in self.listeners:
            listener(clean)
        return clean

    @contextmanager
    def timed(self, stage: str, phase: str, host: str | None = None) -> Iterator[None]:
        """Emit start, then ok or failed with the duration; the exception (if any) propagates."""
        self.emit(Event(stage, phase, "start", host))
        started = time.monotonic()
        try:
            yield
        except BaseException as exc:
            took = round(time.monotonic() - started, 3)
            self.emit(Event(stage, phase, "failed", host, took, f"{type(exc).__name__}: {exc}"))
            raise
        self.emit(Event(stage, phase, "ok", host, round(time.monotonic() - started, 3)))


def read_events(path: Path) -> list[Event]:
    if not path.exists():
        return []
    return [
        Event(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]

"""Observability: structured events (JSON lines) with timings, secret redaction."""

from clouder.observe.events import Event, EventLog, Redactor

__all__ = ["Event", "EventLog", "Redactor"]

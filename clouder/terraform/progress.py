"""Terraform's streamed JSON messages as a rich progress view with resource counts."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from clouder.terraform.runner import Message


class TerraformProgress:
    """Counts refreshed resources and planned changes while planning, finished resources while applying."""

    def __init__(self, console: Console | None = None, total: int | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=self.console, transient=True,
        )  # fmt: skip
        self.task = self.progress.add_task("terraform", total=total)
        self.refreshed = 0
        self.planned = 0
        self.done = 0
        self.failed = 0

    def __enter__(self) -> TerraformProgress:
        self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def on_message(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "refresh_complete":
            self.refreshed += 1
            self._describe(f"refreshed {self.refreshed} resource(s)")
        elif kind == "planned_change":
            self.planned += 1
            self._describe(f"planned {self.planned} change(s)")
        elif kind == "apply_complete":
            self.done += 1
            self.progress.update(self.task, completed=self.done)
            self._describe(str(message.get("@message", "")))
        elif kind == "apply_errored":
            self.failed += 1
            self._describe(str(message.get("@message", "")))
        elif kind == "apply_start":
            self._describe(str(message.get("@message", "")))
        elif kind == "diagnostic" and message.get("@level") == "error":
            self.console.print(f"[red]{message.get('@message', '')}[/red]")

    def _describe(self, text: str) -> None:
        self.progress.update(self.task, description=text[:80])

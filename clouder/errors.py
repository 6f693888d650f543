"""Errors a user can act on. The CLI maps them to exit codes and prints them without a traceback."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class ClouderError(Exception):
    """A failure with a message meant for the user."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        return f"{self.message} {self.hint}".strip()


class BadInputError(ClouderError):
    """The user gave input Clouder cannot accept (exit code 2, nothing changed)."""

    exit_code = EXIT_BAD_INPUT


@dataclass(frozen=True)
class Problem:
    """One finding about an input document: where it is and what to do about it."""

    path: str
    message: str
    hint: str = ""
    line: int | None = None

    def render(self, source: str = "") -> str:
        where = source
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        head = f"{where}: " if where else ""
        field = f"{self.path}: " if self.path else ""
        return f"{head}{field}{self.message}" + (f" {self.hint}" if self.hint else "")

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "message": self.message, "hint": self.hint}


class InvalidDocumentError(BadInputError):
    """A document (spec, context, outputs) failed validation; carries every problem found."""

    def __init__(self, source: str, problems: list[Problem], what: str = "spec") -> None:
        self.source = source
        self.problems = problems
        self.what = what
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{self.source or self.what} is not a valid {self.what} ({count} {noun}):"]
        lines += [f"  - {p.render(self.source)}" for p in self.problems]
        return "\n".join(lines)

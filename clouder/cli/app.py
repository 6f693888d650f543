"""The root Typer app, its global options and the shared output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Protocol, TypeVar

import typer

from clouder import __version__
from clouder.cli.lazy import LazyGroup
from clouder.errors import ClouderError, InvalidDocumentError


class Format(StrEnum):
    text = "text"
    json = "json"


@dataclass
class Settings:
    output: Format = Format.text
    verbose: bool = False


SETTINGS = Settings()

app = typer.Typer(
    name="clouder",
    help="Stand up and operate self-managed Kubernetes clusters on AWS and Azure from one typed spec.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=LazyGroup,  # the commands of clouder/cli/*_cmd.py, each module imported when its command runs
)

OutputOption = Annotated[
    Format | None, typer.Option("--output", "-o", help="text for people, json for machines.")
]


@app.callback()
def _global(
    output: Annotated[Format, typer.Option("--output", "-o", help="text for people, json for machines.")] = (
        Format.text
    ),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say more about what happens.")] = False,
) -> None:
    SETTINGS.output = output
    SETTINGS.verbose = verbose


VerboseOption = Annotated[
    bool | None, typer.Option("--verbose", "-v", help="Say more about what happens.", show_default=False)
]


def verbosity(override: bool | None) -> bool:
    """The command's own ``-v`` (given after the command) or the global one (given before it)."""
    if override:
        SETTINGS.verbose = True
    return SETTINGS.verbose


def output_format(override: Format | None) -> Format:
    if override is not None:
        SETTINGS.output = override
    return SETTINGS.output


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


class Report(Protocol):
    """What a command's report gives: whether it went well, and itself as JSON."""

    @property
    def ok(self) -> bool: ...

    def as_dict(self) -> dict[str, Any]: ...


ReportT = TypeVar("ReportT", bound=Report)


def emit_report(report: ReportT, fmt: Format, summary: Callable[[ReportT], None]) -> None:
    """Print a report as JSON or as its text ``summary``; exit 1 when it is not ok."""
    if fmt is Format.json:
        emit_json(report.as_dict())
    else:
        summary(report)
    if not report.ok:
        raise typer.Exit(1)


def emit_error(error: ClouderError) -> None:
    if SETTINGS.output is Format.json:
        payload: dict[str, Any] = {"ok": False, "error": error.message, "hint": error.hint}
        if isinstance(error, InvalidDocumentError):
            payload["problems"] = [problem.as_dict() for problem in error.problems]
        emit_json(payload)
    else:
        sys.stderr.write(f"error: {error.render()}\n")


@app.command()
def version(output: OutputOption = None) -> None:
    """Print Clouder's version and the versions it pins."""
    from clouder.catalog.kubernetes import pinned_versions

    info = {"clouder": __version__, "kubernetes": pinned_versions()}
    if output_format(output) is Format.json:
        emit_json(info)
    else:
        typer.echo(f"clouder {__version__} (Kubernetes {', '.join(info['kubernetes'])})")

"""Entry point: runs the Typer app and turns user errors into exit codes and messages, never tracebacks."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from clouder.cli.app import app, emit_error
from clouder.errors import EXIT_FAILURE, ClouderError

PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; Typer exits itself (usage errors: 2), Clouder's own errors exit with their code."""
    try:
        with _no_pydantic_plugins():
            app(args=argv, prog_name="clouder")
    except ClouderError as exc:
        emit_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_FAILURE)


@contextmanager
def _no_pydantic_plugins() -> Iterator[None]:
    """pydantic looks for plugins when it builds its first validator, reading the entry points of every
    installed distribution (~35 M instructions, ~10 ms of each command). Clouder's models use none, and Typer
    switches them off for its own parameters too. PYDANTIC_DISABLE_PLUGINS set to anything, empty included,
    is the user's choice and is kept."""
    if PLUGINS_ENV in os.environ:
        yield
        return
    os.environ[PLUGINS_ENV] = "__all__"
    try:
        yield
    finally:
        os.environ.pop(PLUGINS_ENV, None)

"""Entry point: runs the Typer app and turns user errors into exit codes and messages, never tracebacks."""

from __future__ import annotations

import sys

from clouder.cli.app import app, emit_error
from clouder.errors import EXIT_FAILURE, ClouderError


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; Typer exits itself (usage errors: 2), Clouder's own errors exit with their code."""
    try:
        app(args=argv, prog_name="clouder")
    except ClouderError as exc:
        emit_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_FAILURE)

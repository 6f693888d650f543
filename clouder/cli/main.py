"""Entry point: runs the Typer app and turns user errors into exit codes and messages, never tracebacks."""

from __future__ import annotations

import sys

import click

from clouder.cli.app import app, emit_error
from clouder.errors import EXIT_BAD_INPUT, EXIT_FAILURE, ClouderError


def main(argv: list[str] | None = None) -> None:
    try:
        result = app(args=argv, prog_name="clouder", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_BAD_INPUT if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except ClouderError as exc:
        emit_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(EXIT_FAILURE)
    sys.exit(result if isinstance(result, int) else 0)

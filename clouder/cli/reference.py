"""The CLI reference, generated from the CLI: `python -m clouder.cli.reference > docs/cli-reference.md`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

HEADER = """# CLI reference

Generated from the CLI by `python -m clouder.cli.reference > docs/cli-reference.md`; a test keeps it current.
Every command also answers `--help`. Exit codes: 0 success, 1 failure, 2 bad input (nothing changed).
"""


def _walk(command: Any, parent: typer.Context | None, name: str) -> Iterator[tuple[str, str]]:
    context = typer.Context(command, info_name=name, parent=parent, terminal_width=100, max_content_width=100)
    yield context.command_path, command.get_help(context)
    if isinstance(command, TyperGroup):  # its commands load on first use: ask for them, as click does
        for sub_name in sorted(command.list_commands(context)):
            yield from _walk(command.get_command(context, sub_name), context, sub_name)


def render_reference(app: typer.Typer) -> str:
    root = typer.main.get_command(app)
    sections = [HEADER]
    for path, text in _walk(root, None, "clouder"):
        sections.append(f"## `{path}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(sections)


if __name__ == "__main__":
    from clouder.cli.app import app

    print(render_reference(app), end="")

"""docs/cli-reference.md is generated from the CLI and must match it."""

from __future__ import annotations

from pathlib import Path

from clouder.cli.app import app
from clouder.cli.reference import render_reference

REPO = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current() -> None:
    page = (REPO / "docs" / "cli-reference.md").read_text()
    assert page == render_reference(app), (
        "regenerate: python -m clouder.cli.reference > docs/cli-reference.md"
    )


def test_every_command_is_in_the_reference() -> None:
    import typer
    import typer.main

    page = render_reference(app)
    root = typer.main.get_command(app)
    names = root.list_commands(typer.Context(root))  # type: ignore[attr-defined]
    assert len(names) > 20
    for name in names:
        assert f"## `clouder {name}`" in page
    assert "## `clouder context add`" in page

"""`clouder --help` lists the commands in pipeline order: every command module has its place in it."""

from __future__ import annotations

from pathlib import Path

from clouder.cli.app import COMMAND_ORDER

CLI = Path(__file__).resolve().parents[2] / "clouder" / "cli"


def test_every_command_module_is_in_the_pipeline_order() -> None:
    topics = {path.stem.removesuffix("_cmd") for path in CLI.glob("*_cmd.py")}
    assert topics == set(COMMAND_ORDER)
    assert COMMAND_ORDER[-1] == "up"  # `up` and `down` run every stage before them

"""`clouder --help` lists the commands in pipeline order from one table (`clouder.cli.lazy.COMMANDS`), without
importing their modules: the table must name exactly the commands each module registers, with their help."""

from __future__ import annotations

from pathlib import Path

from clouder.cli.lazy import COMMANDS, topic_commands

CLI = Path(__file__).resolve().parents[2] / "clouder" / "cli"


def test_the_table_names_every_command_of_every_module_in_order() -> None:
    topics = sorted(path.stem.removesuffix("_cmd") for path in CLI.glob("*_cmd.py"))
    assert sorted({entry.topic for entry in COMMANDS.values()}) == topics
    for topic in topics:
        tabled = [name for name, entry in COMMANDS.items() if entry.topic == topic]
        assert list(topic_commands(topic)) == tabled, f"clouder/cli/{topic}_cmd.py"


def test_each_summary_is_the_first_paragraph_of_the_commands_help() -> None:
    for topic in {entry.topic for entry in COMMANDS.values()}:
        for name, command in topic_commands(topic).items():
            first_paragraph = " ".join((command.help or "").split("\n\n")[0].split())
            assert COMMANDS[name].summary == first_paragraph, name
            # `clouder --help` shortens the summary alone: nothing else may change how a command is listed
            assert (command.short_help, command.hidden, command.deprecated) == (None, False, False), name


def test_up_and_down_come_after_every_stage() -> None:
    names = [name for name, entry in COMMANDS.items() if entry.topic != "context"]
    assert names[-2:] == ["up", "down"]  # `up` and `down` run every stage before them
    assert list(COMMANDS)[-1] == "context"  # Typer lists command groups after commands

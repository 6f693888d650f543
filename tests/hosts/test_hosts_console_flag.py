"""`--host-keys-from-console` on every command that makes first contact with hosts: the bootstrap, `up` and
the day-2 commands (which join new or repaired nodes). A cloud whose consoles cannot be read refuses the flag
before anything runs, never after an apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clouder.cli.load import ssh_options
from clouder.errors import BadInputError
from clouder.hosts.console import check_console, console_reader
from clouder.hosts.options import SshOptions
from clouder.spec import load_spec
from support.cli import run
from support.clusters import outputs_document

REPO = Path(__file__).resolve().parents[2]
AZURE_SPEC = REPO / "examples" / "azure-minimal.yaml"
REFUSED = "cannot read an Azure VM's boot diagnostics"


def _azure_contract(folder: Path) -> Path:
    path = folder / "azure-outputs.json"
    path.write_text(json.dumps(outputs_document(load_spec(AZURE_SPEC))))
    return path


@pytest.mark.parametrize(
    "command",
    [["bootstrap"], ["upgrade"], ["scale"], ["remove-node", "any-node"], ["repair-node", "any-node"]],
    ids=lambda command: command[0],
)
def test_day2_and_bootstrap_refuse_the_flag_on_azure_before_connecting(
    command: list[str], tmp_path: Path
) -> None:
    contract = _azure_contract(tmp_path)
    result = run(
        "-o", "json", command[0], str(AZURE_SPEC), *command[1:], "--outputs", str(contract),
        "--host-keys-from-console", "--ssh-allow", "127.0.0.1/32", "--connect-timeout", "1",
        "--attempts", "1",
    )  # fmt: skip
    assert result.code == 2, result.stdout + result.stderr
    assert REFUSED in result.json()["error"]


def test_up_refuses_the_flag_on_azure_before_synthesizing_anything(tmp_path: Path) -> None:
    result = run("-o", "json", "up", str(AZURE_SPEC), "--host-keys-from-console")
    assert result.code == 2, result.stdout + result.stderr
    assert REFUSED in result.json()["error"]
    assert "synth" not in result.stderr


def test_on_aws_the_flag_gives_the_run_a_reader_of_its_own_contract() -> None:
    check_console("aws")  # boto3 is installed with the aws extra
    with pytest.raises(BadInputError, match=REFUSED):
        check_console("azure")
    base = SshOptions(private_key=Path("key"), known_hosts=Path("known_hosts"))
    assert ssh_options(None, None, 1.0, 1.0, 1, "aws", True)(base).console is console_reader
    assert ssh_options(None, None, 1.0, 1.0, 1, "aws")(base).console is None

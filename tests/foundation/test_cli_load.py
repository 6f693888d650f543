"""Every command that reads an outputs contract refuses one made for another cloud than its spec's
(`clouder.cli.load`): before, only `addons`, `render` and `check` compared the two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clouder.cli.load import find_outputs, load_cluster
from clouder.errors import BadInputError
from clouder.spec import load_spec
from clouder.workdir import outputs_path
from support.cli import run
from support.clusters import outputs_document

REPO = Path(__file__).resolve().parents[2]
AWS_SPEC = REPO / "examples" / "aws-minimal.yaml"


def _azure_contract(folder: Path) -> Path:
    path = folder / "azure-outputs.json"
    path.write_text(json.dumps(outputs_document(load_spec(REPO / "examples" / "azure-minimal.yaml"))))
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["bootstrap", "--ssh-allow", "127.0.0.1/32", "--connect-timeout", "1", "--attempts", "1"],
        ["upgrade"],
        ["remove-node", "any-node"],
        ["addons"],
    ],
    ids=lambda command: command[0],
)
def test_commands_refuse_a_contract_of_another_cloud(command: list[str], tmp_path: Path) -> None:
    contract = _azure_contract(tmp_path)
    result = run("-o", "json", command[0], str(AWS_SPEC), *command[1:], "--outputs", str(contract))
    assert result.code == 2, result.stdout + result.stderr
    assert f"{contract} describes an azure cluster" in result.json()["error"]


def test_the_saved_contract_is_checked_too(tmp_path: Path) -> None:
    spec = load_spec(AWS_SPEC)
    saved = outputs_path(spec)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(_azure_contract(tmp_path).read_text())
    with pytest.raises(BadInputError, match="describes an azure cluster"):
        find_outputs(spec, None)
    with pytest.raises(BadInputError, match="describes an azure cluster"):
        load_cluster(AWS_SPEC, None)


def test_no_saved_contract_is_none_but_a_named_one_must_exist(tmp_path: Path) -> None:
    spec = load_spec(AWS_SPEC)
    assert find_outputs(spec, None) is None
    with pytest.raises(BadInputError, match="does not exist"):
        find_outputs(spec, tmp_path / "missing.json")

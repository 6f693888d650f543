"""The bundled examples, the starter specs and the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from clouder.spec import load_spec
from clouder.spec.schema import spec_json_schema
from support.cli import run
from support.keyhome import use_home_with_public_key

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


@pytest.fixture(autouse=True)
def home_with_a_public_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Examples and starters name ~/.ssh/id_ed25519.pub, which validate reads."""
    use_home_with_public_key(tmp_path, monkeypatch)


def test_four_examples_exist() -> None:
    names = {path.name for path in EXAMPLES}
    assert {"aws-minimal.yaml", "aws-ha.yaml", "azure-minimal.yaml", "azure-ha.yaml"} <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(example: Path) -> None:
    result = run("validate", str(example))
    assert result.code == 0, result.stderr
    assert "valid" in result.stdout
    machine = run("validate", str(example), "-o", "json")
    assert machine.code == 0
    summary = machine.json()
    spec = load_spec(example)
    assert summary["ok"] is True
    assert summary["cluster"] == spec.name
    assert summary["cloud"] == spec.cloud
    assert summary["workers"] == sum(pool.count for pool in spec.node_pools)


def test_ha_examples_are_highly_available() -> None:
    for name in ("aws-ha.yaml", "azure-ha.yaml"):
        spec = load_spec(REPO / "examples" / name)
        assert spec.control_plane.count == 3
        assert len(spec.node_pools) == 2
        assert len(spec.network.subnets) == 3


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_init_writes_a_commented_starter_that_validates(cloud: str, tmp_path: Path) -> None:
    target = tmp_path / "cluster.yaml"
    result = run("init", "--cloud", cloud, "--name", "first", "--file", str(target))
    assert result.code == 0, result.stderr
    text = target.read_text()
    assert text.count("#") > 10, "the starter explains its fields"
    spec = load_spec(target)
    assert spec.name == "first" and spec.cloud == cloud
    again = run("init", "--cloud", cloud, "--file", str(target))
    assert again.code == 2 and "already exists" in again.stderr
    assert target.read_text() == text


def test_init_refuses_unknown_cloud(tmp_path: Path) -> None:
    result = run("init", "--cloud", "gcp", "--file", str(tmp_path / "x.yaml"))
    assert result.code == 2
    assert "gcp" in result.stderr and not (tmp_path / "x.yaml").exists()


def test_schema_command_prints_the_json_schema() -> None:
    result = run("schema")
    assert result.code == 0
    schema = json.loads(result.stdout)
    assert schema["title"].startswith("Clouder Cluster spec")
    assert {"apiVersion", "kind", "metadata", "network"} <= set(schema["required"])
    assert "controlPlane" in schema["properties"] and "control_plane" not in schema["properties"]


def test_examples_satisfy_the_json_schema() -> None:
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    for example in EXAMPLES:
        errors = list(validator.iter_errors(yaml.safe_load(example.read_text())))
        assert not errors, (example.name, [e.message for e in errors])
    broken = yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())
    broken["controlPlane"]["count"] = 2
    assert list(validator.iter_errors(broken))


def test_published_schema_is_current() -> None:
    published = REPO / "docs" / "schema" / "cluster.schema.json"
    assert json.loads(published.read_text()) == spec_json_schema(), "run: clouder schema --out " + str(
        published
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_verbose_validate_prints_the_resolved_spec_which_round_trips(example: Path) -> None:
    from clouder.spec import parse_spec

    result = run("-v", "-o", "json", "validate", str(example))
    assert result.code == 0, result.stderr
    resolved = result.json()["resolved"]
    assert resolved["kubernetes"]["podCidr"], "defaults are filled in"
    assert parse_spec(yaml.safe_dump(resolved)) == load_spec(example)

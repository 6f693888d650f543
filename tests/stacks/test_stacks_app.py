"""The CDKTF app entry (``clouder.stacks.app``, what ``cdktf.json`` runs) takes its spec from an argument
or ``$CLOUDER_SPEC``, from the repository and from an installed package alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clouder.errors import BadInputError
from clouder.outputs import OUTPUT_NAMES
from clouder.stacks.app import spec_path
from support.aws_stacks import spec_file
from support.installed import Installed, clean_env


def test_the_argument_wins_over_the_variable() -> None:
    assert spec_path(["given.yaml"], {"CLOUDER_SPEC": "env.yaml"}) == Path("given.yaml")
    assert spec_path([], {"CLOUDER_SPEC": "env.yaml"}) == Path("env.yaml")


def test_no_spec_is_an_error_naming_the_argument_and_the_variable() -> None:
    with pytest.raises(BadInputError) as caught:
        spec_path([], {"CLOUDER_SPEC": ""})
    assert "CLOUDER_SPEC" in caught.value.render()
    assert "python3 -m clouder.stacks.app cluster.yaml" in caught.value.render()


def test_the_app_without_a_spec_says_what_to_give_and_synthesizes_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in clean_env().items() if k != "CLOUDER_SPEC"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # this checkout, as the suite imports it
    done = subprocess.run(
        [sys.executable, "-m", "clouder.stacks.app"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "CLOUDER_SPEC" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "cdktf.out").exists()


@pytest.mark.e2e
def test_the_installed_app_synthesizes_the_spec_in_clouder_spec(
    installed_clouder: Installed, tmp_path: Path
) -> None:
    project = tmp_path / "user-project"  # nowhere near the repository
    project.mkdir()
    env = {k: v for k, v in clean_env().items() if k != "CLOUDER_SPEC"}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    app = [str(installed_clouder.python), "-m", "clouder.stacks.app"]

    nothing = subprocess.run(app, capture_output=True, text=True, cwd=project, env=env, timeout=120)
    assert nothing.returncode == 2, nothing.stdout + nothing.stderr
    assert "CLOUDER_SPEC" in nothing.stderr and "Traceback" not in nothing.stderr

    spec = spec_file(project, "aws-minimal.yaml", "cluster")
    done = subprocess.run(
        app, capture_output=True, text=True, cwd=project, env={**env, "CLOUDER_SPEC": str(spec)}, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    document = json.loads((project / "cdktf.out" / "stacks" / "demo-aws" / "cdk.tf.json").read_text())
    assert set(document["output"]) == set(OUTPUT_NAMES)

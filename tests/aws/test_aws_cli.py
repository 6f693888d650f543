"""`clouder synth` and `cdktf synth` as a user runs them, producing the same stack as the library does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.aws_stacks import REPO, AwsStack, spec_file
from support.cli import run
from support.parts import missing


def strip_metadata(value: Any) -> Any:
    """The document without cdktf's ``//`` metadata (it names the stack, which differs by design)."""
    if isinstance(value, dict):
        return {k: strip_metadata(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [strip_metadata(v) for v in value]
    return value


def same_stack(document: dict[str, Any], stack: AwsStack) -> None:
    ours, theirs = strip_metadata(document), strip_metadata(stack.doc)
    for key in ("resource", "output", "provider", "data"):
        assert ours.get(key) == theirs.get(key), key
    assert ours["terraform"]["required_providers"] == theirs["terraform"]["required_providers"]


@pytest.mark.e2e  # slow: the CDK bindings in a subprocess, or the real AWS provider
def test_clouder_synth_writes_the_stack_and_reports_it(
    aws_stacks: dict[str, AwsStack], tmp_path: Path
) -> None:
    spec = spec_file(tmp_path, "aws-minimal.yaml", "cluster")
    result = run("synth", str(spec), "--out", str(tmp_path / "out"), "-o", "json", timeout=600)
    assert result.code == 0, result.stderr
    summary = result.json()
    assert summary["ok"] is True and summary["cluster"] == "demo-aws" and summary["cloud"] == "aws"
    path = Path(summary["file"])
    assert path == tmp_path / "out" / "stacks" / "demo-aws" / "cdk.tf.json"
    document = json.loads(path.read_text())
    assert summary["resources"] == sum(len(kind) for kind in document["resource"].values())
    assert summary["outputs"] == sorted(document["output"])
    same_stack(document, aws_stacks["minimal"])


@pytest.mark.e2e  # slow: the CDK bindings in a subprocess, or the real AWS provider
def test_clouder_synth_names_a_missing_public_key_file(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, "aws-minimal.yaml", "nokey")
    document = yaml.safe_load(spec.read_text())
    document["access"] = {"mode": "bastion", "publicKeyPath": "/nonexistent/id.pub"}
    spec.write_text(yaml.safe_dump(document))
    result = run("synth", str(spec), "--out", str(tmp_path / "out"), timeout=600)
    assert result.code == 2, (result.stdout, result.stderr)
    assert "access.publicKeyPath" in result.stderr and "/nonexistent/id.pub" in result.stderr
    assert "Traceback" not in result.stderr


def test_importing_the_library_side_loads_no_bindings() -> None:
    probe = (
        "import sys, clouder.synth, clouder.modules.aws, clouder.modules.aws.userdata, clouder.catalog.aws\n"
        "heavy = ('cdktf', 'cdktf_cdktf_provider_aws', 'jsii', 'constructs')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.e2e
def test_cdktf_synth_from_the_repository_builds_the_same_stack(
    aws_stacks: dict[str, AwsStack], tmp_path: Path
) -> None:
    cdktf = REPO / "node_modules" / ".bin" / "cdktf"
    if not cdktf.exists() or shutil.which("node") is None:
        missing("cdktf-cli", "run `npm ci` in the repository (package.json pins cdktf-cli 0.20.12)")
    spec = spec_file(tmp_path, "aws-minimal.yaml", "cluster")
    env = {
        **os.environ,
        "CLOUDER_SPEC": str(spec),
        "CHECKPOINT_DISABLE": "1",
        "DISABLE_VERSION_CHECK": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    out = tmp_path / "cdktf.out"
    done = subprocess.run(
        [str(cdktf), "synth", "--output", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    document = json.loads((out / "stacks" / "demo-aws" / "cdk.tf.json").read_text())
    same_stack(document, aws_stacks["minimal"])

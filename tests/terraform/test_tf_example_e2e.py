"""The example AWS spec end to end: synthesize (once; then the content hash skips it), plan, policy gate,
apply on moto, and the outputs contract read back. The provider reaches moto only through a test-only
override file dropped next to the synthesized stack."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from clouder.spec import load_spec
from support.moto import MotoServer
from support.tfstack import MOTO_OVERRIDE_ALLOWLIST, UBUNTU_AMI, Cli, moto_override_for, unique

pytestmark = pytest.mark.e2e


def test_example_aws_spec_plans_applies_and_publishes_the_contract(
    repo: Path, tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    pytest.importorskip("clouder.stacks.aws")
    from clouder.terraform.stackcache import ensure_stack

    document = yaml.safe_load((repo / "examples" / "aws-minimal.yaml").read_text())
    document.pop("context", None)
    cluster = unique("example")
    document["metadata"]["name"] = cluster
    document["aws"]["ami"] = UBUNTU_AMI  # moto knows no current Ubuntu image by name
    document["policy"] = {"allowlist": MOTO_OVERRIDE_ALLOWLIST}  # the gate sees the test's moto override
    spec_path = tmp_path / "cluster.yaml"
    spec_path.write_text(yaml.safe_dump(document))

    stack, fresh = ensure_stack(load_spec(spec_path))  # CLOUDER_WORK_DIR is the CLI's work folder
    assert fresh and Path(os.environ["CLOUDER_WORK_DIR"]) in stack.parents
    (stack / "zz_moto_override.tf.json").write_text(json.dumps(moto_override_for(stack, moto_server)))

    plan_file = tmp_path / "example.tfplan"
    planned = tf_cli.run("plan", str(spec_path), "--out", str(plan_file), "--exit-code")
    assert planned.returncode == 2, planned.stderr
    assert "unchanged spec, reusing stack" in planned.stderr
    assert "to create" in planned.stdout and "aws_lb." in planned.stdout

    applied = tf_cli.run("apply", str(spec_path), str(plan_file), "-o", "json")
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["applied"] is True

    shown = tf_cli.run("output", str(spec_path), "-o", "json")
    assert shown.returncode == 0, shown.stderr
    outputs = json.loads(shown.stdout)
    assert outputs["cluster_name"] == cluster
    roles = sorted(node["role"] for node in outputs["nodes"])
    assert roles == ["control-plane", "worker", "worker"]
    assert outputs["ssh"]["mode"] == "bastion" and outputs["cloud"]["vpc_id"].startswith("vpc-")

"""Replacing a control-plane instance needs approval: refused without, applied with an approval file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from support.moto import MotoServer
from support.tfstack import OTHER_AMI, Cli, aws_stack, boto, unique, write_spec, write_stack

pytestmark = pytest.mark.e2e


def _instance_ids(moto: MotoServer, cluster: str) -> set[str]:
    reservations = boto(moto, "ec2").describe_instances(Filters=[
        {"Name": "tag:clouder.dev/cluster", "Values": [cluster]},
        {"Name": "instance-state-name", "Values": ["running", "pending"]},
    ])["Reservations"]  # fmt: skip
    return {i["InstanceId"] for r in reservations for i in r["Instances"]}


def test_control_plane_replacement_needs_approval(
    tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    cluster = unique("appr")
    stack = tmp_path / "stack"
    write_stack(stack, aws_stack(cluster), moto_server)
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    created = tf_cli.run("apply", spec, "--stack", str(stack))
    assert created.returncode == 0, created.stderr
    before = _instance_ids(moto_server, cluster)
    assert len(before) == 1

    write_stack(stack, aws_stack(cluster, cp_ami=OTHER_AMI), moto_server)
    plan_file, markdown = tmp_path / "replace.tfplan", tmp_path / "replace.md"
    planned = tf_cli.run("plan", spec, "--stack", str(stack), "--out", str(plan_file), "--summary-md",
                         str(markdown), "-o", "json")  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    summary = json.loads(planned.stdout)
    assert [(c["address"], c["action"], c["protected"]) for c in summary["needsApproval"]] == [
        ("aws_instance.control_plane_0", "replace", "control-plane node")
    ]
    assert "Needs approval" in markdown.read_text() and summary["planHash"] in markdown.read_text()

    refused = tf_cli.run("apply", spec, str(plan_file), "--stack", str(stack))
    assert refused.returncode == 1
    assert "needs approval" in refused.stderr and "replace aws_instance.control_plane_0" in refused.stderr
    assert _instance_ids(moto_server, cluster) == before

    # a summary edited to say the replacement needs no approval: the plan file itself decides
    sidecar = plan_file.with_name(plan_file.name + ".summary.json")
    genuine = sidecar.read_text()
    forged = json.loads(genuine)
    forged["changes"] = [{**c, "protected": None} for c in forged["changes"]]
    sidecar.write_text(json.dumps(forged))
    forged_run = tf_cli.run("apply", spec, str(plan_file), "--stack", str(stack))
    assert forged_run.returncode == 2, forged_run.stderr
    assert "does not describe" in forged_run.stderr
    assert _instance_ids(moto_server, cluster) == before
    sidecar.write_text(genuine)

    approval = tmp_path / "approval.yaml"
    approval.write_text(
        yaml.safe_dump({"cluster": cluster, "plans": ["sha256:" + "0" * 64], "approvedBy": "bob"})
    )
    wrong = tf_cli.run("apply", spec, str(plan_file), "--stack", str(stack), "--approval-file", str(approval))
    assert wrong.returncode == 1 and "does not approve this plan" in wrong.stderr

    approval.write_text(
        yaml.safe_dump({"cluster": cluster, "plans": [summary["planHash"]], "approvedBy": "alice"})
    )
    applied = tf_cli.run(
        "apply", spec, str(plan_file), "--stack", str(stack), "--approval-file", str(approval), "-o", "json"
    )
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["approval"].endswith("(approved by alice)")
    after = _instance_ids(moto_server, cluster)
    assert len(after) == 1 and after != before

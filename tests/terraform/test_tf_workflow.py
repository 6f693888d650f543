"""The workflow end to end through the real CLI: real terraform, the provider mirror, moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.moto import MotoServer
from support.tfstack import Cli, aws_stack, boto, unique, write_spec, write_stack

pytestmark = pytest.mark.e2e


def test_plan_apply_output_drift_stale_destroy(tf_cli: Cli, moto_server: MotoServer, tmp_path: Path) -> None:
    cluster = unique("wf")
    stack = write_stack(tmp_path / "stack", aws_stack(cluster), moto_server)
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    plan_file, markdown = tmp_path / "p.tfplan", tmp_path / "p.md"

    planned = tf_cli.run("plan", spec, "--stack", str(stack), "--out", str(plan_file), "--summary-md",
                         str(markdown), "--exit-code", "-o", "json")  # fmt: skip
    assert planned.returncode == 2, planned.stderr
    summary = json.loads(planned.stdout)
    assert summary["counts"]["create"] == 4 and summary["byType"]["aws_instance"]["create"] == 1
    assert "4 to create" in markdown.read_text() and "`aws_vpc`" in markdown.read_text()

    applied = tf_cli.run("apply", spec, str(plan_file), "--stack", str(stack))
    assert applied.returncode == 0, applied.stderr
    work = tmp_path / "work" / cluster
    assert "Apply complete! Resources: 4 added" in (work / "terraform.log").read_text()
    shown = tf_cli.run("output", spec, "--stack", str(stack), "-o", "json")
    assert shown.returncode == 0, shown.stderr
    outputs = json.loads(shown.stdout)
    vpc_id = outputs["cloud"]["vpc_id"]
    assert boto(moto_server, "ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert json.loads((work / "outputs.json").read_text())["cluster_name"]["value"] == cluster

    again = tf_cli.run("apply", spec, str(plan_file), "--stack", str(stack))
    assert again.returncode == 2 and "stale" in again.stderr

    quiet = tf_cli.run("plan", spec, "--stack", str(stack), "--exit-code")
    assert quiet.returncode == 0, quiet.stderr
    assert "no changes" in quiet.stdout

    ec2 = boto(moto_server, "ec2")
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "clouder.dev/address", "Value": "x"}])
    drifted = tf_cli.run("plan", spec, "--stack", str(stack), "--exit-code", "--summary-md", str(markdown))
    assert drifted.returncode == 2, drifted.stderr
    assert "drift    aws_vpc.main" in drifted.stdout and "update   aws_vpc.main" in drifted.stdout
    assert "`aws_vpc.main` was changed outside Terraform" in markdown.read_text()

    refused = tf_cli.run("destroy", spec, "--stack", str(stack))
    assert refused.returncode == 1 and "needs approval" in refused.stderr
    assert "delete aws_vpc.main (network)" in refused.stderr
    destroyed = tf_cli.run("destroy", spec, "--stack", str(stack), "--approve")
    assert destroyed.returncode == 0, destroyed.stderr
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]


def test_foreign_and_altered_plans_are_refused(tf_cli: Cli, moto_server: MotoServer, tmp_path: Path) -> None:
    first, second = unique("fa"), unique("fb")
    stack = write_stack(tmp_path / "stack", aws_stack(first), moto_server)
    spec_a = str(write_spec(tmp_path / "a.yaml", first))
    spec_b = str(write_spec(tmp_path / "b.yaml", second))
    plan_file = tmp_path / "a.tfplan"
    assert tf_cli.run("plan", spec_a, "--stack", str(stack), "--out", str(plan_file)).returncode == 0

    foreign = tf_cli.run("apply", spec_b, str(plan_file), "--stack", str(stack))
    assert foreign.returncode == 2 and f"plan for cluster '{first}'" in foreign.stderr

    edited = json.loads((stack / "cdk.tf.json").read_text())
    edited["resource"]["aws_vpc"]["main"]["cidr_block"] = "10.1.0.0/16"
    (stack / "cdk.tf.json").write_text(json.dumps(edited))
    stale = tf_cli.run("apply", spec_a, str(plan_file), "--stack", str(stack))
    assert stale.returncode == 2 and "configuration changed since it was planned" in stale.stderr

    plan_file.write_bytes(plan_file.read_bytes() + b"x")
    altered = tf_cli.run("apply", spec_a, str(plan_file), "--stack", str(stack))
    assert altered.returncode == 2 and "changed after `clouder plan` wrote it" in altered.stderr

    plan_file.with_name("a.tfplan.meta.json").unlink()
    bare = tf_cli.run("apply", spec_a, str(plan_file), "--stack", str(stack))
    assert bare.returncode == 2 and "not a plan Clouder made" in bare.stderr

"""The GitOps pipeline in docs/gitops.md: run exactly its `run:` scripts on fresh "runners" (work folders)
against real Terraform, S3 state with locking on moto, and the provider mirror."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.moto import MotoServer
from support.tfstack import (
    OTHER_AMI,
    Cli,
    aws_stack,
    boto,
    remote_state,
    s3_state,
    unique,
    write_spec,
    write_stack,
)  # fmt: skip

pytestmark = pytest.mark.e2e


def workflow(repo: Path) -> dict[str, Any]:
    text = (repo / "docs" / "gitops.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    document = next(yaml.safe_load(block) for block in blocks if "\njobs:" in block)
    assert isinstance(document, dict)
    return document


def steps(document: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["run"] for job in document["jobs"].values() for s in job["steps"] if "id" in s}


def test_workflow_shape(repo: Path) -> None:
    document = workflow(repo)
    triggers = document[True] if True in document else document["on"]  # YAML 1.1 reads `on` as true
    assert {"pull_request", "push", "schedule"} <= set(triggers)
    assert set(steps(document)) == {"pr-plan", "merge-plan", "merge-apply", "drift-check"}
    gh = [s["run"] for job in document["jobs"].values() for s in job["steps"] if "gh " in s.get("run", "")]
    assert any("--body-file plan.md" in run for run in gh) and any(
        "--body-file drift.md" in run for run in gh
    )


class Runner:
    """One pipeline job on a fresh machine: its own work folder, the repository checkout as cwd."""

    def __init__(self, base: dict[str, str], checkout: Path, name: str) -> None:
        self.env = {**base, "CLOUDER_WORK_DIR": str(checkout.parent / "runners" / name)}
        self.env["GITHUB_OUTPUT"] = str(checkout.parent / "runners" / f"{name}.output")
        self.checkout = checkout

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=self.checkout, env=self.env,
                              capture_output=True, text=True, timeout=900, check=False)  # fmt: skip

    def output(self) -> str:
        return Path(self.env["GITHUB_OUTPUT"]).read_text()


def test_pipeline_plan_apply_approve_drift(
    repo: Path, tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    document = workflow(repo)
    scripts = steps(document)
    cluster = unique("gitops")
    checkout = tmp_path / "checkout"
    stack = write_stack(tmp_path / "synthesized", aws_stack(cluster), moto_server)
    spec = checkout / document["env"]["SPEC"]
    spec.parent.mkdir(parents=True)
    write_spec(spec, cluster, state=s3_state(moto_server, cluster))
    shim = tmp_path / "bin" / "clouder"
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'from clouder.cli import main; main()' \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    base = {
        **remote_state(tf_cli, moto_server).env,
        **{k: v for k, v in document["env"].items() if "${{" not in v},
    }
    base |= {"CLOUDER_STACK": str(stack), "PATH": f"{shim.parent}{os.pathsep}{base['PATH']}"}
    (tmp_path / "runners").mkdir()

    pr = Runner(base, checkout, "pr-1")
    planned = pr.run(scripts["pr-plan"])
    assert planned.returncode == 0, planned.stderr
    assert "4 to create" in (checkout / "plan.md").read_text()

    merge = Runner(base, checkout, "merge-1")
    for step in ("merge-plan", "merge-apply"):
        done = merge.run(scripts[step])
        assert done.returncode == 0, done.stderr

    nightly = Runner(base, checkout, "nightly-1")
    assert nightly.run(scripts["drift-check"]).returncode == 0
    assert "code=0" in nightly.output()

    write_stack(
        stack, aws_stack(cluster, cp_ami=OTHER_AMI), moto_server
    )  # a PR that replaces the control plane
    pr2 = Runner(base, checkout, "pr-2")
    assert pr2.run(scripts["pr-plan"]).returncode == 0
    summary = (checkout / "plan.md").read_text()
    assert "Needs approval" in summary and "aws_instance.control_plane_0" in summary
    plan_hash = re.search(r"plan hash `(sha256:[0-9a-f]{64})`", summary)
    assert plan_hash is not None
    approval = checkout / document["env"]["APPROVAL_FILE"]
    approval.parent.mkdir(parents=True)
    approval.write_text(
        yaml.safe_dump({"cluster": cluster, "plans": [plan_hash[1]], "approvedBy": "reviewer"})
    )

    merge2 = Runner(base, checkout, "merge-2")
    for step in ("merge-plan", "merge-apply"):
        done = merge2.run(scripts[step])
        assert done.returncode == 0, done.stderr + done.stdout

    vpc = boto(moto_server, "ec2").describe_vpcs(
        Filters=[{"Name": "tag:clouder.dev/cluster", "Values": [cluster]}]
    )
    boto(moto_server, "ec2").create_tags(
        Resources=[vpc["Vpcs"][0]["VpcId"]], Tags=[{"Key": "Name", "Value": "x"}]
    )
    nightly2 = Runner(base, checkout, "nightly-2")
    assert nightly2.run(scripts["drift-check"]).returncode == 0
    assert "code=2" in nightly2.output()
    assert "`aws_vpc.main` was changed outside Terraform" in (checkout / "drift.md").read_text()

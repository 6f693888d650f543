"""`cdktf synth`, `diff`, `deploy` and `destroy` with the repository's cdktf.json, and Clouder planning the
same stack folder.

cdktf's own plan and Clouder's plan of the synthesized folder must agree on what they would create; the stack
cdktf deploys on moto publishes the outputs contract; cdktf's destroy leaves nothing of the cluster behind.
The provider reaches moto only through the test-only override file next to the synthesized stack
(``--skip-synth`` keeps cdktf from rewriting the folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from clouder.outputs.parse import parse_terraform_outputs, read_outputs_file
from support.moto import MotoServer
from support.parts import missing
from support.terraform import MIRROR
from support.tfstack import UBUNTU_AMI, Cli, boto, moto_override, moto_override_for, unique

pytestmark = pytest.mark.e2e


def test_cdktf_diff_matches_clouder_plan_then_deploy_and_destroy_on_moto(
    repo: Path, tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    cdktf = repo / "node_modules" / ".bin" / "cdktf"
    if not cdktf.exists() or shutil.which("node") is None:
        missing("cdktf-cli", "run `npm ci` in the repository (package.json pins cdktf-cli 0.20.12)")
    document = yaml.safe_load((repo / "examples" / "aws-minimal.yaml").read_text())
    document.pop("context", None)
    cluster = unique("cdktf")
    document["metadata"]["name"] = cluster
    document["aws"]["ami"] = UBUNTU_AMI
    spec = tmp_path / "cluster.yaml"
    spec.write_text(yaml.safe_dump(document))
    env = {
        **tf_cli.env,
        "CLOUDER_SPEC": str(spec),
        "DISABLE_VERSION_CHECK": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CI": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)  # tf_cli.env has none; the override file is the only way to moto
    out = tmp_path / "cdktf.out"

    synth = subprocess.run(
        [str(cdktf), "synth", "--output", str(out)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert synth.returncode == 0, synth.stderr[-3000:]
    stack = out / "stacks" / cluster
    (stack / "zz_moto_override.tf.json").write_text(json.dumps(moto_override(moto_server.url)))
    if MIRROR.is_dir():  # cdktf runs `providers lock`, which ignores the mirror unless the lock file exists
        subprocess.run(
            [
                "terraform",
                f"-chdir={stack}",
                "providers",
                "lock",
                f"-fs-mirror={MIRROR}",
                "-platform=linux_amd64",
            ],
            env=env,
            check=True,
            capture_output=True,
        )

    diff = subprocess.run(
        [str(cdktf), "diff", "--skip-synth", "--output", str(out), cluster],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert diff.returncode == 0, (diff.stdout + diff.stderr)[-3000:]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", diff.stdout)
    counted = re.search(r"Plan: (\d+) to add, 0 to change, 0 to destroy", plain)
    assert counted is not None, diff.stdout[-2000:]

    ours = tf_cli.run("plan", str(spec), "--stack", str(stack), "-o", "json")
    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout)["counts"]["create"] == int(counted[1])
    assert not (Path(os.environ["CLOUDER_WORK_DIR"]) / cluster / "terraform" / "terraform.tfstate").exists()

    deploy_and_destroy(cdktf, repo, env, out, stack, cluster, moto_server, tmp_path)


def deploy_and_destroy(
    cdktf: Path,
    repo: Path,
    env: dict[str, str],
    out: Path,
    stack: Path,
    cluster: str,
    moto: MotoServer,
    tmp_path: Path,
) -> None:
    """`cdktf deploy --skip-synth` of the synthesized folder on moto, its outputs contract, then destroy."""
    # for the apply only (planning does not call MonitorInstances, which moto lacks): monitoring off as well
    override = json.dumps(moto_override_for(stack, moto))
    (stack / "zz_moto_override.tf.json").write_text(override)
    outputs_file = tmp_path / "cdktf-outputs.json"

    def cdktf_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(cdktf), *args, "--skip-synth", "--auto-approve", "--output", str(out), cluster],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    ec2 = boto(moto, "ec2")
    try:
        deploy = cdktf_run("deploy", "--outputs-file", str(outputs_file))
        assert deploy.returncode == 0, (deploy.stdout + deploy.stderr)[-3000:]
        # --skip-synth left the folder as synthesized: the override is still what the provider used
        assert (stack / "zz_moto_override.tf.json").read_text() == override
        assert (stack / "terraform.tfstate").exists()  # the stack's local backend, in the stack folder

        shown = _terraform(stack, env, "output", "-json")
        contract = parse_terraform_outputs(shown.stdout, source=f"{stack} terraform output")
        assert contract.cluster_name == cluster
        assert sorted(node.role for node in contract.nodes) == ["control-plane", "worker", "worker"]
        assert contract.ssh.mode == "bastion" and contract.ssh.bastion_host
        assert contract.cloud.cloud == "aws" and contract.cloud.vpc_id.startswith("vpc-")

        # cdktf's outputs file holds the same values, keyed by stack
        written = json.loads(outputs_file.read_text())
        assert set(written) == {cluster}, written
        in_terraform_form = {name: {"value": value} for name, value in written[cluster].items()}
        assert parse_terraform_outputs(in_terraform_form, source=str(outputs_file)) == contract
        terraform_file = tmp_path / "terraform-outputs.json"
        terraform_file.write_text(shown.stdout)
        assert read_outputs_file(terraform_file) == contract

        # moto holds the cluster: its VPC and its three nodes' instances (plus the bastion), tagged
        vpcs = _cluster_vpcs(ec2, cluster)
        assert [vpc["VpcId"] for vpc in vpcs] == [contract.cloud.vpc_id]
        instances = _cluster_instances(ec2, cluster)
        node_ids = {node.provider_id.rsplit("/", 1)[-1] for node in contract.nodes}
        assert len(node_ids) == 3 and node_ids <= {instance["InstanceId"] for instance in instances}
    finally:
        destroyed = cdktf_run("destroy")
    assert destroyed.returncode == 0, (destroyed.stdout + destroyed.stderr)[-3000:]

    listed = _terraform(stack, env, "state", "list")
    assert listed.stdout.strip() == ""
    assert _cluster_vpcs(ec2, cluster) == []
    assert _cluster_instances(ec2, cluster) == []


def _cluster_vpcs(ec2: Any, cluster: str) -> list[dict[str, Any]]:
    tag = [{"Name": "tag:clouder.dev/cluster", "Values": [cluster]}]
    return list(ec2.describe_vpcs(Filters=tag)["Vpcs"])


def _cluster_instances(ec2: Any, cluster: str) -> list[dict[str, Any]]:
    """The cluster's instances that are not terminated (moto lists terminated ones for a while)."""
    filters = [
        {"Name": "tag:clouder.dev/cluster", "Values": [cluster]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
    ]
    pages = ec2.describe_instances(Filters=filters)["Reservations"]
    return [instance for reservation in pages for instance in reservation["Instances"]]


def _terraform(stack: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["terraform", f"-chdir={stack}", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=True)  # fmt: skip

"""Small AWS Terraform JSON stacks for the workflow tests, pointed at moto by a test-only override file.

The stacks publish the Clouder outputs contract from real moto resource IDs, tag every resource with the
cluster and its own Terraform address (as Clouder's stacks do), and pass Clouder's own policy rules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from clouder.rehearse.emulator import OVERRIDE_ALLOWLIST, provider_override, stack_override
from support.moto import MotoServer

UBUNTU_AMI = "ami-1e749f67"
OTHER_AMI = "ami-785db401"
REPO = Path(__file__).resolve().parents[2]
# checkov findings these toy stacks do not address; Clouder's own rules still apply in full.
TEST_ALLOWLIST = [
    {"check": check, "reason": "test stack on moto: not a production network"}
    for check in ("CKV2_AWS_11", "CKV2_AWS_12", "CKV_AWS_126", "CKV_AWS_135", "CKV_AWS_23", "CKV2_AWS_5",
                  "CKV_AWS_382", "CKV_AWS_88", "CKV_AWS_130", "CKV2_AWS_41", "CKV_AWS_8", "CKV_AWS_79")
]  # fmt: skip


# The rehearsal's own override (clouder.rehearse.emulator): the policy gate sees it merged in, so specs
# that apply it accept its one finding.
MOTO_OVERRIDE_ALLOWLIST = OVERRIDE_ALLOWLIST


def tagged(address: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"clouder.dev/address": address, **(extra or {})}


def aws_stack(
    cluster: str, *, cp_ami: str = UBUNTU_AMI, extra_groups: int = 0, pause: int = 0
) -> dict[str, Any]:
    """VPC, subnet, node security group, one control-plane instance, ``extra_groups`` more groups, and a
    ``pause``-second step after the instance (a window to interrupt or contend an apply in)."""
    groups: dict[str, Any] = {
        "nodes": {"name": f"{cluster}-nodes", "description": "nodes", "vpc_id": "${aws_vpc.main.id}",
                  "ingress": [_ingress(6443, "10.0.0.0/16"), _ingress(22, "10.0.0.0/16")],
                  "tags": tagged("aws_security_group.nodes")},
    }  # fmt: skip
    for index in range(extra_groups):
        address = f"aws_security_group.extra_{index}"
        groups[f"extra_{index}"] = {"name": f"{cluster}-extra-{index}", "description": "extra",
                                    "vpc_id": "${aws_vpc.main.id}", "tags": tagged(address)}  # fmt: skip
    instance = {
        "ami": cp_ami, "instance_type": "t3.micro", "subnet_id": "${aws_subnet.private.id}",
        "vpc_security_group_ids": ["${aws_security_group.nodes.id}"],
        "metadata_options": {"http_tokens": "required", "http_endpoint": "enabled"},
        "root_block_device": {"encrypted": True, "volume_size": 30},
        "tags": tagged("aws_instance.control_plane_0", {"clouder.dev/role": "control-plane"}),
    }  # fmt: skip
    node = {"name": "${aws_instance.control_plane_0.private_dns}", "role": "control-plane",
            "pool": "control-plane", "private_ip": "${aws_instance.control_plane_0.private_ip}",
            "zone": "us-east-1a",
            "provider_id": "aws:///us-east-1a/${aws_instance.control_plane_0.id}"}  # fmt: skip
    facts = {"cloud": "aws", "region": "us-east-1", "account_id": "123456789012",
             "vpc_id": "${aws_vpc.main.id}", "public_subnet_ids": ["${aws_subnet.private.id}"],
             "private_subnet_ids": ["${aws_subnet.private.id}"],
             "node_security_group_id": "${aws_security_group.nodes.id}",
             "control_plane_role_arn": "arn:aws:iam::123456789012:role/cp",
             "node_role_arn": "arn:aws:iam::123456789012:role/node"}  # fmt: skip
    document = {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "~> 5.99"}}},
        "provider": {"aws": [{"region": "us-east-1",
                              "default_tags": {"tags": {"clouder.dev/cluster": cluster}}}]},
        "resource": {
            "aws_vpc": {"main": {"cidr_block": "10.0.0.0/16", "tags": tagged("aws_vpc.main")}},
            "aws_subnet": {"private": {
                "vpc_id": "${aws_vpc.main.id}", "cidr_block": "10.0.16.0/20",
                "availability_zone": "us-east-1a", "tags": tagged("aws_subnet.private")}},
            "aws_security_group": groups,
            "aws_instance": {"control_plane_0": instance},
        },
        "output": {
            "contract_version": {"value": "1"},
            "cluster_name": {"value": cluster},
            "api_endpoint": {"value": {"host": "${aws_instance.control_plane_0.private_ip}", "port": 6443}},
            "nodes": {"value": [node]},
            "ssh": {"value": {"mode": "bastion", "user": "ubuntu",
                              "bastion_host": "${aws_instance.control_plane_0.private_ip}"}},
            "cloud": {"value": facts},
        },
    }  # fmt: skip
    if pause:
        document["resource"]["terraform_data"] = {"pause": {
            "input": pause, "depends_on": ["aws_instance.control_plane_0"],
            "provisioner": [{"local-exec": {"command": f"sleep {pause}"}}]}}  # fmt: skip
    return document


def _ingress(port: int, cidr: str) -> dict[str, Any]:
    return {"from_port": port, "to_port": port, "protocol": "tcp", "cidr_blocks": [cidr], "description": "x",
            "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}  # fmt: skip


def moto_override(url: str) -> dict[str, Any]:
    """The AWS provider at moto (``clouder rehearse``'s provider override), in the toy stacks' region."""
    return provider_override(url, region="us-east-1")


def moto_override_for(stack: Path, moto: MotoServer) -> dict[str, Any]:
    """``clouder rehearse``'s override for a synthesized Clouder stack on moto (what it changes and why:
    ``clouder.rehearse.emulator``)."""
    return stack_override(stack, moto.url)[0]


def write_stack(folder: Path, document: dict[str, Any], moto: MotoServer) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cdk.tf.json").write_text(json.dumps(document, indent=2))
    (folder / "zz_moto_override.tf.json").write_text(json.dumps(moto_override(moto.url), indent=2))
    return folder


def write_spec(path: Path, cluster: str, state: dict[str, Any] | None = None, **policy: Any) -> Path:
    document = yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())
    document["metadata"]["name"] = cluster
    document.pop("context", None)
    document["network"]["adminCidrs"] = ["10.0.0.0/16"]
    document["state"] = state or {"backend": "local"}
    document["policy"] = {"allowlist": TEST_ALLOWLIST, **policy}
    path.write_text(yaml.safe_dump(document))
    return path


def backend_config_file(path: Path, moto: MotoServer) -> Path:
    """Test-only ``-backend-config`` for an S3 backend on moto."""
    path.write_text(
        f'endpoints = {{ s3 = "{moto.url}", dynamodb = "{moto.url}" }}\n'
        "use_path_style = true\nskip_credentials_validation = true\nskip_requesting_account_id = true\n"
        'skip_metadata_api_check = true\nskip_region_validation = true\naccess_key = "testing"\n'
        'secret_key = "testing"\n'
    )
    return path


def s3_state(moto: MotoServer, cluster: str, lockfile: bool = False) -> dict[str, Any]:
    """A fresh bucket (and lock table) on moto; the spec's ``state`` block for it."""
    bucket = unique("state")
    boto(moto, "s3").create_bucket(Bucket=bucket)
    state: dict[str, Any] = {
        "backend": "s3",
        "bucket": bucket,
        "key": f"{cluster}.tfstate",
        "region": "us-east-1",
    }
    if lockfile:
        state["useLockfile"] = True
        return state
    table = unique("locks")
    boto(moto, "dynamodb").create_table(
        TableName=table, KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    state["dynamodbTable"] = table
    return state


def boto(moto: MotoServer, service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=moto.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@dataclass
class Cli:
    """Runs the real `clouder` CLI in a subprocess with the test's environment."""

    env: dict[str, str]
    cwd: Path
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from clouder.cli import main; main()", *args],
            env=self.env, cwd=self.cwd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        """SIGTERM what is still running (Clouder forwards it: Terraform stops cleanly), then wait."""
        running = [proc for proc in self.started if proc.poll() is None]
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        proc = self.start(*args)
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def tf_cli(
    tmp_path: Path, moto_server: MotoServer, terraform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    """The CLI with terraform (provider mirror), moto credentials and a private work folder."""
    work = tmp_path / "work"
    env = {**os.environ, **terraform_env, **moto_server.env(), "CLOUDER_WORK_DIR": str(work)}
    env.pop("AWS_ENDPOINT_URL", None)  # the provider reaches moto only through the override file
    monkeypatch.setenv("CLOUDER_WORK_DIR", str(work))
    cli = Cli(env=env, cwd=tmp_path)
    try:
        yield cli
    finally:
        cli.stop_all()


def remote_state(cli: Cli, moto: MotoServer) -> Cli:
    """The CLI with the test-only ``-backend-config`` that points an S3 backend at moto."""
    config = backend_config_file(cli.cwd / "moto-backend.hcl", moto)
    return Cli(env={**cli.env, "CLOUDER_BACKEND_CONFIG": str(config)}, cwd=cli.cwd, started=cli.started)


def operator(cli: Cli, name: str) -> Cli:
    """The same CLI as another operator: own work folder (another machine's local files)."""
    return Cli(env={**cli.env, "CLOUDER_WORK_DIR": str(cli.cwd / name)}, cwd=cli.cwd, started=cli.started)


def wait_for_log(path: Path, text: str, proc: subprocess.Popen[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"process ended (rc {proc.returncode}) before {text!r}: {err[-2000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} did not appear in {path} within {timeout} s")

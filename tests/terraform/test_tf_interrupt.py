"""Interrupted applies: signals forwarded, stale locks proven and cleared, orphans adopted, state == moto."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from support.moto import MotoServer
from support.tfstack import (
    Cli,
    aws_stack,
    boto,
    operator,
    remote_state,
    s3_state,
    unique,
    wait_for_log,
    write_spec,
    write_stack,
)  # fmt: skip

pytestmark = pytest.mark.e2e


def _terraform_pid(work: Path, command: str, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (work / "runs").glob("*.json"):
            record = json.loads(path.read_text())
            if record["command"] == command:
                return int(record["terraform_pid"])
        time.sleep(0.1)
    raise AssertionError(f"no running terraform {command} recorded in {work / 'runs'}")


def _state(cli: Cli, work: Path) -> dict[str, str]:
    """Terraform address -> cloud ID, as the state holds it."""
    done = subprocess.run(["terraform", f"-chdir={work / 'terraform'}", "show", "-json"], env=cli.env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    values = json.loads(done.stdout).get("values", {}).get("root_module", {}).get("resources", [])
    return {r["address"]: r["values"]["id"] for r in values if r["mode"] == "managed"}


def _tagged(moto: MotoServer, cluster: str) -> dict[str, list[str]]:
    """Terraform address -> live cloud IDs carrying it, as moto holds them."""
    ec2 = boto(moto, "ec2")
    found: dict[str, list[str]] = {}
    tag_filter = [{"Name": "tag:clouder.dev/cluster", "Values": [cluster]}]
    for group in ec2.describe_security_groups(Filters=tag_filter)["SecurityGroups"]:
        tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
        found.setdefault(tags["clouder.dev/address"], []).append(group["GroupId"])
    for reservation in ec2.describe_instances(Filters=tag_filter)["Reservations"]:
        for instance in reservation["Instances"]:
            if instance["State"]["Name"] != "terminated":
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                found.setdefault(tags["clouder.dev/address"], []).append(instance["InstanceId"])
    for vpc in ec2.describe_vpcs(Filters=tag_filter)["Vpcs"]:
        tags = {t["Key"]: t["Value"] for t in vpc.get("Tags", [])}
        found.setdefault(tags["clouder.dev/address"], []).append(vpc["VpcId"])
    return found


def _assert_state_matches_moto(cli: Cli, work: Path, moto: MotoServer, cluster: str) -> None:
    """Every tagged resource in moto is in the state under its own address, exactly once, and vice versa."""
    kinds = ("aws_security_group", "aws_instance", "aws_vpc")
    tracked = {a: [i] for a, i in _state(cli, work).items() if a.split(".")[0] in kinds}
    assert _tagged(moto, cluster) == tracked


def test_sigterm_to_clouder_stops_terraform_cleanly(
    tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    cluster = unique("term")
    stack = write_stack(tmp_path / "stack", aws_stack(cluster, pause=120), moto_server)
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    work = tmp_path / "work" / cluster
    proc = tf_cli.start("apply", spec, "--stack", str(stack))
    wait_for_log(work / "terraform.log", "terraform_data.pause: Provisioning", proc)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Terraform stopped cleanly and saved the state" in err
    assert time.monotonic() - started < 60, "the provisioner's 120 s sleep must have been interrupted"
    assert not list((work / "runs").glob("*.json")), "terraform ended its own run"
    replan = tf_cli.run("plan", spec, "--stack", str(stack), "-o", "json")
    assert replan.returncode == 0, replan.stderr
    todo = json.loads(replan.stdout)["changes"]
    assert [(c["address"], c["action"]) for c in todo] in (
        [("terraform_data.pause", "create")],
        [("terraform_data.pause", "replace")],
    )
    _assert_state_matches_moto(tf_cli, work, moto_server, cluster)


def test_sigkill_of_terraform_mid_create_converges(
    tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    cluster = unique("kill")
    stack = write_stack(tmp_path / "stack", aws_stack(cluster, extra_groups=40), moto_server)
    spec = str(
        write_spec(tmp_path / "spec.yaml", cluster, state=s3_state(moto_server, cluster, lockfile=True))
    )
    alice = operator(remote_state(tf_cli, moto_server), "alice")
    alice.env["AWS_ENDPOINT_URL"] = moto_server.url  # Clouder's own AWS calls (orphan search) go to moto too
    work = tmp_path / "alice" / cluster

    proc = alice.start("apply", spec, "--stack", str(stack))
    wait_for_log(work / "terraform.log", "aws_security_group.extra_5: Creation complete", proc)
    os.kill(_terraform_pid(work, "apply"), signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err

    bob = operator(remote_state(tf_cli, moto_server), "bob")
    refused = bob.run("plan", spec, "--stack", str(stack), "-o", "json")
    assert refused.returncode == 1 and "Clouder cannot prove that holder is gone" in refused.stdout

    rerun = alice.run("apply", spec, "--stack", str(stack))
    assert rerun.returncode == 0, rerun.stderr
    events = (work / "events.jsonl").read_text()
    assert "cleared lock" in events and "its Terraform process" in events
    adopted = [json.loads(line) for line in events.splitlines() if "adopting" in line]
    print("adopted:", adopted[0]["detail"] if adopted else "nothing (state had been persisted)")
    _assert_state_matches_moto(alice, work, moto_server, cluster)
    assert len(_state(alice, work)) == 4 + 40


def test_sigkill_of_clouder_lets_terraform_stop_cleanly(
    tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    cluster = unique("orph")
    stack = write_stack(tmp_path / "stack", aws_stack(cluster, pause=120), moto_server)
    spec = str(write_spec(tmp_path / "spec.yaml", cluster, state=s3_state(moto_server, cluster)))
    cli = remote_state(tf_cli, moto_server)
    cli.env["AWS_ENDPOINT_URL"] = moto_server.url
    work = tmp_path / "work" / cluster
    proc = cli.start("apply", spec, "--stack", str(stack))
    wait_for_log(work / "terraform.log", "terraform_data.pause: Provisioning", proc)
    terraform = _terraform_pid(work, "apply")
    proc.kill()
    proc.communicate(timeout=30)
    rerun = cli.run("plan", spec, "--stack", str(stack), "-o", "json")  # may meet the winding-down Terraform
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    with pytest.raises(ProcessLookupError):
        os.kill(terraform, 0)
    todo = [(c["address"], c["action"]) for c in json.loads(rerun.stdout)["changes"]]
    assert todo in ([("terraform_data.pause", "create")], [("terraform_data.pause", "replace")])
    _assert_state_matches_moto(cli, work, moto_server, cluster)


def test_orphans_deleted_when_asked(tf_cli: Cli, moto_server: MotoServer, tmp_path: Path) -> None:
    cluster = unique("del")
    stack = write_stack(tmp_path / "stack", aws_stack(cluster, extra_groups=2), moto_server)
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    ec2 = boto(moto_server, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    lost = []  # what a killed apply leaves: tagged resources the (empty) state does not know
    for index in range(2):
        address = f"aws_security_group.extra_{index}"
        tags = [
            {"Key": "clouder.dev/cluster", "Value": cluster},
            {"Key": "clouder.dev/address", "Value": address},
        ]
        lost.append(ec2.create_security_group(
            GroupName=f"{cluster}-extra-{index}", Description="extra", VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
        )["GroupId"])  # fmt: skip
    cli = Cli(env={**tf_cli.env, "AWS_ENDPOINT_URL": moto_server.url}, cwd=tf_cli.cwd, started=tf_cli.started)
    planned = cli.run("plan", spec, "--stack", str(stack), "--delete-orphans", "-o", "json")
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["counts"]["create"] == 6
    left = ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": lost}])["SecurityGroups"]
    assert left == []
    events = (tmp_path / "work" / cluster / "events.jsonl").read_text()
    assert "deleted 2: aws_security_group.extra_0, aws_security_group.extra_1" in events


def test_adopted_group_loses_the_default_egress_its_cut_create_left(
    tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    """A group orphaned between CreateSecurityGroup and the provider's revoke of AWS's allow-all egress is
    adopted without that rule: the state and the cloud then agree rule by rule."""
    cluster = unique("egress")
    stack = write_stack(tmp_path / "stack", aws_stack(cluster, extra_groups=1), moto_server)
    spec = str(write_spec(tmp_path / "spec.yaml", cluster))
    ec2 = boto(moto_server, "ec2")

    def tags(address: str) -> list[dict[str, Any]]:
        pairs = {"clouder.dev/cluster": cluster, "clouder.dev/address": address}
        return [{"ResourceType": address.split(".")[0].removeprefix("aws_").replace("_", "-"),
                 "Tags": [{"Key": k, "Value": v} for k, v in pairs.items()]}]  # fmt: skip

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tags("aws_vpc.main"))["Vpc"]["VpcId"]
    group = ec2.create_security_group(
        GroupName=f"{cluster}-extra-0", Description="extra", VpcId=vpc,
        TagSpecifications=tags("aws_security_group.extra_0"),
    )["GroupId"]  # fmt: skip
    assert _egress(ec2, group) == [("-1", "0.0.0.0/0")], "AWS's default rule, as a cut create leaves it"

    cli = Cli(env={**tf_cli.env, "AWS_ENDPOINT_URL": moto_server.url}, cwd=tf_cli.cwd, started=tf_cli.started)
    applied = cli.run("apply", spec, "--stack", str(stack), "--adopt-orphans")
    assert applied.returncode == 0, applied.stderr
    assert _state(cli, tmp_path / "work" / cluster)["aws_security_group.extra_0"] == group
    assert _egress(ec2, group) == []
    events = (tmp_path / "work" / cluster / "events.jsonl").read_text()
    assert "aws_security_group.extra_0 (default egress)" in events


def _egress(ec2: Any, group: str) -> list[tuple[str, str]]:
    described = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    rules = described.get("IpPermissionsEgress", [])
    return [(p["IpProtocol"], r["CidrIp"]) for p in rules for r in p["IpRanges"]]

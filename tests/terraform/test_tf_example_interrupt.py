"""The example AWS stack, killed mid-apply at several points (Terraform, and Clouder itself), converges on
re-run: the orphans a kill leaves are adopted (or deleted when asked) and the state then agrees exactly with
what moto holds, object by object and rule by rule. Each object in moto is read with plain boto3 calls here,
not with Clouder's own orphan search."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from clouder.spec import load_spec
from support.moto import MotoServer
from support.tfstack import (
    MOTO_OVERRIDE_ALLOWLIST,
    UBUNTU_AMI,
    Cli,
    boto,
    moto_override_for,
    remote_state,
    s3_state,
    unique,
)

pytestmark = pytest.mark.e2e

CLUSTER, ADDRESS = "clouder.dev/cluster", "clouder.dev/address"
TAGGED = (
    "aws_vpc", "aws_subnet", "aws_security_group", "aws_default_security_group", "aws_internet_gateway",
    "aws_route_table", "aws_instance", "aws_eip", "aws_nat_gateway", "aws_launch_template", "aws_lb",
    "aws_lb_target_group", "aws_lb_listener", "aws_iam_role", "aws_iam_instance_profile", "aws_iam_policy",
)  # fmt: skip


def _example(tf_cli: Cli, moto: MotoServer, repo: Path, tmp_path: Path, prefix: str) -> tuple[str, Path, Cli]:
    """The example spec (own cluster name, S3 state with a lock file on moto), synthesized once, with the
    test-only override that points its provider at moto."""
    from clouder.terraform.stackcache import ensure_stack

    document = yaml.safe_load((repo / "examples" / "aws-minimal.yaml").read_text())
    document.pop("context", None)
    cluster = unique(prefix)
    document["metadata"]["name"] = cluster
    document["aws"]["ami"] = UBUNTU_AMI  # moto knows no current Ubuntu image by name
    document["state"] = s3_state(moto, cluster, lockfile=True)
    document["policy"] = {"allowlist": MOTO_OVERRIDE_ALLOWLIST}  # the gate sees the test's moto override
    spec = tmp_path / "cluster.yaml"
    spec.write_text(yaml.safe_dump(document))
    stack, _ = ensure_stack(load_spec(spec))
    (stack / "zz_moto_override.tf.json").write_text(json.dumps(moto_override_for(stack, moto)))
    cli = remote_state(tf_cli, moto)
    cli.env["AWS_ENDPOINT_URL"] = moto.url  # Clouder's own AWS calls (the orphan search) go to moto too
    return str(spec), Path(os.environ["CLOUDER_WORK_DIR"]) / cluster, cli


def _wait_for(log: Path, pattern: str, after: int, proc: subprocess.Popen[str]) -> int:
    """Until ``pattern`` (a regex) shows in the Terraform log past byte ``after``; where it ends."""
    regex = re.compile(pattern.encode())
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        found = regex.search(log.read_bytes(), after) if log.exists() else None
        if found is not None:
            return found.end()
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"clouder ended ({proc.returncode}) before {pattern!r}:\n{out}\n{err}")
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} did not show in {log}")


def _terraform_pid(work: Path) -> int:
    """The running Terraform apply (records of earlier, killed runs stay until their lock is cleared)."""
    for path in sorted((work / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        record = json.loads(path.read_text())
        if record["command"] == "apply" and Path(f"/proc/{record['terraform_pid']}").exists():
            return int(record["terraform_pid"])
    raise AssertionError(f"no running terraform apply recorded in {work / 'runs'}")


def _kill_during_apply(cli: Cli, spec: str, work: Path, victim: str, message: str) -> None:
    """Run `clouder apply`; once its Terraform apply logs ``message`` (a regex), SIGKILL ``victim``."""
    log = work / "terraform.log"
    start = log.stat().st_size if log.exists() else 0
    proc = cli.start("apply", spec, "--approve")
    applying = _wait_for(log, r"\n=== \S+ -chdir=\S+ apply ", start, proc)
    _wait_for(log, message, applying, proc)
    if victim == "terraform":
        os.kill(_terraform_pid(work), signal.SIGKILL)
    else:
        proc.kill()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0, err


# -- what moto holds, read plainly ---------------------------------------------------------------------------


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def _in_moto(moto: MotoServer, cluster: str) -> tuple[dict[str, list[str]], dict[str, set[tuple[Any, ...]]]]:
    """Address -> IDs of the cluster's tagged objects, and the children (rules, routes, ...) as tuples."""
    ec2, elbv2, iam = boto(moto, "ec2"), boto(moto, "elbv2"), boto(moto, "iam")
    ours = [{"Name": f"tag:{CLUSTER}", "Values": [cluster]}]
    objects: list[tuple[dict[str, str], str]] = []
    vpcs = ec2.describe_vpcs(Filters=ours)["Vpcs"]
    objects += [(_tags(v.get("Tags")), v["VpcId"]) for v in vpcs]
    objects += [(_tags(s.get("Tags")), s["SubnetId"]) for s in ec2.describe_subnets(Filters=ours)["Subnets"]]
    groups = ec2.describe_security_groups(Filters=ours)["SecurityGroups"]
    objects += [(_tags(g.get("Tags")), g["GroupId"]) for g in groups]
    gateways = ec2.describe_internet_gateways(Filters=ours)["InternetGateways"]
    objects += [(_tags(g.get("Tags")), g["InternetGatewayId"]) for g in gateways]
    tables = ec2.describe_route_tables(Filters=ours)["RouteTables"]
    objects += [(_tags(t.get("Tags")), t["RouteTableId"]) for t in tables]
    for reservation in ec2.describe_instances(Filters=ours)["Reservations"]:
        objects += [
            (_tags(i.get("Tags")), i["InstanceId"])
            for i in reservation["Instances"]
            if i["State"]["Name"] not in ("terminated", "shutting-down")
        ]
    addresses = ec2.describe_addresses(Filters=ours)["Addresses"]
    objects += [(_tags(a.get("Tags")), a["AllocationId"]) for a in addresses]
    nats = ec2.describe_nat_gateways(Filters=ours)["NatGateways"]
    objects += [(_tags(n.get("Tags")), n["NatGatewayId"]) for n in nats if n["State"] == "available"]
    templates = ec2.describe_launch_templates(Filters=ours)["LaunchTemplates"]
    objects += [(_tags(t.get("Tags")), t["LaunchTemplateId"]) for t in templates]
    balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    target_groups = elbv2.describe_target_groups()["TargetGroups"]
    listeners = [
        listener["ListenerArn"]
        for balancer in balancers
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    ]
    arns = [b["LoadBalancerArn"] for b in balancers] + [g["TargetGroupArn"] for g in target_groups]
    for arn in arns + listeners:
        objects.append((_tags(elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]), arn))
    roles = [iam.get_role(RoleName=r["RoleName"])["Role"] for r in iam.list_roles()["Roles"]]
    objects += [(_tags(r.get("Tags")), r["RoleName"]) for r in roles]
    for profile in iam.list_instance_profiles()["InstanceProfiles"]:
        name = profile["InstanceProfileName"]
        got = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        objects.append((_tags(got.get("Tags")), name))
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        tags = _tags(iam.get_policy(PolicyArn=policy["Arn"])["Policy"].get("Tags"))
        objects.append((tags, policy["Arn"]))
    found: dict[str, list[str]] = {}
    for tags, ident in objects:
        if tags.get(CLUSTER) == cluster:
            found.setdefault(tags[ADDRESS], []).append(ident)

    children: dict[str, set[tuple[Any, ...]]] = {"rules": set(), "routes": set(), "associations": set()}
    for group in groups:
        for key, kind in (("IpPermissions", "ingress"), ("IpPermissionsEgress", "egress")):
            for permission in group.get(key, []):
                ports = (permission.get("FromPort", 0), permission.get("ToPort", 0))
                peers = [p["GroupId"] for p in permission.get("UserIdGroupPairs", [])]
                peers += [r["CidrIp"] for r in permission.get("IpRanges", [])]
                for peer in peers:
                    children["rules"].add((group["GroupId"], kind, permission["IpProtocol"], *ports, peer))
    for table in tables:
        children["routes"] |= {
            (table["RouteTableId"], r["DestinationCidrBlock"])
            for r in table["Routes"]
            if r.get("GatewayId") != "local"
        }
        children["associations"] |= {
            (a["SubnetId"], table["RouteTableId"]) for a in table.get("Associations", []) if a.get("SubnetId")
        }
    children["attachments"] = {
        (role["RoleName"], p["PolicyArn"])
        for role in roles
        if _tags(role.get("Tags")).get(CLUSTER) == cluster
        for p in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    }
    return found, children


def _in_state(cli: Cli, work: Path) -> tuple[dict[str, list[str]], dict[str, set[tuple[Any, ...]]]]:
    done = subprocess.run(["terraform", f"-chdir={work / 'terraform'}", "show", "-json"], env=cli.env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    resources = json.loads(done.stdout)["values"]["root_module"]["resources"]
    managed = [r for r in resources if r["mode"] == "managed"]
    found = {r["address"]: [r["values"]["id"]] for r in managed if r["type"] in TAGGED}
    children: dict[str, set[tuple[Any, ...]]] = {k: set() for k in ("rules", "routes", "associations")}
    children["attachments"] = set()
    for resource in managed:
        v = resource["values"]
        if resource["type"] == "aws_security_group_rule":
            peers = [v["source_security_group_id"]] if v.get("source_security_group_id") else []
            peers += [v["security_group_id"]] if v.get("self") else []
            for peer in peers + list(v.get("cidr_blocks") or []):
                ports = (v["from_port"], v["to_port"])
                children["rules"].add((v["security_group_id"], v["type"], v["protocol"], *ports, peer))
        elif resource["type"] == "aws_route":
            children["routes"].add((v["route_table_id"], v["destination_cidr_block"]))
        elif resource["type"] == "aws_route_table_association":
            children["associations"].add((v["subnet_id"], v["route_table_id"]))
        elif resource["type"] == "aws_iam_role_policy_attachment":
            children["attachments"].add((v["role"], v["policy_arn"]))
    return found, children


def _assert_state_is_moto(cli: Cli, work: Path, moto: MotoServer, cluster: str) -> None:
    objects, children = _in_moto(moto, cluster)
    tracked, tracked_children = _in_state(cli, work)
    assert objects == tracked
    for kind, held in children.items():
        assert held == tracked_children[kind], kind
    assert len(tracked) == 32 and len(tracked_children["rules"]) == 21, "the whole example stack"


def _assert_converged(cli: Cli, spec: str, work: Path, moto: MotoServer) -> list[str]:
    """Re-run: apply succeeds, nothing is left to do, and the state is moto's truth. The events adopted."""
    rerun = cli.run("apply", spec, "--approve")
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    again = cli.run("plan", spec, "--exit-code", "-o", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    _assert_state_is_moto(cli, work, moto, yaml.safe_load(Path(spec).read_text())["metadata"]["name"])
    events = [json.loads(line) for line in (work / "events.jsonl").read_text().splitlines()]
    return [e.get("detail", "") for e in events if e.get("phase") == "orphans" and e.get("detail")]


def test_example_stack_killed_at_several_points_converges(
    repo: Path, tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    spec, work, cli = _example(tf_cli, moto_server, repo, tmp_path, "killed")
    created = r"{}[^\n]*: Creation complete"
    _kill_during_apply(cli, spec, work, "terraform", created.format(r"aws_security_group\."))
    _kill_during_apply(cli, spec, work, "terraform", created.format(r"aws_security_group_rule\."))
    _kill_during_apply(cli, spec, work, "terraform", created.format(r"aws_instance\."))
    _kill_during_apply(cli, spec, work, "clouder", r": Creating\.\.\.")
    adopted = _assert_converged(cli, spec, work, moto_server)
    print("\n".join(adopted))
    assert any(line.startswith("adopting") for line in adopted), "a SIGKILL mid-create leaves orphans"
    adopted_types = {a.split(".")[0] for line in adopted for a in line.split(": ", 1)[1].split(", ")}
    assert "aws_security_group_rule" in adopted_types


def test_example_stack_orphans_deleted_when_asked(
    repo: Path, tf_cli: Cli, moto_server: MotoServer, tmp_path: Path
) -> None:
    spec, work, cli = _example(tf_cli, moto_server, repo, tmp_path, "pruned")
    _kill_during_apply(cli, spec, work, "terraform", r"aws_security_group_rule\.[^\n]*: Creation complete")
    planned = cli.run("plan", spec, "--delete-orphans", "-o", "json")
    assert planned.returncode == 0, planned.stderr + planned.stdout
    deleted = [
        json.loads(line)["detail"]
        for line in (work / "events.jsonl").read_text().splitlines()
        if '"deleted ' in line
    ]
    assert deleted, "the kill left orphans to delete"
    details = _assert_converged(cli, spec, work, moto_server)
    assert not [d for d in details if d.startswith("adopting")], "nothing left to adopt after deleting"

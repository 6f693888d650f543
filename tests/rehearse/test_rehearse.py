"""`clouder rehearse` through the real CLI: the bundled AWS example end to end against the moto server the
command starts itself, with real Terraform and the real AWS provider (the machine's provider mirror when it
has one), charts from the loopback stand-in repository; and Azure's synth-and-gate-only rehearsal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from support.moto import MotoServer
from support.services import REPO, ServiceRepo
from support.terraform import MIRROR
from support.tfstack import Cli, boto, unique

EXAMPLE = REPO / "examples" / "aws-minimal.yaml"


@pytest.mark.e2e
def test_rehearse_runs_the_aws_example_end_to_end_and_destroys_it(
    tf_cli: Cli, service_charts: ServiceRepo, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    tf_cli.env.update(CLOUDER_WORK_DIR=str(work), CLOUDER_CACHE_DIR=str(service_charts.cache))
    tf_cli.env.pop("TF_CLI_CONFIG_FILE", None)  # the rehearsal's own --provider-mirror does it
    mirror = ["--provider-mirror", str(MIRROR)] if MIRROR.is_dir() else []
    result = tf_cli.run("rehearse", str(EXAMPLE), *mirror, "--chart-mirror", service_charts.url, "-o", "json")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(result.stdout)
    stages = {s["name"]: s["state"] for s in report["stages"]}
    assert list(stages) == ["emulator", "synth", "plan", "gate", "apply", "outputs", "bootstrap", "addons",
                            "services", "destroy"]  # fmt: skip
    assert set(stages.values()) == {"ok"}, report["stages"]
    assert report["ok"] and report["cluster"] == "demo-aws"

    rehearsal = work / ".rehearsal" / "demo-aws"
    stack = rehearsal / "synth" / "stacks" / "demo-aws"
    synthesized = json.loads((stack / "cdk.tf.json").read_text())
    declared = sum(len(kind) for kind in synthesized["resource"].values())
    assert report["resources"] == {"create": declared}
    destroyed = next(s for s in report["stages"] if s["name"] == "destroy")["detail"]
    assert destroyed == f"destroyed {declared} resources on the emulator"
    state = json.loads((rehearsal / "terraform.tfstate").read_text())
    assert state["resources"] == [], "nothing the rehearsal made is left in its state"

    # every change for the emulator is shown, and written only in the rehearsal's own folder
    overrides = "\n".join(report["overrides"])
    for shown in ("every endpoint at the emulator (http://127.0.0.1:", "aws.ami: ami-1e749f67",
                  "state: local", "context aws-dev: not used", "CKV_AWS_126"):  # fmt: skip
        assert shown in overrides, overrides
    assert (stack / "zz_clouder_rehearsal_override.tf.json").is_file()
    assert not (work / "demo-aws").exists(), "the cluster's own work folder is never touched"

    hosts = report["hosts"]
    control_planes = [name for name in hosts if "kubeadm-init" in hosts[name]]
    assert len(hosts) == 3 and len(control_planes) == 1, hosts
    assert all("join-workers" in hosts[name] for name in hosts if name not in control_planes)
    addons = [addon["name"] for addon in report["addons"]]
    assert addons[:3] == ["cilium", "aws-cloud-controller-manager", "nodes-initialized"]
    assert all(addon.get("valid", True) for addon in report["addons"])
    order = report["servicesOrder"]
    assert len(order) > 1 and order[0], order
    # the nine system services and the runtime plane: the example names no services.coreRepository
    assert sum(len(wave) for wave in order) == 10
    assert any("clouder up" in step for step in report["nextSteps"])


@pytest.mark.e2e
def test_rehearse_on_azure_says_what_it_cannot_rehearse(tmp_path: Path) -> None:
    from support.cli import run

    env = {"CLOUDER_WORK_DIR": str(tmp_path / "work")}
    result = run("rehearse", str(REPO / "examples" / "azure-minimal.yaml"), env=env, timeout=600)
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "synthesis and the policy gate only" in result.stdout
    assert "Terraform plan/apply, the outputs contract, bootstrap, add-ons and services are not" in (
        result.stdout.replace("\n", " ")
    )
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("  ")]
    states = {parts[0]: parts[1] for parts in lines if parts and parts[0] in ("synth", "gate")}
    assert states == {"synth": "ok", "gate": "ok"}
    assert "▶ synth" in result.stderr and os.sep + ".rehearsal" in result.stderr


@pytest.mark.e2e
def test_the_emulator_answers_a_gone_launch_template_as_aws_does(moto_server: MotoServer) -> None:
    """AWS answers InvalidLaunchTemplateId.NotFound, which Terraform's provider takes as already deleted;
    moto's own answer (InvalidLaunchTemplateName.NotFoundException) fails a destroy that repeats a delete."""
    ec2 = boto(moto_server, "ec2")
    made = ec2.create_launch_template(LaunchTemplateName=unique("lt"), LaunchTemplateData={})
    template = made["LaunchTemplate"]["LaunchTemplateId"]
    ec2.delete_launch_template(LaunchTemplateId=template)
    with pytest.raises(ClientError) as gone:
        ec2.delete_launch_template(LaunchTemplateId=template)
    assert gone.value.response["Error"]["Code"] == "InvalidLaunchTemplateId.NotFound"

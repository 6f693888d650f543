"""The end-to-end rehearsal: `clouder up` on the AWS example against moto and real Terraform, the outputs'
nodes mapped onto the test's own sshd hosts (stand-in kubeadm), the HTTP Kubernetes API emulator and the
loopback chart repository; then `clouder status`, `clouder check`, `clouder down`; then a secrets grep over
everything the run printed and wrote."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from clouder.outputs import read_outputs_file
from support.hosts import FAST_CLI, SshLab
from support.moto import MotoServer
from support.services import CORE_REPOSITORY, REPO, ServiceRepo, emulate_outputs
from support.tfstack import MOTO_OVERRIDE_ALLOWLIST, Cli, boto, moto_override_for

pytestmark = pytest.mark.e2e
MOTO_AMI = "ami-1e749f67"  # an image moto serves


def _spec(path: Path, lab: SshLab) -> Path:
    document = yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())
    document.pop("context", None)
    document["metadata"]["name"] = "reh-aws"
    public_key = lab.key.with_suffix(".pub").read_text().strip()
    document["access"] = {"mode": "bastion", "user": "root", "publicKey": public_key,
                          "privateKeyPath": str(lab.key)}  # fmt: skip
    document["aws"]["ami"] = MOTO_AMI
    document["policy"] = {"allowlist": MOTO_OVERRIDE_ALLOWLIST}  # the gate sees the test's moto override
    document["services"] = {"coreRepository": CORE_REPOSITORY}  # the core services too, from the mirror
    path.write_text(yaml.safe_dump(document))
    return path


def test_up_status_check_down_on_the_aws_example(
    lab: SshLab, tf_cli: Cli, moto_server: MotoServer, service_charts: ServiceRepo, tmp_path: Path
) -> None:
    spec = _spec(tmp_path / "cluster.yaml", lab)
    work = Path(os.environ["CLOUDER_WORK_DIR"])
    tf_cli.env.update(CLOUDER_WORK_DIR=str(work), CLOUDER_CACHE_DIR=str(service_charts.cache))
    printed: list[str] = []

    def clouder(*args: str, timeout: float = 900) -> tuple[int, str, str]:
        result = tf_cli.run(*args, timeout=timeout)
        printed.extend((result.stdout, result.stderr))
        return result.returncode, result.stdout, result.stderr

    # 1. synthesize the example's real stack, and point its provider at moto (a test-only override file)
    code, _, err = clouder("up", str(spec), "--until", "synth")
    assert code == 0, err
    stack = work / "reh-aws" / "synth" / "stacks" / "reh-aws"
    (stack / "zz_moto_override.tf.json").write_text(json.dumps(moto_override_for(stack, moto_server)))

    # 2. up to the outputs: plan, policy gate, apply on moto with real terraform
    code, out, err = clouder("up", str(spec), "--until", "outputs")
    assert code == 0, out + err[-4000:]
    outputs = read_outputs_file(work / "reh-aws" / "outputs.json")
    assert len(outputs.control_planes) == 1 and len(outputs.workers) == 2
    # the policy gate ran while Terraform planned the same configuration (it needs no plan)
    journal = [json.loads(line) for line in (work / "reh-aws" / "events.jsonl").read_text().splitlines()]
    first = {(e["stage"], e["phase"], e["outcome"]): i for i, e in reversed(list(enumerate(journal)))}
    assert first[("gate", "policy", "start")] < first[("terraform", "plan", "ok")]
    assert first[("gate", "policy", "ok")] < first[("up", "gate", "ok")]

    # 3. the outputs' nodes become the test's own sshd hosts; the API is the emulator
    for node in outputs.nodes:
        lab.host(node.name)
    lab.host("bastion")
    ssh_map = tmp_path / "ssh-map.json"
    ssh_map.write_text(json.dumps(lab.address_map()))
    api, stop = emulate_outputs(tmp_path / "api", outputs, "1.33.5")
    try:
        allow = [arg for network in lab.allowed for arg in ("--ssh-allow", network)]
        rehearsal = ["--kubeconfig", str(api.kubeconfig), "--chart-mirror", service_charts.url,
                     "--ssh-map", str(ssh_map), *allow, *FAST_CLI,
                     "--timeout", "60", "--poll-interval", "0.1"]  # fmt: skip
        # vault never starts: its dependents are skipped, everything else rolls out, `up` stops at rollout
        api.emulator.rule("StatefulSet", "vault", "secrets", outcome="never", reason="FailedScheduling",
                          message="0/3 nodes are available: 3 Insufficient memory.")  # fmt: skip
        code, out, err = clouder("up", str(spec), *rehearsal, "--service-timeout", "5", "-o", "json")
        assert code == 1, out[-4000:] + err[-4000:]
        failed = json.loads(out)
        stages = {s["name"]: s["state"] for s in failed["stages"]}
        assert stages["bootstrap"] == stages["addons"] == "ok", [
            (s["name"], s["detail"]) for s in failed["stages"]
        ]
        assert stages["rollout"] == "failed" and stages["check"] == "not-run"
        # the add-ons started once the first control plane served the API, before the workers joined
        journal = [json.loads(line) for line in (work / "reh-aws" / "events.jsonl").read_text().splitlines()]
        order = [(e["stage"], e["phase"], e["outcome"]) for e in journal]
        early = order.index(("up", "addons", "info"))
        assert order.index(("bootstrap", "fetch-kubeconfig", "ok")) < early
        assert early < order.index(("bootstrap", "join-workers", "start"))
        assert early < order.index(("up", "bootstrap", "ok"))
        rollout = {s["name"]: s for s in failed["summary"]["rollout"]}
        assert (
            rollout["secrets"]["state"] == "failed" and "Insufficient memory" in rollout["secrets"]["reason"]
        )
        assert (
            rollout["iam"]["state"] == "skipped" and rollout["iam"]["reason"] == "dependency secrets failed"
        )
        assert rollout["manager"]["state"] == "skipped" and rollout["search"]["state"] == "ready"

        # the cause is fixed: the next run resumes and finishes
        api.emulator.rule("StatefulSet", "vault", "secrets", outcome="ready")
        code, out, err = clouder("up", str(spec), *rehearsal, "-o", "json")
        assert code == 0, out[-4000:] + err[-4000:]
        report = json.loads(out)
        stages = {s["name"]: s["state"] for s in report["stages"]}
        assert stages == {"synth": "ok", "plan": "ok", "gate": "skipped", "apply": "skipped", "outputs": "ok",
                          "bootstrap": "ok", "addons": "ok", "rollout": "ok", "check": "ok"}  # fmt: skip
        assert report["summary"]["services"] == {"ready": 21}
        assert report["summary"]["ingressAddress"].startswith("ingress-nginx-controller-")
        assert report["summary"]["apiEndpoint"] == outputs.api_endpoint.url
        assert lab.completed("init") == {outputs.control_planes[0].name: 1}
        assert lab.completed("join") == {node.name: 1 for node in outputs.workers}

        # a second run resumes: nothing is redone
        writes = len(api.emulator.writes)
        code, out, err = clouder("up", str(spec), *rehearsal)
        assert code == 0, err[-3000:]
        assert "services: 21 ready" in out
        assert lab.completed("init") == {outputs.control_planes[0].name: 1}
        probes = ("clouder-check",)  # `check` creates and deletes its probes on every run
        assert [w for w in api.emulator.writes[writes:] if w[2] not in probes and w[3] not in probes] == []

        where = ["--kubeconfig", str(api.kubeconfig)]
        code, out, _ = clouder("status", str(spec), *where, "-o", "json")
        status = json.loads(out)
        assert code == 0 and status["ok"], status
        assert len(status["nodes"]) == 3 and len(status["services"]) == 21
        code, out, _ = clouder("check", str(spec), *where, "--poll-interval", "0.1")
        assert code == 0, out

        # 4. down: refused without approval, then services first, then the infrastructure
        code, _, err = clouder("down", str(spec), *where)
        assert code == 1 and "needs approval" in err
        assert api.emulator.get("Deployment", "iam", "clouder-iam") is not None
        # a user's own LoadBalancer Service: its cloud load balancer must be released before the network goes
        api.emulator.put({"apiVersion": "v1", "kind": "Service",
                          "metadata": {"name": "user-lb", "namespace": "default"},
                          "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})  # fmt: skip
        code, out, err = clouder("down", str(spec), *where, "--approve", "--timeout", "10")
        assert code == 0, out + err[-3000:]
        assert api.emulator.get("Service", "ingress-nginx-controller", "ingress") is None
        assert api.emulator.get("Service", "user-lb", "default") is None
        events_file = work / "reh-aws" / "events.jsonl"
        if os.environ.get("CLOUDER_REHEARSAL_EVENTS"):  # benchmarks/time_to_ready.py reads this log
            shutil.copyfile(events_file, os.environ["CLOUDER_REHEARSAL_EVENTS"])
        journal = [json.loads(line) for line in events_file.read_text().splitlines()]
        released = next(
            i for i, e in enumerate(journal) if e["stage"] == "teardown" and "user-lb" in e["detail"]
        )
        destroy = next(i for i, e in enumerate(journal) if e["stage"] == "down" and e["phase"] == "destroy")
        assert released < destroy, "the load balancer is released before Terraform destroys anything"
    finally:
        stop()
    ec2 = boto(moto_server, "ec2")
    mine = [{"Name": "tag:clouder.dev/cluster", "Values": ["reh-aws"]},
            {"Name": "instance-state-name", "Values": ["running"]}]  # fmt: skip
    running = ec2.describe_instances(Filters=mine)
    assert running["Reservations"] == []

    # 5. no secret in anything printed or written (the admin kubeconfig itself is the one place for its key)
    state = lab.state()
    secrets = [
        *state["tokens"],
        state["cluster"]["cert_key"],
        state["admin_key"],
        "emulator-admin-token-0123456789",
    ]
    secrets = [s for s in secrets if s]
    assert len(secrets) >= 3
    written = [
        p for p in work.rglob("*") if p.is_file() and p.name != "admin.conf" and ".terraform" not in p.parts
    ]
    for text in printed + [p.read_text(errors="replace") for p in written]:
        for secret in secrets:
            assert secret not in text

"""Scale 2 -> 5 -> 3 workers: real Terraform (a terraform_data stand-in stack whose provisioners log when each
VM is created and destroyed), real sshd hosts with the stand-in kubeadm, the API emulator's journal."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clouder.events import EventLog
from clouder.lifecycle.infra import TerraformInfra
from clouder.lifecycle.nodes import remove_async, repair_async, scale_async
from clouder.terraform.workflow import Workflow
from support.day2 import Day2, node_stack, vm_log
from support.parts import require_binary

pytestmark = pytest.mark.e2e


class Kubelets:
    """What a kubelet does after its node joined: register the Node (Ready, with a provider ID)."""

    def __init__(self, day2: Day2) -> None:
        self.day2 = day2
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            registered = {n["metadata"]["name"] for n in self.day2.api.emulator.list("Node")}
            try:
                joined = self.day2.lab.state().get("nodes", {})
            except ValueError:  # the stand-in is rewriting its state file: look again
                continue
            for name in joined:
                if name not in registered:
                    self.day2.register([name])

    def __enter__(self) -> Kubelets:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@pytest.fixture
def kubelets(day2_small: Day2) -> Iterator[Kubelets]:
    with Kubelets(day2_small) as running:
        yield running


def scale(day2: Day2, workers: int, stack: Path, log: Path, control_planes: int = 1) -> Any:
    spec = day2.spec(
        nodePools=[{"name": "general", "count": workers}], controlPlane={"count": control_planes}
    )
    node_stack(stack, day2.cluster, control_planes, workers, log)
    infra = TerraformInfra(Workflow(spec, stack), policy_gate=False, node_types=frozenset({"terraform_data"}))
    outputs = day2.outputs_now()
    with day2.kube() as kube:
        return asyncio.run(scale_async(spec, outputs, kube, day2.options(spec), EventLog(), infra))


def test_scale_2_to_5_to_3_joins_then_drains_before_terraform_destroys(
    day2_small: Day2, kubelets: Kubelets, tmp_path: Path
) -> None:
    require_binary("terraform", "Terraform >= 1.5 is a prerequisite")
    day2 = day2_small
    for name in ("w-3", "w-4", "w-5"):
        day2.lab.host(name)
    stack, log = tmp_path / "stack", tmp_path / "vms.log"

    first = scale(day2, 2, stack, log)  # adopt the two bootstrapped workers into the stand-in stack
    assert first.ok and first.details == {"remove": [], "add": []}, first

    up = scale(day2, 5, stack, log)
    assert up.ok, (up.stopped, [(n.name, n.error) for n in up.nodes])
    assert up.details == {"remove": [], "add": ["w-3", "w-4", "w-5"]}
    assert day2.lab.completed("join") == {f"w-{i}": 1 for i in range(1, 6)}  # new ones joined, once each
    created = {name: t for t, name, what in vm_log(log) if what == "vm-create"}
    joins = {e["host"]: e["time"] for e in day2.lab.log() if e["action"] == "join" and e["outcome"] == "done"}
    assert all(created[n] < joins[n] for n in ("w-3", "w-4", "w-5"))  # VM first, then the join

    day2.app_pods([f"w-{i}" for i in range(1, 6)])
    day2.remember_placements()
    before = time.time()
    down = scale(day2, 3, stack, log)
    assert down.ok, (down.stopped, [(n.name, n.error) for n in down.nodes])
    assert down.details == {"remove": ["w-4", "w-5"], "add": []}
    assert [n["name"] for n in day2.outputs_now_document()["nodes"]["value"]] == ["cp-1", "w-1", "w-2", "w-3"]

    timeline = sorted(
        [e for e in day2.timeline() if e[0] >= before] + [e for e in vm_log(log) if e[0] >= before]
    )
    for name in ("w-4", "w-5"):
        steps = [what for _, host, what in timeline if host == name]
        assert steps == ["node-update", "evict", "evict", "reset", "node-delete", "vm-destroy"], (name, steps)
    # one at a time, and every VM destroyed only after both were drained, reset and deleted
    order = [(host, what) for _, host, what in timeline]
    assert order.index(("w-4", "node-delete")) < order.index(("w-5", "node-update"))
    assert max(order.index((n, "node-delete")) for n in ("w-4", "w-5")) < min(
        order.index((n, "vm-destroy")) for n in ("w-4", "w-5")
    )
    assert {host for _, host, _ in timeline} == {"w-4", "w-5"}  # the kept workers were not touched
    assert day2.lab.completed("reset") == {"w-4": 1, "w-5": 1}
    assert {n["metadata"]["name"] for n in day2.api.emulator.list("Node")} == {"cp-1", "w-1", "w-2", "w-3"}


def test_control_planes_1_to_3_and_back(day2_small: Day2, kubelets: Kubelets, tmp_path: Path) -> None:
    require_binary("terraform", "Terraform >= 1.5 is a prerequisite")
    day2 = day2_small
    for name in ("cp-2", "cp-3"):
        day2.lab.host(name)
    stack, log = tmp_path / "stack", tmp_path / "vms.log"
    assert scale(day2, 2, stack, log).ok

    up = scale(day2, 2, stack, log, control_planes=3)
    assert up.ok, (up.stopped, [(n.name, n.error) for n in up.nodes])
    assert up.details == {"remove": [], "add": ["cp-2", "cp-3"]}
    joins = [e for e in day2.lab.log() if e["action"] == "join" and e["outcome"] == "done"]
    assert [(e["host"], e["role"]) for e in joins if e["host"].startswith("cp-")] == [
        ("cp-2", "control-plane"),
        ("cp-3", "control-plane"),
    ]  # one at a time, in order, with the certificates uploaded for them
    assert day2.lab.completed("upload-certs") == {"cp-1": 1}

    before = time.time()
    down = scale(day2, 2, stack, log, control_planes=1)
    assert down.ok, (down.stopped, [(n.name, n.error) for n in down.nodes])
    assert down.details == {"remove": ["cp-2", "cp-3"], "add": []}
    timeline = sorted([e for e in day2.timeline() + vm_log(log) if e[0] >= before])
    for name in ("cp-2", "cp-3"):
        steps = [what for _, host, what in timeline if host == name]
        assert steps == ["node-update", "reset", "node-delete", "vm-destroy"], (name, steps)
    assert day2.lab.completed("reset") == {"cp-2": 1, "cp-3": 1}


def test_a_plan_replacing_other_nodes_is_refused_before_any_drain(day2_small: Day2, tmp_path: Path) -> None:
    require_binary("terraform", "Terraform >= 1.5 is a prerequisite")
    from clouder.errors import BadInputError

    day2 = day2_small
    stack, log = tmp_path / "stack", tmp_path / "vms.log"
    assert scale(day2, 2, stack, log).ok
    spec = day2.spec(nodePools=[{"name": "general", "count": 1}])
    node_stack(stack, day2.cluster, 1, 1, log, worker_prefix="node")  # a changed VM: replaced, not scaled
    infra = TerraformInfra(Workflow(spec, stack), policy_gate=False, node_types=frozenset({"terraform_data"}))
    writes = len(day2.api.emulator.writes)
    with day2.kube() as kube, pytest.raises(BadInputError, match="the plan destroys 2 node VM"):
        asyncio.run(scale_async(spec, day2.outputs_now(), kube, day2.options(spec), EventLog(), infra))
    assert len(day2.api.emulator.writes) == writes  # no cordon, no eviction, no delete
    assert day2.lab.completed("reset") == {}
    assert [what for _, _, what in vm_log(log)] == ["vm-create"] * 3  # Terraform applied nothing


def test_remove_by_name_and_repair_a_node_that_failed_to_join(day2_small: Day2) -> None:
    day2 = day2_small
    spec = day2.spec()
    outputs = day2.outputs()
    day2.app_pods(["w-2"], per_node=1)
    with day2.kube() as kube:
        removed = asyncio.run(remove_async(spec, outputs, kube, day2.options(spec), EventLog(), ["w-2"]))
        assert removed.ok, removed
        assert [(n.name, n.state, n.ran) for n in removed.nodes] == [
            ("w-2", "done", ["drain", "kubeadm-reset", "delete-node"])
        ]
        assert day2.api.emulator.get("Node", "w-2") is None
        assert day2.lab.completed("reset") == {"w-2": 1}
        assert day2.lab.hosts["w-2"].in_mounts("ls -A /etc/kubernetes") == ""

        again = asyncio.run(remove_async(spec, outputs, kube, day2.options(spec), EventLog(), ["w-2"]))
        assert again.ok and again.nodes[0].state == "unchanged"  # probes: nothing left to do
        assert day2.lab.completed("reset") == {"w-2": 1}

        # w-2 comes back, but its join fails half-way: kubeadm leaves files, the kubelet never registers
        day2.lab.hosts["w-2"].in_mounts("mkdir -p /etc/kubernetes/pki && echo x > /etc/kubernetes/pki/ca.crt")
        repaired = asyncio.run(_repair_with_kubelet(day2, spec, outputs, kube, "w-2"))
        assert repaired.ok, (repaired.stopped, repaired.nodes)
        assert repaired.nodes[0].ran == ["kubeadm-reset", "join-workers"]
        assert day2.lab.completed("reset") == {"w-2": 2}
        assert day2.lab.completed("join") == {"w-1": 1, "w-2": 2}

        from clouder.errors import BadInputError

        with pytest.raises(BadInputError, match="first control plane"):
            asyncio.run(remove_async(spec, outputs, kube, day2.options(spec), EventLog(), ["cp-1"]))
        with pytest.raises(BadInputError, match="is registered and Ready"):
            asyncio.run(repair_async(spec, outputs, kube, day2.options(spec), EventLog(), "w-1"))


async def _repair_with_kubelet(day2: Day2, spec: Any, outputs: Any, kube: Any, name: str) -> Any:
    with Kubelets(day2):
        return await repair_async(spec, outputs, kube, day2.options(spec), EventLog(), name)


def test_remove_node_from_the_command_line(day2_small: Day2) -> None:
    from support.cli import run as run_cli

    day2 = day2_small
    spec_path, mapping = day2.write_files()
    args = day2.cli_args(mapping, checks=False)
    result = run_cli("-o", "json", "remove-node", str(spec_path), "w-1", *args)
    assert result.code == 0, result.stdout + result.stderr
    report = result.json()
    assert report["ok"] and report["operation"] == "remove"
    assert [(n["name"], n["state"], n["ran"]) for n in report["nodes"]] == [
        ("w-1", "done", ["drain", "kubeadm-reset", "delete-node"])
    ]
    assert day2.api.emulator.get("Node", "w-1") is None and day2.lab.completed("reset") == {"w-1": 1}

    unknown = run_cli("remove-node", str(spec_path), "w-9", *args)
    assert unknown.code == 2 and "no node named w-9" in unknown.stderr

"""Day-2 rehearsals: a lab cluster (real sshd hosts + the stand-in kubeadm) bootstrapped for real, and the
Kubernetes API emulator holding its Nodes, system workloads and application pods spread over the workers.

``Day2`` builds specs at any version, LifecycleOptions pointed at the lab (mapped addresses, the target
guard, short timeouts) and at the emulator, and merges what happened on the hosts (the stand-in's log)
with what happened in the API (the emulator's journal) into one timeline.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported lazily: support.hosts and support.kubeapi are plugins registered after this one
    from support.hosts import LabCluster, SshLab
    from support.kubeapi import KubeApi

APP = {"app": "web"}


@dataclass
class Day2:
    lab: SshLab
    cluster: LabCluster
    api: KubeApi
    tmp: Path
    placements: dict[str, str] = field(default_factory=dict)  # "namespace/pod" -> node, before the run

    # -- inputs for Clouder ---------------------------------------------------------------------------
    def spec_dict(self, version: str = "1.33.5", **changes: Any) -> dict[str, Any]:
        spec = self.cluster.spec()
        spec.setdefault("kubernetes", {})["version"] = version
        spec.update(changes)
        return spec

    def spec(self, version: str = "1.33.5", **changes: Any) -> Any:
        from clouder.spec.model import ClusterSpec

        return ClusterSpec.model_validate(self.spec_dict(version, **changes))

    def outputs(self) -> Any:
        from clouder.outputs import parse_terraform_outputs

        return parse_terraform_outputs(self.cluster.outputs())

    def outputs_now_document(self) -> dict[str, Any]:
        """The outputs contract Clouder saved after the last Terraform apply, else the lab's."""
        from clouder.workdir import work_root

        saved = work_root() / "lab" / "outputs.json"
        return json.loads(saved.read_text()) if saved.exists() else self.cluster.outputs()

    def outputs_now(self) -> Any:
        from clouder.outputs import parse_terraform_outputs

        return parse_terraform_outputs(self.outputs_now_document())

    def options(self, spec: Any, **changes: Any) -> Any:
        from clouder.hosts.options import parse_networks
        from clouder.lifecycle.session import default_options
        from support.hosts import FAST_SSH

        changes.setdefault("poll_interval", 0.05)
        changes.setdefault("check_timeout", 10.0)
        changes.setdefault("node_ready_timeout", 10.0)
        options = default_options(spec, self.api.kubeconfig, lock_heartbeat=0.5, **changes)
        ssh = dataclasses.replace(
            options.bootstrap.ssh,
            address_map=self.cluster.address_map(),
            allowed_networks=parse_networks(self.lab.allowed),
            **FAST_SSH,
        )
        return dataclasses.replace(options, bootstrap=dataclasses.replace(options.bootstrap, ssh=ssh))

    def kube(self) -> Any:
        from clouder.kube.client import Kube

        return Kube.from_kubeconfig(self.api.kubeconfig)

    def write_files(self, version: str = "1.33.5", **changes: Any) -> tuple[Path, Path]:
        """The spec, the outputs contract (where the CLI looks) and the --ssh-map file."""
        import yaml

        from clouder.workdir import work_root

        spec_path = self.tmp / "cluster.yaml"
        spec_path.write_text(yaml.safe_dump(self.spec_dict(version, **changes)))
        outputs = work_root() / "lab" / "outputs.json"
        outputs.parent.mkdir(parents=True, exist_ok=True)
        outputs.write_text(json.dumps(self.cluster.outputs()))
        mapping = self.tmp / "ssh-map.json"
        mapping.write_text(json.dumps(self.cluster.address_map()))
        return spec_path, mapping

    def cli_args(self, mapping: Path, checks: bool = True) -> list[str]:
        allow = [arg for network in self.lab.allowed for arg in ("--ssh-allow", network)]
        return ["--ssh-map", str(mapping), *allow, "--kubeconfig", str(self.api.kubeconfig),
                "--poll-interval", "0.05", "--connect-timeout", "3", "--command-timeout", "20",
                "--attempts", "2", *(["--check-timeout", "10"] if checks else [])]  # fmt: skip

    # -- the emulated cluster ----------------------------------------------------------------------------
    def register(self, names: list[str]) -> None:
        """Nodes as kubeadm + the cloud controller leave them: Ready, with provider IDs, a DaemonSet pod."""
        ids = {n["name"]: n["provider_id"] for n in self.cluster.outputs()["nodes"]["value"]}
        for name in names:
            role = "control-plane" if name.startswith("cp-") else "worker"
            self.api.add_node(name, role, initialized=True, provider_id=ids.get(name, f"aws:///x/{name}"))
            self.pod(f"kube-proxy-{name}", name, "kube-system", owner="DaemonSet")

    def pod(self, name: str, node: str, namespace: str = "default", owner: str = "ReplicaSet") -> None:
        self.api.emulator.put({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(APP),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner, "name": f"{name}-owner",
                                              "uid": f"uid-{name}", "controller": True}]},
            "spec": {"nodeName": node, "containers": [{"name": "main", "image": "nginx"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        })  # fmt: skip

    def app_pods(self, workers: list[str], per_node: int = 2) -> None:
        for worker in workers:
            for index in range(per_node):
                self.pod(f"web-{worker}-{index}", worker)

    def pods_on(self, node: str) -> list[str]:
        return sorted(
            p["metadata"]["name"] for p in self.api.emulator.list("Pod") if p["spec"].get("nodeName") == node
        )

    # -- what happened ----------------------------------------------------------------------------------
    def host_log(self, host: str) -> list[str]:
        """The stand-in's completed commands on one host, in order: 'packages kubeadm', 'upgrade-node' …"""
        steps = []
        for entry in self.lab.log():
            if entry["host"] != host or entry["outcome"] != "done":
                continue
            if entry["action"] == "packages":
                steps.append("packages " + " ".join(entry["packages"]))
            else:
                steps.append(entry["action"])
        return steps

    def timeline(self) -> list[tuple[float, str, str]]:
        """(time, node, what) for the stand-in's commands and the API's node-level writes, merged."""
        events = []
        for entry in self.lab.log():
            if entry["outcome"] == "done":
                what = entry["action"]
                if what == "packages":
                    what = "packages " + " ".join(entry["packages"])
                events.append((entry["time"], entry["host"], what))
        pods = {p: n for n in self.lab.hosts for p in self.pods_on(n)}
        for stamp, verb, kind, namespace, name in self.api.emulator.journal:
            if kind == "Node":
                events.append(
                    (stamp, name, {"update": "node-update", "delete": "node-delete"}.get(verb, verb))
                )
            elif kind == "Pod" and verb == "evict":
                node = self.placements.get(f"{namespace}/{name}", pods.get(name, "?"))
                events.append((stamp, node, "evict"))
        return sorted(events)

    def remember_placements(self) -> None:
        self.placements = {
            f"{p['metadata']['namespace']}/{p['metadata']['name']}": p["spec"].get("nodeName", "")
            for p in self.api.emulator.list("Pod")
        }


def seed_system(api: KubeApi) -> None:
    """A default StorageClass and kube-dns, so that `clouder check` passes on a healthy cluster."""
    api.emulator.put({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "Immediate",
    })  # fmt: skip
    api.emulator.put({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
        "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]},
    })  # fmt: skip


def open_day2(
    lab: SshLab, tmp: Path, control_planes: int, workers: int, version: str = "1.33.5", **spec_changes: Any
) -> tuple[Day2, Any]:
    from clouder.bootstrap.run import bootstrap
    from clouder.events import EventLog
    from support.kubeapi import start

    cluster = lab.cluster(control_planes, workers, mode="direct")
    lab.settings(version=f"v{version}")  # the kubeadm package the nodes were built with
    api, stop = start(tmp, git_version=f"v{version}")
    seed_system(api)
    day2 = Day2(lab, cluster, api, tmp)
    spec = day2.spec(version, **spec_changes)
    report = bootstrap(spec, day2.outputs(), day2.options(spec).bootstrap, EventLog())
    assert report.ok, [h.error for h in report.hosts]
    day2.register(cluster.nodes)
    return day2, stop


@pytest.fixture
def day2_small(lab: SshLab, tmp_path: Path) -> Iterator[Day2]:
    """1 control plane + 2 workers, bootstrapped at 1.33.5, registered in a fresh API emulator."""
    day2, stop = open_day2(lab, tmp_path, 1, 2)
    try:
        yield day2
    finally:
        stop()


@pytest.fixture
def day2_old(lab: SshLab, tmp_path: Path) -> Iterator[Day2]:
    """1 control plane + 1 worker at 1.32.9."""
    day2, stop = open_day2(lab, tmp_path, 1, 1, version="1.32.9")
    try:
        yield day2
    finally:
        stop()


@pytest.fixture
def day2_ha(lab: SshLab, tmp_path: Path) -> Iterator[Day2]:
    """3 control planes + 4 workers, bootstrapped at 1.33.5, registered in a fresh API emulator."""
    day2, stop = open_day2(lab, tmp_path, 3, 4)
    try:
        yield day2
    finally:
        stop()


def node_stack(
    folder: Path, cluster: LabCluster, control_planes: int, workers: int, log: Path, worker_prefix: str = "w"
) -> Path:
    """A Terraform root standing in for the cluster stack: one ``terraform_data`` per VM (built in, no
    provider needed), counted per group like the stacks count nodes, logging when each is created and
    destroyed, and publishing the outputs contract for these control planes and workers."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.tf.json"):
        old.unlink()
    document = cluster.outputs()
    record = 'echo "$(date +%s.%N) {what} ${{self.output}}" >> ' + str(log)

    def group(prefix: str, count: int) -> dict[str, Any]:
        return {
            "count": count,
            "input": prefix + "-${count.index + 1}",
            "triggers_replace": prefix,  # another prefix stands for a changed VM (image, size): replaced
            "provisioner": [
                {"local-exec": {"command": record.format(what="create")}},
                {"local-exec": {"when": "destroy", "command": record.format(what="destroy")}},
            ],
        }

    def entries(resource: str, role: str, pool: str, net: int) -> str:
        return (
            f'[for i, n in terraform_data.{resource} : {{name = n.output, role = "{role}", '
            f'pool = "{pool}", private_ip = "10.0.{net}.${{i + 10}}", public_ip = "203.0.{net}.${{i + 10}}", '
            f'zone = "eu-west-1a", provider_id = "aws:///eu-west-1a/i-{resource}${{i}}"}}]'
        )

    nodes = (
        "${concat("
        + entries("control_plane", "control-plane", "control-plane", 16)
        + ", "
        + entries("worker", "worker", "general", 17)
        + ")}"
    )
    config = {
        "resource": {
            "terraform_data": {
                "control_plane": group("cp", control_planes),
                "worker": group(worker_prefix, workers),
            }
        },
        "output": {
            **{name: {"value": document[name]["value"]} for name in document if name != "nodes"},
            "nodes": {"value": nodes},
        },
    }
    (folder / "main.tf.json").write_text(json.dumps(config, indent=2))
    return folder


def vm_log(log: Path) -> list[tuple[float, str, str]]:
    """(time, node, 'vm-create' | 'vm-destroy') from the stand-in stack's provisioners."""
    if not log.exists():
        return []
    entries = [line.split() for line in log.read_text().splitlines() if line.strip()]
    return [(float(stamp), name, f"vm-{what}") for stamp, what, name in entries]

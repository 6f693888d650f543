"""End to end against real sshd hosts and the stand-in kubeadm: 1+2 through a bastion, 3+5 direct."""

from __future__ import annotations

import json
import platform
import stat
import time
from pathlib import Path

import pytest
import yaml

from clouder.events import read_events
from clouder.workdir import work_root
from support.hosts import USER, SshLab
from support.parts import require_binary

pytestmark = pytest.mark.e2e


def events(name: str = "lab") -> list[tuple[str, str | None, str, str]]:
    return [(e.phase, e.host, e.outcome, e.detail) for e in read_events(work_root() / name / "events.jsonl")]


def test_one_control_plane_two_workers_through_the_bastion_as_a_sudo_user(lab: SshLab) -> None:
    require_binary("sudo", "apt-get install sudo")
    cluster = lab.cluster(1, 2, mode="bastion", user=USER)
    report = cluster.bootstrap()
    assert report.ok, [h.error for h in report.hosts]
    assert lab.completed("init") == {"cp-1": 1}
    assert lab.completed("join") == {"w-1": 1, "w-2": 1}
    kubeconfig = Path(report.kubeconfig or "")
    assert kubeconfig == work_root() / "lab" / "admin.conf"
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    assert server == "https://lab-api.elb.eu-west-1.amazonaws.com:6443"
    ok = {(phase, host) for phase, host, outcome, _ in events() if outcome == "ok"}
    assert {("kubeadm-init", "cp-1"), ("join-workers", "w-1"), ("join-workers", "w-2")} <= ok
    facts = next(h for h in report.hosts if h.name == "w-1").facts
    assert facts["arch"] == platform.machine() and facts["kubeadm"] == "v1.33.5"
    assert facts["joined"] == "yes" and facts["runtime"] in {"containerd", "cri-o", "none"}
    assert facts["os"].split()[0] == dict(
        line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line
    )["ID"].strip('"')
    # the kubeadm files are root's: reached through sudo, not as the login user
    owner = lab.hosts["w-1"].in_mounts("stat -c %U /etc/kubernetes/kubelet.conf").strip()
    assert owner == "root" and cluster.user == "ubuntu"
    # host keys were pinned on first contact, bastion included
    pinned = (work_root() / "lab" / "known_hosts").read_text().split("\n")
    assert {line.split(" ")[0] for line in pinned if line} == {"bastion", "cp-1", "w-1", "w-2"}

    again = cluster.bootstrap()
    assert again.ok
    assert lab.completed("init") == {"cp-1": 1}
    assert lab.completed("join") == {"w-1": 1, "w-2": 1}
    by_name = {h.name: h for h in again.hosts}
    assert "join-workers" in by_name["w-1"].skipped and "kubeadm-init" in by_name["cp-1"].skipped


def test_three_control_planes_five_workers_and_kubeconfig_merge(lab: SshLab, tmp_path: Path) -> None:
    cluster = lab.cluster(3, 5, mode="direct")
    lab.settings(join_s=1.5)  # long enough that parallel joins overlap even on a loaded machine
    lab.fault("w-3", "join", "drop-once")  # the first join attempt on w-3 loses its connection mid-command
    user_kubeconfig = tmp_path / "kube" / "config"
    user_kubeconfig.parent.mkdir()
    user_kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "other",
        "clusters": [{"name": "other", "cluster": {"server": "https://other:6443"}}],
        "users": [{"name": "other", "user": {"token": "x" * 20}}],
        "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}],
    }))  # fmt: skip
    report = cluster.bootstrap(merge_kubeconfig=user_kubeconfig)
    assert report.ok, [h.error for h in report.hosts]
    assert lab.completed("init") == {"cp-1": 1}
    joins = [e for e in lab.log() if e["action"] == "join"]
    done = {e["host"]: e["role"] for e in joins if e["outcome"] == "done"}
    assert done == {"cp-2": "control-plane", "cp-3": "control-plane"} | {
        f"w-{i}": "worker" for i in range(1, 6)
    }
    assert sum(1 for e in joins if e["outcome"] == "done") == 7  # each exactly once, w-3 despite the drop
    assert any(e["host"] == "w-3" and e["outcome"] == "fault:drop-once" for e in lab.log())
    assert ("join-workers", "w-3", "info", "retry 2") in events()

    def span(host: str) -> tuple[float, float]:
        times = [e["time"] for e in joins if e["host"] == host and e["outcome"] in ("start", "done")]
        return min(times), max(times)

    # control planes join one at a time; workers do not wait for them (the first control plane is enough)
    # and overlap each other (parallel)
    assert span("cp-2")[1] < span("cp-3")[0]
    assert min(span(f"w-{i}")[0] for i in range(1, 6)) < span("cp-3")[0], "workers waited for the joins"
    starts = sorted(span(f"w-{i}")[0] for i in (1, 2, 4, 5))
    ends = sorted(span(f"w-{i}")[1] for i in (1, 2, 4, 5))
    assert starts[-1] < ends[0], "workers did not join in parallel"

    merged = yaml.safe_load(user_kubeconfig.read_text())
    assert {c["name"] for c in merged["contexts"]} == {"other", "lab"}
    assert merged["current-context"] == "other"
    assert stat.S_IMODE(user_kubeconfig.stat().st_mode) == 0o600
    lab_cluster = next(c for c in merged["clusters"] if c["name"] == "lab")["cluster"]
    assert lab_cluster["server"] == "https://lab-api.elb.eu-west-1.amazonaws.com:6443"


def test_expired_join_token_is_refreshed(lab: SshLab) -> None:
    assert lab.cluster(1, 1, mode="direct").bootstrap().ok
    state_file = lab.registry / "state.json"
    state = json.loads(state_file.read_text())
    for info in state["tokens"].values():
        info["expires"] = time.time() - 60
    state_file.write_text(json.dumps(state))

    report = lab.cluster(1, 2, mode="direct").bootstrap()  # one more worker
    assert report.ok, [h.error for h in report.hosts]
    assert lab.completed("join") == {"w-1": 1, "w-2": 1}
    assert lab.completed("token-create") == {"cp-1": 1}
    assert ("join-token", "cp-1", "info", "created a new join token") in events()


def test_dry_run_probes_but_changes_nothing(lab: SshLab) -> None:
    cluster = lab.cluster(1, 2, mode="bastion")
    plan = cluster.bootstrap(dry_run=True)
    assert plan.ok and plan.dry_run
    assert lab.log() == [] or all(e["action"] not in ("init", "join") for e in lab.log())
    by_name = {h.name: h for h in plan.hosts}
    assert any(p.startswith("kubeadm init") for p in by_name["cp-1"].planned)
    assert any(p.startswith("kubeadm join as worker") for p in by_name["w-2"].planned)
    assert lab.hosts["cp-1"].in_mounts("ls -A /etc/kubernetes") == ""

    assert cluster.bootstrap().ok
    again = cluster.bootstrap(dry_run=True)
    by_name = {h.name: h for h in again.hosts}
    assert by_name["w-1"].planned == [] and "join-workers" in by_name["w-1"].skipped
    assert not any(p.startswith("kubeadm init") for p in by_name["cp-1"].planned)


def test_a_stopped_kubelet_is_restarted_not_rejoined(lab: SshLab) -> None:
    cluster = lab.cluster(1, 2, mode="direct")
    assert cluster.bootstrap().ok
    assert lab.completed("kubelet-restart") == {}
    for name in ("cp-1", "w-1"):
        lab.hosts[name].in_mounts("rm /etc/kubernetes/.standin-kubelet-active")
    report = cluster.bootstrap()
    assert report.ok
    assert lab.completed("kubelet-restart") == {"cp-1": 1, "w-1": 1}
    assert lab.completed("init") == {"cp-1": 1}
    assert lab.completed("join") == {"w-1": 1, "w-2": 1}
    assert "ensure-kubelet" in next(h for h in report.hosts if h.name == "w-2").skipped

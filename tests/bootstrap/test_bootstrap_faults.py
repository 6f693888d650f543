"""Faults on real sshd hosts: each gives a clear per-host error, healthy hosts proceed, nothing hangs.
Also: the bootstrap lock, and the guard that refuses to dial addresses outside the lab."""

from __future__ import annotations

import json
import shlex
import socket
import threading
import time

import asyncssh
import pytest

from clouder.hosts.lock import LockHeldError
from clouder.workdir import work_root
from support.hosts import SshLab

pytestmark = pytest.mark.e2e


def test_each_fault_gives_a_clear_error_on_its_host_and_healthy_hosts_proceed(lab: SshLab) -> None:
    cluster = lab.cluster(1, 7, mode="direct")
    dead = lab.dead_host()
    pins = work_root() / "lab" / "known_hosts"
    pins.parent.mkdir(parents=True)
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    pins.write_text(f"w-2 {impostor}\n")
    (lab.hosts["w-3"].folder / "authorized_keys").write_text("")
    lab.fault("w-4", "join", "fail")
    lab.fault("w-5", "join", "drop")
    lab.fault("w-6", "join", "slow")
    lab.settings(slow_s=300)

    started = time.monotonic()
    report = cluster.bootstrap(address_overrides={"w-1": dead.address}, command_timeout=8.0)
    took = time.monotonic() - started

    errors = {host.name: f"{host.error} {host.hint}" for host in report.hosts if not host.ok}
    assert not report.ok and set(errors) == {"w-1", "w-2", "w-3", "w-4", "w-5", "w-6"}, errors
    assert f"cannot reach {dead.address}:22 after 2 attempts" in errors["w-1"]
    assert "does not match the key pinned" in errors["w-2"] and "ssh-keygen -R w-2" in errors["w-2"]
    assert "authentication as 'root'" in errors["w-3"] and "was refused" in errors["w-3"]
    assert "kubeadm join (worker) failed (exit 1)" in errors["w-4"] and "fails on demand" in errors["w-4"]
    assert "connection lost during kubeadm join (worker)" in errors["w-5"]
    assert "kubeadm join (worker) did not finish within 8s" in errors["w-6"]
    assert took < 120, f"a fault made the run hang ({took:.0f}s)"

    assert lab.completed("init") == {"cp-1": 1}
    assert lab.completed("join") == {"w-7": 1}
    assert report.kubeconfig is not None
    assert pins.read_text().startswith(f"w-2 {impostor}\n")  # a mismatch never re-pins


def _write_lock(lab: SshLab, **fields: object) -> None:
    info = {"owner": "someone@elsewhere", "machine": socket.gethostname(), "pid": 1, "run_id": "x" * 32,
            "started": time.time() - 100, "heartbeat": time.time(), **fields}  # fmt: skip
    text = shlex.quote(json.dumps(info))
    lab.hosts["cp-1"].in_mounts(
        f"mkdir -p /var/lib/clouder && printf %s {text} > /var/lib/clouder/bootstrap.lock"
    )


def test_lock_respects_a_live_owner_reports_a_stale_one_and_takes_over_from_the_dead(lab: SshLab) -> None:
    import os

    cluster = lab.cluster(1, 0, mode="direct")
    _write_lock(lab, pid=os.getpid())  # a live process on this machine, heartbeat fresh
    with pytest.raises(LockHeldError, match="another bootstrap is running"):
        cluster.bootstrap()
    assert lab.completed("init") == {}

    _write_lock(lab, machine="ci-runner-7", pid=4242, heartbeat=time.time() - 3600)
    with pytest.raises(LockHeldError, match="looks stale") as stale:
        cluster.bootstrap()
    assert "--break-lock" in stale.value.hint and "ci-runner-7" in str(stale.value)
    assert lab.completed("init") == {}
    broke = cluster.bootstrap(break_lock=True)
    assert broke.ok and lab.completed("init") == {"cp-1": 1}
    assert "ci-runner-7" in broke.notes[0]

    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    _write_lock(lab, pid=dead)  # its owner died on this machine: taken over, and said so
    report = cluster.bootstrap()
    assert report.ok and f"pid {dead}" in report.notes[0]
    assert lab.hosts["cp-1"].in_mounts("ls /var/lib/clouder").split().count("bootstrap.lock") == 0


def test_addresses_outside_the_lab_are_refused_before_dialling(lab: SshLab) -> None:
    cluster = lab.cluster(1, 1, mode="bastion")
    report = cluster.bootstrap(address_overrides={"w-1": ""})  # w-1 left at the contract's made-up address
    w1 = next(h for h in report.hosts if h.name == "w-1")
    assert not w1.ok and "refusing to dial w-1 at 10.0.16.11" in (w1.error or "")
    assert lab.completed("init") == {"cp-1": 1} and lab.completed("join") == {}

    report = cluster.bootstrap(address_overrides={"bastion": "", "w-1": "8.8.8.8"})
    assert all(not h.ok for h in report.hosts)
    assert all("refusing to dial" in (h.error or "") for h in report.hosts)


def test_waits_for_cloud_init_and_reports_its_errors_and_its_timeout(lab: SshLab) -> None:
    cluster = lab.cluster(1, 3, mode="direct")
    for name in ("w-1", "w-2", "w-3"):
        lab.hosts[name].in_mounts("rm -f /var/lib/cloud/instance/boot-finished")
    errors = json.dumps({"v1": {"errors": ["('scripts_user', RuntimeError('runparts: 1 failed'))"]}})
    lab.hosts["w-2"].in_mounts(f"mkdir -p /var/lib/cloud/data && printf %s {shlex.quote(errors)} > "
                               "/var/lib/cloud/data/result.json")  # fmt: skip

    def finish_booting() -> None:
        time.sleep(1.5)
        for name in ("w-1", "w-2"):
            lab.hosts[name].in_mounts("touch /var/lib/cloud/instance/boot-finished")

    booting = threading.Thread(target=finish_booting)
    booting.start()
    report = cluster.bootstrap(cloud_init_timeout=6.0)
    booting.join()
    by_name = {h.name: h for h in report.hosts}
    assert by_name["w-1"].ok and "wait-cloud-init" in by_name["w-1"].ran
    assert "cloud-init reported errors" in (by_name["w-2"].error or "")
    assert "runparts: 1 failed" in (by_name["w-2"].error or "")
    assert "cloud-init did not finish within 6s" in (by_name["w-3"].error or "")
    assert lab.completed("join") == {"w-1": 1}


def test_failed_first_control_plane_blocks_joins_and_a_rerun_recovers(lab: SshLab) -> None:
    cluster = lab.cluster(1, 2, mode="direct")
    lab.fault("cp-1", "init", "fail")
    report = cluster.bootstrap()
    errors = {h.name: h.error or "" for h in report.hosts}
    assert "kubeadm init failed (exit 1)" in errors["cp-1"]
    for worker in ("w-1", "w-2"):
        assert "join-workers not attempted: the first control plane cp-1 failed" in errors[worker]
    assert lab.completed("init") == {} and lab.completed("join") == {}

    (lab.registry / "faults.json").unlink()
    assert cluster.bootstrap().ok
    assert lab.completed("init") == {"cp-1": 1}
    assert lab.completed("join") == {"w-1": 1, "w-2": 1}


def test_a_second_run_is_refused_while_the_first_holds_the_lock_and_beats(lab: SshLab) -> None:
    cluster = lab.cluster(1, 1, mode="direct")
    lab.settings(init_s=5.0)  # the second run must reach the lock while the first still holds it
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(cluster.bootstrap()))
    first.start()
    read = "cat /var/lib/clouder/bootstrap.lock 2>/dev/null || true"
    beats: list[float] = []
    deadline = time.monotonic() + 30
    while first.is_alive() and time.monotonic() < deadline:
        text = lab.hosts["cp-1"].in_mounts(read)
        if text:
            beats.append(json.loads(text)["heartbeat"])
            if len(beats) == 1:
                with pytest.raises(LockHeldError, match="another bootstrap is running"):
                    cluster.bootstrap()
        time.sleep(0.3)
    first.join()
    assert len(set(beats)) >= 2 and beats == sorted(beats), beats  # the heartbeat moved on
    assert getattr(results[0], "ok", False)
    assert lab.hosts["cp-1"].in_mounts(read) == ""  # released
    assert lab.completed("init") == {"cp-1": 1}


def test_a_run_whose_lock_is_broken_stops_and_the_breaker_finishes(lab: SshLab) -> None:
    cluster = lab.cluster(1, 1, mode="direct")
    lab.settings(init_s=5.0)
    outcome: list[BaseException | object] = []

    def first_run() -> None:
        try:
            outcome.append(cluster.bootstrap())
        except LockHeldError as exc:
            outcome.append(exc)

    first = threading.Thread(target=first_run)
    first.start()
    deadline = time.monotonic() + 30
    while not lab.hosts["cp-1"].in_mounts("cat /var/lib/clouder/bootstrap.lock 2>/dev/null || true"):
        assert time.monotonic() < deadline and first.is_alive()
        time.sleep(0.2)
    breaker = cluster.bootstrap(break_lock=True)  # an operator who thought the first run was dead
    first.join()
    assert breaker.ok
    assert isinstance(outcome[0], LockHeldError) and "was taken over by" in str(outcome[0])
    assert lab.completed("init") == {"cp-1": 1} and lab.completed("join") == {"w-1": 1}

"""`clouder bootstrap` as a process: SIGKILLed at random points, re-run, every node set up exactly once;
and no secret (join token, certificate key, kubeconfig credentials) in any output."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clouder.events import read_events
from support.hosts import LabCluster, SshLab

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-c", "from clouder.cli import main; main()"]
KILLS = 20


def clouder(cluster: LabCluster, folder: Path, *extra: str) -> list[str]:
    return [*CLI, *cluster.cli_args(folder), *extra]


def env(folder: Path) -> dict[str, str]:
    return {**os.environ, "CLOUDER_WORK_DIR": str(folder / "work")}


def _cli(argv: list[str]) -> None:
    from clouder.cli.main import main

    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child is SIGKILLed; nothing to close
    main(argv)


def _finished_run(argv: list[str]) -> float:
    began = time.monotonic()
    run = multiprocessing.get_context("fork").Process(target=_cli, args=(argv,))
    run.start()
    run.join()
    assert run.exitcode == 0
    return time.monotonic() - began


def test_sigkill_at_random_points_then_rerun_sets_up_each_node_exactly_once(
    lab: SshLab, tmp_path: Path
) -> None:
    """Each victim is `clouder bootstrap` in a forked process (modules already imported, so every kill lands
    in real work rather than in Python's start-up); each re-run runs the same bootstrap in-process."""
    cluster = lab.cluster(1, 2, mode="bastion")
    argv = cluster.cli_args(tmp_path)
    journal = tmp_path / "work" / "lab" / "events.jsonl"
    lab.settings(init_s=0.3, join_s=0.3)
    assert cluster.bootstrap().ok
    # The kill window is the length of a victim's own run, measured on one left to finish: the first,
    # in-process bootstrap above pays one-time costs (imports, first SSH handshakes) a forked victim does not.
    lab.reset()
    lab.settings(init_s=0.3, join_s=0.3)
    work = _finished_run(argv)

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    killed_in: list[str] = []
    round_ = 0
    while len(killed_in) < KILLS:
        round_ += 1
        assert round_ <= 2 * KILLS, f"only {len(killed_in)} of {round_} runs were still going when killed"
        lab.reset()
        lab.settings(init_s=0.3, join_s=0.3)
        seen = len(read_events(journal))
        began = time.monotonic()
        victim = multiprocessing.get_context("fork").Process(target=_cli, args=(argv,))
        victim.start()
        time.sleep(rng.uniform(0.0, 0.9 * work))
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        victim.join()
        if victim.exitcode != -signal.SIGKILL:
            assert victim.exitcode == 0
            work = time.monotonic() - began  # it finished first: not a kill, and runs are this fast now
            continue
        last = read_events(journal)[seen:]
        killed_in.append(f"{last[-1].phase} {last[-1].outcome}" if last else "connect")
        rerun = cluster.bootstrap()
        context = f"seed {seed}, round {round_}, killed after '{killed_in[-1]}'"
        assert rerun.ok, f"{context}: {[h.error for h in rerun.hosts]}"
        assert lab.completed("init") == {"cp-1": 1}, context
        assert lab.completed("join") == {"w-1": 1, "w-2": 1}, context
    print(f"seed {seed}: killed after {sorted(set(killed_in))}")
    assert len({point.split()[0] for point in killed_in}) >= 3, (
        f"kills did not spread over the run: {killed_in}"
    )


def test_no_secret_reaches_stdout_stderr_events_or_errors(lab: SshLab, tmp_path: Path) -> None:
    cluster = lab.cluster(3, 2, mode="bastion")
    lab.fault("w-2", "join", "fail-verbose")  # kubeadm's error output echoes its config: token and all
    runs = [
        subprocess.run(
            clouder(cluster, tmp_path), env=env(tmp_path), capture_output=True, text=True, timeout=120
        ),
        subprocess.run(
            clouder(cluster, tmp_path, "-o", "json"),
            env=env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        ),
    ]
    for run in runs:
        assert run.returncode == 1, run.stderr
    report = json.loads(runs[1].stdout)
    w2 = next(h for h in report["hosts"] if h["name"] == "w-2")
    assert "<redacted>" in w2["error"] and "fails on demand" in w2["error"]
    assert lab.completed("join") == {"cp-2": 1, "cp-3": 1, "w-1": 1}

    state = lab.state()
    secrets = {
        *state["tokens"],
        state["cluster"]["cert_key"],
        state["admin_key"],
    }
    admin = (tmp_path / "work" / "lab" / "admin.conf").read_text()
    secrets |= {line.split(":", 1)[1].strip() for line in admin.splitlines() if "-data:" in line}
    assert len(secrets) >= 5
    places = {
        "stdout": "".join(run.stdout for run in runs),
        "stderr": "".join(run.stderr for run in runs),
        "events": (tmp_path / "work" / "lab" / "events.jsonl").read_text(),
    }
    assert "join-workers" in places["events"] and "w-2" in places["stderr"]
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:4]}…) leaked into {where}"

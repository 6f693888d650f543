"""Parallel joins: 1 control plane + 20 workers vs + 1 worker, the stand-in's join taking a fixed time.

Real sshd hosts in network namespaces (needs root), the stand-in kubeadm. Goal: the 20-worker join phase
takes at most 1.3x the 1-worker one + 2 s. Prints times and ratios, never asserts.
Usage: sudo python benchmarks/join_parallel.py [--workers 20] [--join-s 2.0] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def phase_span(events_file: Path, phase: str) -> float:
    from clouder.events import read_events

    stamps = [e.time for e in read_events(events_file) if e.phase == phase and e.outcome in ("start", "ok")]
    from datetime import datetime

    times = [datetime.fromisoformat(s).timestamp() for s in stamps]
    return max(times) - min(times)


def measure(lab: object, workers: int, join_s: float, work: Path) -> tuple[float, float]:
    from support.hosts import SshLab

    assert isinstance(lab, SshLab)
    lab.reset()
    lab.settings(join_s=join_s)
    os.environ["CLOUDER_WORK_DIR"] = str(work / f"w{workers}-{time.monotonic_ns()}")
    cluster = lab.cluster(1, workers, mode="direct")
    started = time.monotonic()
    report = cluster.bootstrap(command_timeout=120.0)
    total = time.monotonic() - started
    if not report.ok:
        raise SystemExit(f"bootstrap failed: {[h.error for h in report.hosts if h.error]}")
    joined = lab.completed("join")
    if len(joined) != workers or set(joined.values()) != {1}:
        raise SystemExit(f"expected {workers} joins exactly once, got {joined}")
    events = Path(os.environ["CLOUDER_WORK_DIR"]) / "lab" / "events.jsonl"
    return phase_span(events, "join-workers"), total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--join-s", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces, sshd)")

    from support.hosts import open_lab

    with tempfile.TemporaryDirectory() as folder, open_lab(Path(folder) / "lab") as lab:
        lab.cluster(1, args.workers, mode="direct")  # start every sshd before timing anything
        one = [measure(lab, 1, args.join_s, Path(folder)) for _ in range(args.runs)]
        many = [measure(lab, args.workers, args.join_s, Path(folder)) for _ in range(args.runs)]
    join_1 = statistics.median(j for j, _ in one)
    join_n = statistics.median(j for j, _ in many)
    total_1 = statistics.median(t for _, t in one)
    total_n = statistics.median(t for _, t in many)
    goal = 1.3 * join_1 + 2.0
    print(f"stand-in join time: {args.join_s:.1f}s, runs: {args.runs}, cores: {os.cpu_count()}")
    verdict = "met" if join_n <= goal else "MISSED"
    print(f"join-workers phase:  1 worker {join_1:6.2f}s | {args.workers} workers {join_n:6.2f}s | "
          f"ratio {join_n / join_1:.2f}x | goal <= 1.3x + 2s = {goal:.2f}s: {verdict}")  # fmt: skip
    print(f"whole bootstrap:     1 worker {total_1:6.2f}s | {args.workers} workers {total_n:6.2f}s | "
          f"ratio {total_n / total_1:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()

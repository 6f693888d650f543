"""Terraform's guard process: exactly one interrupt when Clouder dies, even a Clouder with busy threads
(the kernel's parent-death signal alone fires once per dying parent thread: measured 2-3 SIGINTs, and
Terraform aborts without writing state on the second). Real processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from clouder.terraform.runner import _start_guarded

# Stands in for Terraform: notes every SIGINT it gets, then exits 3.
COUNTER = """
import signal, sys, time
out = sys.argv[1]
def noted(signum, frame):
    with open(out, "a") as f:
        f.write("INT\\n")
signal.signal(signal.SIGINT, noted)
open(out + ".ready", "w").close()
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    time.sleep(0.05)
sys.exit(3)
"""

# Stands in for Clouder: busy threads (as while it streams a plan), starts the counter under the guard.
CLOUDER = """
import sys, threading, time
from clouder.terraform.runner import _start_guarded
def busy():
    while True:
        pass
for _ in range(3):
    threading.Thread(target=busy, daemon=True).start()
for _ in range(3):
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
proc, pid = _start_guarded([sys.executable, sys.argv[1], sys.argv[2], "5"], stdout=None, stderr=None)
print(pid, flush=True)
time.sleep(60)
"""


def _wait(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_multithreaded_clouder_interrupts_terraform_exactly_once(tmp_path: Path) -> None:
    counter = tmp_path / "counter.py"
    counter.write_text(COUNTER)
    for attempt in range(5):
        notes = tmp_path / f"signals-{attempt}"
        clouder = subprocess.Popen(
            [sys.executable, "-c", CLOUDER, str(counter), str(notes)], stdout=subprocess.PIPE, text=True
        )
        assert clouder.stdout is not None
        terraform = int(clouder.stdout.readline())
        _wait(Path(f"{notes}.ready"))
        clouder.kill()
        clouder.wait()
        assert _gone(terraform), "the stand-in Terraform should stop after its interrupt window"
        assert notes.read_text().splitlines() == ["INT"], f"attempt {attempt}"


def test_interrupts_forwarded_one_for_one_and_exit_status_passed_through(tmp_path: Path) -> None:
    counter = tmp_path / "counter.py"
    counter.write_text(COUNTER)
    notes = tmp_path / "signals"
    proc, pid = _start_guarded([sys.executable, str(counter), str(notes), "2"], stdout=None, stderr=None)
    _wait(Path(f"{notes}.ready"))
    assert pid != proc.pid
    proc.send_signal(signal.SIGINT)  # what Clouder does on Ctrl-C, and again on a second Ctrl-C
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 3
    assert notes.read_text().splitlines() == ["INT", "INT"]

    killed = tmp_path / "killed"
    proc, pid = _start_guarded([sys.executable, str(counter), str(killed), "30"], stdout=None, stderr=None)
    _wait(Path(f"{killed}.ready"))
    os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=20) == -signal.SIGKILL, "a killed Terraform looks killed to Clouder"

"""Run one Terraform command: stream its JSON messages, keep the full log, forward interrupts.

Terraform runs in its own session so that a terminal's Ctrl-C reaches Clouder only; Clouder then sends
Terraform exactly one SIGINT (two would make Terraform abort without writing state). If Clouder itself
dies, Terraform still gets exactly one SIGINT, through a small single-threaded guard process between
them (``guard.py``: the kernel's parent-death signal alone fired once per dying Clouder thread).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from clouder.errors import ClouderError
from clouder.events import Redactor
from clouder.processes import pid_alive
from clouder.workdir import open_private

Message = dict[str, Any]
GUARD = Path(__file__).with_name("guard.py")


@dataclass
class RunResult:
    args: list[str]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    messages: list[Message] = field(default_factory=list)
    interrupted: bool = False
    pid: int = 0

    def diagnostics(self, severity: str = "error") -> list[Message]:
        return [
            m["diagnostic"]
            for m in self.messages
            if m.get("type") == "diagnostic" and m.get("diagnostic", {}).get("severity") == severity
        ]

    def error_text(self) -> str:
        found = [f"{d.get('summary', '')}: {d.get('detail', '')}".strip(": ") for d in self.diagnostics()]
        if found:
            return "\n".join(found)
        return "\n".join((self.stderr or self.stdout).strip().splitlines()[-15:])


@dataclass
class Runner:
    """Runs ``binary -chdir=ROOT ARGS`` with ``env``; appends everything to ``log``."""

    binary: str
    root: Path
    log: Path
    env: dict[str, str]
    redactor: Redactor = field(default_factory=Redactor)
    on_start: Callable[[int], None] | None = None

    def run(
        self,
        args: Sequence[str],
        on_message: Callable[[Message], None] | None = None,
        capture: bool = False,
    ) -> RunResult:
        """Run and wait. With ``capture`` stdout is returned whole (``show -json``, ``output -json``).

        Otherwise Terraform writes to a file that Clouder follows, never to a pipe: if Clouder dies, a pipe
        would break and kill Terraform by SIGPIPE mid-apply instead of letting it stop cleanly.
        """
        command = [self.binary, f"-chdir={self.root}", *args]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(open_private(self.log), "a", encoding="utf-8") as log:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log.write(f"\n=== {stamp} {' '.join(command[1:])}\n")
            log.flush()
            raw = self.log.parent / f".terraform-{uuid.uuid4().hex[:12]}.out"
            exclusive = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(raw, exclusive, 0o600), "w", encoding="utf-8") as sink:
                proc, terraform_pid = _start_guarded(
                    command,
                    cwd=self.root,
                    env=self.env,
                    stdout=subprocess.PIPE if capture else sink,
                    stderr=subprocess.PIPE if capture else subprocess.STDOUT,
                )
            if self.on_start is not None:
                self.on_start(terraform_pid)
            result = RunResult(args=list(args), returncode=-1, pid=terraform_pid)
            with _forward_interrupts(proc, result):
                if capture:
                    out, err = proc.communicate()
                    result.stdout, result.stderr = out, err
                    log.write(self.redactor.redact(err))
                    log.write(f"[{len(out)} bytes of output captured]\n")
                else:
                    result.stdout = self._follow(proc, raw, log, result, on_message)
            raw.unlink(missing_ok=True)
            result.returncode = proc.returncode
            log.write(f"=== exit {proc.returncode}{' (interrupted)' if result.interrupted else ''}\n")
        return result

    def _follow(
        self,
        proc: subprocess.Popen[str],
        raw: Path,
        log: Any,
        result: RunResult,
        on_message: Callable[[Message], None] | None,
    ) -> str:
        text: list[str] = []
        with raw.open(encoding="utf-8", errors="replace") as source:
            pending = ""
            while True:
                finished = proc.poll() is not None
                chunk = source.read()
                pending += chunk
                *lines, pending = pending.split("\n")
                for line in lines:
                    self._line(line + "\n", log, result, on_message, text)
                if finished and not chunk:
                    break
                if not chunk:
                    time.sleep(0.05)
            if pending:
                self._line(pending + "\n", log, result, on_message, text)
        return "".join(text)

    def _line(
        self,
        line: str,
        log: Any,
        result: RunResult,
        on_message: Callable[[Message], None] | None,
        text: list[str],
    ) -> None:
        clean = self.redactor.redact(line)
        log.write(clean)
        log.flush()
        message = _json_line(clean)
        if message is None:
            text.append(clean)
            return
        result.messages.append(message)
        text.append(str(message.get("@message", "")) + "\n")
        if on_message is not None:
            on_message(message)


def _json_line(line: str) -> Message | None:
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _start_guarded(command: list[str], **popen: Any) -> tuple[subprocess.Popen[str], int]:
    """Terraform under ``guard.py`` (one interrupt when Clouder dies); the guard and Terraform's PID."""
    read_end, write_end = os.pipe()
    try:
        guard = [sys.executable, "-I", "-S", str(GUARD), str(os.getpid()), str(write_end), *command]
        proc = subprocess.Popen(
            guard, text=True, stdin=subprocess.DEVNULL, start_new_session=True, pass_fds=(write_end,),
            umask=0o077, **popen,
        )  # fmt: skip
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as told:
        line = told.readline().strip()
    if not line:
        proc.wait()
        raise ClouderError(f"could not start {command[0]} (exit {proc.returncode}).")
    return proc, int(line)


@contextmanager
def _forward_interrupts(proc: subprocess.Popen[str], result: RunResult) -> Iterator[None]:
    """While Terraform runs, SIGINT/SIGTERM to Clouder become one SIGINT to Terraform each."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, frame: FrameType | None) -> None:
        result.interrupted = True
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until process ``pid`` has exited; True if it did within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.5)
    return not pid_alive(pid)

"""State locks: who holds one, whether that holder is provably gone, and the records that prove it.

Terraform names a lock's holder only as ``user@host`` with a creation time. Clouder adds a run record
per Terraform process it starts (``runs/<pid>.json`` in the work folder: Clouder's and Terraform's pid,
host, start time), removed when Terraform exits. A lock created on this host after a recorded run started,
whose Terraform process is dead, was left by a killed run: that holder is provably gone. Anything else is
reported, never cleared without an explicit ``--force-unlock ID``.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from clouder.errors import ClouderError
from clouder.terraform.runner import pid_alive

LOCK_SUMMARY = "Error acquiring the state lock"


@dataclass(frozen=True)
class LockInfo:
    id: str
    who: str
    operation: str
    created: str
    path: str = ""
    version: str = ""

    def describe(self) -> str:
        return f"lock {self.id} held by {self.who} ({self.operation}, since {self.created})"

    def created_epoch(self) -> float | None:
        match = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? \+0000", self.created)
        if not match:
            return None
        return datetime.strptime(match[1] + " +0000", "%Y-%m-%d %H:%M:%S %z").timestamp()


@dataclass(frozen=True)
class RunRecord:
    clouder_pid: int
    terraform_pid: int
    host: str
    who: str
    started: float
    command: str


class StateLockedError(ClouderError):
    def __init__(self, lock: LockInfo, why: str, hint: str) -> None:
        super().__init__(f"The Terraform state is locked: {lock.describe()}. {why}".strip(), hint)
        self.lock = lock


def parse_lock_info(text: str) -> LockInfo | None:
    if LOCK_SUMMARY not in text and "Lock Info:" not in text:
        return None
    fields = dict(re.findall(r"^\s*(ID|Path|Operation|Who|Version|Created):\s*(.*?)\s*$", text, re.M))
    if "ID" not in fields:
        return None
    return LockInfo(
        id=fields["ID"],
        who=fields.get("Who", "?"),
        operation=fields.get("Operation", "?"),
        created=fields.get("Created", "?"),
        path=fields.get("Path", ""),
        version=fields.get("Version", ""),
    )


def this_holder() -> str:
    """The ``user@host`` Terraform writes into locks it takes from this process."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


class RunRecords:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def start(self, terraform_pid: int, command: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        record = RunRecord(
            os.getpid(), terraform_pid, socket.gethostname(), this_holder(), time.time(), command
        )
        path = self.folder / f"{terraform_pid}.json"
        path.write_text(json.dumps(asdict(record)), encoding="utf-8")
        return path

    def finish(self, terraform_pid: int) -> None:
        (self.folder / f"{terraform_pid}.json").unlink(missing_ok=True)

    def all(self) -> list[RunRecord]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                found.append(RunRecord(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                continue
        return found

    def holder_of(self, lock: LockInfo) -> RunRecord | None:
        """The recorded run on this host that most plausibly took ``lock``."""
        if lock.who != this_holder():
            return None
        created = lock.created_epoch()
        candidates = [r for r in self.all() if created is None or r.started <= created + 1]
        return max(candidates, key=lambda r: r.started, default=None)

    def prune(self) -> None:
        for record in self.all():
            if not pid_alive(record.terraform_pid):
                self.finish(record.terraform_pid)


def verdict(records: RunRecords, lock: LockInfo) -> tuple[str, RunRecord | None]:
    """``gone`` (safe to clear), ``orphan`` (Terraform whose Clouder died: wait), ``alive`` or ``unknown``."""
    record = records.holder_of(lock)
    if record is None:
        return "unknown", None
    if not pid_alive(record.terraform_pid):
        return "gone", record
    if not pid_alive(record.clouder_pid):
        return "orphan", record
    return "alive", record

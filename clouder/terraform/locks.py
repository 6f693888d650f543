"""State locks: who holds one, whether that holder is provably gone, and the records that prove it.

Terraform names a lock's holder only as ``user@host`` with a creation time. Clouder adds a run record
per Terraform process it starts (``runs/<pid>.json`` in the work folder: Clouder's and Terraform's pid,
host, start time), removed when Terraform ends its run itself (and so releases its lock). See ``verdict``
for when a holder is provably gone; anything else is reported, and cleared only with ``--force-unlock ID``.
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
from clouder.processes import pid_alive
from clouder.workdir import private_dir, write_private

LOCK_SUMMARY = "Error acquiring the state lock"
TAKE_WINDOW_S = 300.0  # Terraform takes the state lock at the start of a run


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
        private_dir(self.folder)
        record = RunRecord(
            os.getpid(), terraform_pid, socket.gethostname(), this_holder(), time.time(), command
        )
        path = self.folder / f"{terraform_pid}.json"
        return write_private(path, json.dumps(asdict(record)))

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
        candidates = [r for r in self.all() if created is not None and r.started <= created + 1]
        return max(candidates, key=lambda r: r.started, default=None)

    def orphaned(self) -> list[RunRecord]:
        """Terraform processes still running after the Clouder that started them died."""
        return [r for r in self.all() if pid_alive(r.terraform_pid) and not pid_alive(r.clouder_pid)]


def verdict(records: RunRecords, lock: LockInfo, root: Path) -> tuple[str, RunRecord | None]:
    """``gone`` (safe to clear), ``orphan`` (Terraform whose Clouder died: wait), ``alive`` or ``unknown``.

    ``gone`` needs all of: the lock was taken on this host within ``TAKE_WINDOW_S`` of a recorded run's
    start, that run's Terraform is dead, and no other live Terraform on this host that started before the
    lock was created works on the same state (one of those could be the real holder).
    """
    record = records.holder_of(lock)
    if record is None:
        return "unknown", None
    if pid_alive(record.terraform_pid):
        return ("alive" if pid_alive(record.clouder_pid) else "orphan"), record
    created = lock.created_epoch()
    if created is None or created - record.started > TAKE_WINDOW_S:
        return "unknown", record
    ours = state_identity(root)
    if any(ours is None or _identity_of(pid) in (None, ours) for pid in terraforms_started_before(created)):
        return "unknown", record
    return "gone", record


def state_identity(root: Path, data_dir: Path | None = None) -> str | None:
    """Which state a Terraform root works on: its initialised backend's type and location."""
    try:
        document = json.loads(((data_dir or root / ".terraform") / "terraform.tfstate").read_text())
    except (OSError, ValueError):
        return None
    backend = document.get("backend") or {}
    config = backend.get("config") or {}
    where = [config.get(k) for k in ("path", "bucket", "key", "storage_account_name", "container_name")]
    return json.dumps([backend.get("type"), where])


def _identity_of(pid: int) -> str | None:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None
    root = next((Path(a.removeprefix("-chdir=")) for a in args if a.startswith("-chdir=")), cwd)
    root = root if root.is_absolute() else cwd / root
    data = next((e.removeprefix("TF_DATA_DIR=") for e in environ if e.startswith("TF_DATA_DIR=")), None)
    found = state_identity(root, Path(data) if data else None)
    # An uninitialised root works on the default local state, which cannot be a remote state's lock.
    return found or json.dumps(["local", [str(root / "terraform.tfstate"), None, None, None, None]])


def terraforms_started_before(epoch: float) -> list[int]:
    """Live terraform/tofu processes on this host that started before ``epoch`` (Linux /proc)."""
    try:
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration):
        return [0]  # cannot look: assume one might hold the lock
    ticks = os.sysconf("SC_CLK_TCK")
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        if name in ("terraform", "tofu") and fields[0] != "Z" and boot + int(fields[19]) / ticks <= epoch + 1:
            found.append(int(stat.parent.name))
    return found

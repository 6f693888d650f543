"""One operator at a time: a lock file on the first control plane with owner, pid and a heartbeat.

A lock whose owner ran on this machine and whose process is gone is taken over (and reported). Any other
lock is respected: a fresh heartbeat means "busy", an old one is reported as stale with how to clear it;
it is never stolen silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import hashlib
import json
import os
import shlex
import socket
import time
import uuid
from dataclasses import asdict, dataclass

from clouder.errors import ClouderError
from clouder.hosts.ssh import HostSession, SshPool
from clouder.outputs import Node
from clouder.processes import pid_alive


class LockHeldError(ClouderError):
    pass


@dataclass(frozen=True)
class LockInfo:
    owner: str
    machine: str
    pid: int
    run_id: str
    started: float
    heartbeat: float

    def text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def describe(self) -> str:
        age = time.time() - self.heartbeat
        return f"{self.owner} (pid {self.pid} on {self.machine}, last heartbeat {age:.0f}s ago)"


def _mine(run_id: str, started: float) -> LockInfo:
    return LockInfo(
        owner=f"{getpass.getuser()}@{socket.gethostname()}",
        machine=socket.gethostname(),
        pid=os.getpid(),
        run_id=run_id,
        started=started,
        heartbeat=time.time(),
    )


def _guarded(path: str, script: str) -> str:
    """``script`` under an flock on the lock's guard file, so heartbeat and release never interleave."""
    return f"( flock 9; {script} ) 9>{path}.guard"


class RemoteLock:
    def __init__(
        self, pool: SshPool, node: Node, state_dir: str, heartbeat_s: float, stale_after_s: float
    ) -> None:
        self.pool = pool
        self.node = node
        self.path = f"{state_dir}/bootstrap.lock"
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.run_id = uuid.uuid4().hex
        self.started = time.time()
        self.took_over: LockInfo | None = None
        self.lost_to: str | None = None
        self._beat: asyncio.Task[None] | None = None
        self._released = False

    async def _shell(self) -> HostSession:
        """A fresh session each time: the lock outlives a dropped connection."""
        return await self.pool.session(self.node)

    async def acquire(self, break_lock: bool = False) -> None:
        path = shlex.quote(self.path)
        mine = _mine(self.run_id, self.started).text()
        script = (
            f'mkdir -p "$(dirname {path})" && if (set -C; cat > {path}) 2>/dev/null; '
            f"then echo ACQUIRED; else echo HELD; cat {path}; fi"
        )
        result = await (await self._shell()).run(script, label="take the bootstrap lock", input=mine + "\n")
        head, _, rest = result.stdout.partition("\n")
        if head.strip() != "ACQUIRED":
            holder = self._parse(rest)
            self._judge(holder, rest, break_lock)
            await self._replace(rest, mine)
            self.took_over = holder
        self._beat = asyncio.create_task(self._heartbeat())

    def _parse(self, text: str) -> LockInfo | None:
        try:
            return LockInfo(**json.loads(text))
        except (ValueError, TypeError):
            return None

    def _judge(self, holder: LockInfo | None, raw: str, break_lock: bool) -> None:
        if break_lock or holder is None:
            return
        if holder.machine == socket.gethostname() and not pid_alive(holder.pid):
            return  # its owner died on this machine: safe to take over
        where = f"{self.node.name}:{self.path}"
        if time.time() - holder.heartbeat > self.stale_after_s:
            raise LockHeldError(
                f"the bootstrap lock {where} looks stale: held by {holder.describe()}.",
                "If no Clouder run is active for this cluster any more, run again with --break-lock.",
            )
        raise LockHeldError(
            f"another bootstrap is running: the lock {where} is held by {holder.describe()}.",
            "Wait for it to finish.",
        )

    async def _replace(self, expected: str, mine: str) -> None:
        """Swap the lock only if it still holds what we judged (compare and swap by checksum)."""
        digest = hashlib.sha256(expected.encode()).hexdigest()
        path = shlex.quote(self.path)
        script = (
            f'[ "$(sha256sum < {path} | cut -d" " -f1)" = {digest} ] '
            f"&& cat > {path}.new && mv {path}.new {path}"
        )
        check = await (await self._shell()).run(
            script, label="take over the bootstrap lock", input=mine + "\n", check=False
        )
        if check.exit_status != 0:
            raise LockHeldError(f"the bootstrap lock on {self.node.name} changed hands while taking it over.")

    async def _heartbeat(self) -> None:
        path = shlex.quote(self.path)
        # under the guard: a beat still in flight when release() runs cannot write the lock back afterwards
        script = _guarded(
            path,
            f"if grep -q {self.run_id} {path}; then cat > {path}.new && mv {path}.new {path} && echo OURS; "
            f"else cat {path} 2>/dev/null; fi",
        )
        while self.lost_to is None and not self._released:
            await asyncio.sleep(self.heartbeat_s)
            beat = _mine(self.run_id, self.started).text()
            with contextlib.suppress(ClouderError):
                result = await (await self._shell()).run(
                    script,
                    label="lock heartbeat",
                    input=beat + "\n",
                    check=False,
                    timeout=max(self.heartbeat_s, 5.0),
                )
                if result.exit_status == 0 and result.stdout.strip() != "OURS":
                    holder = self._parse(result.stdout)
                    self.lost_to = (
                        holder.describe() if holder is not None else "nobody (the lock file was removed)"
                    )

    def check(self) -> None:
        """Raise if another run took the lock over (e.g. with --break-lock) while this one was working."""
        if self.lost_to is not None:
            raise LockHeldError(
                f"the bootstrap lock on {self.node.name} was taken over by {self.lost_to}; "
                "this run stops here.",
                "Let the other run finish; run again afterwards if needed.",
            )

    async def release(self) -> None:
        # The flag, not only the cancel: Python 3.11's wait_for (under asyncssh's run(timeout=...)) drops a
        # cancel that arrives as the command finishes, and the beat would go on, with release awaiting it.
        self._released = True
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.wait({self._beat}, timeout=self.heartbeat_s + max(self.heartbeat_s, 5.0))
        path = shlex.quote(self.path)
        with contextlib.suppress(ClouderError):
            await (await self._shell()).run(
                _guarded(path, f"grep -q {self.run_id} {path} && rm -f {path}"),
                label="release the bootstrap lock",
                check=False,
            )

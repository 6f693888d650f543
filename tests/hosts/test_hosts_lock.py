"""The bootstrap lock's release never waits on a heartbeat that missed its cancel."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

from clouder.hosts.lock import RemoteLock
from clouder.hosts.ssh import SshPool
from clouder.outputs import Node


@dataclass
class Result:
    stdout: str
    exit_status: int = 0


class SwallowingSession:
    """A heartbeat command that finishes just as it is cancelled: Python 3.11's ``asyncio.wait_for`` (which
    asyncssh's ``run(timeout=...)`` uses) then returns the result and the cancel is lost. Found as a bootstrap
    that finished every phase, then hung in the lock's release while the heartbeat beat on."""

    def __init__(self) -> None:
        self.beats = 0
        self.in_beat = asyncio.Event()
        self.swallowed = False

    async def run(self, script: str, label: str, **_: Any) -> Result:
        if label == "lock heartbeat":
            self.beats += 1
            self.in_beat.set()
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                if self.swallowed:
                    raise
                self.swallowed = True  # the one race; a later cancel goes through
            self.in_beat.clear()
            return Result("OURS\n")
        return Result("ACQUIRED\n")


class Pool:
    def __init__(self) -> None:
        self.shell = SwallowingSession()

    async def session(self, node: Node) -> SwallowingSession:
        return self.shell


def test_release_returns_even_when_the_heartbeat_swallows_its_cancel() -> None:
    async def scenario() -> tuple[bool, int]:
        pool = Pool()
        node = Node(name="cp-1", role="control-plane", pool="control-plane", private_ip="10.0.0.10",
                    provider_id="aws:///us-east-1a/i-0123456789abcdef0")  # fmt: skip
        lock = RemoteLock(cast(SshPool, pool), node, "/var/lib/clouder", heartbeat_s=0.01, stale_after_s=60)
        await lock.acquire()
        while pool.shell.beats < 3:
            await asyncio.sleep(0.001)
        await pool.shell.in_beat.wait()  # release while a beat is in flight: its cancel is the one lost
        release = asyncio.create_task(lock.release())
        done, _ = await asyncio.wait({release}, timeout=5)  # a liveness bound, far above a beat
        if release not in done:  # clean up what the bug left running
            release.cancel()
            assert lock._beat is not None
            lock._beat.cancel()
            await asyncio.gather(release, lock._beat, return_exceptions=True)
        beats = pool.shell.beats
        await asyncio.sleep(0.2)
        return release in done, pool.shell.beats - beats

    returned, later_beats = asyncio.run(scenario())
    assert returned, "release() waited on a heartbeat that never stopped"
    assert later_beats == 0, "the heartbeat went on after release"

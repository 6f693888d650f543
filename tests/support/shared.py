"""What the test run's parallel workers (pytest-xdist) share, and the lock that makes sharing safe.

Each worker is its own pytest session: session fixtures run once per worker. What is costly to build and
only read afterwards (synthesized stacks) is built once per *run* with ``build_once``: the first worker
builds it under a file lock in the run's shared folder, the others wait and read it. Without xdist the
shared folder is the session's own temporary folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DONE = ".built"


def worker() -> str:
    """This worker's name (``gw0`` …), or ``main`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every worker of this run sees (xdist gives each worker a sub-folder of it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing); released when the block ends or the
    holder dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name`` in the run's shared folder, built by ``build(folder)`` by the first worker that
    asks; a build that failed is retried by the next worker (and fails that worker's tests too)."""
    folder = run_folder(tmp_path_factory) / f"shared-{name}"
    with file_lock(folder.with_suffix(".lock")):
        if not (folder / DONE).exists():
            if folder.exists():
                import shutil

                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            build(folder)
            (folder / DONE).touch()
    return folder

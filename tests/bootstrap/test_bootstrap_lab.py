"""The test-host lab cleans up after crashed runs: namespaces and links of dead owners go, live ones stay."""

from __future__ import annotations

import os
import subprocess

import pytest

from support.hosts import BASE, clean_leftovers, lab_supported, sh


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.e2e
def test_leftovers_of_crashed_runs_are_removed_and_live_runs_kept() -> None:
    lab_supported()
    dead, live = f"{BASE}{_dead_pid():x}", f"{BASE}{os.getpid():x}"
    made = [f"{dead}-cp-1", f"{live}-keep"]
    try:
        for netns in made:
            sh("ip", "netns", "add", netns)
        sh("ip", "link", "add", f"{dead}-br", "type", "bridge")
        clean_leftovers()
        namespaces = sh("ip", "netns", "list").stdout
        links = sh("ip", "-o", "link", "show").stdout
        assert f"{dead}-cp-1" not in namespaces and f"{dead}-br" not in links
        assert f"{live}-keep" in namespaces
    finally:
        for netns in made:
            sh("ip", "netns", "del", netns, check=False)
        sh("ip", "link", "del", f"{dead}-br", check=False)

"""What synthesis prints around the CDK runtime: no jsii banners, one note about an unsupported Node.js, the
next command; and without the ``cdk`` extra, the extra to install (exit 2) instead of a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clouder.synth.runtime import SUPPORTED_NODE, node_major
from support.parts import require_binary

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "aws-minimal.yaml"
WITHOUT_CDK = "import sys; sys.modules['cdktf'] = None; from clouder.cli import main; main()"


def _clouder(code: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=900)  # fmt: skip


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "CLOUDER_WORK_DIR": str(tmp_path / "work")}
    for name in [n for n in env if n.startswith("JSII_SILENCE_WARNING")]:
        del env[name]  # as on a user's machine: nothing silenced beforehand
    return env


def test_supported_node_versions_are_the_pinned_jsii_runtimes() -> None:
    """The versions Clouder names are the ones the installed jsii runtime supports today (its NodeRelease
    table: end of jsii support = end of life + 6 months unless stated; untested releases never count)."""
    import jsii

    runtime = Path(jsii.__file__).parent / "_embedded" / "jsii" / "bin__jsii-runtime.js"
    table = re.findall(r"new NodeRelease\((\d+),\{([^}]*)\}\)", runtime.read_text(encoding="utf-8"))
    assert table, "jsii's NodeRelease table not found"
    now = datetime.now(UTC)
    supported = []
    for major, options in table:
        if "untested:!0" in options:
            continue
        dates = dict(re.findall(r'(endOfLife|endOfJsiiSupport):new Date\("([\d-]+)"\)', options))
        end = datetime.fromisoformat(dates["endOfLife"]).replace(tzinfo=UTC)
        month = end.month + 6
        support_end = (
            datetime.fromisoformat(dates["endOfJsiiSupport"]).replace(tzinfo=UTC)
            if ("endOfJsiiSupport" in dates)
            else end.replace(year=end.year + (month - 1) // 12, month=(month - 1) % 12 + 1)
        )
        if support_end > now:
            supported.append(int(major))
    assert tuple(sorted(supported)) == SUPPORTED_NODE
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert " or ".join(f"{v}" for v in SUPPORTED_NODE) in readme or all(f"Node.js {v}" in readme for v in
                                                                         SUPPORTED_NODE)  # fmt: skip


@pytest.mark.e2e
def test_synth_prints_no_jsii_banner_and_points_at_clouder_plan(tmp_path: Path) -> None:
    node = require_binary("node", "Install Node.js 22 or 24.")
    result = _clouder("from clouder.cli import main; main()", "synth", str(EXAMPLE), env=_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "!!!" not in result.stderr and "b'" not in result.stderr, result.stderr[:2000]
    notes = [line for line in result.stderr.splitlines() if line.strip()]
    major = node_major(node)
    if major in SUPPORTED_NODE:
        assert notes == []
    else:
        assert len(notes) == 1 and f"Node.js {major} is not one the CDK runtime (jsii) supports" in notes[0]
    assert f"next: `clouder plan {EXAMPLE}`" in result.stdout
    assert "terraform -chdir" not in result.stdout


@pytest.mark.parametrize("command", ["synth", "plan"])
def test_without_the_cdk_extra_synth_and_plan_name_the_extra(tmp_path: Path, command: str) -> None:
    result = _clouder(WITHOUT_CDK, command, str(EXAMPLE), env=_env(tmp_path))
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "pip install 'clouder[cdk]'" in result.stderr and "missing: cdktf" in result.stderr
    json_result = _clouder(WITHOUT_CDK, command, str(EXAMPLE), "-o", "json", env=_env(tmp_path))
    assert json_result.returncode == 2 and "clouder[cdk]" in json.loads(json_result.stdout)["hint"]

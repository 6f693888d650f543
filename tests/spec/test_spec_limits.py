"""No input crashes or hangs `clouder validate`: bytes, depth and aliases are bounded; options go anywhere."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from clouder.spec.yamlread import MAX_BYTES
from support.cli import clouder_executable, run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aws-minimal.yaml"


def test_a_stream_past_the_limit_is_refused_after_reading_only_the_limit() -> None:
    # 20 MB from a pipe: the whole stream must not be read (it took 90 s and 1.2 GB before).
    proc = subprocess.run(
        [*clouder_executable(), "validate", "/dev/stdin"],
        input=b"a: b\n" * (20_000_000 // 5),
        capture_output=True,
        timeout=60,
        env=os.environ,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.decode().startswith(f"error: /dev/stdin is larger than {MAX_BYTES // 1024} KiB")


def test_a_spec_from_process_substitution_is_read_like_a_file() -> None:
    script = f'exec "$@" validate <(cat {EXAMPLE})'
    proc = subprocess.run(
        ["bash", "-c", script, "bash", *clouder_executable()], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "valid — cluster demo-aws" in proc.stdout


def test_an_unreadable_path_gets_the_error_format_and_json() -> None:
    name = "x" * 300  # longer than a file name may be: open() fails with ENAMETOOLONG
    text = run("validate", name)
    assert text.code == 2 and text.stdout == ""
    assert text.stderr.startswith(f"error: {name}: cannot read (File name too long)."), text.stderr
    for args in (("-o", "json", "validate", name), ("validate", name, "-o", "json")):
        result = run(*args)
        assert result.code == 2 and result.stderr == "", result.stderr
        report = result.json()
        assert report["ok"] is False and "cannot read" in report["error"]


def test_verbose_works_before_and_after_the_command() -> None:
    for args in (("-v", "validate", str(EXAMPLE)), ("validate", str(EXAMPLE), "-v")):
        result = run(*args)
        assert result.code == 0, result.stderr
        assert "# the spec as Clouder reads it, defaults filled in:" in result.stdout

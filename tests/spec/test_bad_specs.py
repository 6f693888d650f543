"""Every wrong spec in the corpus exits 2 with a clear error naming the field (and line), no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from clouder.errors import BadInputError, InvalidDocumentError
from clouder.spec import load_spec
from support.cli import run

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad-specs"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "EXPECTED.yaml").read_text())


def test_corpus_is_large_and_fully_described() -> None:
    on_disk = {path.name for path in CORPUS.iterdir() if path.name != "EXPECTED.yaml"}
    assert on_disk == set(EXPECTED), "every bad spec needs an expectation and vice versa"
    assert len(EXPECTED) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_spec_is_refused_naming_the_field(name: str) -> None:
    expected = EXPECTED[name]
    spec = CORPUS / name
    text = run("validate", str(spec))
    assert text.code == 2, text.stdout + text.stderr
    assert "Traceback" not in text.stderr + text.stdout
    assert text.stdout == ""
    assert text.stderr.startswith("error: "), text.stderr
    assert str(spec) in text.stderr
    problems = _problems(spec)
    if expected["path"]:
        matches = [p for p in problems if p["path"] == expected["path"]]
        assert matches, f"no problem names {expected['path']!r}: {problems}"
        if expected["line"] is not None:
            assert expected["line"] in [p["line"] for p in matches]
        assert f"{expected['path']}: " in text.stderr
    else:
        assert all(p["path"] == "" for p in problems)
    if expected["line"] is not None:
        assert f"{spec}:{expected['line']}: " in text.stderr
    for problem in problems:
        assert problem["message"], problem


def _problems(spec: Path) -> list[dict[str, Any]]:
    """The findings `clouder -o json validate` reports (in-process here; the CLI path is asserted below)."""
    try:
        load_spec(spec, check_files=True)
    except InvalidDocumentError as error:
        return [problem.as_dict() for problem in error.problems]
    except BadInputError:
        return []
    raise AssertionError(f"{spec} was accepted")


def test_json_mode_reports_problems_for_machines() -> None:
    result = run("-o", "json", "validate", str(CORPUS / "world-open-admin.yaml"))
    assert result.code == 2 and result.stderr == ""
    report = result.json()
    assert report["ok"] is False
    assert report["problems"] == _problems(CORPUS / "world-open-admin.yaml")

"""The shared upstream facts (``shared/upstream/``, beside the repository or one of its parents)."""

from __future__ import annotations

from pathlib import Path

from support.parts import missing

REPO = Path(__file__).resolve().parents[2]


def upstream_text(name: str) -> str:
    """The text of ``shared/upstream/<name>``; a missing file skips (fails under CI=true)."""
    for folder in REPO.parents:
        path = folder / "shared" / "upstream" / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    missing("shared/upstream", f"{name} is in no shared/upstream folder above {REPO}")

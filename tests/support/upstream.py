"""The shared upstream facts (``shared/upstream/``): ``$CLOUDER_UPSTREAM_FACTS``, else beside the repository
or one of its parents, else ``/work/shared/upstream`` (where the team's shared folder lives)."""

from __future__ import annotations

import os
from pathlib import Path

from support.parts import missing

REPO = Path(__file__).resolve().parents[2]


def _folders() -> list[Path]:
    named = os.environ.get("CLOUDER_UPSTREAM_FACTS")
    found = [Path(named)] if named else []
    return [
        *found,
        *(folder / "shared" / "upstream" for folder in REPO.parents),
        Path("/work/shared/upstream"),
    ]


def upstream_text(name: str) -> str:
    """The text of ``shared/upstream/<name>``; a missing file skips (fails under CI=true)."""
    for folder in _folders():
        path = folder / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    missing("shared/upstream", f"{name} is in no shared/upstream folder above {REPO} nor in /work/shared")

"""Session-wide fixtures. Helpers live in tests/support (imported as ``support``)."""

from __future__ import annotations

from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parent / "support"
# Every support module that defines fixtures is a plugin; discovered so that no list needs editing.
pytest_plugins = sorted(
    f"support.{path.stem}"
    for path in SUPPORT.glob("*.py")
    if "@pytest.fixture" in path.read_text(encoding="utf-8")
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own, empty Clouder config folder (contexts), work folder and chart cache, so
    that tests running at the same time (pytest-xdist workers) never share a file by accident; a test or
    fixture that wants another folder sets the variable itself."""
    directory = tmp_path_factory.mktemp("clouder-config")
    monkeypatch.setenv("CLOUDER_CONFIG_DIR", str(directory))
    monkeypatch.setenv("CLOUDER_WORK_DIR", str(directory / "work"))
    monkeypatch.setenv("CLOUDER_CACHE_DIR", str(directory / "cache"))
    # the default work folder lives in the state home: one per test, unless the test names its own
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("clouder-state")))
    return directory


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO

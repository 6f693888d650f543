"""Session-wide fixtures. Helpers live in tests/support (imported as ``support``)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "support.moto",
    "support.terraform",
    "support.hosts",
    "support.kubeapi",
    "support.chartrepo",
    "support.clusters",
]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own, empty Clouder config folder (contexts, caches)."""
    directory = tmp_path_factory.mktemp("clouder-config")
    monkeypatch.setenv("CLOUDER_CONFIG_DIR", str(directory))
    return directory


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO

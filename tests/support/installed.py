"""Clouder as a user gets it: a wheel built from the repository, installed into a fresh virtualenv."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Installed:
    env_dir: Path
    python: Path


def clean_env() -> dict[str, str]:
    """The suite's environment minus what would make Python import the repository instead."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}


def suite_environment_venv(env_dir: Path) -> Path:
    """A fresh virtualenv that sees the packages of the environment this suite runs in (a virtualenv or
    not), behind its own: ``--system-site-packages`` would show the *base* interpreter's packages, which
    lack the project's dependencies when the suite itself runs in a virtualenv."""
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    own = subprocess.run(
        [str(python), "-c", "import site; print(site.getsitepackages()[0])"],
        capture_output=True, text=True, check=True, env=clean_env(),
    ).stdout.strip()  # fmt: skip
    outer = [p for p in sys.path if Path(p).name in {"site-packages", "dist-packages"} and Path(p).is_dir()]
    # plain path lines: the outer environment's own .pth files (e.g. an editable clouder) are not run
    (Path(own) / "_suite_environment.pth").write_text("".join(f"{p}\n" for p in outer))
    return python


@pytest.fixture(scope="session")
def installed_clouder(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The repository's wheel (``pip wheel --no-deps``) installed into a fresh virtualenv."""
    root = tmp_path_factory.mktemp("installed-clouder")
    env_dir = root / "venv"
    python = suite_environment_venv(env_dir)
    wheels = root / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels),
         str(REPO)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("clouder-*.whl")
    install = subprocess.run(  # the suite's own pip, installing into the fresh environment
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
         str(wheel)],
        capture_output=True, text=True, env=clean_env(),
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    return Installed(env_dir, python)

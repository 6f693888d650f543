"""`pip install` gives users `clouder.stacks` / `clouder.modules` without shadowing their own packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, importlib.util, json, pathlib, sys
import clouder, clouder.stacks, clouder.modules
found = {name: importlib.util.find_spec(name) is not None for name in ("stacks", "modules")}
print(json.dumps({"clouder": clouder.__file__, "stacks": clouder.stacks.__file__,
                  "modules": clouder.modules.__file__, "top_level_found": found,
                  "user_stacks": importlib.import_module("stacks").__file__}))
"""


def suite_environment_venv(env_dir: Path) -> Path:
    """A fresh virtualenv that sees the packages of the environment this suite runs in (a virtualenv or
    not), behind its own: ``--system-site-packages`` would show the *base* interpreter's packages, which
    lack the project's dependencies when the suite itself runs in a virtualenv."""
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    own = subprocess.run(
        [str(python), "-c", "import site; print(site.getsitepackages()[0])"],
        capture_output=True, text=True, check=True, env=_clean_env(),
    ).stdout.strip()  # fmt: skip
    outer = [p for p in sys.path if Path(p).name in {"site-packages", "dist-packages"} and Path(p).is_dir()]
    # plain path lines: the outer environment's own .pth files (e.g. an editable clouder) are not run
    (Path(own) / "_suite_environment.pth").write_text("".join(f"{p}\n" for p in outer))
    return python


def _clean_env() -> dict[str, str]:
    """The suite's environment minus what would make Python import the repository instead."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}


@pytest.mark.e2e
def test_fresh_virtualenv_install_imports_from_outside_the_repo(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    python = suite_environment_venv(env_dir)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(REPO),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("clouder-*.whl")
    install = subprocess.run(  # the suite's own pip, installing into the fresh environment
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
         str(wheel)],
        capture_output=True, text=True, env=_clean_env(),
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    user_project = tmp_path / "user-iac"
    (user_project / "stacks").mkdir(parents=True)
    (user_project / "stacks" / "__init__.py").write_text("MARK = 'the user own stacks'\n")
    probe = subprocess.run(
        [str(python), "-c", PROBE], capture_output=True, text=True, cwd=user_project, env=_clean_env()
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout)
    site = str(env_dir)
    assert result["clouder"].startswith(site), "clouder comes from the fresh install, not the repository"
    assert result["stacks"].startswith(site) and result["modules"].startswith(site)
    assert result["user_stacks"] == str(user_project / "stacks" / "__init__.py"), "the user's own stacks win"
    shipped = {
        p.relative_to(REPO).as_posix() for d in ("stacks", "modules") for p in (REPO / d).rglob("*.py")
    }
    installed_root = Path(result["clouder"]).parent
    for relative in shipped:
        assert (installed_root / relative).is_file(), f"{relative} is not installed as clouder/{relative}"
    console = env_dir / "bin" / "clouder"
    version = subprocess.run(
        [str(console), "version"], capture_output=True, text=True, cwd=tmp_path, env=_clean_env()
    )
    assert version.returncode == 0 and "clouder" in version.stdout


def test_repository_sees_the_same_import_paths() -> None:
    import clouder.modules
    import clouder.stacks

    assert Path(clouder.stacks.__file__).resolve() == (REPO / "stacks" / "__init__.py").resolve()
    assert Path(clouder.modules.__file__).resolve() == (REPO / "modules" / "__init__.py").resolve()
    assert sys.modules.get("stacks") is None, "nothing imports the repository folders as top-level packages"

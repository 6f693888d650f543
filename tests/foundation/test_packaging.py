"""`pip install` gives users `clouder.stacks` / `clouder.modules` without shadowing their own packages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.installed import Installed, clean_env

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, importlib.util, json, pathlib, sys
import clouder, clouder.stacks, clouder.modules
found = {name: importlib.util.find_spec(name) is not None for name in ("stacks", "modules")}
print(json.dumps({"clouder": clouder.__file__, "stacks": clouder.stacks.__file__,
                  "modules": clouder.modules.__file__, "top_level_found": found,
                  "user_stacks": importlib.import_module("stacks").__file__}))
"""


@pytest.mark.e2e
def test_fresh_virtualenv_install_imports_from_outside_the_repo(
    installed_clouder: Installed, tmp_path: Path
) -> None:
    env_dir, python = installed_clouder.env_dir, installed_clouder.python
    user_project = tmp_path / "user-iac"
    (user_project / "stacks").mkdir(parents=True)
    (user_project / "stacks" / "__init__.py").write_text("MARK = 'the user own stacks'\n")
    probe = subprocess.run(
        [str(python), "-c", PROBE], capture_output=True, text=True, cwd=user_project, env=clean_env()
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
        [str(console), "version"], capture_output=True, text=True, cwd=tmp_path, env=clean_env()
    )
    assert version.returncode == 0 and "clouder" in version.stdout


def test_repository_sees_the_same_import_paths() -> None:
    import clouder.modules
    import clouder.stacks

    assert Path(clouder.stacks.__file__).resolve() == (REPO / "stacks" / "__init__.py").resolve()
    assert Path(clouder.modules.__file__).resolve() == (REPO / "modules" / "__init__.py").resolve()
    assert sys.modules.get("stacks") is None, "nothing imports the repository folders as top-level packages"

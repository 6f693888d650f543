"""The CLI's contract: exit codes, JSON output, completion, and no heavy imports on the fast paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import run
from support.keyhome import use_home_with_public_key

REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "cdktf",
    "constructs",
    "jsii",
    "cdktf_cdktf_provider_aws",
    "cdktf_cdktf_provider_azurerm",
    "kubernetes",
    "asyncssh",
    "helm_python",
    "checkov",
)

PROBE = """
import json, sys
from clouder.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(%r)))
commands = sorted(m for m in sys.modules if m.startswith('clouder.cli.') and m.endswith('_cmd'))
sys.stderr.write('\\nPROBE ' + json.dumps({'code': code, 'heavy': heavy, 'commands': commands}) + '\\n')
"""


def _probe(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE % json.dumps(HEAVY), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")][-1]
    result: dict[str, object] = json.loads(line.removeprefix("PROBE "))
    return result


@pytest.mark.parametrize(
    "args", [("--help",), ("validate", "examples/aws-ha.yaml"), ("schema",), ("version",)]
)
def test_fast_paths_import_no_heavy_module(
    args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_home_with_public_key(tmp_path, monkeypatch)  # validate reads the key file the example names
    result = _probe(*args)
    assert result["code"] == 0
    assert result["heavy"] == [], f"`clouder {' '.join(args)}` imported {result['heavy']}"


@pytest.mark.parametrize(
    ("args", "modules"),
    [
        (("--help",), []),
        (("validate", "examples/aws-ha.yaml"), ["clouder.cli.spec_cmd"]),
        (("context", "list"), ["clouder.cli.context_cmd"]),
        (("version",), []),
    ],
)
def test_only_the_invoked_commands_module_is_imported(
    args: tuple[str, ...], modules: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_home_with_public_key(tmp_path, monkeypatch)
    result = _probe(*args)
    assert result["code"] == 0
    assert result["commands"] == modules


def test_a_mistyped_command_is_told_the_closest_ones() -> None:
    for typo, meant in (("valdate", "validate"), ("contxt", "context"), ("repair-nod", "repair-node")):
        result = run(typo)
        assert result.code == 2
        assert f"No such command '{typo}'. Did you mean '{meant}'?" in result.stderr


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.code == 0
    for command in ("init", "validate", "schema", "context", "version"):
        assert command in result.stdout


def test_usage_errors_exit_2_without_traceback() -> None:
    for args in (("no-such-command",), ("validate",), ("-o", "yaml", "version"), ("context", "use")):
        result = run(*args)
        assert result.code == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.code == 2 and "no such file" in result.stderr
    machine = run("-o", "json", "validate", str(tmp_path / "nope.yaml"))
    assert machine.code == 2 and machine.json()["ok"] is False


def test_version_text_and_json() -> None:
    import clouder
    from clouder.catalog.kubernetes import pinned_versions

    assert clouder.__version__ in run("version").stdout
    info = run("version", "-o", "json").json()
    assert info == {"clouder": clouder.__version__, "kubernetes": pinned_versions()}
    assert run("-o", "json", "version").json() == info


def test_shell_completion_script_and_answers() -> None:
    script = subprocess.run(["clouder", "--show-completion", "bash"], capture_output=True, text=True)
    assert script.returncode == 0, script.stderr
    assert "_CLOUDER_COMPLETE" in script.stdout
    env = {
        **os.environ,
        "_CLOUDER_COMPLETE": "complete_bash",
        "COMP_WORDS": "clouder cont",
        "COMP_CWORD": "1",
    }
    answer = subprocess.run(["clouder"], capture_output=True, text=True, env=env)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["context"]


def _pydantic_plugin(site: Path, marker: Path) -> None:
    """An installed distribution with a pydantic plugin that leaves ``marker`` behind when it is loaded."""
    info = site / "markerplugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: markerplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nmarker = markerplugin:plugin\n")
    (site / "markerplugin.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).touch()\n"
        "class _Plugin:\n"
        "    def new_schema_validator(self, *args, **kwargs):\n"
        "        return None, None, None\n"
        "plugin = _Plugin()\n"
    )


@pytest.mark.parametrize(("setting", "loaded"), [(None, False), ("", True)])
def test_pydantic_plugins_are_looked_for_only_when_the_user_asks(
    setting: str | None, loaded: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_home_with_public_key(tmp_path, monkeypatch)
    marker = tmp_path / "plugin-loaded"
    _pydantic_plugin(tmp_path / "site", marker)
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path / "site"), env.get("PYTHONPATH")]))
    if setting is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = setting
    proc = subprocess.run(
        [sys.executable, "-m", "clouder", "validate", "examples/aws-minimal.yaml"],
        capture_output=True, text=True, cwd=REPO, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert marker.exists() is loaded
    assert "PYDANTIC_DISABLE_PLUGINS" not in os.environ

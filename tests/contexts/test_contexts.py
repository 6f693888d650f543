"""`clouder context …` against the real config folder (per-test, via CLOUDER_CONFIG_DIR)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from support.cli import run

REPO = Path(__file__).resolve().parents[2]
AWS = ["--cloud", "aws", "--region", "us-east-1", "--credentials", "profile", "--profile", "dev"]


def test_add_list_use_show_remove(_isolated_config: Path) -> None:
    assert (
        run("context", "add", "aws-dev", *AWS, "--account", "123456789012", "--tag", "team=platform").code
        == 0
    )
    azure = ["--cloud", "azure", "--region", "westeurope", "--credentials", "cli"]
    assert run("context", "add", "azure-dev", *azure).code == 0
    listed = run("context", "list", "-o", "json").json()
    assert listed["current"] == "aws-dev", "the first context becomes current"
    assert [c["name"] for c in listed["contexts"]] == ["aws-dev", "azure-dev"]
    table = run("context", "list")
    assert "* aws-dev" in " ".join(table.stdout.split()) or "*  aws-dev" in table.stdout
    assert run("context", "use", "azure-dev").code == 0
    shown = run("context", "show", "-o", "json").json()
    assert shown["name"] == "azure-dev" and shown["region"] == "westeurope"
    assert run("context", "show", "aws-dev", "-o", "json").json()["tags"] == {"team": "platform"}
    assert run("context", "remove", "azure-dev").code == 0
    assert run("context", "list", "-o", "json").json()["current"] is None
    stored = _isolated_config / "contexts.yaml"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_duplicate_and_unknown_names_are_bad_input() -> None:
    assert run("context", "add", "dev", *AWS).code == 0
    again = run("context", "add", "dev", *AWS)
    assert again.code == 2 and "--replace" in again.stderr
    assert run("context", "add", "dev", *AWS, "--replace").code == 0
    missing = run("context", "use", "nope")
    assert missing.code == 2 and "nope" in missing.stderr and "dev" in missing.stderr


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--profile", "AKIAIOSFODNN7EXAMPLE"], "profile"),
        (["--account", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"], "account"),
        (["--tag", "password=hunter2hunter2"], "tags"),
        (["--tag", "note=-----BEGIN RSA PRIVATE KEY-----"], "tags"),
        (["--tag", "ci=ghp_abcdefghijklmnopqrstuvwxyz0123456789"], "tags"),
    ],
)
def test_secrets_are_refused_and_never_stored(flags: list[str], field: str, _isolated_config: Path) -> None:
    base = ["--cloud", "aws", "--region", "us-east-1", "--credentials", "profile"]
    if "--profile" not in flags:
        base += ["--profile", "dev"]
    result = run("context", "add", "leaky", *base, *flags)
    assert result.code == 2, result.stderr
    assert field in result.stderr and "never hold secrets" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (_isolated_config / "contexts.yaml").exists()
    secret = flags[-1].split("=", 1)[-1]
    assert secret not in (result.stdout + result.stderr).replace(field, ""), "the secret is not echoed back"


def test_credentials_source_must_fit_the_cloud() -> None:
    result = run(
        "context", "add", "x", "--cloud", "azure", "--region", "westeurope", "--credentials", "profile"
    )
    assert result.code == 2 and "cli, environment, managed-identity" in result.stderr


def test_validate_checks_the_named_context(tmp_path: Path) -> None:
    spec = REPO / "examples" / "aws-minimal.yaml"
    absent = run("validate", str(spec))
    assert absent.code == 0 and "aws-dev" in absent.stderr and "not defined" in absent.stderr
    run("context", "add", "aws-dev", "--cloud", "azure", "--region", "westeurope", "--credentials", "cli")
    wrong = run("validate", str(spec))
    assert wrong.code == 2 and "context" in wrong.stderr and "azure" in wrong.stderr
    run("context", "add", "aws-dev", *AWS, "--replace")
    good = run("validate", str(spec))
    assert good.code == 0 and good.stderr == ""

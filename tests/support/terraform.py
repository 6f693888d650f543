"""Terraform for tests: the real binary, the provider filesystem mirror when this machine has one."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.parts import require_binary

MIRROR = Path("/opt/tf-plugins")


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Env for terraform: CLI config pointing at the mirror, plugin cache, no checkpoint calls."""
    require_binary("terraform", "Install Terraform >= 1.5 (or OpenTofu).")
    env = {"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    base = tmp_path_factory.mktemp("terraform")
    if MIRROR.is_dir():
        config = base / "terraformrc"
        config.write_text(
            f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n'
            '    include = ["registry.terraform.io/*/*"]\n  }\n}\n'
        )
        env["TF_CLI_CONFIG_FILE"] = str(config)
    return env

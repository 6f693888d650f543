"""The backend Clouder writes for each kind of spec.state (what `terraform init` will use)."""

from __future__ import annotations

from pathlib import Path

from clouder.spec import load_spec
from clouder.terraform.backend import backend_block

REPO = Path(__file__).resolve().parents[2]


def test_azurerm_state_authenticates_with_entra_id_as_the_stack_does(tmp_path: Path) -> None:
    block = backend_block(load_spec(REPO / "examples" / "azure-ha.yaml"), tmp_path)
    assert block == {
        "azurerm": {
            "resource_group_name": "clouder-state",
            "storage_account_name": "acmeclouderstate",
            "container_name": "tfstate",
            "key": "prod-azure.tfstate",
            "use_azuread_auth": True,
        }
    }


def test_s3_state_is_encrypted_and_locked(tmp_path: Path) -> None:
    block = backend_block(load_spec(REPO / "examples" / "aws-ha.yaml"), tmp_path)
    assert block["s3"]["encrypt"] is True and block["s3"]["use_lockfile"] is True


def test_local_state_lives_in_the_work_folder(tmp_path: Path) -> None:
    block = backend_block(load_spec(REPO / "examples" / "aws-minimal.yaml"), tmp_path)
    assert block == {"local": {"path": str(tmp_path / "terraform.tfstate")}}

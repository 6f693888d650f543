"""The spec's state backend as a Terraform override file, plus optional extra ``-backend-config`` files.

The override replaces any backend the synthesized stack declares (CDKTF writes a local one by default).
Extra settings a site needs (endpoints, credentials profiles) come from ``CLOUDER_BACKEND_CONFIG``: a
path-separated list of files handed to ``terraform init -backend-config=FILE``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from clouder.spec.model import AzurermState, ClusterSpec, LocalState, S3State

OVERRIDE_FILE = "clouder_backend_override.tf.json"
EXTRA_CONFIG_ENV = "CLOUDER_BACKEND_CONFIG"


def backend_block(spec: ClusterSpec, work: Path) -> dict[str, Any]:
    state = spec.state
    if isinstance(state, LocalState):
        path = state.path.expanduser().resolve() if state.path else work / "terraform.tfstate"
        return {"local": {"path": str(path)}}
    if isinstance(state, S3State):
        s3: dict[str, Any] = {
            "bucket": state.bucket,
            "key": state.key,
            "region": state.region,
            "encrypt": True,
        }
        if state.kms_key_id:
            s3["kms_key_id"] = state.kms_key_id
        if state.dynamodb_table:
            s3["dynamodb_table"] = state.dynamodb_table
        if state.use_lockfile:
            s3["use_lockfile"] = True
        return {"s3": s3}
    assert isinstance(state, AzurermState)
    return {
        "azurerm": {
            "resource_group_name": state.resource_group_name,
            "storage_account_name": state.storage_account_name,
            "container_name": state.container_name,
            "key": state.key,
            "use_azuread_auth": True,
        }
    }


def override_document(spec: ClusterSpec, work: Path) -> dict[str, Any]:
    return {"terraform": {"backend": backend_block(spec, work)}}


def extra_backend_configs() -> list[Path]:
    raw = os.environ.get(EXTRA_CONFIG_ENV, "")
    return [Path(part) for part in raw.split(os.pathsep) if part]

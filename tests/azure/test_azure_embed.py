"""examples/embed-azure: a user's CDKTF app composing clouder.modules.azure next to its own resources."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from typing import Any

from support.azure_stacks import PUBLIC_KEY

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "embed-azure" / "main.py"


def synthesize_example(outdir: Path) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("embed_azure_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--outdir", str(outdir), "--ssh-public-key", PUBLIC_KEY])
    document: dict[str, Any] = json.loads((outdir / "stacks" / "analytics" / "cdk.tf.json").read_text())
    return document


def test_the_embedding_example_synthesizes_clouder_constructs_beside_its_own(tmp_path: Path) -> None:
    doc = synthesize_example(tmp_path / "out")
    resources = doc["resource"]

    ((storage_name, storage),) = resources["azurerm_storage_account"].items()
    # the pool's workers carry the node identity (the control-plane one is for controllers only)
    ((identity_name, _),) = [
        (key, identity)
        for key, identity in resources["azurerm_user_assigned_identity"].items()
        if identity["name"] == "id-analytics-node"
    ]
    grants = [
        {key: value for key, value in r.items() if key != "//"}
        for r in resources["azurerm_role_assignment"].values()
        if r.get("role_definition_name")
    ]
    assert grants == [{
        "scope": f"${{azurerm_storage_account.{storage_name}.id}}",
        "role_definition_name": "Storage Blob Data Reader",
        "principal_id": f"${{azurerm_user_assigned_identity.{identity_name}.principal_id}}",
        "principal_type": "ServicePrincipal",
    }]  # fmt: skip
    group = next(iter(resources["azurerm_resource_group"]))
    assert storage["resource_group_name"] == f"${{azurerm_resource_group.{group}.name}}"

    vms = {vm["name"]: vm for vm in resources["azurerm_linux_virtual_machine"].values()}
    assert {name: vm["zone"] for name, vm in vms.items()} == {
        "analytics-worker-0": "1",
        "analytics-worker-1": "2",
    }
    for vm in vms.values():
        assert vm["disable_password_authentication"] is True and "admin_password" not in vm
        assert vm["identity"]["identity_ids"] == [f"${{azurerm_user_assigned_identity.{identity_name}.id}}"]
        assert "kubeadm=${KUBERNETES_PACKAGE_VERSION}" in base64.b64decode(vm["custom_data"]).decode()
    assert len(resources["azurerm_network_security_rule"]) >= 8
    assert set(doc["output"]) == {"worker_private_ips", "node_subnet_ids"}
    assert all("azurerm_network_interface." in ip for ip in doc["output"]["worker_private_ips"]["value"])

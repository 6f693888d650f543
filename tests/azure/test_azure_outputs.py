"""The outputs contract parses from each synthesized Azure stack's declared outputs, evaluated by Terraform.

No azurerm provider runs here: ``support.tfdata`` stands ``terraform_data`` resources in for the provider's
(their input is each resource's own config plus stand-in IDs and addresses), and real Terraform evaluates the
stack's output expressions. The result is parsed by ``clouder.outputs.parse_terraform_outputs``, exactly as
the bootstrap stage will parse ``terraform output -json`` of a real apply.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from clouder.outputs import OUTPUT_NAMES, AzureFacts, ClusterOutputs, parse_terraform_outputs
from support.azure_stacks import AzureStack
from support.tfdata import StandIns, evaluate_outputs


@pytest.fixture(scope="module")
def evaluated(
    azure_stacks: dict[str, AzureStack],
    terraform_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[dict[str, Any], StandIns]]:
    env = {**os.environ, **terraform_env}
    base = tmp_path_factory.mktemp("azure-outputs")
    return {key: evaluate_outputs(stack.doc, base / key, env) for key, stack in azure_stacks.items()}


def parsed(
    evaluated: dict[str, tuple[dict[str, Any], StandIns]], key: str
) -> tuple[ClusterOutputs, StandIns]:
    raw, stand_ins = evaluated[key]
    assert set(raw) == set(OUTPUT_NAMES), "the stack publishes exactly the contract's outputs"
    return parse_terraform_outputs(raw, source=f"azure-{key}"), stand_ins


def value(stand_ins: StandIns, stack: AzureStack, kind: str, azure_name: str, attribute: str) -> Any:
    (address,) = [f"{kind}.{n}" for n, c in stack.resources(kind).items() if c["name"] == azure_name]
    return stand_ins.values[address][attribute]


@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_outputs_parse_into_the_contract_with_azure_facts(
    azure_stacks: dict[str, AzureStack], evaluated: dict[str, tuple[dict[str, Any], StandIns]], key: str
) -> None:
    stack = azure_stacks[key]
    outputs, stand_ins = parsed(evaluated, key)
    spec = stack.spec
    group = spec.azure.resource_group or f"rg-{spec.name}"
    assert outputs.cluster_name == spec.name and outputs.contract_version == "1"
    assert outputs.cloud == AzureFacts(
        tenant_id=stand_ins.tenant_id,
        subscription_id=stand_ins.subscription_id,
        resource_group=group,
        location=spec.azure.location,
        vnet_name=f"vnet-{spec.name}",
        vnet_resource_group=group,
        subnet_name=f"snet-{spec.name}-nodes-{spec.network.subnets[0].zone}",
        security_group_name=f"nsg-{spec.name}-nodes",
        route_table_name=f"rt-{spec.name}-nodes",
        identity_client_id=value(
            stand_ins, stack, "azurerm_user_assigned_identity", f"id-{spec.name}-control-plane", "client_id"
        ),
    )
    vms = {c["name"] for c in stack.resources("azurerm_linux_virtual_machine").values()}
    assert {node.name for node in outputs.nodes} == vms - {f"{spec.name}-bastion"}
    assert len(outputs.control_planes) == spec.control_plane.count
    assert {n.pool for n in outputs.workers} == {p.name for p in spec.node_pools}
    for node in outputs.nodes:
        assert node.private_ip == value(
            stand_ins, stack, "azurerm_network_interface", f"nic-{node.name}", "private_ip_address"
        )
        assert node.provider_id == (
            f"azure:///subscriptions/{stand_ins.subscription_id}/resourceGroups/"
            f"{group.lower()}/providers/Microsoft.Compute/virtualMachines/{node.name}"
        )
        assert node.zone.startswith(f"{spec.azure.location}-")


def test_public_api_and_bastion_addresses(
    azure_stacks: dict[str, AzureStack], evaluated: dict[str, tuple[dict[str, Any], StandIns]]
) -> None:
    stack = azure_stacks["minimal"]
    outputs, stand_ins = parsed(evaluated, "minimal")
    api_ip = value(stand_ins, stack, "azurerm_public_ip", "pip-demo-azure-api", "ip_address")
    assert outputs.api_endpoint.url == f"https://{api_ip}:6443"
    assert outputs.ssh.mode == "bastion" and outputs.ssh.user == "azureuser"
    assert outputs.ssh.bastion_host == value(
        stand_ins, stack, "azurerm_public_ip", "pip-demo-azure-bastion", "ip_address"
    )
    assert all(node.public_ip is None for node in outputs.nodes)
    assert [n.zone for n in outputs.nodes] == ["westeurope-1"] * 3


def test_internal_api_endpoint_is_the_load_balancer_private_address(
    azure_stacks: dict[str, AzureStack], evaluated: dict[str, tuple[dict[str, Any], StandIns]]
) -> None:
    stack = azure_stacks["ha"]
    outputs, stand_ins = parsed(evaluated, "ha")
    assert outputs.api_endpoint.host == value(
        stand_ins, stack, "azurerm_lb", "prod-azure-api", "private_ip_address"
    )
    assert sorted(n.zone for n in outputs.control_planes) == ["westeurope-1", "westeurope-2", "westeurope-3"]


def test_direct_mode_publishes_every_node_public_address(
    azure_stacks: dict[str, AzureStack], evaluated: dict[str, tuple[dict[str, Any], StandIns]]
) -> None:
    stack = azure_stacks["direct"]
    outputs, stand_ins = parsed(evaluated, "direct")
    assert outputs.ssh.mode == "direct" and outputs.ssh.bastion_host is None
    for node in outputs.nodes:
        assert node.public_ip == value(
            stand_ins, stack, "azurerm_public_ip", f"pip-{node.name}", "ip_address"
        )
    assert outputs.cloud.resource_group == "RG-Clouder-Direct"  # type: ignore[union-attr]
    assert [n.zone for n in outputs.workers] == ["westeurope-1", "westeurope-2"]
    assert "/resourceGroups/rg-clouder-direct/" in outputs.nodes[0].provider_id


def test_the_evaluation_fails_on_an_unknown_attribute(
    azure_stacks: dict[str, AzureStack], terraform_env: dict[str, str], tmp_path: Path
) -> None:
    """The stand-in evaluation is not vacuous: an output reading an attribute nothing sets fails the apply."""
    doc = dict(azure_stacks["minimal"].doc)
    balancer = next(iter(azure_stacks["minimal"].resources("azurerm_lb")))
    doc["output"] = {
        **doc["output"],
        "cluster_name": {"value": "${azurerm_lb." + balancer + ".no_such_attribute}"},
    }
    with pytest.raises(AssertionError, match="Unsupported attribute"):
        evaluate_outputs(doc, tmp_path / "bad", {**os.environ, **terraform_env})

"""The outputs contract parses `terraform output -json` and names every missing or ill-typed output."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from clouder.errors import InvalidDocumentError
from clouder.outputs import OUTPUT_NAMES, AwsFacts, AzureFacts, parse_terraform_outputs


def _tf(values: dict[str, Any]) -> dict[str, Any]:
    return {name: {"sensitive": False, "type": "dynamic", "value": value} for name, value in values.items()}


AWS_VALUES: dict[str, Any] = {
    "contract_version": "1",
    "cluster_name": "demo",
    "api_endpoint": {"host": "demo-api-123.elb.us-east-1.amazonaws.com", "port": 6443},
    "nodes": [
        {
            "name": "ip-10-0-16-10.ec2.internal",
            "role": "control-plane",
            "pool": "control-plane",
            "private_ip": "10.0.16.10",
            "zone": "us-east-1a",
            "provider_id": "aws:///us-east-1a/i-0abc",
        },
        {
            "name": "ip-10-0-16-11.ec2.internal",
            "role": "worker",
            "pool": "general",
            "private_ip": "10.0.16.11",
            "zone": "us-east-1a",
            "provider_id": "aws:///us-east-1a/i-0abd",
        },
    ],
    "ssh": {"mode": "bastion", "user": "ubuntu", "bastion_host": "198.51.100.7"},
    "cloud": {
        "cloud": "aws",
        "region": "us-east-1",
        "account_id": "123456789012",
        "vpc_id": "vpc-0123",
        "public_subnet_ids": ["subnet-1"],
        "private_subnet_ids": ["subnet-2"],
        "node_security_group_id": "sg-1",
        "control_plane_role_arn": "arn:aws:iam::123456789012:role/cp",
        "node_role_arn": "arn:aws:iam::123456789012:role/node",
    },
}
AZURE_FACTS = {
    "cloud": "azure",
    "tenant_id": "t",
    "subscription_id": "s",
    "resource_group": "rg",
    "location": "westeurope",
    "vnet_name": "vnet",
    "vnet_resource_group": "rg",
    "subnet_name": "nodes",
    "security_group_name": "nsg",
    "route_table_name": "rt",
    "identity_client_id": "c",
}


def test_parses_aws_and_azure_from_terraform_json() -> None:
    outputs = parse_terraform_outputs(json.dumps(_tf(AWS_VALUES)))
    assert isinstance(outputs.cloud, AwsFacts)
    assert outputs.api_endpoint.url == "https://demo-api-123.elb.us-east-1.amazonaws.com:6443"
    assert [n.name for n in outputs.control_planes] == ["ip-10-0-16-10.ec2.internal"]
    assert len(outputs.workers) == 1
    azure = copy.deepcopy(AWS_VALUES) | {"cloud": AZURE_FACTS}
    parsed = parse_terraform_outputs(_tf(azure))
    assert isinstance(parsed.cloud, AzureFacts) and parsed.cloud.load_balancer_sku == "standard"
    assert set(OUTPUT_NAMES) == set(AWS_VALUES)


def test_every_missing_output_is_named() -> None:
    partial = {k: v for k, v in AWS_VALUES.items() if k not in {"nodes", "ssh"}}
    with pytest.raises(InvalidDocumentError) as caught:
        parse_terraform_outputs(_tf(partial))
    assert [p.path for p in caught.value.problems] == ["nodes", "ssh"]
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda v: v["nodes"][1].update(private_ip="not-an-ip"), "nodes[1].private_ip"),
        (lambda v: v["nodes"][0].update(role="master"), "nodes[0].role"),
        (lambda v: v["api_endpoint"].update(port="https"), "api_endpoint.port"),
        (lambda v: v["cloud"].update(vpc_id=7), "cloud.vpc_id"),
        (lambda v: v["ssh"].pop("bastion_host"), "ssh"),
        (lambda v: v["nodes"][1].update(name=v["nodes"][0]["name"]), ""),
        (lambda v: v["nodes"][0].update(role="worker"), ""),
    ],
)
def test_ill_typed_outputs_name_their_path(mutate: Any, path: str) -> None:
    values = copy.deepcopy(AWS_VALUES)
    mutate(values)
    with pytest.raises(InvalidDocumentError) as caught:
        parse_terraform_outputs(_tf(values))
    assert path in [p.path for p in caught.value.problems], caught.value.render()


def test_not_json_and_wrong_shape() -> None:
    with pytest.raises(InvalidDocumentError, match="not JSON"):
        parse_terraform_outputs("{oops")
    with pytest.raises(InvalidDocumentError, match="terraform output -json"):
        parse_terraform_outputs({**_tf(AWS_VALUES), "nodes": [1, 2]})

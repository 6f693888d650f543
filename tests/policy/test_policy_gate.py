"""The policy gate on synthesized JSON: Clouder's own rules, checkov (real, offline), the spec's allowlist."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from clouder.policy import PolicyError, enforce, run_gate
from clouder.spec import load_spec
from support.parts import require_binary
from support.tfstack import aws_stack, write_spec


def _config(folder: Path, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cdk.tf.json").write_text(json.dumps(document))
    return folder


def _checks(spec_path: Path, folder: Path, use_checkov: bool = False) -> set[tuple[str, str]]:
    report = run_gate(load_spec(spec_path), folder, use_checkov=use_checkov)
    return {(f.check, f.address) for f in report.blocking}


def _weakened() -> dict[str, Any]:
    document = copy.deepcopy(aws_stack("pol"))
    instance = document["resource"]["aws_instance"]["control_plane_0"]
    instance["metadata_options"] = {"http_tokens": "optional"}
    instance["root_block_device"] = {"encrypted": False}
    nodes = document["resource"]["aws_security_group"]["nodes"]
    nodes["ingress"][1]["cidr_blocks"] = ["0.0.0.0/0"]  # SSH to the world
    nodes["ingress"].append(
        {**nodes["ingress"][0], "from_port": 2379, "to_port": 2380, "cidr_blocks": ["::/0"]}
    )
    document["resource"]["aws_security_group_rule"] = {"kubelet": {
        "type": "ingress", "from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"],
        "security_group_id": "${aws_security_group.nodes.id}"}}  # fmt: skip
    document["resource"]["aws_ebs_volume"] = {"data": {"availability_zone": "us-east-1a", "size": 10}}
    document["resource"]["aws_lb"] = {"api": {"load_balancer_type": "network", "internal": False}}
    document["resource"]["aws_vpc_security_group_ingress_rule"] = {"api": {
        "security_group_id": "${aws_security_group.nodes.id}", "from_port": 6443, "to_port": 6443,
        "ip_protocol": "tcp", "cidr_ipv4": "198.51.100.0/24"}}  # fmt: skip
    return document


def test_clean_stack_passes_own_rules(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    assert _checks(spec, _config(tmp_path / "ok", aws_stack("pol"))) == set()


def test_own_rules_name_each_weakness(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    found = _checks(spec, _config(tmp_path / "weak", _weakened()))
    assert found == {
        ("CLOUDER_AWS_IMDSV2", "aws_instance.control_plane_0"),
        ("CLOUDER_ENCRYPTED_DISKS", "aws_instance.control_plane_0"),
        ("CLOUDER_ENCRYPTED_DISKS", "aws_ebs_volume.data"),
        ("CLOUDER_WORLD_OPEN_ADMIN_PORT", "aws_security_group.nodes"),
        ("CLOUDER_WORLD_OPEN_ADMIN_PORT", "aws_security_group_rule.kubelet"),
        ("CLOUDER_API_EXPOSURE", "aws_security_group_rule.kubelet"),
        ("CLOUDER_API_EXPOSURE", "aws_vpc_security_group_ingress_rule.api"),
    }
    private = write_spec(tmp_path / "private.yaml", "pol")
    document = yaml.safe_load(private.read_text())
    document["network"]["apiExposure"] = "private"
    private.write_text(yaml.safe_dump(document))
    assert ("CLOUDER_API_EXPOSURE", "aws_lb.api") in _checks(private, tmp_path / "weak")


def test_world_open_ssh_on_azure_nsg(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    rule = {"name": "ssh", "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
            "source_address_prefix": "*", "destination_port_range": "22", "source_port_range": "*",
            "destination_address_prefix": "*"}  # fmt: skip
    etcd = {**rule, "destination_port_range": "2379-2380", "source_address_prefix": "Internet"}
    document = {"resource": {"azurerm_network_security_group": {"nodes": {"security_rule": [rule]}},
                             "azurerm_network_security_rule": {"etcd": etcd}}}  # fmt: skip
    assert _checks(spec, _config(tmp_path / "az", document)) == {
        ("CLOUDER_WORLD_OPEN_ADMIN_PORT", "azurerm_network_security_group.nodes"),
        ("CLOUDER_WORLD_OPEN_ADMIN_PORT", "azurerm_network_security_rule.etcd"),
    }


def test_allowlist_accepts_with_reason_and_gate_blocks_the_rest(tmp_path: Path) -> None:
    folder = _config(tmp_path / "weak", _weakened())
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    document = yaml.safe_load(spec.read_text())
    document["policy"]["allowlist"].append(
        {"check": "CLOUDER_AWS_IMDSV2", "reason": "legacy AMI, tracked in OPS-1"}
    )
    spec.write_text(yaml.safe_dump(document))
    report = run_gate(load_spec(spec), folder, use_checkov=False)
    assert [f.allowed_because for f in report.allowed] == ["legacy AMI, tracked in OPS-1"]
    with pytest.raises(PolicyError) as caught:
        enforce(report)
    text = caught.value.render()
    assert "CLOUDER_ENCRYPTED_DISKS aws_ebs_volume.data" in text and "CLOUDER_AWS_IMDSV2" not in text


def test_checkov_runs_offline_and_flags_world_ssh(tmp_path: Path) -> None:
    require_binary("checkov", "pip install 'clouder[policy]'")
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    clean = _config(tmp_path / "ok", aws_stack("pol"))
    report = run_gate(load_spec(spec), clean)
    assert report.checkov and report.blocking == [], [f.render() for f in report.blocking]
    weak = _config(tmp_path / "weak", _weakened())
    found = _checks(spec, weak, use_checkov=True)
    assert ("CKV_AWS_24", "aws_security_group.nodes") in found
    assert ("CLOUDER_AWS_IMDSV2", "aws_instance.control_plane_0") in found


def test_override_files_are_merged_before_the_gate_looks(tmp_path: Path) -> None:
    """Terraform merges `*_override.tf.json` into the configuration, so the gate must see the merge: an
    override that turns IMDSv2 off or opens SSH to the world is blocked like the same change in the stack."""
    require_binary("checkov", "pip install 'clouder[policy]'")
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    folder = _config(tmp_path / "overridden", aws_stack("pol"))
    assert _checks(spec, folder, use_checkov=True) == set()
    ingress = aws_stack("pol")["resource"]["aws_security_group"]["nodes"]["ingress"]
    ingress[1]["cidr_blocks"] = ["0.0.0.0/0"]
    override = {"resource": {
        "aws_instance": {"control_plane_0": {"metadata_options": {"http_tokens": "optional"}}},
        "aws_security_group": {"nodes": {"ingress": ingress}},
    }}  # fmt: skip
    (folder / "zz_ops_override.tf.json").write_text(json.dumps(override))
    found = _checks(spec, folder, use_checkov=True)
    assert {
        ("CLOUDER_AWS_IMDSV2", "aws_instance.control_plane_0"),
        ("CLOUDER_WORLD_OPEN_ADMIN_PORT", "aws_security_group.nodes"),
        ("CKV_AWS_24", "aws_security_group.nodes"),
    } <= found
    report = run_gate(load_spec(spec), folder, use_checkov=False)
    assert {f.file for f in report.blocking} == {"cdk.tf.json"}, "findings name the file the resource is in"


def _with_rule(body: dict[str, Any], name: str = "extra") -> dict[str, Any]:
    document = copy.deepcopy(aws_stack("pol"))
    document["resource"]["aws_security_group_rule"] = {
        name: {"security_group_id": "${aws_security_group.nodes.id}", **body}
    }
    return document


@pytest.mark.parametrize(
    "body",
    [
        # two halves of the address space are the world
        {"type": "ingress", "from_port": 22, "to_port": 22, "protocol": "tcp",
         "cidr_blocks": ["0.0.0.0/1", "128.0.0.0/1"]},
        # an interpolated literal is not a safe reference
        {"type": "ingress", "from_port": 22, "to_port": 22, "protocol": "tcp",
         "cidr_blocks": ['${"0.0.0.0/0"}']},
        # a whole-list interpolation, and an interpolated rule type
        {"type": '${"ingress"}', "from_port": 22, "to_port": 22, "protocol": "tcp",
         "cidr_blocks": "${var.anywhere}"},
    ],
    ids=["two-halves", "interpolated-literal", "interpolated-list-and-type"],
)  # fmt: skip
def test_world_open_ssh_is_seen_through_ranges_and_interpolations(
    tmp_path: Path, body: dict[str, Any]
) -> None:
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    found = _checks(spec, _config(tmp_path / "c", _with_rule(body)))
    assert ("CLOUDER_WORLD_OPEN_ADMIN_PORT", "aws_security_group_rule.extra") in found


def test_world_coverage_spans_separate_rules(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    document = copy.deepcopy(aws_stack("pol"))
    document["resource"]["aws_vpc_security_group_ingress_rule"] = {
        f"half_{i}": {"security_group_id": "${aws_security_group.nodes.id}", "from_port": 22, "to_port": 22,
                      "ip_protocol": "tcp", "cidr_ipv4": cidr}
        for i, cidr in enumerate(["0.0.0.0/1", "128.0.0.0/1"])
    }  # fmt: skip
    found = _checks(spec, _config(tmp_path / "c", document))
    assert ("CLOUDER_WORLD_OPEN_ADMIN_PORT", "aws_vpc_security_group_ingress_rule.half_0") in found


def test_interpolated_api_source_is_not_trusted(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    body = {"type": "ingress", "from_port": 6443, "to_port": 6443, "protocol": "tcp",
            "cidr_blocks": ["${var.anywhere}"]}  # fmt: skip
    found = _checks(spec, _config(tmp_path / "c", _with_rule(body)))
    assert ("CLOUDER_API_EXPOSURE", "aws_security_group_rule.extra") in found


def test_hcl_in_the_root_blocks_even_with_an_allowlist(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", "pol", allowlist=[
        {"check": "CLOUDER_UNEXAMINED_FILE", "reason": "trying to wave it through"}])  # fmt: skip
    folder = _config(tmp_path / "c", aws_stack("pol"))
    (folder / "open.tf").write_text(
        'resource "aws_security_group_rule" "ssh" {\n  type = "ingress"\n  from_port = 22\n  to_port = 22\n'
        '  protocol = "tcp"\n  cidr_blocks = ["0.0.0.0/0"]\n  security_group_id = "sg-1"\n}\n'
    )
    found = _checks(spec, folder)
    assert found == {("CLOUDER_UNEXAMINED_FILE", "open.tf")}


def test_the_address_of_a_public_ip_the_stack_creates_is_a_single_address(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", "pol")
    for port in (22, 6443):
        body = {"type": "ingress", "from_port": port, "to_port": port, "protocol": "tcp",
                "cidr_blocks": ["${aws_eip.nat.public_ip}/32"]}  # fmt: skip
        assert _checks(spec, _config(tmp_path / f"c{port}", _with_rule(body))) == set()

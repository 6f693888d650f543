"""checkov on every synthesized Azure stack: no failed check outside the commented allowlist."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clouder.modules.azure.checkov_allowlist import ALLOWED_FINDINGS
from support.azure_stacks import AzureStack
from support.parts import require_binary


def checkov(*paths: Path) -> list[dict[str, Any]]:
    """Findings of one checkov run over ``paths`` (one run: checkov's start-up dominates its time)."""
    binary = require_binary("checkov", "pip install 'clouder[policy]'")
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    files = [arg for path in paths for arg in ("-f", str(path))]
    command = [binary, *files, "--framework", "terraform_json", "--skip-download", "--compact", "-o", "json"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["passed"] > 50 * len(paths), "checkov must actually have checked the resources"
    return list(report["results"]["failed_checks"])


@pytest.fixture(scope="module")
def findings(azure_stacks: dict[str, AzureStack]) -> dict[str, list[dict[str, Any]]]:
    failed = checkov(*(stack.path for stack in azure_stacks.values()))
    return {
        key: [f for f in failed if Path(f["file_abs_path"]).resolve() == stack.path.resolve()]
        for key, stack in azure_stacks.items()
    }


def azure_name(stack: AzureStack, address: str) -> str:
    kind, name = address.split(".", 1)
    return str(stack.resources(kind)[name]["name"])


@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_checkov_finds_nothing_outside_the_allowlist(
    azure_stacks: dict[str, AzureStack], findings: dict[str, list[dict[str, Any]]], key: str
) -> None:
    stack = azure_stacks[key]
    unexplained = []
    for finding in findings[key]:
        kind = finding["resource"].split(".", 1)[0]
        name = azure_name(stack, finding["resource"])
        if not any(
            a.covers(finding["check_id"], kind, name, stack.spec.access.mode) for a in ALLOWED_FINDINGS
        ):
            unexplained.append(
                f"{finding['check_id']} {finding['resource']} ({name}): {finding['check_name']}"
            )
    assert not unexplained, "\n".join(unexplained)


def test_the_allowlist_is_short_and_every_entry_is_still_needed(
    azure_stacks: dict[str, AzureStack], findings: dict[str, list[dict[str, Any]]]
) -> None:
    assert len(ALLOWED_FINDINGS) <= 3
    used = set()
    for key, failed in findings.items():
        stack = azure_stacks[key]
        for finding in failed:
            kind = finding["resource"].split(".", 1)[0]
            name = azure_name(stack, finding["resource"])
            used |= {
                a
                for a in ALLOWED_FINDINGS
                if a.covers(finding["check_id"], kind, name, stack.spec.access.mode)
            }
    assert used == set(ALLOWED_FINDINGS), f"stale allowances: {set(ALLOWED_FINDINGS) - used}"


def test_the_gate_catches_a_password_vm(azure_stacks: dict[str, AzureStack], tmp_path: Any) -> None:
    """The same checkov run fails a stack whose VM allows password login (the gate is not vacuous)."""
    doc = json.loads(azure_stacks["minimal"].path.read_text())
    vm = next(iter(doc["resource"]["azurerm_linux_virtual_machine"].values()))
    vm["disable_password_authentication"] = False
    vm["admin_password"] = "NotARealPassword-1"  # a test fixture, never applied
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(doc))
    assert {"CKV_AZURE_1", "CKV_AZURE_149"} <= {f["check_id"] for f in checkov(path)}


@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_clouders_own_policy_rules_pass(azure_stacks: dict[str, AzureStack], key: str) -> None:
    """The policy gate's own rules (world-open admin ports, API exposure, encryption) find nothing."""
    from clouder.policy.gate import run_gate

    stack = azure_stacks[key]
    report = run_gate(stack.spec, stack.path.parent, use_checkov=False)
    assert [f.render() for f in report.findings] == []


def test_clouders_own_policy_rules_catch_a_world_open_ssh_rule(
    azure_stacks: dict[str, AzureStack], tmp_path: Path
) -> None:
    from clouder.policy.gate import run_gate

    doc = json.loads(azure_stacks["minimal"].path.read_text())
    rule = next(
        r
        for r in doc["resource"]["azurerm_network_security_rule"].values()
        if r["destination_port_range"] == "22"
    )
    rule["source_address_prefixes"] = ["0.0.0.0/0"]
    (tmp_path / "cdk.tf.json").write_text(json.dumps(doc))
    report = run_gate(azure_stacks["minimal"].spec, tmp_path, use_checkov=False)
    assert "CLOUDER_WORLD_OPEN_ADMIN_PORT" in {f.check for f in report.findings}


def test_policy_gate_lets_the_azure_stacks_through(azure_stacks: dict[str, AzureStack]) -> None:
    """`clouder plan/apply` runs this gate: the stack's own allowlist must reach it for Azure too."""
    from clouder.policy.gate import run_gate, stack_allowlist

    require_binary("checkov", "pip install 'clouder[policy]'")
    assert "CKV_AZURE_119" in stack_allowlist("azure")
    stack = azure_stacks["minimal"]
    report = run_gate(stack.spec, stack.path.parent)
    assert report.checkov, "checkov ran inside the gate"
    assert any(f.check == "CKV_AZURE_119" for f in report.allowed), "the bastion NIC finding is accepted"
    assert report.blocking == [], [f.render() for f in report.blocking]

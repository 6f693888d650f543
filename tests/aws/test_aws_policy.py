"""checkov (and Clouder's own policy rules) on the synthesized AWS stacks: nothing fails outside the short,
commented allowlist in clouder.modules.aws.checkov_allowlist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clouder.modules.aws.checkov_allowlist import CHECKOV_ALLOWLIST
from clouder.policy.gate import run_gate
from support.aws_stacks import AwsStack
from support.parts import require_binary


@pytest.mark.parametrize("key", ["minimal", "ha", "direct"])
def test_checkov_and_clouder_rules_find_nothing_outside_the_allowlist(
    aws_stacks: dict[str, AwsStack], key: str
) -> None:
    require_binary("checkov", "pip install 'clouder[policy]'")
    stack = aws_stacks[key]
    report = run_gate(stack.spec, stack.folder)
    assert report.checkov, "checkov ran"
    unexpected = [
        finding.render()
        for finding in report.blocking
        if not (finding.source == "checkov" and finding.check in CHECKOV_ALLOWLIST)
    ]
    assert unexpected == []


def test_the_allowlist_is_short_and_every_entry_is_still_needed(aws_stacks: dict[str, AwsStack]) -> None:
    require_binary("checkov", "pip install 'clouder[policy]'")
    assert len(CHECKOV_ALLOWLIST) <= 7
    assert all(len(reason) >= 20 for reason in CHECKOV_ALLOWLIST.values())
    stack = aws_stacks["minimal"]  # the one with a bastion, a public API and the LB controller
    found = {finding.check for finding in run_gate(stack.spec, stack.folder).findings}
    assert set(CHECKOV_ALLOWLIST) <= found, f"stale allowlist entries: {set(CHECKOV_ALLOWLIST) - found}"


def test_the_gate_would_catch_a_world_open_ssh_rule(aws_stacks: dict[str, AwsStack], tmp_path: Path) -> None:
    """The check is real: the same stack with SSH opened to the world fails checkov's CKV_AWS_24."""
    require_binary("checkov", "pip install 'clouder[policy]'")
    stack = aws_stacks["direct"]
    document = json.loads(stack.path.read_text())
    for rule in document["resource"]["aws_security_group_rule"].values():
        if rule["from_port"] == 22:
            rule["cidr_blocks"] = ["0.0.0.0/0"]
    (tmp_path / "cdk.tf.json").write_text(json.dumps(document))
    checks = {finding.check for finding in run_gate(stack.spec, tmp_path).blocking}
    assert "CKV_AWS_24" in checks

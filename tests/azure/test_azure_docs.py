"""docs/azure.md accounts for every NSG rule and every role action the Azure constructs create."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from clouder.modules.common.ports import CNI_PORTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "azure.md"


@pytest.fixture(scope="module")
def ports_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("## Ports") : text.index("## Identity and roles")]


@pytest.mark.parametrize(
    ("cni", "ssh", "api"), list(itertools.product(CNI_PORTS, ("bastion", "direct"), ("public", "private")))
)
def test_every_rule_is_documented(ports_section: str, cni: str, ssh: str, api: str) -> None:
    # imported here, not at collection: it loads the azurerm bindings, in every parallel worker
    from clouder.modules.azure.security import node_rules, public_rules

    for rule in [*node_rules(cni, ssh, api), *public_rules(ssh)]:
        assert f"`{rule.name}`" in ports_section, rule.name
        if rule.ports != "*":
            low = rule.ports.split("-")[0]
            assert low in ports_section, (rule.name, rule.ports)


def test_every_role_is_documented() -> None:
    from clouder.modules.azure.identities import ROLES  # imports the azurerm bindings (shared by the session)

    text = DOC.read_text(encoding="utf-8")
    for role, actions in ROLES.items():
        assert f"clouder-<cluster>-{role}" in text
        for action in actions:
            resource = action.split("/")[-2]
            assert resource in text, action

"""Checkov findings the Azure stack accepts on purpose, each with why (pure Python: no CDKTF import).

Keep this list short: anything else checkov reports on a synthesized Azure stack fails the tests. Each
allowance names the resources it covers (``ALLOWED_FINDINGS``), so that an allowance for the bastion cannot
excuse the same finding on a node; ``CHECKOV_ALLOWLIST`` is the check -> reason view the policy gate reads.
Users accept more through the spec's ``policy.allowlist``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AllowedFinding:
    check: str
    resource_type: str
    reason: str
    name_suffix: str = ""  # the resource's Azure name ends with it ("" = any name)
    ssh_mode: str | None = None  # only in this spec.access.mode (None = any)

    def covers(self, check: str, resource_type: str, azure_name: str, ssh_mode: str) -> bool:
        return (
            check == self.check
            and resource_type == self.resource_type
            and azure_name.endswith(self.name_suffix)
            and self.ssh_mode in (None, ssh_mode)
        )


ALLOWED_FINDINGS: tuple[AllowedFinding, ...] = (
    # SSH must reach something from outside: the bastion, port 22 open to the admin CIDRs only.
    AllowedFinding(
        "CKV_AZURE_119", "azurerm_network_interface", "the bastion's NIC needs a public IP", "-bastion"
    ),
    # In ssh mode "direct" the user chose no bastion: every node is reached on its own public IP, port 22
    # open to the admin CIDRs only.
    AllowedFinding(
        "CKV_AZURE_119",
        "azurerm_network_interface",
        "nodes need public IPs in ssh mode 'direct'",
        ssh_mode="direct",
    ),
)

CHECKOV_ALLOWLIST: dict[str, str] = {
    check: "; ".join(f.reason for f in ALLOWED_FINDINGS if f.check == check)
    for check in dict.fromkeys(f.check for f in ALLOWED_FINDINGS)
}

"""The policy gate before apply: checkov (where installed) plus Clouder's own rules, minus the allowlist."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from clouder.clouds import CloudRegistry
from clouder.errors import ClouderError
from clouder.policy.checkov import checkov_binary, run_checkov
from clouder.policy.config import resources, write_effective
from clouder.policy.rules import check_config
from clouder.spec.model import ClusterSpec

# Files Terraform/OpenTofu read from a root that Clouder's rules and checkov (Terraform JSON) do not.
UNEXAMINED = (".tf", ".tofu", ".tofu.json", ".tfvars", ".tfvars.json")
# cloud -> "module:attribute" of the checkov findings its stack accepts by design (id -> reason).
STACK_ALLOWLISTS: CloudRegistry[dict[str, str]] = CloudRegistry(
    "the policy gate",
    {
        "aws": "clouder.modules.aws.checkov_allowlist:CHECKOV_ALLOWLIST",
        "azure": "clouder.modules.azure.checkov_allowlist:CHECKOV_ALLOWLIST",
    },
)


@dataclass(frozen=True)
class Finding:
    check: str
    address: str
    message: str
    file: str
    source: str  # "clouder" or "checkov"
    allowed_because: str | None = None

    def render(self) -> str:
        return f"{self.check} {self.address}: {self.message} [{self.source}, {self.file}]"


@dataclass
class PolicyReport:
    findings: list[Finding] = field(default_factory=list)
    checkov: bool = False

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.allowed_because is None]

    @property
    def allowed(self) -> list[Finding]:
        return [f for f in self.findings if f.allowed_because is not None]

    def as_json(self) -> dict[str, object]:
        return {
            "ok": not self.blocking,
            "checkov": self.checkov,
            "blocking": [f.__dict__ for f in self.blocking],
            "allowed": [f.__dict__ for f in self.allowed],
        }


class PolicyError(ClouderError):
    def __init__(self, report: PolicyReport) -> None:
        lines = [f"The policy gate blocks apply: {len(report.blocking)} finding(s)."]
        lines += [f"  - {finding.render()}" for finding in report.blocking]
        super().__init__(
            "\n".join(lines),
            "Fix the stack or spec, or accept a finding in spec.policy.allowlist "
            "with a reason (reviewed like code).",
        )
        self.report = report


def run_gate(spec: ClusterSpec, root: Path, use_checkov: bool = True) -> PolicyReport:
    """Every finding on the configuration in ``root``; allowlisted ones carry the spec's reason."""
    reasons = {
        **stack_allowlist(spec.cloud),
        **{entry.check: entry.reason for entry in spec.policy.allowlist},
    }
    report = PolicyReport()
    for path in sorted(root.iterdir()):
        if path.name.endswith(UNEXAMINED):  # never allowlisted: the gate cannot see what they do
            report.findings.append(Finding(
                "CLOUDER_UNEXAMINED_FILE", path.name,
                "Terraform reads this file but the gate reads only Terraform JSON; convert it or remove it.",
                path.name, "clouder",
            ))  # fmt: skip
    for own in check_config(spec, root):
        report.findings.append(
            Finding(own.check, own.address, own.message, own.file, "clouder", reasons.get(own.check))
        )
    binary = checkov_binary() if use_checkov else None
    if binary is not None:
        report.checkov = True
        by_name: dict[str, list[str]] = {}
        for resource in resources(root):
            by_name.setdefault(f"resource.{resource.name}", []).append(resource.address)
        with tempfile.TemporaryDirectory(prefix="clouder-policy-") as effective:
            found_all = run_checkov(binary, write_effective(root, Path(effective)))
        for found in found_all:
            named = by_name.get(found.address, [])
            address = named[0] if len(named) == 1 else found.address
            reason = reasons.get(found.check)
            report.findings.append(
                Finding(found.check, address, found.message, found.file, "checkov", reason)
            )
    return report


def stack_allowlist(cloud: str) -> dict[str, str]:
    """Findings a cloud's stack accepts by design (``CHECKOV_ALLOWLIST`` of id -> reason in its modules)."""
    return {str(k): str(v) for k, v in STACK_ALLOWLISTS[cloud].items()}


def enforce(report: PolicyReport) -> None:
    if report.blocking:
        raise PolicyError(report)

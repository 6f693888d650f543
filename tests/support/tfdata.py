"""Evaluate a synthesized stack's outputs with real Terraform when no provider binary is at hand.

Every provider resource and data source becomes a ``terraform_data`` resource (built into Terraform: nothing
is downloaded) whose ``input`` is the resource's own configuration plus stand-in values for the attributes
only the provider computes (IDs, IP addresses, client IDs). References are rewritten to read those
``terraform_data`` outputs, so Terraform itself evaluates every output expression - interpolations, functions,
references across the graph - and ``terraform output -json`` prints what an apply would print, with the
stand-in values where the cloud would choose. A reference to an attribute that is neither configured nor a
known computed attribute fails the apply, as it would fail a real plan.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REFERENCE = re.compile(r"\b(data\.)?((?:azurerm|aws)_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(\.)?")
META_ARGUMENTS = {"provider", "lifecycle", "count", "for_each", "provisioner", "connection", "//"}


@dataclass
class StandIns:
    """Deterministic stand-in values for computed attributes, recorded by resource address."""

    subscription_id: str = "00000000-0000-4000-8000-00000000aaaa"
    tenant_id: str = "00000000-0000-4000-8000-00000000bbbb"
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    _public: Iterator[ipaddress.IPv4Address] = field(
        default_factory=lambda: iter(ipaddress.ip_network("203.0.113.0/24").hosts())
    )
    _private: Iterator[ipaddress.IPv4Address] = field(
        default_factory=lambda: iter(ipaddress.ip_network("10.250.0.0/16").hosts())
    )

    def computed(self, kind: str, name: str, config: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"id": f"/subscriptions/{self.subscription_id}/fake/{kind}/{name}"}
        extra: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"_{kind}", None)
        if extra is not None:
            values |= extra(config)
        return {key: value for key, value in values.items() if key not in config}

    def _azurerm_public_ip(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"ip_address": str(next(self._public))}

    def _azurerm_network_interface(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"private_ip_address": str(next(self._private))}

    def _azurerm_lb(self, config: dict[str, Any]) -> dict[str, Any]:
        internal = any("subnet_id" in f for f in config.get("frontend_ip_configuration", []))
        return {"private_ip_address": str(next(self._private))} if internal else {}

    def _azurerm_user_assigned_identity(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "client_id": str(uuid.uuid4()),
            "principal_id": str(uuid.uuid4()),
            "tenant_id": self.tenant_id,
        }

    def _azurerm_role_definition(self, config: dict[str, Any]) -> dict[str, Any]:
        role_id = f"/subscriptions/{self.subscription_id}/providers/Microsoft.Authorization/roleDefinitions"
        return {"role_definition_resource_id": f"{role_id}/{uuid.uuid4()}"}

    def _azurerm_client_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "subscription_id": self.subscription_id,
            "tenant_id": self.tenant_id,
            "client_id": str(uuid.uuid4()),
            "object_id": str(uuid.uuid4()),
        }


def stand_in_name(data: bool, kind: str, name: str) -> str:
    return f"{'data__' if data else ''}{kind}__{name}"


def rewrite(value: Any) -> Any:
    """Point every reference to a provider resource at its ``terraform_data`` stand-in's output."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            target = "terraform_data." + stand_in_name(bool(match[1]), match[2], match[3])
            return target + ".output." if match[4] else target

        return REFERENCE.sub(replace, value)
    if isinstance(value, list):
        return [rewrite(item) for item in value]
    if isinstance(value, dict):
        return {key: rewrite(item) for key, item in value.items()}
    return value


def stand_in_config(doc: dict[str, Any], stand_ins: StandIns) -> dict[str, Any]:
    """The synthesized document with its provider resources replaced by ``terraform_data`` stand-ins."""
    resources: dict[str, Any] = {}
    for data, section in ((False, doc.get("resource", {})), (True, doc.get("data", {}))):
        for kind, by_name in section.items():
            for name, config in by_name.items():
                body = {key: item for key, item in config.items() if key not in META_ARGUMENTS}
                depends_on = body.pop("depends_on", [])
                computed = stand_ins.computed(kind, name, body)
                stand_ins.values[f"{'data.' if data else ''}{kind}.{name}"] = {**body, **computed}
                entry: dict[str, Any] = {"input": rewrite({**body, **computed})}
                if depends_on:
                    entry["depends_on"] = rewrite(depends_on)
                resources[stand_in_name(data, kind, name)] = entry
    return {"resource": {"terraform_data": resources}, "output": rewrite(doc.get("output", {}))}


def evaluate_outputs(
    doc: dict[str, Any], workdir: Path, env: dict[str, str]
) -> tuple[dict[str, Any], StandIns]:
    """``terraform output -json`` for ``doc`` after applying its stand-ins, and the stand-in values used."""
    stand_ins = StandIns()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf.json").write_text(json.dumps(stand_in_config(doc, stand_ins), indent=1))
    for command in (
        ["init", "-input=false", "-no-color"],
        ["apply", "-auto-approve", "-input=false", "-no-color"],
    ):
        result = subprocess.run(
            ["terraform", *command],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, (
            f"terraform {command[0]} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    result = subprocess.run(
        ["terraform", "output", "-json"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout), stand_ins

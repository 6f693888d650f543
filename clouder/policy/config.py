"""Read the resources of a synthesized Terraform JSON configuration (CDKTF's ``cdk.tf.json`` and friends)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    body: dict[str, Any]
    file: str

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"


def config_files(root: Path) -> list[Path]:
    """The configuration files a policy scan covers: every ``*.tf.json`` except override files."""
    return sorted(p for p in root.glob("*.tf.json") if not p.name.endswith("_override.tf.json"))


def resources(root: Path) -> Iterator[Resource]:
    for path in config_files(root):
        document = json.loads(path.read_text(encoding="utf-8"))
        for kind, named in (document.get("resource") or {}).items():
            for name, body in (named or {}).items():
                for item in body if isinstance(body, list) else [body]:
                    yield Resource(kind, name, item, path.name)


def blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block as Terraform JSON may spell it: an object, or a list of objects, or nothing."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")

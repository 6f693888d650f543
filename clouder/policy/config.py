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
    """The configuration's own ``*.tf.json`` files (override files are merged into them, not scanned)."""
    return sorted(p for p in root.glob("*.tf.json") if not _is_override(p))


def _is_override(path: Path) -> bool:
    return path.name == "override.tf.json" or path.name.endswith("_override.tf.json")


def effective_documents(root: Path) -> dict[str, dict[str, Any]]:
    """File name -> document, with every override file merged in as Terraform merges it.

    An override's resource (or provider) replaces the original's top-level arguments one by one; a nested
    block in it replaces all blocks of that type. Scanning the originals alone would let an override
    file turn off what the gate checks.
    """
    documents = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in config_files(root)}
    overrides = sorted((p for p in root.glob("*.tf.json") if _is_override(p)), key=lambda p: p.name)
    for path in overrides:
        override = json.loads(path.read_text(encoding="utf-8"))
        for kind, named in (override.get("resource") or {}).items():
            for name, body in (named or {}).items():
                _merge_resource(documents, kind, name, body)
        for name, configs in (override.get("provider") or {}).items():
            for config in configs if isinstance(configs, list) else [configs]:
                _merge_provider(documents, name, config)
    return documents


def _merge_resource(documents: dict[str, dict[str, Any]], kind: str, name: str, body: Any) -> None:
    for document in documents.values():
        named = (document.get("resource") or {}).get(kind) or {}
        if name in named and isinstance(named[name], dict) and isinstance(body, dict):
            named[name] = {**named[name], **body}
            return


def _merge_provider(documents: dict[str, dict[str, Any]], name: str, config: Any) -> None:
    alias = config.get("alias") if isinstance(config, dict) else None
    for document in documents.values():
        configs = (document.get("provider") or {}).get(name)
        if configs is None:
            continue
        listed = configs if isinstance(configs, list) else [configs]
        for index, original in enumerate(listed):
            if isinstance(original, dict) and original.get("alias") == alias:
                listed[index] = {**original, **config}
                document["provider"][name] = listed
                return


def write_effective(root: Path, folder: Path) -> list[Path]:
    """The effective configuration as files in ``folder`` (same names), for scanners that read files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in effective_documents(root).items():
        path = folder / name
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        written.append(path)
    return written


def resources(root: Path) -> Iterator[Resource]:
    for file, document in effective_documents(root).items():
        for kind, named in (document.get("resource") or {}).items():
            for name, body in (named or {}).items():
                for item in body if isinstance(body, list) else [body]:
                    yield Resource(kind, name, item, file)


def blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block as Terraform JSON may spell it: an object, or a list of objects, or nothing."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")

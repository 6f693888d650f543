"""Validate manifests with kubernetes-validate against the schemas of the cluster's Kubernetes minor."""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from typing import Any

from clouder.errors import ClouderError
from clouder.events import Redactor
from clouder.kube.objects import ObjectRef

Obj = dict[str, Any]
BUILTIN_GROUPS = {"", "apps", "batch", "policy", "autoscaling"}


@cache
def bundled_minors() -> tuple[tuple[int, int], ...]:
    from kubernetes_validate.utils import all_versions

    found = set()
    for version in all_versions():
        major, minor = version.split(".")[:2]
        found.add((int(major), int(minor)))
    return tuple(sorted(found))


def schema_version(kubernetes_version: str) -> str:
    """The bundled schema version nearest to the cluster's release (e.g. 1.33.5 → 1.33.0)."""
    major, minor = (int(part) for part in kubernetes_version.removeprefix("v").split(".")[:2])
    nearest = min(bundled_minors(), key=lambda mm: (abs(mm[0] - major) * 100 + abs(mm[1] - minor), -mm[1]))
    return f"{nearest[0]}.{nearest[1]}.0"


def _builtin(group: str) -> bool:
    return group in BUILTIN_GROUPS or group.endswith(".k8s.io")


def problems(objects: list[Obj], kubernetes_version: str) -> list[str]:
    """Every schema violation, one line per object and field; custom resources pass unchecked."""
    version = schema_version(kubernetes_version)
    found: list[str] = []
    for obj in objects:
        problem = _check(json.dumps(obj, sort_keys=True), version)
        if problem:
            found.append(f"{ObjectRef.of(obj)}: {problem}")
    return found


@lru_cache(maxsize=4096)
def _check(document: str, version: str) -> str | None:
    """One object's problem, or None (cached: the same manifests recur across releases and runs)."""
    from jsonschema import ValidationError  # type: ignore[import-untyped]

    obj = json.loads(document)
    ref = ObjectRef.of(obj)
    validator = _validator(version, ref.kind, ref.api_version)
    if validator is None:
        return f"Kubernetes {version} has no {ref.kind} in {ref.api_version}" if _builtin(ref.group) else None
    try:
        validator.validate(obj)
    except ValidationError as err:
        where = ".".join(str(part) for part in err.absolute_path) or "(root)"
        return f"{where}: {err.message}"
    return None


@cache
def _validator(version: str, kind: str, api_version: str) -> Any:
    """kubernetes-validate's strict schema for one kind, built once per process.

    ``kubernetes_validate.validate`` re-reads the 1.4 MB definitions file on every call (~50 ms per
    object); this builds the same Draft 2020-12 validator from the same bundled files, once.
    """
    from jsonschema.validators import Draft202012Validator  # type: ignore[import-untyped]
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"{_folder(version)}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        return None
    registry: Registry[Any] = _definitions(version) @ (Resource.from_contents(schema) @ Registry())
    return Draft202012Validator(schema, registry=registry)


@cache
def _definitions(version: str) -> Any:
    from kubernetes_validate.utils import schema_contents
    from referencing import Resource

    return Resource.from_contents(schema_contents(f"{_folder(version)}/_definitions.json", version))


def _folder(version: str) -> str:
    return f"kubernetes-json-schema/v{version}-local-strict"


def validate(
    objects: list[Obj], kubernetes_version: str, release: str, redactor: Redactor | None = None
) -> None:
    found = problems(objects, kubernetes_version)
    if found:
        text = "\n".join(f"  - {line}" for line in found[:20])
        if redactor is not None:
            text = redactor.redact(text)
        more = f"\n  … and {len(found) - 20} more" if len(found) > 20 else ""
        raise ClouderError(
            f"release {release}: {len(found)} manifest(s) fail validation against Kubernetes "
            f"{schema_version(kubernetes_version)} schemas:\n{text}{more}",
            "Fix the chart values (or the chart pin) before applying anything.",
        )

"""Schema checks of the emulator (cases 012, 026): what a real kube-apiserver v1.36 refuses by type.

- Server-side apply first converts the body to a typed object: an undeclared field or a value of the wrong
  type is a 500 "failed to create typed patch object" (built-in kinds: the v1.36 schemas kubernetes-validate
  bundles; custom resources: their CRD's ``openAPIV3Schema``).
- A custom resource is then validated against its schema: wrong types, ``minimum``/``maximum``, ``enum``,
  ``required`` are a 422 Invalid with one cause per field (also for POST and PUT).
- A POST with undeclared fields of a custom resource is accepted and the fields pruned, unless
  ``fieldValidation=Strict`` (400).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from support.kubeapi_rules import ApiError, invalid

Obj = dict[str, Any]
IDENTITY = ("apiVersion", "kind", "metadata")
SCHEMA_VERSION = "1.36.0"  # the recording server's minor, as kubernetes-validate bundles it


def crd_schema(crds: list[Obj], group: str, plural: str, version: str) -> Obj | None:
    """The ``openAPIV3Schema`` of a custom resource's version, from its CRD."""
    for crd in crds:
        spec = crd.get("spec") or {}
        if spec.get("group") != group or (spec.get("names") or {}).get("plural") != plural:
            continue
        for served in spec.get("versions") or []:
            if served.get("name") == version:
                found = (served.get("schema") or {}).get("openAPIV3Schema")
                return found if isinstance(found, dict) else None
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "null"


def _node(schema: Obj, definitions: Obj) -> Obj:
    """A schema node with its ``$ref`` followed, nullable types and int-or-string unions made plain."""
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rpartition("/")[2]]
    if isinstance(schema.get("type"), list):  # ["object", "null"]
        schema = {**schema, "type": next((t for t in schema["type"] if t != "null"), None)}
    if "oneOf" in schema or "anyOf" in schema:  # int-or-string, quantities: any scalar
        schema = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "type")}
    return schema


def _typed(value: Any, schema: Obj, path: str, definitions: Obj, top: bool = False) -> str | None:
    """The first field an apply's typed conversion refuses (undeclared, or of the wrong type)."""
    if value is None:
        return None  # null: the field is unset (case 014)
    schema = _node(schema, definitions)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return f"{path}: expected map, got &{{{value}}}"
        declared, extra = schema.get("properties") or {}, schema.get("additionalProperties")
        for key, item in value.items():
            if top and key in IDENTITY:
                continue
            if key in declared:
                found = _typed(item, declared[key], f"{path}.{key}", definitions)
            elif isinstance(extra, dict):
                found = _typed(item, extra, f"{path}.{key}", definitions)
            elif extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                found = None
            else:
                found = f"{path}.{key}: field not declared in schema"
            if found:
                return found
        return None
    if kind == "array":
        if not isinstance(value, list):
            return f"{path}: expected list, got &{{{value}}}"
        items = schema.get("items") or {}
        return next((p for i in value if (p := _typed(i, items, path, definitions))), None)
    wanted = {"integer": "number", "number": "number", "string": "string", "boolean": "boolean"}.get(
        str(kind)
    )
    if wanted and _json_type(value) != wanted:
        shown = "numeric (int or float)" if wanted == "number" else wanted
        return f"{path}: expected {shown}, got {_json_type(value)}"
    return None


def _declared(value: Any, schema: Obj, top: bool = False) -> tuple[Any, list[str]]:
    """``value`` without the fields ``schema`` does not declare (pruning), and their paths."""
    if not isinstance(value, dict) or not (schema.get("type") == "object" or "properties" in schema):
        return value, []
    if schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("additionalProperties") is True:
        return value, []
    declared, extra = schema.get("properties") or {}, schema.get("additionalProperties")
    kept, dropped = {}, []
    for key, item in value.items():
        inner = declared.get(key) if key in declared else extra if isinstance(extra, dict) else None
        if top and key in IDENTITY:
            kept[key] = item
        elif inner is None:
            dropped.append(key)
        else:
            kept[key], below = _declared(item, inner)
            dropped += [f"{key}.{path}" for path in below]
    return kept, dropped


def refuse_untyped_apply(body: Obj, schema: Obj | None, where: str, definitions: Obj | None = None) -> None:
    """500 as server-side apply answers a body it cannot convert (case 012 built-in, 026 custom)."""
    if schema is None:
        return
    found = _typed(body, schema, "", definitions or {}, top=True)
    if found:
        raise ApiError(500, "", f"failed to create typed patch object ({where}): {found}")


def prune(obj: Obj, schema: Obj | None, strict: bool) -> Obj:
    """A POSTed custom resource without its undeclared fields; fieldValidation=Strict: 400 (case 026)."""
    if schema is None:
        return obj
    kept, dropped = _declared(obj, schema, top=True)
    if dropped and strict:
        kind = obj.get("kind", "")
        version = str(obj.get("apiVersion", "")).rpartition("/")[2]
        raise ApiError(400, "BadRequest", f'{kind} in version "{version}" cannot be handled as a {kind}: '
                       f'strict decoding error: unknown field "{dropped[0]}"')  # fmt: skip
    return dict(kept)


def validate_custom(obj: Obj, schema: Obj | None, kind: str, group: str) -> None:
    """422 Invalid for a custom resource that breaks its schema's constraints (case 026)."""
    if schema is None:
        return
    from jsonschema import Draft4Validator  # type: ignore[import-untyped]

    root = copy.deepcopy(schema)
    root["properties"] = {k: v for k, v in (root.get("properties") or {}).items() if k not in IDENTITY}
    body = {k: v for k, v in obj.items() if k not in IDENTITY}
    problems = []
    for error in sorted(Draft4Validator(root).iter_errors(body), key=lambda e: list(e.absolute_path)):
        field = ".".join(str(p) for p in error.absolute_path)
        value = error.instance
        if error.validator == "required":
            missing = error.message.split("'")[1]
            problems.append((f"{field}.{missing}".lstrip("."), "FieldValueRequired", "Required value"))
        elif error.validator == "type":
            shown = _json_type(value)
            must = f"must be of type {error.validator_value}"
            message = f'Invalid value: "{shown}": {field} in body {must}: "{shown}"'
            problems.append((field, "FieldValueTypeInvalid", message))
        elif error.validator == "enum":
            allowed = ", ".join(json.dumps(v) for v in error.validator_value)
            message = f"Unsupported value: {json.dumps(value)}: supported values: {allowed}"
            problems.append((field, "FieldValueNotSupported", message))
        else:
            bound = {"minimum": "greater than or equal to", "maximum": "less than or equal to"}.get(
                str(error.validator), error.validator
            )
            should = f"should be {bound} {error.validator_value}"
            message = f"Invalid value: {json.dumps(value)}: {field} in body {should}"
            problems.append((field, "FieldValueInvalid", message))
    if problems:
        raise invalid(kind, group, obj["metadata"].get("name", ""), problems)


def builtin_schema(kind: str, api_version: str) -> tuple[Obj, Obj] | None:
    """The v1.36 schema of a built-in kind and its definitions (kubernetes-validate's strict bundle)."""
    if (kind, api_version) not in _CACHE:
        _CACHE[(kind, api_version)] = _bundled(kind, api_version)
    return _CACHE[(kind, api_version)]


_CACHE: dict[tuple[str, str], tuple[Obj, Obj] | None] = {}


def _bundled(kind: str, api_version: str) -> tuple[Obj, Obj] | None:
    from kubernetes_validate.utils import schema_contents

    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # apps/v1 -> apps-v1, v1 -> v1
    folder = f"kubernetes-json-schema/v{SCHEMA_VERSION}-local-strict"
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group}.json", SCHEMA_VERSION)
        definitions = schema_contents(f"{folder}/_definitions.json", SCHEMA_VERSION)["$defs"]
    except FileNotFoundError:
        return None
    return schema, definitions

"""Read a spec file: YAML with line numbers, schema validation, cross-field rules, one clear report."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from clouder.errors import InvalidDocumentError, Problem
from clouder.spec import rules, sshkeys
from clouder.spec.model import API_VERSION, KIND, ClusterSpec, build_validators
from clouder.spec.yamlread import MAX_BYTES, load_yaml, read_document

MAX_SPEC_BYTES = MAX_BYTES


def load_spec(path: str | Path, check_files: bool = False) -> ClusterSpec:
    """Load and fully validate a spec file, or raise an error naming every problem found.

    With ``check_files``, files the spec names (the SSH public key) are read and checked too: commands
    that use them (validate, synth) ask for it; commands that only read the spec do not need them here.
    """
    source = str(path)
    text = read_document(Path(path), what="spec")
    return parse_spec(text, source, check_files)


def parse_spec(text: str, source: str = "<spec>", check_files: bool = False) -> ClusterSpec:
    node, data = load_yaml(text, source, what="spec")
    problems = list(duplicate_keys(node))
    if not isinstance(data, dict):
        line = node.start_mark.line + 1
        raise InvalidDocumentError(
            source,
            [
                Problem(
                    "",
                    "the spec must be a YAML mapping (apiVersion, kind, …).",
                    "Start from `clouder init`.",
                    line,
                )
            ],
        )
    problems += _version_problems(data, node)
    if problems:
        raise InvalidDocumentError(source, problems)
    build_validators()
    try:
        spec = ClusterSpec.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise InvalidDocumentError(source, problems_from_validation(exc, node, ClusterSpec)) from None
    found = rules.check(spec) + sshkeys.key_problems(spec.access, spec.cloud, read_files=check_files)
    found = [_with_line(problem, node) for problem in found]
    if found:
        raise InvalidDocumentError(source, found)
    return spec


def duplicate_keys(node: yaml.Node, path: str = "") -> typing.Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            child = f"{path}.{name}" if path else name
            if name in seen:
                yield Problem(
                    child,
                    "this key appears twice; YAML would silently keep only the last.",
                    "Remove one of them.",
                    key.start_mark.line + 1,
                )
            seen.add(name)
            yield from duplicate_keys(value, child)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from duplicate_keys(item, f"{path}[{index}]")


def _version_problems(data: dict[str, Any], node: yaml.Node) -> list[Problem]:
    version, kind = data.get("apiVersion"), data.get("kind")
    if version is not None and version != API_VERSION:
        hint = (
            f"This Clouder reads {API_VERSION}; "
            "a newer file needs a newer Clouder, an older one `clouder validate` after renaming."
        )
        return [_with_line(Problem("apiVersion", f"unsupported version {version!r}.", hint), node)]
    if kind is not None and kind != KIND:
        return [_with_line(Problem("kind", f"expected kind {KIND!r}, got {kind!r}.", ""), node)]
    return []


def problems_from_validation(
    exc: ValidationError, node: yaml.Node | None, model: type[BaseModel]
) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            loc += (str((error.get("ctx") or {}).get("discriminator", "")).strip("'"),)
        path, line = locate(loc, node)
        message, hint = _explain(error, model)
        problems.append(Problem(path, message, hint, line))
    return problems


def locate(loc: Sequence[int | str], node: yaml.Node | None) -> tuple[str, int | None]:
    """Turn a pydantic error location into a field path and the YAML line it points at."""
    parts: list[int | str] = []
    line = node.start_mark.line + 1 if node is not None else None
    for index, item in enumerate(loc):
        last = index == len(loc) - 1
        if item == "[key]":
            continue
        child = _child(node, item)
        if child is None:
            if isinstance(node, yaml.MappingNode) and not last:
                continue  # a union's tag in the location, not a key the user wrote
            parts.append(item)
            node = None
            continue
        key_line, node = child
        line = key_line
        parts.append(item)
    return _join(parts), line


def _child(node: yaml.Node | None, item: int | str) -> tuple[int, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(item):
                return key.start_mark.line + 1, value
    if isinstance(node, yaml.SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
        value = node.value[item]
        return value.start_mark.line + 1, value
    return None


def _join(parts: Sequence[int | str]) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _with_line(problem: Problem, node: yaml.Node) -> Problem:
    segments = problem.path.replace("]", "").replace("[", ".").split(".")
    loc: list[int | str] = []
    current: yaml.Node | None = node
    while segments:
        # A key may hold dots itself (a label such as node-role.kubernetes.io/worker): take the longest
        # run of segments that names a key of this mapping.
        size = next(
            (n for n in range(len(segments), 1, -1) if _child(current, ".".join(segments[:n])) is not None), 1
        )
        item: int | str = ".".join(segments[:size])
        if isinstance(item, str) and item.isdigit() and loc:
            item = int(item)
        found = _child(current, item)
        current = found[1] if found is not None else None
        loc.append(item)
        del segments[:size]
    _, line = locate(loc, node)
    return Problem(problem.path, problem.message, problem.hint, line)


# What each pattern in the models means, in the words the docs use (a regex is never shown to the user).
PATTERN_WORDS = {
    r"^[a-z_][a-z0-9_-]{0,31}$": "a Linux user name: lower-case letters, digits, '_' and '-', up to 32",
    r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$": "a pinned version like 1.2.3 (never 'latest')",
    r"^(https?|oci)://\S+$": "a chart repository URL starting with https://, http:// or oci://",
    r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$": "a Kubernetes quantity such as 500m, 2, 512Mi or 16Gi",
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$": "an S3 bucket name: 3-63 lower-case letters, digits, '.' and '-'",
    r"^[a-z0-9]{3,24}$": "a storage account name: 3-24 lower-case letters and digits",
    r"^(CKV2?_[A-Z0-9]+_\d+|CLOUDER_[A-Z0-9_]+)$": "a check ID such as CKV_AWS_79 or CLOUDER_IMDSV2",
    r"^ami-[0-9a-f]{8,17}$": "an AMI ID such as ami-0abcdef1234567890",
    r"^[-\w._()]+$": "a resource group name: letters, digits, '_', '-', '.', '(' and ')'",
    r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$": "a chart name as the repository lists it (lower-case letters, "
    "digits, '.' and '-'; never a path)",
    r"^(https|oci)://\S+$": "a chart repository URL starting with https:// or oci://",
}
_TYPE_WORDS = {
    "model_type": "a section of fields (key: value lines)",
    "model_attributes_type": "a section of fields (key: value lines)",
    "dict_type": "a mapping (key: value lines)",
    "list_type": "a list (lines starting with '- ')",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
}


def _explain(error: ErrorDetails, model: type[BaseModel]) -> tuple[str, str]:
    kind, value = error["type"], error.get("input")
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    loc = [part for part in error["loc"] if part != "[key]"]
    if kind == "missing":
        return "is required.", "Add it; `clouder schema` lists every field and examples/ shows them in use."
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"Did you mean `{close[0]}`? " if close else _elsewhere(model, str(loc[-1]))
        return "unknown field.", hint + (f"Fields allowed here: {', '.join(known)}." if known else "")
    if kind == "string_type" and isinstance(value, bool):
        words = "true" if value else "false"
        return f"expected text, but YAML read {words} (yes/no, on/off and true/false are booleans).", (
            'Quote it, e.g. "no".'
        )
    if kind == "string_type" and isinstance(value, int | float):
        return f"expected text, but YAML read a number (got {value!r}).", 'Quote it, e.g. "1.33.5".'
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        name = str(ctx.get("discriminator", "")).strip("'")
        allowed = str(ctx.get("expected_tags", "")).replace("'", "") or ", ".join(_tags_at(model, loc, name))
        if kind == "union_tag_not_found":
            return f"needs `{name}` to say which kind it is.", f"Set {name} to one of {allowed}."
        return f"unknown {name} {_short(ctx.get('tag'))}.", f"Use one of {allowed}." + _did_you_mean(
            ctx.get("tag"), allowed.split(", ")
        )
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace(" or ", ", ")
        options = [option.strip().strip("'") for option in expected.split(",")]
        words = ", ".join("true" if o == "True" else o for o in options)
        must = f"must be one of {words}" if len(options) > 1 else f"must be {words}"
        return f"{must} (got {_short(value)}).", _did_you_mean(value, options).strip()
    if kind == "string_pattern_mismatch":
        what = PATTERN_WORDS.get(str(ctx.get("pattern")), "a value in the documented format")
        return f"{_short(value)} is not {what}.", ""
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {_short(value)}.", ""
    bounds = {
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)} (got {_short(value)}).", ""
    if kind in {"too_short", "string_too_short"}:
        least = ctx.get("min_length", 1)
        return ("must not be empty." if least == 1 else f"needs at least {least} entries."), ""
    if kind in {"too_long", "string_too_long"}:
        return f"is too long (at most {ctx.get('max_length')}).", ""
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:] + ("" if message.endswith(".") else "."), ""


def _did_you_mean(value: object, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1)
    return f" Did you mean {close[0]}?" if close else ""


def _tags_at(model: type[BaseModel], loc: Sequence[int | str], name: str) -> list[str]:
    """The values the discriminator ``name`` may take in the union at ``loc``."""
    current: Any = model
    for item in loc:
        current = _descend(current, item)
    tags: list[str] = []
    for member in _members(current):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for field_name, field in member.model_fields.items():
                if name in (field_name, field.alias):
                    tags += [str(arg) for arg in typing.get_args(field.annotation)]
    return tags


def _short(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Names (as written in YAML) of the fields a model accepts at ``loc``."""
    current: Any = model
    for item in loc:
        current = _descend(current, item)
        if current is None:
            return []
    models = [m for m in _members(current) if isinstance(m, type) and issubclass(m, BaseModel)]
    return sorted({field.alias or name for m in models for name, field in m.model_fields.items()})


def _elsewhere(model: type[BaseModel], name: str) -> str:
    """Where else in the spec a field of this name lives (a key written in the wrong section)."""
    found: list[str] = []

    def walk(annotation: Any, path: str, depth: int) -> None:
        for member in _members(annotation):
            origin = typing.get_origin(member)
            if origin in (list, dict):
                walk(typing.get_args(member)[-1], f"{path}[]" if origin is list else f"{path}.*", depth)
            elif isinstance(member, type) and issubclass(member, BaseModel) and depth < 4:
                for field_name, field in member.model_fields.items():
                    key = field.alias or field_name
                    child = f"{path}.{key}" if path else key
                    if key == name:
                        found.append(child)
                    walk(field.annotation, child, depth + 1)

    walk(model, "", 0)
    return f"`{name}` belongs in {' or '.join(sorted(set(found))[:3])}. " if found else ""


def _descend(annotation: Any, item: int | str) -> Any:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name, field in member.model_fields.items():
                if item in (name, field.alias):
                    return field.annotation
            if any(item in typing.get_args(field.annotation) for field in member.model_fields.values()):
                return member  # the tag of a discriminated union (state: s3) names this member
        origin = typing.get_origin(member)
        if origin is list and isinstance(item, int):
            return typing.get_args(member)[0]
        if origin is dict:
            return typing.get_args(member)[1]
    return None


def _members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]

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
from clouder.spec.model import API_VERSION, KIND, ClusterSpec
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
    try:
        spec = ClusterSpec.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise InvalidDocumentError(source, problems_from_validation(exc, node, ClusterSpec)) from None
    found = rules.check(spec) + (sshkeys.key_problems(spec.access) if check_files else [])
    found = [_with_line(problem, node) for problem in found]
    if found:
        raise InvalidDocumentError(source, found)
    return spec


def compose_yaml(text: str, source: str, what: str) -> yaml.Node:
    """The node graph of a YAML document (bounded as ``load_yaml`` is), for line numbers."""
    return load_yaml(text, source, what)[0]


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
    loc: list[int | str] = []
    for segment in problem.path.replace("]", "").replace("[", ".").split("."):
        loc.append(int(segment) if segment.isdigit() and loc else segment)
    _, line = locate(loc, node)
    return Problem(problem.path, problem.message, problem.hint, line)


def _explain(error: ErrorDetails, model: type[BaseModel]) -> tuple[str, str]:
    kind, value = error["type"], error.get("input")
    loc = [part for part in error["loc"] if part != "[key]"]
    if kind == "missing":
        return "is required.", "Add it; `clouder schema` lists every field and examples/ shows them in use."
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"Did you mean `{close[0]}`? " if close else ""
        return "unknown field.", hint + (f"Fields allowed here: {', '.join(known)}." if known else "")
    if kind == "string_type" and isinstance(value, int | float):
        return f"expected text, but YAML read a number (got {value!r}).", 'Quote it, e.g. "1.33.5".'
    message = error["msg"].removeprefix("Value error, ")
    if (
        kind.endswith("_type")
        or kind.endswith("_parsing")
        or kind in {"literal_error", "string_pattern_mismatch"}
    ):
        message += f" (got {_short(value)})"
    return message[:1].lower() + message[1:] + ("" if message.endswith(".") else "."), ""


def _short(value: object) -> str:
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


def _descend(annotation: Any, item: int | str) -> Any:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name, field in member.model_fields.items():
                if item in (name, field.alias):
                    return field.annotation
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

"""Read the outputs contract from ``terraform output -json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from clouder.errors import InvalidDocumentError, Problem
from clouder.outputs.contract import OUTPUT_NAMES, ClusterOutputs
from clouder.spec.loader import locate


def parse_terraform_outputs(
    document: str | bytes | dict[str, Any], source: str = "terraform output"
) -> ClusterOutputs:
    """Parse the JSON that ``terraform output -json`` prints into the typed contract.

    Every missing or ill-typed output is reported at once, by output name and field path.
    """
    raw = _load(document, source)
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for name in OUTPUT_NAMES:
        entry = raw.get(name)
        if entry is None:
            problems.append(
                Problem(
                    name, "output is missing.", "Apply a stack that publishes the Clouder outputs contract."
                )
            )
        elif not isinstance(entry, dict) or "value" not in entry:
            problems.append(
                Problem(name, "is not in `terraform output -json` form ({value, type, sensitive}).", "")
            )
        else:
            values[name] = entry["value"]
    if problems:
        raise InvalidDocumentError(source, problems, what="outputs contract")
    try:
        return ClusterOutputs.model_validate(values)
    except ValidationError as exc:
        found = []
        tree = yaml.compose(json.dumps(values), Loader=yaml.SafeLoader)
        for error in exc.errors(include_url=False):
            path, _ = locate(error["loc"], tree)
            found.append(
                Problem(path, error["msg"].removeprefix("Value error, ") + f" (got {error['input']!r:.60})")
            )
        raise InvalidDocumentError(source, found, what="outputs contract") from None


def read_outputs_file(path: Path) -> ClusterOutputs:
    return parse_terraform_outputs(path.read_bytes(), source=str(path))


def _load(document: str | bytes | dict[str, Any], source: str) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    try:
        raw = json.loads(document)
    except json.JSONDecodeError as exc:
        raise InvalidDocumentError(
            source, [Problem("", f"not JSON: {exc.msg} at line {exc.lineno}.", "")], what="outputs contract"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidDocumentError(
            source, [Problem("", "expected a JSON object of outputs.", "")], what="outputs contract"
        )
    return raw

"""The problems `clouder validate` would report for a spec document (none: it is valid)."""

from __future__ import annotations

from typing import Any

import yaml

from clouder.errors import InvalidDocumentError, Problem
from clouder.spec import parse_spec


def problems_of(document: dict[str, Any]) -> list[Problem]:
    try:
        parse_spec(yaml.safe_dump(document))
    except InvalidDocumentError as error:
        return error.problems
    return []

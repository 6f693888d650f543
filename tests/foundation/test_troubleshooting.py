"""Every kind of error Clouder can raise is explained in docs/troubleshooting.md."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import clouder
from clouder.errors import BadInputError, ClouderError, InvalidDocumentError

REPO = Path(__file__).resolve().parents[2]
SKIP_PACKAGES = ("clouder.stacks", "clouder.modules")  # CDKTF constructs raise only the spec's errors


def _subclasses(cls: type[ClouderError]) -> set[type[ClouderError]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_error_class_is_documented() -> None:
    for info in pkgutil.walk_packages(clouder.__path__, "clouder."):
        if not info.name.startswith(SKIP_PACKAGES) and not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    page = (REPO / "docs" / "troubleshooting.md").read_text()
    classes = _subclasses(ClouderError) - {BadInputError, InvalidDocumentError}
    assert len(classes) >= 15
    missing = sorted(c.__name__ for c in classes if f"`{c.__name__}`" not in page)
    assert missing == [], f"explain these in docs/troubleshooting.md: {missing}"

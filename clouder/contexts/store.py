"""Contexts on disk: one YAML file in the user's config folder (XDG), written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml
from pydantic import ValidationError

from clouder.contexts.model import Context, ContextFile
from clouder.errors import BadInputError, InvalidDocumentError
from clouder.spec.loader import problems_from_validation
from clouder.spec.yamlread import load_yaml


def config_dir() -> Path:
    override = os.environ.get("CLOUDER_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path("clouder", appauthor=False)


class ContextStore:
    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or config_dir()) / "contexts.yaml"

    def load(self) -> ContextFile:
        # No file (or an empty one): no contexts, constructed rather than validated, since validating two
        # defaults would build the models' validators (~8 M instructions of `clouder validate`) for nothing.
        if not self.path.exists():
            return ContextFile.model_construct()
        text = self.path.read_text(encoding="utf-8")
        if not text.strip():
            return ContextFile.model_construct()
        # The bounded reader's node graph gives line numbers, and its value is the document (no second parse).
        node, data = load_yaml(text, str(self.path), what="context file")
        try:
            return ContextFile.model_validate(data)
        except ValidationError as exc:
            problems = problems_from_validation(exc, node, ContextFile)
            raise InvalidDocumentError(str(self.path), problems, what="context file") from None

    def save(self, contexts: ContextFile) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = contexts.model_dump(mode="json", by_alias=True, exclude_none=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".contexts.", suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def get(self, name: str | None = None) -> Context:
        contexts = self.load()
        wanted = name or contexts.current
        if wanted is None:
            raise BadInputError("no context is in use.", "Pick one with `clouder context use NAME`.")
        if wanted not in contexts.contexts:
            known = ", ".join(sorted(contexts.contexts)) or "none yet"
            raise BadInputError(
                f"no context named {wanted!r} (known: {known}).", "Add it with `clouder context add`."
            )
        return contexts.contexts[wanted]

    def add(self, context: Context, replace: bool = False, use: bool = False) -> None:
        contexts = self.load()
        if context.name in contexts.contexts and not replace:
            raise BadInputError(
                f"context {context.name!r} already exists.", "Pass --replace to overwrite it."
            )
        entries = dict(contexts.contexts) | {context.name: context}
        current = context.name if use or contexts.current is None else contexts.current
        self.save(ContextFile(current=current, contexts=entries))

    def use(self, name: str) -> None:
        contexts = self.load()
        self.get(name)
        self.save(ContextFile(current=name, contexts=contexts.contexts))

    def remove(self, name: str) -> None:
        contexts = self.load()
        self.get(name)
        entries = {key: value for key, value in contexts.contexts.items() if key != name}
        current = None if contexts.current == name else contexts.current
        self.save(ContextFile(current=current, contexts=entries))

"""Read a YAML document safely: bounded bytes, depth, aliases and expansion, so no input hangs or crashes.

PyYAML's Python parser produces the events and its Python composer builds the node graph, so that every node
passes through ``compose_node`` below, where depth and aliases are counted as they are read. libyaml's parser
(``yaml.cyaml.CParser``) would save ~13 M instructions of `clouder validate` but words syntax errors
differently ("found character that cannot start any token" loses the character): the messages stay PyYAML's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from clouder.errors import BadInputError, InvalidDocumentError, Problem

MAX_BYTES = 128 * 1024  # a spec is a few KB; even large value overrides fit many times over
MAX_DEPTH = 64  # a spec nests about 6 deep; chart values a dozen or so
MAX_ALIASES = 100
MAX_NODES = 50_000  # values after aliases are expanded (a YAML "billion laughs" expands to ~10^9)


class _Limit(yaml.YAMLError):
    def __init__(self, problem: str, hint: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem, self.hint, self.problem_mark = problem, hint, mark


class _BoundedLoader(Reader, Scanner, Parser, Composer, SafeConstructor, Resolver):
    """PyYAML's ``SafeLoader``, with a composer that counts depth and aliases."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.depth = 0
        self.aliases = 0
        self.open_anchors: set[str] = set()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in PyYAML's stubs
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if event.anchor in self.open_anchors:
                raise _Limit(
                    f"the alias *{event.anchor} refers to the value that contains it",
                    "A value cannot include itself: copy what you need instead.",
                    event.start_mark,
                )
            if self.aliases > MAX_ALIASES:
                raise _Limit(
                    f"more than {MAX_ALIASES} aliases (*name)",
                    "Write the values out; a spec needs few anchors.",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        self.depth += 1
        anchor: str | None = getattr(event, "anchor", None)
        if self.depth > MAX_DEPTH:
            mark = event.start_mark if event is not None else None
            raise _Limit(f"values nest more than {MAX_DEPTH} levels deep", "Flatten the document.", mark)
        if anchor is not None:
            self.open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1
            if anchor is not None:
                self.open_anchors.discard(anchor)


def read_document(path: Path, what: str) -> str:
    """The text of ``path`` (a file, a pipe, process substitution), read no further than ``MAX_BYTES``."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise BadInputError(
            f"{path}: no such file.", f"Check the path; `clouder init` writes a starter {what}."
        ) from None
    except IsADirectoryError:
        raise BadInputError(
            f"{path} is a directory, not a {what} file.", f"Name the YAML file of the {what}."
        ) from None
    except OSError as exc:
        raise BadInputError(
            f"{path}: cannot read ({exc.strerror or exc}).", "Check the path and its permissions."
        ) from None
    if len(data) > MAX_BYTES:
        raise BadInputError(
            f"{path} is larger than {MAX_BYTES // 1024} KiB; a {what} is a short YAML file.",
            "Check that you named the right file.",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"{path} is not UTF-8 text (byte {exc.start}).", f"Save the {what} as UTF-8."
        ) from None


def load_yaml(text: str, source: str, what: str) -> tuple[yaml.Node, object]:
    """The document's node graph (for line numbers) and its Python value, or a clear error."""
    if not text.strip():
        raise InvalidDocumentError(
            source, [Problem("", "the file is empty.", "Start from `clouder init`.")], what
        )
    try:
        loader = _BoundedLoader(text)  # PyYAML's reader checks every character here, before any parsing
    except yaml.reader.ReaderError as exc:
        where = text.count("\n", 0, exc.position) + 1
        reason = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
        hint = "Remove it, or write it as an escape (such as \\x01) inside double quotes."
        problem = Problem("", f"YAML syntax error: {reason}.", hint, where)
        raise InvalidDocumentError(source, [problem], what) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise InvalidDocumentError(source, [Problem("", "the file holds no document.", "")], what)
        _check_expansion(node)
        return node, loader.construct_document(node)
    except _Limit as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise InvalidDocumentError(source, [Problem("", f"{exc.problem}.", exc.hint, line)], what) from None
    except yaml.YAMLError as exc:
        raise InvalidDocumentError(source, [_syntax_problem(exc)], what) from None
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node) -> None:
    """Refuse documents whose aliases expand to more than ``MAX_NODES`` values (counted once per node)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        if total > MAX_NODES:
            raise _Limit(
                f"aliases expand this document to more than {MAX_NODES} values",
                "Write the values out; a spec is small.",
                node.start_mark,
            )
        sizes[id(node)] = total
        return total

    size(root)


def _syntax_problem(exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context", None) or ""
    context_mark = getattr(exc, "context_mark", None)
    reason = getattr(exc, "problem", None) or str(exc)
    hint = "Fix the indentation or quoting there."
    if "quoted scalar" in context and context_mark is not None:
        # The scanner notices an unclosed quote only where the file ends; point at the opening quote.
        mark = context_mark
        reason = "this quoted value is never closed"
        hint = "Add the closing quote on this line."
    line = mark.line + 1 if mark is not None else None
    return Problem("", f"YAML syntax error: {reason}.", hint, line)

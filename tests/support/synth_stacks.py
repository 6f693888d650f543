"""What the AWS and Azure synth helpers share: example spec copies and lookups in a synthesized stack.

The clouds' own modules (``aws_stacks``, ``azure_stacks``) hold their test keys, specs and session stacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SynthStack:
    """One synthesized stack: its spec, its ``cdk.tf.json`` and that document, parsed."""

    name: str
    spec: Any  # clouder.spec.model.ClusterSpec
    path: Path  # the cdk.tf.json
    doc: dict[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return dict(self.doc["resource"].get(kind, {}))

    def one(self, kind: str) -> dict[str, Any]:
        found = self.resources(kind)
        assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
        return next(iter(found.values()))

    def ref(self, kind: str, config: dict[str, Any], attribute: str = "id") -> str:
        """The ``${kind.name.attribute}`` expression of the resource whose config is ``config``."""
        for name, candidate in self.resources(kind).items():
            if candidate is config:
                return "${" + f"{kind}.{name}.{attribute}" + "}"
        raise KeyError(f"no {kind} with that config")


StackT = TypeVar("StackT", bound=SynthStack)


def synthesize(specs: dict[str, Any], outdir: Path, prefix: str, kind: type[StackT]) -> dict[str, StackT]:
    """Synthesize ``specs`` into one cdktf ``App`` in ``outdir``, as ``clouder synth`` does (stack
    ``<prefix>-<key>`` for each key), and read each stack back as a ``kind``."""
    from cdktf import App

    from clouder.synth import add_stack

    app = App(outdir=str(outdir))
    for key, spec in specs.items():
        add_stack(app, spec, stack_id=f"{prefix}-{key}")
    app.synth()
    stacks = {}
    for key, spec in specs.items():
        path = outdir / "stacks" / f"{prefix}-{key}" / "cdk.tf.json"
        stacks[key] = kind(key, spec, path, json.loads(path.read_text()))
    return stacks


def spec_copy(path: Path, example: str, public_key: str, /, **changes: Any) -> Path:
    """Write to ``path`` a copy of examples/``example`` with ``public_key`` and ``changes`` (dotted
    paths) applied."""
    document = yaml.safe_load((REPO / "examples" / example).read_text())
    access = document.setdefault("access", {})
    access.pop("publicKeyPath", None)
    access["publicKey"] = public_key
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = document
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    path.write_text(yaml.safe_dump(document))
    return path

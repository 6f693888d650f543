"""What the AWS and Azure synth helpers share: example spec copies and lookups in a synthesized stack.

The clouds' own modules (``aws_stacks``, ``azure_stacks``) hold their test keys, specs and session stacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from support.shared import build_once

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
    from clouder.synth import add_stack
    from clouder.synth.runtime import prepare

    for spec in specs.values():
        prepare(spec.cloud)  # before the first jsii import: the Node.js check, no jsii banners
    from cdktf import App

    app = App(outdir=str(outdir))
    for key, spec in specs.items():
        add_stack(app, spec, stack_id=f"{prefix}-{key}")
    app.synth()
    stacks = {}
    for key, spec in specs.items():
        path = outdir / "stacks" / f"{prefix}-{key}" / "cdk.tf.json"
        stacks[key] = kind(key, spec, path, json.loads(path.read_text()))
    return stacks


def shared_stacks(
    tmp_path_factory: pytest.TempPathFactory,
    prefix: str,
    write_specs: Callable[[Path], dict[str, Path]],
    kind: type[StackT],
) -> dict[str, StackT]:
    """The specs ``write_specs(folder)`` writes, synthesized once per test run (all xdist workers share
    them: only the first imports the CDK bindings) and read back as ``kind``. Tests only read them: a test
    that changes a stack copies it first."""
    from clouder.spec import load_spec

    def build(folder: Path) -> None:
        (folder / "specs").mkdir()
        files = write_specs(folder / "specs")
        synthesize({key: load_spec(path) for key, path in files.items()}, folder / "out", prefix, kind)
        (folder / "specs.json").write_text(json.dumps({key: str(path) for key, path in files.items()}))

    folder = build_once(tmp_path_factory, f"{prefix}-stacks", build)
    stacks = {}
    for key, spec_path in json.loads((folder / "specs.json").read_text()).items():
        path = folder / "out" / "stacks" / f"{prefix}-{key}" / "cdk.tf.json"
        stacks[key] = kind(key, load_spec(Path(spec_path)), path, json.loads(path.read_text()))
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

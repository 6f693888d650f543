"""Synthesis (stage 2): turn a spec into Terraform JSON with its cloud's CDKTF stack.

Only this package (through :func:`synthesize` / :func:`add_stack`) and ``clouder synth`` import the CDKTF
bindings, and only when called: importing ``clouder.synth`` itself stays cheap.

Each cloud registers its stack class here by import path; a stack class is called as
``StackClass(scope, id, spec)`` and lays out one Terraform root module.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clouder.errors import BadInputError

if TYPE_CHECKING:
    from constructs import Construct

    from clouder.spec.model import ClusterSpec

# cloud -> "module:Class" of the stack that lays out that cloud's cluster.
STACKS: dict[str, str] = {
    "aws": "clouder.stacks.aws:AwsClusterStack",
    "azure": "clouder.stacks.azure:AzureClusterStack",
}


def stack_class(cloud: str) -> Any:
    """The stack class registered for ``cloud`` (imports the cloud's bindings)."""
    try:
        target = STACKS[cloud]
    except KeyError:
        raise BadInputError(
            f"no stack is registered for cloud {cloud!r}.", f"Known clouds: {', '.join(sorted(STACKS))}."
        ) from None
    from clouder.synth.runtime import prepare

    prepare(cloud)
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def add_stack(scope: Construct, spec: ClusterSpec, stack_id: str | None = None) -> Any:
    """Add the spec's cluster stack to ``scope`` (a cdktf ``App``), named after the cluster by default."""
    return stack_class(spec.cloud)(scope, stack_id or spec.name, spec)


def synthesize(spec: ClusterSpec, outdir: Path) -> Path:
    """Synthesize the spec's stack under ``outdir``; returns the folder holding its ``cdk.tf.json``."""
    from clouder.synth.runtime import prepare

    prepare(spec.cloud)
    from cdktf import App

    outdir = Path(outdir)
    app = App(outdir=str(outdir))
    add_stack(app, spec)
    app.synth()
    return outdir / "stacks" / spec.name


__all__ = ["STACKS", "add_stack", "stack_class", "synthesize"]

"""Synthesis (stage 2): turn a spec into Terraform JSON with its cloud's CDKTF stack.

Only this package (through :func:`synthesize` / :func:`add_stack`) and ``clouder synth`` import the CDKTF
bindings, and only when called: importing ``clouder.synth`` itself stays cheap.

Each cloud registers its stack class in ``STACKS`` (a ``clouder.clouds`` registry) by import path; a stack
class is called as ``StackClass(scope, id, spec)`` and lays out one Terraform root module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from clouder.clouds import CloudRegistry

if TYPE_CHECKING:
    from constructs import Construct

    from clouder.spec.model import ClusterSpec

# cloud -> "module:Class" of the stack that lays out that cloud's cluster.
STACKS: CloudRegistry[Any] = CloudRegistry(
    "synthesis",
    {"aws": "clouder.stacks.aws:AwsClusterStack", "azure": "clouder.stacks.azure:AzureClusterStack"},
)


def stack_class(cloud: str) -> Any:
    """The stack class registered for ``cloud`` (imports the cloud's bindings)."""
    STACKS.require(cloud)
    from clouder.synth.runtime import prepare

    prepare(cloud)
    return STACKS[cloud]


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

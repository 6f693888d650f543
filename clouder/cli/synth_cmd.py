"""`clouder synth SPEC`: write the spec's Terraform (CDKTF-synthesized JSON) to a folder.

This is the only command that loads the CDKTF bindings (seconds and hundreds of MB), and only when it runs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from clouder.cli.app import Format, OutputOption, emit_json, output_format
from clouder.cli.options import SpecArg


def synth(
    spec: SpecArg,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output folder (default: <work folder>/<name>/cdktf.out; see docs/terraform.md).",
        ),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Synthesize the spec's stack to Terraform JSON (cdk.tf.json) without touching any cloud."""
    from clouder.spec import load_spec
    from clouder.workdir import cluster_dir

    fmt = output_format(output)
    loaded = load_spec(spec)
    outdir = out if out is not None else cluster_dir(loaded) / "cdktf.out"
    started = time.monotonic()
    from clouder.synth import synthesize

    stack_dir = synthesize(loaded, outdir)
    document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    resources = sum(len(kind) for kind in document.get("resource", {}).values())
    summary = {
        "ok": True,
        "cluster": loaded.name,
        "cloud": loaded.cloud,
        "stack": str(stack_dir),
        "file": str(stack_dir / "cdk.tf.json"),
        "resources": resources,
        "outputs": sorted(document.get("output", {})),
        "seconds": round(time.monotonic() - started, 2),
    }
    if fmt is Format.json:
        emit_json(summary)
        return
    from clouder.rehearse.run import rehearses_whole_pipeline

    rehearse = f", or `clouder rehearse {spec}` to run the whole pipeline on this machine first"
    typer.echo(
        f"synthesized {loaded.name} ({loaded.cloud}): {resources} resources -> {summary['file']}\n"
        f"next: `clouder plan {spec}` (Terraform plan and policy gate)"
        + (rehearse if rehearses_whole_pipeline(loaded.cloud) else "")
    )


def register(app: typer.Typer) -> None:
    app.command()(synth)

"""`clouder init`, `validate` and `schema`: write, check and describe cluster specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from clouder.cli.app import Format, OutputOption, VerboseOption, emit_json, output_format, verbosity
from clouder.cli.options import SpecArg
from clouder.errors import BadInputError, ClouderError, InvalidDocumentError


def init(
    cloud: Annotated[str, typer.Option("--cloud", help="aws or azure.")],
    name: Annotated[str, typer.Option("--name", help="Cluster name (a DNS label).")] = "demo",
    file: Annotated[Path, typer.Option("--file", "-f", help="Where to write the spec.")] = Path(
        "cluster.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter spec for AWS or Azure."""
    from clouder.spec.starter import render_starter

    text = render_starter(cloud, name)
    if file.exists() and not force:
        raise BadInputError(
            f"{file} already exists.", "Pass --force to overwrite it or --file to pick another path."
        )
    file.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {file} ({cloud}); next: edit it, then `clouder validate {file}`")


def validate(
    spec: SpecArg,
    output: OutputOption = None,
    verbose: VerboseOption = None,
) -> None:
    """Check a spec: schema, cross-field rules and its context. Exit 0 valid, 2 invalid.

    With --verbose, also print the spec with every default filled in.
    """
    from clouder.contexts.check import context_warnings
    from clouder.spec import load_spec

    fmt = output_format(output)
    verbose = verbosity(verbose)
    loaded = load_spec(spec, check_files=True)
    warnings = context_warnings(loaded, str(spec))
    summary: dict[str, Any] = {
        "ok": True,
        "file": str(spec),
        "cluster": loaded.name,
        "cloud": loaded.cloud,
        "region": loaded.region,
        "kubernetes": loaded.kubernetes.version,
        "controlPlanes": loaded.control_plane.count,
        "workers": sum(pool.count for pool in loaded.node_pools),
        "pools": [pool.name for pool in loaded.node_pools],
        "warnings": warnings,
    }
    if verbose:
        summary["resolved"] = loaded.model_dump(mode="json", by_alias=True)
    if fmt is Format.json:
        emit_json(summary)
        return
    typer.echo(
        f"{spec}: valid — cluster {loaded.name} on {loaded.cloud} {loaded.region}, Kubernetes "
        f"{loaded.kubernetes.version}, {summary['controlPlanes']} control plane(s), "
        f"{summary['workers']} worker(s) in {len(loaded.node_pools)} pool(s)"
    )
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    if verbose:
        import yaml

        typer.echo("# the spec as Clouder reads it, defaults filled in:")
        typer.echo(yaml.safe_dump(summary["resolved"], sort_keys=False), nl=False)


def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Write to a file instead of stdout.")] = None,
) -> None:
    """Print the spec's JSON Schema (for editors' YAML language servers)."""
    from clouder.spec.schema import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(validate)
    app.command()(schema)


__all__ = ["ClouderError", "InvalidDocumentError", "register"]

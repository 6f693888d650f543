"""`clouder status SPEC`: infrastructure, nodes, add-ons and services at a glance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clouder.cli.app import Format, OutputOption, emit_json, output_format


def status(
    spec: Annotated[Path, typer.Argument(help="The cluster spec (YAML).")],
    outputs: Annotated[
        Path | None, typer.Option("--outputs", help="Outputs contract (default: the cluster's outputs.json).")
    ] = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Admin kubeconfig (default: the one bootstrap fetched)."),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Show infrastructure, nodes, add-ons and services at a glance (reads only)."""
    from clouder import workdir
    from clouder.cli.rollout_cmd import read_outputs
    from clouder.errors import ClouderError
    from clouder.kube import Kube
    from clouder.observe.status import cluster_status, render
    from clouder.spec import load_spec

    fmt = output_format(output)
    loaded = load_spec(spec)
    contract = read_outputs(loaded, outputs)
    path = kubeconfig or workdir.kubeconfig_path(loaded)
    events = workdir.events_path(loaded)
    kube = None
    problem = ""
    try:
        kube = Kube.from_kubeconfig(path)
    except ClouderError as exc:
        problem = exc.message
    try:
        result = cluster_status(loaded, contract, kube, events, problem)
    finally:
        if kube is not None:
            kube.close()
    if fmt is Format.json:
        emit_json(result.as_dict())
    else:
        typer.echo(render(result))


def register(app: typer.Typer) -> None:
    app.command()(status)

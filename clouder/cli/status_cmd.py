"""`clouder status SPEC`: infrastructure, nodes, add-ons and services at a glance."""

from __future__ import annotations

import typer

from clouder.cli.app import Format, OutputOption, emit_json, output_format
from clouder.cli.options import KubeconfigOpt, OutputsOpt, SpecArg


def status(
    spec: SpecArg,
    outputs: OutputsOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOption = None,
) -> None:
    """Show infrastructure, nodes, add-ons and services at a glance (reads only)."""
    from clouder import workdir
    from clouder.cli.load import find_outputs
    from clouder.errors import ClouderError
    from clouder.kube import Kube
    from clouder.observe.status import cluster_status, render
    from clouder.spec import load_spec

    fmt = output_format(output)
    loaded = load_spec(spec)
    contract = find_outputs(loaded, outputs)
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

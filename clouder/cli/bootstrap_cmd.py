"""`clouder bootstrap SPEC`: kubeadm over SSH on the nodes of the outputs contract, with progress per host."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clouder.cli.app import Format, OutputOption, emit_json, output_format
from clouder.cli.options import (
    CommandOpt,
    ConnectOpt,
    HostKeysFromConsoleOpt,
    OutputsOpt,
    SpecArg,
    SshAllowOpt,
    SshMapOpt,
)
from clouder.errors import ClouderError

if TYPE_CHECKING:
    from clouder.bootstrap.run import BootstrapReport


def _summary(report: BootstrapReport) -> None:
    verb = "would bootstrap" if report.dry_run else "bootstrapped"
    state = "ok" if report.ok else f"{len(report.failed)} host(s) failed"
    typer.echo(f"{verb} {report.cluster}: {state}")
    for host in report.hosts:
        if host.error:
            error = host.error.removeprefix(f"{host.name}: ")
            typer.echo(f"  {host.name}: FAILED {error}" + (f" {host.hint}" if host.hint else ""))
        elif report.dry_run:
            typer.echo(f"  {host.name}: " + ("; ".join(host.planned) or "nothing to do"))
        else:
            typer.echo(f"  {host.name}: ok (ran {', '.join(host.ran) or 'nothing'})")
    for note in report.notes:
        typer.echo(f"note: {note}")
    if report.kubeconfig:
        typer.echo(f"admin kubeconfig: {report.kubeconfig} (export KUBECONFIG={report.kubeconfig})")


def bootstrap(
    spec: SpecArg,
    outputs: OutputsOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Probe the nodes; print what each would get.")
    ] = False,
    break_lock: Annotated[
        bool,
        typer.Option("--break-lock", help="Take over a stale bootstrap lock (only if no run is active)."),
    ] = False,
    merge_kubeconfig: Annotated[
        Path | None,
        typer.Option("--merge-kubeconfig", help="Also merge the admin context into this kubeconfig."),
    ] = None,
    connect_timeout: ConnectOpt = 15.0,
    command_timeout: CommandOpt = 600.0,
    attempts: Annotated[int, typer.Option(help="Connection attempts per host (with backoff).")] = 4,
    ssh_map: SshMapOpt = None,
    ssh_allow: SshAllowOpt = None,
    host_keys_from_console: HostKeysFromConsoleOpt = False,
    output: OutputOption = None,
) -> None:
    """Bootstrap the cluster over SSH: kubeadm init, joins, admin kubeconfig. Safe to re-run."""
    import dataclasses

    from clouder.bootstrap.run import bootstrap as run_bootstrap
    from clouder.bootstrap.run import default_options
    from clouder.cli import progress
    from clouder.cli.load import event_log, load_cluster, ssh_options

    fmt = output_format(output)
    cluster = load_cluster(spec, outputs)
    options = default_options(
        cluster.spec, dry_run=dry_run, break_lock=break_lock, merge_kubeconfig=merge_kubeconfig
    )
    flags = ssh_options(
        ssh_map, ssh_allow, connect_timeout, command_timeout, attempts,
        cluster.spec.cloud, host_keys_from_console,
    )  # fmt: skip
    options = dataclasses.replace(options, ssh=flags(options.ssh))
    events = event_log(cluster.spec, fmt, progress.hosts(22))
    report = run_bootstrap(cluster.spec, cluster.outputs, options, events)
    if fmt is Format.json:
        emit_json(report.as_dict())
    else:
        _summary(report)
    if not report.ok:
        names = ", ".join(host.name for host in report.failed)
        error = ClouderError(
            f"bootstrap of {report.cluster} failed on {names}.", "Fix the cause and run again."
        )
        if fmt is Format.json:
            raise typer.Exit(error.exit_code)
        raise error


def register(app: typer.Typer) -> None:
    app.command()(bootstrap)

"""`clouder bootstrap SPEC`: kubeadm over SSH on the nodes of the outputs contract, with progress per host."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clouder.cli.app import Format, OutputOption, emit_json, output_format
from clouder.errors import BadInputError, ClouderError

if TYPE_CHECKING:
    from clouder.bootstrap.run import BootstrapReport
    from clouder.events import Event


def _progress(event: Event) -> None:
    took = f" ({event.duration_s:.1f}s)" if event.duration_s is not None else ""
    detail = f": {event.detail}" if event.detail else ""
    sys.stderr.write(f"  {event.host or '-':<12} {event.phase:<22} {event.outcome}{took}{detail}\n")
    sys.stderr.flush()


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


def _address_map(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(
            f"--ssh-map {path}: cannot read a JSON object of name -> address ({exc})."
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise BadInputError(f"--ssh-map {path}: expected a JSON object of name -> 'address[:port]'.")
    return {str(k): v for k, v in data.items()}


def bootstrap(
    spec: Annotated[Path, typer.Argument(help="The cluster spec (YAML).")],
    outputs: Annotated[
        Path | None, typer.Option("--outputs", help="Outputs contract (default: the cluster's outputs.json).")
    ] = None,
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
    connect_timeout: Annotated[float, typer.Option(help="Seconds to connect and log in.")] = 15.0,
    command_timeout: Annotated[float, typer.Option(help="Seconds one remote command may take.")] = 600.0,
    attempts: Annotated[int, typer.Option(help="Connection attempts per host (with backoff).")] = 4,
    ssh_map: Annotated[
        Path | None,
        typer.Option("--ssh-map", help="Rehearsals: JSON of node name -> address actually dialled."),
    ] = None,
    ssh_allow: Annotated[
        list[str] | None, typer.Option("--ssh-allow", help="Refuse SSH to addresses outside these CIDRs.")
    ] = None,
    host_keys_from_console: Annotated[
        bool,
        typer.Option(
            "--host-keys-from-console",
            help="Trust a host's first SSH key only if cloud-init printed it to the instance's console "
            "(AWS: EC2 GetConsoleOutput, needs boto3 and ec2:GetConsoleOutput).",
        ),
    ] = False,
    output: OutputOption = None,
) -> None:
    """Bootstrap the cluster over SSH: kubeadm init, joins, admin kubeconfig. Safe to re-run."""
    import dataclasses

    from clouder.bootstrap.run import bootstrap as run_bootstrap
    from clouder.bootstrap.run import default_options
    from clouder.events import EventLog
    from clouder.hosts.options import parse_networks
    from clouder.outputs import read_outputs_file
    from clouder.spec import load_spec
    from clouder.workdir import events_path, outputs_path

    fmt = output_format(output)
    loaded = load_spec(spec)
    source = outputs or outputs_path(loaded)
    if not source.exists():
        raise BadInputError(
            f"no outputs contract at {source}.", "Run `clouder apply` first, or pass --outputs FILE."
        )
    contract = read_outputs_file(source)
    options = default_options(
        loaded, dry_run=dry_run, break_lock=break_lock, merge_kubeconfig=merge_kubeconfig
    )
    try:
        networks = parse_networks(ssh_allow) if ssh_allow else None
    except ValueError as exc:
        raise BadInputError(f"--ssh-allow: {exc}") from None
    ssh = dataclasses.replace(
        options.ssh,
        connect_timeout=connect_timeout,
        command_timeout=command_timeout,
        attempts=attempts,
        address_map=_address_map(ssh_map),
        allowed_networks=networks,
    )
    if host_keys_from_console:
        from clouder.hosts.console import console_reader

        ssh = dataclasses.replace(ssh, console=console_reader(contract))
    options = dataclasses.replace(options, ssh=ssh)
    events = EventLog(events_path(loaded))
    if fmt is Format.text:
        events.listeners.append(_progress)
    report = run_bootstrap(loaded, contract, options, events)
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

"""`clouder upgrade`, `scale`, `remove-node`, `repair-node`: day-2 operations on a running cluster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clouder.cli.app import Format, OutputOption, emit_json, output_format
from clouder.errors import BadInputError, ClouderError

if TYPE_CHECKING:
    from clouder.lifecycle.session import LifecycleOptions, LifecycleReport
    from clouder.observe.events import Event, EventLog
    from clouder.outputs import ClusterOutputs
    from clouder.spec.model import ClusterSpec

SpecArg = Annotated[Path, typer.Argument(help="The cluster spec (YAML).")]
OutputsOpt = Annotated[
    Path | None, typer.Option("--outputs", help="Outputs contract (default: the cluster's outputs.json).")
]
KubeconfigOpt = Annotated[
    Path | None, typer.Option("--kubeconfig", help="Admin kubeconfig (default: the one bootstrap fetched).")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Probe the nodes; print what each would get.")]
BreakLockOpt = Annotated[
    bool, typer.Option("--break-lock", help="Take over a stale cluster lock (only if no run is active).")
]
SkipChecksOpt = Annotated[
    bool, typer.Option("--skip-checks", help="Do not run the smoke checks before and after each step.")
]
CheckTimeoutOpt = Annotated[float, typer.Option("--check-timeout", help="Seconds each smoke probe may take.")]
PollOpt = Annotated[float, typer.Option("--poll-interval", hidden=True, help="Seconds between API polls.")]
ConnectOpt = Annotated[float, typer.Option("--connect-timeout", help="Seconds to connect and log in.")]
CommandOpt = Annotated[float, typer.Option("--command-timeout", help="Seconds one remote command may take.")]
AttemptsOpt = Annotated[int, typer.Option("--attempts", help="Connection attempts per host (with backoff).")]
SshMapOpt = Annotated[
    Path | None,
    typer.Option("--ssh-map", help="Rehearsals: JSON of node name -> address actually dialled."),
]
SshAllowOpt = Annotated[
    list[str] | None, typer.Option("--ssh-allow", help="Refuse SSH to addresses outside these CIDRs.")
]


def _progress(event: Event) -> None:
    took = f" ({event.duration_s:.1f}s)" if event.duration_s is not None else ""
    detail = f": {event.detail}" if event.detail else ""
    sys.stderr.write(f"  {event.host or '-':<12} {event.phase:<26} {event.outcome}{took}{detail}\n")
    sys.stderr.flush()


def _load(spec_path: Path, outputs: Path | None) -> tuple[ClusterSpec, ClusterOutputs]:
    from clouder.outputs import read_outputs_file
    from clouder.spec import load_spec
    from clouder.workdir import outputs_path

    spec = load_spec(spec_path)
    source = outputs or outputs_path(spec)
    if not source.exists():
        raise BadInputError(
            f"no outputs contract at {source}.", "Run `clouder apply` first, or pass --outputs FILE."
        )
    return spec, read_outputs_file(source)


def _options(
    spec: ClusterSpec,
    kubeconfig: Path | None,
    *,
    dry_run: bool,
    break_lock: bool,
    skip_checks: bool,
    check_timeout: float,
    poll_interval: float,
    connect_timeout: float,
    command_timeout: float,
    attempts: int,
    ssh_map: Path | None,
    ssh_allow: list[str] | None,
) -> LifecycleOptions:
    import dataclasses

    from clouder.bootstrap.options import parse_networks
    from clouder.cli.bootstrap_cmd import _address_map
    from clouder.lifecycle.session import default_options

    options = default_options(
        spec,
        kubeconfig,
        dry_run=dry_run,
        break_lock=break_lock,
        smoke_checks=not skip_checks,
        check_timeout=check_timeout,
        poll_interval=poll_interval,
    )
    try:
        networks = parse_networks(ssh_allow) if ssh_allow else None
    except ValueError as exc:
        raise BadInputError(f"--ssh-allow: {exc}") from None
    ssh = dataclasses.replace(
        options.bootstrap.ssh,
        connect_timeout=connect_timeout,
        command_timeout=command_timeout,
        attempts=attempts,
        address_map=_address_map(ssh_map),
        allowed_networks=networks,
    )
    return dataclasses.replace(options, bootstrap=dataclasses.replace(options.bootstrap, ssh=ssh))


def _events(spec: ClusterSpec, fmt: Format) -> EventLog:
    from clouder.observe.events import EventLog
    from clouder.workdir import events_path

    events = EventLog(events_path(spec))
    if fmt is Format.text:
        events.listeners.append(_progress)
    return events


def _finish(report: LifecycleReport, fmt: Format) -> None:
    if fmt is Format.json:
        emit_json({**report.as_dict()})
    else:
        _summary(report)
    if not report.ok:
        if fmt is Format.json:
            raise typer.Exit(1)
        raise ClouderError(
            f"{report.operation} of {report.cluster} stopped: {report.stopped or 'a node failed'}.",
            report.resume or "Fix the cause and run again.",
        )


def _summary(report: LifecycleReport) -> None:
    verb = f"would {report.operation}" if report.dry_run else report.operation
    target = report.details.get("target")
    head = f"{verb} {report.cluster}" + (f" to {target}" if target else "")
    typer.echo(f"{head}: {'ok' if report.ok else 'STOPPED'}")
    for node in report.nodes:
        line = f"  {node.name:<14} {node.role:<13} {node.state}"
        if node.error:
            line += f": {node.error}" + (f" {node.hint}" if node.hint else "")
        elif node.planned:
            line += ": " + "; ".join(node.planned)
        elif node.ran:
            line += f" (ran {', '.join(node.ran)})"
        typer.echo(line)
    failed_checks = [c for c in report.checks if not c.ok]
    if report.checks:
        typer.echo(f"smoke checks: {len(report.checks) - len(failed_checks)}/{len(report.checks)} passed")
    for check in failed_checks:
        typer.echo(f"  FAIL {check.stage}: {check.name}: {check.detail}")
    for note in report.notes:
        typer.echo(f"note: {note}")
    if report.stopped:
        typer.echo(f"stopped at: {report.stopped}")
    if report.resume:
        typer.echo(report.resume)


def upgrade(
    spec: SpecArg,
    to: Annotated[
        str | None, typer.Option("--to", help="Target release (default: the spec's kubernetes.version).")
    ] = None,
    outputs: OutputsOpt = None,
    kubeconfig: KubeconfigOpt = None,
    dry_run: DryRunOpt = False,
    break_lock: BreakLockOpt = False,
    skip_checks: SkipChecksOpt = False,
    check_timeout: CheckTimeoutOpt = 180.0,
    poll_interval: PollOpt = 2.0,
    connect_timeout: ConnectOpt = 15.0,
    command_timeout: CommandOpt = 600.0,
    attempts: AttemptsOpt = 4,
    ssh_map: SshMapOpt = None,
    ssh_allow: SshAllowOpt = None,
    output: OutputOption = None,
) -> None:
    """Upgrade Kubernetes by one minor: control planes first, then workers in batches; resumable."""
    from clouder.kube.client import Kube
    from clouder.lifecycle.upgrade import upgrade as run_upgrade

    fmt = output_format(output)
    loaded, contract = _load(spec, outputs)
    options = _options(
        loaded, kubeconfig, dry_run=dry_run, break_lock=break_lock, skip_checks=skip_checks,
        check_timeout=check_timeout, poll_interval=poll_interval, connect_timeout=connect_timeout,
        command_timeout=command_timeout, attempts=attempts, ssh_map=ssh_map, ssh_allow=ssh_allow,
    )  # fmt: skip
    events = _events(loaded, fmt)
    with Kube.from_kubeconfig(options.kubeconfig, events.redactor) as kube:
        report = run_upgrade(loaded, contract, kube, options, events, to)
    _finish(report, fmt)


def _run_async(coroutine: Any) -> LifecycleReport:
    import asyncio

    report: LifecycleReport = asyncio.run(coroutine)
    return report


def scale(
    spec: SpecArg,
    outputs: OutputsOpt = None,
    kubeconfig: KubeconfigOpt = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve destroying control-plane VMs (scaling them down).")
    ] = False,
    approval_file: Annotated[
        Path | None, typer.Option("--approval-file", help="YAML approval naming the cluster and plan hash.")
    ] = None,
    stack: Annotated[
        Path | None, typer.Option("--stack", help="Use this synthesized stack folder (no synthesis).")
    ] = None,
    dry_run: DryRunOpt = False,
    break_lock: BreakLockOpt = False,
    skip_checks: SkipChecksOpt = False,
    check_timeout: CheckTimeoutOpt = 180.0,
    poll_interval: PollOpt = 2.0,
    connect_timeout: ConnectOpt = 15.0,
    command_timeout: CommandOpt = 600.0,
    attempts: AttemptsOpt = 4,
    ssh_map: SshMapOpt = None,
    ssh_allow: SshAllowOpt = None,
    output: OutputOption = None,
) -> None:
    """Scale node pools (and control planes) to the spec: drain and reset removed nodes before Terraform
    destroys their VMs, then join the new ones."""
    from clouder.kube.client import Kube
    from clouder.lifecycle.infra import TerraformInfra
    from clouder.lifecycle.nodes import scale_async
    from clouder.terraform.stackcache import ensure_stack
    from clouder.terraform.workflow import Workflow

    fmt = output_format(output)
    loaded, contract = _load(spec, outputs)
    options = _options(
        loaded, kubeconfig, dry_run=dry_run, break_lock=break_lock, skip_checks=skip_checks,
        check_timeout=check_timeout, poll_interval=poll_interval, connect_timeout=connect_timeout,
        command_timeout=command_timeout, attempts=attempts, ssh_map=ssh_map, ssh_allow=ssh_allow,
    )  # fmt: skip
    events = _events(loaded, fmt)
    folder = stack if stack is not None else ensure_stack(loaded)[0]
    infra = TerraformInfra(Workflow(loaded, folder, events=events), approve, approval_file)
    with Kube.from_kubeconfig(options.kubeconfig, events.redactor) as kube:
        report = _run_async(scale_async(loaded, contract, kube, options, events, infra))
    _finish(report, fmt)


def remove_node(
    spec: SpecArg,
    names: Annotated[list[str], typer.Argument(help="Node names (as `clouder output` lists them).")],
    outputs: OutputsOpt = None,
    kubeconfig: KubeconfigOpt = None,
    dry_run: DryRunOpt = False,
    break_lock: BreakLockOpt = False,
    poll_interval: PollOpt = 2.0,
    connect_timeout: ConnectOpt = 15.0,
    command_timeout: CommandOpt = 600.0,
    attempts: AttemptsOpt = 4,
    ssh_map: SshMapOpt = None,
    ssh_allow: SshAllowOpt = None,
    output: OutputOption = None,
) -> None:
    """Cordon, drain, `kubeadm reset` and delete nodes from the cluster, one at a time (VMs stay)."""
    from clouder.kube.client import Kube
    from clouder.lifecycle.nodes import remove_async

    fmt = output_format(output)
    loaded, contract = _load(spec, outputs)
    options = _options(
        loaded, kubeconfig, dry_run=dry_run, break_lock=break_lock, skip_checks=True,
        check_timeout=0.0, poll_interval=poll_interval, connect_timeout=connect_timeout,
        command_timeout=command_timeout, attempts=attempts, ssh_map=ssh_map, ssh_allow=ssh_allow,
    )  # fmt: skip
    events = _events(loaded, fmt)
    with Kube.from_kubeconfig(options.kubeconfig, events.redactor) as kube:
        report = _run_async(remove_async(loaded, contract, kube, options, events, names))
    _finish(report, fmt)


def repair_node(
    spec: SpecArg,
    name: Annotated[str, typer.Argument(help="The node that failed to join.")],
    force: Annotated[bool, typer.Option("--force", help="Reset and re-join even a Ready node.")] = False,
    outputs: OutputsOpt = None,
    kubeconfig: KubeconfigOpt = None,
    dry_run: DryRunOpt = False,
    break_lock: BreakLockOpt = False,
    poll_interval: PollOpt = 2.0,
    connect_timeout: ConnectOpt = 15.0,
    command_timeout: CommandOpt = 600.0,
    attempts: AttemptsOpt = 4,
    ssh_map: SshMapOpt = None,
    ssh_allow: SshAllowOpt = None,
    output: OutputOption = None,
) -> None:
    """Repair a node that failed to join: `kubeadm reset`, delete its Node, join it again."""
    from clouder.kube.client import Kube
    from clouder.lifecycle.nodes import repair_async

    fmt = output_format(output)
    loaded, contract = _load(spec, outputs)
    options = _options(
        loaded, kubeconfig, dry_run=dry_run, break_lock=break_lock, skip_checks=True,
        check_timeout=0.0, poll_interval=poll_interval, connect_timeout=connect_timeout,
        command_timeout=command_timeout, attempts=attempts, ssh_map=ssh_map, ssh_allow=ssh_allow,
    )  # fmt: skip
    events = _events(loaded, fmt)
    with Kube.from_kubeconfig(options.kubeconfig, events.redactor) as kube:
        report = _run_async(repair_async(loaded, contract, kube, options, events, name, force))
    _finish(report, fmt)


def register(app: typer.Typer) -> None:
    app.command()(upgrade)
    app.command()(scale)
    app.command("remove-node")(remove_node)
    app.command("repair-node")(repair_node)

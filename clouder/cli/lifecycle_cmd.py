"""`clouder upgrade`, `scale`, `remove-node`, `repair-node`: day-2 operations on a running cluster."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clouder.cli.app import Format, OutputOption, emit_json, output_format
from clouder.cli.options import (
    CommandOpt,
    ConnectOpt,
    HostKeysFromConsoleOpt,
    KubeconfigOpt,
    OutputsOpt,
    SpecArg,
    SshAllowOpt,
    SshMapOpt,
)
from clouder.errors import ClouderError

if TYPE_CHECKING:
    from typing import TypeVarTuple

    from clouder.events import EventLog
    from clouder.kube.client import Kube
    from clouder.lifecycle.session import LifecycleOptions, LifecycleReport
    from clouder.outputs import ClusterOutputs
    from clouder.spec.model import ClusterSpec

    Args = TypeVarTuple("Args")

DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Probe the nodes; print what each would get.")]
BreakLockOpt = Annotated[
    bool, typer.Option("--break-lock", help="Take over a stale cluster lock (only if no run is active).")
]
SkipChecksOpt = Annotated[
    bool, typer.Option("--skip-checks", help="Do not run the smoke checks before and after each step.")
]
CheckTimeoutOpt = Annotated[float, typer.Option("--check-timeout", help="Seconds each smoke probe may take.")]
PollOpt = Annotated[float, typer.Option("--poll-interval", hidden=True, help="Seconds between API polls.")]
AttemptsOpt = Annotated[int, typer.Option("--attempts", help="Connection attempts per host (with backoff).")]


@dataclass(frozen=True)
class _Day2:
    """A day-2 command ready to act: how it prints, the cluster, its outputs, the options and the log."""

    fmt: Format
    spec: ClusterSpec
    contract: ClusterOutputs
    options: LifecycleOptions
    events: EventLog

    def kube(self) -> Kube:
        from clouder.kube.client import Kube

        return Kube.from_kubeconfig(self.options.kubeconfig, self.events.redactor)


def _start(
    spec_path: Path,
    outputs: Path | None,
    kubeconfig: Path | None,
    output: Format | None,
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
    host_keys_from_console: bool,
) -> _Day2:
    """Load the spec and its outputs contract, build the options from the CLI's, open the event log."""
    import dataclasses

    from clouder.cli import progress
    from clouder.cli.load import event_log, load_cluster, ssh_options
    from clouder.lifecycle.session import default_options

    fmt = output_format(output)
    cluster = load_cluster(spec_path, outputs)
    options = default_options(
        cluster.spec,
        kubeconfig,
        dry_run=dry_run,
        break_lock=break_lock,
        smoke_checks=not skip_checks,
        check_timeout=check_timeout,
        poll_interval=poll_interval,
    )
    flags = ssh_options(
        ssh_map, ssh_allow, connect_timeout, command_timeout, attempts,
        cluster.spec.cloud, host_keys_from_console,
    )  # fmt: skip
    bootstrap = dataclasses.replace(options.bootstrap, ssh=flags(options.bootstrap.ssh))
    options = dataclasses.replace(options, bootstrap=bootstrap)
    events = event_log(cluster.spec, fmt, progress.hosts(26))
    return _Day2(fmt, cluster.spec, cluster.outputs, options, events)


def _run_on_nodes(
    day2: _Day2,
    operation: Callable[
        [ClusterSpec, ClusterOutputs, Kube, LifecycleOptions, EventLog, *Args],
        Coroutine[Any, Any, LifecycleReport],
    ],
    *args: *Args,
) -> None:
    """Connect to the cluster, run the async ``operation`` (with ``args`` after the usual five) to its
    report, and print that."""
    with day2.kube() as kube:
        report = _run_async(operation(day2.spec, day2.contract, kube, day2.options, day2.events, *args))
    _finish(report, day2.fmt)


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
    host_keys_from_console: HostKeysFromConsoleOpt = False,
    output: OutputOption = None,
) -> None:
    """Upgrade Kubernetes by one minor: control planes first, then workers in batches; resumable."""
    from clouder.lifecycle.upgrade import upgrade as run_upgrade

    day2 = _start(
        spec, outputs, kubeconfig, output, dry_run=dry_run, break_lock=break_lock, skip_checks=skip_checks,
        check_timeout=check_timeout, poll_interval=poll_interval, connect_timeout=connect_timeout,
        command_timeout=command_timeout, attempts=attempts, ssh_map=ssh_map, ssh_allow=ssh_allow,
        host_keys_from_console=host_keys_from_console,
    )  # fmt: skip
    with day2.kube() as kube:
        report = run_upgrade(day2.spec, day2.contract, kube, day2.options, day2.events, to)
    _finish(report, day2.fmt)


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
    host_keys_from_console: HostKeysFromConsoleOpt = False,
    output: OutputOption = None,
) -> None:
    """Scale node pools (and control planes) to the spec: drain and reset removed nodes before Terraform
    destroys their VMs, then join the new ones."""
    from clouder.lifecycle.infra import TerraformInfra
    from clouder.lifecycle.nodes import scale_async
    from clouder.terraform.stackcache import ensure_stack
    from clouder.terraform.workflow import Workflow

    day2 = _start(
        spec, outputs, kubeconfig, output, dry_run=dry_run, break_lock=break_lock, skip_checks=skip_checks,
        check_timeout=check_timeout, poll_interval=poll_interval, connect_timeout=connect_timeout,
        command_timeout=command_timeout, attempts=attempts, ssh_map=ssh_map, ssh_allow=ssh_allow,
        host_keys_from_console=host_keys_from_console,
    )  # fmt: skip
    folder = stack if stack is not None else ensure_stack(day2.spec)[0]
    infra = TerraformInfra(Workflow(day2.spec, folder, events=day2.events), approve, approval_file)
    _run_on_nodes(day2, scale_async, infra)


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
    host_keys_from_console: HostKeysFromConsoleOpt = False,
    output: OutputOption = None,
) -> None:
    """Cordon, drain, `kubeadm reset` and delete nodes from the cluster, one at a time (VMs stay)."""
    from clouder.lifecycle.nodes import remove_async

    day2 = _start(
        spec, outputs, kubeconfig, output, dry_run=dry_run, break_lock=break_lock, skip_checks=True,
        check_timeout=0.0, poll_interval=poll_interval, connect_timeout=connect_timeout,
        command_timeout=command_timeout, attempts=attempts, ssh_map=ssh_map, ssh_allow=ssh_allow,
        host_keys_from_console=host_keys_from_console,
    )  # fmt: skip
    _run_on_nodes(day2, remove_async, names)


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
    host_keys_from_console: HostKeysFromConsoleOpt = False,
    output: OutputOption = None,
) -> None:
    """Repair a node that failed to join: `kubeadm reset`, delete its Node, join it again."""
    from clouder.lifecycle.nodes import repair_async

    day2 = _start(
        spec, outputs, kubeconfig, output, dry_run=dry_run, break_lock=break_lock, skip_checks=True,
        check_timeout=0.0, poll_interval=poll_interval, connect_timeout=connect_timeout,
        command_timeout=command_timeout, attempts=attempts, ssh_map=ssh_map, ssh_allow=ssh_allow,
        host_keys_from_console=host_keys_from_console,
    )  # fmt: skip
    _run_on_nodes(day2, repair_async, name, force)


def register(app: typer.Typer) -> None:
    app.command()(upgrade)
    app.command()(scale)
    app.command("remove-node")(remove_node)
    app.command("repair-node")(repair_node)

"""`clouder up SPEC [--dry-run]` and `clouder down SPEC`: the whole pipeline as one resumable command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clouder.cli.app import Format, OutputOption, emit_json, emit_report, output_format
from clouder.cli.options import (
    ApprovalFileOpt,
    ApproveOpt,
    CommandOpt,
    ConnectOpt,
    HostKeysFromConsoleOpt,
    SpecArg,
    SshAllowOpt,
    SshMapOpt,
)
from clouder.errors import BadInputError

if TYPE_CHECKING:
    from clouder.events import EventLog
    from clouder.spec.model import ClusterSpec
    from clouder.up.dryrun import DryRunReport
    from clouder.up.pipeline import UpReport

StackOpt = Annotated[
    Path | None,
    typer.Option("--stack", envvar="CLOUDER_STACK", help="A synthesized stack folder to use as is."),
]
UseKubeconfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig", help="Use this kubeconfig for add-ons, services and checks (default: fetched)."
    ),
]


def up(
    spec: SpecArg,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Plan everything, change nothing: Terraform, hosts, manifests, order."
        ),
    ] = False,
    stack: StackOpt = None,
    approve: ApproveOpt = False,
    approval_file: ApprovalFileOpt = None,
    kubeconfig: UseKubeconfigOpt = None,
    chart_mirror: Annotated[
        str | None,
        typer.Option("--chart-mirror", envvar="CLOUDER_CHART_MIRROR", help="Pull every chart from here."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Stop after this stage (synth … check).")
    ] = None,
    skip_check: Annotated[
        bool, typer.Option("--skip-check", help="Do not run `clouder check` at the end.")
    ] = False,
    ssh_map: SshMapOpt = None,
    ssh_allow: SshAllowOpt = None,
    host_keys_from_console: HostKeysFromConsoleOpt = False,
    connect_timeout: ConnectOpt = 15.0,
    command_timeout: CommandOpt = 600.0,
    attempts: Annotated[int, typer.Option(help="SSH connection attempts per host.")] = 4,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds each add-on step may take.")] = 600.0,
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="Services rolled out at once.")] = 10,
    service_timeout: Annotated[
        float | None,
        typer.Option("--service-timeout", help="Seconds each service may take (default: its own)."),
    ] = None,
    poll_interval: Annotated[float, typer.Option("--poll-interval", hidden=True)] = 2.0,
    output: OutputOption = None,
) -> None:
    """Stand the cluster up end to end; run again to resume where the last run stopped."""
    from clouder.cli import progress
    from clouder.cli.load import event_log, ssh_options
    from clouder.spec import load_spec
    from clouder.up.pipeline import STAGES, UpOptions
    from clouder.up.pipeline import up as run_up

    fmt = output_format(output)
    loaded = load_spec(spec)
    if until is not None and until not in STAGES:
        raise BadInputError(f"--until {until}: not a stage.", f"Stages: {', '.join(STAGES)}.")
    log = event_log(loaded, fmt, progress.stages)
    if dry_run:
        _dry_run(loaded, stack, chart_mirror, log, fmt)
        return
    options = UpOptions(
        stack=stack, approve=approve, approval_file=approval_file, kubeconfig=kubeconfig,
        chart_mirror=chart_mirror,
        ssh=ssh_options(ssh_map, ssh_allow, connect_timeout, command_timeout, attempts, loaded.cloud,
                        host_keys_from_console),
        timeout=timeout, interval=poll_interval, parallel=parallel, until=until, check=not skip_check,
        service_timeout=service_timeout,
    )  # fmt: skip
    emit_report(run_up(loaded, options, log), fmt, _summary)


def _summary(report: UpReport) -> None:
    typer.echo(f"cluster {report.cluster}: {'up' if report.ok else 'stopped'}")
    for stage in report.stages:
        first = stage.detail.splitlines()[0] if stage.detail else ""
        typer.echo(f"  {stage.name:<10} {stage.state:<8} {stage.seconds:>7.1f}s  {first}")
    failed = next((s for s in report.stages if s.state == "failed"), None)
    if failed and "\n" in failed.detail:
        typer.echo(failed.detail, err=True)
    summary = report.summary
    for key, label in (("apiEndpoint", "API endpoint"), ("kubeconfig", "kubeconfig"),
                       ("ingressAddress", "ingress address")):  # fmt: skip
        if summary.get(key):
            typer.echo(f"{label}: {summary[key]}")
    if "services" in summary:
        typer.echo("services: " + ", ".join(f"{n} {s}" for s, n in sorted(summary["services"].items())))
    if failed:
        typer.echo("fix the cause and run `clouder up` again: finished stages are not redone.", err=True)


def _dry_run(spec: ClusterSpec, stack: Path | None, mirror: str | None, log: EventLog, fmt: Format) -> None:
    from clouder.cli.load import find_outputs
    from clouder.up.dryrun import whole_plan

    emit_report(whole_plan(spec, stack, find_outputs(spec, None), mirror, log), fmt, _print_plan)


def _print_plan(report: DryRunReport) -> None:
    tf = report.terraform
    if tf:
        counts = ", ".join(f"{n} to {a}" for a, n in tf["counts"].items() if n) or "no changes"
        typer.echo(f"terraform: {counts} (plan hash {tf['planHash']})")
        for address in tf["needsApproval"]:
            typer.echo(f"  ! {address} needs approval (--approve)")
    if report.policy:
        typer.echo(
            f"policy: {len(report.policy['failed'])} blocking, {len(report.policy['accepted'])} accepted"
        )
    typer.echo(f"bootstrap (hosts from {report.hosts_from}):")
    for host, phases in report.hosts.items():
        typer.echo(f"  {host}: {', '.join(phases)}")
    typer.echo("add-ons:")
    for addon in report.addons:
        count = "gate" if addon.get("gate") else f"{len(addon['objects'])} manifests"
        typer.echo(f"  {addon['name']} {addon.get('version', '')}: {count}".replace("  :", ":"))
    services = report.services
    typer.echo(f"services: {len(services['services'])} releases, order:")
    for index, level in enumerate(services["order"], 1):
        typer.echo(f"  {index}. {', '.join(level)}")
    for problem in report.problems:
        typer.echo(f"problem: {problem}", err=True)
    verdict = "every manifest validated" if report.ok else f"{len(report.problems)} problem(s)"
    typer.echo(f"dry run of {report.cluster}: nothing changed; {verdict}")


def down(
    spec: SpecArg,
    approve: ApproveOpt = False,
    approval_file: ApprovalFileOpt = None,
    stack: StackOpt = None,
    kubeconfig: UseKubeconfigOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for services to go.")] = 300.0,
    output: OutputOption = None,
) -> None:
    """Tear the cluster down: uninstall the services, then destroy the infrastructure (needs approval)."""
    from clouder.cli import progress
    from clouder.cli.load import event_log
    from clouder.spec import load_spec
    from clouder.up.pipeline import DownOptions
    from clouder.up.pipeline import down as run_down

    fmt = output_format(output)
    loaded = load_spec(spec)
    log = event_log(loaded, fmt, progress.stages)
    options = DownOptions(
        stack=stack, approve=approve, approval_file=approval_file, kubeconfig=kubeconfig, timeout=timeout
    )
    report = run_down(loaded, options, log)
    if fmt is Format.json:
        emit_json(report.as_dict())
    else:
        for stage in report.stages:
            typer.echo(
                f"  {stage.name:<13} {stage.state:<8} {stage.detail.splitlines()[0] if stage.detail else ''}"
            )
        failed = next((s for s in report.stages if s.state == "failed"), None)
        if failed is not None:
            typer.echo(failed.detail, err=True)
        else:
            typer.echo(f"cluster {report.cluster}: down")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(down)

"""`clouder rollout SPEC [--only NAME…] [--dry-run]`: the services along their dependency graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from clouder.cli.app import OutputOption, emit_report, output_format
from clouder.cli.options import KubeconfigOpt, MirrorOpt, OutputsOpt, ReadinessPollOpt, SpecArg

if TYPE_CHECKING:
    from clouder.services.rollout import RolloutReport


def print_report(report: RolloutReport) -> None:
    typer.echo(report.table())
    counts = ", ".join(f"{n} {state}" for state, n in sorted(report.counts().items()))
    order = " → ".join(
        "{" + ", ".join(level) + "}" if len(level) > 1 else level[0] for level in report.levels
    )
    typer.echo(f"order: {order}")
    verb = "would roll out" if report.dry_run else "rolled out"
    typer.echo(f"{verb} {len(report.outcomes)} services in {report.seconds:.1f}s: {counts}")
    if report.removed:
        typer.echo(f"uninstalled (no longer in the spec): {', '.join(report.removed)}")
    if not report.ok and not report.dry_run:
        typer.echo("fix the causes above and run again: what is ready stays as it is.", err=True)


def rollout(
    spec: SpecArg,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Roll out only this service (repeatable).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Render and validate every manifest; print the order.")
    ] = False,
    outputs: OutputsOpt = None,
    kubeconfig: KubeconfigOpt = None,
    chart_mirror: MirrorOpt = None,
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="Services rolled out at once.")] = 10,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds each service may take (default: its own).")
    ] = None,
    poll_interval: ReadinessPollOpt = 2.0,
    output: OutputOption = None,
) -> None:
    """Roll out the system and core services along their dependencies; re-run to resume."""
    from clouder import workdir
    from clouder.cli import progress
    from clouder.cli.load import event_log, find_outputs
    from clouder.kube import Kube
    from clouder.services.rollout import RolloutSettings
    from clouder.services.rollout import dry_run as plan_only
    from clouder.services.rollout import rollout as run_rollout
    from clouder.spec import load_spec

    fmt = output_format(output)
    loaded = load_spec(spec)
    contract = find_outputs(loaded, outputs)
    settings = RolloutSettings(parallel, timeout, poll_interval, mirror=chart_mirror, only=tuple(only or ()))
    if dry_run:
        report = plan_only(loaded, contract, settings)
    else:
        log = event_log(loaded, fmt, progress.services)
        path = kubeconfig or workdir.kubeconfig_path(loaded)
        report = run_rollout(
            lambda: Kube.from_kubeconfig(path, log.redactor), loaded, contract, settings, log
        )
    emit_report(report, fmt, print_report)


def register(app: typer.Typer) -> None:
    app.command()(rollout)

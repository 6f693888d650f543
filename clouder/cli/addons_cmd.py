"""`clouder addons SPEC`, `clouder render SPEC --out DIR` and `clouder check SPEC`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clouder.cli.app import Format, OutputOption, emit_json, emit_report, output_format
from clouder.cli.options import KubeconfigOpt, MirrorOpt, OutputsOpt, ReadinessPollOpt, SpecArg

if TYPE_CHECKING:
    from clouder.addons import AddonContext, AddonsReport
    from clouder.events import EventLog
    from clouder.kube import Kube
    from clouder.spec.model import ClusterSpec

TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for each step to be ready.")]


def _context(spec_path: Path, outputs: Path | None) -> AddonContext:
    from clouder.addons import AddonContext
    from clouder.cli.load import load_cluster

    cluster = load_cluster(spec_path, outputs)
    return AddonContext(cluster.spec, cluster.outputs)


def _connect(spec: ClusterSpec, kubeconfig: Path | None, log: EventLog) -> Kube:
    from clouder import workdir
    from clouder.kube import Kube

    return Kube.from_kubeconfig(kubeconfig or workdir.kubeconfig_path(spec), log.redactor)


def addons(
    spec: SpecArg,
    outputs: OutputsOpt = None,
    kubeconfig: KubeconfigOpt = None,
    chart_mirror: MirrorOpt = None,
    timeout: TimeoutOpt = 600.0,
    poll_interval: ReadinessPollOpt = 2.0,
    break_lock: Annotated[
        bool, typer.Option("--break-lock", help="Take over the add-ons lease of a run that is gone.")
    ] = False,
    output: OutputOption = None,
) -> None:
    """Install the add-ons (CNI, cloud controller, CSI + StorageClasses, load balancing); idempotent."""
    from clouder.addons import RunSettings, run_addons
    from clouder.catalog.charts import default_catalog
    from clouder.cli import progress
    from clouder.cli.load import event_log
    from clouder.kube import lease

    fmt = output_format(output)
    ctx = _context(spec, outputs)
    log = event_log(ctx.spec, fmt, progress.steps)
    settings = RunSettings(timeout, poll_interval, catalog=default_catalog(chart_mirror))
    with (
        _connect(ctx.spec, kubeconfig, log) as kube,
        lease.held(kube, "clouder-addons", break_lock=break_lock),
    ):
        report = run_addons(kube, ctx, settings, log)
    emit_report(report, fmt, _summary)


def _summary(report: AddonsReport) -> None:
    releases = [step for step in report.steps if step.kind == "release"]
    if not report.ok:
        for failed in report.failed:
            typer.echo(f"add-on {failed.name}: not ready or failed:", err=True)
            for problem in failed.problems:
                typer.echo(f"  - {problem}", err=True)
        for name in report.skipped:
            typer.echo(f"not started: {name}: {report.skipped_because[name]} (re-run to resume)", err=True)
    elif report.changed == 0:
        typer.echo(
            f"nothing to change: {report.objects} objects in {len(releases)} releases already as rendered"
        )
    else:
        typer.echo(f"add-ons ready: {report.changed} changes across {len(releases)} releases")


def render(
    spec: SpecArg,
    out: Annotated[Path, typer.Option("--out", help="Folder for the manifests (one file per release).")],
    outputs: OutputsOpt = None,
    chart_mirror: MirrorOpt = None,
    output: OutputOption = None,
) -> None:
    """Write the add-on manifests for Argo CD or Flux instead of applying them (Secrets are left out)."""
    from clouder.addons.gitops import write_manifests
    from clouder.catalog.charts import default_catalog

    fmt = output_format(output)
    written = write_manifests(_context(spec, outputs), default_catalog(chart_mirror), out)
    if fmt is Format.json:
        emit_json(written.as_dict())
        return
    for path in written.files:
        typer.echo(f"wrote {path}")
    for note in written.omitted:
        typer.echo(f"omitted {note}", err=True)


def check(
    spec: SpecArg,
    outputs: OutputsOpt = None,
    kubeconfig: KubeconfigOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds each probe may take.")] = 180.0,
    poll_interval: ReadinessPollOpt = 2.0,
    output: OutputOption = None,
) -> None:
    """Smoke-test the cluster: nodes, system pods, default StorageClass + PVC, LoadBalancer, DNS."""
    from clouder.cli import progress
    from clouder.cli.load import event_log
    from clouder.events import Event
    from clouder.observe.check import CheckSettings, run_checks

    fmt = output_format(output)
    ctx = _context(spec, outputs)
    log = event_log(ctx.spec, Format.json, progress.steps)  # results print as a table, not as progress
    with _connect(ctx.spec, kubeconfig, log) as kube:
        results = run_checks(kube, ctx.spec, CheckSettings(timeout, poll_interval), ctx.outputs)
    for result in results:
        log.emit(Event("check", result.name, "ok" if result.ok else "failed", detail=result.detail))
    ok = all(result.ok for result in results)
    if fmt is Format.json:
        emit_json({"ok": ok, "checks": [result.as_dict() for result in results]})
    else:
        for result in results:
            typer.echo(f"{'PASS' if result.ok else 'FAIL'}  {result.name:<22} {result.detail}")
        typer.echo(f"{sum(r.ok for r in results)}/{len(results)} checks passed")
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(addons)
    app.command()(render)
    app.command()(check)

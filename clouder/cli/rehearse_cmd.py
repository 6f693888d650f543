"""`clouder rehearse SPEC`: the whole pipeline on this machine against a local AWS emulator, then destroy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clouder.cli.app import Format, OutputOption, emit_report, output_format
from clouder.cli.options import MirrorOpt, SpecArg

if TYPE_CHECKING:
    from clouder.rehearse.run import RehearsalReport


def rehearse(
    spec: SpecArg,
    provider_mirror: Annotated[
        Path | None,
        typer.Option(
            "--provider-mirror",
            envvar="CLOUDER_PROVIDER_MIRROR",
            help="A Terraform provider filesystem mirror (offline machines); default: providers download.",
        ),
    ] = None,
    chart_mirror: MirrorOpt = None,
    output: OutputOption = None,
) -> None:
    """Rehearse the whole pipeline with no cloud account: synth, then real Terraform plan, policy gate and
    apply against a local AWS emulator (moto), the outputs contract, each host's bootstrap phases, the
    add-on manifests and the services' rollout order; then destroy. Azure: synth and policy gate only."""
    from clouder.cli import progress
    from clouder.cli.load import event_log
    from clouder.rehearse.run import RehearsalOptions
    from clouder.rehearse.run import rehearse as run_rehearsal
    from clouder.spec import load_spec
    from clouder.workdir import work_root

    fmt = output_format(output)
    loaded = load_spec(spec)
    work = work_root() / ".rehearsal"
    if fmt is Format.text:
        sys.stderr.write(f"rehearsing {loaded.name} ({loaded.cloud}) in {work / loaded.name}\n")
    log = event_log(loaded, fmt, progress.stages, work / loaded.name / "events.jsonl")
    options = RehearsalOptions(provider_mirror, chart_mirror)
    emit_report(run_rehearsal(loaded, work, options, log), fmt, _summary)


def _summary(report: RehearsalReport) -> None:
    verdict = "failed" if not report.ok else "ok, except charts it could not pull" if report.partial else "ok"
    typer.echo(f"rehearsal of {report.cluster} ({report.cloud}): {verdict}")
    typer.echo("changed for the rehearsal (never in a real run):")
    for note in report.overrides:
        typer.echo(f"  - {note}")
    typer.echo("stages:")
    for stage in report.stages:
        first = stage.detail.splitlines()[0] if stage.detail else ""
        typer.echo(f"  {stage.name:<10} {stage.state:<8} {stage.seconds:>7.1f}s  {first}")
    failed = next((s for s in report.stages if s.state == "failed"), None)
    if failed is not None and "\n" in failed.detail:
        typer.echo(failed.detail, err=True)
    if report.resources:
        typer.echo("terraform: " + ", ".join(f"{n} to {a}" for a, n in report.resources.items()))
    if report.hosts:
        typer.echo("bootstrap phases per host:")
        for host, phases in report.hosts.items():
            typer.echo(f"  {host}: {', '.join(phases)}")
    if report.addons:
        typer.echo("add-ons: " + ", ".join(a["name"] for a in report.addons))
    if report.services:
        typer.echo("services rollout order:")
        for index, wave in enumerate(report.services, 1):
            typer.echo(f"  {index}. {', '.join(wave)}")
    if report.not_rehearsed:
        typer.echo(report.not_rehearsed)
    if not report.ok:
        typer.echo("fix the cause and run `clouder rehearse` again", err=True)
        return
    typer.echo("a real run would next:")
    for step in report.next_steps:
        typer.echo(f"  - {step}")
    _unpulled(report)


def _unpulled(report: RehearsalReport) -> None:
    """One block for every chart left out (the stages above name each one): why, and how to rehearse them."""
    charts = report.unpulled_charts()
    if not charts:
        return
    kinds = {"addons": ("add-on", "add-ons"), "services": ("service", "services")}
    counts = [
        f"{len(found)} {kinds[stage][len(found) != 1]}" for stage, found in report.unpulled.items() if found
    ]
    noun, verb = ("chart", "was") if len(charts) == 1 else ("charts", "were")
    typer.echo(
        f"not rehearsed: {len(charts)} {noun} ({', '.join(counts)}) {verb} not rendered, because their "
        "repositories could not be reached from this machine (the stages above name each one).\n"
        "To rehearse them too, pass a chart repository that holds them: --chart-mirror URL "
        "(see docs/rehearse.md)."
    )


def register(app: typer.Typer) -> None:
    app.command()(rehearse)

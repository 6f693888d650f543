"""The rehearsal's add-on and service stages on a machine that cannot reach the chart repositories: the charts
it could not pull are reported once, apart, and do not fail the run; a real problem still does. The stages
run on the planned outputs contract (what the rehearsal reads back after its apply), with every chart
pulled from an https repository on a closed loopback port, so helm meets "connection refused" and nothing
leaves the machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clouder.catalog.charts import CHARTS, DIGESTS_ENV
from clouder.catalog.services import SYSTEM_SERVICES
from clouder.cli.app import Format, emit_report
from clouder.cli.rehearse_cmd import _summary
from clouder.events import EventLog
from clouder.rehearse.run import RehearsalOptions, RehearsalReport, RehearsalRun, Stage, run_stages
from clouder.spec import load_spec
from clouder.up.dryrun import DryRunReport, plan_manifests, planned_outputs
from support.services import REPO, ServiceRepo

EXAMPLE = REPO / "examples" / "aws-minimal.yaml"


def _run(mirror: str, tmp_path: Path) -> RehearsalRun:
    spec = load_spec(EXAMPLE)
    options = RehearsalOptions(chart_mirror=mirror, cache=tmp_path / "cache")
    report = RehearsalReport(spec.name, spec.cloud, [Stage("addons"), Stage("services")])
    return RehearsalRun(spec, tmp_path, options, EventLog(), report, outputs=planned_outputs(spec))


def _stages(run: RehearsalRun) -> dict[str, Stage]:
    run_stages(run, {"addons": run.addons, "services": run.services})
    return {stage.name: stage for stage in run.report.stages}


def test_charts_from_an_unreachable_repository_leave_the_stages_partial_and_the_run_passing(
    unreachable_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(unreachable_repo, tmp_path)
    stages = _stages(run)
    states = {name: stage.state for name, stage in stages.items()}
    assert states == {"addons": "partial", "services": "partial"}
    report = run.report
    assert report.ok

    addons = [chart.name for chart in report.unpulled["addons"]]
    assert addons == ["cilium", "aws-cloud-controller-manager", "aws-ebs-csi-driver",
                      "aws-load-balancer-controller"]  # fmt: skip
    rendered = [addon["name"] for addon in report.addons]
    assert "cilium" not in rendered and "storage-classes" in rendered  # Clouder's own objects still render
    assert all(addon.get("valid", True) for addon in report.addons)
    steps = len(rendered) + len(addons)
    cilium = f"cilium {CHARTS['cilium'].version} from {unreachable_repo}"
    assert stages["addons"].detail.startswith(f"{steps} steps: {len(rendered)} rendered and validated ("), (
        stages["addons"].detail
    )
    assert f"4 charts not pulled (repository unreachable: {cilium}, " in stages["addons"].detail

    # the services stage ran: the runtime plane (no chart) rendered, every system service's chart left out
    assert {chart.name for chart in report.unpulled["services"]} == set(SYSTEM_SERVICES)
    assert sum(len(wave) for wave in report.services) == len(SYSTEM_SERVICES) + 1
    assert stages["services"].detail.startswith(
        f"{len(SYSTEM_SERVICES) + 1} services in {len(report.services)} waves: 1 rendered and validated, "
        f"{len(SYSTEM_SERVICES)} charts not pulled (repository unreachable: "
    ), stages["services"].detail

    document = json.loads(json.dumps(report.as_dict()))
    assert document["ok"] is True
    assert {s["name"]: s["state"] for s in document["stages"]} == {"addons": "partial", "services": "partial"}
    listed = document["unpulledCharts"]["addons"][0]
    assert listed["name"] == "cilium" and listed["chart"] == "cilium"
    assert listed["version"] == CHARTS["cilium"].version and listed["repository"] == unreachable_repo
    assert "connection refused" in listed["cause"]

    emit_report(report, Format.text, _summary)  # exit code 0: no typer.Exit
    out, err = capsys.readouterr()
    assert out.startswith("rehearsal of demo-aws (aws): ok, except charts it could not pull\n"), out
    assert "  addons     partial " in out and "  services   partial " in out
    tail = out.split("a real run would next:", 1)[1]
    block = tail[tail.index("not rehearsed:") :]
    unpulled = len(addons) + len(SYSTEM_SERVICES)
    assert block == (
        f"not rehearsed: {unpulled} charts ({len(addons)} add-ons, {len(SYSTEM_SERVICES)} services) were not "
        "rendered, because their repositories could not be reached from this machine (the stages above name "
        "each one).\nTo rehearse them too, pass a chart repository that holds them: --chart-mirror URL "
        "(see docs/rehearse.md).\n"
    )
    assert out.count(cilium) == 1, "each chart is named once, in its stage"
    assert "connection refused" not in out + err, "helm's error is in -o json, not repeated in the summary"
    assert err == ""


def test_a_digest_mismatch_still_fails_the_rehearsal(
    service_charts: ServiceRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loopback repository serves stand-ins: without the digests it names for them, the pinned
    upstream digests refuse every archive, and that is a real problem."""
    monkeypatch.delenv(DIGESTS_ENV)
    run = _run(service_charts.url, tmp_path)
    stages = _stages(run)
    assert stages["addons"].state == "failed" and stages["services"].state == "not-run"
    assert "add-on cilium: chart cilium 1.18.3 from" in stages["addons"].detail
    assert "refusing to render it" in stages["addons"].detail
    assert not run.report.ok and run.report.unpulled == {}

    alone = _run(service_charts.url, tmp_path)
    run_stages(alone, {"services": alone.services})
    services = alone.report.stages[1]
    assert services.state == "failed" and "refusing to render it" in services.detail
    assert alone.report.unpulled == {}


def test_up_dry_run_still_counts_an_unreachable_repository_as_a_problem(
    unreachable_repo: str, tmp_path: Path
) -> None:
    spec = load_spec(EXAMPLE)
    report = DryRunReport(spec.name)
    plan_manifests(report, spec, planned_outputs(spec), None, unreachable_repo, tmp_path / "cache")
    assert not report.ok
    refused = f"cannot pull chart cilium 1.18.3 from {unreachable_repo}: "
    assert any(line.startswith(f"add-on cilium: {refused}") for line in report.problems), report.problems
    assert any(line.startswith("service ingress: cannot pull chart ") for line in report.problems)
    assert report.services["counts"] == {"failed": len(SYSTEM_SERVICES), "planned": 1}

"""Chart supply chain: a pulled archive must match its pinned sha256 before it is rendered; repositories are
https or oci; chart names are names, never paths (stand-in charts from the loopback repository)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

from clouder.catalog.charts import CHARTS, DIGEST, DIGESTS_ENV, Catalog, ChartEntry, default_catalog
from clouder.catalog.services import SERVICE_PINS
from clouder.charts import ChartError, pull, render
from clouder.errors import BadInputError
from clouder.services.catalog import resolve, with_mirror
from clouder.spec.model import ClusterSpec
from support.chartrepo import ChartRepo
from support.cli import run
from support.services import ServiceRepo, spec_document

DOCS = Path(__file__).parents[2] / "docs" / "gitops.md"

RELEASE = "aws-ebs-csi-driver"


def _served_digest(repo: ChartRepo, entry: ChartEntry) -> str:
    archive = repo.folder / f"{entry.chart}-{entry.version}.tgz"
    return "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()


def _catalog(repo: ChartRepo, digest: str) -> Catalog:
    entry = CHARTS[RELEASE]
    return Catalog(dict(CHARTS), mirror=repo.url, digests={f"{entry.chart}@{entry.version}": digest})


def test_an_archive_with_another_digest_is_refused_before_rendering(
    chart_repo: ChartRepo, tmp_path: Path
) -> None:
    wrong = _catalog(chart_repo, "sha256:" + "0" * 64)[RELEASE]
    with pytest.raises(ChartError, match=r"has digest sha256:[0-9a-f]{64}, not the pinned sha256:0{64}"):
        render(wrong, {"controller": {"region": "eu-west-1"}}, tmp_path)
    assert not list(tmp_path.rglob("*.tgz")), "a refused archive was kept in the cache"

    right = _catalog(chart_repo, _served_digest(chart_repo, CHARTS[RELEASE]))[RELEASE]
    rendered = render(right, {"controller": {"region": "eu-west-1"}}, tmp_path)
    assert rendered.manifests


def test_a_tampered_cached_archive_is_refused(chart_repo: ChartRepo, tmp_path: Path) -> None:
    entry = _catalog(chart_repo, _served_digest(chart_repo, CHARTS[RELEASE]))[RELEASE]
    archive = pull(entry, tmp_path)
    archive.write_bytes(archive.read_bytes() + b"\0")
    with pytest.raises(ChartError, match="refusing to render it"):
        pull(entry, tmp_path)


def test_the_digest_file_of_a_mirror_is_read_from_the_environment(
    chart_repo: ChartRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = CHARTS[RELEASE]
    digests = tmp_path / "digests.yaml"
    digests.write_text(yaml.safe_dump({f"{entry.chart}@{entry.version}": "sha256:" + "1" * 64}))
    monkeypatch.setenv(DIGESTS_ENV, str(digests))
    with pytest.raises(ChartError, match=r"not the pinned sha256:1{64}"):
        pull(default_catalog(chart_repo.url)[RELEASE], tmp_path)


def _upstream_pins() -> dict[str, str | None]:
    """``CHART@VERSION`` -> pinned digest of every upstream chart (add-ons and system services)."""
    pins: dict[str, str | None] = {f"{e.chart}@{e.version}": e.digest for e in CHARTS.values()}
    pins.update({f"{p.chart}@{p.version}": p.digest for p in SERVICE_PINS.values() if p.tier == "system"})
    return pins


def test_recorded_digests_are_sha256_and_the_unrecorded_ones_are_listed_in_the_docs() -> None:
    pins = _upstream_pins()
    recorded = {name: digest for name, digest in pins.items() if digest is not None}
    assert all(DIGEST.fullmatch(digest) for digest in recorded.values()), recorded
    assert len(set(recorded.values())) == len(recorded), "two charts pinned to one archive"
    section = DOCS.read_text(encoding="utf-8").split("### Charts without a recorded digest", 1)[1]
    listed = set(re.findall(r"^\| `([a-z0-9.-]+@v?[0-9][0-9A-Za-z.+-]*)` \|", section, re.MULTILINE))
    assert listed == {name for name, digest in pins.items() if digest is None}


def test_the_pinned_upstream_digest_refuses_a_mirror_that_serves_other_bytes(
    chart_repo: ChartRepo, tmp_path: Path
) -> None:
    """A mirror that names no digests of its own must serve the upstream archive: the stand-in is refused."""
    pinned = CHARTS[RELEASE].digest
    assert pinned is not None
    entry = Catalog(dict(CHARTS), mirror=chart_repo.url)[RELEASE]
    with pytest.raises(ChartError, match=f"not the pinned {pinned}"):
        render(entry, {"controller": {"region": "eu-west-1"}}, tmp_path)
    assert not list(tmp_path.rglob("*.tgz"))


def test_a_service_chart_is_checked_against_its_pinned_digest(
    service_charts: ServiceRepo, tmp_path: Path
) -> None:
    spec = ClusterSpec.model_validate(spec_document())
    ingress = next(s for s in with_mirror(resolve(spec), service_charts.url, {}) if s.name == "ingress")
    assert ingress.chart is not None and ingress.chart.digest == SERVICE_PINS["ingress"].digest
    with pytest.raises(ChartError, match=f"not the pinned {SERVICE_PINS['ingress'].digest}"):
        pull(ingress.chart, tmp_path)

    document = spec_document()
    document["services"]["overrides"] = {"ingress": {"version": "9.9.9"}}
    bumped = ClusterSpec.model_validate(document)
    other = next(s for s in resolve(bumped) if s.name == "ingress")
    assert other.chart is not None and other.chart.digest is None  # another version: not the pinned archive


@pytest.mark.parametrize(
    ("repository", "chart"),
    [
        ("http://charts.example.test", "demo"),  # plain http off loopback
        ("file:///srv/charts", "demo"),
        ("/srv/charts", "demo"),
        ("https://charts.example.test", "../../etc/demo"),
        ("https://charts.example.test", "/srv/charts/demo"),
        ("https://charts.example.test", "demo\n"),
    ],
)
def test_repositories_and_chart_names_are_checked(repository: str, chart: str) -> None:
    with pytest.raises(BadInputError):
        ChartEntry("demo", repository, chart, "1.0.0", "demo")


@pytest.mark.parametrize(
    "custom",
    [
        {"chart": "./charts/demo", "repository": "https://apps.example.test"},
        {"chart": "demo", "repository": "http://apps.example.test"},
    ],
    ids=["local-path", "http"],
)
def test_a_custom_service_cannot_name_a_local_chart_or_plain_http(
    tmp_path: Path, custom: dict[str, str]
) -> None:
    spec = yaml.safe_load((Path(__file__).parents[2] / "examples" / "aws-minimal.yaml").read_text())
    spec["services"] = {"custom": [{"name": "demo", "version": "1.0.0", "namespace": "demo", **custom}]}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run("validate", str(path))
    assert result.code == 2, (result.stdout, result.stderr)
    assert "services.custom" in result.stderr

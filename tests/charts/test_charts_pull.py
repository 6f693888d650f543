"""Pulling pinned charts by repository URL and version into the cache, through helm_python."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouder.catalog.charts import CHARTS, Catalog
from clouder.charts import ChartError, ChartUnreachable, pull, render
from support.chartrepo import ChartRepo


def test_a_pinned_chart_is_downloaded_once_then_served_from_the_cache(
    chart_repo: ChartRepo, tmp_path: Path
) -> None:
    entry = chart_repo.catalog()["aws-ebs-csi-driver"]
    before = len(chart_repo.hits)
    archive = pull(entry, tmp_path)
    assert archive.name == "aws-ebs-csi-driver-2.50.0.tgz" and archive.is_file()
    assert chart_repo.hits[before:] == ["/index.yaml", "/aws-ebs-csi-driver-2.50.0.tgz"]
    assert pull(entry, tmp_path) == archive
    assert len(chart_repo.hits) == before + 2  # the second pull never reached the repository
    rendered = render(entry, {"controller": {"region": "eu-west-1"}}, tmp_path)
    assert {o["kind"] for o in rendered.manifests} >= {"Deployment", "DaemonSet", "CSIDriver"}


def test_a_version_the_repository_does_not_have_is_a_clear_error(
    chart_repo: ChartRepo, tmp_path: Path
) -> None:
    entry = chart_repo.catalog().with_version("cilium", "9.9.9")["cilium"]
    with pytest.raises(
        ChartError, match=r"cannot pull chart cilium 9\.9\.9 from http://127\.0\.0\.1:\d+: .*not found"
    ):
        pull(entry, tmp_path)
    assert not list(tmp_path.rglob("*.tgz"))


def test_what_a_charts_helmignore_leaves_out_of_crds_is_never_applied(
    chart_repo: ChartRepo, tmp_path: Path
) -> None:
    """The load balancer controller's crds/ holds a kustomization.yaml that its .helmignore leaves out of the
    package (not an object: taken for a CRD it would fail the step); only the two CRDs are rendered."""
    rendered = render(chart_repo.catalog()["aws-load-balancer-controller"], {"clusterName": "demo"}, tmp_path)
    kinds = {(o["kind"], o["metadata"]["name"]) for o in rendered.manifests}
    assert ("CustomResourceDefinition", "targetgroupbindings.elbv2.k8s.aws") in kinds
    assert ("CustomResourceDefinition", "ingressclassparams.elbv2.k8s.aws") in kinds
    assert not [kind for kind, _ in kinds if kind == "Kustomization"]


def test_a_repository_that_cannot_be_reached_is_told_apart(unreachable_repo: str, tmp_path: Path) -> None:
    entry = Catalog(dict(CHARTS), mirror=unreachable_repo)["cilium"]
    with pytest.raises(ChartUnreachable) as caught:
        pull(entry, tmp_path)
    error = caught.value
    assert error.entry == entry
    assert "connect: connection refused" in error.cause
    assert error.render().startswith(f"cannot pull chart cilium 1.18.3 from {unreachable_repo}: ")
    assert not list(tmp_path.rglob("*.tgz"))


@pytest.mark.parametrize("where", ["missing-version", "no-index"])
def test_a_reachable_repository_without_the_chart_is_not_unreachable(
    chart_repo: ChartRepo, tmp_path: Path, where: str
) -> None:
    """A repository that answers is a wrong pin or a wrong URL, fatal as before: Helm wraps a 404 index in
    the same "… is not a valid chart repository or cannot be reached" it wraps a refused connection in."""
    catalog = chart_repo.catalog()
    if where == "missing-version":
        entry = catalog.with_version("cilium", "9.9.9")["cilium"]
    else:
        entry = Catalog(dict(CHARTS), mirror=f"{chart_repo.url}/no-such-folder")["cilium"]
    with pytest.raises(ChartError) as caught:
        pull(entry, tmp_path)
    assert not isinstance(caught.value, ChartUnreachable), caught.value.render()
    if where == "no-index":
        assert "cannot be reached" in caught.value.render() and "404" in caught.value.render()


def test_a_digest_mismatch_is_not_unreachable(chart_repo: ChartRepo, tmp_path: Path) -> None:
    entry = Catalog(dict(CHARTS), mirror=chart_repo.url)["cilium"]  # the pinned upstream digest
    with pytest.raises(ChartError, match="refusing to render it") as caught:
        pull(entry, tmp_path)
    assert not isinstance(caught.value, ChartUnreachable)

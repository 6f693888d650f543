"""Pull and render charts through helm_python (Helm's Go SDK over ctypes)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python

from clouder.catalog.charts import ChartEntry
from clouder.errors import ClouderError
from clouder.kube.objects import Obj, parse_documents

CACHE_ENV = "CLOUDER_CACHE_DIR"


class ChartError(ClouderError):
    """A chart could not be pulled or rendered."""


@dataclass(frozen=True)
class RenderedChart:
    entry: ChartEntry
    manifests: tuple[Obj, ...]


def chart_cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override) / "charts"
    from platformdirs import user_cache_path

    return user_cache_path("clouder") / "charts"


def pull(entry: ChartEntry, cache: Path | None = None) -> Path:
    """The chart archive for ``entry``, downloaded once per repository, chart and version, and checked
    against the entry's digest every time (a cached archive too) before anything renders it."""
    repo_key = hashlib.sha256(entry.repository.encode()).hexdigest()[:16]
    root = cache or chart_cache_dir()
    folder = root / repo_key
    archive = folder / f"{entry.chart}-{entry.version}.tgz"
    if not archive.resolve().is_relative_to(root.resolve()):
        raise ChartError(f"chart {entry.chart} {entry.version}: its archive would land outside {root}")
    if archive.is_file() and not archive.is_symlink():
        verify(entry, archive)
        return archive
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as staging:
        try:
            helm_python.pull(
                entry.chart, repo_url=entry.repository, version=entry.version, destination=staging
            )
        except helm_python.HelmError as exc:
            raise ChartError(
                f"cannot pull chart {entry.chart} {entry.version} from {entry.repository}: {exc}",
                "Check the network path to the repository, or set CLOUDER_CHART_MIRROR to a mirror.",
            ) from None
        found = sorted(Path(staging).glob("*.tgz"))
        if not found:
            raise ChartError(f"pulling {entry.chart} {entry.version} produced no archive")
        verify(entry, found[0])
        shutil.move(found[0], archive)  # atomic within one folder: concurrent runs see all or nothing
    return archive


def verify(entry: ChartEntry, archive: Path) -> None:
    """Refuse an archive whose sha256 differs from the digest pinned for it."""
    if entry.digest is None:
        return
    actual = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
    if actual != entry.digest:
        raise ChartError(
            f"chart {entry.chart} {entry.version} from {entry.repository} has digest {actual}, "
            f"not the pinned {entry.digest}; refusing to render it.",
            "The repository (or the local chart cache) serves different bytes under this version: find out "
            "why before changing the pin.",
        )


def render(entry: ChartEntry, values: dict[str, Any], cache: Path | None = None) -> RenderedChart:
    """Render the pinned chart offline as an install of release ``entry.release`` in ``entry.namespace``.

    Helm checks the values against the chart's ``values.schema.json`` first (a typo'd key fails here).
    """
    archive = pull(entry, cache)
    try:
        with helm_python.Chart.load(archive) as chart:
            if chart.version.removeprefix("v") != entry.version.removeprefix("v"):
                raise ChartError(
                    f"{archive} holds {chart.name} {chart.version}, not the pinned {entry.version}"
                )
            files = chart.render(values, name=entry.release, namespace=entry.namespace, is_install=True)
            crds = chart.crds
    except helm_python.HelmError as exc:
        raise ChartError(f"chart {entry.chart} {entry.version} does not render: {exc}") from None
    manifests: list[Obj] = []
    for crd in crds:
        manifests.extend(parse_documents(crd["data"], crd["filename"]))
    for path in sorted(files):
        if path.endswith(".yaml") or path.endswith(".yml"):
            manifests.extend(doc for doc in parse_documents(files[path], path) if not _test_hook(doc))
    return RenderedChart(entry, tuple(manifests))


def _test_hook(doc: Obj) -> bool:
    hooks = ((doc.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
    return "test" in hooks.split(",")

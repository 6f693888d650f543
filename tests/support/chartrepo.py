"""A loopback chart repository: the stand-in charts under tests/data/charts, packaged with helm_python at the
versions pinned in clouder/catalog/charts.py, indexed, and served by a stdlib HTTP server on 127.0.0.1.

Clouder pulls from it by repository URL and pinned version exactly as from the upstream repositories
(the catalog's ``mirror`` points every entry at this one URL).
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import helm_python
import pytest

from clouder.catalog.charts import CHARTS, Catalog

SOURCES = Path(__file__).resolve().parent.parent / "data" / "charts"


class _Quiet(SimpleHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, format: str, *args: object) -> None:
        self.hits.append(self.path)


@dataclass
class ChartRepo:
    url: str
    folder: Path
    work: Path
    hits: list[str]

    def catalog(self) -> Catalog:
        return Catalog(dict(CHARTS), mirror=self.url)

    def publish(self, source: Path, version: str) -> None:
        """Package ``source`` as ``version`` and re-index (how a new upstream release appears)."""
        helm_python.package(source, destination=self.folder, version=version)
        helm_python.repo_index_generate(self.folder)

    def variant(self, chart: str, drop: list[str]) -> Path:
        """A copy of a stand-in chart without some templates (what a newer version no longer renders)."""
        target = self.work / f"{chart}-variant"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(SOURCES / chart, target)
        for name in drop:
            (target / "templates" / name).unlink()
        return target


@pytest.fixture(scope="session")
def chart_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartRepo]:
    folder = tmp_path_factory.mktemp("chart-repo")
    for entry in CHARTS.values():
        helm_python.package(SOURCES / entry.chart, destination=folder, version=entry.version)
    helm_python.repo_index_generate(folder)
    handler = type("Handler", (_Quiet,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        yield ChartRepo(url, folder, tmp_path_factory.mktemp("charts"), handler.hits)
    finally:
        server.shutdown()
        server.server_close()

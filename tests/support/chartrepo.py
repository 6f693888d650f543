"""A loopback chart repository: the stand-in charts under tests/data/charts, packaged with helm_python at the
versions pinned in clouder/catalog/charts.py, indexed, and served by a stdlib HTTP server on 127.0.0.1.

Clouder pulls from it by repository URL and pinned version exactly as from the upstream repositories
(the catalog's ``mirror`` points every entry at this one URL). Its archives are not the upstream ones, so it
names their digests as any republishing mirror must: a ``CLOUDER_CHART_DIGESTS`` file, which the fixture
points the environment at for the session (without it the pinned upstream digests refuse every stand-in).
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import helm_python
import pytest
import yaml

from clouder.catalog.charts import CHARTS, DIGESTS_ENV, Catalog

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

    def digests(self) -> dict[str, str]:
        """``CHART@VERSION`` -> sha256 of every archive this repository serves, from its index."""
        index = yaml.safe_load((self.folder / "index.yaml").read_text(encoding="utf-8"))
        return {
            f"{name}@{entry['version']}": "sha256:" + entry["digest"]
            for name, entries in index["entries"].items()
            for entry in entries
        }

    @property
    def digests_file(self) -> Path:
        return self.work / "digests.yaml"

    def catalog(self) -> Catalog:
        return Catalog(dict(CHARTS), mirror=self.url, digests=self.digests())

    def publish(self, source: Path, version: str) -> None:
        """Package ``source`` as ``version`` and re-index (how a new upstream release appears)."""
        helm_python.package(source, destination=self.folder, version=version)
        self.index()

    def index(self) -> None:
        helm_python.repo_index_generate(self.folder)
        self.digests_file.write_text(yaml.safe_dump(self.digests()), encoding="utf-8")

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
    handler: type[_Quiet] = type("Handler", (_Quiet,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    before = os.environ.get(DIGESTS_ENV)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        repo = ChartRepo(url, folder, tmp_path_factory.mktemp("charts"), handler.hits)
        repo.index()
        os.environ[DIGESTS_ENV] = str(repo.digests_file)
        yield repo
    finally:
        if before is None:
            os.environ.pop(DIGESTS_ENV, None)
        else:
            os.environ[DIGESTS_ENV] = before
        server.shutdown()
        server.server_close()


@pytest.fixture
def unreachable_repo() -> Iterator[str]:
    """An https chart repository URL on a loopback port that is bound but never listens: helm gets
    "connection refused" at once (as from a repository it cannot reach), and nothing leaves the machine.
    Holding the port bound keeps any other server of the test run off it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield f"https://127.0.0.1:{held.getsockname()[1]}"

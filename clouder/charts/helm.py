"""Pull and render charts through helm_python (Helm's Go SDK over ctypes)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import helm_python
import yaml

from clouder.catalog.charts import ChartEntry
from clouder.errors import ClouderError
from clouder.kube.hooks import Hook, hook_of
from clouder.kube.objects import Obj, parse_documents

CACHE_ENV = "CLOUDER_CACHE_DIR"
# helm_python drives one Go runtime: pull and render one chart at a time (the services' rollout and the
# add-ons render from parallel threads)
_HELM_LOCK = threading.Lock()


# Go's net and net/http wording that Helm passes on when a repository cannot be reached at all (measured
# with Helm v4.2.3 through helm_python: 'dial tcp 127.0.0.1:P: connect: connection refused', 'dial tcp:
# lookup helm.cilium.io on …: no such host', '… dial udp …:53: connect: network is unreachable'). Helm's own
# prefix "… is not a valid chart repository or cannot be reached" is not enough: it also wraps a reachable
# server that serves no index (a 404), which is a wrong repository, not a missing network.
_UNREACHABLE = re.compile(
    r"\bdial (?:tcp|udp)\b|no such host|network is unreachable|no route to host|connection refused"
    r"|connection reset by peer|i/o timeout|TLS handshake timeout|Client\.Timeout exceeded"
)
_MIRROR_HINT = "Check the network path to the repository, or set CLOUDER_CHART_MIRROR to a mirror."


class ChartError(ClouderError):
    """A chart could not be pulled or rendered."""


def _cannot_pull(entry: ChartEntry, cause: object) -> str:
    return f"cannot pull chart {entry.chart} {entry.version} from {entry.repository}: {cause}"


class ChartUnreachable(ChartError):
    """The chart's repository could not be reached (name lookup, route, refused connection, timeout): the
    network path failed, nothing is known about the chart itself."""

    def __init__(self, entry: ChartEntry, cause: str) -> None:
        super().__init__(_cannot_pull(entry, cause), _MIRROR_HINT)
        self.entry = entry
        self.cause = cause


@dataclass(frozen=True)
class UnpulledChart:
    """A pinned chart that was not pulled because its repository could not be reached."""

    name: str  # the add-on step or service it is for
    entry: ChartEntry
    cause: str

    @classmethod
    def of(cls, name: str, error: ChartUnreachable) -> UnpulledChart:
        return cls(name, error.entry, error.cause)

    def label(self) -> str:
        return f"{self.entry.chart} {self.entry.version} from {self.entry.repository}"

    @property
    def message(self) -> str:
        """The error as a run that needs the chart reports it."""
        return f"{_cannot_pull(self.entry, self.cause)} {_MIRROR_HINT}"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "chart": self.entry.chart, "version": self.entry.version,
                "repository": self.entry.repository, "cause": self.cause}  # fmt: skip


@dataclass(frozen=True)
class RenderedChart:
    entry: ChartEntry
    manifests: tuple[Obj, ...]
    hooks: tuple[Hook, ...] = ()


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
            if _UNREACHABLE.search(str(exc)):
                raise ChartUnreachable(entry, str(exc)) from None
            raise ChartError(_cannot_pull(entry, exc), _MIRROR_HINT) from None
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
    with _HELM_LOCK:
        return _render(entry, values, cache)


def _render(entry: ChartEntry, values: dict[str, Any], cache: Path | None) -> RenderedChart:
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
        manifests.extend(_objects(crd["data"], f"{entry.chart}/{crd['filename']}"))
    hooks: list[Hook] = []
    for path in sorted(files):
        if not _manifest_file(path):
            continue
        for doc in _objects(files[path], path):
            hook = hook_of(doc, path)
            if hook is None:
                manifests.append(doc)
            elif hook.events:  # test hooks (and events Helm does not know) are never run
                hooks.append(hook)
    return RenderedChart(entry, tuple(manifests), tuple(hooks))


# Helm's releaseutil.SplitManifests: a line starting with ``---`` ends a document, whatever follows on
# that line (cert-manager renders ``---# Permission to approve …``, which a YAML parser would not split).
SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def split_manifests(text: str) -> list[str]:
    """The documents of a rendered template, split exactly as Helm splits them."""
    return [doc.strip() for doc in SEPARATOR.split(text.strip()) if doc.strip()]


def _manifest_file(path: str) -> bool:
    """What Helm sorts into a release: every rendered template but partials and NOTES.txt."""
    name = PurePosixPath(path).name
    return not name.startswith("_") and name != "NOTES.txt"


def _objects(text: str, source: str) -> list[Obj]:
    """Kubernetes objects of one rendered file; comment-only documents are skipped as Helm skips them."""
    found: list[Obj] = []
    for doc in split_manifests(text):
        try:
            found.extend(parse_documents(doc, source))
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" (line {where.line + 1} of that document)" if where is not None else ""
            raise ChartError(f"{source}: a rendered document is not valid YAML{line}: "
                             f"{getattr(exc, 'problem', None) or exc}") from None  # fmt: skip
        except ValueError as exc:
            raise ChartError(str(exc)) from None
    return found

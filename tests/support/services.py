"""Service rollout support: the services' stand-in charts published into the loopback chart repo at their
pinned versions, and an emulated cluster that also serves the runtime plane's kinds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from clouder.catalog.services import SERVICE_PINS

SOURCES = Path(__file__).resolve().parent.parent / "data" / "charts"
REPO = Path(__file__).resolve().parents[2]
DEMO_VERSION = "1.0.0"
CORE_REPOSITORY = "https://charts.example.test/clouder"  # never dialled: every test pulls from the mirror
# Kinds the runtime plane applies that the shared emulator does not serve by default.
EXTRA_KINDS = (("ResourceQuota", "resourcequotas"), ("LimitRange", "limitranges"))


class CollectorOperator:
    """Plays the OpenTelemetry operator on the emulator: for each OpenTelemetryCollector it makes the
    workload the real operator makes (``<name>-collector``, a DaemonSet for mode daemonset), ``delay`` s
    after the collector appears. Runs in a thread until ``stop()``."""

    def __init__(self, emulator: Any, delay: float = 0.0, interval: float = 0.05) -> None:
        self.emulator, self.delay, self.interval = emulator, delay, interval
        self.seen: dict[str, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.done.wait(self.interval):
            for collector in self.emulator.list("OpenTelemetryCollector"):
                self._make(collector)

    def _make(self, collector: dict[str, Any]) -> None:
        meta = collector["metadata"]
        name, namespace = f"{meta['name']}-collector", meta["namespace"]
        first = self.seen.setdefault(f"{namespace}/{name}", time.monotonic())
        mode = (collector.get("spec") or {}).get("mode", "deployment")
        if time.monotonic() < first + self.delay or mode != "daemonset":
            return
        if self.emulator.get("DaemonSet", name, namespace) is not None:
            return
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "opentelemetry-operator"}
        self.emulator.put({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "otc-container", "image": "registry.example.test/otelcol"}]},
            }},
        })  # fmt: skip


def serve_runtime_kinds(emulator: Any) -> None:
    from support.kubeapi import ResourceType

    for kind, plural in EXTRA_KINDS:
        emulator.types[("", plural)] = ResourceType("", "v1", kind, plural, True, kind == "ResourceQuota")


@dataclass
class ServiceRepo:
    url: str
    cache: Path  # pulled charts, shared by the session's tests (keyed by repository and version)


@pytest.fixture(scope="session")
def service_charts(chart_repo: Any, tmp_path_factory: pytest.TempPathFactory) -> ServiceRepo:
    """Every service's stand-in chart at its pinned version (and the demo custom chart) in the repo."""
    for pin in SERVICE_PINS.values():
        chart_repo.publish(SOURCES / pin.chart, pin.version)
    chart_repo.publish(SOURCES / "demo-app", DEMO_VERSION)
    return ServiceRepo(chart_repo.url, tmp_path_factory.mktemp("service-chart-cache"))


def spec_document(example: str = "aws-minimal.yaml", **changes: Any) -> dict[str, Any]:
    """An example spec with the core services enabled (``services.coreRepository``; the tests' chart mirror
    serves them) and dotted ``changes`` applied."""
    document: dict[str, Any] = yaml.safe_load((REPO / "examples" / example).read_text())
    document.pop("context", None)
    document.setdefault("services", {}).setdefault("coreRepository", CORE_REPOSITORY)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = document
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return document


@dataclass
class ServicesCluster:
    """An emulated cluster, a spec file for it and the chart repo every chart is pulled from."""

    api: Any  # support.kubeapi.KubeApi
    spec_path: Path
    mirror: str
    work: Path
    operator: CollectorOperator | None = None  # the OpenTelemetry operator's stand-in

    @property
    def kubeconfig(self) -> Path:
        return Path(self.api.kubeconfig)

    def write_spec(self, document: dict[str, Any]) -> Path:
        self.spec_path.write_text(yaml.safe_dump(document))
        return self.spec_path


@pytest.fixture
def services_cluster(
    tmp_path: Path, service_charts: ServiceRepo, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServicesCluster]:
    from support.kubeapi import start

    api, stop = start(tmp_path)
    serve_runtime_kinds(api.emulator)
    work = tmp_path / "work"
    monkeypatch.setenv("CLOUDER_WORK_DIR", str(work))
    monkeypatch.setenv("CLOUDER_CACHE_DIR", str(service_charts.cache))
    cluster = ServicesCluster(api, tmp_path / "cluster.yaml", service_charts.url, work)
    cluster.write_spec(spec_document())
    cluster.operator = CollectorOperator(api.emulator)
    try:
        yield cluster
    finally:
        cluster.operator.stop()
        stop()


def emulate_outputs(tmp: Path, outputs: Any, kubernetes_version: str) -> tuple[Any, Any]:
    """An emulated cluster whose nodes are those of a real outputs contract (what kubeadm leaves behind:
    uninitialised nodes, CoreDNS), with a simulated cloud controller manager and the runtime-plane kinds."""
    from support.clusters import CCM_WORKLOADS, _seed_system
    from support.kubeapi import start

    tmp.mkdir(parents=True, exist_ok=True)
    api, stop = start(tmp, git_version=f"v{kubernetes_version}")
    for node in outputs.nodes:
        api.add_node(node.name, node.role)
    ids = {node.name: node.provider_id for node in outputs.nodes}
    api.emulator.on_ready(
        lambda obj: (obj["kind"], obj["metadata"]["name"]) in CCM_WORKLOADS,
        lambda _emulator: api.initialize_nodes(ids),
    )
    _seed_system(api)
    serve_runtime_kinds(api.emulator)
    operator = CollectorOperator(api.emulator)

    def stop_all() -> None:
        operator.stop()
        stop()

    return api, stop_all

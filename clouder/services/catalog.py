"""The service catalog: every built-in service with its chart pin, values builder, dependencies, readiness.

``resolve(spec)`` turns the catalog plus the spec's ``services`` section (overrides, custom services,
the core repository) into the list of services this cluster gets, each with a concrete chart entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from clouder.catalog.charts import ChartEntry
from clouder.catalog.services import RUNTIME_PLANE, SERVICE_PINS, ServicePin
from clouder.clouds import CloudRegistry
from clouder.outputs import ClusterOutputs
from clouder.spec.model import ClusterSpec

Values = dict[str, Any]
# cloud -> "module:attribute" of the annotations on the ingress controller's LoadBalancer Service.
INGRESS_ANNOTATIONS: CloudRegistry[dict[str, str]] = CloudRegistry(
    "the services catalog",
    {
        "aws": "clouder.services.aws:INGRESS_ANNOTATIONS",
        "azure": "clouder.services.azure:INGRESS_ANNOTATIONS",
    },
)
Workload = Literal["Deployment", "DaemonSet", "StatefulSet", "Job"]


@dataclass(frozen=True)
class ServiceContext:
    """What a values builder reads: the spec and, once the infrastructure exists, the outputs contract."""

    spec: ClusterSpec
    outputs: ClusterOutputs | None = None

    @property
    def workers(self) -> int:
        """Workers the system services can run on: pools with a NoSchedule/NoExecute taint (the runtime
        pool) take only pods that tolerate it, so they do not count."""
        tainted = {
            pool.name
            for pool in self.spec.node_pools
            if any(taint.effect in ("NoSchedule", "NoExecute") for taint in pool.taints)
        }
        if self.outputs is not None:
            return sum(1 for node in self.outputs.workers if node.pool not in tainted)
        return sum(pool.count for pool in self.spec.node_pools if pool.name not in tainted)

    def override(self, name: str) -> Values:
        """The user's values for service ``name`` (``services.overrides.NAME.values``)."""
        found = self.spec.services.overrides.get(name)
        return found.values if found else {}

    @property
    def replicas(self) -> int:
        """Two replicas where there are at least two workers to spread them over, else one."""
        return 2 if self.workers >= 2 else 1

    def runtime_plane(self) -> Values:
        runtime = self.spec.runtime
        plane: Values = {"namespaces": [ns.name for ns in runtime.namespaces]}
        pool = next((p for p in self.spec.node_pools if p.name == runtime.node_pool), None)
        if pool is not None:
            plane["nodeSelector"] = {"clouder.dev/pool": pool.name, **pool.labels}
            plane["tolerations"] = [
                {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect} for t in pool.taints
            ]
        return plane


ValuesBuilder = Callable[[ServiceContext], Values]


@dataclass(frozen=True)
class Readiness:
    """When a service counts as ready: every workload it renders is rolled out within ``timeout`` s;
    ``expects`` names workload kinds it must render (an empty rendering is a broken chart, not success);
    ``made`` names workloads (kind, name) an operator makes from the release's custom resources, which the
    chart never renders: they must exist and be rolled out too."""

    timeout: float = 300.0
    expects: tuple[Workload, ...] = ("Deployment",)
    made: tuple[tuple[Workload, str], ...] = ()


@dataclass(frozen=True)
class GeneratedSecret:
    """A Secret Clouder creates once in the service's namespace, before its chart, and never rewrites:
    random values that survive every rollout (a chart's own ``randAlphaNum``/``lookup()`` makes new ones
    on every offline render). Deleting it makes a new one on the next rollout."""

    name: str
    keys: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...] = ()  # keys with a set value (a user name), not random


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    values: ValuesBuilder
    depends_on: tuple[str, ...] = ()
    readiness: Readiness | Callable[[Values], Readiness] = field(default_factory=Readiness)
    secrets: tuple[GeneratedSecret, ...] = ()


@dataclass(frozen=True)
class Service:
    """One service this cluster gets: a concrete chart, computed values and its dependencies."""

    name: str
    tier: Literal["system", "core", "custom", "clouder"]
    chart: ChartEntry | None  # None: objects Clouder builds itself (the runtime plane)
    namespace: str
    depends_on: tuple[str, ...]
    readiness: Readiness
    values: Values = field(default_factory=dict)
    secrets: tuple[GeneratedSecret, ...] = ()

    @property
    def version(self) -> str:
        from clouder import __version__

        return self.chart.version if self.chart else f"clouder-{__version__}"


def _cluster(ctx: ServiceContext) -> Values:
    return {"clusterName": ctx.spec.name, "cloud": ctx.spec.cloud, "region": ctx.spec.region}


def ingress(ctx: ServiceContext) -> Values:
    annotations = dict(INGRESS_ANNOTATIONS[ctx.spec.cloud])
    return {
        "controller": {
            "replicaCount": ctx.replicas,
            "ingressClassResource": {"name": "nginx", "default": True},
            "service": {"type": "LoadBalancer", "annotations": annotations},
            "metrics": {"enabled": True},
        }
    }


def cert_manager(ctx: ServiceContext) -> Values:
    # replicaCount is the controller's alone; the webhook and cainjector have their own.
    replicas = ctx.replicas
    return {
        "crds": {"enabled": True},
        "replicaCount": replicas,
        "webhook": {"replicaCount": replicas},
        "cainjector": {"replicaCount": replicas},
        "prometheus": {"enabled": True},
    }


def observability(ctx: ServiceContext) -> Values:
    # The chart renders one OpenTelemetryCollector per key of `collectors` (its own default is `daemon`):
    # only keys that exist upstream, each with a config the collector CRD's schema accepts. Where telemetry
    # goes is the user's: every exporter they name (overrides: collectors.daemon.config.exporters; the
    # collector-k8s image has otlp, otlphttp, loadbalancing and debug) feeds every pipeline. With none
    # named, the collector's log (`debug`) is the only output.
    named = ((ctx.override("observability").get("collectors") or {}).get("daemon") or {}).get("config") or {}
    exporters = sorted(named.get("exporters") or {}) or ["debug"]
    pipeline = {"receivers": ["otlp"], "processors": ["batch"], "exporters": exporters}
    config = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"},
                                             "http": {"endpoint": "0.0.0.0:4318"}}}},
        "processors": {"batch": {}},
        "exporters": {name: {} for name in exporters if name == "debug"},
        "service": {"pipelines": {signal: pipeline for signal in ("metrics", "traces", "logs")}},
    }  # fmt: skip
    return {
        "clusterName": ctx.spec.name,
        "collectors": {"daemon": {"enabled": True, "config": config}},
        "kubeStateMetrics": {"enabled": True},
        "nodeExporter": {"enabled": True},
    }


def messaging(ctx: ServiceContext) -> Values:
    return {"replicas": 1, "watchAnyNamespace": True, "logLevel": "INFO"}


MINIO_ROOT = GeneratedSecret("object-storage-root", ("rootPassword",), (("rootUser", "clouder-root"),))


def object_storage(ctx: ServiceContext) -> Values:
    # Distributed MinIO needs 4 nodes for its erasure sets; below that, one standalone server (a Deployment).
    mode = "distributed" if ctx.workers >= 4 else "standalone"
    return {
        "mode": mode,
        "replicas": 4 if mode == "distributed" else 1,
        "existingSecret": MINIO_ROOT.name,  # never the chart's lookup(): offline renders would rotate it
        "users": [],  # upstream's default adds console/console123 as consoleAdmin
        "resources": {"requests": {"memory": "1Gi", "cpu": "250m"}},  # upstream asks 16Gi per server
        "persistence": {"size": "100Gi"},
    }


def object_storage_ready(values: Values) -> Readiness:
    return Readiness(600.0, ("StatefulSet",) if values.get("mode") == "distributed" else ("Deployment",))


def shared_filesystem(ctx: ServiceContext) -> Values:
    # No StorageClass without an NFS server: every claim of a class without server/share fails to provision.
    parameters = (ctx.override("shared-filesystem").get("storageClass") or {}).get("parameters") or {}
    create = bool(parameters.get("server") and parameters.get("share"))
    storage_class = {"create": create, "name": "shared-nfs"}
    return {"controller": {"replicas": ctx.replicas}, "storageClass": storage_class}


def secrets(ctx: ServiceContext) -> Values:
    replicas = 3 if ctx.workers >= 3 else 1
    ha = replicas == 3
    return {
        "server": {
            # HA on Vault's integrated raft storage (the chart's HA default is Consul, which is not there).
            "ha": {"enabled": ha, "replicas": replicas, "raft": {"enabled": ha, "setNodeId": ha}},
            "updateStrategyType": "RollingUpdate",  # the chart's OnDelete never rolls an upgrade
            # A sealed or uninitialised Vault is running, awaiting `vault operator init`/unseal by its owner
            # (docs/services.md): ready here means up, not unsealed.
            "readinessProbe": {"path": "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204"},
        },
        "injector": {"enabled": True},
    }


def authorization(ctx: ServiceContext) -> Values:
    # The memory datastore is per pod and lost on restart: one replica unless the user names a real one.
    datastore = ctx.override("authorization").get("datastore") or {}
    engine = datastore.get("engine", "memory")
    replicas = 1 if engine == "memory" else ctx.replicas
    return {"replicaCount": replicas, "datastore": {"engine": engine}, "playground": {"enabled": False}}


def search(ctx: ServiceContext) -> Values:
    # The ZookeeperCluster CRD is off by default upstream; SolrClouds need it.
    return {"watchNamespaces": "", "zookeeper-operator": {"install": True, "crd": {"create": True}}}


def core(ctx: ServiceContext) -> Values:
    return {"global": _cluster(ctx), "replicaCount": ctx.replicas}


def runtime_manager(ctx: ServiceContext) -> Values:
    return {**core(ctx), "runtimePlane": ctx.runtime_plane()}


SYSTEM = (
    CatalogEntry("ingress", ingress),
    CatalogEntry("cert-manager", cert_manager),
    # the operator makes a DaemonSet `<collector>-collector` from the `daemon` OpenTelemetryCollector
    CatalogEntry(
        "observability",
        observability,
        ("cert-manager",),
        Readiness(expects=("DaemonSet",), made=(("DaemonSet", "observability-daemon-collector"),)),
    ),
    CatalogEntry("messaging", messaging, readiness=Readiness(600.0)),
    CatalogEntry("object-storage", object_storage, readiness=object_storage_ready, secrets=(MINIO_ROOT,)),
    CatalogEntry("shared-filesystem", shared_filesystem, readiness=Readiness(expects=("DaemonSet",))),
    CatalogEntry("secrets", secrets, readiness=Readiness(expects=("StatefulSet",))),
    CatalogEntry("authorization", authorization),
    CatalogEntry("search", search),
)
CORE = (
    CatalogEntry("operator", runtime_manager, ("cert-manager",)),
    CatalogEntry("iam", core, ("secrets", "authorization", "ingress")),
    CatalogEntry("runtimes", runtime_manager, ("operator", RUNTIME_PLANE)),
    CatalogEntry("library", core, ("object-storage", "iam")),
    CatalogEntry("spacer", runtime_manager, ("iam", "runtimes", "shared-filesystem")),
    CatalogEntry("ai-agents", runtime_manager, ("runtimes", "iam")),
    CatalogEntry("functions", core, ("runtimes",)),
    CatalogEntry("scheduler", core, ("messaging", "operator")),
    CatalogEntry("spider", core, ("search", "messaging")),
    CatalogEntry("manager", core, ("iam", "scheduler", "spacer")),
    CatalogEntry("status", core, ("observability", "ingress")),
)
CATALOG: dict[str, CatalogEntry] = {entry.name: entry for entry in SYSTEM + CORE}


def _chart(pin: ServicePin, spec: ClusterSpec, version: str | None) -> ChartEntry:
    repository = pin.repository or spec.services.core_repository
    assert repository is not None  # core services without services.coreRepository are not resolved
    if version is None or version == pin.version:
        return ChartEntry(pin.name, repository, pin.chart, pin.version, pin.namespace, pin.digest)
    return ChartEntry(pin.name, repository, pin.chart, version, pin.namespace)  # another version: no digest


def _merge(base: Any, extra: Any) -> Any:
    """The user's values over Clouder's: dicts merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{key: _merge(base.get(key), value) for key, value in extra.items()}}
    return extra


def resolve(spec: ClusterSpec, outputs: ClusterOutputs | None = None) -> list[Service]:
    """The services this cluster gets: enabled built-ins (overrides applied), then custom ones.

    Core services come only from ``services.coreRepository``: without it they are not installed (there is no
    default repository). A dependency on a disabled service is dropped: whoever disabled it provides it some
    other way.
    """
    ctx = ServiceContext(spec, outputs)
    overrides = spec.services.overrides
    disabled = {name for name, override in overrides.items() if not override.enabled}
    found = [Service(RUNTIME_PLANE, "clouder", None, "kube-system", (), Readiness(60.0, ()))]
    for name, entry in CATALOG.items():
        if name in disabled or (SERVICE_PINS[name].tier == "core" and spec.services.core_repository is None):
            continue
        override = overrides.get(name)
        pin = SERVICE_PINS[name]
        values = _merge(entry.values(ctx), override.values if override else {})
        chart = _chart(pin, spec, override.version if override else None)
        depends = tuple(dep for dep in entry.depends_on if dep not in disabled)
        ready = entry.readiness(values) if callable(entry.readiness) else entry.readiness
        found.append(Service(name, pin.tier, chart, pin.namespace, depends, ready, values, entry.secrets))
    for custom in spec.services.custom:
        if custom.name in disabled:
            continue
        override = overrides.get(custom.name)
        version = (override.version if override else None) or custom.version
        chart = ChartEntry(custom.name, custom.repository, custom.chart, version, custom.namespace)
        values = _merge(custom.values, override.values if override else {})
        depends = tuple(dep for dep in custom.depends_on if dep not in disabled)
        found.append(
            Service(custom.name, "custom", chart, custom.namespace, depends, Readiness(expects=()), values)
        )
    return found


def with_mirror(services: list[Service], mirror: str | None, digests: dict[str, str]) -> list[Service]:
    """Every chart pulled from ``mirror`` instead (air-gapped installs, tests), each checked against the
    digest the mirror names for it in ``digests`` ("CHART@VERSION"), else against the pinned one; Clouder's
    own step stays."""

    def moved(chart: ChartEntry) -> ChartEntry:
        digest = digests.get(f"{chart.chart}@{chart.version}", chart.digest)
        return replace(chart, repository=mirror or chart.repository, digest=digest)

    return [replace(s, chart=moved(s.chart)) if s.chart else s for s in services]

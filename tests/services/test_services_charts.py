"""Each system service's values against its stand-in chart, which carries the upstream chart's traits at the
pinned version (each stand-in's Chart.yaml names them): what the chart renders with Clouder's values."""

from __future__ import annotations

import base64
from typing import Any

import jsonschema
import pytest

from clouder.catalog.charts import mirror_digests
from clouder.kube import Kube
from clouder.services.catalog import Service, ServiceContext, resolve, with_mirror
from clouder.services.rollout import RolloutSettings, render, rollout
from clouder.spec.model import ClusterSpec
from support.services import ServiceRepo, ServicesCluster, spec_document

Obj = dict[str, Any]
AGENTS = {"name": "agents", "count": 6, "labels": {"clouder.dev/pool": "agents"},
          "taints": [{"key": "clouder.dev/agents", "value": "true", "effect": "NoSchedule"}]}  # fmt: skip


def spec(workers: int = 2, **changes: Any) -> ClusterSpec:
    """The AWS example with ``workers`` untainted workers plus a tainted runtime pool of six."""
    pools = [{"name": "general", "count": workers}, AGENTS]
    return ClusterSpec.model_validate(spec_document(**{"nodePools": pools, **changes}))


def service(name: str, loaded: ClusterSpec, repo: ServiceRepo) -> Service:
    return next(s for s in with_mirror(resolve(loaded), repo.url, mirror_digests()) if s.name == name)


def objects(name: str, loaded: ClusterSpec, repo: ServiceRepo) -> dict[tuple[str, str], Obj]:
    release = render(service(name, loaded, repo), loaded, repo.cache)
    return {(o["kind"], o["metadata"]["name"]): o for o in release.objects()}


def test_tainted_runtime_pools_are_not_workers_for_the_system_services() -> None:
    assert ServiceContext(spec(2)).workers == 2  # the six tainted agents take only runtime pods
    assert ServiceContext(spec(5)).workers == 5


def test_minio_mode_workload_credentials_users_and_requests(service_charts: ServiceRepo) -> None:
    small = spec(2)
    found = objects("object-storage", small, service_charts)
    assert ("Deployment", "minio") in found and ("StatefulSet", "minio") not in found
    assert service("object-storage", small, service_charts).readiness.expects == ("Deployment",)
    pod = found[("Deployment", "minio")]["spec"]["template"]["spec"]["containers"][0]
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in pod["env"]} == {"object-storage-root"}
    assert ("Secret", "minio") not in found  # no chart-made (randomly re-rendered) root credentials
    assert ("ConfigMap", "minio-users") not in found  # no console/console123 admin
    assert pod["resources"]["requests"]["memory"] == "1Gi"
    assert objects("object-storage", small, service_charts) == found  # a second render changes nothing
    big = spec(4)
    assert ("StatefulSet", "minio") in objects("object-storage", big, service_charts)
    assert service("object-storage", big, service_charts).readiness.expects == ("StatefulSet",)


def test_minio_root_secret_is_made_once_and_kept(services_cluster: ServicesCluster) -> None:
    cluster = services_cluster
    loaded = ClusterSpec.model_validate(spec_document())
    connect = lambda: Kube.from_kubeconfig(cluster.kubeconfig)  # noqa: E731
    settings = RolloutSettings(interval=0.05, timeout=5.0, mirror=cluster.mirror, only=("object-storage",))
    first = rollout(connect, loaded, None, settings)
    assert first.ok, first.table()
    made = cluster.api.emulator.get("Secret", "object-storage-root", "object-storage")
    assert made is not None and set(made["data"]) == {"rootUser", "rootPassword"}
    password = base64.b64decode(made["data"]["rootPassword"]).decode()
    assert len(password) >= 32
    second = rollout(connect, loaded, None, settings)
    assert second.ok, second.table()
    kept = cluster.api.emulator.get("Secret", "object-storage-root", "object-storage")
    assert kept is not None and kept["data"] == made["data"]  # never rotated by a rollout
    assert password not in str(first.as_dict()) + str(second.as_dict())


def test_vault_ha_on_raft_rolls_upgrades_and_waits_for_a_running_not_unsealed_server(
    service_charts: ServiceRepo,
) -> None:
    ha = objects("secrets", spec(3), service_charts)
    assert ha[("ConfigMap", "vault-config")]["data"]["storage"] == "raft"  # not the chart's Consul
    statefulset = ha[("StatefulSet", "vault")]["spec"]
    assert statefulset["replicas"] == 3 and statefulset["updateStrategy"]["type"] == "RollingUpdate"
    probe = statefulset["template"]["spec"]["containers"][0]["readinessProbe"]
    assert "sealedcode=204" in probe["httpGet"]["path"] and "uninitcode=204" in probe["httpGet"]["path"]
    single = objects("secrets", spec(2), service_charts)
    assert single[("ConfigMap", "vault-config")]["data"]["storage"] == "file"
    assert single[("StatefulSet", "vault")]["spec"]["replicas"] == 1


def test_openfga_runs_one_replica_on_the_memory_datastore(service_charts: ServiceRepo) -> None:
    memory = objects("authorization", spec(3), service_charts)
    assert memory[("Deployment", "openfga")]["spec"]["replicas"] == 1  # upstream's default is 3
    postgres = spec(3, **{"services.overrides": {"authorization": {"values": {"datastore": {
        "engine": "postgres"}}}}})  # fmt: skip
    found = objects("authorization", postgres, service_charts)
    assert found[("Deployment", "openfga")]["spec"]["replicas"] == 2


def test_solr_operator_renders_the_zookeeper_crd(service_charts: ServiceRepo) -> None:
    found = objects("search", spec(), service_charts)
    assert ("CustomResourceDefinition", "zookeeperclusters.zookeeper.pravega.io") in found


def test_nfs_storage_class_only_with_a_server_and_share(service_charts: ServiceRepo) -> None:
    kinds = {kind for kind, _ in objects("shared-filesystem", spec(), service_charts)}
    assert "StorageClass" not in kinds  # a class without server/share fails every claim
    named = spec(**{"services.overrides": {"shared-filesystem": {"values": {"storageClass": {
        "parameters": {"server": "nfs.example.internal", "share": "/exports/shared"}}}}}})  # fmt: skip
    found = objects("shared-filesystem", named, service_charts)[("StorageClass", "shared-nfs")]
    assert found["parameters"] == {"server": "nfs.example.internal", "share": "/exports/shared"}


def test_collectors_are_keyed_as_the_chart_loops_and_valid_against_the_release_crd(
    service_charts: ServiceRepo,
) -> None:
    found = objects("observability", spec(), service_charts)
    crd = found[("CustomResourceDefinition", "opentelemetrycollectors.opentelemetry.io")]
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    collectors = [obj for (kind, _), obj in found.items() if kind == "OpenTelemetryCollector"]
    assert [c["metadata"]["name"] for c in collectors] == ["observability-daemon"]  # upstream's only key
    for collector in collectors:
        jsonschema.validate(collector, schema)
    with pytest.raises(jsonschema.ValidationError):  # what a key the chart does not know renders
        jsonschema.validate({"spec": {"mode": "deployment", "config": {}}}, schema)
    otlp = {"otlp": {"endpoint": "otel.example.internal:4317"}}
    named = spec(**{"services.overrides": {"observability": {"values": {"collectors": {"daemon": {
        "config": {"exporters": otlp}}}}}}})  # fmt: skip
    found = objects("observability", named, service_charts)
    collector = found[("OpenTelemetryCollector", "observability-daemon")]
    jsonschema.validate(collector, schema)
    config = collector["spec"]["config"]
    assert config["exporters"]["otlp"] == otlp["otlp"]  # the user's exporter, not debug, feeds every pipeline
    assert {tuple(p["exporters"]) for p in config["service"]["pipelines"].values()} == {("otlp",)}


def test_cert_manager_replicas_reach_the_webhook_and_cainjector(service_charts: ServiceRepo) -> None:
    found = objects("cert-manager", spec(3), service_charts)
    replicas = {name: found[("Deployment", name)]["spec"]["replicas"]
                for name in ("cert-manager", "cert-manager-webhook", "cert-manager-cainjector")}  # fmt: skip
    assert replicas == {"cert-manager": 2, "cert-manager-webhook": 2, "cert-manager-cainjector": 2}


def test_one_failing_service_is_reported_and_never_ends_the_rollout(
    services_cluster: ServicesCluster,
) -> None:
    cluster = services_cluster
    values = {"nullAnnotations": True}
    demo = {"chart": "demo-app", "repository": "https://apps.example.test", "values": values}
    document = spec_document(**{"services.custom": [
        {"name": "demo", "version": "1.0.0", "namespace": "demo", **demo},
        {"name": "broken", "version": "9.9.9", "namespace": "broken", **demo},  # no such chart version
    ]})  # fmt: skip
    loaded = ClusterSpec.model_validate(document)
    settings = RolloutSettings(interval=0.05, timeout=5.0, mirror=cluster.mirror,
                               only=("demo", "broken", "ingress", "messaging"))  # fmt: skip
    report = rollout(lambda: Kube.from_kubeconfig(cluster.kubeconfig), loaded, None, settings)
    outcomes = report.by_name()
    assert outcomes["broken"].state == "failed" and "9.9.9" in outcomes["broken"].reason
    assert {outcomes[n].state for n in ("demo", "ingress", "messaging")} == {"ready"}  # null metadata applies
    assert cluster.api.emulator.get("ConfigMap", "demo-null-annotations", "demo") is not None


def test_hooks_null_metadata_and_ttl_jobs_of_the_service_charts_roll_out(
    services_cluster: ServicesCluster,
) -> None:
    """ingress-nginx's certificate hook Jobs (TTL 0), solr's post-install check and pre-delete Job, the
    kube-stack's pre-delete cleanup, vault's and the NFS class's null annotations: installed as Helm does."""
    cluster = services_cluster
    emulator = cluster.api.emulator
    nfs = {"storageClass": {"parameters": {"server": "nfs.example.internal", "share": "/exports"}}}
    loaded = ClusterSpec.model_validate(spec_document(**{"services.overrides": {
        "shared-filesystem": {"values": nfs}}}))  # fmt: skip
    chosen = ("ingress", "search", "cert-manager", "observability", "secrets", "shared-filesystem")
    settings = RolloutSettings(interval=0.05, timeout=10.0, mirror=cluster.mirror, only=chosen)
    connect = lambda: Kube.from_kubeconfig(cluster.kubeconfig)  # noqa: E731
    report = rollout(connect, loaded, None, settings)
    assert report.ok, report.table()
    created = {(kind, name) for verb, kind, _ns, name in emulator.writes if verb == "create"}
    assert {("Job", "ingress-nginx-admission-create"), ("Job", "ingress-nginx-admission-patch"),
            ("Job", "zookeeper-operator-post-install")} <= created  # fmt: skip
    for name, namespace in (("zookeeper-operator-pre-delete", "search"),
                            ("observability-delete-resources", "observability")):  # fmt: skip
        assert ("Job", name) not in created  # a pre-delete hook never runs at install
        assert emulator.get("Job", name, namespace) is None
    assert emulator.get("ValidatingWebhookConfiguration", "ingress-nginx-admission") is not None
    assert emulator.get("StorageClass", "shared-nfs") is not None
    again = rollout(connect, loaded, None, settings)
    assert again.ok, again.table()
    assert all(o.changes.keys() <= {"unchanged"} for o in again.outcomes), again.table()


def test_observability_waits_for_the_collector_the_operator_makes(services_cluster: ServicesCluster) -> None:
    from support.services import CollectorOperator

    cluster = services_cluster
    assert cluster.operator is not None
    cluster.operator.stop()  # no operator acting: the chart itself renders no collector workload
    loaded = ClusterSpec.model_validate(spec_document())
    connect = lambda: Kube.from_kubeconfig(cluster.kubeconfig)  # noqa: E731
    settings = RolloutSettings(interval=0.05, timeout=2.0, mirror=cluster.mirror,
                               only=("cert-manager", "observability"))  # fmt: skip
    alone = rollout(connect, loaded, None, settings).by_name()["observability"]
    assert alone.state == "timed-out"
    assert alone.reason == ("DaemonSet observability/observability-daemon-collector: not made yet "
                            "(made by the operator from the release)")  # fmt: skip
    cluster.operator = CollectorOperator(cluster.api.emulator, delay=1.0)
    settings = RolloutSettings(interval=0.05, timeout=10.0, mirror=cluster.mirror, only=("observability",))
    waited = rollout(connect, loaded, None, settings).by_name()["observability"]
    assert waited.state == "ready" and waited.seconds >= 1.0
    assert (
        cluster.api.emulator.get("DaemonSet", "observability-daemon-collector", "observability") is not None
    )


def test_custom_resources_are_checked_against_the_crds_of_their_release(service_charts: ServiceRepo) -> None:
    from clouder.services.rollout import dry_run

    # what Clouder's values once did: a `cluster` key the chart turns into a collector with `config: {}`
    second = {"collectors": {"cluster": {"enabled": True}}}
    loaded = spec(**{"services.overrides": {"observability": {"values": second}}})
    settings = RolloutSettings(mirror=service_charts.url, cache=service_charts.cache, only=("observability",))
    outcome = dry_run(loaded, None, settings).by_name()["observability"]
    assert outcome.state == "failed"
    assert "OpenTelemetryCollector observability/observability-cluster: spec.config: " in outcome.reason
    assert "'exporters' is a required property" in outcome.reason
    fine = dry_run(spec(), None, settings).by_name()["observability"]
    assert fine.state == "planned", fine.reason


def test_cert_manager_splits_as_helm_does_and_its_crds_outlive_the_release(
    services_cluster: ServicesCluster,
) -> None:
    """cert-manager v1.19.1 renders '---# Permission to approve …' (one document per separator, as Helm
    splits) and keeps its CRDs in templates/ with helm.sh/resource-policy: keep."""
    from clouder.kube import uninstall_release

    cluster = services_cluster
    emulator = cluster.api.emulator
    settings = RolloutSettings(interval=0.05, timeout=10.0, mirror=cluster.mirror, only=("cert-manager",))
    connect = lambda: Kube.from_kubeconfig(cluster.kubeconfig)  # noqa: E731
    report = rollout(connect, ClusterSpec.model_validate(spec_document()), None, settings)
    assert report.ok, report.table()
    assert emulator.get("ClusterRole", "cert-manager-controller-approve:cert-manager-io") is not None
    crds = ("certificates.cert-manager.io", "clusterissuers.cert-manager.io")
    for name in crds:
        crd = emulator.get("CustomResourceDefinition", name)
        assert crd is not None and crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    with connect() as kube:
        removed = uninstall_release(kube, "cert-manager", timeout=5.0, interval=0.05)
    assert {str(c.ref) for c in removed.changes if c.action == "kept"} >= {
        f"CustomResourceDefinition {name}" for name in crds
    }
    assert all(emulator.get("CustomResourceDefinition", name) is not None for name in crds)
    assert emulator.get("ClusterRole", "cert-manager-controller-approve:cert-manager-io") is None

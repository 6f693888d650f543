"""Rolling services out against the HTTP Kubernetes API emulator, charts from the loopback repository."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from clouder.dag import Graph
from clouder.events import read_events
from clouder.kube import Kube
from clouder.outputs import parse_terraform_outputs
from clouder.services.catalog import resolve
from clouder.services.rollout import RolloutSettings, rollout
from clouder.spec import load_spec
from support.cli import run
from support.services import REPO, ServiceRepo, ServicesCluster, emulate_outputs, spec_document

FAST = ["--poll-interval", "0.05"]


def settings(cluster: ServicesCluster, **changes: object) -> RolloutSettings:
    """Rollouts that are meant to end ready get a minute: the timeout also covers rendering each chart, which
    took over 3 s on a machine running four test workers. A test of timing out sets its own."""
    base: dict[str, object] = {"interval": 0.05, "timeout": 60.0, "mirror": cluster.mirror}
    return RolloutSettings(**{**base, **changes})  # type: ignore[arg-type]


def test_failed_service_skips_its_dependents_only_then_a_rerun_resumes(
    services_cluster: ServicesCluster,
) -> None:
    cluster = services_cluster
    emulator = cluster.api.emulator
    emulator.rule("Deployment", "cert-manager", "cert-manager", outcome="never",
                  reason="ImagePullBackOff", message='Back-off pulling image "cert-manager"')  # fmt: skip
    args = ["rollout", str(cluster.spec_path), "--kubeconfig", str(cluster.kubeconfig),
            "--chart-mirror", cluster.mirror, "--timeout", "3", *FAST]  # fmt: skip
    first = run(*args, "-o", "json")
    assert first.code == 1, first.stderr
    report = first.json()
    states = {s["name"]: s for s in report["services"]}
    assert states["cert-manager"]["state"] == "failed"
    assert "ImagePullBackOff" in states["cert-manager"]["reason"]
    assert "Deployment cert-manager/cert-manager" in states["cert-manager"]["reason"]
    graph = Graph.of((s.name, s.depends_on) for s in resolve(load_spec(cluster.spec_path)))
    downstream = graph.downstream("cert-manager")
    assert downstream == {"observability", "operator", "runtimes", "spacer", "ai-agents", "functions",
                          "scheduler", "manager", "status"}  # fmt: skip
    for name in downstream:
        assert states[name]["state"] == "skipped", name
        assert states[name]["reason"].startswith("dependency ")
    assert states["observability"]["reason"] == "dependency cert-manager failed"
    assert states["manager"]["reason"] in {"dependency scheduler skipped", "dependency spacer skipped"}
    independent = set(states) - downstream - {"cert-manager"}
    assert {name for name in independent if states[name]["state"] == "ready"} == independent
    assert emulator.get("Deployment", "iam", "clouder-iam") is not None
    assert emulator.get("Deployment", "operator", "clouder-operator") is None  # never applied

    emulator.rule("Deployment", "cert-manager", "cert-manager", outcome="ready")  # the image is fixed
    writes = len(emulator.writes)
    second = run(*args)
    assert second.code == 0, second.stdout + second.stderr
    table = second.stdout
    assert "cert-manager       ready" in table and "manager            ready" in table
    assert "21 ready" in table
    applied = {(kind, ns) for _verb, kind, ns, _name in emulator.writes[writes:]}
    assert ("Deployment", "clouder-iam") not in applied  # what was ready stays untouched
    assert ("Deployment", "clouder-operator") in applied
    third = run(*args, "-o", "json")
    assert third.code == 0
    assert all(s["changes"].keys() <= {"unchanged"} for s in third.json()["services"])
    logged = [(e.phase, e.outcome) for e in read_events(cluster.work / "demo-aws" / "events.jsonl")]
    assert ("cert-manager", "failed") in logged and ("operator", "skipped") in logged


def test_daemonset_slow_without_complaint_times_out(services_cluster: ServicesCluster) -> None:
    cluster = services_cluster
    cluster.api.emulator.rule("DaemonSet", "observability-daemon-collector", "observability", delay=60.0)
    spec = load_spec(cluster.spec_path)
    chosen = ("cert-manager", "observability", "status")
    report = rollout(
        lambda: Kube.from_kubeconfig(cluster.kubeconfig),
        spec,
        None,
        settings(cluster, timeout=1.0, only=chosen),
    )
    outcomes = report.by_name()
    assert outcomes["observability"].state == "timed-out"
    assert (
        "DaemonSet observability/observability-daemon-collector: 0/1 pods available, 1/1 updated "
        "(made by the operator from the release)" in outcomes["observability"].reason
    )
    assert outcomes["cert-manager"].state == "ready"
    # status also needs ingress, which --only left out and nobody rolled out
    assert outcomes["status"].state == "skipped"
    assert "ingress has not been rolled out" in outcomes["status"].reason
    assert not report.ok and report.levels == [["cert-manager"], ["observability"], ["status"]]


def test_independent_services_run_in_parallel_and_custom_services_follow_their_dependencies(
    services_cluster: ServicesCluster,
) -> None:
    cluster = services_cluster
    document = spec_document(**{"services.custom": [{
        "name": "demo", "chart": "demo-app", "repository": "https://apps.example.test", "version": "1.0.0",
        "namespace": "demo", "dependsOn": ["iam"], "values": {"message": "hello from the spec"},
    }]})  # fmt: skip
    spec = load_spec(cluster.write_spec(document))
    for name, namespace in (("vault", "secrets"), ("openfga", "authorization")):
        cluster.api.emulator.rule(
            "StatefulSet" if name == "vault" else "Deployment", name, namespace, delay=1.0
        )
    began = time.monotonic()
    report = rollout(lambda: Kube.from_kubeconfig(cluster.kubeconfig), spec, None, settings(cluster))
    took = time.monotonic() - began
    assert report.ok, report.table()
    outcomes = report.by_name()
    # secrets and authorization each take >= 1 s and ran side by side
    assert outcomes["secrets"].seconds >= 1.0 and outcomes["authorization"].seconds >= 1.0
    assert abs(outcomes["secrets"].started - outcomes["authorization"].started) < 0.9
    ends = [outcomes[n].started + outcomes[n].seconds for n in ("secrets", "authorization")]
    assert outcomes["iam"].started >= max(ends) - 0.01
    assert outcomes["demo"].started >= outcomes["iam"].started + outcomes["iam"].seconds - 0.01
    demo = cluster.api.emulator.get("Deployment", "demo-app", "demo")
    assert demo is not None
    assert demo["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "MESSAGE", "value": "hello from the spec"}
    ]
    assert took < sum(o.seconds for o in report.outcomes)  # parallel, not one after another


def test_runtime_plane_lands_with_its_guardrails(services_cluster: ServicesCluster) -> None:
    cluster = services_cluster
    spec = load_spec(cluster.spec_path)
    report = rollout(lambda: Kube.from_kubeconfig(cluster.kubeconfig), spec, None,
                     settings(cluster, only=("runtime-plane",)))  # fmt: skip
    assert report.ok, report.table()
    emulator = cluster.api.emulator
    namespace = emulator.get("Namespace", "agents")
    assert namespace is not None
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    kinds = {
        (o["kind"], o["metadata"]["name"])
        for kind in ("NetworkPolicy", "ResourceQuota", "LimitRange", "Role", "RoleBinding")
        for o in emulator.list(kind)
    }
    assert {
        ("NetworkPolicy", "default-deny"), ("NetworkPolicy", "allow-dns"), ("ResourceQuota", "runtime-quota"),
        ("LimitRange", "runtime-limits"), ("RoleBinding", "clouder-runtime-manager"),
    } <= kinds  # fmt: skip


def test_dry_run_renders_and_validates_everything_without_a_cluster(
    services_cluster: ServicesCluster,
) -> None:
    cluster = services_cluster
    requests = len(cluster.api.emulator.requests)
    result = run(
        "rollout", str(cluster.spec_path), "--dry-run", "--chart-mirror", cluster.mirror, "-o", "json"
    )
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["dryRun"] and report["counts"] == {"planned": 21}
    assert report["order"][0][0] == "runtime-plane" and report["order"][-1] == ["manager"]
    ingress = next(s for s in report["services"] if s["name"] == "ingress")
    assert "Service ingress/ingress-nginx-controller" in ingress["objects"]
    assert len(cluster.api.emulator.requests) == requests
    bad = run(
        "rollout", str(cluster.spec_path), "--only", "nope", "--dry-run", "--chart-mirror", cluster.mirror
    )
    assert bad.code == 2 and "nope" in bad.stderr
    json.dumps(report)


def test_services_the_spec_drops_are_uninstalled_and_teardown_removes_the_rest(
    services_cluster: ServicesCluster,
) -> None:
    from clouder.kube import inventory
    from clouder.services.teardown import uninstall

    cluster = services_cluster
    emulator = cluster.api.emulator
    connect = lambda: Kube.from_kubeconfig(cluster.kubeconfig)  # noqa: E731
    assert rollout(connect, load_spec(cluster.spec_path), None, settings(cluster)).ok
    assert emulator.get("Deployment", "solr-operator", "search") is not None
    spec = load_spec(
        cluster.write_spec(spec_document(**{"services.overrides": {"search": {"enabled": False}}}))
    )
    report = rollout(connect, spec, None, settings(cluster))
    assert report.ok and report.removed == ["search"]
    assert report.by_name()["spider"].state == "ready"  # its search dependency is now provided elsewhere
    assert emulator.get("Deployment", "solr-operator", "search") is None
    assert emulator.get("Service", "ingress-nginx-controller", "ingress") is not None
    with connect() as kube:
        removed = uninstall(kube, spec, timeout=5, interval=0.05)
        assert removed[0] == "manager" and removed[-1] == "runtime-plane"
        assert inventory.releases(kube, owner="rollout") == []
    assert emulator.get("Service", "ingress-nginx-controller", "ingress") is None
    assert emulator.get("Namespace", "agents") is None


@pytest.mark.parametrize("example", ["aws-minimal.yaml", "azure-minimal.yaml"])
def test_both_examples_plan_and_roll_out_on_the_emulator(
    example: str, service_charts: ServiceRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.clusters import outputs_document

    monkeypatch.setenv("CLOUDER_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("CLOUDER_CACHE_DIR", str(service_charts.cache))
    spec_path = REPO / "examples" / example
    mirror = ["--chart-mirror", service_charts.url]
    planned = run("rollout", str(spec_path), "--dry-run", *mirror, "-o", "json")
    assert planned.code == 0, planned.stdout + planned.stderr
    assert planned.json()["counts"] == {"planned": 10}  # no coreRepository: system services + runtime plane
    loaded = load_spec(spec_path)
    document = outputs_document(loaded)
    outputs_path = tmp_path / "outputs.json"
    outputs_path.write_text(json.dumps(document))
    outputs = parse_terraform_outputs(document)
    api, stop = emulate_outputs(tmp_path / "api", outputs, loaded.kubernetes.version)
    try:
        where = ["--kubeconfig", str(api.kubeconfig), "--outputs", str(outputs_path)]
        rolled = run("rollout", str(spec_path), *where, *mirror, "--timeout", "10", *FAST, "-o", "json")
        assert rolled.code == 0, rolled.stdout + rolled.stderr
        assert rolled.json()["counts"] == {"ready": 10}
    finally:
        stop()

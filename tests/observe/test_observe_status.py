"""`clouder status` against an emulated cluster: before anything is installed, after add-ons and services,
and when the cluster cannot be reached."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.cli import run
from support.clusters import EmulatedCluster
from support.services import CORE_REPOSITORY, CollectorOperator, ServiceRepo, serve_runtime_kinds

FAST = ["--poll-interval", "0.05"]


def test_status_follows_the_cluster_through_addons_and_rollout(
    aws_cluster: EmulatedCluster, service_charts: ServiceRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDER_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("CLOUDER_CACHE_DIR", str(service_charts.cache))
    serve_runtime_kinds(aws_cluster.api.emulator)
    operator = CollectorOperator(aws_cluster.api.emulator)
    document = yaml.safe_load(aws_cluster.spec_path.read_text())
    document.setdefault("services", {})["coreRepository"] = CORE_REPOSITORY
    spec = str(tmp_path / "cluster.yaml")
    Path(spec).write_text(yaml.safe_dump(document))
    where = ["--outputs", str(aws_cluster.outputs_path), "--kubeconfig", str(aws_cluster.kubeconfig)]
    mirror = ["--chart-mirror", service_charts.url]

    before = run("status", spec, *where, "-o", "json")
    assert before.code == 0, before.stderr
    state = before.json()
    assert state["reachable"] and not state["ok"]
    assert state["infra"]["apiEndpoint"] == "https://api.demo-aws.example.test:6443"
    assert [n["ready"] for n in state["nodes"]] == [True, True, True]
    assert {a["name"]: a["state"] for a in state["addons"]}["cilium"] == "not-installed"
    assert {s["state"] for s in state["services"]} == {"not-installed"}

    assert run("addons", spec, *where, *mirror, *FAST).code == 0
    aws_cluster.api.emulator.rule("StatefulSet", "vault", "secrets", outcome="never")
    rolled = run("rollout", spec, *where, *mirror, "--timeout", "2", *FAST)
    assert rolled.code == 1

    after = run("status", spec, *where, "-o", "json").json()
    assert {a["state"] for a in after["addons"]} == {"ready"}
    services = {s["name"]: s for s in after["services"]}
    assert services["secrets"]["state"] == "not-ready"
    assert "StatefulSet secrets/vault: 0/1 replicas ready" in services["secrets"]["detail"]
    assert services["iam"]["state"] == "not-installed"  # skipped: it needs secrets
    assert services["ingress"]["state"] == "ready" and services["ingress"]["version"] == "4.13.3"
    assert after["ingress_address"].startswith("ingress-nginx-controller-")
    text = run("status", spec, *where)
    assert "add-ons   5/5 ready" in text.stdout and "secrets: not-ready" in text.stdout

    aws_cluster.api.emulator.rule("StatefulSet", "vault", "secrets", outcome="ready")
    assert run("rollout", spec, *where, *mirror, "--timeout", "5", *FAST).code == 0
    assert run("status", spec, *where, "-o", "json").json()["ok"] is True
    operator.stop()


def test_status_without_a_cluster_still_shows_the_infrastructure(
    aws_cluster: EmulatedCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDER_WORK_DIR", str(tmp_path / "work"))
    result = run("status", str(aws_cluster.spec_path), "--outputs", str(aws_cluster.outputs_path))
    assert result.code == 0, result.stderr
    assert "infra     applied: API https://api.demo-aws.example.test:6443" in result.stdout
    assert "cluster   unreachable: kubeconfig" in result.stdout

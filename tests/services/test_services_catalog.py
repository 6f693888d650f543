"""The service catalog, the spec's services section, the dependency graph and the runtime plane's objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clouder.catalog.services import (
    BUILTIN_SERVICES,
    CORE_SERVICES,
    RUNTIME_PLANE,
    SERVICE_PINS,
    SYSTEM_SERVICES,
)
from clouder.dag import Graph
from clouder.errors import BadInputError
from clouder.kube.validate import problems
from clouder.services import runtime
from clouder.services.catalog import CATALOG, resolve
from clouder.spec import load_spec
from clouder.spec.model import BUILTIN_SERVICES as SPEC_NAMES
from clouder.spec.model import ClusterSpec
from clouder.spec.rules import check
from support.cli import run
from support.services import REPO, spec_document


def spec(**changes: object) -> ClusterSpec:
    return ClusterSpec.model_validate(spec_document(**changes))


def test_catalog_is_the_single_source_of_service_names() -> None:
    assert SPEC_NAMES is BUILTIN_SERVICES
    assert set(CATALOG) == set(SERVICE_PINS) == set(BUILTIN_SERVICES)
    assert SYSTEM_SERVICES[:2] == ("ingress", "cert-manager") and "ai-agents" in CORE_SERVICES
    for entry in CATALOG.values():
        assert all(dep in CATALOG or dep == RUNTIME_PLANE for dep in entry.depends_on), entry.name
    for pin in SERVICE_PINS.values():
        assert pin.version[0].isdigit() or pin.version.startswith("v")


def test_every_example_resolves_to_an_acyclic_graph_with_disabled_services_dropped() -> None:
    for example in sorted((REPO / "examples").glob("*.yaml")):
        loaded = load_spec(example)
        services = resolve(loaded)
        Graph.of((s.name, s.depends_on) for s in services)
        core = {s.name for s in services if s.tier == "core"}
        assert core == (set(CORE_SERVICES) if loaded.services.core_repository else set()), example.name
    ha = {s.name: s for s in resolve(load_spec(REPO / "examples" / "aws-ha.yaml"))}
    assert "messaging" not in ha  # services.overrides.messaging.enabled: false
    assert ha["scheduler"].depends_on == ("operator",) and ha["spider"].depends_on == ("search",)


def test_core_repository_overrides_and_custom_services_apply() -> None:
    found = {s.name: s for s in resolve(spec(**{"services": {
        "coreRepository": "https://charts.example.test/clouder",
        "overrides": {"ingress": {"version": "4.14.0", "values": {"controller": {"replicaCount": 5}}},
                      "search": {"enabled": False}},
        "custom": [{"name": "demo", "chart": "demo-app", "repository": "https://apps.example.test",
                    "version": "1.0.0", "namespace": "demo", "dependsOn": ["iam"],
                    "values": {"message": "hi"}}],
    }}))}  # fmt: skip
    assert (
        found["iam"].chart is not None
        and found["iam"].chart.repository == "https://charts.example.test/clouder"
    )
    assert found["iam"].chart.chart == "clouder-iam"
    ingress = found["ingress"]
    assert ingress.chart is not None and ingress.chart.version == "4.14.0"
    assert ingress.chart.repository == "https://kubernetes.github.io/ingress-nginx"
    controller = ingress.values["controller"]
    assert (
        controller["replicaCount"] == 5 and controller["service"]["type"] == "LoadBalancer"
    )  # merged, not replaced
    assert "search" not in found and found["spider"].depends_on == ("messaging",)
    assert found["demo"].depends_on == ("iam",) and found["demo"].values == {"message": "hi"}


def test_core_services_come_only_from_a_repository_the_spec_names(tmp_path: Path) -> None:
    bare = spec(**{"services.coreRepository": None})
    assert {s.tier for s in resolve(bare)} == {"clouder", "system"}  # no default repository to fall back on
    asked = spec(**{"services": {
        "overrides": {"iam": {"values": {"replicaCount": 3}}, "spacer": {"enabled": False}},
        "custom": [{"name": "demo", "chart": "demo-app", "repository": "https://apps.example.test",
                    "version": "1.0.0", "namespace": "demo", "dependsOn": ["ingress", "library"]}],
    }})  # fmt: skip
    found = {problem.path: problem for problem in check(asked)}
    assert set(found) == {"services.overrides.iam", "services.custom[0].dependsOn[1]"}
    assert "services.coreRepository, which is not set" in found["services.overrides.iam"].message
    path = tmp_path / "cluster.yaml"
    document = spec_document(**{"services.coreRepository": None, "services.overrides": {"iam": {}}})
    path.write_text(yaml.safe_dump(document))
    refused = run("validate", str(path))
    assert refused.code == 2
    assert "services.overrides.iam" in refused.stderr and "services.coreRepository" in refused.stderr


def test_values_follow_the_cloud_and_the_runtime_pool() -> None:
    azure = {s.name: s for s in resolve(load_spec(REPO / "examples" / "azure-minimal.yaml"))}
    annotations = azure["ingress"].values["controller"]["service"]["annotations"]
    assert not any("aws" in key for key in annotations)
    ha = {s.name: s for s in resolve(ClusterSpec.model_validate(
        spec_document("aws-ha.yaml", **{"runtime.nodePool": "agents"})))}  # fmt: skip
    plane = ha["runtimes"].values["runtimePlane"]
    assert plane["nodeSelector"]["clouder.dev/pool"] == "agents"
    assert plane["tolerations"] == [
        {"key": "clouder.dev/agents", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ]
    assert "runtimePlane" not in ha["iam"].values


def test_graph_levels_dependents_and_critical_path() -> None:
    graph = Graph.of([("a", ()), ("b", ("a",)), ("c", ("a",)), ("d", ("b", "c")), ("e", ())])
    assert graph.levels() == [["a", "e"], ["b", "c"], ["d"]]
    assert graph.downstream("a") == {"b", "c", "d"}
    total, path = graph.critical_path({"a": 1, "b": 5, "c": 2, "d": 1, "e": 3})
    assert total == 7 and path == ["a", "b", "d"]
    with pytest.raises(BadInputError, match="cycle"):
        Graph.of([("a", ("b",)), ("b", ("a",))])
    with pytest.raises(BadInputError, match="not rolled out"):
        Graph.of([("a", ("zz",))])


def test_runtime_plane_guardrails_are_written_out_and_valid() -> None:
    loaded = spec(**{"runtime": {"namespaces": [
        {"name": "agents", "egress": [{"cidr": "10.0.0.0/16", "ports": [443, 5432]}],
         "quota": {"cpu": "8", "memory": "32Gi", "pods": 50}},
        {"name": "sandbox"},
    ]}})  # fmt: skip
    objects = runtime.manifests(loaded)
    assert problems(objects, loaded.kubernetes.version) == []
    agents = [
        o for o in objects if o["metadata"].get("namespace") == "agents" or o["metadata"]["name"] == "agents"
    ]
    by_kind = {(o["kind"], o["metadata"]["name"]): o for o in agents}
    labels = by_kind[("Namespace", "agents")]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.33"
    deny = by_kind[("NetworkPolicy", "default-deny")]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    egress = by_kind[("NetworkPolicy", "allow-egress")]["spec"]["egress"]
    ports = [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 5432}]
    assert egress == [{"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": ports}]
    assert by_kind[("ResourceQuota", "runtime-quota")]["spec"]["hard"]["pods"] == "50"
    assert by_kind[("LimitRange", "runtime-limits")]["spec"]["limits"][0]["max"] == {
        "cpu": "4",
        "memory": "16Gi",
    }
    subjects = by_kind[("RoleBinding", runtime.MANAGER_ROLE)]["subjects"]
    assert {(s["namespace"], s["name"]) for s in subjects} == {
        ("clouder-operator", "operator"), ("clouder-runtimes", "runtimes"),
        ("clouder-ai-agents", "ai-agents"), ("clouder-spacer", "spacer"),
    }  # fmt: skip
    verbs = {v for rule in by_kind[("Role", runtime.MANAGER_ROLE)]["rules"] for v in rule["verbs"]}
    assert not verbs & {"escalate", "bind", "impersonate", "*"}
    sandbox = [o for o in objects if o["metadata"].get("namespace") == "sandbox"]
    assert "allow-egress" not in {o["metadata"]["name"] for o in sandbox}  # no allowlist: DNS only


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"runtime": {"namespaces": [{"name": "kube-system"}]}}, "runtime.namespaces[0].name"),
        ({"runtime": {"managers": ["nope"]}}, "runtime.managers[0]"),
        ({"runtime": {"nodePool": "missing"}}, "runtime.nodePool"),
        ({"runtime": {"nodePool": "general"}}, "runtime.nodePool"),  # a pool without a NoSchedule taint
        ({"services": {"custom": [{"name": RUNTIME_PLANE, "chart": "x", "repository": "https://x.test",
                                   "version": "1.0.0", "namespace": "x"}]}}, "services.custom[0].name"),
        ({"services": {"custom": [{"name": "cilium", "chart": "x", "repository": "https://x.test",
                                   "version": "1.0.0", "namespace": "x"}]}}, "services.custom[0].name"),
    ],
)  # fmt: skip
def test_runtime_and_service_rules_name_the_field(changes: dict[str, object], path: str) -> None:
    assert path in [problem.path for problem in check(spec(**changes))]

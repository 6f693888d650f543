"""Helm hooks as Helm runs them: by event and weight, waited on, deleted per policy, never release objects;
and rendered manifests split exactly as Helm splits them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clouder.charts import render
from clouder.charts.helm import split_manifests
from clouder.errors import ClouderError
from clouder.kube import ApplyOptions, Kube, Release, apply_release, inventory, uninstall_release
from clouder.kube.hooks import hook_of
from support.chartrepo import ChartRepo
from support.kubeapi import KubeApi

OPTIONS = ApplyOptions("1.33.5", timeout=3.0, interval=0.05)


@pytest.fixture
def kube(kube_api: KubeApi) -> Iterator[Kube]:
    with Kube.from_kubeconfig(kube_api.kubeconfig) as connected:
        yield connected


def hooked(kind: str, name: str, event: str, weight: int = 0, policy: str | None = None) -> dict[str, Any]:
    notes = {"helm.sh/hook": event, "helm.sh/hook-weight": str(weight)}
    if policy:
        notes["helm.sh/hook-delete-policy"] = policy
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": kind,
                           "metadata": {"name": name, "annotations": notes, "labels": None}}  # fmt: skip
    if kind == "Job":
        doc["apiVersion"] = "batch/v1"
        container = {"name": "x", "image": "example.test/x:1"}
        doc["spec"] = {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}
    else:
        doc["data"] = {"event": event}
    return doc


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def release(version: str, *objects: dict[str, Any], hooks: list[dict[str, Any]]) -> Release:
    found = tuple(h for h in (hook_of(doc, "test") for doc in hooks) if h is not None)
    return Release("web", "apps", version, objects, hooks=found)


HOOKS = [
    hooked("Job", "migrate", "pre-install,pre-upgrade", weight=1, policy="hook-succeeded"),
    hooked("ConfigMap", "pre-settings", "pre-install", weight=-1),
    hooked("Job", "announce", "post-install,post-upgrade", policy="before-hook-creation,hook-succeeded"),
    hooked("Job", "uninstall", "pre-delete", weight=-5, policy="hook-succeeded"),
    hooked("ConfigMap", "goodbye", "post-delete"),
]
HOOKS[-1]["metadata"]["namespace"] = "kube-system"  # the release namespace is gone by then


def test_hooks_run_on_their_events_in_weight_order_and_never_as_objects(
    kube: Kube, kube_api: KubeApi
) -> None:
    emulator = kube_api.emulator
    result = apply_release(kube, release("1", config_map("app"), hooks=HOOKS), OPTIONS)
    assert result.ok
    writes = [
        (verb, name) for verb, kind, _, name in emulator.writes if not name.startswith("clouder-release")
    ]
    assert writes == [
        ("apply", "apps"),  # the namespace the hooks run in
        ("create", "pre-settings"), ("create", "migrate"), ("delete", "migrate"),  # pre-install, by weight
        ("apply", "app"),  # the release
        ("create", "announce"), ("delete", "announce"),  # post-install, deleted when it succeeded
    ]  # fmt: skip
    assert emulator.get("Job", "uninstall", "apps") is None  # a pre-delete hook never runs at install
    recorded = inventory.read(kube, "web")
    assert recorded is not None and {r.name for r in recorded.objects} == {"apps", "app"}

    before = len(emulator.writes)
    assert apply_release(kube, release("1", config_map("app"), hooks=HOOKS), OPTIONS).changed == []
    assert emulator.writes[before:] == []  # nothing changes: no upgrade, no hook, no write

    apply_release(kube, release("2", config_map("app", level="debug"), hooks=HOOKS), OPTIONS)
    upgrade = [(verb, name) for verb, _, _, name in emulator.writes[before:] if name != "clouder-release-web"]
    assert upgrade == [("create", "migrate"), ("delete", "migrate"), ("apply", "app"),
                       ("create", "announce"), ("delete", "announce")]  # fmt: skip

    before = len(emulator.writes)
    uninstall_release(kube, "web", timeout=3.0, interval=0.05)
    gone = [(verb, name) for verb, _, _, name in emulator.writes[before:]]
    assert gone == [("create", "uninstall"), ("delete", "uninstall"), ("delete", "app"), ("delete", "apps"),
                    ("delete", "clouder-release-web"), ("create", "goodbye")]  # fmt: skip


def test_a_failing_hook_stops_the_release_and_its_policy_decides_what_stays(
    kube: Kube, kube_api: KubeApi
) -> None:
    emulator = kube_api.emulator
    emulator.rule("Job", "migrate", "apps", outcome="fail", reason="BackoffLimitExceeded", message="exit 1")
    hooks = [hooked("Job", "migrate", "pre-install", policy="hook-failed")]
    with pytest.raises(ClouderError, match="pre-install hook Job apps/migrate did not succeed: job failed"):
        apply_release(kube, release("1", config_map("app"), hooks=hooks), OPTIONS)
    assert emulator.get("Job", "migrate", "apps") is None  # hook-failed: deleted
    assert emulator.get("ConfigMap", "app", "apps") is None  # nothing of the release was applied


def test_test_hooks_and_unknown_events_are_never_run() -> None:
    assert hook_of(hooked("Pod", "smoke", "test"), "t") is not None
    assert hook_of(hooked("Pod", "smoke", "test"), "t").events == ()  # type: ignore[union-attr]
    assert hook_of(config_map("plain"), "t") is None
    with pytest.raises(ClouderError, match=r"helm\.sh/hook-weight 'heavy'"):
        doc = hooked("Job", "x", "pre-install")
        doc["metadata"]["annotations"]["helm.sh/hook-weight"] = "heavy"
        hook_of(doc, "t")


def test_manifests_split_as_helm_splits_them() -> None:
    text = "\n---\n# Source: a.yaml\nkind: A\n---# Permission to approve\nkind: B\n---\nkind: C\n  ---\n"
    # a separator line may carry a comment (cert-manager); an indented --- separates nothing (as in Helm)
    assert split_manifests(text) == [
        "# Source: a.yaml\nkind: A",
        "# Permission to approve\nkind: B",
        "kind: C\n  ---",
    ]
    assert split_manifests("kind: A\nvalue: a---b\n") == ["kind: A\nvalue: a---b"]


def test_render_errors_name_the_template(tmp_path: Path) -> None:
    from clouder.charts.helm import _objects

    with pytest.raises(
        ClouderError, match=r"crds/kustomization.yaml: a Kustomization document has no metadata.name"
    ):
        _objects(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n", "crds/kustomization.yaml"
        )
    with pytest.raises(ClouderError, match=r"t/x.yaml: a rendered document is not valid YAML \(line 2"):
        _objects("kind: A\n  bad: [\n", "t/x.yaml")
    assert _objects("---# only a comment\n---\n", "t/y.yaml") == []


def test_stand_in_charts_render_hooks_apart_from_their_objects(chart_repo: ChartRepo, tmp_path: Path) -> None:
    catalog = chart_repo.catalog()
    calico = render(catalog["calico"], {}, tmp_path)
    assert [str(h.ref) for h in calico.hooks] == ["Job tigera-operator/tigera-operator-uninstall"]
    assert calico.hooks[0].events == ("pre-delete",) and calico.hooks[0].weight == -5
    assert all(o["metadata"]["name"] != "tigera-operator-uninstall" for o in calico.manifests)
    ebs = render(catalog["aws-ebs-csi-driver"], {}, tmp_path)
    assert ebs.hooks == ()  # its helm-tester objects are test hooks: dropped
    assert all("helm.sh/hook" not in (o["metadata"].get("annotations") or {}) for o in ebs.manifests)

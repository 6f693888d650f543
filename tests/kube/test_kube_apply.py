"""The apply engine against the emulator: validation before any write, SSA ownership, CRDs before their
custom resources, prune only what the release still owns, waits that name what is not ready and why."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from clouder.errors import ClouderError
from clouder.kube import ApplyOptions, Change, Kube, Release, apply_release, inventory, uninstall_release
from clouder.kube.validate import schema_version
from support.kubeapi import KubeApi

OPTIONS = ApplyOptions("1.33.5", timeout=1.5, interval=0.05)


@pytest.fixture
def kube(kube_api: KubeApi) -> Iterator[Kube]:
    with Kube.from_kubeconfig(kube_api.kubeconfig) as connected:
        yield connected


def deployment(name: str, namespace: str = "apps", **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            **spec,
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": f"example.test/{name}:1.0"}]},
            },
        },
    }


def config_map(name: str, namespace: str = "apps", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def test_invalid_manifest_stops_the_release_before_any_write(kube: Kube, kube_api: KubeApi) -> None:
    broken = deployment("web")
    broken["spec"]["replicas"] = "three"
    with pytest.raises(ClouderError) as caught:
        apply_release(kube, Release("web", "apps", "1", (config_map("settings"), broken)), OPTIONS)
    assert "Deployment apps/web: spec.replicas: 'three' is not of type 'integer'" in caught.value.render()
    assert kube_api.emulator.writes == []


def test_release_applies_in_order_records_inventory_and_waits(kube: Kube, kube_api: KubeApi) -> None:
    result = apply_release(
        kube, Release("web", "apps", "1", (deployment("web"), config_map("settings"))), OPTIONS
    )
    assert result.ok and result.summary() == "3 created"
    emulator = kube_api.emulator
    kinds = [kind for verb, kind, _, _ in emulator.writes if verb == "apply"]
    # the inventory comes first (what is planned, as pending), and last (what was applied)
    assert kinds == ["ConfigMap", "Namespace", "ConfigMap", "Deployment", "ConfigMap"]
    live = emulator.get("Deployment", "web", "apps")
    assert live is not None
    assert [m["manager"] for m in live["metadata"]["managedFields"]] == ["clouder"]
    assert live["metadata"]["labels"]["clouder.dev/release"] == "web"
    inventory = emulator.get("ConfigMap", "clouder-release-web", "kube-system")
    assert inventory is not None and '"Deployment"' in inventory["data"]["objects"]


def test_clouder_takes_back_fields_another_manager_changed(kube: Kube, kube_api: KubeApi) -> None:
    release = Release("web", "apps", "1", (config_map("settings", level="info"),))
    apply_release(kube, release, OPTIONS)
    drifted = kube_api.emulator.get("ConfigMap", "settings", "apps")
    assert drifted is not None
    drifted["data"]["level"] = "debug"
    kube_api.emulator.put(drifted)
    again = apply_release(kube, release, OPTIONS)
    assert [(str(c.ref), c.action) for c in again.changed] == [("ConfigMap apps/settings", "configured")]
    live = kube_api.emulator.get("ConfigMap", "settings", "apps")
    assert live is not None and live["data"]["level"] == "info"


def test_custom_resources_wait_for_their_definition(kube: Kube, kube_api: KubeApi) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.test"},
        "spec": {
            "group": "example.test",
            "scope": "Cluster",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }
    widget = {
        "apiVersion": "example.test/v1",
        "kind": "Widget",
        "metadata": {"name": "one"},
        "spec": {"size": 3},
    }
    kube_api.emulator.rule("CustomResourceDefinition", "widgets.example.test", delay=0.3)
    result = apply_release(kube, Release("widgets", "kube-system", "1", (widget, crd)), OPTIONS)
    assert result.ok
    assert [str(c.ref) for c in result.changes] == [
        "CustomResourceDefinition widgets.example.test",
        "Widget one",
    ]
    inventory = kube_api.emulator.get("ConfigMap", "clouder-release-widgets", "kube-system")
    assert (
        inventory is not None and '"example.test/v1",\n"Widget",\n"",\n"one"' in inventory["data"]["objects"]
    )


def test_prune_deletes_only_what_the_release_still_owns(kube: Kube, kube_api: KubeApi) -> None:
    first = (config_map("a"), config_map("b"), config_map("c"))
    apply_release(kube, Release("web", "apps", "1", first), OPTIONS)
    adopted = kube_api.emulator.get("ConfigMap", "c", "apps")
    assert adopted is not None
    adopted["metadata"]["labels"]["clouder.dev/release"] = "other"  # another release took it over
    kube_api.emulator.put(adopted)
    result = apply_release(kube, Release("web", "apps", "2", (config_map("a"),)), OPTIONS)
    assert sorted((str(c.ref), c.action) for c in result.changed) == [("ConfigMap apps/b", "pruned")]
    assert kube_api.emulator.get("ConfigMap", "b", "apps") is None
    assert kube_api.emulator.get("ConfigMap", "c", "apps") is not None


def test_crds_and_keep_objects_outlive_their_release(kube: Kube, kube_api: KubeApi) -> None:
    """Helm never deletes a CRD (every custom resource of its kind would go with it) nor an object annotated
    helm.sh/resource-policy: keep (cert-manager's CRDs in templates/ carry it), on upgrade or uninstall."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.test"},
        "spec": {
            "group": "example.test", "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}],
        },
    }  # fmt: skip
    keep = config_map("ca")
    keep["metadata"]["annotations"] = {"helm.sh/resource-policy": "keep"}
    assert apply_release(kube, Release("tools", "apps", "1", (crd, keep, config_map("plain"))), OPTIONS).ok
    dropped = apply_release(kube, Release("tools", "apps", "2", (config_map("other"),)), OPTIONS)
    assert sorted((str(c.ref), c.action) for c in dropped.changed if c.action != "created") == [
        ("ConfigMap apps/ca", "kept"), ("ConfigMap apps/plain", "pruned"),
        ("CustomResourceDefinition gadgets.example.test", "kept"),
    ]  # fmt: skip
    emulator = kube_api.emulator
    assert emulator.get("CustomResourceDefinition", "gadgets.example.test") is not None
    assert emulator.get("ConfigMap", "ca", "apps") is not None
    assert emulator.get("ConfigMap", "plain", "apps") is None
    assert apply_release(kube, Release("tools", "apps", "3", (crd, keep)), OPTIONS).ok
    removed = uninstall_release(kube, "tools", timeout=1.5, interval=0.05)
    assert sorted((str(c.ref), c.action) for c in removed.changes) == [
        ("ConfigMap apps/ca", "kept"), ("CustomResourceDefinition gadgets.example.test", "kept"),
        ("Namespace apps", "kept"),  # it holds the kept ConfigMap
    ]  # fmt: skip
    assert emulator.get("CustomResourceDefinition", "gadgets.example.test") is not None
    assert emulator.get("ConfigMap", "ca", "apps") is not None


def test_wait_report_names_objects_and_why_and_failed_jobs_end_the_wait(
    kube: Kube, kube_api: KubeApi
) -> None:
    emulator = kube_api.emulator
    emulator.rule(
        "Deployment",
        "web",
        "apps",
        outcome="never",
        reason="FailedScheduling",
        message="0/3 nodes are available: 3 Insufficient cpu",
    )
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "apps"},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "example.test/m:1"}]}
            }
        },
    }
    emulator.rule(
        "Job",
        "migrate",
        "apps",
        outcome="fail",
        delay=0.2,
        reason="BackoffLimitExceeded",
        message="Job has reached the specified backoff limit",
    )
    started = time.monotonic()
    result = apply_release(
        kube,
        Release("web", "apps", "1", (deployment("web"), job)),
        ApplyOptions("1.33.5", timeout=30, interval=0.05),
    )
    assert time.monotonic() - started < 10  # a failed Job ends the wait: it will not recover by waiting
    assert not result.ok
    report = {str(item.ref): item.render() for item in result.wait.not_ready}
    assert (
        "job failed: BackoffLimitExceeded Job has reached the specified backoff limit"
        in report["Job apps/migrate"]
    )
    assert "0/1 replicas available" in report["Deployment apps/web"]
    assert "Available: Deployment does not have minimum availability." in report["Deployment apps/web"]
    assert (
        "Warning FailedScheduling: 0/3 nodes are available: 3 Insufficient cpu"
        in report["Deployment apps/web"]
    )


def test_schema_version_maps_the_cluster_release_onto_a_bundled_one() -> None:
    assert schema_version("1.33.5") == "1.33.0"
    assert schema_version("v1.32.9") == "1.32.0"
    assert schema_version("1.24.3") == "1.25.0"  # older than anything bundled: the oldest
    assert schema_version("1.40.0") == "1.37.0"  # newer than anything bundled: the newest


def test_secret_values_never_reach_errors(kube: Kube, kube_api: KubeApi) -> None:
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
    key = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
    encoded = base64.b64encode(key.encode()).decode()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "webhook-tls", "namespace": "apps"},
        "type": "Opaque",
        "data": {"tls.key": encoded},
    }
    kube_api.emulator.reject[("Secret", "webhook-tls")] = (
        422,
        "Secret is invalid",
    )  # echoes the request body
    with pytest.raises(ClouderError) as caught:
        apply_release(kube, Release("web", "apps", "1", (secret,)), OPTIONS)
    message = caught.value.render()
    assert "applying Secret apps/webhook-tls failed: 422" in message and "<redacted>" in message
    assert encoded not in message and body not in message


def _inventory(kube: Kube, release: str) -> tuple[list[str], list[str]]:
    recorded = inventory.read(kube, release)
    assert recorded is not None
    return sorted(r.name for r in recorded.objects), sorted(r.name for r in recorded.pending)


def test_a_failed_release_records_what_it_applied_and_nothing_else(kube: Kube, kube_api: KubeApi) -> None:
    emulator = kube_api.emulator
    apply_release(kube, Release("web", "apps", "1", (config_map("a"), config_map("b"))), OPTIONS)
    emulator.reject[("ConfigMap", "d")] = (500, "etcdserver: request timed out")
    with pytest.raises(ClouderError, match="applying ConfigMap apps/d failed: 500"):
        apply_release(
            kube, Release("web", "apps", "2", (config_map("a"), config_map("c"), config_map("d"))), OPTIONS
        )
    # c was applied, d never was: the inventory says exactly that (the namespace came with the first run)
    assert _inventory(kube, "web") == (["a", "apps", "b", "c"], [])
    emulator.reject.clear()
    result = apply_release(kube, Release("web", "apps", "3", (config_map("a"),)), OPTIONS)
    assert sorted(str(c.ref) for c in result.changed) == ["ConfigMap apps/b", "ConfigMap apps/c"]
    assert [n for n in "abcd" if emulator.get("ConfigMap", n, "apps")] == ["a"]


def test_a_killed_release_leaves_its_plan_pending_and_the_next_run_prunes_it(
    kube: Kube, kube_api: KubeApi
) -> None:
    apply_release(kube, Release("web", "apps", "1", (config_map("a"),)), OPTIONS)

    def killed(change: Change) -> None:  # the process dies right after its first write
        raise SystemExit(137)

    killing = replace(OPTIONS, on_change=killed)
    with pytest.raises(SystemExit):
        apply_release(kube, Release("web", "apps", "2", (config_map("b"), config_map("c"))), killing)
    assert _inventory(kube, "web") == (["a", "apps"], ["b", "c"])  # b was written, c maybe: both pending
    result = apply_release(kube, Release("web", "apps", "3", (config_map("d"),)), OPTIONS)
    assert sorted(str(c.ref) for c in result.changed) == [
        "ConfigMap apps/a", "ConfigMap apps/b", "ConfigMap apps/d"
    ]  # fmt: skip
    assert _inventory(kube, "web") == (["apps", "d"], [])


def test_null_labels_and_annotations_apply_like_empty_maps(kube: Kube, kube_api: KubeApi) -> None:
    # Cilium 1.18.3 renders its cilium-secrets Namespace with ``annotations: null``.
    namespace = {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "cilium-secrets", "labels": None, "annotations": None}}  # fmt: skip
    settings = config_map("settings")
    settings["metadata"].update(labels=None, annotations=None)
    bare = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": None, "data": {}}
    bare["metadata"] = {"name": "bare", "namespace": None}
    result = apply_release(kube, Release("web", "apps", "1", (namespace, settings, bare)), OPTIONS)
    assert result.ok and result.summary() == "4 created"
    for kind, name, ns in (("Namespace", "cilium-secrets", ""), ("ConfigMap", "settings", "apps")):
        live = kube_api.emulator.get(kind, name, ns)
        assert live is not None and live["metadata"]["labels"]["clouder.dev/release"] == "web"
    again = apply_release(kube, Release("web", "apps", "1", (namespace, settings, bare)), OPTIONS)
    assert again.changed == []


def test_kubeconfig_credentials_are_redacted(kube: Kube) -> None:
    message = kube.redactor.redact("401: token emulator-admin-token-0123456789 rejected")
    assert message == "401: token <redacted> rejected"

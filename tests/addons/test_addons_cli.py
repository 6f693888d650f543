"""`clouder addons`, `clouder check` and `clouder render` as a user runs them (the console script, in a
subprocess) against an emulated cluster and the loopback chart repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from support.chartrepo import ChartRepo
from support.clusters import AZURE_SECRETS, EmulatedCluster

DEFAULT = "storageclass.kubernetes.io/is-default-class"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def clouder(tmp_path: Path, chart_repo: ChartRepo) -> Any:
    binary = shutil.which("clouder")
    command = [binary] if binary else [sys.executable, "-m", "clouder.cli.main"]
    env = {
        **os.environ,
        "CLOUDER_WORK_DIR": str(tmp_path / "work"),
        "CLOUDER_CACHE_DIR": str(tmp_path / "cache"),
        "CLOUDER_CHART_MIRROR": chart_repo.url,
    }

    def run(*args: str) -> Run:
        proc = subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=180)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


def cluster_args(cluster: EmulatedCluster) -> list[str]:
    paths = ["--outputs", str(cluster.outputs_path), "--kubeconfig", str(cluster.kubeconfig)]
    return [str(cluster.spec_path), *paths]


def test_addons_twice_second_run_changes_nothing_and_says_so(
    clouder: Any, aws_cluster: EmulatedCluster
) -> None:
    args = [*cluster_args(aws_cluster), "--poll-interval", "0.05", "--timeout", "20"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    aws_cluster.api.emulator.put(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "clouder-addons", "namespace": "kube-system"},
            "spec": {"holderIdentity": "ci-runner-7/4242", "leaseDurationSeconds": 60, "renewTime": now},
        }
    )
    busy = clouder("addons", *args)
    assert busy.code == 1 and "another clouder run (ci-runner-7/4242) holds the lease" in busy.stderr
    assert aws_cluster.api.emulator.writes_to("Deployment") == []  # nothing was applied
    first = clouder("addons", *args, "--break-lock")
    assert first.code == 0, first.stderr
    assert aws_cluster.api.emulator.get("Lease", "clouder-addons", "kube-system") is None  # released
    assert "✓ aws-load-balancer-controller" in first.stderr  # progress per step
    assert "created Deployment kube-system/ebs-csi-controller" in first.stderr
    assert "add-ons ready:" in first.stdout
    second = clouder("addons", *args)
    assert second.code == 0, second.stderr
    assert second.stdout.startswith("nothing to change: ")
    report = clouder("-o", "json", "addons", *args).json()
    assert report["ok"] and report["changed"] == 0


def test_azure_set_installs_and_no_credential_reaches_output_events_or_errors(
    clouder: Any, azure_cluster: EmulatedCluster, tmp_path: Path
) -> None:
    args = [*cluster_args(azure_cluster), "--poll-interval", "0.05", "--timeout", "20"]
    run = clouder("-o", "json", "addons", *args)
    assert run.code == 0, run.stderr
    steps = [step["name"] for step in run.json()["steps"]]
    assert steps == [
        "cilium",
        "azure-cloud-config",
        "cloud-provider-azure",
        "nodes-initialized",
        "azuredisk-csi-driver",
        "azurefile-csi-driver",
        "storage-classes",
    ]
    emulator = azure_cluster.api.emulator
    secret = emulator.get("Secret", "azure-cloud-provider", "kube-system")
    assert secret is not None
    import base64

    azure_json = json.loads(base64.b64decode(secret["data"]["cloud-config"]))
    assert azure_json["useManagedIdentityExtension"] is True
    assert azure_json["userAssignedIdentityID"] == AZURE_SECRETS["identity_client_id"]
    assert azure_json["loadBalancerSku"] == "standard"
    classes = {c["metadata"]["name"]: c for c in emulator.list("StorageClass")}
    assert set(classes) == {"managed-csi", "azurefile-csi"}
    assert classes["managed-csi"]["metadata"]["annotations"][DEFAULT] == "true"
    assert DEFAULT not in classes["azurefile-csi"]["metadata"].get("annotations", {})

    # An API server that rejects the Secret and echoes the request body into its error message.
    emulator.remove("Secret", "azure-cloud-provider", "kube-system")
    emulator.reject[("Secret", "azure-cloud-provider")] = (422, 'Secret "azure-cloud-provider" is invalid')
    failed = clouder("addons", *args)
    assert failed.code == 1
    assert "applying Secret kube-system/azure-cloud-provider failed: 422" in failed.stderr
    assert "<redacted>" in failed.stderr  # the echoed body was there, and was redacted

    events = (tmp_path / "work" / azure_cluster.spec.name / "events.jsonl").read_text()
    finished = {
        (e["stage"], e["phase"]) for e in map(json.loads, events.splitlines()) if e["outcome"] == "ok"
    }
    assert {("addons", step) for step in steps} <= finished  # one structured event per step and outcome
    cloud_config = secret["data"]["cloud-config"]
    for text in (run.stdout, run.stderr, failed.stdout, failed.stderr, events):
        for value in [*AZURE_SECRETS.values(), cloud_config, base64.b64decode(cloud_config).decode()]:
            assert value not in text


def test_check_passes_on_healthy_cluster_and_names_what_fails(
    clouder: Any, aws_cluster: EmulatedCluster
) -> None:
    assert clouder("addons", *cluster_args(aws_cluster), "--poll-interval", "0.05").code == 0
    args = [*cluster_args(aws_cluster), "--poll-interval", "0.05", "--timeout", "30"]
    healthy = clouder("-o", "json", "check", *args)
    assert healthy.code == 0, healthy.stdout + healthy.stderr
    checks = {c["name"]: c for c in healthy.json()["checks"]}
    assert list(checks) == [
        "nodes-ready",
        "system-pods",
        "default-storage-class",
        "pvc-binds",
        "load-balancer",
        "dns",
    ]
    assert all(c["ok"] for c in checks.values())
    assert checks["default-storage-class"]["detail"] == "gp3 is the only default"
    assert checks["system-pods"]["detail"] == "2 pods up, workloads rolled out in kube-system"

    emulator = aws_cluster.api.emulator
    assert emulator.get("Namespace", "clouder-check") is None  # probes cleaned up
    gp3 = emulator.get("StorageClass", "gp3")
    assert gp3 is not None
    gp3["metadata"]["annotations"][DEFAULT] = "false"
    emulator.put(gp3)
    no_default = clouder("check", *args)
    assert no_default.code == 1
    assert "FAIL  default-storage-class  no default StorageClass" in no_default.stdout
    assert "FAIL  pvc-binds" in no_default.stdout

    gp3["metadata"]["annotations"][DEFAULT] = "true"
    emulator.put(gp3)
    first, second = (node.name for node in aws_cluster.outputs.workers)
    aws_cluster.api.set_node_ready(first, False)
    emulator.remove("Node", second)
    not_ready = clouder("-o", "json", "check", *args)
    assert not_ready.code == 1
    failed = [c for c in not_ready.json()["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["nodes-ready"]
    assert failed[0]["detail"] == f"{second} is not registered; {first} is NotReady (KubeletNotReady)"


@pytest.mark.parametrize("cluster_fixture", ["aws_cluster", "azure_cluster"])
def test_render_writes_valid_manifests_without_secrets(
    clouder: Any, cluster_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    cluster: EmulatedCluster = request.getfixturevalue(cluster_fixture)
    out = tmp_path / "gitops"
    run = clouder("render", str(cluster.spec_path), "--outputs", str(cluster.outputs_path), "--out", str(out))
    assert run.code == 0, run.stderr
    files = sorted(out.glob("*.yaml"))
    assert out / "kustomization.yaml" in files
    kinds = set()
    for path in files:
        if path.name == "kustomization.yaml":
            continue
        text = path.read_text()
        for value in AZURE_SECRETS.values():
            assert value not in text
        for doc in yaml.safe_load_all(text):
            kinds.add(doc["kind"])
            assert doc["kind"] != "Secret"
            group = doc["apiVersion"].rpartition("/")[0]
            if "." not in group or group.endswith(
                ".k8s.io"
            ):  # built-in kinds; custom resources have no schema
                kubernetes_validate.validate(doc, "1.33.0", strict=True)  # raises on any schema violation
    assert {"DaemonSet", "Deployment", "StorageClass", "CSIDriver", "ClusterRole"} <= kinds
    if cluster.spec.cloud == "azure":
        assert "Secret kube-system/azure-cloud-provider" in run.stderr
    assert [p.name for p in files if not p.name.startswith("kust")] == yaml.safe_load(
        (out / "kustomization.yaml").read_text()
    )["resources"]


def test_missing_outputs_or_kubeconfig_is_bad_input_with_a_hint(
    clouder: Any, aws_cluster: EmulatedCluster
) -> None:
    spec = str(aws_cluster.spec_path)
    no_outputs = clouder("addons", spec)  # the cluster's work folder has no outputs.json yet
    assert no_outputs.code == 2
    assert "outputs.json does not exist" in no_outputs.stderr and "--outputs FILE" in no_outputs.stderr
    no_kubeconfig = clouder("check", spec, "--outputs", str(aws_cluster.outputs_path))
    assert no_kubeconfig.code == 2
    assert "admin.conf does not exist" in no_kubeconfig.stderr and "clouder bootstrap" in no_kubeconfig.stderr

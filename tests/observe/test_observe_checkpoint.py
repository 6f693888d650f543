"""Runtime checkpointing: CRIU from cloud-init (schema + shellcheck), the ContainerCheckpoint gate in the
kubelet configuration kubeadm is given, and the `clouder check` evaluation against the API emulator."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from clouder.bootstrap.kubeadm import init_documents
from clouder.kube.client import Kube
from clouder.modules.aws.userdata import NodeUserDataProps, node_user_data
from clouder.modules.azure.userdata import node_custom_data
from clouder.modules.common.userdata import NODE_PACKAGES_PATH, shell_scripts
from clouder.observe.check import KUBELET_CONFIG, CheckSettings, checkpointing_check, run_checks
from clouder.outputs import parse_terraform_outputs
from clouder.spec.model import ClusterSpec
from support.clusters import REPO, outputs_document
from support.day2 import seed_system
from support.kubeapi import KubeApi
from support.parts import require_binary


def spec(checkpointing: bool) -> ClusterSpec:
    data = yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())
    data.setdefault("kubernetes", {})["containerCheckpointing"] = checkpointing
    return ClusterSpec.model_validate(data)


def documents(checkpointing: bool) -> dict[str, str]:
    aws = NodeUserDataProps(
        "1.33.5", "ubuntu", [], "worker", "general", container_checkpointing=checkpointing
    )
    return {
        "aws": node_user_data(aws),
        "azure": node_custom_data("1.33.5", "worker", "general", checkpointing),
    }


@pytest.mark.parametrize("checkpointing", [True, False])
def test_user_data_installs_criu_only_when_asked_and_passes_schema_and_shellcheck(
    checkpointing: bool, tmp_path: Path
) -> None:
    cloud_init = require_binary("cloud-init", "apt-get install cloud-init")
    shellcheck = require_binary("shellcheck", "apt-get install shellcheck")
    for cloud, text in documents(checkpointing).items():
        document = yaml.safe_load(text)
        assert document.get("packages") == (["criu"] if checkpointing else None), cloud
        helper = next(f for f in document["write_files"] if f["path"] == NODE_PACKAGES_PATH)
        assert helper["permissions"] == "0755" and "apt-mark hold" in helper["content"]
        path = tmp_path / f"{cloud}.yaml"
        path.write_text(text)
        schema = subprocess.run([cloud_init, "schema", "-c", str(path)], capture_output=True, text=True)
        assert schema.returncode == 0, (cloud, schema.stdout + schema.stderr)
        for name, script in shell_scripts(text).items():
            script_path = tmp_path / f"{cloud}-{Path(name).name}.sh"
            script_path.write_text(script)
            linted = subprocess.run(
                [shellcheck, "-s", "bash", str(script_path)], capture_output=True, text=True
            )
            assert linted.returncode == 0, (cloud, name, linted.stdout)


def test_kubeadm_gets_the_container_checkpoint_gate_only_when_asked() -> None:
    outputs = parse_terraform_outputs(outputs_document(spec(True)))
    docs = {d["kind"]: d for d in yaml.safe_load_all(init_documents(spec(True), outputs))}
    assert docs["KubeletConfiguration"] == {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "featureGates": {"ContainerCheckpoint": True},
    }
    plain = [d["kind"] for d in yaml.safe_load_all(init_documents(spec(False), outputs))]
    assert plain == ["InitConfiguration", "ClusterConfiguration"]


def kubelet_config(api: KubeApi, config: dict[str, Any] | None) -> None:
    """What kubeadm uploads at init: the cluster's KubeletConfiguration in kube-system/kubelet-config."""
    api.emulator.put({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": KUBELET_CONFIG.name, "namespace": "kube-system"},
        "data": {"kubelet": yaml.safe_dump({"apiVersion": "kubelet.config.k8s.io/v1beta1",
                                             "kind": "KubeletConfiguration", **(config or {})})},
    })  # fmt: skip


def test_check_evaluates_the_gate(kube_api: KubeApi) -> None:
    with Kube.from_kubeconfig(kube_api.kubeconfig) as kube:
        missing = checkpointing_check(kube)
        assert not missing.ok and "does not exist" in missing.detail
        kubelet_config(kube_api, {"cgroupDriver": "systemd"})
        off = checkpointing_check(kube)
        assert not off.ok and "does not enable the ContainerCheckpoint feature gate" in off.detail
        kubelet_config(kube_api, {"featureGates": {"ContainerCheckpoint": True}})
        assert checkpointing_check(kube).ok

        seed_system(kube_api)
        kube_api.add_node("n-1", initialized=True, provider_id="aws:///eu-west-1a/i-1")
        names = [r.name for r in run_checks(kube, spec(True), CheckSettings(10.0, 0.05))]
        assert "container-checkpointing" in names
        names = [r.name for r in run_checks(kube, spec(False), CheckSettings(10.0, 0.05))]
        assert "container-checkpointing" not in names


@pytest.mark.e2e
def test_bootstrapped_with_checkpointing_and_clouder_check_passes(lab: Any, tmp_path: Path) -> None:
    """The real bootstrap hands kubeadm (the stand-in) the gate; `clouder check` evaluates what kubeadm
    uploads from it (the kubelet-config ConfigMap) and passes."""
    from support.cli import run as run_cli
    from support.day2 import open_day2

    kubernetes = {"version": "1.33.5", "containerCheckpointing": True}
    day2, stop = open_day2(lab, tmp_path, 1, 1, kubernetes=kubernetes)
    try:
        given = day2.lab.state()["kubelet_config"]
        assert given["featureGates"] == {"ContainerCheckpoint": True}
        kubelet_config(day2.api, {k: v for k, v in given.items() if k not in ("apiVersion", "kind")})
        spec_path, _ = day2.write_files(kubernetes=kubernetes)
        args = ["--kubeconfig", str(day2.api.kubeconfig), "--poll-interval", "0.05", "--timeout", "10"]
        result = run_cli("check", str(spec_path), *args)
        assert result.code == 0, result.stdout + result.stderr
        assert "PASS  container-checkpointing" in result.stdout
    finally:
        stop()

"""Fast checks without hosts: kubeadm v1beta4 documents, secrets, pins, kubeconfig merge, CLI input."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clouder.bootstrap.kubeadm import init_documents, join_document
from clouder.bootstrap.kubeconfig import merge, write_private
from clouder.events import Redactor
from clouder.hosts.hostkeys import KnownHosts
from clouder.hosts.secrets import new_certificate_key, new_token, scrub
from clouder.outputs import parse_terraform_outputs
from clouder.spec.model import ClusterSpec

REPO = Path(__file__).resolve().parents[2]


def outputs_doc() -> dict[str, object]:
    nodes = [
        {"name": "ip-10-0-16-10.eu-west-1.compute.internal", "role": "control-plane", "pool": "control-plane",
         "private_ip": "10.0.16.10", "provider_id": "aws:///eu-west-1a/i-0aaa"},
        {"name": "ip-10-0-16-20.eu-west-1.compute.internal", "role": "worker", "pool": "agents",
         "private_ip": "10.0.16.20", "provider_id": "aws:///eu-west-1a/i-0bbb"},
    ]  # fmt: skip
    values = {
        "contract_version": "1", "cluster_name": "prod-aws",
        "api_endpoint": {"host": "prod-api.elb.amazonaws.com", "port": 6443}, "nodes": nodes,
        "ssh": {"mode": "bastion", "user": "ubuntu", "bastion_host": "198.51.100.7"},
        "cloud": {"cloud": "aws", "region": "eu-west-1", "account_id": "123456789012", "vpc_id": "vpc-0abc",
                  "public_subnet_ids": ["s-1"], "private_subnet_ids": ["s-2"],
                  "node_security_group_id": "sg-1",
                  "control_plane_role_arn": "arn:aws:iam::123456789012:role/cp",
                  "node_role_arn": "arn:aws:iam::123456789012:role/node"},
    }  # fmt: skip
    return {name: {"value": value} for name, value in values.items()}


def spec() -> ClusterSpec:
    return ClusterSpec.model_validate(yaml.safe_load((REPO / "examples" / "aws-ha.yaml").read_text()))


def test_init_documents_are_v1beta4_with_endpoint_sans_and_external_cloud_provider() -> None:
    outputs = parse_terraform_outputs(outputs_doc())
    docs = list(yaml.safe_load_all(init_documents(spec(), outputs)))
    init, cluster = docs
    assert {d["apiVersion"] for d in docs} == {"kubeadm.k8s.io/v1beta4"}
    assert [init["kind"], cluster["kind"]] == ["InitConfiguration", "ClusterConfiguration"]
    assert cluster["controlPlaneEndpoint"] == "prod-api.elb.amazonaws.com:6443"
    assert cluster["kubernetesVersion"] == "v1.33.5"
    assert cluster["networking"] == {"podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/12",
                                     "dnsDomain": "cluster.local"}  # fmt: skip
    assert "prod-api.elb.amazonaws.com" in cluster["apiServer"]["certSANs"]
    assert "10.0.16.10" in cluster["apiServer"]["certSANs"]
    registration = init["nodeRegistration"]
    assert registration["name"] == "ip-10-0-16-10.eu-west-1.compute.internal"
    assert {"name": "cloud-provider", "value": "external"} in registration["kubeletExtraArgs"]
    assert init["localAPIEndpoint"] == {"advertiseAddress": "10.0.16.10", "bindPort": 6443}
    assert "certificateKey" not in init


def test_worker_join_document_carries_pool_labels_taints_and_discovery() -> None:
    outputs = parse_terraform_outputs(outputs_doc())
    token, key = new_token(), new_certificate_key()
    join = yaml.safe_load(
        join_document(outputs.workers[0], spec(), outputs, token, "sha256:" + "a" * 64, key)
    )
    assert join["kind"] == "JoinConfiguration" and "controlPlane" not in join
    assert join["discovery"]["bootstrapToken"] == {
        "apiServerEndpoint": "prod-api.elb.amazonaws.com:6443", "token": token,
        "caCertHashes": ["sha256:" + "a" * 64],
    }  # fmt: skip
    args = {a["name"]: a["value"] for a in join["nodeRegistration"]["kubeletExtraArgs"]}
    assert (
        args["node-labels"] == "clouder.dev/pool=agents" and args["provider-id"] == "aws:///eu-west-1a/i-0bbb"
    )
    assert join["nodeRegistration"]["taints"] == [
        {"key": "clouder.dev/agents", "value": "true", "effect": "NoSchedule"}
    ]


def kubeadm_validate(tmp_path: Path, document: str) -> subprocess.CompletedProcess[str]:
    """The stand-in kubeadm's ``config validate``: strict decoding of v1beta4, as the real kubeadm does."""
    from support.hosts import STANDIN

    path = tmp_path / "kubeadm.yaml"
    path.write_text(document)
    env = {"STANDIN_REGISTRY": str(tmp_path), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, str(STANDIN), "config", "validate", "--config", str(path)],
                          capture_output=True, text=True, env=env)  # fmt: skip


def test_every_kubeadm_document_passes_strict_decoding(tmp_path: Path) -> None:
    outputs = parse_terraform_outputs(outputs_doc())
    token, key, ca_hash = new_token(), new_certificate_key(), "sha256:" + "a" * 64
    cp = outputs.control_planes[0]
    documents = {
        "init": init_documents(spec(), outputs, key),
        "worker": join_document(outputs.workers[0], spec(), outputs, token, ca_hash, None),
        "control plane": join_document(cp, spec(), outputs, token, ca_hash, key),
    }
    for what, document in documents.items():
        done = kubeadm_validate(tmp_path, document)
        assert done.returncode == 0, f"{what}: {done.stderr}"
    join = yaml.safe_load(documents["worker"])
    assert join["timeouts"] == {"discovery": "5m0s"} and "timeout" not in join["discovery"]
    join["discovery"]["timeout"] = "5m0s"  # v1beta3's field, which v1beta4 removed
    refused = kubeadm_validate(tmp_path, yaml.safe_dump(join))
    assert refused.returncode == 1
    assert 'strict decoding error: unknown field "discovery.timeout"' in refused.stderr


def test_scrub_registers_token_certificate_key_and_kubeconfig_data() -> None:
    redactor = Redactor()
    token, key = new_token(), new_certificate_key()
    text = f"kubeadm join x --token {token}\nkey:\n{key}\n    client-key-data: QUJDREVGR0hJSktMTU5PUA==\n"
    clean = scrub(text, redactor)
    for secret in (token, key, "QUJDREVGR0hJSktMTU5PUA=="):
        assert secret not in clean
        assert secret not in redactor.redact(f"later: {secret}")


def test_known_hosts_pins_first_key_and_keeps_it(tmp_path: Path) -> None:
    pins = KnownHosts(tmp_path / "known_hosts")
    assert pins.pinned("cp-1") is None
    assert pins.pin("cp-1", "ssh-ed25519 AAAAfirst") == "ssh-ed25519 AAAAfirst"
    assert pins.pin("cp-1", "ssh-ed25519 AAAAsecond") == "ssh-ed25519 AAAAfirst"
    assert KnownHosts(tmp_path / "known_hosts").pinned("cp-1") == "ssh-ed25519 AAAAfirst"
    assert stat.S_IMODE((tmp_path / "known_hosts").stat().st_mode) == 0o600


def test_kubeconfig_merge_replaces_only_its_own_entries(tmp_path: Path) -> None:
    admin = {"clusters": [{"name": "kubernetes", "cluster": {"server": "https://new:6443"}}],
             "users": [{"name": "kubernetes-admin", "user": {"client-key-data": "k"}}]}  # fmt: skip
    existing = {"current-context": "other", "contexts": [{"name": "lab", "context": {"cluster": "old"}},
                {"name": "other", "context": {"cluster": "other"}}],
                "clusters": [{"name": "lab", "cluster": {"server": "https://old:6443"}}]}  # fmt: skip
    merged = merge(existing, admin, "lab")
    assert [c["name"] for c in merged["contexts"]] == ["other", "lab"]
    assert merged["clusters"] == [{"name": "lab", "cluster": {"server": "https://new:6443"}}]
    assert merged["current-context"] == "other"
    assert merge({}, admin, "lab")["current-context"] == "lab"
    target = tmp_path / "config"
    write_private(target, "x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_cli_without_outputs_contract_is_bad_input(tmp_path: Path) -> None:
    env = {"CLOUDER_WORK_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-c", "from clouder.cli import main; main()", "-o", "json", "bootstrap",
         str(REPO / "examples" / "aws-minimal.yaml")],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2
    payload = json.loads(run.stdout)
    assert "no outputs contract" in payload["error"] and "--outputs" in payload["hint"]


@pytest.mark.parametrize("value", ["10.0.0.0/33", "not-a-network"])
def test_cli_refuses_a_bad_allow_list(tmp_path: Path, value: str) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(outputs_doc()))
    run = subprocess.run(
        [sys.executable, "-c", "from clouder.cli import main; main()", "bootstrap",
         str(REPO / "examples" / "aws-minimal.yaml"), "--outputs", str(outputs), "--ssh-allow", value],
        capture_output=True, text=True, env={"CLOUDER_WORK_DIR": str(tmp_path)}, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2 and "--ssh-allow" in run.stderr


def test_cli_names_a_missing_private_key_as_bad_input(tmp_path: Path) -> None:
    spec = yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())
    spec["access"]["privateKeyPath"] = str(tmp_path / "no-such-key")
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(spec))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(outputs_doc()))
    run = subprocess.run(
        [sys.executable, "-c", "from clouder.cli import main; main()", "bootstrap",
         str(tmp_path / "cluster.yaml"), "--outputs", str(outputs)],
        capture_output=True, text=True, env={"CLOUDER_WORK_DIR": str(tmp_path)}, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert f"access.privateKeyPath: {tmp_path / 'no-such-key'} does not exist" in run.stderr

"""Every custom data the Azure stacks render passes ``cloud-init schema`` and every script in it passes
``shellcheck``; the node script installs the pinned packages and trusts repository keys by fingerprint."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from clouder.catalog import azure as catalog
from clouder.catalog.kubernetes import pinned_versions
from clouder.modules.azure.userdata import node_packages
from clouder.modules.common.userdata import (
    PREPARE_SCRIPT_PATH,
    NodePackages,
    NodeUserDataProps,
    node_user_data,
    prepare_script,
    shell_scripts,
)
from support.azure_stacks import AzureStack
from support.parts import require_binary, require_root


def distinct_custom_data(stacks: dict[str, AzureStack]) -> dict[str, str]:
    documents: dict[str, str] = {}
    for key, stack in stacks.items():
        for vm, text in stack.custom_data().items():
            documents.setdefault(text, f"{key}/{vm}")
    return {label: text for text, label in documents.items()}


def cloud_init_schema(path: Path) -> subprocess.CompletedProcess[str]:
    binary = require_binary("cloud-init", "apt-get install cloud-init")
    return subprocess.run([binary, "schema", "-c", str(path)], capture_output=True, text=True, check=False)


def test_every_custom_data_passes_cloud_init_schema(
    azure_stacks: dict[str, AzureStack], tmp_path: Path
) -> None:
    documents = distinct_custom_data(azure_stacks)
    assert len(documents) >= 4, "control plane, two pools and the bastion render different documents"
    for index, (label, text) in enumerate(sorted(documents.items())):
        assert text.startswith("#cloud-config\n"), label
        path = tmp_path / f"{index}.yaml"
        path.write_text(text)
        result = cloud_init_schema(path)
        assert result.returncode == 0 and "Valid cloud-config" in result.stdout, (
            label,
            result.stdout + result.stderr,
        )


def test_cloud_init_schema_rejects_a_broken_document(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("#cloud-config\nruncmd: 5\nwrite_files: [{content: x}]\n")
    assert cloud_init_schema(path).returncode != 0


def test_every_shell_script_passes_shellcheck(azure_stacks: dict[str, AzureStack], tmp_path: Path) -> None:
    binary = require_binary("shellcheck", "apt-get install shellcheck")
    scripts = {}
    for label, text in distinct_custom_data(azure_stacks).items():
        for where, script in shell_scripts(text).items():
            scripts.setdefault(script, f"{label}:{where}")
    assert scripts, "the node custom data carries the preparation script"
    for index, (script, label) in enumerate(scripts.items()):
        path = tmp_path / f"script-{index}.sh"
        path.write_text(script)
        result = subprocess.run(
            [binary, "--severity=style", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{label}\n{result.stdout}"


def script_settings(script: str) -> dict[str, str]:
    return {m[1]: m[2].strip("'") for m in re.finditer(r"^readonly ([A-Z_]+)=(\S+)$", script, re.M)}


def test_nodes_install_the_pinned_packages_for_the_spec_release(azure_stacks: dict[str, AzureStack]) -> None:
    for stack in azure_stacks.values():
        release = stack.spec.kubernetes.version
        for vm, text in stack.custom_data().items():
            document = yaml.safe_load(text)
            assert document["ssh_pwauth"] is False, vm
            if vm.endswith("-bastion"):
                (sshd,) = [f for f in document["write_files"] if f["path"].startswith("/etc/ssh/")]
                assert (
                    "PasswordAuthentication no" in sshd["content"] and "PermitRootLogin no" in sshd["content"]
                )
                continue
            script = shell_scripts(text)[PREPARE_SCRIPT_PATH]
            settings = script_settings(script)
            minor = ".".join(release.split(".")[:2])
            assert settings["KUBERNETES_REPOSITORY"] == f"https://pkgs.k8s.io/core:/stable:/v{minor}/deb/"
            assert (
                settings["KUBERNETES_PACKAGE_VERSION"] == f"{release}-{catalog.KUBERNETES_PACKAGE_REVISION}"
            )
            assert settings["CONTAINERD_PACKAGE"] == "containerd.io"
            assert settings["CONTAINERD_VERSION"] == catalog.CONTAINERD_PACKAGE_VERSION
            assert settings["KUBERNETES_KEY_FINGERPRINT"] == catalog.KUBERNETES_APT_KEY_FINGERPRINT
            assert settings["CONTAINERD_KEY_FINGERPRINT"] == catalog.CONTAINERD_APT_KEY_FINGERPRINT
            assert "latest" not in text
            (env,) = [f["content"] for f in document["write_files"] if f["path"] == "/etc/clouder/node.env"]
            role = "control-plane" if "-cp-" in vm else "worker"
            assert f"CLOUDER_NODE_ROLE={role}\n" in env, vm


@pytest.mark.parametrize("release", pinned_versions())
def test_every_pinned_release_renders_valid_user_data(release: str, tmp_path: Path) -> None:
    from clouder.spec.model import ClusterSpec

    spec = ClusterSpec.model_validate(
        {
            "apiVersion": "clouder/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "render"},
            "kubernetes": {"version": release},
            "azure": {"location": "westeurope"},
            "network": {
                "subnets": [{"zone": "1", "public": "10.0.0.0/24", "private": "10.0.16.0/20"}],
                "adminCidrs": ["203.0.113.0/24"],
            },
        }
    )
    text = node_user_data(NodeUserDataProps(packages=node_packages(spec.kubernetes.version)))
    path = tmp_path / "node.yaml"
    path.write_text(text)
    assert cloud_init_schema(path).returncode == 0
    assert script_settings(prepare_script(node_packages(spec.kubernetes.version)))[
        "PAUSE_IMAGE"
    ] == catalog.pause_image(release)


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A freshly made OpenPGP public key (armored) and its fingerprint."""
    gpg = require_binary("gpg", "apt-get install gnupg")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    base = [gpg, "--homedir", str(home), "--batch"]
    subprocess.run(
        [*base, "--passphrase", "", "--quick-gen-key", "clouder-test", "ed25519", "sign", "1d"],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        [*base, "--with-colons", "--list-keys"], check=True, capture_output=True, text=True
    )
    fingerprint = next(line.split(":")[9] for line in listing.stdout.splitlines() if line.startswith("fpr:"))
    key = home / "key.asc"
    subprocess.run([*base, "--armor", "--output", str(key), "--export", fingerprint], check=True)
    return key, fingerprint


def run_trust_key(key: Path, fingerprint: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the node script's own ``trust_key`` on a file:// key, with /etc/apt/keyrings on a private tmpfs."""
    require_root("a private mount namespace for /etc/apt/keyrings")
    require_binary("curl", "apt-get install curl")
    script = prepare_script(node_packages_for_test())
    functions = tmp_path / "functions.sh"
    functions.write_text(script.replace('\nmain "$@"\n', "\n"))
    inner = (
        f"mount -t tmpfs tmpfs /etc/apt/keyrings && . {functions} && "
        f'trust_key test "file://{key}" "{fingerprint}" && gpg --show-keys /etc/apt/keyrings/test.gpg'
    )
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", "-c", inner],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def node_packages_for_test() -> NodePackages:
    return node_packages("1.33.5")


def test_trust_key_installs_a_key_with_the_pinned_fingerprint(
    signing_key: tuple[Path, str], tmp_path: Path
) -> None:
    key, fingerprint = signing_key
    result = run_trust_key(key, fingerprint, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "clouder-test" in result.stdout


def test_trust_key_refuses_a_key_with_another_fingerprint(
    signing_key: tuple[Path, str], tmp_path: Path
) -> None:
    key, _ = signing_key
    result = run_trust_key(key, catalog.KUBERNETES_APT_KEY_FINGERPRINT, tmp_path)
    assert result.returncode == 1
    assert "refusing to trust it" in result.stderr


def test_userdata_and_allowlist_import_without_the_provider_bindings() -> None:
    """The policy gate and user-data rendering must not pay for the azurerm bindings (~0.5 GB)."""
    import sys

    probe = (
        "import sys, clouder.modules.azure.userdata, clouder.modules.azure.checkov_allowlist;"
        "heavy = {'cdktf', 'cdktf_cdktf_provider_azurerm', 'jsii'};"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"

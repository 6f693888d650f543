"""Every rendered user-data passes `cloud-init schema`; every shell script in it passes `shellcheck`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from clouder.catalog import aws as catalog
from clouder.modules.aws.userdata import (
    PREPARE_SCRIPT_PATH,
    NodeUserDataProps,
    bastion_user_data,
    node_user_data,
    shell_scripts,
)
from support.aws_stacks import PUBLIC_KEY, AwsStack
from support.parts import require_binary


def cloud_init_schema(path: Path) -> subprocess.CompletedProcess[str]:
    binary = require_binary("cloud-init", "apt-get install cloud-init")
    return subprocess.run([binary, "schema", "-c", str(path)], capture_output=True, text=True, timeout=120)


def shellcheck(path: Path) -> subprocess.CompletedProcess[str]:
    binary = require_binary("shellcheck", "apt-get install shellcheck")
    return subprocess.run([binary, "-s", "bash", str(path)], capture_output=True, text=True, timeout=120)


def rendered(aws_stacks: dict[str, AwsStack]) -> dict[str, str]:
    documents = {}
    for key, stack in aws_stacks.items():
        for description, text in stack.user_data().items():
            documents[f"{key}: {description}"] = text
    return documents


def test_every_synthesized_user_data_passes_cloud_init_schema(
    aws_stacks: dict[str, AwsStack], tmp_path: Path
) -> None:
    documents = rendered(aws_stacks)
    assert len(documents) >= 10  # every node group and bastion of every stack
    for index, (where, text) in enumerate(sorted(documents.items())):
        path = tmp_path / f"user-data-{index}.yaml"
        path.write_text(text)
        done = cloud_init_schema(path)
        assert done.returncode == 0, f"{where}: {done.stdout}{done.stderr}"
        assert "Valid schema" in done.stdout or "Valid cloud-config" in done.stdout, done.stdout


def test_every_shell_script_in_user_data_passes_shellcheck(
    aws_stacks: dict[str, AwsStack], tmp_path: Path
) -> None:
    scripts = {}
    for where, text in rendered(aws_stacks).items():
        for path, content in shell_scripts(text).items():
            scripts[f"{where}: {path}"] = content
    assert scripts, "node user-data carries the preparation script"
    for index, (where, content) in enumerate(sorted(scripts.items())):
        path = tmp_path / f"script-{index}.sh"
        path.write_text(content)
        done = shellcheck(path)
        assert done.returncode == 0, f"{where}:\n{done.stdout}"


def test_the_checkers_reject_what_they_should(tmp_path: Path) -> None:
    """The two gates above are real: a misspelt cloud-config key and an unquoted expansion both fail."""
    text = node_user_data(NodeUserDataProps("1.33.5", "ubuntu", [PUBLIC_KEY]))
    document = yaml.safe_load(text)
    document["runcmd"] = "not-a-list-of-commands"
    document["write_files"][0]["permissions"] = 644
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("#cloud-config\n" + yaml.safe_dump(document))
    assert cloud_init_schema(bad_config).returncode != 0
    bad_script = tmp_path / "bad.sh"
    bad_script.write_text("#!/bin/bash\nfile=$1\nrm -rf $file/*\n")
    assert shellcheck(bad_script).returncode != 0


def test_node_user_data_pins_every_package_and_names_the_host_from_imds() -> None:
    text = node_user_data(NodeUserDataProps("1.32.9", "ubuntu", [PUBLIC_KEY], role="control-plane"))
    document = yaml.safe_load(text)
    assert text.startswith("#cloud-config\n")
    default, login = document["users"]
    assert default == "default" and login["name"] == "ubuntu" and login["ssh_authorized_keys"] == [PUBLIC_KEY]
    assert document["preserve_hostname"] is True
    assert document["runcmd"] == [[PREPARE_SCRIPT_PATH]]
    script = shell_scripts(text)[PREPARE_SCRIPT_PATH]
    assert "KUBERNETES_PACKAGE_VERSION=1.32.9-1.1\n" in script
    assert "KUBERNETES_REPOSITORY=https://pkgs.k8s.io/core:/stable:/v1.32/deb/\n" in script
    assert f"CONTAINERD_VERSION='{catalog.CONTAINERD_PACKAGE_VERSION}'\n" in script
    assert f"KUBERNETES_KEY_FINGERPRINT={catalog.KUBERNETES_APT_KEY_FINGERPRINT}\n" in script
    assert "PAUSE_IMAGE=registry.k8s.io/pause:3.10\n" in script
    assert "kubelet kubeadm kubectl" in script and "apt-mark hold" in script
    assert not re.search(r"[=:]latest\b", script), "no package or image is unpinned"
    assert "| bash" not in script and "| sh" not in script
    # The host is named first, from instance metadata, with an IMDSv2 token.
    main = script[script.index("\nmain() {") :]
    assert main.index("host_setup") < main.index("prepare_kernel") < main.index("install_packages")
    assert "hostnamectl set-hostname" in script[: script.index("\nmain() {")]
    assert "X-aws-ec2-metadata-token-ttl-seconds" in script and "meta-data/local-hostname" in script
    files = {f["path"]: f["content"] for f in document["write_files"]}
    assert files["/etc/modules-load.d/clouder-kubernetes.conf"] == "overlay\nbr_netfilter\n"
    assert "net.ipv4.ip_forward = 1" in files["/etc/sysctl.d/90-clouder-kubernetes.conf"]
    assert "CLOUDER_NODE_ROLE=control-plane" in files["/etc/clouder/node.env"]


def test_a_non_default_user_gets_its_own_sudo_account_with_the_key() -> None:
    document = yaml.safe_load(bastion_user_data("admin", [PUBLIC_KEY]))
    assert "ssh_authorized_keys" not in document
    default, account = document["users"]
    assert default == "default"
    assert account["name"] == "admin" and account["ssh_authorized_keys"] == [PUBLIC_KEY]
    assert account["lock_passwd"] is True
    assert document["ssh_pwauth"] is False


def test_an_unpinned_kubernetes_release_is_refused() -> None:
    with pytest.raises(ValueError, match="not a pinned release"):
        node_user_data(NodeUserDataProps("1.29.0", "ubuntu", [PUBLIC_KEY]))

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


def run_function(
    script: str, call: str, stubs: dict[str, str], folder: Path
) -> subprocess.CompletedProcess[str]:
    """Run one function of the preparation script under bash with stand-in commands first on PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    functions = script[: script.rindex('\nmain "$@"')]
    program = folder / "prepare.sh"
    program.write_text(f"{functions}\n{call}\necho finished\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    return subprocess.run(["bash", str(program)], capture_output=True, text=True, timeout=60, env=env)


def test_control_planes_pull_the_pinned_images_in_cloud_init_and_workers_do_not(tmp_path: Path) -> None:
    """The images kubeadm init/join need are pulled while Terraform still waits for the load balancer."""
    control = shell_scripts(
        node_user_data(NodeUserDataProps("1.32.9", "ubuntu", [PUBLIC_KEY], "control-plane"))
    )
    worker = shell_scripts(node_user_data(NodeUserDataProps("1.32.9", "ubuntu", [PUBLIC_KEY], "worker")))
    control_main = control[PREPARE_SCRIPT_PATH].split("\nmain() {")[1]
    worker_main = worker[PREPARE_SCRIPT_PATH].split("\nmain() {")[1]
    assert (
        control_main.index("configure_runtime")
        < control_main.index("pull_images")
        < control_main.index("MARKER")
    )
    assert "pull_images" not in worker_main
    # best effort, with the pinned release: a failed pull leaves the rest of the preparation going
    calls = tmp_path / "kubeadm-calls"
    kubeadm = f'echo "$*" >> {calls}; exit 1'
    done = run_function(control[PREPARE_SCRIPT_PATH], "pull_images", {"kubeadm": kubeadm}, tmp_path)
    assert done.returncode == 0 and done.stdout.strip().endswith("finished"), done.stderr
    assert calls.read_text().split() == [
        *("config", "images", "pull", "--kubernetes-version", "v1.32.9"),
        *("--cri-socket", "unix:///run/containerd/containerd.sock"),
    ]
    assert "kubeadm will pull them" in done.stderr


def test_nodes_wait_for_the_route_to_the_package_mirrors_before_using_it(tmp_path: Path) -> None:
    """A private subnet's NAT gateway may come up after the node boots: the first download waits for it."""
    script = shell_scripts(node_user_data(NodeUserDataProps("1.32.9", "ubuntu", [PUBLIC_KEY])))[
        PREPARE_SCRIPT_PATH
    ]
    main = script.split("\nmain() {")[1]
    assert main.index("prepare_kernel") < main.index("wait_for_network") < main.index("add_repositories")
    tries = tmp_path / "curl-tries"
    # unreachable on the first try, reachable on the second
    curl = f'echo "$*" >> {tries}; [ "$(wc -l < {tries})" -ge 2 ]'
    done = run_function(script, "wait_for_network", {"curl": curl}, tmp_path)
    assert done.returncode == 0 and done.stdout.strip().endswith("finished"), done.stderr
    lines = tries.read_text().splitlines()
    assert len(lines) == 2 and lines[0].endswith("https://pkgs.k8s.io/core:/stable:/v1.32/deb/Release.key")

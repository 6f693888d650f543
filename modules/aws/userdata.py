"""Cloud-init user-data for cluster nodes and the bastion (pure Python: no CDKTF import).

A node's user-data is a ``#cloud-config`` document that writes the kernel settings and one shell script,
then runs it: the script names the host after its EC2 private DNS name (what the AWS cloud provider calls
the node), turns swap off, loads the kernel modules, and installs the pinned containerd, kubelet, kubeadm
and kubectl. Joining the cluster is the bootstrap stage's job, over SSH, not user-data's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from clouder.catalog import aws as catalog
from clouder.modules.common.userdata import checkpoint_packages, node_packages_file

PREPARE_SCRIPT_PATH = "/usr/local/sbin/clouder-prepare-node"
PREPARED_MARKER = "/var/lib/clouder/node-prepared"

KERNEL_MODULES = ("overlay", "br_netfilter")
SYSCTLS = {
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "net.ipv4.ip_forward": "1",
}

SSHD_BASTION_CONFIG = (
    "PasswordAuthentication no\nPermitRootLogin no\nAllowTcpForwarding yes\nX11Forwarding no\n"
)

PREPARE_SCRIPT = r"""#!/bin/bash
# Prepare an Ubuntu node for kubeadm. Written by Clouder's cloud-init user-data; safe to run again.
set -euo pipefail

readonly KUBERNETES_CHANNEL="@CHANNEL@"
readonly KUBERNETES_PACKAGE_VERSION="@KUBE_VERSION@"
readonly CONTAINERD_PACKAGE_VERSION="@CONTAINERD_VERSION@"
readonly PAUSE_IMAGE="@PAUSE_IMAGE@"
readonly KUBERNETES_KEY_FINGERPRINT="@KEY_FINGERPRINT@"
readonly IMDS="http://169.254.169.254/latest"
readonly APT_OPTIONS=(-q -y -o DPkg::Lock::Timeout=600)

imds() {
  local token
  token="$(curl -fsS --retry 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "${IMDS}/api/token")"
  curl -fsS --retry 5 -H "X-aws-ec2-metadata-token: ${token}" "${IMDS}/meta-data/$1"
}

set_hostname() {
  # The AWS cloud provider expects the node name to be the instance's private DNS name.
  local name
  name="$(imds local-hostname)"
  hostnamectl set-hostname "${name}"
}

prepare_kernel() {
  swapoff -a
  sed -i '/\sswap\s/s/^[^#]/#&/' /etc/fstab
  local module
  for module in @MODULES@; do
    modprobe "${module}"
  done
  sysctl --system >/dev/null
}

install_containerd() {
  apt-get update -q
  apt-get install "${APT_OPTIONS[@]}" "containerd=${CONTAINERD_PACKAGE_VERSION}"
  apt-mark hold containerd
  install -d -m 0755 /etc/containerd
  containerd config default >/etc/containerd/config.toml
  sed -i \
    -e 's/SystemdCgroup = false/SystemdCgroup = true/' \
    -e "s|sandbox_image = .*|sandbox_image = \"${PAUSE_IMAGE}\"|" \
    /etc/containerd/config.toml
  systemctl enable containerd
  systemctl restart containerd
}

install_kubernetes() {
  local repo="https://pkgs.k8s.io/core:/stable:/${KUBERNETES_CHANNEL}/deb/"
  local key
  key="$(mktemp)"
  curl -fsSL --retry 5 "${repo}Release.key" -o "${key}"
  if ! gpg --show-keys --with-colons "${key}" | grep -q "^fpr:::::::::${KUBERNETES_KEY_FINGERPRINT}:"; then
    echo "the pkgs.k8s.io signing key is not ${KUBERNETES_KEY_FINGERPRINT}: refusing to trust it" >&2
    exit 1
  fi
  install -d -m 0755 /etc/apt/keyrings
  gpg --dearmor --batch --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg "${key}"
  rm -f "${key}"
  echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] ${repo} /" \
    >/etc/apt/sources.list.d/kubernetes.list
  apt-get update -q
  apt-get install "${APT_OPTIONS[@]}" \
    "kubelet=${KUBERNETES_PACKAGE_VERSION}" \
    "kubeadm=${KUBERNETES_PACKAGE_VERSION}" \
    "kubectl=${KUBERNETES_PACKAGE_VERSION}"
  apt-mark hold kubelet kubeadm kubectl
  systemctl enable kubelet
}

main() {
  export DEBIAN_FRONTEND=noninteractive
  set_hostname
  prepare_kernel
  install_containerd
  install_kubernetes
  install -d -m 0755 "$(dirname "@MARKER@")"
  date -u +%Y-%m-%dT%H:%M:%SZ >"@MARKER@"
}

main "$@"
"""


@dataclass(frozen=True)
class NodeUserDataProps:
    """What a node's user-data needs: the pinned release and who may log in."""

    kubernetes_version: str
    ssh_user: str
    ssh_public_keys: Sequence[str]
    role: str = "worker"
    pool: str = "default"
    container_checkpointing: bool = False  # install CRIU for the kubelet's checkpoint API


def prepare_script(kubernetes_version: str) -> str:
    """The node preparation script with the pinned versions filled in."""
    values = {
        "@CHANNEL@": catalog.kubernetes_apt_channel(kubernetes_version),
        "@KUBE_VERSION@": catalog.kubernetes_package_version(kubernetes_version),
        "@CONTAINERD_VERSION@": catalog.CONTAINERD_PACKAGE_VERSION,
        "@PAUSE_IMAGE@": catalog.PAUSE_IMAGE,
        "@KEY_FINGERPRINT@": catalog.KUBERNETES_APT_KEY_FINGERPRINT,
        "@MODULES@": " ".join(KERNEL_MODULES),
        "@MARKER@": PREPARED_MARKER,
    }
    text = PREPARE_SCRIPT
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def node_user_data(props: NodeUserDataProps) -> str:
    """The ``#cloud-config`` document for a control-plane or worker node."""
    document: dict[str, Any] = {
        # The script sets the hostname from instance metadata; cloud-init must not change it afterwards.
        "preserve_hostname": True,
        **_login(props.ssh_user, props.ssh_public_keys),
        "write_files": [
            {
                "path": "/etc/modules-load.d/clouder-kubernetes.conf",
                "permissions": "0644",
                "content": "".join(f"{module}\n" for module in KERNEL_MODULES),
            },
            {
                "path": "/etc/sysctl.d/90-clouder-kubernetes.conf",
                "permissions": "0644",
                "content": "".join(f"{key} = {value}\n" for key, value in SYSCTLS.items()),
            },
            {
                "path": "/etc/clouder/node.env",
                "permissions": "0644",
                "content": f"CLOUDER_NODE_ROLE={props.role}\nCLOUDER_NODE_POOL={props.pool}\n",
            },
            {
                "path": PREPARE_SCRIPT_PATH,
                "permissions": "0755",
                "content": prepare_script(props.kubernetes_version),
            },
            node_packages_file(),
        ],
        **checkpoint_packages(props.container_checkpointing),
        "runcmd": [[PREPARE_SCRIPT_PATH]],
    }
    return render_cloud_config(document)


def bastion_user_data(ssh_user: str, ssh_public_keys: Sequence[str]) -> str:
    """The ``#cloud-config`` document for the bastion: keys only, no passwords, forwarding for SSH jumps."""
    document: dict[str, Any] = {
        **_login(ssh_user, ssh_public_keys),
        "ssh_pwauth": False,
        "write_files": [
            {
                "path": "/etc/ssh/sshd_config.d/90-clouder-bastion.conf",
                "permissions": "0644",
                "content": SSHD_BASTION_CONFIG,
            },
        ],
        "runcmd": [["systemctl", "reload", "ssh"]],
    }
    return render_cloud_config(document)


def shell_scripts(user_data: str) -> dict[str, str]:
    """Every file a user-data document writes that starts with a shebang, by path (for linting)."""
    document = yaml.safe_load(user_data)
    return {
        entry["path"]: entry["content"]
        for entry in document.get("write_files", [])
        if str(entry.get("content", "")).startswith("#!")
    }


def _login(user: str, keys: Sequence[str]) -> dict[str, Any]:
    if user == catalog.UBUNTU_DEFAULT_USER:
        return {"ssh_authorized_keys": list(keys)} if keys else {}
    account: dict[str, Any] = {
        "name": user,
        "groups": ["sudo"],
        "sudo": "ALL=(ALL) NOPASSWD:ALL",
        "shell": "/bin/bash",
        "lock_passwd": True,
    }
    if keys:
        account["ssh_authorized_keys"] = list(keys)
    return {"users": ["default", account]}


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, so scripts stay readable in the user-data."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str)


def render_cloud_config(document: Mapping[str, Any]) -> str:
    return "#cloud-config\n" + yaml.dump(dict(document), Dumper=_LiteralDumper, sort_keys=False, width=120)

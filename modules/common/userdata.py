"""Cloud-init user-data for cluster nodes and the bastion, shared by both clouds (pure Python: no CDKTF).

A node's user-data is a ``#cloud-config`` document that writes the kernel settings and one shell script,
then runs it: the script turns swap off, loads the kernel modules, trusts the package repositories' signing
keys only if their fingerprints match the pinned ones, and installs the pinned containerd, kubelet, kubeadm
and kubectl. A cloud may put its own first step in front (``host_setup``, e.g. naming the host after
instance metadata). Control planes then pull kubeadm's images: cloud-init runs while Terraform still waits
for the API load balancer, so `kubeadm init`/`join` later find them on the node instead of pulling them on the
critical path. Joining the cluster is the bootstrap stage's job, over SSH, not user-data's.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from clouder.catalog import nodes as catalog

PREPARE_SCRIPT_PATH = "/usr/local/sbin/clouder-prepare-node"
NODE_PACKAGES_PATH = "/usr/local/sbin/clouder-node-packages"  # used by `clouder upgrade` (clouder.lifecycle)
# The container checkpoint API needs CRIU on the node (from the distribution's archive).
CHECKPOINT_PACKAGES = ("criu",)
PREPARED_MARKER = "/var/lib/clouder/node-prepared"
KERNEL_MODULES = ("overlay", "br_netfilter")
SYSCTLS = {
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
    "net.ipv4.ip_forward": "1",
}


@dataclass(frozen=True)
class AptRepository:
    """A signed apt repository: its ``deb`` line (without options) and its key, pinned by fingerprint."""

    deb: str  # e.g. "https://download.docker.com/linux/ubuntu noble stable"
    key_url: str
    key_fingerprint: str


@dataclass(frozen=True)
class NodePackages:
    """The pinned packages a node installs (from a cloud's catalog)."""

    kubernetes_version: str  # "1.33.5"
    kubernetes_package_revision: str  # pkgs.k8s.io revision: "1.1" gives "1.33.5-1.1"
    kubernetes_key_fingerprint: str
    containerd_package: str  # "containerd.io" (Docker's repository) or "containerd" (Ubuntu archive)
    containerd_version: str
    pause_image: str
    containerd_repository: AptRepository | None = None  # None: the distribution's own archive

    @property
    def kubernetes_channel(self) -> str:
        major, minor, _ = self.kubernetes_version.split(".")
        return f"v{major}.{minor}"

    @property
    def kubernetes_package_version(self) -> str:
        return f"{self.kubernetes_version}-{self.kubernetes_package_revision}"


def node_packages(kubernetes_version: str) -> NodePackages:
    """What a node installs for a pinned Kubernetes release (the shared pins of ``clouder.catalog.nodes``)."""
    return NodePackages(
        kubernetes_version=kubernetes_version,
        kubernetes_package_revision=catalog.KUBERNETES_PACKAGE_REVISION,
        kubernetes_key_fingerprint=catalog.KUBERNETES_APT_KEY_FINGERPRINT,
        containerd_package=catalog.CONTAINERD_PACKAGE,
        containerd_version=catalog.CONTAINERD_PACKAGE_VERSION,
        containerd_repository=AptRepository(
            catalog.CONTAINERD_APT_SOURCE,
            catalog.CONTAINERD_APT_KEY_URL,
            catalog.CONTAINERD_APT_KEY_FINGERPRINT,
        ),
        pause_image=catalog.pause_image(kubernetes_version),
    )


@dataclass(frozen=True)
class NodeUserDataProps:
    packages: NodePackages
    role: str = "worker"
    pool: str = "default"
    ssh_user: str | None = None  # None: the cloud installs the login (e.g. Azure's admin_ssh_key)
    ssh_public_keys: Sequence[str] = ()
    host_setup: str = ""  # body of a bash function run first, before anything is installed
    preserve_hostname: bool = False
    container_checkpointing: bool = False  # install CRIU for the kubelet's checkpoint API


_SCRIPT_BODY = r"""
readonly APT_OPTIONS=(-q -y --no-install-recommends -o DPkg::Lock::Timeout=600)
readonly KEYRINGS=/etc/apt/keyrings

trust_key() {
  # trust_key NAME URL FINGERPRINT: install a repository's signing key, refusing any other key.
  local name="$1" url="$2" fingerprint="$3" key
  key="$(mktemp)"
  curl -fsSL --retry 5 "${url}" -o "${key}"
  if ! gpg --show-keys --with-colons "${key}" | grep -q "^fpr:::::::::${fingerprint}:"; then
    echo "the signing key at ${url} is not ${fingerprint}: refusing to trust it" >&2
    exit 1
  fi
  install -d -m 0755 "${KEYRINGS}"
  gpg --dearmor --batch --yes -o "${KEYRINGS}/${name}.gpg" "${key}"
  rm -f "${key}"
}

wait_for_network() {
  # Nodes in private subnets reach the mirrors through a NAT gateway that Terraform may still be creating
  # when they boot: poll briefly rather than let a long TCP connect back off past the moment it is there.
  local deadline=$((SECONDS + 600))
  until curl -fsS --connect-timeout 5 --max-time 20 -o /dev/null "${KUBERNETES_REPOSITORY}Release.key"; do
    if [ "${SECONDS}" -ge "${deadline}" ]; then
      echo "${KUBERNETES_REPOSITORY} unreachable for 10 minutes: check the subnet's route to the internet" >&2
      exit 1
    fi
    sleep 3
  done
}

pull_images() {
  # Best effort: whatever is missing, kubeadm pulls itself later.
  if ! kubeadm config images pull --kubernetes-version "v${KUBERNETES_VERSION}" \
    --cri-socket unix:///run/containerd/containerd.sock; then
    echo "pre-pulling the control-plane images failed; kubeadm will pull them" >&2
  fi
}

prepare_kernel() {
  swapoff -a
  sed -i '/\sswap\s/s/^[^#]/#&/' /etc/fstab
  local module
  for module in ${KERNEL_MODULES}; do
    modprobe "${module}"
  done
  sysctl --system >/dev/null
}

add_repositories() {
  trust_key kubernetes "${KUBERNETES_REPOSITORY}Release.key" "${KUBERNETES_KEY_FINGERPRINT}"
  echo "deb [signed-by=${KEYRINGS}/kubernetes.gpg] ${KUBERNETES_REPOSITORY} /" \
    >/etc/apt/sources.list.d/kubernetes.list
  if [ -n "${CONTAINERD_REPOSITORY}" ]; then
    trust_key containerd "${CONTAINERD_KEY_URL}" "${CONTAINERD_KEY_FINGERPRINT}"
    echo "deb [signed-by=${KEYRINGS}/containerd.gpg] ${CONTAINERD_REPOSITORY}" \
      >/etc/apt/sources.list.d/containerd.list
  fi
  apt-get update -q
}

install_packages() {
  apt-get install "${APT_OPTIONS[@]}" \
    "${CONTAINERD_PACKAGE}=${CONTAINERD_VERSION}" \
    "kubelet=${KUBERNETES_PACKAGE_VERSION}" \
    "kubeadm=${KUBERNETES_PACKAGE_VERSION}" \
    "kubectl=${KUBERNETES_PACKAGE_VERSION}"
  apt-mark hold "${CONTAINERD_PACKAGE}" kubelet kubeadm kubectl
}

configure_runtime() {
  # Packaged configs may disable the CRI plugin (Docker's containerd.io does): start from the defaults.
  install -d -m 0755 /etc/containerd
  containerd config default >/etc/containerd/config.toml
  sed -i \
    -e 's/SystemdCgroup = false/SystemdCgroup = true/' \
    -e "s|sandbox_image = .*|sandbox_image = \"${PAUSE_IMAGE}\"|" \
    /etc/containerd/config.toml
  systemctl enable containerd
  systemctl restart containerd
  systemctl enable kubelet
}

main() {
  export DEBIAN_FRONTEND=noninteractive
  @HOST_SETUP_CALL@
  prepare_kernel
  wait_for_network
  add_repositories
  install_packages
  configure_runtime
  @PULL_IMAGES_CALL@
  install -d -m 0755 "$(dirname "${MARKER}")"
  date -u +%Y-%m-%dT%H:%M:%SZ >"${MARKER}"
}

main "$@"
"""


def prepare_script(packages: NodePackages, host_setup: str = "", control_plane: bool = False) -> str:
    """The node preparation script (bash) with the pinned versions filled in; a control plane's also pulls
    the control-plane images."""
    repository = packages.containerd_repository
    values = {
        "KUBERNETES_REPOSITORY": f"https://pkgs.k8s.io/core:/stable:/{packages.kubernetes_channel}/deb/",
        "KUBERNETES_VERSION": packages.kubernetes_version,
        "KUBERNETES_PACKAGE_VERSION": packages.kubernetes_package_version,
        "KUBERNETES_KEY_FINGERPRINT": packages.kubernetes_key_fingerprint,
        "CONTAINERD_PACKAGE": packages.containerd_package,
        "CONTAINERD_VERSION": packages.containerd_version,
        "CONTAINERD_REPOSITORY": repository.deb if repository else "",
        "CONTAINERD_KEY_URL": repository.key_url if repository else "",
        "CONTAINERD_KEY_FINGERPRINT": repository.key_fingerprint if repository else "",
        "PAUSE_IMAGE": packages.pause_image,
        "KERNEL_MODULES": " ".join(KERNEL_MODULES),
        "MARKER": PREPARED_MARKER,
    }
    header = [
        "#!/bin/bash",
        "# Prepare an Ubuntu node for kubeadm. Written by Clouder's cloud-init user-data; safe to run again.",
        "set -euo pipefail",
        "",
        *(f"readonly {name}={shlex.quote(value)}" for name, value in values.items()),
    ]
    body = _SCRIPT_BODY.replace("@HOST_SETUP_CALL@", "host_setup" if host_setup else ":").replace(
        "@PULL_IMAGES_CALL@", "pull_images" if control_plane else ":"
    )
    if host_setup:
        body = f"\nhost_setup() {{\n{host_setup.strip(chr(10))}\n}}\n" + body
    return "\n".join(header) + "\n" + body


def node_user_data(props: NodeUserDataProps) -> str:
    """The ``#cloud-config`` document for a control-plane or worker node."""
    document: dict[str, Any] = {
        **({"preserve_hostname": True} if props.preserve_hostname else {}),
        **_login(props.ssh_user, props.ssh_public_keys),
        "ssh_pwauth": False,
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
                "content": prepare_script(props.packages, props.host_setup, props.role == "control-plane"),
            },
            node_packages_file(),
        ],
        **checkpoint_packages(props.container_checkpointing),
        "runcmd": [[PREPARE_SCRIPT_PATH]],
    }
    return render_cloud_config(document)


NODE_PACKAGES_SCRIPT = r"""#!/bin/bash
# clouder-node-packages: this node's Kubernetes packages, for `clouder upgrade`. Written by cloud-init.
#   clouder-node-packages versions                   print kubeadm=VERSION, kubelet=…, kubectl=…
#   clouder-node-packages install VERSION PACKAGE…   e.g. install 1.34.1-1.1 kubelet kubectl
set -euo pipefail

readonly SOURCES=/etc/apt/sources.list.d/kubernetes.list
readonly APT_OPTIONS=(-q -y --no-install-recommends --allow-change-held-packages -o DPkg::Lock::Timeout=600)

usage() {
  echo "usage: clouder-node-packages versions | install VERSION PACKAGE..." >&2
  exit 2
}

versions() {
  local name
  for name in kubeadm kubelet kubectl; do
    echo "${name}=$(dpkg-query -W -f='${Version}' "${name}" 2>/dev/null || echo missing)"
  done
}

install_packages() {
  local version="$1" channel name
  shift
  local wanted=()
  for name in "$@"; do
    case "${name}" in
      kubeadm | kubelet | kubectl) wanted+=("${name}=${version}") ;;
      *) usage ;;
    esac
  done
  # pkgs.k8s.io serves one repository per minor: point the source at the target's minor first.
  channel="v$(echo "${version}" | cut -d. -f1-2)"
  sed -i -E "s#/core:/stable:/v[0-9]+\.[0-9]+/deb/#/core:/stable:/${channel}/deb/#" "${SOURCES}"
  apt-get update -q
  apt-mark unhold "$@" >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTIONS[@]}" "${wanted[@]}"
  apt-mark hold "$@" >/dev/null
  if printf '%s
' "$@" | grep -qx kubelet; then
    systemctl daemon-reload
    systemctl restart kubelet
  fi
}

case "${1:-}" in
  versions) versions ;;
  install)
    shift
    [ "$#" -ge 2 ] || usage
    install_packages "$@"
    ;;
  *) usage ;;
esac
"""


def node_packages_file() -> dict[str, str]:
    """The ``write_files`` entry for the package helper ``clouder upgrade`` runs on each node."""
    return {"path": NODE_PACKAGES_PATH, "permissions": "0755", "content": NODE_PACKAGES_SCRIPT}


def checkpoint_packages(enabled: bool) -> dict[str, Any]:
    """cloud-init's ``packages`` for the container checkpoint API (CRIU), when the spec opts in."""
    return {"packages": list(CHECKPOINT_PACKAGES)} if enabled else {}


@dataclass(frozen=True)
class BastionUserDataProps:
    ssh_user: str | None = None
    ssh_public_keys: Sequence[str] = field(default_factory=tuple)


def bastion_user_data(props: BastionUserDataProps) -> str:
    """The ``#cloud-config`` for the bastion: keys only, no root, TCP forwarding for ``ssh -J``."""
    document: dict[str, Any] = {
        **_login(props.ssh_user, props.ssh_public_keys),
        "ssh_pwauth": False,
        "write_files": [
            {
                "path": "/etc/ssh/sshd_config.d/90-clouder-bastion.conf",
                "permissions": "0644",
                "content": "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n"
                "AllowTcpForwarding yes\nX11Forwarding no\nAllowAgentForwarding no\n",
            },
        ],
        "runcmd": [["systemctl", "reload", "ssh"]],
    }
    return render_cloud_config(document)


def shell_scripts(user_data: str) -> dict[str, str]:
    """Every shell script a user-data document holds, by where it runs (for linting).

    Files it writes that start with a shebang, by path; ``runcmd`` entries given as one string (those
    run through ``sh -c``), as ``runcmd[N]``.
    """
    document = yaml.safe_load(user_data)
    scripts = {
        entry["path"]: entry["content"]
        for entry in document.get("write_files", [])
        if str(entry.get("content", "")).startswith("#!")
    }
    for index, command in enumerate(document.get("runcmd", [])):
        if isinstance(command, str):
            scripts[f"runcmd[{index}]"] = f"#!/bin/sh\n{command}\n"
    return scripts


def _login(user: str | None, keys: Sequence[str]) -> dict[str, Any]:
    if user is None:
        return {}
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

"""Test hosts for the bootstrap: real OpenSSH ``sshd`` processes, one per network namespace.

Each host has its own address on a per-run bridge, a private mount namespace with tmpfs over
/etc/kubernetes, /var/lib/clouder and /var/lib/cloud, its own hostname (the node name) and the stand-in
kubeadm first on its PATH. Names of namespaces, links and the bridge start with ``clb<pid-hex>``; the lab
removes them on close, and removes leftovers of crashed runs (whose pid is gone) when it starts.

The session fixture ``ssh_lab`` creates hosts on demand and shares them between tests; ``lab.reset()``
wipes every host's state between tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from clouder.processes import pid_alive
from support.parts import missing, require_root
from support.shared import file_lock

if TYPE_CHECKING:
    from clouder.bootstrap.run import BootstrapReport

BASE = "clb"
USER = "ubuntu"  # the non-root login user of the test hosts (root works too)
SSHD = "/usr/sbin/sshd"
STATE_DIRS = ("/etc/kubernetes", "/var/lib/clouder", "/var/lib/cloud")
STANDIN = Path(__file__).with_name("kubeadm_standin.py")
SYSTEMCTL = Path(__file__).with_name("systemctl_standin.sh")
REPO = Path(__file__).resolve().parents[2]
# Labs of parallel workers (and of other test runs on the machine) pick their networks and make the hosts'
# mount points under LAB_LOCK; each holds a shared lock on LAB_USERS while it lives, and the last one to close
# removes the mount points the labs made (listed in LAB_MADE).
LAB_LOCK, LAB_USERS, LAB_MADE = (Path(f"/run/clouder-test-lab.{n}") for n in ("lock", "users", "made"))


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True)


def etc_hosts(name: str) -> str:
    """A fresh node's /etc/hosts (bootstrap phases add to it)."""
    return f"127.0.0.1 localhost\n127.0.1.1 {name}\n"


def _owner_pid(name: str) -> int | None:
    """Every name the lab makes is ``clb<pid-hex>-<what>``."""
    head = name[len(BASE) :].split("-")[0]
    try:
        return int(head, 16)
    except ValueError:
        return None


def _leftover(name: str) -> bool:
    if not name.startswith(BASE) or "-" not in name:
        return False
    pid = _owner_pid(name)
    return pid is not None and not pid_alive(pid)


def clean_leftovers() -> None:
    """Remove namespaces and links of earlier runs whose owning process is gone."""
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if not _leftover(name):
            continue
        for proc in sh("ip", "netns", "pids", name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(proc), signal.SIGKILL)
        sh("ip", "netns", "del", name, check=False)
    for line in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if _leftover(name):
            sh("ip", "link", "del", name, check=False)


@dataclass
class LabHost:
    name: str
    address: str
    netns: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def in_mounts(self, script: str) -> str:
        """Run a shell script inside the host's namespaces (as the fixture, not over SSH)."""
        return sh("nsenter", "-t", str(self.pid), "-m", "-u", "-n", "sh", "-c", script).stdout


class SshLab:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = f"{BASE}{os.getpid():x}"
        self.network = ipaddress.ip_network("10.213.0.0/24")  # chosen in start(), clear of other runs
        self.bridge = f"{self.prefix}-br"
        self.hosts: dict[str, LabHost] = {}
        self.registry = root / "registry"
        self.bin = root / "bin"
        self.key = root / "id_ed25519"
        self._links: list[str] = []
        self._netns: list[str] = []
        self._users: Any = None
        self._next = 10

    # -- set-up and tear-down -------------------------------------------------------------------------
    def start(self) -> None:
        with file_lock(LAB_LOCK):
            clean_leftovers()
            self._users = LAB_USERS.open("a")
            fcntl.flock(self._users, fcntl.LOCK_SH)
            for path in STATE_DIRS:  # mount points for the hosts' tmpfs; removed again by the last lab
                if not Path(path).exists():
                    Path(path).mkdir(parents=True)
                    with LAB_MADE.open("a") as made:
                        made.write(f"{path}\n")
            Path("/run/sshd").mkdir(parents=True, exist_ok=True)
            self.network = self._free_network()
            sh("ip", "link", "add", self.bridge, "type", "bridge")
            self._links.append(self.bridge)
            sh("ip", "addr", "add", f"{self.network[1]}/24", "dev", self.bridge)
        self.registry.mkdir(parents=True)
        self.bin.mkdir(parents=True)
        kubeadm = self.bin / "kubeadm"
        kubeadm.write_text(
            f'#!/bin/sh\nSTANDIN_REGISTRY={self.registry} exec {sys.executable} {STANDIN} "$@"\n'
        )
        kubeadm.chmod(0o755)
        systemctl = self.bin / "systemctl"
        systemctl.write_text(f'#!/bin/sh\nSTANDIN_REGISTRY={self.registry} exec /bin/sh {SYSTEMCTL} "$@"\n')
        systemctl.chmod(0o755)
        helper = self.bin / "clouder-node-packages"  # the node's package helper (see the stand-in)
        run = f"STANDIN_REGISTRY={self.registry} exec {sys.executable} {STANDIN}"
        helper.write_text(f'#!/bin/sh\n{run} node-packages "$@"\n')
        helper.chmod(0o755)
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "clouder-test", "-f", str(self.key))
        sh("ip", "link", "set", self.bridge, "up")

    def _free_network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        """A /24 under 10.213/16 that no other interface (another test run's bridge) uses."""
        taken = sh("ip", "-o", "-4", "addr", "show").stdout
        for step in range(250):
            octet = (os.getpid() + step) % 250 + 1
            if f" 10.213.{octet}." not in taken:
                return ipaddress.ip_network(f"10.213.{octet}.0/24")
        raise RuntimeError("no free 10.213.X.0/24 for the SSH test hosts")

    def close(self) -> None:
        for host in self.hosts.values():
            if host.process is not None:
                host.process.kill()
                host.process.wait()
        for netns in self._netns:
            for proc in sh("ip", "netns", "pids", netns, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(proc), signal.SIGKILL)
            sh("ip", "netns", "del", netns, check=False)
        for link in reversed(self._links):
            sh("ip", "link", "del", link, check=False)
        if self._users is None:
            return
        with file_lock(LAB_LOCK):
            self._users.close()  # drops this lab's shared lock
            with LAB_USERS.open("a") as users:
                try:
                    fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return  # another lab still uses the mount points
                made = LAB_MADE.read_text().split() if LAB_MADE.exists() else []
                for folder in made:
                    with contextlib.suppress(OSError):
                        Path(folder).rmdir()
                LAB_MADE.unlink(missing_ok=True)

    def _netns_with_address(self, name: str) -> tuple[str, str]:
        index = self._next
        self._next += 1
        netns, veth = f"{self.prefix}-{name}", f"{self.prefix}-v{index}"
        address = str(self.network[index])
        sh("ip", "netns", "add", netns)
        self._netns.append(netns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
        self._links.append(veth)
        sh("ip", "link", "set", veth, "master", self.bridge, "up")
        sh("ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
        sh("ip", "-n", netns, "link", "set", "eth0", "up")
        sh("ip", "-n", netns, "link", "set", "lo", "up")
        return netns, address

    def host(self, name: str) -> LabHost:
        if name in self.hosts:
            return self.hosts[name]
        netns, address = self._netns_with_address(name)
        folder = self.root / name
        folder.mkdir()
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "ssh_host_ed25519_key"))
        shutil.copy(self.key.with_suffix(".pub"), folder / "authorized_keys")
        path = f"{self.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        (folder / "sshd_config").write_text(
            f"ListenAddress {address}\nPort 22\nHostKey {folder}/ssh_host_ed25519_key\n"
            f"PidFile {folder}/sshd.pid\nAuthorizedKeysFile none\n"
            # read as root: the login user cannot traverse the test's private tmp folders
            f"AuthorizedKeysCommand /bin/cat {folder}/authorized_keys\nAuthorizedKeysCommandUser root\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "UsePAM no\nStrictModes no\nMaxStartups 200\nMaxSessions 50\nLogLevel ERROR\n"
            f"SetEnv PATH={path}\n"
        )
        mounts = " && ".join(f"mount -t tmpfs -o mode=0755 tmpfs {d}" for d in STATE_DIRS)
        for target, text, mode in self._node_files(name, path):
            (folder / target.name).write_text(text)
            (folder / target.name).chmod(mode)
            mounts += f" && mount --bind {folder / target.name} {target}"
        home = Path(os.path.expanduser("~root"))
        for dotfile in (".bashrc", ".profile", ".bash_profile"):
            if (
                home / dotfile
            ).is_file():  # a fresh node: no workstation shell set-up (pyenv init costs 0.5 s)
                (folder / "empty").touch()
                mounts += f" && mount --bind {folder}/empty {home / dotfile}"
        script = f"{mounts} && hostname {name} && exec {SSHD} -D -e -f {folder}/sshd_config"
        log = (folder / "sshd.log").open("wb")
        process = subprocess.Popen(
            ["ip", "netns", "exec", netns, "unshare", "--mount", "--uts", "--propagation", "private",
             "sh", "-c", script],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        host = LabHost(name, address, netns, folder, process)
        self.hosts[name] = host
        self._wait_listening(host)
        self._boot(host)
        return host

    def _node_files(self, name: str, path: str) -> list[tuple[Path, str, int]]:
        """Like a cloud image: a sudo-capable login user `ubuntu`, and the node's name in /etc/hosts."""
        files = [(Path("/etc/hosts"), etc_hosts(name), 0o644)]
        passwd = Path("/etc/passwd").read_text()
        if not any(line.startswith(f"{USER}:") for line in passwd.splitlines()):
            files += [
                (Path("/etc/passwd"), passwd + f"{USER}:x:1999:1999:{USER}:/:/bin/sh\n", 0o644),
                (Path("/etc/group"), Path("/etc/group").read_text() + f"{USER}:x:1999:\n", 0o644),
                (
                    Path("/etc/shadow"),
                    Path("/etc/shadow").read_text() + f"{USER}:*:19000:0:99999:7:::\n",
                    0o640,
                ),
            ]
        if Path("/etc/sudoers").exists():
            sudoers = (f'Defaults env_reset\nDefaults secure_path="{path}"\n'
                       f"root ALL=(ALL:ALL) ALL\n{USER} ALL=(ALL:ALL) NOPASSWD: ALL\n")  # fmt: skip
            files.append((Path("/etc/sudoers"), sudoers, 0o440))
        return files

    def dead_host(self, name: str = "dead") -> LabHost:
        """An address of the lab with no sshd behind it: connections are refused."""
        if name not in self.hosts:
            netns, address = self._netns_with_address(name)
            self.hosts[name] = LabHost(name, address, netns, self.root)
        return self.hosts[name]

    def _wait_listening(self, host: LabHost) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if host.process is not None and host.process.poll() is not None:
                raise RuntimeError(f"sshd for {host.name} exited: {(host.folder / 'sshd.log').read_text()}")
            with contextlib.suppress(OSError), socket.create_connection((host.address, 22), timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError(f"sshd for {host.name} did not listen on {host.address}:22")

    def _boot(self, host: LabHost) -> None:
        host.in_mounts("mkdir -p /var/lib/cloud/instance && touch /var/lib/cloud/instance/boot-finished")

    # -- per-test state -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Wipe every host's state and the stand-in's registry; kill what commands left running."""
        for host in self.hosts.values():
            if host.process is None:
                continue
            for proc in sh("ip", "netns", "pids", host.netns, check=False).stdout.split():
                if int(proc) != host.pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(proc), signal.SIGKILL)
            host.in_mounts(f"find {' '.join(STATE_DIRS)} -mindepth 1 -delete")  # dotfiles too
            (host.folder / "hosts").write_text(etc_hosts(host.name))  # in place: the bind mount follows
            self._boot(host)
            shutil.copy(self.key.with_suffix(".pub"), host.folder / "authorized_keys")
        for child in self.registry.iterdir():
            child.unlink()

    def settings(self, **values: Any) -> None:
        path = self.registry / "settings.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**current, **values}))

    def fault(self, host: str, command: str, kind: str) -> None:
        path = self.registry / "faults.json"
        faults = json.loads(path.read_text()) if path.exists() else {}
        faults.setdefault(host, {})[command] = kind
        path.write_text(json.dumps(faults))

    def log(self) -> list[dict[str, Any]]:
        path = self.registry / "kubeadm.log"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def completed(self, action: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.log():
            if entry["action"] == action and entry["outcome"] == "done":
                counts[entry["host"]] = counts.get(entry["host"], 0) + 1
        return counts

    def state(self) -> dict[str, Any]:
        path = self.registry / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    # -- what Clouder is given ----------------------------------------------------------------------
    @property
    def allowed(self) -> list[str]:
        return ["127.0.0.0/8"] + [f"{h.address}/32" for h in self.hosts.values()]

    def address_map(self) -> dict[str, str]:
        return {name: host.address for name, host in self.hosts.items()}

    def cluster(
        self, control_planes: int, workers: int, mode: str = "bastion", user: str = "root"
    ) -> LabCluster:
        cps = [f"cp-{i}" for i in range(1, control_planes + 1)]
        wks = [f"w-{i}" for i in range(1, workers + 1)]
        names = cps + wks + (["bastion"] if mode == "bastion" else [])
        for name in names:
            self.host(name)
        return LabCluster(self, cps, wks, mode, user)


FAST_SSH: dict[str, Any] = {
    "connect_timeout": 3.0,
    "command_timeout": 20.0,
    "attempts": 2,
    "backoff_initial": 0.1,
}
FAST_CLI = ["--connect-timeout", "3", "--command-timeout", "20", "--attempts", "2"]
SSH_FIELDS = {
    "connect_timeout",
    "command_timeout",
    "attempts",
    "backoff_initial",
    "known_hosts",
    "private_key",
}


@dataclass
class LabCluster:
    lab: SshLab
    control_planes: list[str]
    workers: list[str]
    mode: str
    user: str = "root"

    @property
    def nodes(self) -> list[str]:
        return self.control_planes + self.workers

    def outputs(self) -> dict[str, Any]:
        """The outputs contract as `terraform output -json` prints it, with cloud-made-up addresses."""
        nodes = []
        for index, name in enumerate(self.nodes):
            nodes.append({
                "name": name, "role": "control-plane" if name.startswith("cp-") else "worker",
                "pool": "control-plane" if name.startswith("cp-") else "general",
                "private_ip": f"10.0.16.{10 + index}", "public_ip": f"203.0.113.{10 + index}",
                "zone": "eu-west-1a", "provider_id": f"aws:///eu-west-1a/i-0{index:016x}",
            })  # fmt: skip
        ssh: dict[str, Any] = {"mode": self.mode, "user": self.user, "port": 22}
        if self.mode == "bastion":
            ssh.update(bastion_host="198.51.100.7", bastion_user=self.user)
        values = {
            "contract_version": "1",
            "cluster_name": "lab",
            "api_endpoint": {"host": "lab-api.elb.eu-west-1.amazonaws.com", "port": 6443},
            "nodes": nodes,
            "ssh": ssh,
            "cloud": {
                "cloud": "aws",
                "region": "eu-west-1",
                "account_id": "123456789012",
                "vpc_id": "vpc-0abc",
                "public_subnet_ids": ["subnet-1"],
                "private_subnet_ids": ["subnet-2"],
                "node_security_group_id": "sg-1",
                "control_plane_role_arn": "arn:aws:iam::123456789012:role/cp",
                "node_role_arn": "arn:aws:iam::123456789012:role/node",
            },
        }
        return {
            name: {"value": value, "type": "object", "sensitive": False} for name, value in values.items()
        }

    def spec(self) -> dict[str, Any]:
        text = (REPO / "examples" / "aws-minimal.yaml").read_text()
        spec = yaml.safe_load(text)
        spec["metadata"]["name"] = "lab"
        spec["access"] = {"mode": self.mode, "user": self.user, "privateKeyPath": str(self.lab.key)}
        spec["controlPlane"] = {"count": len(self.control_planes)}
        spec["nodePools"] = [{"name": "general", "count": len(self.workers)}] if self.workers else []
        return spec

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write the spec and the cluster's outputs.json where `clouder bootstrap` looks for them."""
        spec_path = folder / "cluster.yaml"
        spec_path.write_text(yaml.safe_dump(self.spec()))
        outputs = folder / "work" / "lab" / "outputs.json"
        outputs.parent.mkdir(parents=True, exist_ok=True)
        outputs.write_text(json.dumps(self.outputs()))
        return spec_path, outputs

    def address_map(self) -> dict[str, str]:
        return self.lab.address_map()

    def cli_args(self, folder: Path) -> list[str]:
        """`clouder bootstrap` arguments for a lab rehearsal: mapped addresses, guard, short timeouts."""
        spec_path, _ = self.write(folder)
        mapping = folder / "ssh-map.json"
        mapping.write_text(json.dumps(self.address_map()))
        allow = [arg for network in self.lab.allowed for arg in ("--ssh-allow", network)]
        return ["bootstrap", str(spec_path), "--ssh-map", str(mapping), *allow, *FAST_CLI]

    def bootstrap(self, **changes: Any) -> BootstrapReport:
        """Run the bootstrap in-process against the lab (work folder from $CLOUDER_WORK_DIR)."""
        from clouder.bootstrap.run import bootstrap, default_options
        from clouder.events import EventLog
        from clouder.hosts.options import parse_networks
        from clouder.outputs import parse_terraform_outputs
        from clouder.spec.model import ClusterSpec
        from clouder.workdir import events_path

        spec = ClusterSpec.model_validate(self.spec())
        outputs = parse_terraform_outputs(self.outputs())
        ssh_changes = {k: changes.pop(k) for k in list(changes) if k in SSH_FIELDS}
        mapping = {**self.address_map(), **changes.pop("address_overrides", {})}
        mapping = {name: address for name, address in mapping.items() if address}
        options = default_options(spec, lock_heartbeat=0.5, **changes)
        ssh = dataclasses.replace(
            options.ssh,
            address_map=mapping,
            allowed_networks=parse_networks(self.lab.allowed),
            **{**FAST_SSH, **ssh_changes},
        )
        return bootstrap(spec, outputs, dataclasses.replace(options, ssh=ssh), EventLog(events_path(spec)))


def lab_supported() -> None:
    require_root("ssh test hosts")
    if not Path(SSHD).exists():
        missing("sshd", "install openssh-server (apt-get install openssh-server)")
    for tool in ("ip", "unshare", "nsenter", "ssh-keygen", "flock"):
        if shutil.which(tool) is None:
            missing(tool, f"`{tool}` is not on PATH")


@contextlib.contextmanager
def open_lab(root: Path) -> Iterator[SshLab]:
    lab = SshLab(root)
    try:
        lab.start()
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="session")
def ssh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    lab_supported()
    with open_lab(tmp_path_factory.mktemp("ssh-lab")) as lab:
        yield lab


@pytest.fixture
def lab(ssh_lab: SshLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SshLab:
    """The shared lab, wiped clean, with Clouder's work folder in this test's tmp_path."""
    ssh_lab.reset()
    monkeypatch.setenv("CLOUDER_WORK_DIR", str(tmp_path / "work"))
    return ssh_lab

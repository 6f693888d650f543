"""Low-severity trust findings: node names from outputs, validators that accepted a trailing newline, host
key pins, and secret files left on a node when the node lock is never taken."""

from __future__ import annotations

import copy
import fcntl
import importlib
import json
import shlex
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from clouder.bootstrap.kubeadm_phases import _with_secret_file
from clouder.errors import ClouderError, InvalidDocumentError
from clouder.hosts.hostkeys import KnownHosts
from clouder.outputs import parse_terraform_outputs
from support.cli import run

REPO = Path(__file__).resolve().parents[2]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample"


def test_a_newline_in_a_node_name_from_the_outputs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "tests" / "outputs"))
    contract = importlib.import_module("test_outputs_contract")
    values = copy.deepcopy(contract.AWS_VALUES)
    values["nodes"][0]["name"] = f"cp-0\nbastion {KEY}"
    with pytest.raises(InvalidDocumentError, match="nodes"):
        parse_terraform_outputs(json.dumps(contract._tf(values)))


def test_a_host_key_pin_cannot_add_lines(tmp_path: Path) -> None:
    pins = KnownHosts(tmp_path / "known_hosts")
    pins.pin("cp-0", KEY)
    with pytest.raises(ClouderError, match="refusing to pin"):
        pins.pin(f"cp-1\nbastion {KEY}", KEY)
    with pytest.raises(ClouderError, match="refusing to pin"):
        pins.pin("cp-2", f"{KEY}\nbastion {KEY}")
    assert (tmp_path / "known_hosts").read_text() == f"cp-0 {KEY}\n"
    assert pins.pinned("bastion") is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("metadata", "name"), "demo\n"),
        (("access", "publicKey"), f"{KEY} demo\nssh-rsa AAAAB3Nza attacker"),
        (("kubernetes", "version"), "1.33.5\n"),
    ],
    ids=["name", "public-key", "version"],
)
def test_validators_refuse_a_trailing_newline(tmp_path: Path, field: tuple[str, str], value: str) -> None:
    document = yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())
    document[field[0]][field[1]] = value
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document))
    result = run("validate", str(path))
    assert result.code == 2, result.stdout


def test_the_join_config_is_removed_when_the_node_lock_is_never_taken(tmp_path: Path) -> None:
    state = tmp_path / "state dir"
    state.mkdir()
    options = SimpleNamespace(state_dir=str(state), ssh=SimpleNamespace(command_timeout=1))
    ctx = SimpleNamespace(options=options)
    secret = state / "kubeadm-join.yaml"
    script = _with_secret_file(ctx, shlex.quote(str(secret)), "echo joined")  # type: ignore[arg-type]
    with (state / "kubeadm.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another run holds the node lock past flock -w
        done = subprocess.run(["sh", "-c", script], input="token: abcdef.0123456789abcdef\n", text=True,
                              capture_output=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode != 0 and "joined" not in done.stdout
    assert not secret.exists(), "the join configuration (token) stayed on the node"


def test_outputs_naming_a_node_outside_the_spec_network_are_never_dialled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncssh

    from clouder.bootstrap.run import default_options
    from clouder.events import Redactor
    from clouder.hosts.ssh import SshPool, TargetRefusedError
    from clouder.spec.model import ClusterSpec

    monkeypatch.setenv("CLOUDER_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.syspath_prepend(str(REPO / "tests" / "outputs"))
    contract = importlib.import_module("test_outputs_contract")
    key = tmp_path / "id_ed25519"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(key))
    document = yaml.safe_load((REPO / "examples" / "aws-minimal.yaml").read_text())
    document.pop("context", None)
    document["access"]["privateKeyPath"] = str(key)
    spec = ClusterSpec.model_validate(document)
    values = copy.deepcopy(contract.AWS_VALUES)
    values["nodes"][0]["private_ip"] = "192.0.2.66"  # not in the spec's 10.0.0.0/16
    outputs = parse_terraform_outputs(json.dumps(contract._tf(values)))
    pool = SshPool(default_options(spec).ssh, outputs, Redactor())
    with pytest.raises(TargetRefusedError, match="not inside the cluster's network"):
        pool.target(outputs.nodes[0])
    assert pool.target(outputs.nodes[1]).address == outputs.nodes[1].private_ip


def test_the_admin_client_key_stays_in_the_private_work_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client writes the kubeconfig's key to a file: never in the shared temp folder, and a dead run's
    leftovers are removed by the next one."""
    from clouder.kube.client import CREDENTIALS_DIR, Kube

    work = tmp_path / "work"
    monkeypatch.setenv("CLOUDER_WORK_DIR", str(work))
    shared_tmp = tmp_path / "shared-tmp"
    shared_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(shared_tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    dead = work / CREDENTIALS_DIR / "999999999"
    dead.mkdir(parents=True)
    (dead / "tmpkey").write_text("-----BEGIN EC PRIVATE KEY----- left by a killed run")
    marker = "MHcCAQEEIKEYMATERIALFORTHETEST"
    kubeconfig = tmp_path / "admin.conf"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1",
                                                "certificate-authority-data": _b64("CA")}}],
        "users": [{"name": "u", "user": {"client-certificate-data": _b64("CERT"),
                                          "client-key-data": _b64(marker)}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))  # fmt: skip
    with pytest.raises(ClouderError):  # nothing listens: only the files matter here
        Kube.from_kubeconfig(kubeconfig)
    assert not dead.exists()
    written = [p for p in (work / CREDENTIALS_DIR).rglob("*") if p.is_file()]
    assert any(marker in p.read_text() for p in written)
    assert not [p for p in shared_tmp.rglob("*") if p.is_file() and marker in p.read_text(errors="ignore")]
    assert all(oct(p.parent.stat().st_mode & 0o777) == "0o700" for p in written)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def _console(*fingerprints: str) -> str:
    """A stand-in for an EC2 console: what cloud-init prints (the ``ec2:`` prefix included) at first boot."""
    lines = [f"ec2: 256 {fp} root@ip-10-0-16-10 (ED25519)" for fp in fingerprints]
    return "\n".join([
        "[   12.3] cloud-init[812]: Cloud-init v. 24.1 running 'modules:final'",
        "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----", *lines,
        "ec2: -----END SSH HOST KEY FINGERPRINTS-----",
    ])  # fmt: skip


def test_a_first_host_key_must_match_the_console_fingerprints(tmp_path: Path) -> None:
    import asyncssh

    from clouder.hosts.hostkeys import HostKeyNotInConsoleError, console_fingerprints, fingerprint

    genuine = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    intruder = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    assert console_fingerprints("booting…") is None
    console = console_fingerprints(_console(fingerprint(genuine)))
    assert console == {fingerprint(genuine)}
    done = subprocess.run(["ssh-keygen", "-lf", "-"], input=genuine, text=True, capture_output=True,
                          check=True)  # fmt: skip
    assert fingerprint(genuine) == done.stdout.split()[1]  # the same fingerprint OpenSSH prints

    pins = KnownHosts(tmp_path / "known_hosts")
    with pytest.raises(HostKeyNotInConsoleError):
        pins.pin("cp-0", intruder, console)
    assert pins.pinned("cp-0") is None
    assert pins.pin("cp-0", genuine, console) == genuine.strip()

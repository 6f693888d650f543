"""Host keys checked against the instance's console: cloud-init's key block, EC2's GetConsoleOutput (moto's
server) read from the instance IDs in the outputs contract, and the first SSH contact that waits for it.

cloud-init prints the keys with its tools/write-ssh-key-fingerprints (canonical/cloud-init), piped through
``logger -t ec2``: a ``-----BEGIN SSH HOST KEY FINGERPRINTS-----`` block of ``ssh-keygen -l`` lines, then a
``-----BEGIN SSH HOST KEY KEYS-----`` block of the ``/etc/ssh/ssh_host_*key.pub`` files, every line with the
``ec2:`` tag in front.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import importlib
import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from clouder.bootstrap.run import default_options
from clouder.errors import ClouderError
from clouder.events import Redactor
from clouder.hosts.console import Ec2Console, aws_instance_ids, console_reader, ec2_client
from clouder.hosts.hostkeys import (
    HostKeyNotInConsoleError,
    HostKeysNotOnConsoleError,
    console_fingerprints,
    fingerprint,
)
from clouder.hosts.options import parse_networks
from clouder.hosts.ssh import SshPool
from clouder.outputs import ClusterOutputs, parse_terraform_outputs
from clouder.spec.model import ClusterSpec
from support.hosts import FAST_SSH, SshLab
from support.moto import MotoServer

REGION = "us-east-1"


def _key(kind: str = "ssh-ed25519") -> str:
    return asyncssh.generate_private_key(kind).export_public_key().decode().strip()


def cloud_init_console(*keys: str) -> str:
    """A console as cloud-init's keys-to-console step leaves it: boot noise, fingerprints, then the keys."""
    lines = [
        "[   11.9] cloud-init[812]: Cloud-init v. 24.1 running 'modules:final'",
        "ec2: ",
        "ec2: " + "#" * 61,
    ]
    lines += ["ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----"]
    lines += [f"ec2: 256 {fingerprint(key)} root@ip-10-0-16-10 (ED25519)" for key in keys]
    lines += ["ec2: -----END SSH HOST KEY FINGERPRINTS-----", "ec2: " + "#" * 61]
    lines += ["ec2: -----BEGIN SSH HOST KEY KEYS-----"]
    lines += [f"ec2: {key} root@ip-10-0-16-10" for key in keys]
    lines += [
        "ec2: -----END SSH HOST KEY KEYS-----",
        "[   12.4] cloud-init[812]: Cloud-init v. 24.1 finished",
    ]
    return "\n".join(lines) + "\n"


def test_the_key_block_is_read_through_the_logger_tag() -> None:
    ed25519, ecdsa = _key(), _key("ecdsa-sha2-nistp256")
    keys_only = cloud_init_console(ed25519, ecdsa).split("ec2: -----END SSH HOST KEY FINGERPRINTS-----")[1]
    assert console_fingerprints(keys_only) == {fingerprint(ed25519), fingerprint(ecdsa)}
    assert console_fingerprints(cloud_init_console(ed25519)) == {fingerprint(ed25519)}
    # a rebuilt machine prints again: the last boot's keys count, not the first boot's
    rebuilt = _key()
    assert console_fingerprints(cloud_init_console(ed25519) + cloud_init_console(rebuilt)) == {
        fingerprint(rebuilt)
    }
    cut = keys_only.replace(ed25519, ed25519[:40])  # a line the console buffer cut short is no key
    assert console_fingerprints(cut) == {fingerprint(ecdsa)}
    assert console_fingerprints("[    0.0] Linux version 6.8.0\n") is None


def _contract(instances: list[str], bastion: str | None) -> ClusterOutputs:
    contract = importlib.import_module("test_outputs_contract")  # tests/outputs, on sys.path (fixture)
    values: dict[str, Any] = copy.deepcopy(contract.AWS_VALUES)
    for node, instance in zip(values["nodes"], instances, strict=True):
        node["provider_id"] = f"aws:///{REGION}a/{instance}"
    if bastion is not None:
        values["ssh"]["bastion_provider_id"] = f"aws:///{REGION}a/{bastion}"
    return parse_terraform_outputs(json.dumps(contract._tf(values)))


@pytest.fixture
def ec2(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, repo: Path) -> Any:
    for name, value in moto_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(repo / "tests" / "outputs"))
    return ec2_client(REGION)


def _instances(ec2: Any, count: int) -> list[str]:
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    found = ec2.run_instances(ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.small")
    return [instance["InstanceId"] for instance in found["Instances"]]


def _raw_console(moto: MotoServer, instance: str) -> str:
    """GetConsoleOutput as it comes over the wire (EC2's query API; moto routes by the credential scope of
    the Authorization header and checks no signature)."""
    form = {"Action": "GetConsoleOutput", "Version": "2016-11-15", "InstanceId": instance}
    scope = f"Credential=testing/20260101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0"
    request = urllib.request.Request(
        moto.url, urllib.parse.urlencode(form).encode(), {"Authorization": f"AWS4-HMAC-SHA256 {scope}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = answer.read().decode()
    (encoded,) = re.findall(r"<output>([A-Za-z0-9+/=\s]+)</output>", body)
    return base64.b64decode(encoded).decode()


def test_the_ec2_console_is_read_for_the_instances_the_outputs_name(
    ec2: Any, moto_server: MotoServer
) -> None:
    cp, worker, bastion = _instances(ec2, 3)
    outputs = _contract([cp, worker], bastion)
    assert aws_instance_ids(outputs) == {
        outputs.nodes[0].name: cp,
        outputs.nodes[1].name: worker,
        "bastion": bastion,
    }

    read = console_reader(outputs)  # boto3 from the environment: moto's server on loopback
    assert isinstance(read, Ec2Console)
    text = read(outputs.nodes[0].name)
    assert text == _raw_console(moto_server, cp)  # EC2 sends base64; the reader hands on text
    assert text is not None and text.startswith("Linux version")
    assert read("bastion") == text  # moto prints one fixed kernel log for every instance
    # moto's console is a fixed kernel log without cloud-init's host key block: nothing to check against
    assert console_fingerprints(text) is None
    assert read("not-in-the-outputs") is None

    gone = _contract([cp, "i-0123456789abcdef0"], None)
    with pytest.raises(ClouderError, match="cannot read the console of i-0123456789abcdef0"):
        console_reader(gone)(gone.nodes[1].name)


def test_azure_consoles_are_refused_not_guessed(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(repo / "tests" / "outputs"))
    contract = importlib.import_module("test_outputs_contract")
    values = {**copy.deepcopy(contract.AWS_VALUES), "cloud": contract.AZURE_FACTS}
    outputs = parse_terraform_outputs(json.dumps(contract._tf(values)))
    with pytest.raises(ClouderError, match="cannot read an Azure VM's boot diagnostics"):
        console_reader(outputs)


async def _first_contact(lab: SshLab, console: Any) -> str | None:
    cluster = lab.cluster(1, 0, mode="direct")
    spec = ClusterSpec.model_validate(cluster.spec())
    outputs = parse_terraform_outputs(cluster.outputs())
    read_for: list[ClusterOutputs] = []

    def consoles(contract: ClusterOutputs) -> Any:  # built per run, from the contract that run works on
        read_for.append(contract)
        return console

    options = dataclasses.replace(
        default_options(spec).ssh,
        address_map=cluster.address_map(),
        allowed_networks=parse_networks(lab.allowed),
        console=consoles,
        console_wait=0.6,
        console_poll=0.2,
        **FAST_SSH,
    )
    pool = SshPool(options, outputs, Redactor())
    try:
        await pool.session(outputs.nodes[0])
    finally:
        await pool.close()
    assert read_for == [outputs]
    return pool.known_hosts.pinned(outputs.nodes[0].name)


def test_a_first_key_is_trusted_only_as_the_console_shows_it(lab: SshLab, ec2: Any) -> None:
    host_key = (lab.host("cp-1").folder / "ssh_host_ed25519_key.pub").read_text().split()
    genuine = f"{host_key[0]} {host_key[1]}"

    # moto's GetConsoleOutput, read as on EC2: no key block ever appears, so the key is not trusted
    (instance,) = _instances(ec2, 1)
    moto_console = Ec2Console({"cp-1": instance}, ec2)
    with pytest.raises(HostKeysNotOnConsoleError, match="printed no SSH host keys"):
        asyncio.run(_first_contact(lab, moto_console))

    with pytest.raises(HostKeyNotInConsoleError):
        asyncio.run(_first_contact(lab, lambda name: cloud_init_console(_key())))

    polls: list[str] = []

    def late(name: str) -> str | None:  # EC2 posts the console a while after cloud-init printed it
        polls.append(name)
        return cloud_init_console(genuine) if len(polls) > 1 else "[    0.0] Linux version 6.8.0\n"

    assert asyncio.run(_first_contact(lab, late)) == genuine
    assert polls == ["cp-1", "cp-1"]

"""AWS's node consoles (``console.CONSOLES``): EC2's ``GetConsoleOutput``. EC2 sends it base64-encoded and
botocore decodes it to text (its ``decode_console_output`` handler); ``Latest`` asks Nitro instances for the
live serial output rather than the snapshot EC2 posts shortly after boot."""

from __future__ import annotations

import re
from typing import Any

from clouder.errors import ClouderError
from clouder.hosts.ssh import BASTION
from clouder.outputs import AwsFacts, ClusterOutputs

AWS_INSTANCE = re.compile(r"aws:///[a-z0-9-]*/(i-[0-9a-f]+)")


def aws_instance_ids(outputs: ClusterOutputs) -> dict[str, str]:
    """Host name (node name, or ``bastion``) -> EC2 instance ID, from the contract's provider IDs."""
    found: dict[str, str] = {}
    machines = [(node.name, node.provider_id) for node in outputs.nodes]
    if outputs.ssh.bastion_provider_id is not None:
        machines.append((BASTION, outputs.ssh.bastion_provider_id))
    for name, provider_id in machines:
        match = AWS_INSTANCE.fullmatch(provider_id)
        if match is None:
            raise ClouderError(f"{name}: provider ID {provider_id!r} names no EC2 instance.")
        found[name] = match.group(1)
    return found


class Ec2Console:
    """``name -> console text`` through EC2 ``GetConsoleOutput`` (``None`` while EC2 has none to show)."""

    def __init__(self, instances: dict[str, str], client: Any) -> None:
        self.instances = instances
        self.client = client

    def __call__(self, name: str) -> str | None:
        instance = self.instances.get(name)
        if instance is None:
            return None
        try:
            answer = self.client.get_console_output(InstanceId=instance, Latest=True)
        except Exception as exc:  # botocore's errors: credentials, permissions, throttling, no such instance
            raise ClouderError(
                f"{name}: cannot read the console of {instance} ({exc}).",
                "The host keys are checked against it: allow ec2:GetConsoleOutput to these credentials, or "
                "run without --host-keys-from-console.",
            ) from None
        output = answer.get("Output")  # already decoded from base64 by botocore
        return str(output) if output else None


def _boto3() -> Any:
    try:
        import boto3  # type: ignore[import-untyped]
    except ImportError:
        raise ClouderError(
            "reading the EC2 console for host keys needs boto3.", "pip install 'clouder[aws]'"
        ) from None
    return boto3


def ec2_client(region: str) -> Any:
    return _boto3().session.Session(region_name=region).client("ec2")


class Ec2Consoles:
    """AWS's part of ``console.CONSOLES``."""

    def check(self) -> None:
        """Fail now, before a run changes anything, when EC2's consoles cannot be read from here."""
        _boto3()

    def reader(self, outputs: ClusterOutputs, client: Any | None = None) -> Ec2Console:
        """The EC2 console of every host in ``outputs`` (``client``: an EC2 client, else one for its
        region)."""
        cloud = outputs.cloud
        assert isinstance(cloud, AwsFacts)
        return Ec2Console(aws_instance_ids(outputs), client or ec2_client(cloud.region))


CONSOLES = Ec2Consoles()

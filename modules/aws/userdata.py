"""Cloud-init user-data of AWS nodes and the bastion, with AWS's pins (pure Python: no CDKTF import).

The document and the node preparation script are the clouds' shared ones (``clouder.modules.common``);
AWS adds one first step: name the host after the instance's private DNS name, read from instance metadata
with an IMDSv2 token, because that is the node name the AWS cloud controller expects. The SSH key of
``access.user`` comes with the user-data (EC2 has no other channel without a key pair resource).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clouder.modules.common import userdata as common
from clouder.modules.common.userdata import (
    PREPARE_SCRIPT_PATH,
    PREPARED_MARKER,
    node_packages,
    shell_scripts,
)

# Body of the script's first function (``host_setup``); bash, checked by shellcheck with the script.
IMDS_HOSTNAME = r"""
  # The AWS cloud provider expects the node name to be the instance's private DNS name (IMDSv2 only).
  local imds="http://169.254.169.254/latest" token name
  token="$(curl -fsS --retry 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "${imds}/api/token")"
  name="$(curl -fsS --retry 5 -H "X-aws-ec2-metadata-token: ${token}" "${imds}/meta-data/local-hostname")"
  hostnamectl set-hostname "${name}"
"""


@dataclass(frozen=True)
class NodeUserDataProps:
    """What an AWS node's user-data needs: the pinned release, who may log in, and what the node is."""

    kubernetes_version: str
    ssh_user: str
    ssh_public_keys: Sequence[str]
    role: str = "worker"
    pool: str = "default"
    container_checkpointing: bool = False  # install CRIU for the kubelet's checkpoint API


def node_user_data(props: NodeUserDataProps) -> str:
    """The ``#cloud-config`` document for a control-plane or worker node."""
    return common.node_user_data(
        common.NodeUserDataProps(
            packages=node_packages(props.kubernetes_version),
            role=props.role,
            pool=props.pool,
            ssh_user=props.ssh_user,
            ssh_public_keys=props.ssh_public_keys,
            host_setup=IMDS_HOSTNAME,
            # The script sets the host name; cloud-init must not change it afterwards.
            preserve_hostname=True,
            container_checkpointing=props.container_checkpointing,
        )
    )


def bastion_user_data(ssh_user: str, ssh_public_keys: Sequence[str]) -> str:
    """The ``#cloud-config`` document for the bastion: keys only, no passwords, forwarding for SSH jumps."""
    return common.bastion_user_data(common.BastionUserDataProps(ssh_user, tuple(ssh_public_keys)))


__all__ = [
    "PREPARED_MARKER",
    "PREPARE_SCRIPT_PATH",
    "NodeUserDataProps",
    "bastion_user_data",
    "node_packages",
    "node_user_data",
    "shell_scripts",
]

"""The cloud-init custom data of Azure nodes and the bastion, with Azure's pins (pure Python: no CDKTF).

Azure names the host after the VM (``computer_name``) and installs the SSH key from ``admin_ssh_key``, so
the shared document needs no host setup and no login section here.
"""

from __future__ import annotations

from clouder.modules.common.userdata import (
    BastionUserDataProps,
    NodeUserDataProps,
    bastion_user_data,
    node_packages,
    node_user_data,
)


def node_custom_data(
    kubernetes_version: str, role: str, pool: str, container_checkpointing: bool = False
) -> str:
    """The ``#cloud-config`` of a control plane (``role="control-plane"``) or a worker of ``pool``."""
    props = NodeUserDataProps(
        packages=node_packages(kubernetes_version),
        role=role,
        pool=pool,
        container_checkpointing=container_checkpointing,
    )
    return node_user_data(props)


def bastion_custom_data() -> str:
    return bastion_user_data(BastionUserDataProps())

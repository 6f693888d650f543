"""Runtime checkpointing: nodes prepared for the kubelet's container checkpoint API
(``POST /checkpoint/{namespace}/{pod}/{container}`` on the kubelet, beta since Kubernetes 1.30).

With ``kubernetes.containerCheckpointing: true`` in the spec:

- cloud-init installs CRIU on every node (``clouder.modules.common.userdata.CHECKPOINT_PACKAGES``);
- the bootstrap hands kubeadm a ``KubeletConfiguration`` with the ``ContainerCheckpoint`` feature gate
  (``clouder.bootstrap.kubeadm``); kubeadm stores it in the ConfigMap ``kube-system/kubelet-config``, which
  every node's kubelet is configured from when it joins;
- ``clouder check`` evaluates that it is enabled (``checkpointing_check``).
"""

from __future__ import annotations

from typing import Any

import yaml

from clouder.kube.client import Kube
from clouder.kube.objects import ObjectRef
from clouder.observe.check import CheckResult

GATE = "ContainerCheckpoint"
KUBELET_CONFIG = ObjectRef("v1", "ConfigMap", "kube-system", "kubelet-config")


def checkpointing_check(kube: Kube) -> CheckResult:
    """The cluster-wide kubelet configuration kubeadm uploaded enables the ContainerCheckpoint gate."""
    name = "container-checkpointing"
    found = kube.get(KUBELET_CONFIG)
    if found is None:
        return CheckResult(name, False, f"ConfigMap {KUBELET_CONFIG} does not exist (was kubeadm used?)")
    text = (found.get("data") or {}).get("kubelet")
    try:
        config: Any = yaml.safe_load(text or "")
    except yaml.YAMLError as exc:
        return CheckResult(name, False, f"{KUBELET_CONFIG} holds no readable KubeletConfiguration: {exc}")
    gates = (config or {}).get("featureGates") or {} if isinstance(config, dict) else {}
    if gates.get(GATE) is not True:
        return CheckResult(
            name,
            False,
            f"the kubelet configuration ({KUBELET_CONFIG}) does not enable the {GATE} feature gate; "
            "set kubernetes.containerCheckpointing before the bootstrap",
        )
    return CheckResult(name, True, f"{GATE} feature gate enabled in {KUBELET_CONFIG}; CRIU from cloud-init")

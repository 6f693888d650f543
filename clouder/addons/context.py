"""What every add-on builder reads: the spec, the outputs contract and, with a cluster at hand, a lookup."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clouder.events import Redactor
from clouder.kube.objects import Obj, ObjectRef
from clouder.outputs import AwsFacts, AzureFacts, ClusterOutputs
from clouder.spec.model import ClusterSpec

Lookup = Callable[[ObjectRef], Obj | None]
Values = dict[str, Any]
# Nodes stay NotReady (tainted not-ready:NoSchedule) until the CNI runs on them: a controller that tolerates
# this and runs in the host network starts beside the CNI instead of after it.
NOT_READY_TOLERATION = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}


@dataclass(frozen=True)
class AddonContext:
    spec: ClusterSpec
    outputs: ClusterOutputs
    redactor: Redactor = field(default_factory=Redactor)
    lookup: Lookup | None = None  # None when rendering offline (clouder render)

    @property
    def aws(self) -> AwsFacts:
        if not isinstance(self.outputs.cloud, AwsFacts):
            raise TypeError("not an AWS outputs contract")
        return self.outputs.cloud

    @property
    def azure(self) -> AzureFacts:
        if not isinstance(self.outputs.cloud, AzureFacts):
            raise TypeError("not an Azure outputs contract")
        return self.outputs.cloud

    @property
    def minor(self) -> tuple[int, int]:
        return self.spec.kubernetes.minor

    @property
    def control_plane_replicas(self) -> int:
        return 1 if len(self.outputs.control_planes) == 1 else 2

    def secret(self, value: str) -> str:
        """Register a secret value (and its base64 form, as Secrets carry it) for redaction; return it."""
        self.redactor.add(value)
        self.redactor.add(base64.b64encode(value.encode()).decode())
        return value


def secret_manifest(name: str, namespace: str, data: dict[str, str], ctx: AddonContext) -> Obj:
    """A Secret with ``data`` (base64, as the API server stores it, so an unchanged one is recognised)."""
    encoded = {key: base64.b64encode(ctx.secret(value).encode()).decode() for key, value in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace},
        "data": encoded,
    }


def compact_json(document: Values) -> str:
    return json.dumps(document, indent=2, sort_keys=True)

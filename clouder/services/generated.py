"""Secrets Clouder generates for a service once, before its chart is applied, and then leaves alone.

They are not part of any release's inventory, so no rollout prunes or rewrites them; uninstalling the
service's namespace removes them. Their values never reach logs, events or reports.
"""

from __future__ import annotations

import base64
import contextlib
import secrets as random
from typing import TYPE_CHECKING

from clouder.kube.client import ConflictError
from clouder.kube.objects import ObjectRef

if TYPE_CHECKING:
    from clouder.kube.client import Kube
    from clouder.services.catalog import GeneratedSecret

MARK = "clouder.dev/generated"


def ensure(kube: Kube, namespace: str, secret: GeneratedSecret) -> bool:
    """Create ``secret`` in ``namespace`` unless it exists; True when it was created now."""
    if kube.get(ObjectRef("v1", "Secret", namespace, secret.name)) is not None:
        return False
    if kube.get(ObjectRef("v1", "Namespace", "", namespace)) is None:
        with contextlib.suppress(ConflictError):
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    values = {**dict(secret.fixed), **{key: random.token_urlsafe(32) for key in secret.keys}}
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": secret.name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "clouder"},
            "annotations": {MARK: "once: Clouder never rewrites it; delete it to have a new one made"},
        },
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in values.items()},
    }
    try:
        kube.create(body)
    except ConflictError:  # a concurrent run made it first: theirs stands
        return False
    return True

"""Admission webhooks with ``failurePolicy: Fail``: the API server refuses every object they intercept while
their Service has no ready endpoint (the AWS Load Balancer Controller's webhooks before it serves). Such
objects wait for the webhook's endpoints first, and the wait says so."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from clouder.errors import ClouderError
from clouder.kube.client import Kube
from clouder.kube.objects import Obj, ObjectRef

KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
API = "admissionregistration.k8s.io/v1"


@dataclass(frozen=True)
class Webhook:
    name: str
    service: ObjectRef
    rules: tuple[Obj, ...]
    object_selector: Obj
    namespace_selector: Obj

    def intercepts(self, obj: Obj, plural: str, namespace_labels: dict[str, str] | None) -> bool:
        """``namespace_labels``: of the object's namespace (None for a cluster-scoped object)."""
        if namespace_labels is not None and not _selects(self.namespace_selector, namespace_labels):
            return False
        group, _, version = str(obj["apiVersion"]).rpartition("/")
        for rule in self.rules:
            if not {"CREATE", "UPDATE", "*"} & set(rule.get("operations") or []):
                continue
            if (
                _any(rule.get("apiGroups"), group)
                and _any(rule.get("apiVersions"), version)
                and _any(rule.get("resources"), plural)
            ):
                return _selects(self.object_selector, (obj.get("metadata") or {}).get("labels") or {})
        return False


def failing_closed(kube: Kube) -> list[Webhook]:
    """The cluster's webhooks that refuse requests when they cannot be called (the default policy)."""
    found = []
    for kind in KINDS:
        for config in kube.list(API, kind):
            for hook in config.get("webhooks") or []:
                service = (hook.get("clientConfig") or {}).get("service")
                if hook.get("failurePolicy", "Fail") != "Fail" or not service:
                    continue
                ref = ObjectRef(
                    "v1", "Service", str(service.get("namespace", "")), str(service.get("name", ""))
                )
                selectors = (hook.get("objectSelector") or {}, hook.get("namespaceSelector") or {})
                found.append(Webhook(str(hook.get("name")), ref, tuple(hook.get("rules") or []), *selectors))
    return found


def wait_for_webhooks(
    kube: Kube, obj: Obj, webhooks: list[Webhook], deadline: float, interval: float,
    say: Callable[[str], None] | None = None, served: set[ObjectRef] | None = None,
) -> None:  # fmt: skip
    """Return once every Fail webhook intercepting ``obj`` has a ready endpoint; else a ClouderError."""
    if not webhooks:
        return
    served = served if served is not None else set()
    resource = kube.resource(obj["apiVersion"], obj["kind"])
    namespace = (obj.get("metadata") or {}).get("namespace")
    labels: dict[str, str] | None = None
    if resource.namespaced and namespace:
        space = kube.get(ObjectRef("v1", "Namespace", "", str(namespace))) or {}
        labels = {
            "kubernetes.io/metadata.name": str(namespace),
            **((space.get("metadata") or {}).get("labels") or {}),
        }
    for hook in webhooks:
        if hook.service in served or not hook.intercepts(obj, str(resource.name), labels):
            continue
        told = False
        while not _ready_endpoints(kube, hook.service):
            if time.monotonic() >= deadline:
                raise ClouderError(
                    f"{ObjectRef.of(obj)} is intercepted by webhook {hook.name} (failurePolicy: Fail), whose "
                    f"service {hook.service.namespace}/{hook.service.name} has no ready endpoint: the API "
                    "server would refuse it.",
                    "Check the webhook's controller pods, then run again.",
                )
            if say and not told:
                say(f"waiting for webhook {hook.name}: service {hook.service.namespace}/{hook.service.name} "
                    f"has no ready endpoint yet ({ObjectRef.of(obj)} is intercepted)")  # fmt: skip
                told = True
            time.sleep(interval)
        served.add(hook.service)


def _ready_endpoints(kube: Kube, service: ObjectRef) -> bool:
    slices = kube.list("discovery.k8s.io/v1", "EndpointSlice", service.namespace,
                       label_selector=f"kubernetes.io/service-name={service.name}")  # fmt: skip
    for piece in slices:
        for endpoint in piece.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is not False and endpoint.get("addresses"):
                return True
    return False


def _any(allowed: list[str] | None, value: str) -> bool:
    return bool(allowed) and ("*" in allowed or value in allowed)  # type: ignore[operator]


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for term in selector.get("matchExpressions") or []:
        key, op, values = term.get("key"), term.get("operator"), term.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values):
            return False
        if (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True

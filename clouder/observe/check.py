"""`clouder check`: smoke evaluations of a running cluster, each one named, with what it found.

nodes Ready with provider IDs · system pods up · exactly one default StorageClass · a PVC that binds ·
a LoadBalancer Service that gets an address · DNS resolves. The probes (a PVC, a Pod, an internal
LoadBalancer Service, a Job) live in the namespace ``clouder-check``, which is deleted afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from clouder.clouds import CloudRegistry
from clouder.kube import inventory
from clouder.kube.client import Kube
from clouder.kube.objects import Obj, ObjectRef
from clouder.kube.readiness import assess
from clouder.kube.wait import wait_ready
from clouder.outputs import ClusterOutputs
from clouder.spec.model import ClusterSpec

NAMESPACE = "clouder-check"
PROBE_IMAGE = "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
# cloud -> "module:function" giving the annotations of the load-balancer probe's Service for a spec.
PROBE_ANNOTATIONS: CloudRegistry[Callable[[ClusterSpec], dict[str, str]]] = CloudRegistry(
    "the cluster checks",
    {"aws": "clouder.observe.aws:probe_annotations", "azure": "clouder.observe.azure:probe_annotations"},
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class CheckSettings:
    timeout: float = 180.0
    interval: float = 2.0


def _nodes(kube: Kube, expected: list[str]) -> CheckResult:
    nodes = kube.list("v1", "Node")
    registered = {node["metadata"]["name"] for node in nodes}
    bad = [f"{name} is not registered" for name in expected if name not in registered]
    for node in nodes:
        name = node["metadata"]["name"]
        conditions = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
        ready = conditions.get("Ready", {})
        if ready.get("status") != "True":
            bad.append(f"{name} is NotReady ({ready.get('reason') or 'no Ready condition'})")
        elif not (node.get("spec") or {}).get("providerID"):
            bad.append(f"{name} has no provider ID")
    if not nodes:
        return CheckResult("nodes-ready", False, "no nodes registered")
    if bad:
        return CheckResult("nodes-ready", False, "; ".join(bad))
    return CheckResult("nodes-ready", True, f"{len(nodes)} nodes Ready with provider IDs")


def _system_namespaces(kube: Kube) -> list[str]:
    """kube-system and every namespace an add-on release put objects in."""
    found = {"kube-system"}
    for release in inventory.releases(kube, owner="addons"):
        found |= {ref.namespace for ref in release.objects if ref.namespace}
    return sorted(found)


def _system_pods(kube: Kube) -> CheckResult:
    bad = []
    namespaces = _system_namespaces(kube)
    pods = []
    for namespace in namespaces:
        for kind in ("Deployment", "DaemonSet", "StatefulSet"):
            for obj in kube.list("apps/v1", kind, namespace):
                state = assess(obj)
                if not state.ready:
                    bad.append(f"{kind} {namespace}/{obj['metadata']['name']}: {state.reason}")
        pods += kube.list("v1", "Pod", namespace)
    for pod in pods:
        status = pod.get("status") or {}
        phase = status.get("phase")
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
        )
        if phase != "Succeeded" and not (phase == "Running" and ready):
            where = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            bad.append(f"Pod {where} is {phase}{'' if ready else ', not ready'}")
    if bad:
        return CheckResult("system-pods", False, "; ".join(bad))
    where = ", ".join(namespaces)
    return CheckResult("system-pods", True, f"{len(pods)} pods up, workloads rolled out in {where}")


def _default_class(kube: Kube) -> CheckResult:
    classes = kube.list("storage.k8s.io/v1", "StorageClass")
    defaults = [c["metadata"]["name"] for c in classes if _annotation(c, DEFAULT_CLASS) == "true"]
    if len(defaults) == 1:
        return CheckResult("default-storage-class", True, f"{defaults[0]} is the only default")
    if not defaults:
        return CheckResult("default-storage-class", False, "no default StorageClass")
    return CheckResult("default-storage-class", False, f"{len(defaults)} defaults: {', '.join(defaults)}")


def _annotation(obj: Obj, key: str) -> str | None:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(key)
    return None if value is None else str(value)


def _probe(kube: Kube, objects: list[Obj], wait_for: ObjectRef, settings: CheckSettings) -> str | None:
    for obj in objects:
        kube.apply(obj)
    report = wait_ready(kube, [wait_for], settings.timeout, settings.interval)
    return None if report.ok else report.not_ready[0].render()


def _pvc(kube: Kube, settings: CheckSettings) -> CheckResult:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta("probe-claim"),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    pod = _pod("probe-volume", ["sh", "-c", "echo ok > /data/probe"])
    pod["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "probe-claim"}}]
    pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    problem = _probe(kube, [claim, pod], ObjectRef.of(claim), settings)
    return CheckResult("pvc-binds", problem is None, problem or "a 1Gi claim on the default class bound")


def probe_service(spec: ClusterSpec) -> Obj:
    """The internal LoadBalancer Service the load-balancer check creates, annotated for the spec's cloud."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {**_meta("probe-lb"), "annotations": PROBE_ANNOTATIONS[spec.cloud](spec)},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "clouder-check"},
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
        },
    }


def _load_balancer(kube: Kube, spec: ClusterSpec, settings: CheckSettings) -> CheckResult:
    service = probe_service(spec)
    problem = _probe(kube, [service], ObjectRef.of(service), settings)
    if problem:
        return CheckResult("load-balancer", False, problem)
    live = kube.get(ObjectRef.of(service)) or {}
    ingress = live.get("status", {}).get("loadBalancer", {}).get("ingress", [{}])[0]
    return CheckResult("load-balancer", True, f"address {ingress.get('hostname') or ingress.get('ip')}")


def _dns(kube: Kube, settings: CheckSettings) -> CheckResult:
    if kube.get(ObjectRef("v1", "Service", "kube-system", "kube-dns")) is None:
        return CheckResult("dns", False, "Service kube-system/kube-dns does not exist")
    template = _pod("probe-dns", ["nslookup", "kubernetes.default.svc.cluster.local"])
    job: Obj = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta("probe-dns"),
        "spec": {"backoffLimit": 2, "template": {"spec": template["spec"]}},
    }
    problem = _probe(kube, [job], ObjectRef.of(job), settings)
    return CheckResult("dns", problem is None, problem or "kubernetes.default.svc.cluster.local resolves")


def _meta(name: str) -> Obj:
    return {"name": name, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "clouder"}}


def _pod(name: str, command: list[str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**_meta(name), "labels": {"app": "clouder-check"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "probe", "image": PROBE_IMAGE, "command": command}],
        },
    }


def _clear_namespace(kube: Kube, settings: CheckSettings) -> None:
    """A previous run's probe namespace may still be terminating: wait until it is gone."""
    deadline = time.monotonic() + settings.timeout
    while time.monotonic() < deadline:
        live = kube.get(ObjectRef("v1", "Namespace", "", NAMESPACE))
        if live is None or not live["metadata"].get("deletionTimestamp"):
            return
        time.sleep(settings.interval)


def run_checks(
    kube: Kube, spec: ClusterSpec, settings: CheckSettings, outputs: ClusterOutputs | None = None
) -> list[CheckResult]:
    """Every check, in order; the probes' namespace is removed whatever the outcome."""
    expected = [node.name for node in outputs.nodes] if outputs else []
    results = [_nodes(kube, expected), _system_pods(kube), _default_class(kube)]
    if spec.kubernetes.container_checkpointing:  # opt-in: evaluated only when the spec asks for it
        results.append(checkpointing_check(kube))
    namespace = ObjectRef("v1", "Namespace", "", NAMESPACE)
    _clear_namespace(kube, settings)
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    probes: list[tuple[str, Callable[[], CheckResult]]] = [
        ("pvc-binds", lambda: _pvc(kube, settings)),
        ("load-balancer", lambda: _load_balancer(kube, spec, settings)),
        ("dns", lambda: _dns(kube, settings)),
    ]
    try:
        for name, probe in probes:
            if name == "pvc-binds" and not results[2].ok:
                results.append(CheckResult(name, False, "not tried: no single default StorageClass"))
                continue
            started = time.monotonic()
            result = probe()
            detail = f"{result.detail} ({time.monotonic() - started:.1f} s)" if result.ok else result.detail
            results.append(CheckResult(result.name, result.ok, kube.redactor.redact(detail)))
    finally:
        kube.delete(namespace)
    return results


# Runtime checkpointing (``kubernetes.containerCheckpointing``): cloud-init installs CRIU on every node and
# the bootstrap hands kubeadm a KubeletConfiguration with the ContainerCheckpoint gate (beta since 1.30),
# which kubeadm stores in kube-system/kubelet-config for every joining node's kubelet.
CHECKPOINT_GATE = "ContainerCheckpoint"
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
    if gates.get(CHECKPOINT_GATE) is not True:
        return CheckResult(
            name,
            False,
            f"the kubelet configuration ({KUBELET_CONFIG}) does not enable the {CHECKPOINT_GATE} feature "
            "gate; "
            "set kubernetes.containerCheckpointing before the bootstrap",
        )
    return CheckResult(
        name, True, f"{CHECKPOINT_GATE} feature gate enabled in {KUBELET_CONFIG}; CRIU from cloud-init"
    )

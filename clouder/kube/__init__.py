"""Clouder's one apply engine: server-side apply (field manager ``clouder``), per-release inventory and
pruning, readiness waits with a report of what is not ready and why.

    with Kube.from_kubeconfig(path) as kube:
        result = apply_release(kube, Release(name, namespace, version, manifests), ApplyOptions("1.33.5"))
"""

from clouder.kube.client import FIELD_MANAGER, Kube
from clouder.kube.objects import ObjectRef
from clouder.kube.release import (
    ApplyOptions,
    Change,
    Release,
    ReleaseResult,
    apply_release,
    uninstall_release,
)
from clouder.kube.wait import NotReady, WaitReport, wait_ready

__all__ = [
    "FIELD_MANAGER",
    "ApplyOptions",
    "Change",
    "Kube",
    "NotReady",
    "ObjectRef",
    "Release",
    "ReleaseResult",
    "WaitReport",
    "apply_release",
    "uninstall_release",
    "wait_ready",
]

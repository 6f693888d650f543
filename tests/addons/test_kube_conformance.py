"""Replay every case a real kube-apiserver v1.36 answered (``/work/shared/kube-conformance/cases``, see its
README) against the emulator, in the recorded order on one emulated cluster, and compare the status of
every answer. Steps recorded as the end of a poll loop are polled here too.

The cases the emulator does not model yet are listed in ``UNMODELLED`` with what it lacks; each of them
must still disagree (so the list shrinks as the emulator grows), every other case must agree.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.kubeapi import KubeApi, start

CORPUS = Path(os.environ.get("CLOUDER_KUBE_CONFORMANCE", "/work/shared/kube-conformance")) / "cases"
CASES = sorted(CORPUS.glob("*.json"))

UNMODELLED = {
    "002-discovery-resources": "no /apis/<group> (APIGroup) endpoint",
    "008-ssa-rbac": "no validation of RBAC subjects (ServiceAccount subject without namespace: 422)",
    "010-ssa-serviceaccount-secret": "no service-account controller (no 'default' ServiceAccount)",
    "011-ssa-conflict-force": "no field-ownership conflicts (409 FieldManagerConflict without force)",
    "012-ssa-request-errors": "no typed-schema checks of an apply (500 not declared), no 400 on mismatches",
    "013-ssa-dry-run": "no dryRun on DELETE",
    "015-namespace-scoping-errors": "no namespace/name mismatch checks (400), no protected namespaces (403)",
    "018-immutable-service-clusterip": "no clusterIP allocation or its immutability",
    "019-immutable-pvc": "no PVC spec immutability, no default StorageClass admission",
    "020-immutable-deployment-selector": "no selector immutability or selector/template validation",
    "021-immutable-roleref-and-data": "no roleRef or immutable-ConfigMap checks",
    "027-crd-delete": "deleting a CRD removes neither its custom resources nor their discovery",
    "026-crd-cr-invalid": "no OpenAPI validation of custom resources or CRDs",
    "028-job-defaults-ttl": "no Job validation (422) or defaults",
    "031-delete-foreground": "deletion is immediate (no foreground/orphan finalizers, no garbage collector)",
    "032-delete-background-orphan": "no propagationPolicy validation or orphaning",
    "034-delete-finalizer-preconditions": "finalizers and delete preconditions are not modelled",
    "035-list-label-selector": "set-based label selectors (in, notin, !key) and their parse errors",
    "036-list-field-selector-limit": "no field-selector validation, no limit/continue",
    "037-watch-old-resourceversion": "no resourceVersion validation on lists",
    "039-lease-create-update": "no MicroTime validation; Lease PUT rules",
    "040-deployment-status-kcm": "no ReplicaSets or Pods made by controllers",
    "041-daemonset-zero-nodes": "no ControllerRevisions",
    "042-node-register": "no DaemonSet pods",
    "043-eviction-pdb": "eviction does not look at pod phase or readiness",
    "044-eviction-no-pdb": "no eviction body validation",
    "045-events": "no Event validation, no events.k8s.io view",
    "046-status-subresource-and-generation": "PUT without resourceVersion of a Service",
    "047-put-and-create-conflicts": "unconditional PUT, name validation",
    "048-patch-types": "no strategic-merge or JSON patch",
    "049-node-lifecycle-after-grace": "no node lifecycle controller",
}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[KubeApi]:
    if not CASES:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no conformance cases under {CORPUS}")
        pytest.skip(f"no conformance cases under {CORPUS}")
    api, stop = start(tmp_path)
    api.emulator.namespace_termination = 1.0  # a real namespace stays Terminating ~5 s (case 022)
    try:
        yield api
    finally:
        stop()


def send(url: str, step: dict[str, Any]) -> int | str:
    query = urllib.parse.urlencode(step.get("query") or {})
    body = step.get("body")
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
    request = urllib.request.Request(
        url + step["path"] + (f"?{query}" if query else ""),
        data,
        step.get("headers") or {},
        method=step["method"],
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError as error:  # the emulator dropped the connection: a defect of the emulator
        return f"no answer ({type(error).__name__})"


def replay(url: str, case: dict[str, Any]) -> list[str]:
    differences = []
    for index, step in enumerate(case["steps"]):
        if step.get("stream"):
            continue  # watch streams: compared by the watch tests, not here
        polled = "[polled every" in step.get("note", "")
        deadline = time.monotonic() + (8.0 if polled else 0.0)
        got = send(url, step)
        while got != step["status"] and time.monotonic() < deadline:
            time.sleep(0.1)
            got = send(url, step)
        if got != step["status"]:
            differences.append(
                f"step {index} {step['method']} {step['path']}: real {step['status']}, emulator {got}"
            )
    return differences


def test_emulator_answers_as_the_real_api_server(cluster: KubeApi) -> None:
    # one test, cases in recorded order on one cluster: later cases build on earlier ones (README)
    wrong, now_agree = {}, []
    for path in CASES:
        differences = replay(cluster.url, json.loads(path.read_text()))
        if path.stem in UNMODELLED and not differences:
            now_agree.append(path.stem)
        elif path.stem not in UNMODELLED and differences:
            wrong[path.stem] = differences
    assert wrong == {}
    assert now_agree == [], "these cases now agree: remove them from UNMODELLED"
    assert set(UNMODELLED) <= {p.stem for p in CASES}

"""One operator at a time: the add-ons lease, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from clouder.kube import Kube, ObjectRef
from clouder.kube.client import ConflictError
from clouder.kube.lease import LeaseHeldError, acquire, held
from support.kubeapi import KubeApi


@pytest.fixture
def kube(kube_api: KubeApi) -> Iterator[Kube]:
    with Kube.from_kubeconfig(kube_api.kubeconfig) as connected:
        yield connected


def lease(holder: str, renewed: datetime) -> dict[str, object]:
    stamp = renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "clouder-addons", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 60,
            "renewTime": stamp,
            "acquireTime": stamp,
        },
    }


def test_a_live_lease_of_another_run_is_refused_unless_broken(kube: Kube, kube_api: KubeApi) -> None:
    kube_api.emulator.put(lease("ci-runner-7/4242", datetime.now(UTC)))
    with pytest.raises(LeaseHeldError) as caught:
        acquire(kube, "clouder-addons", "laptop/1")
    assert (
        "another clouder run (ci-runner-7/4242) holds the lease kube-system/clouder-addons"
        in caught.value.message
    )
    assert "--break-lock" in caught.value.hint
    acquire(kube, "clouder-addons", "laptop/1", break_lock=True)
    taken = kube_api.emulator.get("Lease", "clouder-addons", "kube-system")
    assert taken is not None and taken["spec"]["holderIdentity"] == "laptop/1"


def test_an_expired_lease_is_taken_over_and_a_held_one_is_released(kube: Kube, kube_api: KubeApi) -> None:
    kube_api.emulator.put(lease("crashed/1", datetime.now(UTC) - timedelta(minutes=5)))
    with held(kube, "clouder-addons") as holder:
        live = kube_api.emulator.get("Lease", "clouder-addons", "kube-system")
        assert live is not None and live["spec"]["holderIdentity"] == holder != "crashed/1"
    assert kube_api.emulator.get("Lease", "clouder-addons", "kube-system") is None


def test_a_stale_write_is_a_conflict(kube: Kube, kube_api: KubeApi) -> None:
    kube_api.emulator.put(lease("a/1", datetime.now(UTC)))
    read = kube.get(ObjectRef("coordination.k8s.io/v1", "Lease", "kube-system", "clouder-addons"))
    assert read is not None
    kube_api.emulator.put(lease("b/2", datetime.now(UTC)))  # another run wrote in between
    with pytest.raises(ConflictError):
        kube.replace(read)

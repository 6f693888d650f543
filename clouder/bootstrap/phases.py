"""The bootstrap phases, in the order they run (k0sctl style: small, named, probing the real host)."""

from __future__ import annotations

from clouder.bootstrap.host_phases import EnsureKubelet, GatherFacts, WaitForCloudInit
from clouder.bootstrap.kubeadm_phases import (
    FetchKubeconfig,
    JoinControlPlanes,
    JoinToken,
    JoinWorkers,
    KubeadmInit,
    RenderConfig,
    UploadCerts,
)
from clouder.bootstrap.local_api import LocalApiAfterJoin, LocalApiBeforeInit
from clouder.hosts.manager import Phase
from clouder.hosts.phases import Connect

PHASES: list[type[Phase]] = [
    Connect,
    WaitForCloudInit,
    GatherFacts,
    RenderConfig,
    LocalApiBeforeInit,
    KubeadmInit,
    UploadCerts,
    JoinToken,
    EnsureKubelet,
    FetchKubeconfig,  # the API is usable from here on: `up` starts the add-ons while the others join
    JoinControlPlanes,
    JoinWorkers,  # starts with JoinControlPlanes (with_previous)
    LocalApiAfterJoin,
]
API_READY_AFTER = FetchKubeconfig

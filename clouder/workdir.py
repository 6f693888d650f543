"""Where Clouder keeps a cluster's local files: ``$CLOUDER_WORK_DIR/<cluster>`` or ``./.clouder/<cluster>``.

Local files speed things up (synthesized stack, saved plans, journal, kubeconfig) but correctness never
depends on them: a GitOps runner starts with none of them.
"""

from __future__ import annotations

import os
from pathlib import Path

from clouder.spec.model import ClusterSpec


def work_root() -> Path:
    return Path(os.environ.get("CLOUDER_WORK_DIR") or Path.cwd() / ".clouder")


def cluster_dir(spec: ClusterSpec, create: bool = True) -> Path:
    path = work_root() / spec.name
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def outputs_path(spec: ClusterSpec) -> Path:
    """The outputs contract as `terraform output -json` printed it after the last apply."""
    return cluster_dir(spec) / "outputs.json"


def kubeconfig_path(spec: ClusterSpec) -> Path:
    """The admin kubeconfig fetched by the bootstrap (0600)."""
    return cluster_dir(spec) / "admin.conf"


def events_path(spec: ClusterSpec) -> Path:
    """JSON-lines event log of every run against this cluster."""
    return cluster_dir(spec) / "events.jsonl"

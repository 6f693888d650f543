"""Control planes reach the API endpoint through their own API server (the load balancer hairpin)."""

from __future__ import annotations

import subprocess

import pytest

from clouder.bootstrap.local_api import UNIT_PATH, apply_script, hosts_line, probe_script
from clouder.events import read_events
from clouder.workdir import work_root
from support.hosts import SshLab
from support.parts import require_binary

ENDPOINT = "lab-api.elb.eu-west-1.amazonaws.com"  # the lab cluster's outputs contract


@pytest.mark.e2e
def test_control_planes_map_the_endpoint_to_themselves_first_before_init_others_after_join(
    lab: SshLab,
) -> None:
    cluster = lab.cluster(3, 1, mode="direct")
    report = cluster.bootstrap()
    assert report.ok, [h.error for h in report.hosts]
    line = hosts_line(ENDPOINT)
    for name, mapped in (("cp-1", True), ("cp-2", True), ("cp-3", True), ("w-1", False)):
        hosts = lab.hosts[name].in_mounts("cat /etc/hosts").splitlines()
        assert hosts.count(line) == (1 if mapped else 0), (name, hosts)

    events = [(e.phase, e.host, e.outcome) for e in read_events(work_root() / "lab" / "events.jsonl")]
    order = [(phase, host) for phase, host, outcome in events if outcome in ("start", "ok")]
    # the first control plane: before kubeadm init; the second: only once its join (through the LB) is done
    assert order.index(("local-api-endpoint-first", "cp-1")) < order.index(("kubeadm-init", "cp-1"))
    assert order.index(("join-control-planes", "cp-2")) < order.index(("local-api-endpoint-joined", "cp-2"))
    assert not any(host == "w-1" and phase.startswith("local-api") for phase, host, _ in events)

    again = cluster.bootstrap()  # probes find the entry: nothing is written twice
    assert again.ok
    assert lab.hosts["cp-1"].in_mounts("cat /etc/hosts").splitlines().count(line) == 1
    skipped = {h.name: h.skipped for h in again.hosts}
    assert "local-api-endpoint-first" in skipped["cp-1"] and "local-api-endpoint-joined" in skipped["cp-2"]


def test_an_address_endpoint_is_redirected_by_iptables_and_kept_across_reboots() -> None:
    # Azure's API frontend is an IP address: no name to put in /etc/hosts.
    script = apply_script("10.0.1.250", 6443)
    rule = (
        "-p tcp -d 10.0.1.250/32 --dport 6443 -m comment --comment clouder-local-api "
        "-j REDIRECT --to-ports 6443"
    )
    assert f"iptables -t nat -C OUTPUT {rule} 2>/dev/null || iptables -t nat -A OUTPUT {rule}" in script
    assert UNIT_PATH in script and "systemctl enable clouder-local-api.service" in script
    assert "iptables -t nat -C OUTPUT" in probe_script("10.0.1.250", 6443)
    assert "/etc/hosts" not in script


@pytest.mark.parametrize("host", ["10.0.1.250", ENDPOINT])
def test_local_api_scripts_pass_shellcheck(host: str) -> None:
    require_binary("shellcheck", "apt-get install shellcheck")
    for script in (apply_script(host, 6443), probe_script(host, 6443)):
        result = subprocess.run(
            ["shellcheck", "-s", "sh", "-"], input=script, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout

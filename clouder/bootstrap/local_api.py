"""Control planes reach the API endpoint through their own API server, never through the load balancer.

Azure's load balancers drop a backend's flow to its own load balancer's frontend (the hairpin), and an AWS
NLB with instance targets does the same when it preserves client IPs; and the first control plane's
``kubeadm init`` talks to the endpoint (upload-config, kubelet TLS bootstrap) before any load balancer counts
it healthy. So each control plane maps the endpoint onto its local API server, the way Cluster API's
platforms do it: a host name gets an ``/etc/hosts`` entry for 127.0.0.1; an IP address (Azure's frontend)
gets an iptables ``REDIRECT`` of locally generated traffic to port 6443 on that address, re-applied at boot
by a small systemd unit.

The first control plane gets it before ``kubeadm init`` (``LocalApiBeforeInit``); a later control plane only
after its join (``LocalApiAfterJoin``), because its join must still reach the existing control planes through
the load balancer; workers never get it. Each phase probes the node first and is idempotent.
"""

from __future__ import annotations

import ipaddress
import shlex

from clouder.hosts.manager import Context, HostState, Phase

MARK = "clouder-local-api"
UNIT_PATH = f"/etc/systemd/system/{MARK}.service"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _redirect_rule(address: str, port: int) -> str:
    """The rule (after ``iptables -t nat -C|-A OUTPUT``) sending local traffic for the endpoint to itself."""
    return f"-p tcp -d {address}/32 --dport {port} -m comment --comment {MARK} -j REDIRECT --to-ports {port}"


def probe_script(host: str, port: int) -> str:
    """Prints ``present`` when this node already reaches ``host:port`` locally, else ``absent``."""
    if _is_address(host):
        check = f"iptables -t nat -C OUTPUT {_redirect_rule(host, port)} 2>/dev/null"
    else:
        check = f"grep -qxF {shlex.quote(hosts_line(host))} /etc/hosts"
    return f"if {check}; then echo present; else echo absent; fi"


def hosts_line(host: str) -> str:
    return f"127.0.0.1 {host} # {MARK}"


def apply_script(host: str, port: int) -> str:
    """Makes ``host:port`` reach this node's own API server; running it twice changes nothing."""
    if not _is_address(host):
        line = shlex.quote(hosts_line(host))
        return f"grep -qxF {line} /etc/hosts || echo {line} >> /etc/hosts"
    rule = _redirect_rule(host, port)
    ensure = f"iptables -t nat -C OUTPUT {rule} 2>/dev/null || iptables -t nat -A OUTPUT {rule}"
    unit = (
        "[Unit]\n"
        "Description=Clouder: this control plane reaches the API endpoint through its own API server\n"
        "Before=kubelet.service\n"
        "After=network-pre.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart=/bin/sh -c {shlex.quote(ensure)}\n"
        "RemainAfterExit=yes\n\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )
    return (
        f"{ensure} && printf %s {shlex.quote(unit)} > {UNIT_PATH} && "
        f"systemctl daemon-reload && systemctl enable {MARK}.service"
    )


class _LocalApi(Phase):
    async def should_run(self, ctx: Context, host: HostState) -> bool:
        endpoint = ctx.outputs.api_endpoint
        probe = await host.shell().run(probe_script(endpoint.host, endpoint.port), label="local API probe")
        return probe.stdout.strip() != "present"

    async def run(self, ctx: Context, host: HostState) -> None:
        endpoint = ctx.outputs.api_endpoint
        await host.shell().run(apply_script(endpoint.host, endpoint.port), label="local API endpoint")

    def action(self, ctx: Context, host: HostState) -> str:
        endpoint = ctx.outputs.api_endpoint
        how = "iptables REDIRECT" if _is_address(endpoint.host) else "/etc/hosts entry for 127.0.0.1"
        return f"reach {endpoint.host}:{endpoint.port} through the local API server ({how})"


class LocalApiBeforeInit(_LocalApi):
    """The first control plane, before ``kubeadm init``: nothing behind the load balancer is healthy yet."""

    name = "local-api-endpoint-first"

    def targets(self, ctx: Context) -> list[HostState]:
        return [ctx.first]


class LocalApiAfterJoin(_LocalApi):
    """Later control planes, once joined (their join itself went through the load balancer)."""

    name = "local-api-endpoint-joined"
    needs_first = True

    def targets(self, ctx: Context) -> list[HostState]:
        return ctx.joining_control_planes

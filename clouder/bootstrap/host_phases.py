"""Phases that prepare and check a node, whatever its role. Each ``should_run`` asks the node itself.

kubeadm commands and the probes that decide about them run under ``flock`` on the node
(``clouder.hosts.phases.node_locked``), so a command left running by a killed Clouder finishes before a new
run looks at the node.
"""

from __future__ import annotations

import json

from clouder.errors import ClouderError
from clouder.hosts.manager import Context, HostState, Phase
from clouder.hosts.secrets import scrub

BOOT_FINISHED = "/var/lib/cloud/instance/boot-finished"
CLOUD_INIT_RESULT = "/var/lib/cloud/data/result.json"
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
ADMIN_CONF = "/etc/kubernetes/admin.conf"


class WaitForCloudInit(Phase):
    name = "wait-cloud-init"
    read_only = True

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        probe = (
            f"if [ -f {BOOT_FINISHED} ]; then echo done; "
            "elif [ -d /var/lib/cloud ] || command -v cloud-init >/dev/null; then echo wait; "
            "else echo none; fi"
        )
        state = (await host.shell().run(probe, label="cloud-init probe")).stdout.strip()
        return state == "wait"

    async def run(self, ctx: Context, host: HostState) -> None:
        limit = ctx.options.cloud_init_timeout
        waited = await host.shell().run(
            f"timeout {limit:g} sh -c 'until [ -f {BOOT_FINISHED} ]; do sleep 0.5; done'",
            label="wait for cloud-init",
            timeout=limit + 10,
            check=False,
        )
        if waited.exit_status != 0:
            raise ClouderError(
                f"{host.name}: cloud-init did not finish within {limit:g}s.",
                "Look at /var/log/cloud-init-output.log on the node.",
            )
        result = await host.shell().run(
            f"cat {CLOUD_INIT_RESULT} 2>/dev/null || true", label="cloud-init result"
        )
        try:
            errors = json.loads(result.stdout or "{}").get("v1", {}).get("errors", [])
        except ValueError:
            errors = []
        if errors:
            detail = scrub("; ".join(str(e) for e in errors), ctx.events.redactor)
            raise ClouderError(f"{host.name}: cloud-init reported errors: {detail}")


class GatherFacts(Phase):
    name = "gather-facts"
    read_only = True
    SCRIPT = (
        '. /etc/os-release 2>/dev/null; echo "os=${ID:-unknown} ${VERSION_ID:-}"; '
        'echo "arch=$(uname -m)"; echo "kernel=$(uname -r)"; '
        "if [ -S /run/containerd/containerd.sock ]; then echo runtime=containerd; "
        "elif [ -S /var/run/crio/crio.sock ]; then echo runtime=cri-o; else echo runtime=none; fi; "
        'echo "kubeadm=$(kubeadm version -o short 2>/dev/null || echo missing)"; '
        f'echo "joined=$([ -f {KUBELET_CONF} ] && echo yes || echo no)"'
    )

    async def run(self, ctx: Context, host: HostState) -> None:
        out = (await host.shell().run(self.SCRIPT, label="gather facts")).stdout
        host.facts = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        want = f"v{ctx.spec.kubernetes.version}"
        if host.facts.get("kubeadm", "missing") == "missing":
            raise ClouderError(
                f"{host.name}: kubeadm is not installed.",
                f"The node image or user-data must install kubeadm {want}.",
            )
        if host.facts["kubeadm"] != want:
            ctx.info(self.name, host.name, f"kubeadm {host.facts['kubeadm']} differs from {want}")


class EnsureKubelet(Phase):
    """A node that is set up but whose kubelet is not running gets it (re)started, never re-joined."""

    name = "ensure-kubelet"

    def targets(self, ctx: Context) -> list[HostState]:
        return [host for host in ctx.hosts.values() if host.ok]

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        probe = (
            f"if [ -f {KUBELET_CONF} ] && command -v systemctl >/dev/null "
            "&& ! systemctl is-active --quiet kubelet; then echo down; else echo fine; fi"
        )
        return (await host.shell().run(probe, label="kubelet probe")).stdout.strip() == "down"

    async def run(self, ctx: Context, host: HostState) -> None:
        result = await host.shell().run(
            "systemctl restart kubelet && sleep 1 && systemctl is-active --quiet kubelet",
            label="restart the kubelet",
            check=False,
        )
        if result.exit_status != 0:
            raise ClouderError(
                f"{host.name}: the kubelet does not stay running.",
                "Look at `journalctl -u kubelet` on the node.",
            )

    def action(self, ctx: Context, host: HostState) -> str:
        return "restart the kubelet (set up, but not running)"

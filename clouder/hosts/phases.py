"""Phases and helpers every run over the hosts shares, whatever its stage."""

from __future__ import annotations

import shlex

from clouder.hosts.manager import Context, HostState, Phase


def node_locked(ctx: Context, script: str) -> str:
    """Run under the node's kubeadm lock, which every kubeadm command and its probe take, so a command left
    running by a killed Clouder finishes before a new run looks at the node."""
    state = shlex.quote(ctx.options.state_dir)
    wait = int(ctx.options.ssh.command_timeout)
    return f"mkdir -p {state} && flock -w {wait} {state}/kubeadm.lock sh -c {shlex.quote(script)}"


class Connect(Phase):
    name = "connect"
    read_only = True

    async def run(self, ctx: Context, host: HostState) -> None:
        await host.shell().run("true", label="ssh check", sudo=False)

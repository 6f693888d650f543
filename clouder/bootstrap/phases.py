"""The bootstrap phases, in order. Each ``should_run`` asks the node; each ``run`` is safe to repeat.

kubeadm commands and the probes that decide about them run under ``flock`` on the node, so a command left
running by a killed Clouder finishes before a new run looks at the node.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from datetime import datetime

from clouder.bootstrap import kubeadm
from clouder.bootstrap.kubeconfig import ca_cert_hash, write_kubeconfig
from clouder.bootstrap.manager import Context, HostState, Phase
from clouder.bootstrap.secrets import TOKEN_RE, new_certificate_key, scrub
from clouder.errors import ClouderError

BOOT_FINISHED = "/var/lib/cloud/instance/boot-finished"
CLOUD_INIT_RESULT = "/var/lib/cloud/data/result.json"
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
ADMIN_CONF = "/etc/kubernetes/admin.conf"
TOKEN_DESCRIPTION = "clouder bootstrap"


def _flock(ctx: Context, script: str) -> str:
    state = shlex.quote(ctx.options.state_dir)
    wait = int(ctx.options.ssh.command_timeout)
    return f"mkdir -p {state} && flock -w {wait} {state}/kubeadm.lock sh -c {shlex.quote(script)}"


# A node is partly set up when kubeadm left files behind but no kubelet.conf: reset before retrying.
_RESET_IF_PARTIAL = (
    'if [ -n "$(ls -A /etc/kubernetes/manifests 2>/dev/null)" ] || [ -e /etc/kubernetes/pki/ca.crt ]; '
    "then kubeadm reset --force >&2 || exit 1; fi; "
)


class Connect(Phase):
    name = "connect"
    read_only = True

    async def run(self, ctx: Context, host: HostState) -> None:
        await host.shell().run("true", label="ssh check", sudo=False)


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


class RenderConfig(Phase):
    name = "render-kubeadm-config"

    def targets(self, ctx: Context) -> list[HostState]:
        return [ctx.first]

    def path(self, ctx: Context) -> str:
        return f"{ctx.options.state_dir}/kubeadm-init.yaml"

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        want = hashlib.sha256(kubeadm.init_documents(ctx.spec, ctx.outputs).encode()).hexdigest()
        have = await host.shell().run(f"sha256sum {self.path(ctx)} 2>/dev/null || true", label="config probe")
        return have.stdout.split(" ")[0] != want

    async def run(self, ctx: Context, host: HostState) -> None:
        text = kubeadm.init_documents(ctx.spec, ctx.outputs)
        state = shlex.quote(ctx.options.state_dir)
        await host.shell().run(
            f"mkdir -p {state} && umask 077 && cat > {self.path(ctx)}",
            label="write kubeadm config",
            input=text,
        )

    def action(self, ctx: Context, host: HostState) -> str:
        return f"write {self.path(ctx)} (controlPlaneEndpoint {kubeadm.endpoint(ctx.outputs)})"


class KubeadmInit(Phase):
    name = "kubeadm-init"

    def targets(self, ctx: Context) -> list[HostState]:
        return [ctx.first]

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        probe = _flock(ctx, f"[ -f {ADMIN_CONF} ] && [ -f {KUBELET_CONF} ] && echo ready || echo todo")
        return (await host.shell().run(probe, label="init probe")).stdout.strip() != "ready"

    async def run(self, ctx: Context, host: HostState) -> None:
        config = f"{ctx.options.state_dir}/kubeadm-init.yaml"
        script = (
            f"if [ -f {ADMIN_CONF} ] && [ -f {KUBELET_CONF} ]; then exit 0; fi; "
            + _RESET_IF_PARTIAL
            + f"kubeadm init --config {config}"
        )
        result = await host.shell().run(_flock(ctx, script), label="kubeadm init")
        scrub(result.stdout, ctx.events.redactor)

    def action(self, ctx: Context, host: HostState) -> str:
        return f"kubeadm init (Kubernetes v{ctx.spec.kubernetes.version})"


class UploadCerts(Phase):
    name = "upload-certs"
    needs_first = True

    def targets(self, ctx: Context) -> list[HostState]:
        pending = [h for h in ctx.joining_control_planes if h.ok and h.facts.get("joined") != "yes"]
        return [ctx.first] if pending else []

    async def run(self, ctx: Context, host: HostState) -> None:
        key = new_certificate_key()
        ctx.events.redactor.add(key)
        path = f"{ctx.options.state_dir}/upload-certs.yaml"
        text = kubeadm.init_documents(ctx.spec, ctx.outputs, certificate_key=key)
        script = (
            f"kubeadm init phase upload-certs --upload-certs --config {path}; rc=$?; rm -f {path}; exit $rc"
        )
        await host.shell().run(
            f"mkdir -p {shlex.quote(ctx.options.state_dir)} && umask 077 && cat > {path} && "
            + _flock(ctx, script),
            label="kubeadm upload-certs",
            input=text,
        )
        ctx.certificate_key = key

    def action(self, ctx: Context, host: HostState) -> str:
        return "upload control-plane certificates with a new certificate key"


class JoinToken(Phase):
    """Reuse a join token with time left, or create one: this is also how an expired token is refreshed."""

    name = "join-token"
    needs_first = True

    def targets(self, ctx: Context) -> list[HostState]:
        pending = [
            h for h in [*ctx.joining_control_planes, *ctx.workers] if h.ok and h.facts.get("joined") != "yes"
        ]
        return [ctx.first] if pending else []

    async def run(self, ctx: Context, host: HostState) -> None:
        shell = host.shell()
        listing = await shell.run("kubeadm token list -o json", label="kubeadm token list")
        ctx.token = self._usable(ctx, listing.stdout)
        if ctx.token is None:
            created = await shell.run(
                f"kubeadm token create --ttl {ctx.options.token_ttl} "
                f"--description {shlex.quote(TOKEN_DESCRIPTION)}",
                label="kubeadm token create",
            )
            match = TOKEN_RE.search(created.stdout)
            if match is None:
                raise ClouderError(f"{host.name}: `kubeadm token create` printed no token.")
            ctx.token = match.group(0)
            ctx.events.redactor.add(ctx.token)
            ctx.info(self.name, host.name, "created a new join token")
        ca = await shell.run("cat /etc/kubernetes/pki/ca.crt", label="read the cluster CA")
        ctx.ca_hash = ca_cert_hash(ca.stdout)

    def _usable(self, ctx: Context, listing: str) -> str | None:
        decoder = json.JSONDecoder()
        text, index, now = listing.strip(), 0, time.time()
        while index < len(text):
            entry, end = decoder.raw_decode(text, index)
            index = end
            while index < len(text) and text[index].isspace():
                index += 1
            token = str(entry.get("token", ""))
            ctx.events.redactor.add(token)
            expires = entry.get("expires")
            if not token or "authentication" not in entry.get("usages", []) or not expires:
                continue
            left = datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp() - now
            if left > ctx.options.token_min_left_s:
                return token
        return None

    def action(self, ctx: Context, host: HostState) -> str:
        return "find a join token with time left or create one"


class _Join(Phase):
    needs_first = True

    async def should_run(self, ctx: Context, host: HostState) -> bool:
        probe = _flock(ctx, f"[ -f {KUBELET_CONF} ] && echo joined || echo todo")
        return (await host.shell().run(probe, label="join probe")).stdout.strip() != "joined"

    async def run(self, ctx: Context, host: HostState) -> None:
        if ctx.token is None or ctx.ca_hash is None:
            raise ClouderError(f"{host.name}: no join token (the join-token phase did not run).")
        key = ctx.certificate_key if host.node.role == "control-plane" else None
        if host.node.role == "control-plane" and key is None:
            raise ClouderError(f"{host.name}: no certificate key (the upload-certs phase did not run).")
        text = kubeadm.join_document(host.node, ctx.spec, ctx.outputs, ctx.token, ctx.ca_hash, key)
        path = f"{ctx.options.state_dir}/kubeadm-join.yaml"
        script = (
            f"if [ -f {KUBELET_CONF} ]; then rm -f {path}; exit 0; fi; "
            + _RESET_IF_PARTIAL
            + f"kubeadm join --config {path}; rc=$?; rm -f {path}; exit $rc"
        )
        state = shlex.quote(ctx.options.state_dir)
        result = await host.shell().run(
            f"mkdir -p {state} && umask 077 && cat > {path} && " + _flock(ctx, script),
            label=f"kubeadm join ({host.node.role})",
            input=text,
        )
        scrub(result.stdout, ctx.events.redactor)
        host.facts["joined"] = "yes"

    def action(self, ctx: Context, host: HostState) -> str:
        return f"kubeadm join as {host.node.role} via {kubeadm.endpoint(ctx.outputs)}"


class JoinControlPlanes(_Join):
    name = "join-control-planes"
    serial = True  # etcd grows one member at a time

    def targets(self, ctx: Context) -> list[HostState]:
        return ctx.joining_control_planes


class JoinWorkers(_Join):
    name = "join-workers"

    def targets(self, ctx: Context) -> list[HostState]:
        return ctx.workers


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


class FetchKubeconfig(Phase):
    name = "fetch-kubeconfig"
    needs_first = True

    def targets(self, ctx: Context) -> list[HostState]:
        return [ctx.first]

    async def run(self, ctx: Context, host: HostState) -> None:
        result = await host.shell().run(f"cat {ADMIN_CONF}", label="read admin.conf")
        text = result.stdout
        ctx.events.redactor.add(text)
        scrub(text, ctx.events.redactor)
        out = ctx.options.kubeconfig_out
        if out is not None:
            write_kubeconfig(out, text, ctx.outputs.cluster_name, ctx.options.merge_kubeconfig)
        ctx.kubeconfig = str(out) if out is not None else None

    def action(self, ctx: Context, host: HostState) -> str:
        return f"write the admin kubeconfig to {ctx.options.kubeconfig_out} (0600)"


PHASES: list[type[Phase]] = [
    Connect,
    WaitForCloudInit,
    GatherFacts,
    RenderConfig,
    KubeadmInit,
    UploadCerts,
    JoinToken,
    JoinControlPlanes,
    JoinWorkers,
    EnsureKubelet,
    FetchKubeconfig,
]

"""The kubeadm phases: render the configuration, init, upload certificates, join token, joins, kubeconfig."""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from datetime import datetime

from clouder.bootstrap import kubeadm
from clouder.bootstrap.host_phases import ADMIN_CONF, KUBELET_CONF
from clouder.bootstrap.kubeconfig import ca_cert_hash, write_kubeconfig
from clouder.errors import ClouderError
from clouder.hosts.manager import Context, HostState, Phase
from clouder.hosts.phases import node_locked
from clouder.hosts.secrets import TOKEN_RE, new_certificate_key, scrub

TOKEN_DESCRIPTION = "clouder bootstrap"

# A node is partly set up when kubeadm left files behind but no kubelet.conf: reset before retrying.
_RESET_IF_PARTIAL = (
    'if [ -n "$(ls -A /etc/kubernetes/manifests 2>/dev/null)" ] || [ -e /etc/kubernetes/pki/ca.crt ]; '
    "then kubeadm reset --force >&2 || exit 1; fi; "
)


class RenderConfig(Phase):
    name = "render-kubeadm-config"

    def targets(self, ctx: Context) -> list[HostState]:
        return [ctx.first]

    def path(self, ctx: Context) -> str:
        return shlex.quote(f"{ctx.options.state_dir}/kubeadm-init.yaml")

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
        probe = node_locked(ctx, f"[ -f {ADMIN_CONF} ] && [ -f {KUBELET_CONF} ] && echo ready || echo todo")
        return (await host.shell().run(probe, label="init probe")).stdout.strip() != "ready"

    async def run(self, ctx: Context, host: HostState) -> None:
        config = shlex.quote(f"{ctx.options.state_dir}/kubeadm-init.yaml")
        script = (
            f"if [ -f {ADMIN_CONF} ] && [ -f {KUBELET_CONF} ]; then exit 0; fi; "
            + _RESET_IF_PARTIAL
            + f"kubeadm init --config {config}"
        )
        result = await host.shell().run(node_locked(ctx, script), label="kubeadm init")
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
        path = shlex.quote(f"{ctx.options.state_dir}/upload-certs.yaml")
        text = kubeadm.init_documents(ctx.spec, ctx.outputs, certificate_key=key)
        await host.shell().run(
            _with_secret_file(ctx, path, f"kubeadm init phase upload-certs --upload-certs --config {path}"),
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
        probe = node_locked(ctx, f"[ -f {KUBELET_CONF} ] && echo joined || echo todo")
        return (await host.shell().run(probe, label="join probe")).stdout.strip() != "joined"

    async def run(self, ctx: Context, host: HostState) -> None:
        if ctx.token is None or ctx.ca_hash is None:
            raise ClouderError(f"{host.name}: no join token (the join-token phase did not run).")
        key = ctx.certificate_key if host.node.role == "control-plane" else None
        if host.node.role == "control-plane" and key is None:
            raise ClouderError(f"{host.name}: no certificate key (the upload-certs phase did not run).")
        text = kubeadm.join_document(host.node, ctx.spec, ctx.outputs, ctx.token, ctx.ca_hash, key)
        path = shlex.quote(f"{ctx.options.state_dir}/kubeadm-join.yaml")
        script = f"if [ -f {KUBELET_CONF} ]; then exit 0; fi; {_RESET_IF_PARTIAL}kubeadm join --config {path}"
        result = await host.shell().run(
            _with_secret_file(ctx, path, script),
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
    """Workers join as soon as the first control plane is up, while the other control planes join."""

    name = "join-workers"
    with_previous = True

    def targets(self, ctx: Context) -> list[HostState]:
        return ctx.workers


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


def _with_secret_file(ctx: Context, path: str, script: str) -> str:
    """Write stdin to ``path`` (0600), run ``script`` under the node lock, and remove the file whatever
    happened, also when the lock was never taken (``flock -w`` timed out): it holds a token or key."""
    state = shlex.quote(ctx.options.state_dir)
    locked = node_locked(ctx, script)
    return f"mkdir -p {state} && umask 077 && cat > {path} && {{ {locked}; rc=$?; rm -f {path}; exit $rc; }}"

"""SSH to the nodes with asyncssh: direct or through the bastion, pinned host keys, bounded retries.

Every command gets a short ``label`` ("kubeadm join"); errors quote the label and the redacted tail of the
output, never the command line, so secrets passed to a command cannot leak through an error message.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from clouder.errors import BadInputError, ClouderError
from clouder.events import Redactor
from clouder.hosts.hostkeys import (
    HostKeyChangedError,
    HostKeysNotOnConsoleError,
    KnownHosts,
    console_fingerprints,
)
from clouder.hosts.options import SshOptions
from clouder.hosts.secrets import scrub
from clouder.outputs import ClusterOutputs, Node

BASTION = "bastion"


class SshError(ClouderError):
    """A failure on one host; ``transient`` ones are worth a retry on a fresh connection."""

    transient = False

    def __init__(self, host: str, message: str, hint: str = "") -> None:
        super().__init__(f"{host}: {message}", hint)
        self.host = host


class UnreachableError(SshError):
    pass


class AuthFailedError(SshError):
    pass


class ConnectionDroppedError(SshError):
    transient = True


class CommandTimeoutError(SshError):
    pass


class CommandFailedError(SshError):
    def __init__(self, host: str, label: str, exit_status: int | None, output: str) -> None:
        tail = "\n".join(output.strip().splitlines()[-6:])
        super().__init__(host, f"{label} failed (exit {exit_status})" + (f": {tail}" if tail else ""))
        self.exit_status = exit_status


class TargetRefusedError(BadInputError):
    pass


@dataclass(frozen=True)
class Target:
    name: str
    address: str
    port: int
    user: str


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str
    exit_status: int


_TRANSIENT = (OSError, asyncio.TimeoutError, asyncssh.ConnectionLost, asyncssh.DisconnectError)
_FINAL = (asyncssh.HostKeyNotVerifiable, asyncssh.PermissionDenied)


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, _TRANSIENT) and not isinstance(exc, _FINAL)


class HostSession:
    """One node's connection; at most ``sessions_per_host`` commands run on it at a time."""

    def __init__(self, pool: SshPool, target: Target, conn: asyncssh.SSHClientConnection) -> None:
        self.pool = pool
        self.target = target
        self.conn = conn
        self._slots = asyncio.Semaphore(pool.options.sessions_per_host)

    @property
    def name(self) -> str:
        return self.target.name

    def shell(self, command: str, sudo: bool = True) -> str:
        if sudo and self.target.user != "root":
            return f"sudo -n -- sh -c {shlex.quote(command)}"
        return command

    async def run(
        self,
        command: str,
        *,
        label: str,
        input: str | None = None,
        timeout: float | None = None,
        sudo: bool = True,
        check: bool = True,
    ) -> CommandResult:
        limit = timeout if timeout is not None else self.pool.options.command_timeout
        async with self._slots:
            try:
                done = await self.conn.run(self.shell(command, sudo), input=input, timeout=limit, check=False)
            except asyncssh.TimeoutError:
                raise CommandTimeoutError(self.name, f"{label} did not finish within {limit:g}s") from None
            except (
                asyncssh.ConnectionLost,
                asyncssh.DisconnectError,
                BrokenPipeError,
                ConnectionError,
            ) as exc:
                self.pool.forget(self.name)
                raise ConnectionDroppedError(self.name, f"connection lost during {label}: {exc}") from None
            except asyncssh.ChannelOpenError as exc:
                self.pool.forget(self.name)
                raise ConnectionDroppedError(self.name, f"cannot open a session for {label}: {exc}") from None
        result = CommandResult(_text(done.stdout), _text(done.stderr), done.exit_status or 0)
        if done.exit_status is None:
            self.pool.forget(self.name)
            raise ConnectionDroppedError(self.name, f"connection lost during {label} (no exit status)")
        if check and result.exit_status != 0:
            output = scrub(result.stderr or result.stdout, self.pool.redactor)
            raise CommandFailedError(self.name, label, result.exit_status, output)
        return result


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def load_client_key(path: Path) -> asyncssh.SSHKey:
    """The private key named by the spec, read once up front so a bad path is bad input, not 'unreachable'."""
    try:
        return asyncssh.read_private_key(path)
    except FileNotFoundError:
        raise BadInputError(
            f"access.privateKeyPath: {path} does not exist.", "Point it at the key for the nodes' SSH user."
        ) from None
    except (OSError, asyncssh.KeyImportError) as exc:
        raise BadInputError(
            f"access.privateKeyPath: cannot read {path} as an unencrypted private key ({exc}).",
            "Use an OpenSSH key without a passphrase, or load it into a file Clouder can read.",
        ) from None


class SshPool:
    """Connections to the cluster's nodes (and the bastion), opened on demand and reused."""

    def __init__(self, options: SshOptions, outputs: ClusterOutputs, redactor: Redactor) -> None:
        self.client_key = load_client_key(options.private_key)
        self.options = options
        self.outputs = outputs
        self.redactor = redactor
        self.known_hosts = KnownHosts(options.known_hosts)
        self._sessions: dict[str, HostSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._bastion: asyncssh.SSHClientConnection | None = None
        self._bastion_lock = asyncio.Lock()
        self.hosts_slots = asyncio.Semaphore(options.max_parallel_hosts)
        self._console: Callable[[str], str | None] | None = None

    def target(self, node: Node) -> Target:
        inside = self.options.node_networks
        if inside is not None and not any(ipaddress.ip_address(node.private_ip) in n for n in inside):
            raise TargetRefusedError(
                f"refusing to dial {node.name}: its private address {node.private_ip} in the outputs "
                f"contract is not inside the cluster's network ({', '.join(str(n) for n in inside)}).",
                "The outputs do not describe this cluster: read them again with `clouder output SPEC`.",
            )
        access = self.outputs.ssh
        address = node.public_ip if access.mode == "direct" and node.public_ip else node.private_ip
        return self._resolve(node.name, address, access.port, access.user)

    def bastion_target(self) -> Target:
        access = self.outputs.ssh
        assert access.bastion_host is not None
        return self._resolve(BASTION, access.bastion_host, access.port, access.bastion_user or access.user)

    def _resolve(self, name: str, address: str, port: int, user: str) -> Target:
        mapped = self.options.address_map.get(name) or self.options.address_map.get(address)
        if mapped:
            host, _, mapped_port = mapped.partition(":")
            address, port = host, int(mapped_port or port)
        self._check_allowed(name, address)
        return Target(name, address, port, user)

    def _check_allowed(self, name: str, address: str) -> None:
        allowed = self.options.allowed_networks
        if allowed is None:
            return
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        if ip is None or not any(ip in network for network in allowed):
            raise TargetRefusedError(
                f"refusing to dial {name} at {address}: not inside the allowed networks "
                f"({', '.join(str(n) for n in allowed)}).",
                "Map the node onto an allowed address or widen the allowed networks.",
            )

    def forget(self, name: str) -> None:
        session = self._sessions.pop(name, None)
        if session is not None:
            session.conn.abort()

    async def session(self, node: Node) -> HostSession:
        lock = self._locks.setdefault(node.name, asyncio.Lock())
        async with lock:
            existing = self._sessions.get(node.name)
            if existing is not None and not existing.conn.is_closed():
                return existing
            target = self.target(node)
            tunnel = await self._tunnel() if self.outputs.ssh.mode == "bastion" else None
            conn = await self._connect_retrying(target, tunnel)
            session = HostSession(self, target, conn)
            self._sessions[node.name] = session
            return session

    async def _tunnel(self) -> asyncssh.SSHClientConnection:
        async with self._bastion_lock:
            if self._bastion is None or self._bastion.is_closed():
                self._bastion = await self._connect_retrying(self.bastion_target(), None)
            return self._bastion

    async def _connect_retrying(
        self, target: Target, tunnel: asyncssh.SSHClientConnection | None
    ) -> asyncssh.SSHClientConnection:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.options.attempts),
            wait=wait_exponential(multiplier=self.options.backoff_initial, max=self.options.backoff_max),
            retry=retry_if_exception(_worth_retrying),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._connect(target, tunnel)
        except asyncssh.HostKeyNotVerifiable:
            raise HostKeyChangedError(target.name, target.address, self.known_hosts.path) from None
        except asyncssh.PermissionDenied:
            raise AuthFailedError(
                target.name,
                f"authentication as {target.user!r} at {target.address} was refused",
                f"Check that the key {self.options.private_key} is installed for {target.user} on the node.",
            ) from None
        except _TRANSIENT as exc:
            reason = str(exc) or type(exc).__name__
            raise UnreachableError(
                target.name,
                f"cannot reach {target.address}:{target.port} "
                f"after {self.options.attempts} attempts: {reason}",
                "Check that the node is running and that SSH is allowed from here (or via the bastion).",
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(
        self, target: Target, tunnel: asyncssh.SSHClientConnection | None
    ) -> asyncssh.SSHClientConnection:
        timeout = self.options.connect_timeout
        common: dict[str, Any] = {"port": target.port, "config": []}
        if tunnel is not None:
            common["tunnel"] = tunnel
        pinned = self.known_hosts.pinned(target.name)
        if pinned is None:
            key = await asyncio.wait_for(asyncssh.get_server_host_key(target.address, **common), timeout)
            if key is None:
                raise ConnectionResetError("the server offered no host key")
            expected = await self._console_fingerprints(target.name) if self.options.console else None
            pinned = self.known_hosts.pin(target.name, key.export_public_key().decode(), expected)
        trusted = asyncssh.import_public_key(pinned)
        return await asyncssh.connect(
            target.address,
            username=target.user,
            client_keys=[self.client_key],
            known_hosts=([trusted], [], []),
            agent_path=None,
            connect_timeout=timeout,
            login_timeout=timeout,
            keepalive_interval=self.options.keepalive_interval,
            keepalive_count_max=3,
            **common,
        )

    async def _console_fingerprints(self, name: str) -> set[str]:
        """The host key fingerprints cloud-init printed to ``name``'s console, waited for: cloud-init prints
        them late in the first boot, and a cloud posts its console with a delay."""
        assert self.options.console is not None
        if self._console is None:
            self._console = self.options.console(self.outputs)
        deadline = asyncio.get_running_loop().time() + self.options.console_wait
        while True:
            console = await asyncio.to_thread(self._console, name)
            found = console_fingerprints(console) if console else None
            if found is not None:
                return found
            if asyncio.get_running_loop().time() >= deadline:
                raise HostKeysNotOnConsoleError(name, self.options.console_wait)
            await asyncio.sleep(self.options.console_poll)

    async def close(self) -> None:
        for name in list(self._sessions):
            self.forget(name)
        if self._bastion is not None:
            self._bastion.close()

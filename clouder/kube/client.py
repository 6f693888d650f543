"""A connection to a cluster: the official client, its dynamic (discovery-driven) API, error wrapping."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubernetes import config as kube_config
from kubernetes import dynamic
from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError

from clouder.errors import BadInputError, ClouderError
from clouder.events import Redactor
from clouder.kube.objects import Obj, ObjectRef

FIELD_MANAGER = "clouder"


class ConflictError(ClouderError):
    """The object exists already, or changed since it was read (HTTP 409)."""


class RequestFailed(ClouderError):
    """The API server refused a write; ``status`` is its HTTP status (422 for an immutable field …)."""

    def __init__(self, message: str, status: int, detail: str) -> None:
        super().__init__(message)
        self.status, self.detail = status, detail


# The client's functions are untyped; Any keeps strict mypy honest about where types stop.
_dynamic_client: Any = dynamic.DynamicClient
_load_kube_config: Any = kube_config.load_kube_config
CREDENTIALS_DIR = ".kube-credentials"


def _new_client(config_file: str) -> Any:
    """The client for a kubeconfig. The client writes the admin certificate and key to files; keep them in
    a 0700 folder of this process under the work root (never the shared /tmp), and remove the folders of
    runs that died without cleaning up."""
    from kubernetes import client

    from clouder.processes import pid_alive
    from clouder.workdir import private_dir, work_root

    base = private_dir(private_dir(work_root()) / CREDENTIALS_DIR)
    for stale in base.iterdir():
        if stale.name.isdigit() and not pid_alive(int(stale.name)):
            shutil.rmtree(stale, ignore_errors=True)
    mine = private_dir(base / str(os.getpid()))
    configuration = client.Configuration()
    _load_kube_config(config_file=config_file, client_configuration=configuration, persist_config=False,
                      temp_file_path=str(mine))  # fmt: skip
    return client.ApiClient(configuration)


class Kube:
    """One cluster. Server-side apply, get, list, delete by object reference."""

    def __init__(self, api_client: Any, redactor: Redactor | None = None, owns_client: bool = True) -> None:
        self.api_client = api_client
        self.redactor = redactor or Redactor()
        self._owns_client = owns_client
        # Discovery is cached per connection only: a stale cache would hide CRDs installed since.
        self._cache_dir = tempfile.mkdtemp(prefix="clouder-discovery-")
        try:
            self.dynamic: Any = _dynamic_client(
                api_client, cache_file=str(Path(self._cache_dir) / "discovery.json")
            )
        except Exception as exc:
            self.close()
            host = api_client.configuration.host
            raise ClouderError(f"cannot reach the Kubernetes API at {host}: {self.explain(exc)}") from None

    @classmethod
    def from_kubeconfig(cls, path: Path, redactor: Redactor | None = None) -> Kube:
        if not path.is_file():
            raise BadInputError(
                f"kubeconfig {path} does not exist.",
                "Run `clouder bootstrap SPEC` first, or pass --kubeconfig FILE.",
            )
        redactor = redactor or Redactor()
        _register_credentials(path, redactor)
        try:
            api_client = _new_client(config_file=str(path))
        except Exception as exc:
            raise BadInputError(f"kubeconfig {path} is not usable: {redactor.redact(str(exc))}") from None
        return cls(api_client, redactor)

    def fork(self) -> Kube:
        """A connection for another thread: the same HTTP client (thread-safe), its own discovery cache (a
        thread that refreshes discovery after installing CRDs must not pull the cache from under another).
        Closing it leaves this connection open."""
        return Kube(self.api_client, self.redactor, owns_client=False)

    def close(self) -> None:
        shutil.rmtree(self._cache_dir, ignore_errors=True)
        if getattr(self, "api_client", None) is not None and self._owns_client:
            self.api_client.close()

    def __enter__(self) -> Kube:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def server_version(self) -> str:
        return str(self.dynamic.version["kubernetes"]["gitVersion"])

    def resource(self, api_version: str, kind: str) -> Any:
        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise ClouderError(f"the cluster does not serve {kind} in {api_version}.") from None

    def refresh_discovery(self) -> None:
        self.dynamic.resources.invalidate_cache()

    def get(self, ref: ObjectRef) -> Obj | None:
        resource = self.resource(ref.api_version, ref.kind)
        try:
            found = self.dynamic.get(resource, name=ref.name, namespace=ref.namespace or None)
        except NotFoundError:
            return None
        except DynamicApiError as exc:
            raise ClouderError(f"reading {ref} failed: {self.explain(exc)}") from None
        result: Obj = found.to_dict()
        return result

    def list(self, api_version: str, kind: str, namespace: str | None = None, **selectors: str) -> list[Obj]:
        resource = self.resource(api_version, kind)
        try:
            found = self.dynamic.get(resource, namespace=namespace, **selectors)
        except DynamicApiError as exc:
            raise ClouderError(f"listing {kind} failed: {self.explain(exc)}") from None
        items: list[Obj] = found.to_dict().get("items", [])
        return items

    def changes(self, ref: ObjectRef, since: str, timeout: float) -> Iterator[tuple[str, Obj]]:
        """The changes to one object after resourceVersion ``since`` (``ADDED``/``MODIFIED``/``DELETED``,
        with the object), for at most ``timeout`` seconds: a watch sees states a poll can miss (a Job the
        TTL controller deletes the moment it completes)."""
        resource = self.resource(ref.api_version, ref.kind)
        try:
            for event in self.dynamic.watch(
                resource, namespace=ref.namespace or None, field_selector=f"metadata.name={ref.name}",
                resource_version=since, timeout=max(1, round(timeout)),
            ):  # fmt: skip
                yield str(event["type"]), dict(event["raw_object"])
        except DynamicApiError as exc:
            raise ClouderError(f"watching {ref} failed: {self.explain(exc)}") from None

    def apply(self, obj: Obj, dry_run: bool = False) -> Obj:
        """Server-side apply; ``dry_run``: what the server would store, nothing stored (no write)."""
        ref = ObjectRef.of(obj)
        resource = self.resource(ref.api_version, ref.kind)
        extra = {"dry_run": "All"} if dry_run else {}
        try:
            applied = self.dynamic.server_side_apply(
                resource, body=obj, name=ref.name, namespace=ref.namespace or None,
                field_manager=FIELD_MANAGER, force_conflicts=True, **extra,
            )  # fmt: skip
        except DynamicApiError as exc:
            detail = self.explain(exc)
            raise RequestFailed(f"applying {ref} failed: {detail}", exc.status, detail) from None
        result: Obj = applied.to_dict()
        return result

    def create(self, obj: Obj) -> Obj:
        ref = ObjectRef.of(obj)
        resource = self.resource(ref.api_version, ref.kind)
        try:
            created: Obj = self.dynamic.create(resource, body=obj, namespace=ref.namespace or None).to_dict()
        except DynamicApiError as exc:
            kind = ConflictError if exc.status == 409 else ClouderError
            raise kind(f"creating {ref} failed: {self.explain(exc)}") from None
        return created

    def replace(self, obj: Obj) -> Obj:
        """PUT the whole object; with ``metadata.resourceVersion`` set, a concurrent change is a 409."""
        ref = ObjectRef.of(obj)
        resource = self.resource(ref.api_version, ref.kind)
        try:
            replaced: Obj = self.dynamic.replace(
                resource, body=obj, namespace=ref.namespace or None
            ).to_dict()
        except DynamicApiError as exc:
            kind = ConflictError if exc.status == 409 else ClouderError
            raise kind(f"replacing {ref} failed: {self.explain(exc)}") from None
        return replaced

    def delete(self, ref: ObjectRef) -> bool:
        """Delete one object (dependents in the background); False when it was already gone."""
        resource = self.resource(ref.api_version, ref.kind)
        try:
            self.dynamic.delete(resource, name=ref.name, namespace=ref.namespace or None,
                                propagation_policy="Background")  # fmt: skip
        except NotFoundError:
            return False
        except DynamicApiError as exc:
            raise ClouderError(f"deleting {ref} failed: {self.explain(exc)}") from None
        return True

    def namespaced(self, api_version: str, kind: str) -> bool:
        return bool(self.resource(api_version, kind).namespaced)

    def explain(self, exc: BaseException) -> str:
        """A one-line reason for an API error, with every registered secret redacted."""
        if isinstance(exc, DynamicApiError):
            text = f"{exc.status} {exc.reason}: {_message(exc)}"
        else:
            text = f"{type(exc).__name__}: {exc}"
        return self.redactor.redact(text)


CREDENTIAL_FIELDS = ("token", "client-key-data", "client-certificate-data", "password")


def _register_credentials(path: Path, redactor: Redactor) -> None:
    """The kubeconfig's keys, tokens and passwords never reach output, events or errors."""
    import yaml

    text = path.read_text(encoding="utf-8", errors="replace")
    redactor.add(text)
    try:
        users = (yaml.safe_load(text) or {}).get("users") or []
    except yaml.YAMLError:
        return
    for entry in users:
        user = (entry or {}).get("user") or {}
        for name in CREDENTIAL_FIELDS:
            if isinstance(user.get(name), str):
                redactor.add(user[name])


def _message(exc: DynamicApiError) -> str:
    import json

    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return str(exc.body or "")[:500]
    return str(body.get("message", ""))[:2000]

"""The admin kubeconfig: written 0600, optionally merged into the user's kubeconfig as a named context."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from clouder import workdir
from clouder.errors import ClouderError


def ca_cert_hash(pem: str) -> str:
    """kubeadm's discovery hash: sha256 of the CA certificate's SubjectPublicKeyInfo."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise ClouderError(f"the cluster CA certificate is not valid PEM: {exc}") from None
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def write_private(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``; the file is 0600 from the first byte."""
    workdir.write_private(path, text, checked=False)


def _named(entries: list[dict[str, Any]], name: str, value: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("name") != name] + [{"name": name, key: value}]


def merge(existing: dict[str, Any], admin: dict[str, Any], name: str) -> dict[str, Any]:
    """Put the admin kubeconfig's cluster, user and context into ``existing`` under ``name``."""
    cluster = admin["clusters"][0]["cluster"]
    user = admin["users"][0]["user"]
    merged = dict(existing) or {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    merged["clusters"] = _named(list(merged.get("clusters") or []), name, cluster, "cluster")
    merged["users"] = _named(list(merged.get("users") or []), f"{name}-admin", user, "user")
    context = {"cluster": name, "user": f"{name}-admin"}
    merged["contexts"] = _named(list(merged.get("contexts") or []), name, context, "context")
    merged.setdefault("current-context", name)
    if not merged.get("current-context"):
        merged["current-context"] = name
    return merged


def write_kubeconfig(out: Path, text: str, name: str, merge_into: Path | None) -> None:
    write_private(out, text)
    if merge_into is None:
        return
    try:
        admin = yaml.safe_load(text)
        existing = yaml.safe_load(merge_into.read_text(encoding="utf-8")) if merge_into.exists() else {}
    except yaml.YAMLError as exc:
        raise ClouderError(
            f"cannot merge into {merge_into}: it is not valid YAML ({exc.__class__.__name__})."
        ) from None
    write_private(merge_into, yaml.safe_dump(merge(existing or {}, admin, name), sort_keys=False))

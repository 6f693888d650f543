"""Synthesize only when something that shapes the stack changed: a content hash of spec + Clouder version.

Synthesis imports the CDKTF bindings (~10 s, ~0.6 GB); an unchanged spec reuses the stack folder from the
last run, recorded in ``<work>/synth/.clouder-synth.json`` with the hash of the ``cdk.tf.json`` it wrote. The
stamp is trusted only for a stack inside that folder whose files still hash as recorded, so a planted stamp
or an edited ``cdk.tf.json`` means a fresh synthesis, never a reused foreign stack.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from clouder import __version__
from clouder.errors import BadInputError
from clouder.spec.model import ClusterSpec
from clouder.workdir import cluster_dir, private_dir, read_private, write_private

STAMP = ".clouder-synth.json"


def content_hash(spec: ClusterSpec) -> str:
    document = spec.model_dump(mode="json", by_alias=True)
    key = json.dumps({"spec": document, "clouder": __version__}, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def files_hash(stack: Path) -> str:
    """The hash of the JSON synthesis wrote (a symlink counts as foreign). What lands beside it later —
    Terraform's own ``.terraform/`` and lock file, override files — changes nothing here: the policy gate
    reads the effective configuration, overrides included, on every plan."""
    synthesized = stack / "cdk.tf.json"
    if synthesized.is_symlink():
        return "symlink:cdk.tf.json"
    try:
        return "sha256:" + hashlib.sha256(synthesized.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def cached_stack(spec: ClusterSpec) -> Path | None:
    """The stack folder from an earlier synthesis of exactly this spec and Clouder version, if any."""
    outdir = cluster_dir(spec) / "synth"
    try:
        recorded = json.loads(read_private(outdir / STAMP))
    except (OSError, ValueError, BadInputError):
        return None
    stack = Path(str(recorded.get("stack", "")))
    try:
        inside = stack.resolve().is_relative_to(outdir.resolve()) and not stack.is_symlink()
    except OSError:
        return None
    if (
        inside
        and recorded.get("hash") == content_hash(spec)
        and any(stack.glob("*.tf.json"))
        and recorded.get("files") == files_hash(stack)
    ):
        return stack
    return None


def ensure_stack(spec: ClusterSpec) -> tuple[Path, bool]:
    """The synthesized stack folder for ``spec`` and whether it was (re)synthesized just now."""
    cached = cached_stack(spec)
    if cached is not None:
        return cached, False
    try:
        from clouder.synth import synthesize
    except ImportError:
        raise BadInputError("this installation cannot synthesize stacks (clouder.synth is missing).",
                            "Pass a synthesized stack folder with --stack DIR.") from None  # fmt: skip
    outdir = private_dir(cluster_dir(spec) / "synth")
    stamp = outdir / STAMP
    stamp.unlink(missing_ok=True)
    stack = synthesize(spec, outdir)
    record = {"hash": content_hash(spec), "stack": str(stack), "files": files_hash(stack)}
    write_private(stamp, json.dumps(record))
    return stack, True

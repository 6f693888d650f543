"""Synthesize only when something that shapes the stack changed: a content hash of spec + Clouder version.

Synthesis imports the CDKTF bindings (~10 s, ~0.6 GB); an unchanged spec reuses the stack folder from the
last run, recorded with its hash in ``<work>/synth/.clouder-synth.json``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from clouder import __version__
from clouder.errors import BadInputError
from clouder.spec.model import ClusterSpec
from clouder.workdir import cluster_dir

STAMP = ".clouder-synth.json"


def content_hash(spec: ClusterSpec) -> str:
    document = spec.model_dump(mode="json", by_alias=True)
    key = json.dumps({"spec": document, "clouder": __version__}, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def cached_stack(spec: ClusterSpec) -> Path | None:
    """The stack folder from an earlier synthesis of exactly this spec and Clouder version, if any."""
    stamp = cluster_dir(spec) / "synth" / STAMP
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    stack = Path(recorded.get("stack", ""))
    if recorded.get("hash") == content_hash(spec) and any(stack.glob("*.tf.json")):
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
    outdir = cluster_dir(spec) / "synth"
    stamp = outdir / STAMP
    stamp.unlink(missing_ok=True)
    stack = synthesize(spec, outdir)
    stamp.write_text(json.dumps({"hash": content_hash(spec), "stack": str(stack)}), encoding="utf-8")
    return stack, True

"""Saved plans and their metadata: which cluster, which configuration, which changes, which file."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from clouder import __version__
from clouder.errors import BadInputError
from clouder.terraform.summary import PlanSummary
from clouder.workdir import write_private


class PlanMeta(BaseModel):
    model_config = ConfigDict(frozen=True)

    cluster: str
    config_hash: str
    file_sha256: str
    plan_hash: str
    destroy: bool = False
    created: str
    clouder_version: str = __version__


class SavedPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: Path
    meta: PlanMeta
    summary: PlanSummary
    # True when ``summary`` was derived from the plan file by this process, False when read from the
    # sidecar (which anyone with the plan file's folder can edit: ``clouder.terraform.guarded`` re-derives).
    from_plan: bool = False


def meta_path(plan: Path) -> Path:
    return plan.with_name(plan.name + ".meta.json")


def summary_path(plan: Path) -> Path:
    return plan.with_name(plan.name + ".summary.json")


def file_sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def write_saved(path: Path, cluster: str, config_hash: str, summary: PlanSummary) -> SavedPlan:
    meta = PlanMeta(
        cluster=cluster,
        config_hash=config_hash,
        file_sha256=file_sha256(path),
        plan_hash=summary.plan_hash,
        destroy=summary.destroy_plan,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_private(meta_path(path), meta.model_dump_json(indent=2) + "\n", checked=False)
    write_private(summary_path(path), summary.model_dump_json(indent=2) + "\n", checked=False)
    return SavedPlan(path=path, meta=meta, summary=summary, from_plan=True)


def read_saved(path: Path, cluster: str, config_hash: str) -> SavedPlan:
    """Load a saved plan, refusing one made for another cluster, another configuration, or altered since."""
    if not path.is_file():
        raise BadInputError(f"{path}: no such plan file.", "Make one with `clouder plan SPEC --out FILE`.")
    try:
        meta = PlanMeta.model_validate_json(meta_path(path).read_bytes())
        summary = PlanSummary.model_validate_json(summary_path(path).read_bytes())
    except (OSError, ValueError):
        raise BadInputError(
            f"{path} is not a plan Clouder made: its {meta_path(path).name} is missing or unreadable.",
            "Plan with `clouder plan SPEC --out FILE` and keep the .meta.json and .summary.json beside it.",
        ) from None
    if meta.cluster != cluster:
        raise BadInputError(
            f"{path} is a plan for cluster {meta.cluster!r}, not {cluster!r}.",
            "Apply it with that cluster's spec, or plan this one.",
        )
    if file_sha256(path) != meta.file_sha256:
        raise BadInputError(
            f"{path} changed after `clouder plan` wrote it (its hash no longer matches).",
            "Plan again; never edit or swap plan files.",
        )
    if meta.config_hash != config_hash:
        raise BadInputError(
            f"{path} is stale: the synthesized configuration changed since it was planned ({meta.created}).",
            "Plan again with `clouder plan` and review the new summary.",
        )
    return SavedPlan(path=path, meta=meta, summary=summary)


def dumps(summary: PlanSummary) -> str:
    return json.dumps(summary.as_json(), indent=2) + "\n"

"""`clouder render`: the add-on manifests as files for Argo CD or Flux, one per release, in install order.

Secrets are not written (a Git repository is no place for azure.json or a webhook key): the files say
which were left out, to be supplied through the GitOps tool's secret mechanism (SOPS, External Secrets).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from clouder.addons.context import AddonContext
from clouder.addons.plan import NodesInitialized, plan, render_step
from clouder.catalog.charts import Catalog
from clouder.kube.objects import ObjectRef, to_yaml
from clouder.kube.validate import validate


@dataclass
class Written:
    files: list[Path] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"files": [str(p) for p in self.files], "omitted": self.omitted}


def write_manifests(ctx: AddonContext, catalog: Catalog, out: Path, cache: Path | None = None) -> Written:
    """Render every release into files, then move them into ``out`` together: a render that fails leaves
    ``out`` as it was (nothing new, nothing half-written)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-") as staging:
        written = _render_into(ctx, catalog, Path(staging), cache)
        out.mkdir(exist_ok=True)
        for stale in out.glob("[0-9][0-9]-*.yaml"):
            stale.unlink()
        for path in [*written.files, Path(staging) / "kustomization.yaml"]:
            path.replace(out / path.name)
    written.files = [out / path.name for path in written.files]
    return written


def _render_into(ctx: AddonContext, catalog: Catalog, out: Path, cache: Path | None) -> Written:
    written = Written()
    steps = [step for step in plan(ctx) if not isinstance(step, NodesInitialized)]
    for index, step in enumerate(steps, start=1):
        release = render_step(step, ctx, catalog, cache)
        objects = release.objects()
        validate(objects, ctx.spec.kubernetes.version, release.name, ctx.redactor)
        kept = [obj for obj in objects if obj["kind"] != "Secret"]
        for obj in objects:
            if obj["kind"] == "Secret":
                written.omitted.append(f"{ObjectRef.of(obj)} (release {release.name}): supply it out of band")
        for hook in release.placed_hooks():
            written.omitted.append(
                f"{hook.ref} (release {release.name}): a {'/'.join(hook.events)} hook, not a plain object"
            )
        if not kept:
            continue
        path = out / f"{index:02d}-{release.name}.yaml"
        header = f"# release {release.name} {release.version} (rendered by clouder; apply in file order)\n"
        path.write_text(header + to_yaml(kept), encoding="utf-8")
        written.files.append(path)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [p.name for p in written.files],
    }
    (out / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")
    return written

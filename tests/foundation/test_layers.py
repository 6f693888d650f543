"""The package's layers, bottom to top, and the rule between them: a module imports only from its own package
or from packages on lower layers. Packages on one layer never import each other. docs/layout.md explains
each layer; a new package gets a place here before it is imported by anything."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from support.services import REPO

PACKAGE = REPO / "clouder"
LAYERS: list[set[str]] = [
    {"errors"},  # ClouderError and its kinds
    {"credentials", "processes", "dag", "clouds"},  # secret look-alikes, live PIDs, DAG runner, registries
    {"catalog"},  # pinned versions, regions, machine types
    {"spec"},  # the typed cluster spec
    {"contexts"},  # where clusters live
    {"workdir"},  # the work folder and private files
    {"events"},  # structured events, redaction
    {"outputs", "synth"},  # the outputs contract; synthesis runtime
    {"modules"},  # CDKTF constructs
    {"stacks"},  # CDKTF stacks composing the constructs
    {"policy"},  # the gate before apply, approvals
    {"terraform"},  # plan, guarded apply, outputs, orphans
    {"kube", "hosts"},  # the Kubernetes API client and apply engine; SSH hosts and the phase manager
    {"charts", "bootstrap"},  # Helm rendering without a binary; kubeadm over SSH
    {"addons", "services"},  # cluster add-ons; the system and core services
    {"observe"},  # checks and status: read every stage below
    {"lifecycle"},  # day-2: nodes, upgrades, teardown
    {"up"},  # the whole pipeline, stage by stage
    {"rehearse"},  # the pipeline against local stand-ins
    {"cli"},  # commands
    {"__main__"},  # python -m clouder
]
LAYER = {name: index for index, names in enumerate(LAYERS) for name in names}


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "clouder" and len(parts) > 1 else None


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)


def _modules() -> Iterator[tuple[str, Path]]:
    """(package, file) for every module; stacks/ and modules/ sit at the top of the repository and are
    installed as clouder.stacks and clouder.modules (docs/layout.md)."""
    for root in (PACKAGE, REPO / "stacks", REPO / "modules"):
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(PACKAGE if root == PACKAGE else REPO)
            yield relative.parts[0].removesuffix(".py"), path


def test_every_package_has_a_layer() -> None:
    packages = {name for name, _ in _modules() if name != "__init__"}
    assert packages - set(LAYER) == set(), "give each new package a layer in LAYERS and docs/layout.md"


def test_no_module_imports_from_a_higher_layer_or_a_sibling() -> None:
    wrong = []
    for package, path in _modules():
        if package == "__init__":
            continue
        for line, module in _imports(path):
            target = _package(module)
            if target is None or target == package:
                continue
            if LAYER[target] >= LAYER[package]:
                where = "a higher layer" if LAYER[target] > LAYER[package] else "a sibling on its layer"
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {module} ({where})")
    assert wrong == [], "\n".join(wrong)

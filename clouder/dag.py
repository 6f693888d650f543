"""A dependency graph: topological levels, dependents, the critical path, and ``run_graph``, which runs the
nodes of a graph in parallel as their dependencies allow (the services' rollout and the add-ons both run
through it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from clouder.errors import BadInputError

T = TypeVar("T")


@dataclass(frozen=True)
class Graph:
    """``deps[name]`` lists what ``name`` needs first; every dependency is itself a node."""

    deps: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, edges: Iterable[tuple[str, Iterable[str]]]) -> Graph:
        deps = {name: tuple(needs) for name, needs in edges}
        for name, needs in deps.items():
            for dep in needs:
                if dep not in deps:
                    raise BadInputError(f"service {name} depends on {dep!r}, which is not rolled out.")
        graph = cls(deps)
        graph.levels()  # refuses cycles early
        return graph

    @property
    def nodes(self) -> list[str]:
        return list(self.deps)

    def dependents(self, name: str) -> list[str]:
        return [node for node, needs in self.deps.items() if name in needs]

    def downstream(self, name: str) -> set[str]:
        """Everything that needs ``name``, directly or through others."""
        found: set[str] = set()
        stack = [name]
        while stack:
            for node in self.dependents(stack.pop()):
                if node not in found:
                    found.add(node)
                    stack.append(node)
        return found

    def levels(self) -> list[list[str]]:
        """Kahn's algorithm by waves: each level only needs earlier levels (order within follows input)."""
        remaining = dict(self.deps)
        done: set[str] = set()
        levels: list[list[str]] = []
        while remaining:
            wave = [name for name, needs in remaining.items() if all(dep in done for dep in needs)]
            if not wave:
                raise BadInputError(f"service dependency cycle among: {', '.join(sorted(remaining))}.")
            levels.append(wave)
            done.update(wave)
            for name in wave:
                del remaining[name]
        return levels

    def order(self) -> list[str]:
        return [name for level in self.levels() for name in level]

    def critical_path(self, durations: Mapping[str, float]) -> tuple[float, list[str]]:
        """The longest chain of ``durations`` through the graph: the least time any rollout can take."""
        finish: dict[str, float] = {}
        via: dict[str, str | None] = {}
        for name in self.order():
            start, before = 0.0, None
            for dep in self.deps[name]:
                if finish[dep] > start:
                    start, before = finish[dep], dep
            finish[name] = start + durations.get(name, 0.0)
            via[name] = before
        if not finish:
            return 0.0, []
        end = max(finish, key=lambda n: finish[n])
        path: list[str] = []
        node: str | None = end
        while node is not None:
            path.append(node)
            node = via[node]
        return finish[end], path[::-1]

    def heights(self) -> dict[str, int]:
        """Longest chain of dependents below each node (0 for leaves)."""
        height: dict[str, int] = {}
        for name in reversed(self.order()):
            height[name] = max((height[d] + 1 for d in self.dependents(name)), default=0)
        return height

    def subgraph(self, names: Iterable[str]) -> Graph:
        keep = set(names)
        return Graph({n: tuple(d for d in needs if d in keep) for n, needs in self.deps.items() if n in keep})


def run_graph(
    graph: Graph,
    names: Iterable[str],
    run: Callable[[str], T],
    blocked: Callable[[str, Mapping[str, T]], str],
    skip: Callable[[str, str], T],
    parallel: int,
) -> dict[str, T]:
    """Run each of ``names`` once everything it needs among them has an outcome, up to ``parallel`` at once,
    the longest chains first (that keeps the critical path moving). A node for which ``blocked`` (given the
    outcomes so far) names a reason is not run: ``skip`` makes its outcome, which may block its dependents in
    turn. Dependencies outside ``names`` are not waited for (``blocked`` judges them). ``run`` and ``skip``
    must not raise: one node's failure is its outcome, never the end of the others."""
    chosen = set(names)
    outcomes: dict[str, T] = {}
    pending = [name for name in graph.order() if name in chosen]
    height = graph.heights()
    pending.sort(key=lambda n: -height[n])
    running: dict[Future[T], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while pending or running:
            for name in list(pending):
                why = blocked(name, outcomes)
                if why:
                    pending.remove(name)
                    outcomes[name] = skip(name, why)
            startable = [n for n in pending if all(d in outcomes or d not in chosen for d in graph.deps[n])]
            for name in startable[: max(0, parallel - len(running))]:
                pending.remove(name)
                running[pool.submit(run, name)] = name
            if not running:
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                outcomes[running.pop(future)] = future.result()
    return outcomes

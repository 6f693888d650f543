"""The services' dependency graph: topological levels, dependents, and the critical path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from clouder.errors import BadInputError


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

    def subgraph(self, names: Iterable[str]) -> Graph:
        keep = set(names)
        return Graph({n: tuple(d for d in needs if d in keep) for n, needs in self.deps.items() if n in keep})

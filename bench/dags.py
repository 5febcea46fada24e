"""Random task graphs of four families, with lognormal task durations.

A `DagInstance` lists its tasks in a topological order (every dependency has a lower index),
which is also the plan order the engine's FIFO ready queue follows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

__all__ = ["FAMILIES", "DagInstance", "make_instance", "task_id"]

FAMILIES = ("chain", "independent", "fork-join", "layered")
# Spread of the task durations (sigma of the underlying normal): at 1.0 the p90/p10 ratio is
# ≈ 13, like tasks that take one to three iterations on models whose speeds differ ~5×.
DURATION_SIGMA = 1.0


def task_id(index: int) -> str:
    return f"task_{index + 1:03d}"


@dataclass(frozen=True)
class DagInstance:
    name: str
    family: str
    deps: tuple[tuple[int, ...], ...]  # deps[i]: indexes of task i's dependencies, all < i
    durations: tuple[float, ...]  # seconds

    @property
    def size(self) -> int:
        return len(self.deps)

    def graph(self) -> dict[str, list[str]]:
        """Task id -> dependency ids, in plan order (the shape `ReadyQueue` takes)."""
        return {task_id(i): [task_id(d) for d in ds] for i, ds in enumerate(self.deps)}

    def duration_of(self) -> dict[str, float]:
        return {task_id(i): d for i, d in enumerate(self.durations)}

    def levels(self) -> list[int]:
        """Level of each task: 0 for sources, else 1 + the highest level of its dependencies."""
        level: list[int] = []
        for ds in self.deps:
            level.append(1 + max((level[d] for d in ds), default=-1))
        return level

    def critical_path(self) -> float:
        finish: list[float] = []
        for ds, duration in zip(self.deps, self.durations, strict=True):
            finish.append(max((finish[d] for d in ds), default=0.0) + duration)
        return max(finish)

    def total_work(self) -> float:
        return sum(self.durations)

    def lower_bound(self, concurrency: int) -> float:
        """No schedule can beat this: max(critical path, total work ÷ concurrency)."""
        return max(self.critical_path(), self.total_work() / concurrency)


def _chain(n: int, rng: Random) -> list[tuple[int, ...]]:
    return [() if i == 0 else (i - 1,) for i in range(n)]


def _independent(n: int, rng: Random) -> list[tuple[int, ...]]:
    return [() for _ in range(n)]


def _fork_join(n: int, rng: Random) -> list[tuple[int, ...]]:
    """Fork → 2..12 parallel tasks → join, repeated; each join is the next fork."""
    deps: list[tuple[int, ...]] = [()]
    hub = 0
    while len(deps) < n:
        left = n - len(deps)
        if left < 3:
            deps.extend((len(deps) - 1,) for _ in range(left))
            break
        width = min(rng.randint(2, 12), left - 1)
        branch = [len(deps) + k for k in range(width)]
        deps.extend((hub,) for _ in range(width))
        hub = len(deps)
        deps.append(tuple(branch))
    return deps


def _layered(n: int, rng: Random) -> list[tuple[int, ...]]:
    """Layers of random width; each task needs 1-3 tasks of the layer just before it (so its
    level is its layer) and sometimes one more from an older layer."""
    layers = rng.randint(max(3, n // 10), max(4, n // 4))
    sizes = [1] * layers
    for _ in range(n - layers):
        sizes[rng.randrange(layers)] += 1
    deps: list[tuple[int, ...]] = []
    members: list[list[int]] = []
    for size in sizes:
        layer = list(range(len(deps), len(deps) + size))
        for _ in layer:
            if not members:
                deps.append(())
                continue
            previous = members[-1]
            chosen = set(rng.sample(previous, rng.randint(1, min(3, len(previous)))))
            if len(members) > 1 and rng.random() < 0.3:
                chosen.add(rng.choice(rng.choice(members[:-1])))
            deps.append(tuple(sorted(chosen)))
        members.append(layer)
    return deps


_SHAPES: dict[str, Callable[[int, Random], list[tuple[int, ...]]]] = {
    "chain": _chain,
    "independent": _independent,
    "fork-join": _fork_join,
    "layered": _layered,
}


def make_instance(
    family: str, size: int, *, mean_s: float, seed: int, sigma: float = DURATION_SIGMA
) -> DagInstance:
    """One random graph of `family` with `size` tasks; durations lognormal with mean `mean_s`."""
    rng = Random(f"{family}:{size}:{seed}")
    deps = _SHAPES[family](size, rng)
    mu = math.log(mean_s) - sigma**2 / 2
    durations = tuple(rng.lognormvariate(mu, sigma) for _ in deps)
    return DagInstance(
        name=f"{family}-{size}-{seed}", family=family, deps=tuple(deps), durations=durations
    )

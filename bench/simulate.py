"""Zero-overhead discrete-event schedules of a `DagInstance`.

`ready_queue` drives the engine's own `ReadyQueue` (pure bookkeeping, no clock) with exact
task durations and no cost for anything else: the best the engine's policy can do. `barrier`
is the seed engine's policy: run level by level, each level only after the previous one
has completely finished. `weighted_longest_path` is an oracle that knows every duration
(HLFET list scheduling), for comparison with the duration-blind orders the engine can use.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from bench.dags import DagInstance
from orchestrator.domain import TaskResult, TaskStatus
from orchestrator.engine.scheduler import ReadyOrder, ReadyQueue

__all__ = ["barrier", "ready_queue", "weighted_longest_path"]


def ready_queue(
    dag: DagInstance,
    concurrency: int,
    order: ReadyOrder = ReadyOrder.FIFO,
    durations: Mapping[str, float] | None = None,
) -> float:
    """Makespan of the engine's ready queue with zero overhead (`durations` override the
    instance's, e.g. with the spans the engine really took)."""
    duration = dict(durations or dag.duration_of())
    queue = ReadyQueue(graph=dag.graph(), order=order)
    running: list[tuple[float, int, str]] = []
    now, seq = 0.0, 0
    while True:
        for tid in queue.take_ready(concurrency - len(running)):
            seq += 1
            heapq.heappush(running, (now + duration[tid], seq, tid))
        if not running:
            break
        now, _, tid = heapq.heappop(running)
        queue.finish(TaskResult(task_id=tid, status=TaskStatus.COMPLETED))
    return now


def _list_schedule(durations: list[float], concurrency: int) -> float:
    """Makespan of independent tasks started in the given order on `concurrency` slots."""
    slots = [0.0] * min(concurrency, max(len(durations), 1))
    for d in durations:
        start = heapq.heappop(slots)
        heapq.heappush(slots, start + d)
    return max(slots)


def barrier(dag: DagInstance, concurrency: int) -> float:
    """Makespan when each level waits for the whole previous level (plan order inside)."""
    by_level: dict[int, list[float]] = {}
    for level, d in zip(dag.levels(), dag.durations, strict=True):
        by_level.setdefault(level, []).append(d)
    return sum(_list_schedule(by_level[lv], concurrency) for lv in sorted(by_level))


def weighted_longest_path(dag: DagInstance, concurrency: int) -> float:
    """List scheduling that always starts the ready task with the most remaining *time*."""
    n = dag.size
    dependents: list[list[int]] = [[] for _ in range(n)]
    for i, ds in enumerate(dag.deps):
        for d in ds:
            dependents[d].append(i)
    rank = [0.0] * n
    for i in reversed(range(n)):
        rank[i] = dag.durations[i] + max((rank[j] for j in dependents[i]), default=0.0)
    waiting = [len(ds) for ds in dag.deps]
    ready = [(-rank[i], i) for i in range(n) if waiting[i] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, int]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < concurrency:
            _, i = heapq.heappop(ready)
            heapq.heappush(running, (now + dag.durations[i], i))
        now, i = heapq.heappop(running)
        for j in dependents[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, (-rank[j], j))
    return now

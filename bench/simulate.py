"""Zero-overhead discrete-event schedules of a `DagInstance`.

`ready_queue` drives the engine's own `ReadyQueue` (pure bookkeeping, no clock) with exact
task durations and no cost for anything else: the best the engine's policy can do. `barrier`
is the seed engine's policy: run level by level, each level only after the previous one
has completely finished. `weighted_longest_path` is an oracle that knows every duration
(HLFET list scheduling), for comparison with the duration-blind orders the engine can use.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from bench.dags import DagInstance, task_id
from orchestrator.domain import TaskResult, TaskStatus
from orchestrator.engine.scheduler import ReadyOrder, ReadyQueue, remaining_path_lengths

__all__ = [
    "barrier",
    "engine_priority",
    "priority_schedule",
    "ready_queue",
    "weighted_longest_path",
]


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


def _dependents(dag: DagInstance) -> list[list[int]]:
    dependents: list[list[int]] = [[] for _ in range(dag.size)]
    for i, ds in enumerate(dag.deps):
        for d in ds:
            dependents[d].append(i)
    return dependents


def priority_schedule(dag: DagInstance, concurrency: int, priority: Sequence[float]) -> float:
    """List scheduling in O(n log n): whenever a slot is free, start the ready task with the
    lowest `priority`. With `engine_priority` it is the engine's `ReadyQueue` policy (the
    benchmark checks that both agree), fast enough for thousands of 200-task graphs."""
    dependents = _dependents(dag)
    waiting = [len(ds) for ds in dag.deps]
    ready = [(priority[i], i) for i in range(dag.size) if waiting[i] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, int, int]] = []
    now, seq = 0.0, 0
    while ready or running:
        while ready and len(running) < concurrency:
            _, i = heapq.heappop(ready)
            seq += 1
            heapq.heappush(running, (now + dag.durations[i], seq, i))
        now, _, i = heapq.heappop(running)
        for j in dependents[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, (priority[j], j))
    return now


def engine_priority(dag: DagInstance, order: ReadyOrder) -> list[float]:
    """The rank `ReadyQueue` sorts ready tasks by: plan position, or for LONGEST_PATH the
    number of tasks still ahead (most first), then plan position."""
    if order is ReadyOrder.FIFO:
        return [float(i) for i in range(dag.size)]
    depth = remaining_path_lengths(dag.graph())
    return [float(-depth[task_id(i)] * dag.size + i) for i in range(dag.size)]


def weighted_longest_path(dag: DagInstance, concurrency: int) -> float:
    """An oracle that knows every duration: the ready task with the most remaining *time*
    first (HLFET list scheduling)."""
    dependents = _dependents(dag)
    rank = [0.0] * dag.size
    for i in reversed(range(dag.size)):
        rank[i] = dag.durations[i] + max((rank[j] for j in dependents[i]), default=0.0)
    return priority_schedule(dag, concurrency, [-r for r in rank])

"""Ready-queue scheduling of a task graph.

A task becomes ready the moment its last dependency finishes; nothing waits for a whole
"level" to end. The queue is pure bookkeeping (no clock, no I/O), so the durable runtime
can replay it deterministically from the order in which tasks finished.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.domain import TaskResult, TaskStatus


class ReadyOrder(StrEnum):
    FIFO = "fifo"  # plan order
    LONGEST_PATH = "longest_path"  # most remaining work first (critical path heuristic)


@dataclass
class ReadyQueue:
    graph: dict[str, list[str]]  # task id -> dependencies, in plan order
    order: ReadyOrder = ReadyOrder.FIFO
    finished: dict[str, TaskResult] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    halted: bool = False
    # Tasks stopped because their next call no longer fit the budget (see `run_out`).
    ran_out: set[str] = field(default_factory=set)
    _rank: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        position = {tid: i for i, tid in enumerate(self.graph)}
        if self.order is ReadyOrder.LONGEST_PATH:
            depth = remaining_path_lengths(self.graph)
            self._rank = {tid: -depth[tid] * len(self.graph) + position[tid] for tid in self.graph}
        else:
            self._rank = position

    @classmethod
    def for_tasks(
        cls,
        graph: dict[str, list[str]],
        done: Iterable[TaskResult] = (),
        order: ReadyOrder = ReadyOrder.FIFO,
    ) -> ReadyQueue:
        """A queue where `done` tasks (from an earlier attempt) count as finished."""
        return cls(graph=graph, order=order, finished={r.task_id: r for r in done})

    def take_ready(self, limit: int) -> list[str]:
        """Up to `limit` tasks whose dependencies all finished usably; marks them started."""
        if self.halted or limit <= 0:
            return []
        ready = [
            tid
            for tid, deps in self.graph.items()
            if tid not in self.started
            and tid not in self.finished
            and all(d in self.finished and self.finished[d].status.is_usable() for d in deps)
        ]
        ready.sort(key=self._rank.__getitem__)
        chosen = ready[:limit]
        self.started.update(chosen)
        return chosen

    def finish(self, result: TaskResult) -> list[str]:
        """Record a result; returns tasks that can now never run (a dependency is unusable)."""
        self.finished[result.task_id] = result
        return self._newly_blocked()

    def halt(self, result: TaskResult) -> None:
        """Record a task stopped by the job's end (budget, time, cancel): nothing more starts,
        and its dependents stay pending rather than skipped, so a resume can run them."""
        self.finished[result.task_id] = result
        self.halted = True

    def run_out(self, result: TaskResult) -> None:
        """Record a task stopped because its next call did not fit what is left of the budget.

        Unlike `halt`, the other tasks go on: their calls may be smaller (a short prompt, a
        cheaper model), and a budget is there to be used. Dependents of an unusable output
        stay pending rather than skipped, so a resume with more budget can run them."""
        self.finished[result.task_id] = result
        self.ran_out.add(result.task_id)

    def blocked_reason(self, task_id: str) -> str:
        bad = [
            d
            for d in self.graph[task_id]
            if d in self.finished and not self.finished[d].status.is_usable()
        ]
        return f"skipped: dependency {', '.join(bad)} did not produce a usable output"

    def _newly_blocked(self) -> list[str]:
        blocked: list[str] = []
        changed = True
        while changed:
            changed = False
            for tid, deps in self.graph.items():
                if tid in self.finished or tid in self.started:
                    continue
                if any(
                    d in self.finished
                    and d not in self.ran_out
                    and not self.finished[d].status.is_usable()
                    for d in deps
                ):
                    reason = self.blocked_reason(tid)
                    self.finished[tid] = TaskResult(
                        task_id=tid, status=TaskStatus.SKIPPED, reason=reason
                    )
                    blocked.append(tid)
                    changed = True
        return blocked

    def unstarted(self) -> list[str]:
        return [t for t in self.graph if t not in self.started and t not in self.finished]

    @property
    def complete(self) -> bool:
        return len(self.finished) == len(self.graph)


def remaining_path_lengths(graph: dict[str, list[str]]) -> dict[str, int]:
    """Number of tasks on the longest chain from each task to the end of the graph."""
    dependents: dict[str, list[str]] = {tid: [] for tid in graph}
    for tid, deps in graph.items():
        for d in deps:
            dependents[d].append(tid)
    memo: dict[str, int] = {}

    def length(tid: str) -> int:
        if tid not in memo:
            memo[tid] = 1 + max((length(n) for n in dependents[tid]), default=0)
        return memo[tid]

    return {tid: length(tid) for tid in graph}

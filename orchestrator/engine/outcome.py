"""How a job's final status follows from what happened to its tasks."""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.domain import ProjectStatus, StopReason, TaskResult, TaskStatus

# A stop reason that ends the whole job, not just one task, in order of precedence.
HALTING: dict[StopReason, ProjectStatus] = {
    StopReason.CANCELLED: ProjectStatus.CANCELLED,
    StopReason.BUDGET: ProjectStatus.BUDGET_EXHAUSTED,
    StopReason.TIMEOUT: ProjectStatus.TIMEOUT,
}


def halting_status(reasons: Iterable[StopReason | None]) -> ProjectStatus | None:
    seen = set(reasons)
    for reason, status in HALTING.items():
        if reason in seen:
            return status
    return None


def final_status(results: Iterable[TaskResult], planned: int) -> ProjectStatus:
    """SUCCESS when every planned task passed; PARTIAL_SUCCESS when some usable output exists;
    else FAILED: the models failed every task (SYSTEM_FAILURE is kept for our own errors)."""
    results = list(results)
    halted = halting_status(r.stop_reason for r in results)
    if halted is not None:
        return halted
    if (
        planned
        and len(results) == planned
        and all(r.status is TaskStatus.COMPLETED for r in results)
    ):
        return ProjectStatus.SUCCESS
    if any(r.status.is_usable() for r in results):
        return ProjectStatus.PARTIAL_SUCCESS
    return ProjectStatus.FAILED

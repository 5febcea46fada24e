"""Plan review: replacing the plan of a job awaiting review, and the recorded sizes of past
calls a forecast learns from."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from sqlalchemy import delete, select, update

from orchestrator.domain import (
    CallOutcome,
    CallSize,
    JobStatus,
    Role,
    TaskRun,
    TaskState,
    TaskStatus,
    TaskType,
)
from orchestrator.errors import InvalidInput, JobConflict
from orchestrator.events import JobEvent
from orchestrator.store._base import StoreBase
from orchestrator.store._tasks import plan_rows
from orchestrator.store.tables import jobs, llm_calls
from orchestrator.store.tables import tasks as task_table

# The newest answered calls a forecast reads: enough for stable percentiles, bounded work.
HISTORY_CALLS = 20_000
HISTORY_TASKS = 5_000
_FINISHED = (TaskStatus.COMPLETED.value, TaskStatus.DEGRADED.value)


class ReviewRepo(StoreBase):
    async def replace_plan(
        self,
        job_id: str,
        tasks: list[TaskState],
        *,
        announce: Callable[[], Sequence[JobEvent]] | None = None,
    ) -> None:
        """Put a reviewed plan in place of the job's plan while it awaits review, and store
        the events `announce()` gives with it."""
        if not tasks:
            raise InvalidInput("a plan has at least one task")
        rows = plan_rows(tasks, time.time())
        async with self._write() as conn:
            await self._lock_job(conn, job_id)
            status = (
                await conn.execute(select(jobs.c.status).where(jobs.c.job_id == job_id))
            ).scalar_one()
            if status != JobStatus.AWAITING_REVIEW.value:
                raise JobConflict(job_id, "it is not awaiting review")
            await conn.execute(delete(task_table).where(task_table.c.job_id == job_id))
            await conn.execute(task_table.insert(), rows)
            await conn.execute(
                update(jobs).where(jobs.c.job_id == job_id).values(task_count=len(rows))
            )
            stored = await self._append_events(conn, job_id, announce() if announce else ())
        self._announce(stored)

    async def call_sizes(self, *, simulated: bool) -> list[CallSize]:
        """Answered calls of past tasks (newest first), on simulated or real providers only:
        the one says nothing about the other."""
        query = (
            select(
                task_table.c.type,
                llm_calls.c.role,
                llm_calls.c.model,
                llm_calls.c.input_tokens,
                llm_calls.c.output_tokens,
            )
            .join(
                task_table,
                (task_table.c.job_id == llm_calls.c.job_id)
                & (task_table.c.task_id == llm_calls.c.task_id),
            )
            .where(
                llm_calls.c.outcome == CallOutcome.OK.value,
                llm_calls.c.simulated == simulated,
            )
            .order_by(llm_calls.c.id.desc())
            .limit(HISTORY_CALLS)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            CallSize(
                task_type=TaskType(r.type),
                role=Role(r.role),
                model=r.model,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
            )
            for r in rows
        ]

    async def task_runs(self, *, simulated: bool) -> list[TaskRun]:
        """Iteration counts of finished tasks of past jobs (newest first)."""
        query = (
            select(task_table.c.type, task_table.c.iterations)
            .join(jobs, jobs.c.job_id == task_table.c.job_id)
            .where(
                jobs.c.simulated == simulated,
                task_table.c.status.in_(_FINISHED),
                task_table.c.iterations > 0,
            )
            .order_by(task_table.c.updated_at.desc())
            .limit(HISTORY_TASKS)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [TaskRun(task_type=TaskType(r.type), iterations=r.iterations) for r in rows]

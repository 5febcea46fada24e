"""Plan review: replacing the plan of a job awaiting review, approving it with the forecast
it runs against, and what a forecast learns from (the sizes of past calls, and how far past
jobs' forecasts were from what they cost)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence

from pydantic import ValidationError
from sqlalchemy import delete, select, update

from orchestrator import crashpoints
from orchestrator.domain import (
    CallOutcome,
    CallSize,
    JobStatus,
    ProjectStatus,
    Role,
    TaskRun,
    TaskState,
    TaskStatus,
    TaskType,
)
from orchestrator.errors import InvalidInput, JobConflict
from orchestrator.events import JobEvent
from orchestrator.plan import Forecast, ForecastOutcome
from orchestrator.store._base import StoreBase, to_money
from orchestrator.store._tasks import plan_rows
from orchestrator.store.tables import jobs, llm_calls
from orchestrator.store.tables import tasks as task_table

# The newest answered calls a forecast reads: enough for stable percentiles, bounded work.
HISTORY_CALLS = 20_000
HISTORY_TASKS = 5_000
# The newest jobs whose forecast is set against their cost: recent enough to follow changes
# in prices, models and prompts.
HISTORY_JOBS = 500
_FINISHED = (TaskStatus.COMPLETED.value, TaskStatus.DEGRADED.value)
# Jobs that ran their whole plan: a job cut short by its budget, time limit or a cancel says
# how much was left unspent, not how far off its forecast was.
_RAN_PLAN = (ProjectStatus.SUCCESS.value, ProjectStatus.PARTIAL_SUCCESS.value)


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

    async def approve_plan(
        self,
        job_id: str,
        *,
        forecast: Forecast,
        budget_usd: float | None,
        now: float,
        announce: Callable[[], Sequence[JobEvent]],
    ) -> int:
        """Approve the plan of a job awaiting review, in one transaction: the job becomes
        pending under its next run number, with the forecast it was approved with, its new
        budget if any, and the events `announce()` gives. Returns the run number. Of two
        approvals (or an approval and a rejection) one wins: the other gets JobConflict."""
        async with self._write() as conn:
            await self._lock_job(conn, job_id)
            row = (
                await conn.execute(
                    select(jobs.c.status, jobs.c.attempt).where(jobs.c.job_id == job_id)
                )
            ).one()
            if row.status != JobStatus.AWAITING_REVIEW.value:
                raise JobConflict(job_id, "it is not awaiting review")
            values: dict[str, object] = {
                "status": JobStatus.PENDING.value,
                "attempt": row.attempt + 1,
                "forecast": forecast.model_dump(mode="json"),
                "updated_at": now,
            }
            if budget_usd is not None:
                values["budget_usd"] = to_money(budget_usd)
            await conn.execute(update(jobs).where(jobs.c.job_id == job_id).values(values))
            crashpoints.reach("in_transaction")
            stored = await self._append_events(conn, job_id, announce())
        self._announce(stored)
        return int(row.attempt) + 1

    async def pending_runs(self, *, before: float | None = None) -> list[tuple[str, int]]:
        """(job, run number) of every pending job: created, resumed or approved, and its run
        started or about to be (a run its process died before starting is among them);
        with `before`, only those pending since before that time."""
        query = select(jobs.c.job_id, jobs.c.attempt).where(
            jobs.c.status == JobStatus.PENDING.value, jobs.c.deleted_at.is_(None)
        )
        if before is not None:
            query = query.where(jobs.c.updated_at < before)
        async with self._engine.connect() as conn:
            return [(r.job_id, int(r.attempt)) for r in (await conn.execute(query)).all()]

    async def keep_forecast(self, job_id: str, forecast: Forecast) -> None:
        """Store the forecast a job starts unreviewed with; one stored already stays."""
        async with self._write() as conn:
            await conn.execute(
                update(jobs)
                .where(jobs.c.job_id == job_id, jobs.c.forecast.is_(None))
                .values(forecast=forecast.model_dump(mode="json"))
            )

    async def job_forecast(self, job_id: str) -> Forecast | None:
        """The forecast the job runs against, if stored."""
        async with self._engine.connect() as conn:
            data = (
                await conn.execute(select(jobs.c.forecast).where(jobs.c.job_id == job_id))
            ).scalar_one_or_none()
        return _forecast(data)

    async def forecast_outcomes(self, *, simulated: bool) -> list[ForecastOutcome]:
        """How far the stored forecasts of past jobs that ran their plan (newest first) were
        from what they cost: each finished task, and each job as a whole. Only forecasts
        that rested on recorded calls count: those from priors say nothing of them."""
        query = (
            select(jobs.c.job_id, jobs.c.forecast)
            .where(
                jobs.c.simulated == simulated,
                jobs.c.forecast.is_not(None),
                jobs.c.final_status.in_(_RAN_PLAN),
                jobs.c.deleted_at.is_(None),
            )
            .order_by(jobs.c.updated_at.desc())
            .limit(HISTORY_JOBS)
        )
        async with self._engine.connect() as conn:
            forecasts = {
                r.job_id: forecast
                for r in (await conn.execute(query)).all()
                if (forecast := _forecast(r.forecast)) is not None and forecast.recorded_calls > 0
            }
            rows = (
                await conn.execute(
                    select(
                        task_table.c.job_id,
                        task_table.c.task_id,
                        task_table.c.type,
                        task_table.c.status,
                        task_table.c.cost_usd,
                    ).where(task_table.c.job_id.in_(list(forecasts)))
                )
            ).all()
        costs: dict[str, dict[str, tuple[TaskType, str, float]]] = defaultdict(dict)
        for r in rows:
            costs[r.job_id][r.task_id] = (TaskType(r.type), r.status, float(r.cost_usd))
        found: list[ForecastOutcome] = []
        for job_id, forecast in forecasts.items():
            tasks = costs[job_id]
            if {f.task_id for f in forecast.tasks} != set(tasks):
                continue  # not the plan it ran (a plan changed after the forecast)
            for f in forecast.tasks:
                task_type, status, cost = tasks[f.task_id]
                if status in _FINISHED:
                    found.append(
                        ForecastOutcome(
                            task_type=task_type,
                            model=f.model,
                            expected=f.cost.expected,
                            actual=cost,
                            recorded_calls=forecast.recorded_calls,
                        )
                    )
            found.append(
                ForecastOutcome(
                    task_type=None,
                    model=None,
                    expected=forecast.total.expected,
                    actual=sum(cost for _, _, cost in tasks.values()),
                    recorded_calls=forecast.recorded_calls,
                )
            )
        return found

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


def _forecast(data: object) -> Forecast | None:
    """A stored forecast; None if there is none, or it no longer reads as one."""
    if data is None:
        return None
    try:
        return Forecast.model_validate(data)
    except ValidationError:
        return None

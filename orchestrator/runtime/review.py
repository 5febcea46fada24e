"""Plan review: the forecast of a job's plan, the stop after planning, and a reviewer's edits.

A job that asked for review (or whose forecast's high end is above its `max_forecast_usd`,
else ORCH_REVIEW_ABOVE_USD) ends its first run right after planning, in `awaiting_review`.
Nothing runs while it waits, so it holds no worker and survives any restart; an approval from
any process starts its next run (`Runtime.approve`), which finds the plan stored and runs it.

The forecast a job runs against is stored with it: the one approved, or for a job that did
not stop for review the one made when it started. A running or finished job's plan shows that
one beside what it cost, not one recomputed from a history that has grown since.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ValidationError

from orchestrator import crashpoints
from orchestrator.domain import JobRecord, JobStatus, TaskState
from orchestrator.engine.forecast import Estimate, Forecast, History, forecast_plan, route_tasks
from orchestrator.engine.planner import plan_to_tasks
from orchestrator.engine.routing import Router
from orchestrator.errors import PlanInvalid
from orchestrator.events import JobEvent, PlanEvent, StatusEvent
from orchestrator.money import usd
from orchestrator.plan import ReviewedPlan
from orchestrator.runtime.events import EventLog
from orchestrator.runtime.jobrun import RuntimeDeps

__all__ = ["PlanReview", "Reviews"]


class PlanReview(BaseModel):
    """A job's plan with its forecast, and what its budget would leave."""

    job_id: str
    status: JobStatus
    tasks: list[TaskState]
    forecast: Forecast
    budget_usd: float
    spent_usd: float
    # What would be left of the budget after the run: low = after the forecast's high end.
    leaves_usd: Estimate


# The statuses a job may not leave by the move named: only a running job stops for review,
# only one awaiting review is approved or rejected (checked in the write itself).
NOT_RUNNING = frozenset(JobStatus) - {JobStatus.RUNNING}
NOT_AWAITING = frozenset(JobStatus) - {JobStatus.AWAITING_REVIEW}


class Reviews:
    def __init__(self, deps: RuntimeDeps) -> None:
        self.deps = deps

    async def forecast(self, tasks: list[TaskState], history: History | None = None) -> Forecast:
        """The forecast of `tasks` from the recorded history (or `history`: the benchmark
        asks for an empty one, to measure the priors on every job)."""
        d = self.deps
        simulated = d.clients.simulated
        if history is None:
            history = History(
                await d.store.call_sizes(simulated=simulated),
                await d.store.task_runs(simulated=simulated),
                await d.store.forecast_outcomes(simulated=simulated),
            )
        router = Router(d.catalog, d.pricing, d.health)
        routes = route_tasks(tasks, router, d.catalog, d.clients.available_models())
        return forecast_plan(
            tasks, routes=routes, catalog=d.catalog, pricing=d.pricing, history=history
        )

    async def view(self, job_id: str, tasks: list[TaskState] | None = None) -> PlanReview:
        """The job's plan (or `tasks`, a plan about to replace it) with its forecast: the
        stored one it runs against, else one made now."""
        store = self.deps.store
        job = await store.get_job(job_id)
        stored = None
        if tasks is None:
            tasks = await store.list_tasks(job_id)
            stored = await self._stored_forecast(job, tasks)
        forecast = stored or await self.forecast(tasks)
        spent = float((await store.job_budget(job_id)).spent_usd)
        left = job.spec.budget_usd - spent
        total = forecast.total
        return PlanReview(
            job_id=job_id,
            status=job.status,
            tasks=tasks,
            forecast=forecast,
            budget_usd=job.spec.budget_usd,
            spent_usd=spent,
            leaves_usd=Estimate(
                low=round(left - total.high, 6),
                expected=round(left - total.expected, 6),
                high=round(left - total.low, 6),
            ),
        )

    async def _stored_forecast(self, job: JobRecord, tasks: list[TaskState]) -> Forecast | None:
        """The forecast `job` runs against, if it has one for these tasks (a job awaiting
        review has none yet: its plan may still change)."""
        if job.status is JobStatus.AWAITING_REVIEW:
            return None
        forecast = await self.deps.store.job_forecast(job.job_id)
        if forecast is None or [f.task_id for f in forecast.tasks] != [t.task_id for t in tasks]:
            return None
        return forecast

    @crashpoints.step
    async def approve(self, job_id: str, *, budget_usd: float | None, line: str) -> int:
        """Approve the plan of a job awaiting review with the forecast it has now, which the
        job then runs against; returns the number of the run to start. JobConflict unless it
        awaits review (of two approvals one wins)."""
        review = await self.view(job_id)
        now = time.time()
        return await self.deps.store.approve_plan(
            job_id,
            forecast=review.forecast,
            budget_usd=budget_usd,
            now=now,
            announce=lambda: [
                StatusEvent(status=JobStatus.PENDING, ts=now),
                EventLog.line(job_id, line),
            ],
        )

    @crashpoints.step
    async def stop_for_review(self, job_id: str) -> bool:
        """After planning: stop the job for review if it asked for one or its forecast is
        above its limit; True when it stopped (never over a cancel)."""
        store, settings = self.deps.store, self.deps.settings
        job = await store.get_job(job_id)
        review = await self.view(job_id)
        total = review.forecast.total
        limit = job.spec.max_forecast_usd or settings.review_above_usd
        over = limit is not None and total.high > limit
        if not (job.spec.review or over):
            await store.keep_forecast(job_id, review.forecast)  # it runs against this one
            return False
        why = (
            "review was asked for"
            if job.spec.review
            else f"its forecast's high end {usd(total.high)} is above {usd(limit or 0)}"
        )

        def announce() -> list[JobEvent]:
            return [
                StatusEvent(status=JobStatus.AWAITING_REVIEW, ts=time.time()),
                plan_event(review),
                EventLog.line(
                    job_id,
                    f"awaiting review ({why}): forecast {_range(review)}, expected "
                    f"{usd(total.expected)} ({review.forecast.basis})",
                ),
            ]

        if await store.set_job_status(
            job_id,
            status=JobStatus.AWAITING_REVIEW,
            now=time.time(),
            unless=NOT_RUNNING,
            announce=announce,
        ):
            return True
        # A repeat of this step (it awaits review already), or a cancel that came first.
        return (await store.get_job(job_id)).status is JobStatus.AWAITING_REVIEW

    async def edit(self, job_id: str, plan: ReviewedPlan) -> PlanReview:
        """Replace the plan of a job awaiting review with `plan` (checked as a planner's
        plan, and every pinned model known and configured)."""
        d = self.deps
        usable = set(d.clients.available_models())
        for task in plan.tasks:
            if task.model is not None and task.model not in usable:
                known = "is not configured" if task.model in d.catalog.models else "is unknown"
                raise PlanInvalid(f"task {task.id}: model: {task.model!r} {known}")
        tasks = [
            state.model_copy(update={"pinned_model": node.model})
            for state, node in zip(plan_to_tasks(job_id, plan, d.catalog), plan.tasks, strict=True)
        ]
        review = await self.view(job_id, tasks)

        def announce() -> list[JobEvent]:
            line = f"plan edited: {len(tasks)} tasks, forecast {_range(review)}"
            return [plan_event(review), EventLog.line(job_id, line)]

        await d.store.replace_plan(job_id, tasks, announce=announce)
        return review


def plan_event(review: PlanReview) -> PlanEvent:
    total = review.forecast.total
    return PlanEvent(
        task_count=len(review.tasks),
        low=total.low,
        expected=total.expected,
        high=total.high,
        budget_usd=review.budget_usd,
        ts=time.time(),
    )


def _range(review: PlanReview) -> str:
    total = review.forecast.total
    return f"{usd(total.low)}–{usd(total.high)}"


def parse_reviewed_plan(data: object) -> ReviewedPlan:
    """A reviewed plan from YAML or JSON data; PlanInvalid naming the task and the field."""
    try:
        return ReviewedPlan.model_validate(data)
    except ValidationError as e:
        problems = [
            err["msg"].removeprefix("Value error, ") for err in e.errors(include_url=False)[:10]
        ]
        raise PlanInvalid("; ".join(problems)) from e

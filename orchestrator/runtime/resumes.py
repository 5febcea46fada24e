"""Resuming a job: its next run does what the last one left unfinished.

A resume is refused while the job's run goes on somewhere (its process beats), or while a
just-claimed run is starting. A run whose process is gone (runtime/orphans.py) is stopped
first; a run that has ended, or been cancelled, is given a few seconds to finish its last
steps. Then one transaction claims the next run (Store.resume_job), and the run starts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from dbos import DBOS

from orchestrator.domain import JobStatus, TaskStatus
from orchestrator.errors import InvalidInput, JobConflict
from orchestrator.events import JobEvent, StatusEvent
from orchestrator.money import usd, usd_exact
from orchestrator.runtime.events import EventLog
from orchestrator.runtime.jobrun import RuntimeDeps
from orchestrator.runtime.orphans import UNFINISHED, orphaned, stop_orphaned_run
from orchestrator.runtime.workflows import workflow_id

__all__ = ["RESUME_WAIT_S", "Resumes"]

# How long a resume waits for an ended or cancelled job's workflow to finish its last steps.
RESUME_WAIT_S = 15.0


class Resumes:
    """`start(job_id, attempt)` starts (or enqueues) a run; `ended_within(job_id, s)` waits
    up to `s` seconds for the job's current run to end, and says whether it did."""

    def __init__(
        self,
        deps: RuntimeDeps,
        start: Callable[[str, int], Awaitable[None]],
        ended_within: Callable[[str, float], Awaitable[bool]],
    ) -> None:
        self._deps = deps
        self._start = start
        self._ended_within = ended_within

    async def resume(
        self, job_id: str, *, budget_usd: float | None = None, time_limit_s: float | None = None
    ) -> None:
        """Runtime.resume: see there."""
        store, events = self._deps.store, self._deps.events
        job = await store.get_job(job_id)
        if job.status is JobStatus.AWAITING_REVIEW:
            raise JobConflict(job_id, "it is awaiting review: approve or reject its plan")
        run = await DBOS.get_workflow_status_async(workflow_id(job_id, job.attempt))
        if run is None and not job.status.is_terminal():
            # Claimed by a resume (or a start) whose run is not started yet, unless that
            # resume's process stopped in between: a start takes milliseconds, not seconds.
            if time.time() - job.updated_at < RESUME_WAIT_S:
                raise JobConflict(job_id, "it is starting")
        elif run is not None and run.status in UNFINISHED:
            if await orphaned(self._deps, run):  # its process is gone, cancelled or not
                await stop_orphaned_run(self._deps, job, run)
            elif not job.status.is_terminal():
                raise JobConflict(job_id, "it is still running")
            # Ended or cancelled, its workflow finishing its last steps (or stopped): wait.
            if not await self._ended_within(job_id, RESUME_WAIT_S):
                raise JobConflict(job_id, "it is still finishing its last steps; try again shortly")
            job = await store.get_job(job_id)  # as its run left it: what the claim sees
        await self._check(job_id, budget_usd)
        now = time.time()
        await events.flush(job_id)  # lines queued before go first

        def announce(reset: list[str]) -> list[JobEvent]:
            budget = f", budget now {usd_exact(budget_usd)}" if budget_usd is not None else ""
            limit = f", time limit now {time_limit_s:g} s" if time_limit_s is not None else ""
            line = f"resuming: {len(reset)} unfinished task(s) to run{budget}{limit}"
            return [StatusEvent(status=JobStatus.PENDING, ts=now), EventLog.line(job_id, line)]

        # The claim, the charge of attempts left in flight, the new limits, the tasks put
        # back and the events telling of it: one transaction (Store.resume_job).
        attempt = await store.resume_job(
            job, now=now, budget_usd=budget_usd, time_limit_s=time_limit_s, announce=announce
        )
        await self._start(job_id, attempt)

    async def _check(self, job_id: str, budget_usd: float | None) -> None:
        """Refuse a resume with nothing to run, or a budget below what is spent."""
        store = self._deps.store
        tasks = await store.list_tasks(job_id)
        # Completed tasks are kept on resume (Store.reset_unfinished_tasks): with a plan
        # whose every task completed, a resume would start an empty run.
        if tasks and all(t.status is TaskStatus.COMPLETED for t in tasks):
            raise JobConflict(job_id, "it has nothing left to run: every task completed")
        if budget_usd is not None:  # checked again, with what the claim charges, in it
            spent = (await store.job_budget(job_id)).spent_usd
            if Decimal(str(budget_usd)) < spent:
                raise InvalidInput(
                    f"budget_usd {usd_exact(budget_usd)} is below the {usd(float(spent))} "
                    "the job has spent already"
                )

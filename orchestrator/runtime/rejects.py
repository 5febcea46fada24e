"""Rejecting a reviewed plan, durably: a DBOS workflow per job, under an id of its own.

A job awaiting review has no run to end it, so a reject is a small workflow of three steps:
the job leaves review (CANCELLED, "plan rejected"), it ends as any run ends (`finish_job`:
the final `status`, its result files and `done`, in one transaction), and its `job.finished`
webhooks start. A process killed between two of them leaves the workflow pending under its
executor id: DBOS runs the rest when a runtime with that id starts again, or a live worker
takes it over with the dead worker's other workflows (runtime/workers.py). The workflow id is
the job's (`reject_workflow_id`), so a second start, from any process, runs nothing twice.

Each step is a `crashpoints.step`; the crash harness kills a process at each of its points.
"""

from __future__ import annotations

import time

from dbos import DBOS, DBOSConfiguredInstance, SetWorkflowID, WorkflowHandleAsync

from orchestrator import crashpoints
from orchestrator.domain import JobStatus, ProjectStatus
from orchestrator.errors import JobConflict
from orchestrator.runtime.deliveries import Deliveries
from orchestrator.runtime.events import EventLog
from orchestrator.runtime.jobrun import RuntimeDeps
from orchestrator.runtime.review import NOT_AWAITING
from orchestrator.runtime.steps import JobSteps
from orchestrator.runtime.workflows import retrying_step
from orchestrator.webhooks import FINISHED

__all__ = ["REJECTER_NAME", "RejectSteps", "Rejecter", "reject_workflow_id"]

REJECTER_NAME = "plan-rejecter"
UNFINISHED = {"PENDING", "ENQUEUED"}


def reject_workflow_id(job_id: str) -> str:
    """A job awaits review once (its plan is made once), so it is rejected at most once."""
    return f"{job_id}.reject"


class RejectSteps:
    """The bodies of the reject's own steps (its end is `JobSteps.finish_job`)."""

    def __init__(self, deps: RuntimeDeps, deliveries: Deliveries) -> None:
        self.deps = deps
        self.deliveries = deliveries

    @crashpoints.step
    async def reject_plan(self, job_id: str, attempt: int) -> None:
        """Move the job from awaiting review to CANCELLED, with a log line (its `status`
        comes with its end). Run again after a crash that struck once this was stored, it
        finds its own work: a job cancelled at the run number it awaited review in (an
        approval moves that number on, and nothing else cancels a job awaiting review)."""
        store = self.deps.store
        if await store.set_job_status(
            job_id,
            status=JobStatus.CANCELLED,
            now=time.time(),
            unless=NOT_AWAITING,
            announce=lambda: [EventLog.line(job_id, "plan rejected: no task runs", "WARNING")],
        ):
            return
        job = await store.get_job(job_id)
        if job.status is JobStatus.CANCELLED and job.attempt == attempt:
            return
        raise JobConflict(job_id, "it is not awaiting review")  # an approval came first

    @crashpoints.step
    async def announce_rejected(self, job_id: str) -> None:
        """Start the job's `job.finished` deliveries (once per job, from any process)."""
        await self.deliveries.start_once(job_id, FINISHED)


@DBOS.dbos_class()
class Rejecter(DBOSConfiguredInstance):
    def __init__(self, deps: RuntimeDeps, job_steps: JobSteps, deliveries: Deliveries) -> None:
        self.deps = deps
        self.job_steps = job_steps
        self.steps = RejectSteps(deps, deliveries)
        super().__init__(REJECTER_NAME)

    async def reject(self, job_id: str) -> None:
        """End a job awaiting review, CANCELLED, having spent only its planning; returns once
        it has ended. JobConflict unless it awaits review (of two rejects at once, both wait
        for the one workflow), or while another process is rejecting it."""
        job = await self.deps.store.get_job(job_id)
        if job.status is not JobStatus.AWAITING_REVIEW:
            raise JobConflict(job_id, "it is not awaiting review")
        workflow = reject_workflow_id(job_id)
        found = await DBOS.get_workflow_status_async(workflow)
        # A reject another process started and has not finished: that process ends it (or,
        # if it died, a runtime with its id, or a worker taking over from it).
        if found and found.status in UNFINISHED and found.executor_id != DBOS.executor_id:
            raise JobConflict(job_id, "another process is rejecting it")
        with SetWorkflowID(workflow):
            handle: WorkflowHandleAsync[None] = await DBOS.start_workflow_async(
                self.reject_workflow, job_id, job.attempt
            )
        await handle.get_result()

    @DBOS.workflow()
    async def reject_workflow(self, job_id: str, attempt: int) -> None:
        await self.reject_plan(job_id, attempt)
        await self.finish_job(job_id)
        await self.announce_rejected(job_id)

    @retrying_step
    async def reject_plan(self, job_id: str, attempt: int) -> None:
        return await self.steps.reject_plan(job_id, attempt)

    @retrying_step
    async def finish_job(self, job_id: str) -> ProjectStatus:
        return await self.job_steps.finish_job(job_id, ProjectStatus.CANCELLED)

    @retrying_step
    async def announce_rejected(self, job_id: str) -> None:
        return await self.steps.announce_rejected(job_id)

"""Runs orphaned by their process: a resume stops them; a cancel stops them and ends the job.

A job's run is recorded (in DBOS) under the executor id of the process running it. When that
process is gone — a CLI stopped by its user, or killed with no worker to take its job over
yet; a worker dead and not yet claimed — nothing runs the job, yet its run looks unfinished.
A resume asked anywhere stops such a run, and only such a run: while its process still beats
(runtime/workers.py), the resume is refused.

A cancel of such a job has no run to notice it, so the cancelling process ends the job itself
(`OrphanEnder`): a DBOS workflow, under an id fixed by the job's run (`end_workflow_id`), that
stops the run, then ends the job as any run ends (`JobSteps.finish_job`: attempts left in
flight charged their reservation, the final `status`, the result files and `done`, in one
transaction), then starts its `job.finished` webhooks. Two cancels at once start one workflow
(DBOS starts nothing under an id it has recorded); a process that dies in the middle leaves
it pending under its executor id, for its restart or a worker taking its work over to finish.
"""

from __future__ import annotations

from dbos import (
    DBOS,
    DBOSConfiguredInstance,
    SetWorkflowID,
    WorkflowHandleAsync,
    WorkflowStatus,
    WorkflowStatusString,
)

from orchestrator.domain import JobRecord, JobStatus, ProjectStatus
from orchestrator.errors import StaleRun
from orchestrator.runtime.deliveries import Deliveries
from orchestrator.runtime.jobrun import RuntimeDeps
from orchestrator.runtime.steps import JobSteps
from orchestrator.runtime.workers import owner_alive
from orchestrator.runtime.workflows import retrying_step, task_workflow_id, workflow_id

__all__ = [
    "ENDER_NAME",
    "UNFINISHED",
    "OrphanEnder",
    "end_workflow_id",
    "orphaned",
    "stop_orphaned_run",
]

ENDER_NAME = "orphan-ender"
# The DBOS statuses of a run not ended (a workflow queued is one).
UNFINISHED = {WorkflowStatusString.PENDING.value, WorkflowStatusString.ENQUEUED.value}


def end_workflow_id(job_id: str, attempt: int) -> str:
    """The end of the job's run `attempt`, cancelled while no process ran it: one per run (a
    job resumed, then orphaned again, can be ended again). Named after the run (its writes
    are fenced as the run's: `attempt_of`), with a `:` no task id has."""
    return f"{workflow_id(job_id, attempt)}:cancel:end"


async def orphaned(deps: RuntimeDeps, run: WorkflowStatus) -> bool:
    """Whether `run`, an unfinished run, is recorded under a process that no longer beats
    (never this one)."""
    owner = run.executor_id or ""
    if owner == DBOS.executor_id:
        return False
    dead_after = deps.settings.worker_dead_after_s
    return not await owner_alive(deps.store, owner, dead_after_s=dead_after)


async def stop_orphaned_run(deps: RuntimeDeps, job: JobRecord, run: WorkflowStatus) -> None:
    """Stop `run`, the orphaned run of `job`: its workflows are cancelled, so that nothing
    starts them again; should its process only have stalled, the resume's claim fences its
    writes, and it exits at its next heartbeat."""
    run_id = workflow_id(job.job_id, job.attempt)
    tasks = await deps.store.list_tasks(job.job_id)
    # The job's and its tasks' workflows, not its webhooks': those are still to be sent.
    runs = [run_id, *(task_workflow_id(run_id, t.task_id) for t in tasks)]
    await DBOS.cancel_workflows_async(runs)
    deps.events.log(
        job.job_id,
        f"its run's process ({run.executor_id}) stopped without ending it: that run is stopped",
        "WARNING",
    )


async def runs_nowhere(deps: RuntimeDeps, run: WorkflowStatus) -> bool:
    """Whether nothing goes on with `run`: unfinished under a process that is gone, or
    stopped already (by a resume that was then refused: nothing left to run, a budget
    too low)."""
    if run.status == WorkflowStatusString.CANCELLED.value:
        return True
    return run.status in UNFINISHED and await orphaned(deps, run)


@DBOS.dbos_class()
class OrphanEnder(DBOSConfiguredInstance):
    """Ends, CANCELLED, a cancelled job that no process runs (see the module docstring)."""

    def __init__(self, deps: RuntimeDeps, job_steps: JobSteps, deliveries: Deliveries) -> None:
        self.deps = deps
        self.job_steps = job_steps
        self.deliveries = deliveries
        super().__init__(ENDER_NAME)

    async def end_if_orphaned(self, job_id: str) -> bool:
        """After a cancel: end the job now if no process runs it, and return once it has
        ended (at once when another process is ending it). False, and nothing done, while
        a process runs it, once it has ended, or while it is being deleted (its removal
        stops its run)."""
        store = self.deps.store
        job = await store.get_job(job_id)
        if job.status is not JobStatus.CANCELLED or job.final_status is not None:
            return False
        if await store.is_hidden(job_id):
            return False
        run = await DBOS.get_workflow_status_async(workflow_id(job_id, job.attempt))
        if run is None or not await runs_nowhere(self.deps, run):
            return False
        workflow = end_workflow_id(job_id, job.attempt)
        with SetWorkflowID(workflow):
            handle: WorkflowHandleAsync[None] = await DBOS.start_workflow_async(
                self.end_workflow, job_id, job.attempt
            )
        ending = await DBOS.get_workflow_status_async(workflow)
        # Started by another process first: that process ends it (or, should it die, its
        # restart, or a worker taking its work over), not a wait here.
        if ending and ending.status in UNFINISHED and ending.executor_id != DBOS.executor_id:
            return True
        await handle.get_result()
        return True

    @DBOS.workflow()
    async def end_workflow(self, job_id: str, attempt: int) -> None:
        if not await self.stop_run(job_id, attempt):
            return
        try:
            outcome = await self.finish_job(job_id)
        except StaleRun:  # a resume claimed the job meanwhile: its next run goes on
            return
        await self.deliveries.start_for_end(job_id, outcome)

    @retrying_step
    async def stop_run(self, job_id: str, attempt: int) -> bool:
        """Fence the run's process (should it only have stalled, it writes nothing more),
        cancel the run's workflows, and say why the job ends; False when the job has ended
        already or moved on to its next run (a resume)."""
        job = await self.deps.store.get_job(job_id)
        if job.attempt != attempt or job.final_status is not None:
            return False
        try:
            await self.job_steps.runs.token(job_id, attempt)
        except StaleRun:
            return False
        run = await DBOS.get_workflow_status_async(workflow_id(job_id, attempt))
        if run is not None and run.status in UNFINISHED:
            await stop_orphaned_run(self.deps, job, run)
        self.deps.events.log(
            job_id, "cancelled with no process running it: the job ends here", "WARNING"
        )
        return True

    @retrying_step
    async def finish_job(self, job_id: str) -> ProjectStatus:
        return await self.job_steps.finish_job(job_id, ProjectStatus.CANCELLED)

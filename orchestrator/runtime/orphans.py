"""Runs orphaned by their process: a resume stops them before it starts the next run.

A job's run is recorded (in DBOS) under the executor id of the process running it. When that
process is gone — a CLI stopped by its user, or killed with no worker to take its job over
yet; a worker dead and not yet claimed — nothing runs the job, yet its run looks unfinished.
A resume asked anywhere stops such a run, and only such a run: while its process still beats
(runtime/workers.py), the resume is refused.
"""

from __future__ import annotations

from dbos import DBOS, WorkflowStatus, WorkflowStatusString

from orchestrator.domain import JobRecord
from orchestrator.runtime.jobrun import RuntimeDeps
from orchestrator.runtime.workers import owner_alive
from orchestrator.runtime.workflows import task_workflow_id, workflow_id

__all__ = ["UNFINISHED", "orphaned", "stop_orphaned_run"]

# The DBOS statuses of a run not ended (a workflow queued is one).
UNFINISHED = {WorkflowStatusString.PENDING.value, WorkflowStatusString.ENQUEUED.value}


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

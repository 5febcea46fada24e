"""One task of a job, with every iteration it went through."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.deps import StoreDep
from orchestrator.api.errors import errors
from orchestrator.api.schemas import TaskDetail

router = APIRouter(prefix="/api/jobs/{job_id}/tasks", tags=["tasks"])


@router.get("/{task_id}", responses=errors(404))
async def get_task(job_id: str, task_id: str, store: StoreDep) -> TaskDetail:
    """The task's prompt, dependencies and every iteration: model, output, critique,
    validator results, evaluation scores, tokens, cost and latency."""
    await store.get_job(job_id)  # an unknown job says so, not "unknown task"
    task = await store.get_task(job_id, task_id)
    return TaskDetail.with_history(task, await store.list_iterations(job_id, task_id))

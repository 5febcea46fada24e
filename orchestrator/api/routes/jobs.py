"""Jobs: create, list, read, delete, resume and cancel."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response

from orchestrator.api.deps import ApiSettingsDep, RuntimeDep, StoreDep, limit_creations
from orchestrator.api.errors import errors
from orchestrator.api.schemas import (
    JobAccepted,
    JobCreate,
    JobCreated,
    JobDetail,
    JobSummary,
    ResumeRequest,
    TaskSummary,
)
from orchestrator.domain import JobRecord, JobSpec, JobStatus
from orchestrator.store import Store

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

MAX_PAGE = 1000
# Far beyond any store, and within the 64-bit integer SQL takes (larger answered 500 once).
MAX_OFFSET = 10**15


async def live_summary(store: Store, job: JobRecord) -> JobSummary:
    """The stored total of a running job lags; its recorded calls are the live spend."""
    if job.status.is_terminal():
        return JobSummary.of(job)
    return JobSummary.of(job, spent=float(await store.job_spend(job.job_id)))


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    responses=errors(413, 422, 429),
    dependencies=[Depends(limit_creations)],
)
async def create_job(body: JobCreate, runtime: RuntimeDep) -> JobCreated:
    """Start a job; follow it with `GET /api/jobs/{id}/stream`. Rate-limited per client
    address (ORCH_CREATE_RATE_PER_MIN): 429 with Retry-After past it."""
    spec = JobSpec.model_validate(body.model_dump())
    return JobCreated(job_id=await runtime.submit(spec))


_TOTAL: dict[int | str, dict[str, object]] = {
    200: {
        "description": "One page of jobs, newest first",
        "headers": {
            "X-Total-Count": {
                "description": "How many jobs match the filter (all pages)",
                "schema": {"type": "integer"},
            }
        },
    }
}


@router.get("", responses=_TOTAL | errors(422))
async def list_jobs(
    store: StoreDep,
    response: Response,
    status: JobStatus | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the description")] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[JobSummary]:
    """Jobs, newest first; the number matching the filter is in `X-Total-Count`."""
    jobs, total = await store.list_jobs(status=status, q=q, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [await live_summary(store, job) for job in jobs]


@router.get("/{job_id}", responses=errors(404))
async def get_job(job_id: str, store: StoreDep) -> JobDetail:
    job = await store.get_job(job_id)
    tasks = await store.list_tasks(job_id)
    summary = await live_summary(store, job)
    return JobDetail(
        **summary.model_dump(),
        tasks={t.task_id: TaskSummary.of(t) for t in tasks},
        success_criteria=job.spec.success_criteria,
        concurrency=job.spec.concurrency,
    )


@router.delete("/{job_id}", status_code=HTTPStatus.NO_CONTENT, responses=errors(404))
async def delete_job(job_id: str, runtime: RuntimeDep, api: ApiSettingsDep) -> None:
    """Delete the job with its tasks, events, calls and files; a running job is cancelled
    first."""
    await runtime.delete(job_id, stop_timeout_s=api.delete_timeout_s)


@router.post(
    "/{job_id}/resume", status_code=HTTPStatus.ACCEPTED, responses=errors(404, 409, 413, 422)
)
async def resume_job(
    job_id: str,
    runtime: RuntimeDep,
    body: Annotated[ResumeRequest | None, Body()] = None,
) -> JobAccepted:
    """Run what did not finish (409 while the job runs); completed tasks and recorded calls
    are not paid again. Optionally raise the budget, or change the time limit of a run."""
    body = body or ResumeRequest()
    await runtime.resume(job_id, budget_usd=body.budget_usd, time_limit_s=body.time_limit_s)
    return JobAccepted(job_id=job_id, status="resuming")


@router.post("/{job_id}/cancel", status_code=HTTPStatus.ACCEPTED, responses=errors(404, 409))
async def cancel_job(job_id: str, runtime: RuntimeDep) -> JobAccepted:
    """Stop the job: no new LLM call starts; it ends `cancelled` (409 if it already ended)."""
    await runtime.cancel(job_id)
    return JobAccepted(job_id=job_id, status="cancelling")

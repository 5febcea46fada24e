"""Plan review: read and edit the plan of a job awaiting review, then approve or reject it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Body

from orchestrator.api.deps import RuntimeDep
from orchestrator.api.errors import errors
from orchestrator.api.plan_schemas import ApproveRequest, PlanPublic, ReviewDecision
from orchestrator.domain import ReviewedPlan

router = APIRouter(prefix="/api/jobs/{job_id}", tags=["review"])


@router.get("/plan", responses=errors(404))
async def get_plan(job_id: str, runtime: RuntimeDep) -> PlanPublic:
    """The job's plan: each task with its routed model and cost range, the job's range and
    what its budget would leave. Any planned job has one; a running one shows its actual
    cost beside the forecast."""
    return PlanPublic.of(await runtime.reviews.view(job_id))


@router.put("/plan", responses=errors(404, 409, 422))
async def put_plan(job_id: str, plan: ReviewedPlan, runtime: RuntimeDep) -> PlanPublic:
    """Replace the plan of a job awaiting review (change prompts, types, dependencies, pin
    a model, add or remove tasks); checked as a planner's plan. Answers the new forecast."""
    return PlanPublic.of(await runtime.reviews.edit(job_id, plan))


@router.post("/approve", status_code=HTTPStatus.ACCEPTED, responses=errors(404, 409, 422))
async def approve_job(
    job_id: str,
    runtime: RuntimeDep,
    body: Annotated[ApproveRequest | None, Body()] = None,
) -> ReviewDecision:
    """Run the reviewed plan (409 unless the job awaits review); optionally a new budget."""
    body = body or ApproveRequest()
    await runtime.approve(job_id, budget_usd=body.budget_usd)
    return ReviewDecision(job_id=job_id, status="approved")


@router.post("/reject", status_code=HTTPStatus.ACCEPTED, responses=errors(404, 409))
async def reject_job(job_id: str, runtime: RuntimeDep) -> ReviewDecision:
    """End the job CANCELLED without running any task (409 unless it awaits review)."""
    await runtime.reject(job_id)
    return ReviewDecision(job_id=job_id, status="rejected")
